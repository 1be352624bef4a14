"""client variables: named values a client sets through the API (seed 002, issue 13)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Written out in full, not built from ``tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_variables",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "name", name="pk_client_variables"),
    )


def downgrade() -> None:
    op.drop_table("client_variables")
