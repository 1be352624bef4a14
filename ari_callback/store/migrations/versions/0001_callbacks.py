"""callbacks, their legs and their timeline

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written out in full rather than built from ``tables.py``: a migration must keep creating the
schema as it was at this revision, whatever the tables become later. Constraint and index
names follow ``tables.NAMING_CONVENTION``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _text(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False, server_default=sa.text("''"))


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Double(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("api", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        _text("status_detail", 64),
        _text("ended_by", 32),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("winner_leg", sa.String(96), nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        _time("connected_at"),
        _time("ended_at"),
        sa.PrimaryKeyConstraint("id", name="pk_callbacks"),
    )
    op.create_index("ix_callbacks_client_id", "callbacks", ["client_id"])
    op.create_index("ix_callbacks_status", "callbacks", ["status"])
    op.create_index("ix_callbacks_client_id_created_at", "callbacks", ["client_id", "created_at"])

    op.create_table(
        "legs",
        sa.Column("id", sa.String(96), nullable=False),
        sa.Column("callback_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False, server_default=sa.text("0")),
        _time("created_at"),
        _time("ringing_at"),
        _time("progress_at"),
        _time("answered_at"),
        _time("hangup_at"),
        _time("ended_at"),
        sa.Column("cause", sa.Integer(), nullable=True),
        _text("cause_txt", 128),
        sa.Column("tech_cause", sa.Integer(), nullable=True),
        _text("dialstatus", 24),
        _text("hangup_reason", 32),
        sa.PrimaryKeyConstraint("id", name="pk_legs"),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"], ondelete="CASCADE",
                                name="fk_legs_callback_id_callbacks"),
    )
    op.create_index("ix_legs_callback_id", "legs", ["callback_id"])

    op.create_table(
        "timeline",
        sa.Column("callback_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, autoincrement=False),
        _time("at", nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("leg_id", sa.String(96), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("callback_id", "seq", name="pk_timeline"),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"], ondelete="CASCADE",
                                name="fk_timeline_callback_id_callbacks"),
    )


def downgrade() -> None:
    op.drop_table("timeline")
    op.drop_index("ix_legs_callback_id", table_name="legs")
    op.drop_table("legs")
    op.drop_index("ix_callbacks_client_id_created_at", table_name="callbacks")
    op.drop_index("ix_callbacks_status", table_name="callbacks")
    op.drop_index("ix_callbacks_client_id", table_name="callbacks")
    op.drop_table("callbacks")
