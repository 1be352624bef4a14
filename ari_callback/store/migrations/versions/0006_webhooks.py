"""webhooks: deliveries fanned out from the outbox, and the outbox consumers' positions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Written out in full, not built from ``tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Double(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False,
                  autoincrement=True),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("callback_id", sa.String(64), nullable=False),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("event_type", sa.String(48), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("fence", sa.Integer(), nullable=False, server_default=sa.text("0")),
        _time("created_at", nullable=False),
        _time("next_try_at", nullable=False),
        _time("last_try_at"),
        _time("delivered_at"),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(512), nullable=False, server_default=sa.text("''")),
        sa.Column("tries", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_callback_id", "webhook_deliveries", ["callback_id"])
    op.create_index("ix_webhook_deliveries_event_id_webhook_id", "webhook_deliveries",
                    ["event_id", "webhook_id"], unique=True)
    op.create_index("ix_webhook_deliveries_status_next_try_at", "webhook_deliveries",
                    ["status", "next_try_at"])
    op.create_table(
        "outbox_cursors",
        sa.Column("consumer", sa.String(32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("gaps", sa.JSON(), nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("consumer", name="pk_outbox_cursors"),
    )


def downgrade() -> None:
    op.drop_table("outbox_cursors")
    op.drop_index("ix_webhook_deliveries_status_next_try_at", "webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_event_id_webhook_id", "webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_callback_id", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
