"""GET /v1/callbacks: the call history as a query (time range, status, number, extension), a
page at a time with a cursor; the store's query on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ari_callback.store.history import HistoryQuery

from .fonolo_app import OTHER_KEY, client
from .store_helpers import T0, new
from .test_api_hardening import KEY, hardened
from .test_store import db_url, store  # noqa: F401  (fixtures: each backend, a fresh database)


async def _made(store, count: int, **fields) -> list[str]:
    ids = [f"c{i:02d}" for i in range(count)]
    for i, callback_id in enumerate(ids):
        await new(store, callback_id, created_at=T0 + i, request={"src": ["1001"], "dst": f"20{i:02d}", **fields})
    return ids


async def test_given_25_callbacks_then_pages_of_10_newest_first_cover_each_once(store):
    ids = await _made(store, 25)
    seen, before = [], None
    while True:
        page = await store.callback_history("acme", HistoryQuery(limit=10, before=before))
        seen += [view.id for view in page]
        if len(page) < 10:
            break
        before = (page[-1].created_at, page[-1].id)
    assert seen == list(reversed(ids))


async def test_given_filters_then_only_what_matches(store):
    await _made(store, 5)
    await new(store, "ext", created_at=T0 + 10, request={"src": ["1001"], "dst": "2999", "extension_id": "100"})
    await new(store, "theirs", client_id="other", created_at=T0 + 11)
    ranged = await store.callback_history("acme", HistoryQuery(since=T0 + 1, until=T0 + 3))
    assert [v.id for v in ranged] == ["c02", "c01"]
    assert [v.id for v in await store.callback_history("acme", HistoryQuery(extension="100"))] == ["ext"]
    assert [v.id for v in await store.callback_history("acme", HistoryQuery(statuses=("completed",)))] == []
    assert "theirs" not in [v.id for v in await store.callback_history("acme", HistoryQuery())]


@pytest.fixture
async def built(tmp_path):
    async with hardened(tmp_path / "data") as made:
        yield made


async def test_given_the_api_then_a_cursor_walks_the_pages_and_the_client_sees_only_its_own(built):
    await _made(built.store, 7)
    async with client(built.app, headers=KEY) as api:
        first = (await api.get("/v1/callbacks", params={"limit": 5})).json()
        second = (await api.get("/v1/callbacks", params={"limit": 5, "cursor": first["next"]})).json()
        ranged = (await api.get("/v1/callbacks", params={"since": "1970-01-01T00:00:00Z",
                                                         "status": "queued,dialling"})).json()
    async with client(built.app, headers={"X-API-Key": OTHER_KEY}) as other:
        theirs = (await other.get("/v1/callbacks")).json()
    assert [c["id"] for c in first["callbacks"]] == ["c06", "c05", "c04", "c03", "c02"] and first["next"]
    assert [c["id"] for c in second["callbacks"]] == ["c01", "c00"] and second["next"] is None
    row = second["callbacks"][-1]
    assert (row["status"], row["src"], row["dst"], row["attempts"]) == ("queued", ["1001"], "2000", 0)
    assert len(ranged["callbacks"]) == 7
    assert theirs == {"callbacks": [], "next": None}


@pytest.mark.parametrize(("params", "error_id"), [
    ({"status": "ringing"}, "invalid_status"),
    ({"cursor": "not-a-cursor!"}, "invalid_cursor"),
    ({"since": "2026-12-06T10:00:00"}, "invalid_since"),
    ({"limit": 0}, "invalid_limit"),
])
async def test_given_a_bad_filter_then_422_naming_it(built, params, error_id):
    async with client(built.app, headers=KEY) as api:
        refused = await api.get("/v1/callbacks", params=params)
    assert (refused.status_code, refused.json()["error_id"]) == (422, error_id), refused.text
