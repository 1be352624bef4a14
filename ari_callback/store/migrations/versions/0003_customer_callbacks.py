"""customer callbacks: profiles, call options, questions; waitlist columns on callbacks

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Existing callbacks are click-to-calls: no option, no number, no policy; their ``place_at`` is
their creation time. Written out in full, not built from ``tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PENDING = "status IN ('queued', 'scheduled', 'dialling')"


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Double(), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("option_sid", sa.String(64), nullable=True))
        batch.add_column(sa.Column("number", sa.String(64), nullable=True))
        batch.add_column(_time("place_at"))
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default=sa.text("''")))
        batch.add_column(sa.Column("policy", sa.JSON(), nullable=True))
    op.execute("UPDATE callbacks SET place_at = created_at")
    op.create_index("ix_callbacks_number", "callbacks", ["number"])
    op.create_index("ix_callbacks_option_sid_status_place_at", "callbacks", ["option_sid", "status", "place_at"])
    op.create_index("uq_callbacks_pending_option_number", "callbacks", ["option_sid", "number"], unique=True,
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    _create_profiles()


def _create_profiles() -> None:
    op.create_table(
        "profiles",
        sa.Column("sid", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sms", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("scheduling", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("timezone", sa.String(64), nullable=False),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("sid", name="pk_profiles"),
    )
    op.create_index("ix_profiles_client_id", "profiles", ["client_id"])
    op.create_table(
        "call_options",
        sa.Column("sid", sa.String(64), nullable=False),
        sa.Column("profile_sid", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("sid", name="pk_call_options"),
        sa.ForeignKeyConstraint(["profile_sid"], ["profiles.sid"], ondelete="CASCADE",
                                name="fk_call_options_profile_sid_profiles"),
    )
    op.create_index("ix_call_options_profile_sid", "call_options", ["profile_sid"])
    op.create_table(
        "questions",
        sa.Column("sid", sa.String(64), nullable=False),
        sa.Column("profile_sid", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("sid", name="pk_questions"),
        sa.ForeignKeyConstraint(["profile_sid"], ["profiles.sid"], ondelete="CASCADE",
                                name="fk_questions_profile_sid_profiles"),
    )
    op.create_index("ix_questions_profile_sid", "questions", ["profile_sid"])


def downgrade() -> None:
    op.drop_table("questions")
    op.drop_table("call_options")
    op.drop_table("profiles")
    op.drop_index("uq_callbacks_pending_option_number", "callbacks")
    op.drop_index("ix_callbacks_option_sid_status_place_at", "callbacks")
    op.drop_index("ix_callbacks_number", "callbacks")
    with op.batch_alter_table("callbacks") as batch:
        for column in ("policy", "source", "place_at", "number", "option_sid"):
            batch.drop_column(column)
