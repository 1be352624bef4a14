"""The callback store against SQLite in tmp_path and against a real PostgreSQL (the
``pg_database`` fixture of tests/conftest.py: a database of its own per test, dropped after)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import sqlite3
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, func, select, text

from ari_callback.domain.states import TERMINAL
from ari_callback.store import (
    CallbackStore,
    CallbackView,
    DuplicateCallback,
    StoreError,
    StoreUnavailable,
    migrate,
    open_engine,
)
from ari_callback.store import callbacks as callbacks_module
from ari_callback.store import db as db_module
from ari_callback.store.db import alembic_config
from ari_callback.store.tables import FINISHED, metadata

from .store_helpers import ME, PBX, T0, claim_one, entry, lease, leg, new, step

BACKENDS = ["sqlite", "postgresql"]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/data/callbacks.db"
    # Asked for by name so the PostgreSQL server starts only when a test needs it.
    return request.getfixturevalue("pg_database")


@pytest.fixture
async def store(db_url):
    opened = await CallbackStore.open(db_url)
    yield opened
    await opened.close()


# ------------------------------------------------------------------------------ migrations
async def test_given_a_migrated_database_when_migrated_again_then_nothing_changes(store):
    await new(store)
    await migrate(store.engine)
    await migrate(store.engine)
    async with store.engine.connect() as conn:
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    assert versions == ["0010"]
    assert (await store.get("c1")) is not None


async def test_given_the_migrations_when_compared_with_tables_py_then_they_match(store):
    def diff(conn):
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)

    async with store.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


# Waits for a line on stdin, so that every process starts migrating at the same moment.
OPEN_IN_A_PROCESS = """
import asyncio, sys
from ari_callback.store import CallbackStore

async def main():
    print("ready", flush=True)
    sys.stdin.readline()
    store = await CallbackStore.open(sys.argv[1])
    await store.close()

asyncio.run(main())
"""


async def test_given_several_processes_starting_at_once_when_they_migrate_then_all_succeed(db_url):
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", OPEN_IN_A_PROCESS, db_url, cwd=ROOT, stdin=PIPE, stdout=PIPE, stderr=PIPE)
        for _ in range(3)]
    for proc in procs:
        assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"ready\n"
    for proc in procs:
        proc.stdin.write(b"go\n")
    # Two more in this process, at the same time: alembic's globals must not mix them up.
    stores = await asyncio.gather(*(CallbackStore.open(db_url) for _ in range(2)), return_exceptions=True)
    results = [await asyncio.wait_for(proc.communicate(), 60) for proc in procs]
    for opened in stores:
        if isinstance(opened, CallbackStore):
            await opened.close()
    assert [opened for opened in stores if not isinstance(opened, CallbackStore)] == []
    outcomes = [(proc.returncode, err.decode()[-2000:]) for proc, (_, err) in zip(procs, results, strict=True)]
    assert outcomes == [(0, "")] * 3


BATCH_MIGRATION = '''
from alembic import op
import sqlalchemy as sa
revision, down_revision, branch_labels, depends_on = "9999", "{head}", None, None

def upgrade():
    with op.batch_alter_table("callbacks", recreate="always") as batch:
        batch.add_column(sa.Column("note", sa.String(8), nullable=True))
'''


async def test_given_a_sqlite_batch_migration_of_callbacks_then_legs_and_timeline_survive(
        tmp_path, monkeypatch):
    url = f"sqlite+aiosqlite:///{tmp_path}/callbacks.db"
    opened = await CallbackStore.open(url)
    await new(opened)
    claim = await claim_one(opened)
    await opened.save_attempt(lease(claim), step("calling_src", "new", legs=[leg("cb-a-src0", "src")],
                                                 timeline=[entry(0)]))
    scripts = tmp_path / "migrations"
    shutil.copytree(db_module.MIGRATIONS, scripts)
    head = max(path.name[:4] for path in (scripts / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    (scripts / "versions" / "9999_batch.py").write_text(BATCH_MIGRATION.replace("{head}", head))
    monkeypatch.setattr(db_module, "MIGRATIONS", scripts)
    # Recreating callbacks drops the old table: with foreign keys enforced, ON DELETE CASCADE
    # would take every leg and timeline entry with it.
    await migrate(opened.engine)
    view = await opened.get("c1")
    await opened.close()
    assert len(view.latest.legs) == 1 and len(view.latest.timeline) == 1


async def test_given_no_connection_when_alembic_runs_then_env_refuses():
    with pytest.raises(RuntimeError, match="config.attributes"):
        command.upgrade(alembic_config(None), "head")


async def test_given_a_sqlite_url_when_opened_then_dir_wal_and_foreign_keys_are_set(tmp_path):
    path = tmp_path / "deep" / "er" / "callbacks.db"
    opened = await CallbackStore.open(f"sqlite+aiosqlite:///{path}")
    try:
        assert path.exists()
        # After migrate (which turns foreign keys off around itself) the pool's connections
        # must enforce them again.
        async with opened.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() > 0
    finally:
        await opened.close()


async def test_given_a_new_sqlite_file_locked_by_another_process_when_opened_then_it_waits(tmp_path):
    path = tmp_path / "callbacks.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    asyncio.get_running_loop().call_later(0.3, holder.rollback)
    try:
        opened = await CallbackStore.open(f"sqlite+aiosqlite:///{path}")
        await opened.close()
    finally:
        holder.close()


async def test_given_an_unknown_database_kind_when_opened_then_store_error():
    with pytest.raises(StoreError, match="unsupported"):
        await open_engine("mysql+aiomysql://u:p@127.0.0.1/db")


def test_the_stores_finished_states_are_the_machines_terminal_states():
    assert set(FINISHED) == TERMINAL


# A database as migration 0001 left it: a finished call and one cut by the upgrade.
OLD_ROWS = [
    "INSERT INTO callbacks (id, client_id, api, status, status_detail, ended_by, request, winner_leg, "
    "created_at, updated_at, connected_at, ended_at) VALUES "
    "('done', 'acme', 'native', 'completed', 'answered', 'dst', '{\"src\": [\"1\"]}', 'cb-done-src0', 1.5, 9.5, 2.5, 9.5),"  # noqa: E501
    "('live', 'acme', 'pbx', 'connected', '', '', '{}', 'cb-live-src0', 3.5, 4.5, 4.0, NULL)",
    "INSERT INTO legs (id, callback_id, role, number, idx, created_at, cause) VALUES "
    "('cb-done-src0', 'done', 'src', '1001', 0, 1.5, 16), ('cb-done-dst', 'done', 'dst', '1002', 0, 2.0, 16),"
    "('cb-live-src0', 'live', 'src', '1001', 0, 3.5, NULL)",
    "INSERT INTO timeline (callback_id, seq, at, kind, leg_id, detail) VALUES "
    "('done', 0, 1.5, 'leg_created', 'cb-done-src0', '{}'), ('done', 1, 9.5, 'state', NULL, '{}'),"
    "('live', 0, 3.5, 'leg_created', 'cb-live-src0', '{}')",
]


async def test_given_a_database_made_by_0001_when_migrated_then_every_row_lives_on_in_attempts(db_url):
    engine = await open_engine(db_url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0001"))
            await conn.commit()
        async with engine.begin() as conn:
            for statement in OLD_ROWS:
                await conn.exec_driver_sql(statement)
        await migrate(engine)
    finally:
        await engine.dispose()
    migrated = await CallbackStore.open(db_url)
    try:
        done, live = await migrated.get("done"), await migrated.get("live")
        assert (done.status, done.status_detail, done.ended_by, done.request, done.due_at) == (
            "completed", "answered", "dst", {"src": ["1"]}, 1.5)
        attempt = done.latest
        assert (attempt.id, attempt.seq, attempt.state, attempt.winner_leg, attempt.connected_at) == (
            "done", 1, "completed", "cb-done-src0", 2.5)
        assert [lg["id"] for lg in attempt.legs] == ["cb-done-src0", "cb-done-dst"]
        assert [e["seq"] for e in attempt.timeline] == [0, 1]
        # Cut mid-call by the upgrade: dialling, no plan, a lapsed lease: recovery ends it cleanly.
        assert (live.status, live.plan, live.lease_until, live.latest.state) == ("dialling", None, 0, "connected")
        assert await migrated.active_count("acme") == 1
        adopted = await migrated.claim_orphans(ME, PBX, T0, 15.0, 10)
        assert [(c.callback_id, c.plan, len(c.attempt.legs)) for c in adopted] == [("live", None, 1)]
    finally:
        await migrated.close()


# ---------------------------------------------------------------------------- unavailable
async def test_given_a_sqlite_path_under_a_file_when_opened_then_store_unavailable(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(StoreUnavailable):
        await CallbackStore.open(f"sqlite+aiosqlite:///{tmp_path}/a-file/callbacks.db")


@pytest.fixture
def closed_port():
    """A loopback port bound but not listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_given_postgres_down_when_opened_then_store_unavailable(closed_port):
    with pytest.raises(StoreUnavailable):
        await CallbackStore.open(f"postgresql+asyncpg://u:p@127.0.0.1:{closed_port}/db")


async def test_given_postgres_down_when_used_then_every_call_raises_store_unavailable(closed_port):
    down = CallbackStore(await open_engine(f"postgresql+asyncpg://u:p@127.0.0.1:{closed_port}/db"))
    try:
        for attempt in (down.get("c1"), down.active_count("acme"), down.list_unfinished(), down.list_recent(),
                        new(down), down.claim_due(ME, PBX, T0, 15.0, 1), down.renew_leases(ME, T0, 15.0),
                        down.request_cancel("c1", "acme", T0), down.cancel_requests(ME), down.next_due(PBX)):
            with pytest.raises(StoreUnavailable):
                await attempt
    finally:
        await down.close()


# ------------------------------------------------------------------------------ integrity
async def test_given_the_sqlite_file_deleted_while_open_then_writes_fail_and_the_problem_is_named(tmp_path):
    path = tmp_path / "data" / "callbacks.db"
    opened = await CallbackStore.open(f"sqlite+aiosqlite:///{path}")
    try:
        await new(opened, "kept")
        assert await opened.problem() is None
        path.unlink()
        with pytest.raises(StoreUnavailable, match="gone"):
            await new(opened, "lost")
        with pytest.raises(StoreUnavailable, match="gone"):
            await opened.claim_due(ME, PBX, T0, 15.0, 1)
        assert "gone" in await opened.problem()
    finally:
        await opened.close()


async def test_given_the_sqlite_file_replaced_while_open_then_writes_fail(tmp_path):
    path = tmp_path / "callbacks.db"
    opened = await CallbackStore.open(f"sqlite+aiosqlite:///{path}")
    try:
        other = tmp_path / "other.db"
        other.write_bytes(path.read_bytes())
        other.replace(path)
        with pytest.raises(StoreUnavailable, match="replaced"):
            await new(opened)
        assert "replaced" in await opened.problem()
    finally:
        await opened.close()


async def test_given_postgres_down_then_the_problem_is_named(closed_port):
    down = CallbackStore(await open_engine(f"postgresql+asyncpg://u:p@127.0.0.1:{closed_port}/db"))
    try:
        assert await down.problem()
    finally:
        await down.close()
