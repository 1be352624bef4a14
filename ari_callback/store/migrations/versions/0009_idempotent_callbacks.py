"""idempotent callbacks: a callback remembers the Idempotency-Key that made it (issue 13)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

A server that died between storing a callback and storing its idempotent answer left a key
that a retry took over and ran again: a second callback. The callback now carries a tag of its
key (unique per client), so the retry finds the first one instead. ``epoch`` is when the key's
current use began: a takeover of an abandoned claim keeps it, a reuse after expiry starts anew.

Written out in full, not built from ``tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("idem_tag", sa.String(64), nullable=True))
    op.create_index("uq_callbacks_client_id_idem_tag", "callbacks", ["client_id", "idem_tag"], unique=True)
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("epoch", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("epoch")
    op.drop_index("uq_callbacks_client_id_idem_tag", "callbacks")
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("idem_tag")
