"""callbacks apart from their attempts; leases; the outbox; admission counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

Every existing callback becomes one attempt whose id is the callback's (its channel ids were
``cb-<callback>-...``, so its legs and timeline keep pointing at the right call). Unfinished
callbacks become ``dialling`` with an expired lease and no plan: they were started by a version
that stored none, so recovery ends them cleanly rather than guess their plan from today's
configuration (docs/decisions.md). Written out in full, not built from ``tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FINISHED = "('completed', 'failed', 'cancelled')"


def _text(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False, server_default=sa.text("''"))


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Double(), nullable=nullable)


def upgrade() -> None:
    _create_attempts()
    op.execute("INSERT INTO attempts (id, callback_id, seq, instance, state, status_detail, ended_by, "
               "winner_leg, created_at, updated_at, connected_at, ended_at) "
               "SELECT id, id, 1, '', status, status_detail, ended_by, winner_leg, created_at, "
               "updated_at, connected_at, ended_at FROM callbacks")
    _reshape_callbacks()
    _reshape_legs()
    _reshape_timeline()
    _create_outbox_and_usage()


def _create_attempts() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("callback_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("instance", sa.String(128), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        _text("status_detail", 64),
        _text("ended_by", 32),
        sa.Column("winner_leg", sa.String(96), nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        _time("connected_at"),
        _time("ended_at"),
        sa.Column("snapshot", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_attempts"),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"], ondelete="CASCADE",
                                name="fk_attempts_callback_id_callbacks"),
    )
    op.create_index("ix_attempts_callback_id", "attempts", ["callback_id"])


def _reshape_callbacks() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("plan", sa.JSON(), nullable=True))
        batch.add_column(_time("due_at"))
        batch.add_column(sa.Column("asterisk", sa.String(64), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(128), nullable=True))
        batch.add_column(sa.Column("running_on", sa.String(64), nullable=True))
        batch.add_column(_time("lease_until"))
        batch.add_column(sa.Column("fence", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.add_column(_time("cancel_requested_at"))
        batch.drop_column("response")
        batch.drop_column("winner_leg")
    op.execute("UPDATE callbacks SET due_at = created_at, attempts = 1")
    op.execute(f"UPDATE callbacks SET status = 'dialling', lease_until = 0 WHERE status NOT IN {FINISHED}")
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column("due_at", existing_type=sa.Double(), nullable=False)
        batch.create_index("ix_callbacks_owner", ["owner"])
        batch.create_index("ix_callbacks_status_due_at", ["status", "due_at"])


def _reshape_legs() -> None:
    with op.batch_alter_table("legs") as batch:
        batch.add_column(sa.Column("attempt_id", sa.String(64), nullable=True))
        batch.add_column(_text("outcome", 24))
    op.execute("UPDATE legs SET attempt_id = callback_id")
    with op.batch_alter_table("legs") as batch:
        batch.alter_column("attempt_id", existing_type=sa.String(64), nullable=False)
        batch.create_foreign_key("fk_legs_attempt_id_attempts", "attempts", ["attempt_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_index("ix_legs_attempt_id", ["attempt_id"])


def _reshape_timeline() -> None:
    with op.batch_alter_table("timeline") as batch:
        batch.add_column(sa.Column("attempt_id", sa.String(64), nullable=True))
    op.execute("UPDATE timeline SET attempt_id = callback_id")
    with op.batch_alter_table("timeline", recreate="always") as batch:
        batch.alter_column("attempt_id", existing_type=sa.String(64), nullable=False)
        batch.drop_constraint("pk_timeline", type_="primary")
        batch.create_primary_key("pk_timeline", ["attempt_id", "seq"])
        batch.create_foreign_key("fk_timeline_attempt_id_attempts", "attempts", ["attempt_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_index("ix_timeline_callback_id", ["callback_id"])


def _create_outbox_and_usage() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False,
                  autoincrement=True),
        _time("at", nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("callback_id", sa.String(64), nullable=False),
        sa.Column("attempt_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_callback_id", "outbox", ["callback_id"])
    op.create_table(
        "client_usage",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("client_id", name="pk_client_usage"),
    )
    op.execute("INSERT INTO client_usage (client_id, active) SELECT client_id, count(*) FROM callbacks "
               f"WHERE status NOT IN {FINISHED} GROUP BY client_id")


def downgrade() -> None:
    raise RuntimeError("0002 is not reversible: attempts cannot be folded back into callbacks")
