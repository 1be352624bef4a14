"""The engine's sweep and catch-up against the in-memory fake Asterisk (no Docker here)."""

from __future__ import annotations

from ari_callback.ari.client import AriClient
from ari_callback.engine.engine import Engine
from tests.fakes.ari import FakeTransport
from tests.fakes.asterisk import FakeAsterisk


def _engine(asterisk: FakeAsterisk) -> Engine:
    return Engine(AriClient("http://fake.invalid", "cb", "pw", rest_transport=FakeTransport(asterisk)),
                  store=None, app="cb")


async def test_given_leftovers_of_finished_and_running_attempts_then_only_the_finished_ones_go() -> None:
    asterisk = FakeAsterisk()
    engine = _engine(asterisk)
    ari = engine.ari
    for attempt in ("done", "live"):
        await ari.create_bridge(f"cb-{attempt}")
        await ari.create_channel("Local/1001@test-phones", channel_id=f"cb-{attempt}-dst", app="cb-dead")
    await ari.create_bridge("not-ours")
    asked: list[set[str]] = []

    async def finished(ids: set[str]) -> set[str]:
        asked.append(ids)
        return {"done"} & ids

    await engine.sweep(finished)
    assert asked == [{"done", "live"}]
    assert sorted(asterisk.bridges) == ["cb-live", "not-ours"]
    assert sorted(asterisk.channels) == ["cb-live-dst"]


async def test_given_nothing_of_ours_then_the_store_is_not_asked() -> None:
    engine = _engine(FakeAsterisk())

    async def finished(ids: set[str]) -> set[str]:
        raise AssertionError("nothing to ask about")

    await engine.sweep(finished)


def test_an_asterisk_restart_after_a_leg_was_made_is_told_apart_from_a_hangup() -> None:
    from ari_callback.engine.engine import _restarted_since
    from ari_callback.engine.executor import AsteriskState
    state = AsteriskState(frozenset(), frozenset(), frozenset(), started_at=1000.0)
    assert _restarted_since(state, 999.0) and not _restarted_since(state, 1001.0)
    assert not _restarted_since(AsteriskState(frozenset(), frozenset(), frozenset()), 999.0)


class _Runner:
    def __init__(self, finished: bool) -> None:
        self.machine = type("Machine", (), {"finished": finished})()
        self.let_go = False

    def abandon(self) -> None:
        self.let_go = True


def test_given_a_renewal_that_missed_calls_then_only_unfinished_ones_are_let_go() -> None:
    # A call whose final save released its lease while the renewal ran is missing from the
    # renewal too; its task still has to hang up and destroy the bridge, so it keeps running.
    engine = _engine(FakeAsterisk())
    taken, ending = _Runner(finished=False), _Runner(finished=True)
    engine.by_callback.update({"taken": taken, "ending": ending})   # type: ignore[dict-item]
    engine.abandon(["taken", "ending", "unknown"])
    assert (taken.let_go, ending.let_go) == (True, False)
