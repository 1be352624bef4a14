"""R21: many live calls cancelled at once all end, cleanly and soon, with nothing left."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from .conftest import BULK_KEY

LIVE = 300


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


@pytest.mark.timeout(300)
async def test_given_300_live_calls_when_all_cancelled_at_once_then_every_one_ends_cleanly(api, service, caplog):
    caplog.set_level(logging.WARNING, logger="ari_callback")
    bulk = {"X-API-Key": BULK_KEY}
    responses = await asyncio.gather(*(api.post("/v1/callbacks", json={"src": ["1001"], "dst": "1002"},
                                                headers=bulk) for _ in range(LIVE)))
    assert [r.status_code for r in responses] == [201] * LIVE
    ids = [r.json()["id"] for r in responses]
    runners = service.engine.runners
    await _until(lambda: len(runners) == LIVE and all(r.machine.state == "connected" for r in runners.values()),
                 120, f"not all {LIVE} calls connected")
    asked = time.monotonic()
    cancels = await asyncio.gather(*(api.post(f"/v1/callbacks/{cid}/cancel", headers=bulk) for cid in ids))
    assert [c.status_code for c in cancels] == [202] * LIVE
    await _until(lambda: service.engine.active_calls == 0, 60, "calls still active after the cancel")
    ended = time.monotonic() - asked
    views = [await service.store.get(cid) for cid in ids]
    errors = [r.getMessage() for r in caplog.records if "could not save" in r.getMessage()]
    print(f"\nR21: {LIVE} live calls cancelled at once: all ended {ended:.1f} s after the cancels began")
    assert {(v.status, v.ended_by) for v in views} == {("cancelled", "cancel")}
    assert errors == []
