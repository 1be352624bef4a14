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
from ari_callback.store import (CallbackStore, CallbackView, DuplicateCallback, StoreError,
                                StoreUnavailable, migrate, open_engine)
from ari_callback.store import callbacks as callbacks_module
from ari_callback.store import db as db_module
from ari_callback.store.db import alembic_config
from ari_callback.store.tables import FINISHED, LEG_FIELDS, callbacks, legs, metadata, timeline

BACKENDS = ["sqlite", "postgresql"]

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_718_000_000.123456   # microseconds must survive the round trip


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


async def _new(store: CallbackStore, call_id: str = "c1", client_id: str = "acme", status: str = "new",
               created_at: float = T0, request: dict | None = None) -> None:
    await store.insert(id=call_id, client_id=client_id, api="native", status=status,
                       request=request or {"src_num": ["100"], "dst_num": "200"}, created_at=created_at)


def _leg(leg_id: str, role: str, idx: int = 0, **fields) -> dict:
    return {"id": leg_id, "role": role, "number": f"n-{leg_id}", "idx": idx, **fields}


def _entry(seq: int, kind: str = "state", leg_id: str | None = None, **detail) -> dict:
    return {"seq": seq, "at": T0 + seq, "kind": kind, "leg_id": leg_id, "detail": detail}


async def _save(store: CallbackStore, call_id: str = "c1", *, status: str = "calling_src",
                legs: list[dict] = (), timeline: list[dict] = (), **fields) -> None:
    values = dict(status_detail="", ended_by="", winner_leg=None, connected_at=None, ended_at=None,
                  updated_at=T0 + 100)
    values.update(fields)
    await store.save_progress(call_id, status=status, legs=list(legs), timeline=list(timeline), **values)


# ------------------------------------------------------------------------------ migrations
async def test_given_a_migrated_database_when_migrated_again_then_nothing_changes(store):
    await _new(store)
    await migrate(store.engine)
    await migrate(store.engine)
    async with store.engine.connect() as conn:
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    assert versions == ["0001"]
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
    assert [(proc.returncode, err.decode()[-2000:]) for proc, (_, err) in zip(procs, results)] == [(0, "")] * 3


BATCH_MIGRATION = '''
from alembic import op
import sqlalchemy as sa
revision, down_revision, branch_labels, depends_on = "0002", "0001", None, None

def upgrade():
    with op.batch_alter_table("callbacks", recreate="always") as batch:
        batch.add_column(sa.Column("note", sa.String(8), nullable=True))
'''


async def test_given_a_sqlite_batch_migration_of_callbacks_then_legs_and_timeline_survive(
        tmp_path, monkeypatch):
    url = f"sqlite+aiosqlite:///{tmp_path}/callbacks.db"
    opened = await CallbackStore.open(url)
    await _new(opened)
    await _save(opened, legs=[_leg("cb-c1-src0", "src")], timeline=[_entry(0)])
    scripts = tmp_path / "migrations"
    shutil.copytree(db_module.MIGRATIONS, scripts)
    (scripts / "versions" / "0002_batch.py").write_text(BATCH_MIGRATION)
    monkeypatch.setattr(db_module, "MIGRATIONS", scripts)
    # Recreating callbacks drops the old table: with foreign keys enforced, ON DELETE CASCADE
    # would take every leg and timeline entry with it.
    await migrate(opened.engine)
    view = await opened.get("c1")
    await opened.close()
    assert len(view.legs) == 1 and len(view.timeline) == 1


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


# ------------------------------------------------------------------------- insert and get
async def test_given_an_inserted_callback_when_read_then_every_field_round_trips(store):
    request = {"src_num": ["100", "101"], "dst_num": "200", "wait_for_pickup": 30, "nested": {"a": [1, None]}}
    await store.insert(id="c1", client_id="acme", api="pbx", status="new", request=request,
                       created_at=T0, response={"call_id": "c1"})
    view = await store.get("c1")
    assert view == CallbackView(id="c1", client_id="acme", api="pbx", status="new", status_detail="", ended_by="",
                                request=request, response={"call_id": "c1"}, winner_leg=None, created_at=T0,
                                updated_at=T0, connected_at=None, ended_at=None, legs=(), timeline=())
    assert not view.finished


async def test_given_an_existing_id_when_inserted_again_then_duplicate_and_the_first_is_kept(store):
    await _new(store, client_id="acme")
    with pytest.raises(DuplicateCallback):
        await _new(store, client_id="other", status="failed")
    view = await store.get("c1")
    assert (view.client_id, view.status) == ("acme", "new")


async def test_given_another_clients_or_no_callback_when_read_with_a_client_id_then_none(store):
    await _new(store, client_id="acme")
    assert await store.get("c1", client_id="other") is None
    assert (await store.get("c1", client_id="acme")).id == "c1"
    assert (await store.get("c1")).id == "c1"
    assert await store.get("nope") is None


async def test_given_non_ascii_json_when_stored_then_it_comes_back_unchanged(store):
    request = {"caller_id": {"name": "Zoë Ñandú 日本語 📞", "number": "+33 1"}, "variables": {"GRÜSSE": "straße"}}
    await _new(store, request=request)
    await store.set_response("c1", {"message": "créé ✓"})
    await _save(store, timeline=[_entry(0, "dtmf_received", note="Ünïcode ✓")])
    view = await store.get("c1")
    assert view.request == request
    assert view.response == {"message": "créé ✓"}
    assert view.timeline[0]["detail"] == {"note": "Ünïcode ✓"}


async def test_given_no_such_callback_when_a_response_is_set_then_store_error(store):
    with pytest.raises(StoreError):
        await store.set_response("nope", {})


# -------------------------------------------------------------------------- save_progress
async def test_given_progress_when_saved_twice_then_legs_are_upserted_and_timeline_appended(store):
    await _new(store)
    await _save(store, legs=[_leg("cb-c1-src0", "src", created_at=T0)],
                timeline=[_entry(0, "leg_created", "cb-c1-src0"), _entry(1)])
    await _save(store, status="connected", winner_leg="cb-c1-src0", connected_at=T0 + 5,
                legs=[_leg("cb-c1-src0", "src", created_at=T0, answered_at=T0 + 4.5),
                      _leg("cb-c1-dst", "dst", created_at=T0 + 4.6, dialstatus="ANSWER")],
                timeline=[_entry(2, "answered", "cb-c1-src0"), _entry(3)])
    view = await store.get("c1")
    assert (view.status, view.winner_leg, view.connected_at, view.updated_at) == (
        "connected", "cb-c1-src0", T0 + 5, T0 + 100)
    assert [(leg["id"], leg["answered_at"], leg["dialstatus"]) for leg in view.legs] == [
        ("cb-c1-src0", T0 + 4.5, ""), ("cb-c1-dst", None, "ANSWER")]
    assert [e["seq"] for e in view.timeline] == [0, 1, 2, 3]
    assert view.timeline[0] == {"seq": 0, "at": T0, "kind": "leg_created", "leg_id": "cb-c1-src0", "detail": {}}
    assert set(view.legs[0]) == set(LEG_FIELDS)


async def test_given_a_failing_entry_when_progress_is_saved_then_nothing_of_it_is_written(store):
    await _new(store)
    await _save(store, legs=[_leg("cb-c1-src0", "src")], timeline=[_entry(0)])
    with pytest.raises(StoreError):
        await _save(store, status="connected", legs=[_leg("cb-c1-src0", "src", answered_at=T0),
                                                     _leg("cb-c1-dst", "dst")],
                    timeline=[_entry(1), _entry(0, "duplicate")])
    view = await store.get("c1")
    assert view.status == "calling_src"
    assert [(leg["id"], leg["answered_at"]) for leg in view.legs] == [("cb-c1-src0", None)]
    assert [(e["seq"], e["kind"]) for e in view.timeline] == [(0, "state")]


async def test_given_an_unknown_call_when_progress_is_saved_then_store_error_and_nothing_written(store):
    with pytest.raises(StoreError, match="no callback"):
        await _save(store, "ghost", legs=[_leg("cb-ghost-src0", "src")], timeline=[_entry(0)])
    async with store.engine.connect() as conn:
        for table in (legs, timeline):
            assert (await conn.execute(select(func.count()).select_from(table))).scalar_one() == 0


async def test_given_bad_leg_fields_when_progress_is_saved_then_value_error(store):
    await _new(store)
    with pytest.raises(ValueError, match="colour"):
        await _save(store, legs=[_leg("cb-c1-src0", "src", colour="red")])
    with pytest.raises(ValueError, match="number"):
        await _save(store, legs=[{"id": "cb-c1-src0", "role": "src"}])


async def test_given_legs_saved_in_any_order_when_read_then_src_dst_xfer_by_index(store):
    await _new(store)
    await _save(store, legs=[_leg("cb-c1-xfer1", "xfer"), _leg("cb-c1-dst", "dst"),
                             _leg("cb-c1-src1", "src", 1), _leg("cb-c1-src0", "src", 0)])
    assert [leg["id"] for leg in (await store.get("c1")).legs] == [
        "cb-c1-src0", "cb-c1-src1", "cb-c1-dst", "cb-c1-xfer1"]


async def test_given_a_leg_id_of_another_call_when_saved_then_that_call_keeps_its_leg(store):
    await _new(store, "c1")
    await _new(store, "c2")
    await _save(store, "c1", legs=[_leg("shared", "src", cause=16)])
    await _save(store, "c2", legs=[_leg("shared", "src", cause=17)])
    assert (await store.get("c1")).legs[0]["cause"] == 16
    assert (await store.get("c2")).legs == ()


async def test_given_a_deleted_callback_then_its_legs_and_timeline_go_with_it(store):
    await _new(store)
    await _save(store, legs=[_leg("cb-c1-src0", "src")], timeline=[_entry(0)])
    async with store.engine.begin() as conn:
        await conn.execute(delete(callbacks).where(callbacks.c.id == "c1"))
    async with store.engine.connect() as conn:
        for table in (legs, timeline):
            assert (await conn.execute(select(func.count()).select_from(table))).scalar_one() == 0


async def test_given_two_engines_on_one_database_when_writing_at_once_then_every_write_lands(db_url, store):
    other = await CallbackStore.open(db_url)
    try:
        async def call(writer: CallbackStore, call_id: str) -> None:
            await _new(writer, call_id)
            for seq in range(5):
                await _save(writer, call_id, legs=[_leg(f"cb-{call_id}-src0", "src", cause=seq)],
                            timeline=[_entry(seq)])

        await asyncio.gather(*(call(store if i % 2 else other, f"c{i}") for i in range(10)))
        views = [await store.get(f"c{i}") for i in range(10)]
        assert all(len(v.timeline) == 5 and v.legs[0]["cause"] == 4 for v in views)
    finally:
        await other.close()


# ---------------------------------------------------------------------------------- lists
async def test_given_calls_in_every_state_when_listed_then_only_unfinished_ones_count(store):
    for i, (client, status) in enumerate([("acme", "new"), ("acme", "connected"), ("acme", "completed"),
                                          ("acme", "failed"), ("other", "calling_src"), ("acme", "ending")]):
        await _new(store, f"c{i}", client, created_at=T0 + i)
        if status != "new":
            await _save(store, f"c{i}", status=status, legs=[_leg(f"cb-c{i}-src0", "src")], timeline=[_entry(0)])
    await _new(store, "c9", "acme", created_at=T0 + 9)
    await _save(store, "c9", status="cancelled")

    unfinished = await store.list_unfinished()
    assert [v.id for v in unfinished] == ["c0", "c1", "c4", "c5"]
    assert not any(v.finished for v in unfinished)
    assert unfinished[1].legs[0]["id"] == "cb-c1-src0" and len(unfinished[1].timeline) == 1
    assert await store.count_active("acme") == 3
    assert await store.count_active("other") == 1
    assert await store.count_active("nobody") == 0
    assert (await store.get("c9")).finished


async def test_given_more_unfinished_calls_than_one_query_takes_when_listed_then_all_come_back(
        store, monkeypatch):
    monkeypatch.setattr(callbacks_module, "_CHUNK", 2)
    for i in range(5):
        await _new(store, f"c{i}", created_at=T0 + i)
        await _save(store, f"c{i}", legs=[_leg(f"cb-c{i}-src0", "src")], timeline=[_entry(0), _entry(1)])
    unfinished = await store.list_unfinished()
    assert [(v.id, len(v.legs), len(v.timeline)) for v in unfinished] == [(f"c{i}", 1, 2) for i in range(5)]


async def test_given_many_calls_when_listing_recent_then_newest_first_per_client(store):
    for i in range(6):
        await _new(store, f"c{i}", "acme" if i % 2 else "other", created_at=T0 + i)
        await _save(store, f"c{i}", legs=[_leg(f"cb-c{i}-src0", "src")], timeline=[_entry(0)])
    assert [v.id for v in await store.list_recent(limit=3)] == ["c5", "c4", "c3"]
    recent = await store.list_recent(client_id="acme")
    assert [v.id for v in recent] == ["c5", "c3", "c1"]
    assert all(len(v.legs) == 1 and v.timeline == () for v in recent)


def test_the_stores_finished_states_are_the_machines_terminal_states():
    assert set(FINISHED) == TERMINAL


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
        for attempt in (down.get("c1"), down.count_active("acme"), down.list_unfinished(), down.list_recent(),
                        down.insert(id="c1", client_id="a", api="cli", status="new", request={}, created_at=T0),
                        _save(down, timeline=[_entry(0)]), down.set_response("c1", {})):
            with pytest.raises(StoreUnavailable):
                await attempt
    finally:
        await down.close()
