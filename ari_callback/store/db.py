"""Engines and migrations for the two supported databases: SQLite (aiosqlite) and PostgreSQL
(asyncpg). Everything else in the store is written once, in SQLAlchemy Core, for both."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_WAL_ATTEMPTS, SQLITE_WAL_PAUSE_S = 50, 0.1
PG_CONNECT_TIMEOUT_S = 10
# Execution option naming the statement that opens a SQLite transaction. Writers ask for
# "BEGIN IMMEDIATE": a deferred transaction that has read first cannot take the write lock once
# another connection has committed (SQLITE_BUSY at once, the busy timeout does not help).
SQLITE_BEGIN = "ari_callback_sqlite_begin"
WRITE = {SQLITE_BEGIN: "BEGIN IMMEDIATE"}
# Any constant will do: it only has to be the same in every process migrating one database.
PG_MIGRATION_LOCK = 0x61726963616C6C   # "aricall"


class StoreError(Exception):
    """Anything the store refuses or fails to do."""


class DuplicateCallback(StoreError):
    """A callback with this id exists already."""


class IdempotentRepeat(StoreError):
    """A callback was made by this use of the Idempotency-Key already (its server died before
    storing the answer): that one is the answer."""

    def __init__(self, callback_id: str):
        super().__init__(f"callback {callback_id!r} was made with this Idempotency-Key")
        self.callback_id = callback_id


class PendingCallback(StoreError):
    """The number has a pending callback for this option already: that one is the answer."""

    def __init__(self, callback_id: str):
        super().__init__(f"callback {callback_id!r} is pending for this number and option")
        self.callback_id = callback_id


class LimitReached(StoreError):
    """The client has as many unfinished callbacks as it may: nothing was stored."""

    def __init__(self, client_id: str, active: int):
        super().__init__(f"client {client_id!r} has {active} unfinished callbacks")
        self.client_id, self.active = client_id, active


class PaceReached(StoreError):
    """The client started as many callbacks as it may in the last window: nothing was stored."""

    def __init__(self, client_id: str, started: int, window: float):
        super().__init__(f"client {client_id!r} started {started} callbacks in the last {window:g} s")
        self.client_id, self.started, self.window = client_id, started, window


class LeaseLost(StoreError):
    """Another instance holds the callback now (or it finished): this write was refused."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or cannot answer now; worth retrying later (HTTP 503)."""


# PostgreSQL SQLSTATE classes that mean "not now" rather than "wrong": connection exception,
# insufficient resources (e.g. too many connections), operator intervention (shutdown, starting).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        return exc.connection_invalidated or sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
    # Refused or timed-out connections come from the driver's connect() unwrapped, and so do
    # errors of statements run on the raw sqlite3 connection (pragmas).
    return isinstance(exc, (OSError, sqlite3.OperationalError))


@contextmanager
def translated(doing: str) -> Iterator[None]:
    """Turn "the database is away" into ``StoreUnavailable``; other errors pass unchanged."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        if _unavailable(exc):
            raise StoreUnavailable(f"database unavailable while {doing}: {exc}") from exc
        raise


def _json_dumps(value: object) -> str:
    # Non-ASCII stays readable in the database; NaN is refused because neither PostgreSQL nor
    # SQLite's JSON functions accept it.
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


async def open_engine(url: str) -> AsyncEngine:
    """An engine for ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://...``.

    PostgreSQL is not contacted yet: the first query (normally ``migrate``) finds out whether
    it is there. A SQLite file is created and switched to WAL now. Either raises
    ``StoreUnavailable`` when the database cannot be reached.
    """
    parsed = make_url(url)
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if (backend, driver) == ("sqlite", "aiosqlite"):
        _make_parent_dir(parsed.database)
        engine = create_async_engine(parsed, json_serializer=_json_dumps)
        _install_sqlite_hooks(engine.sync_engine)
        try:
            await _enable_wal(engine)
        except BaseException:
            await engine.dispose()
            raise
        return engine
    if (backend, driver) == ("postgresql", "asyncpg"):
        # pre_ping: a pooled connection may have died with a PostgreSQL restart.
        return create_async_engine(parsed, json_serializer=_json_dumps, pool_pre_ping=True,
                                   connect_args={"timeout": PG_CONNECT_TIMEOUT_S})
    raise StoreError(f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
                     "use sqlite+aiosqlite:///path or postgresql+asyncpg://...")


def _make_parent_dir(database: str | None) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailable(f"cannot create the directory for {database!r}: {exc}") from exc


def _install_sqlite_hooks(sync_engine: Engine) -> None:
    """Settings SQLite keeps per connection, and real transactions.

    Python's sqlite3 driver only opens a transaction before DML, so DDL and reads would run
    outside one: a failed migration would be left half applied. We take over BEGIN instead
    (SQLAlchemy's documented recipe for SQLite transactions).
    """

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(SQLITE_BEGIN, "BEGIN"))


async def _enable_wal(engine: AsyncEngine) -> None:
    """WAL, so readers do not block the writer (the API reads while calls are saved).

    The mode is kept in the database file, so once is enough. Switching needs the file to
    itself for a moment, and SQLite refuses at once, without waiting out the busy timeout,
    when another process is starting on the same new file: hence the retries.
    """
    for attempt in range(1, SQLITE_WAL_ATTEMPTS + 1):
        try:
            with translated("switching SQLite to WAL"):
                async with engine.connect() as conn:
                    await conn.run_sync(_raw_pragma, "journal_mode=WAL")
            return
        except StoreUnavailable as exc:
            if "locked" not in str(exc) or attempt == SQLITE_WAL_ATTEMPTS:
                raise
        await asyncio.sleep(SQLITE_WAL_PAUSE_S)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code: no alembic.ini has to be found at run time."""
    config = Config()
    # ConfigParser interpolates '%': a path containing one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


# Alembic keeps the running migration in module globals (``op``, ``context``): two migrations
# interleaving in one event loop would run each other's operations. One at a time per loop.
_migration_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = \
    weakref.WeakKeyDictionary()


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; a no-op when it is there already."""
    lock = _migration_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        with translated("migrating"):
            async with engine.connect() as conn:
                await conn.run_sync(_upgrade)


def _upgrade(conn: Connection) -> None:
    """``alembic upgrade head`` on our connection, in one transaction.

    On SQLite, foreign keys are switched off around it: a batch migration recreates a table by
    copy, drop and rename, and with enforcement on the drop would delete every leg and timeline
    entry through ON DELETE CASCADE. The pragma is ignored inside a transaction, hence
    before BEGIN; ``foreign_key_check`` afterwards refuses a migration that broke a reference.
    """
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        _raw_pragma(conn, "foreign_keys=OFF")
    try:
        with conn.execution_options(**WRITE).begin():
            if conn.dialect.name == "postgresql":
                # Several instances may start together; only one may create the tables.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
            command.upgrade(alembic_config(conn), "head")
            if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                raise StoreError("a migration left rows whose foreign keys point nowhere")
    finally:
        if sqlite:
            _raw_pragma(conn, "foreign_keys=ON")


def _raw_pragma(conn: Connection, pragma: str) -> None:
    # Straight on the driver connection: through SQLAlchemy the statement would open a
    # transaction first, and these pragmas do nothing (or fail) inside one.
    driver = conn.connection.dbapi_connection
    assert driver is not None   # a checked-out connection has its driver connection
    cursor = driver.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()
