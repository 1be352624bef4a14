"""The schema, as SQLAlchemy Core tables on one ``MetaData``.

Times are epoch seconds in double precision: exact to the microsecond for centuries, the same
on SQLite and PostgreSQL, and free of time-zone conversions; the API renders them.
Status strings are the call machine's state names, stored as they are.

A change here needs a new migration in ``migrations/versions`` (the test suite compares the
migrated database with these tables). Later tables (jobs with leases, idempotency keys,
webhooks) go on this same ``metadata``.
"""

from __future__ import annotations

from sqlalchemy import (JSON, Column, Double, ForeignKey, Index, Integer, MetaData, String, Table,
                        text)

# Deterministic constraint names: Alembic's batch mode on SQLite recreates tables and can only
# drop or alter a constraint it can name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# The call machine's terminal states (domain.states.TERMINAL; the store does not import the
# domain, a test keeps the two equal).
FINISHED = ("completed", "failed", "cancelled")

CALL_ID = String(64)
LEG_ID = String(96)


def _time(name: str, nullable: bool = True) -> Column:
    return Column(name, Double, nullable=nullable)


def _text(name: str, length: int) -> Column:
    """A string that is '' rather than NULL when unknown, so readers need not care."""
    return Column(name, String(length), nullable=False, default="", server_default=text("''"))


callbacks = Table(
    "callbacks", metadata,
    Column("id", CALL_ID, primary_key=True),
    Column("client_id", String(64), nullable=False, index=True),
    Column("api", String(16), nullable=False),
    Column("status", String(24), nullable=False, index=True),
    _text("status_detail", 64),
    _text("ended_by", 32),
    Column("request", JSON, nullable=False),
    Column("response", JSON, nullable=True),
    Column("winner_leg", LEG_ID, nullable=True),
    _time("created_at", nullable=False),
    _time("updated_at", nullable=False),
    _time("connected_at"),
    _time("ended_at"),
)
# Listing a client's newest callbacks is the common read after a lookup by id.
Index(None, callbacks.c.client_id, callbacks.c.created_at)

legs = Table(
    "legs", metadata,
    Column("id", LEG_ID, primary_key=True),
    Column("callback_id", CALL_ID, ForeignKey("callbacks.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("role", String(8), nullable=False),
    Column("number", String(64), nullable=False),
    Column("idx", Integer, nullable=False, default=0, server_default=text("0")),
    _time("created_at"),
    _time("ringing_at"),
    _time("progress_at"),
    _time("answered_at"),
    _time("hangup_at"),
    _time("ended_at"),
    Column("cause", Integer, nullable=True),
    _text("cause_txt", 128),
    Column("tech_cause", Integer, nullable=True),
    _text("dialstatus", 24),
    _text("hangup_reason", 32),
)

timeline = Table(
    "timeline", metadata,
    Column("callback_id", CALL_ID, ForeignKey("callbacks.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    _time("at", nullable=False),
    Column("kind", String(32), nullable=False),
    Column("leg_id", LEG_ID, nullable=True),
    Column("detail", JSON, nullable=False),
)

# The keys a caller passes for one leg or one timeline entry (the callback id comes separately).
LEG_FIELDS = tuple(c.name for c in legs.columns if c.name != "callback_id")
TIMELINE_FIELDS = tuple(c.name for c in timeline.columns if c.name != "callback_id")
