"""The executor on the fake Asterisk: a create whose answer was lost is settled by asking."""

from __future__ import annotations

from ari_callback.ari.client import AriClient
from ari_callback.domain import commands as cmd
from ari_callback.domain import events as ev
from ari_callback.engine.executor import Executor
from tests.fakes.ari import FakeTransport, Fault
from tests.fakes.asterisk import FakeAsterisk


class Timers:
    def start(self, name, delay, token): ...

    def cancel(self, name): ...


def _executor(fault: Fault) -> tuple[Executor, FakeAsterisk, list]:
    asterisk, emitted = FakeAsterisk(), []
    fake = FakeTransport(asterisk)
    # Every try of the create is hit, so the client's own resend cannot settle it.
    fake.inject(fault, when=lambda r: r.method == "POST" and r.path == "/channels/create", times=2)
    ari = AriClient("http://fake.invalid", "cb", "pw", rest_transport=fake)
    return Executor(ari, "cb", "a1", Timers(), emitted.append), asterisk, emitted


CREATE = cmd.CreateLeg("cb-a1-dst", "Local/1002@dst-route", "ulaw", {})


async def test_given_a_create_done_but_its_answer_lost_then_the_leg_counts_as_created() -> None:
    executor, asterisk, emitted = _executor(Fault.LOST_RESPONSE)
    await executor.run([CREATE])
    assert asterisk.created["cb-a1-dst"] == 1 and "cb-a1-dst" in executor.created
    assert not [e for e in emitted if isinstance(e, ev.LegFailed)]


async def test_given_a_create_lost_on_the_way_then_the_leg_fails() -> None:
    executor, asterisk, emitted = _executor(Fault.LOST_REQUEST)
    await executor.run([CREATE])
    assert asterisk.created["cb-a1-dst"] == 0 and "cb-a1-dst" not in executor.created
    assert [type(e) for e in emitted] == [ev.LegFailed]
