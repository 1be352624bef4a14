"""The schema, as SQLAlchemy Core tables on one ``MetaData``.

A *callback* is the durable request (what was asked, the plan resolved when it was accepted,
when it is due, who is dialling it under which lease); an *attempt* is one run of the call
machine for it, with its own id, legs and timeline. The *outbox* holds one row per status
change, written in the transaction of the change, for webhooks and the live event stream.

Times are epoch seconds in double precision: exact to the microsecond for centuries, the same
on SQLite and PostgreSQL, and free of time-zone conversions; the API renders them.

A change here needs a new migration in ``migrations/versions`` (the test suite compares the
migrated database with these tables).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

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

# A callback's statuses (domain.callback keeps the same names; a test keeps the two equal).
WAITING = ("queued", "scheduled")
DIALLING = "dialling"
FINISHED = ("completed", "failed", "cancelled")

CALL_ID = String(64)
LEG_ID = String(96)
INSTANCE_ID = String(128)
# SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY.
EVENT_ID = BigInteger().with_variant(Integer, "sqlite")


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
    # The plan as resolved when the callback was accepted (domain.snapshot.plan_to_dict):
    # every attempt, recovered ones included, runs this, never one rebuilt from today's config.
    Column("plan", JSON, nullable=True),
    _time("created_at", nullable=False),
    _time("updated_at", nullable=False),
    _time("due_at", nullable=False),
    _time("connected_at"),
    _time("ended_at"),
    # Only an instance serving this Asterisk may dial it (NULL: any).
    Column("asterisk", String(64), nullable=True),
    # The dispatcher's lease: who dials it, until when, and the fencing token that the owner's
    # writes must carry (a claim increments it, so a stale owner cannot write past it).
    Column("owner", INSTANCE_ID, nullable=True, index=True),
    # The Asterisk the current attempt's channels are on: only an instance serving it can adopt
    # them when the owner dies.
    Column("running_on", String(64), nullable=True),
    _time("lease_until"),
    Column("fence", Integer, nullable=False, default=0, server_default=text("0")),
    Column("attempts", Integer, nullable=False, default=0, server_default=text("0")),
    _time("cancel_requested_at"),
    # A customer callback waits in its call option's waitlist (NULL: a click-to-call), in the
    # order of ``place_at`` (when the customer joined: a caller who left a queue keeps that time).
    Column("option_sid", String(64), nullable=True),
    Column("number", String(64), nullable=True, index=True),
    _time("place_at"),
    _text("source", 16),
    # What decides its attempts after the first, resolved when accepted like the plan: the
    # retry policy, the calling hours and which side is the customer (domain.customer).
    Column("policy", JSON, nullable=True),
    # The Idempotency-Key that made it, as a tag of the key's current use (store/idempotency.py):
    # a retry after its server died before answering finds this callback instead of making one.
    Column("idem_tag", String(64), nullable=True),
)
Index("uq_callbacks_client_id_idem_tag", callbacks.c.client_id, callbacks.c.idem_tag, unique=True)
# Listing a client's newest callbacks is the common read after a lookup by id.
Index(None, callbacks.c.client_id, callbacks.c.created_at)
# What the dispatcher asks for: waiting callbacks in due order.
Index(None, callbacks.c.status, callbacks.c.due_at)
# A waitlist in order, and how many of an option's callbacks are being dialled.
Index(None, callbacks.c.option_sid, callbacks.c.status, callbacks.c.place_at)
# One pending callback per number and option: a second request gets the first one back, even
# when the two race on two instances.
PENDING = "status IN ('queued', 'scheduled', 'dialling')"
Index("uq_callbacks_pending_option_number", callbacks.c.option_sid, callbacks.c.number, unique=True,
      sqlite_where=text(PENDING), postgresql_where=text(PENDING))

attempts = Table(
    "attempts", metadata,
    Column("id", CALL_ID, primary_key=True),
    Column("callback_id", CALL_ID, ForeignKey("callbacks.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("instance", INSTANCE_ID, nullable=False),
    Column("state", String(24), nullable=False),
    _text("status_detail", 64),
    _text("ended_by", 32),
    Column("winner_leg", LEG_ID, nullable=True),
    _time("created_at", nullable=False),
    _time("updated_at", nullable=False),
    _time("connected_at"),
    _time("ended_at"),
    # The call machine after its last step (domain.snapshot.machine_snapshot, less the timeline,
    # which is the timeline table): recovery puts the machine back from this, exactly.
    Column("snapshot", JSON, nullable=True),
)

legs = Table(
    "legs", metadata,
    Column("id", LEG_ID, primary_key=True),
    Column("callback_id", CALL_ID, ForeignKey("callbacks.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("attempt_id", CALL_ID, ForeignKey("attempts.id", ondelete="CASCADE"),
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
    # How the leg ended, decided once by the machine (busy, no_answer, normal, ...).
    _text("outcome", 24),
)

timeline = Table(
    "timeline", metadata,
    Column("attempt_id", CALL_ID, ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("callback_id", CALL_ID, ForeignKey("callbacks.id", ondelete="CASCADE"),
           nullable=False, index=True),
    _time("at", nullable=False),
    Column("kind", String(32), nullable=False),
    Column("leg_id", LEG_ID, nullable=True),
    Column("detail", JSON, nullable=False),
)

# One row per status change of a callback (kind "callback") or of an attempt (kind "attempt"),
# in the transaction of the change. The id orders them (SSE's Last-Event-ID, a webhook's event
# id); a consumer keeps its own position, so several consumers can read the same rows.
outbox = Table(
    "outbox", metadata,
    Column("id", EVENT_ID, primary_key=True, autoincrement=True),
    _time("at", nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("callback_id", CALL_ID, nullable=False, index=True),
    Column("attempt_id", CALL_ID, nullable=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(24), nullable=False),
    Column("detail", JSON, nullable=False),
)

# Admission: the callbacks each client has that are not finished, kept by the same transactions
# that create and finish them, so a limit holds across instances with one row lock per client.
client_usage = Table(
    "client_usage", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("active", Integer, nullable=False, default=0, server_default=text("0")),
)

# Call-back profiles (seed 000), their call options (queues) and pre-call questions. What
# operators change (status, order) are columns; the rest of an option (dial mode, queue,
# hours, capacity, retry and slot policies, sounds) is one JSON document, read whole.
profiles = Table(
    "profiles", metadata,
    Column("sid", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False, index=True),
    Column("name", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("sms", Boolean, nullable=False, default=False, server_default=text("false")),
    Column("scheduling", Boolean, nullable=False, default=False, server_default=text("false")),
    Column("timezone", String(64), nullable=False),
    _time("created_at", nullable=False),
    _time("updated_at", nullable=False),
    Column("web", JSON, nullable=True),   # the public page's settings; NULL: not published
)

call_options = Table(
    "call_options", metadata,
    Column("sid", String(64), primary_key=True),
    Column("profile_sid", String(64), ForeignKey("profiles.sid", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("name", String(128), nullable=False),
    Column("position", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("settings", JSON, nullable=False),
    _time("updated_at", nullable=False),
)

questions = Table(
    "questions", metadata,
    Column("sid", String(64), primary_key=True),
    Column("profile_sid", String(64), ForeignKey("profiles.sid", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("position", Integer, nullable=False),
    Column("settings", JSON, nullable=False),
)

# ``Idempotency-Key``s of the POSTs that start a call, per client (docs/api-safety.md). The row is
# inserted before the request runs (the insert decides, across instances, which request runs);
# ``status`` stays NULL while it runs, then holds the answer that every repeat gets back.
idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("idem_key", String(255), primary_key=True),
    # sha256 of the method, path, query and body: the same key with another request is a 409.
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=True),
    Column("headers", JSON, nullable=True),
    Column("body", Text, nullable=True),
    _time("created_at", nullable=False),
    _time("completed_at"),
    _time("expires_at", nullable=False),
    # When the key's current use began: kept when an abandoned claim is taken over, new after
    # expiry. The callback the use made is tagged with it (callbacks.idem_tag).
    _time("epoch"),
)
Index(None, idempotency_keys.c.expires_at)

# API keys (ari_callback/keys.py): only the SHA-256 of a key is kept, unique, and looked up by it.
# A key belongs to one client; ``scope`` is "full" or "read_only"; ``extension`` limits it to
# that extension's routes of seed 002. A revoked key keeps its row (``revoked_at``) for the record.
api_keys = Table(
    "api_keys", metadata,
    Column("id", String(32), primary_key=True),
    Column("client_id", String(64), nullable=False, index=True),
    _text("name", 128),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("extension", String(64), nullable=True),
    _time("created_at", nullable=False),
    _time("revoked_at"),
    _time("last_used_at"),
)

# Client variables (seed 002): named values a client sets once and uses as @{NAME} in an extension
# id or $cv(NAME) in a body value. The configuration's ``clients.<id>.variables`` are defaults.
client_variables = Table(
    "client_variables", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
    _time("updated_at", nullable=False),
)

# The directory (ari_callback/directory.py): clients, their extensions, external numbers (DIDs)
# and sounds as managed through the API and the CLI. The configuration's are defaults: a stored
# row with the same id wins, and a client row holds only the settings changed from them.
clients = Table(
    "clients", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("settings", JSON, nullable=False),
    _time("created_at", nullable=False),
    _time("updated_at", nullable=False),
)
client_extensions = Table(
    "client_extensions", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("extension_id", String(64), primary_key=True),
    Column("number", String(40), nullable=False),   # NUMBER_RE: a + and up to 32 more
    _text("name", 128),
    Column("type", String(16), nullable=False),
    _time("updated_at", nullable=False),
)
client_numbers = Table(
    "client_numbers", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("number", String(40), primary_key=True),
    _time("updated_at", nullable=False),
)
client_sounds = Table(
    "client_sounds", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("sound_id", BigInteger, primary_key=True, autoincrement=False),
    Column("media", JSON, nullable=False),
    _time("updated_at", nullable=False),
)

# The keys a caller passes for one leg or one timeline entry (the ids come separately).
LEG_FIELDS = tuple(c.name for c in legs.columns if c.name not in ("callback_id", "attempt_id"))
TIMELINE_FIELDS = tuple(c.name for c in timeline.columns if c.name not in ("callback_id", "attempt_id"))

# Webhooks (docs/webhooks.md): one row per outbox event and webhook it matched, made by the
# fan-out; its status, tries and the next one are what the deliverer claims and updates. The
# body is fixed when the row is made, so every try and every replay send the same event.
webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", EVENT_ID, primary_key=True, autoincrement=True),
    Column("event_id", BigInteger, nullable=False),   # the outbox row's id: receivers dedupe on it
    Column("client_id", String(64), nullable=False),
    Column("callback_id", CALL_ID, nullable=False, index=True),
    Column("webhook_id", String(64), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("event_type", String(48), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),   # pending, delivered, failed (gave up)
    Column("attempts", Integer, nullable=False, default=0, server_default=text("0")),
    # Incremented by every claim and replay: a try's result is written only under its own claim.
    Column("fence", Integer, nullable=False, default=0, server_default=text("0")),
    _time("created_at", nullable=False),
    _time("next_try_at", nullable=False),
    _time("last_try_at"),
    _time("delivered_at"),
    Column("last_status_code", Integer, nullable=True),
    _text("last_error", 512),
    Column("tries", JSON, nullable=False),   # the latest tries: [{at, status_code, error, ms}]
)
# One delivery per event and webhook, however many instances fan the outbox out.
Index(None, webhook_deliveries.c.event_id, webhook_deliveries.c.webhook_id, unique=True)
# What the deliverer claims: pending deliveries in due order.
Index(None, webhook_deliveries.c.status, webhook_deliveries.c.next_try_at)

# Where each outbox consumer is: every id up to ``position`` has been handled except ``gaps``,
# ids not visible yet when a later one was (on PostgreSQL a transaction may commit after one
# that took a later id), each with when it was first missed: looked for again until it turns
# up or is old enough to be a rolled-back transaction's.
outbox_cursors = Table(
    "outbox_cursors", metadata,
    Column("consumer", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("gaps", JSON, nullable=False),
    _time("updated_at", nullable=False),
)
