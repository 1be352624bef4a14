"""the directory: clients, extensions, external numbers and sounds managed through the API and
the CLI (issue 13)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Written out in full, not built from ``tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name="pk_clients"),
    )
    op.create_table(
        "client_extensions",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("extension_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("name", sa.String(128), nullable=False, server_default=sa.text("''")),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "extension_id", name="pk_client_extensions"),
    )
    op.create_table(
        "client_numbers",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "number", name="pk_client_numbers"),
    )
    op.create_table(
        "client_sounds",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("sound_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "sound_id", name="pk_client_sounds"),
    )


def downgrade() -> None:
    for table in ("client_sounds", "client_numbers", "client_extensions", "clients"):
        op.drop_table(table)
