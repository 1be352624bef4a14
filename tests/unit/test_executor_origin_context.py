"""Origins rung into the origin context ([cb-origin]): what the executor asks of Asterisk, what
the engine learns of an origin it was not yet subscribed to, and the apology when the app that
rang an origin is gone by the time it answers (issue 9, item 11)."""

from __future__ import annotations

import asyncio
import time

from ari_callback.ari import decode_event
from ari_callback.ari.client import AriClient
from ari_callback.domain import commands as cmd
from ari_callback.domain import events as ev
from ari_callback.domain.machine import CallMachine
from ari_callback.domain.plan import make_plan
from ari_callback.domain.request import CallbackRequest
from ari_callback.engine.call import CallRunner
from ari_callback.engine.executor import Executor, redirect_origins
from ari_callback.engine.translate import OriginEndReport, translate
from ari_callback.store import Lease
from tests.fakes.ari import FakeTransport
from tests.fakes.asterisk import FakeAsterisk
from tests.unit.test_domain_machine import CLIENT, DIALING


class Timers:
    def start(self, name, delay, token): ...

    def cancel(self, name): ...


ORIGIN = cmd.Originate("cb-a1-src0", "Local/1001@test-phones", "", 30, "ulaw", {"CB_ROLE": "src"})


def _executor(origin_context: str | None = "cb-origin") -> tuple[Executor, FakeAsterisk, list]:
    asterisk, emitted = FakeAsterisk(), []
    ari = AriClient("http://fake.invalid", "cb", "pw", rest_transport=FakeTransport(asterisk))
    return Executor(ari, "cb", "a1", Timers(), emitted.append, origin_context), asterisk, emitted


def _translated(asterisk: FakeAsterisk, kind: str) -> list:
    return [routed for event in asterisk.events_of(kind) for routed in translate(decode_event(event))]


async def test_given_an_origin_context_then_the_origin_is_rung_into_it_and_watched() -> None:
    executor, asterisk, emitted = _executor()
    await executor.run([ORIGIN])
    channel, variables = asterisk.channels["cb-a1-src0"], asterisk.variables["cb-a1-src0"]
    assert (channel["dialplan"]["context"], channel["dialplan"]["exten"], channel["app"]) == ("cb-origin", "s", "")
    assert variables == {"CB_ROLE": "src", "CB_APP": "cb", "CB_APP_ARGS": "leg,a1",
                         "CHANNEL(hangup_handler_push)": "cb-origin,ended,1"}
    assert asterisk.subscriptions == [("cb", "channel:cb-a1-src0")]
    # It was ringing before the subscription reached Asterisk: the executor read that off it.
    assert emitted == [ev.LegRinging("cb-a1-src0")]
    assert "cb-a1-src0" in executor.created


async def test_given_the_origin_answers_then_it_enters_the_app_as_an_answered_leg() -> None:
    executor, asterisk, _ = _executor()
    await executor.run([ORIGIN])
    assert asterisk.answer_origin("cb-a1-src0", active_apps={"cb"})
    assert _translated(asterisk, "StasisStart") == [("a1", ev.LegAnswered("cb-a1-src0"))]


async def test_given_the_origin_fails_before_the_subscription_then_its_cause_still_arrives() -> None:
    executor, asterisk, emitted = _executor()
    # A busy Local phone is gone within a millisecond, before the subscription reaches Asterisk.
    asterisk.before_subscribe = lambda source: asterisk.end_origin("cb-a1-src0", 17, {"cb"})
    await executor.run([ORIGIN])
    assert not [e for e in emitted if isinstance(e, ev.LegFailed)]
    assert asterisk.subscriptions == [] and executor.unwatched == {"cb-a1-src0"}
    # The hangup handler's Stasis() tells the engine the leg and its cause: for an unwatched
    # origin that report is its end (CallRunner keeps it).
    assert _translated(asterisk, "StasisStart") == [("a1", OriginEndReport("cb-a1-src0", 17, "User busy"))]


async def test_given_a_watched_origin_then_its_end_report_is_left_to_channel_destroyed() -> None:
    executor, asterisk, _ = _executor()
    await executor.run([ORIGIN])
    asterisk.end_origin("cb-a1-src0", 17, {"cb"})
    assert executor.unwatched == set()   # so CallRunner drops the report: ChannelDestroyed has the SIP code
    assert [e for _, e in _translated(asterisk, "ChannelDestroyed")] == [ev.LegDestroyed("cb-a1-src0", 17, "", None)]


async def test_given_the_app_gone_when_the_origin_answers_then_it_hears_the_apology() -> None:
    executor, asterisk, _ = _executor()
    await executor.run([ORIGIN])
    assert not asterisk.answer_origin("cb-a1-src0", active_apps=set())
    assert asterisk.apologised == ["cb-a1-src0"] and "cb-a1-src0" not in asterisk.channels


async def test_given_an_adopted_ringing_origin_then_it_answers_into_the_adopters_app() -> None:
    executor, asterisk, _ = _executor()
    await executor.run([ORIGIN])
    await redirect_origins(executor.ari, "cb-other", ["cb-a1-src0", "cb-a1-src1"])   # src1 is gone: fine
    assert asterisk.answer_origin("cb-a1-src0", active_apps={"cb-other"})
    assert asterisk.events_of("StasisStart")[-1]["application"] == "cb-other"


async def test_given_no_origin_context_then_origins_enter_the_app_directly() -> None:
    executor, asterisk, emitted = _executor(origin_context=None)
    await executor.run([ORIGIN])
    assert asterisk.channels["cb-a1-src0"]["app"] == "cb" and asterisk.subscriptions == []
    assert "CB_APP" not in asterisk.variables["cb-a1-src0"]


def test_given_an_ended_report_without_a_cause_then_the_leg_ends_with_none() -> None:
    event = decode_event({"type": "StasisStart", "application": "cb", "timestamp": "2026-12-06T00:00:00.000+0000",
                          "args": ["ended", ""], "channel": {"id": "cb-a1-src0", "name": "x", "state": "Down"}})
    assert translate(event) == [("a1", OriginEndReport("cb-a1-src0", None, ""))]


class Saved:
    """Stands in for the store, which these tests are not about: it keeps the last step."""

    async def save_attempt(self, lease, progress) -> None:
        self.last = progress


async def _ended_origin(watched: bool):
    """One origin run by a CallRunner on the fake Asterisk; it ends busy (486), watched or not.
    Only the events Asterisk would send the app reach the runner."""
    asterisk = FakeAsterisk()
    ari = AriClient("http://fake.invalid", "cb", "pw", rest_transport=FakeTransport(asterisk))
    plan = make_plan("a1", CallbackRequest(src=["1001"], dst="2002"), CLIENT, DIALING)
    runner = CallRunner(CallMachine(plan), ari, "cb", Saved(), time.time, Lease("c1", "a1", "acme", "i1", 1),
                        origin_context="cb-origin")
    sent = {"StasisStart", "ChannelDestroyed"} if watched else {"StasisStart"}
    asterisk.on_event = lambda e: [runner.post(call_event) for _, call_event in translate(decode_event(e))
                                   if e["type"] in sent]
    if not watched:
        asterisk.before_subscribe = lambda source: asterisk.end_origin("cb-a1-src0", 17, {"cb"}, tech_cause=486)
    task = asyncio.create_task(runner.run(ev.Start()))
    await asyncio.sleep(0.05)
    if watched:
        asterisk.end_origin("cb-a1-src0", 17, {"cb"}, tech_cause=486)
    await asyncio.wait_for(task, 5)
    return runner.machine


async def test_given_a_watched_origin_ends_busy_then_its_sip_code_comes_from_channel_destroyed() -> None:
    machine = await _ended_origin(watched=True)
    leg = machine.legs["cb-a1-src0"]
    assert (machine.status_detail, leg.cause, leg.tech_cause) == ("src_busy", 17, 486)


async def test_given_an_origin_gone_before_the_subscription_then_the_report_ends_it() -> None:
    machine = await _ended_origin(watched=False)
    leg = machine.legs["cb-a1-src0"]
    assert (machine.status_detail, leg.cause, leg.cause_txt, leg.tech_cause) == ("src_busy", 17, "User busy", None)
