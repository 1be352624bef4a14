"""profiles: the public customer page's settings (issue 11)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

A profile stored before has no page: NULL reads as ``web: {enabled: false}``, so upgrading
publishes nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("profiles") as batch:
        batch.add_column(sa.Column("web", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("profiles") as batch:
        batch.drop_column("web")
