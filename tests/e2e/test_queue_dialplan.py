"""The queue dialplan ([cb-queue], [cb-agent-first], queues.conf) on the real Asterisk.

Drives the two callback modes by hand over ARI, the way the app will (docs/asterisk-queue.md):
- agent first: originate ``Local/<queue>@cb-agent-first`` into Stasis; the leg comes up only
  when an agent answers;
- customer first: the customer (a test phone) in a bridge, then ``Local/<queue>@cb-queue``
  created, added to the bridge and dialled.
The agents are test phones (asterisk-conf/queues_test.conf): sales = 4012 (answers after 2 s),
support = 1002/1003 (answer at once), hold = no agents but callers may wait, closed = nobody
may join. The test app subscribes to everything so it sees the agents' TestPhone reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import subprocess
import time
import wave
from array import array
from collections.abc import AsyncIterator, Callable

import pytest

from ari_callback.ari.client import AriClient
from ari_callback.ari.models import (
    Channel,
    ChannelDestroyed,
    ChannelStateChange,
    ChannelUserevent,
    Dial,
    Event,
    PlaybackFinished,
    StasisStart,
)
from ari_callback.ari.stream import EventStream

from .conftest import CONTAINER

APP = "cb-queue-test"


class Log:
    """Every event of the test app, with the time it arrived."""

    def __init__(self) -> None:
        self.events: list[tuple[float, Event]] = []
        self._changed = asyncio.Condition()

    async def add(self, event: Event) -> None:
        async with self._changed:
            self.events.append((time.monotonic(), event))
            self._changed.notify_all()

    async def wait(self, predicate: Callable[[Event], bool], timeout: float = 10.0) -> tuple[float, Event]:
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for at, event in self.events:
                    if predicate(event):
                        return at, event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching event within {timeout} s")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    def of(self, channel_id: str) -> list[tuple[float, Event]]:
        def cid(e: Event) -> str | None:
            channel = getattr(e, "peer", None) if isinstance(e, Dial) else getattr(e, "channel", None)
            return channel.id if isinstance(channel, Channel) else None
        return [(at, e) for at, e in self.events if cid(e) == channel_id]


@contextlib.asynccontextmanager
async def rig(asterisk) -> AsyncIterator[tuple[AriClient, Log]]:
    log = Log()
    stream = EventStream(asterisk.url, asterisk.username, asterisk.password, APP, subscribe_all=True)
    task = asyncio.create_task(stream.run(log.add))
    ari = AriClient(asterisk.url, asterisk.username, asterisk.password)
    try:
        await asyncio.wait_for(stream.connected.wait(), 15)
        yield ari, log
    finally:
        # A failed assertion must not leave channels for the leak check of the next test.
        for channel in await ari.list_channels():
            if channel.id.startswith("q"):
                with contextlib.suppress(Exception):
                    await ari.hangup(channel.id)
        await asyncio.sleep(0.2)
        for bridge in await ari.list_bridges():
            if bridge.id.startswith("q"):
                with contextlib.suppress(Exception):
                    await ari.destroy_bridge(bridge.id)
        await stream.stop()
        await asyncio.wait_for(task, 10)
        await ari.close()


def stasis_start(channel_id: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, StasisStart) and e.channel.id == channel_id


def destroyed(channel_id: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, ChannelDestroyed) and e.channel.id == channel_id


def agent_answered(phones: set[str]) -> Callable[[Event], bool]:
    return lambda e: (isinstance(e, ChannelUserevent) and e.eventname == "TestPhone"
                      and e.userevent.get("action") == "answered" and e.userevent.get("phone") in phones)


async def customer(ari: AriClient, log: Log, channel_id: str) -> None:
    """A customer who answers at once (test phone 1001), in Stasis and in bridge ``channel_id``-b."""
    await ari.originate("Local/1001@test-phones", channel_id=channel_id, app=APP, formats="ulaw")
    await log.wait(stasis_start(channel_id))
    await ari.request("POST", "/bridges", params={"type": "mixing", "bridgeId": f"{channel_id}-b"})
    await ari.add_channel(f"{channel_id}-b", channel_id)


async def queue_leg(ari: AriClient, log: Log, bridge: str, channel_id: str, queue: str,
                    **variables: str) -> float:
    """Customer first: Local/<queue>@cb-queue created, bridged, dialled; returns the dial time."""
    await ari.create_channel(f"Local/{queue}@cb-queue", channel_id=channel_id, app=APP,
                             formats="ulaw", other_channel_id=f"{channel_id}-2", variables=variables)
    await log.wait(stasis_start(channel_id))
    await ari.add_channel(bridge, channel_id)
    dialled = time.monotonic()
    await ari.dial(channel_id, timeout=0)
    return dialled


async def hang_up(ari: AriClient, log: Log, *channel_ids: str, bridges: tuple[str, ...] = ()) -> None:
    for channel_id in channel_ids:
        with contextlib.suppress(Exception):
            await ari.hangup(channel_id)
    for channel_id in channel_ids:
        await log.wait(destroyed(channel_id))
    for bridge in bridges:
        await ari.destroy_bridge(bridge)


async def queue_function(ari: AriClient, channel_id: str, function: str) -> str:
    body = await ari.request("GET", f"/channels/{channel_id}/variable", params={"variable": function})
    return body["value"]


def queue_show(queue: str) -> str:
    return subprocess.run(["docker", "exec", CONTAINER, "asterisk", "-rx", f"queue show {queue}"],
                          capture_output=True, text=True, check=True).stdout


async def test_given_agent_first_then_the_leg_comes_up_only_when_an_agent_answers(asterisk) -> None:
    async with rig(asterisk) as (ari, log):
        started = time.monotonic()
        await ari.originate("Local/sales@cb-agent-first", channel_id="qaf", app=APP, formats="ulaw",
                            other_channel_id="qaf-2", variables={"CB_QUEUE_TIMEOUT": "10"})
        entered, start = await log.wait(stasis_start("qaf"))
        agent_at, _ = await log.wait(agent_answered({"4012"}))
        assert start.channel.state == "Up"
        # Agent 4012 rings 2 s: the leg is answered then, not before.
        assert 1.8 <= entered - started <= 3.0, entered - started
        events = log.of("qaf")
        statuses = [e.dialstatus for _, e in events if isinstance(e, Dial)]
        assert statuses == ["", "ANSWER"]            # no RINGING, no PROGRESS
        states = [e.channel.state for _, e in events if isinstance(e, ChannelStateChange)]
        assert states == ["Up"]
        up_at = next(at for at, e in events if isinstance(e, ChannelStateChange))
        assert up_at <= entered and entered - up_at < 0.1
        # The whisper to the agent, on the leg itself.
        await ari.request("POST", "/channels/qaf/play/qaf-whisper",
                          params={"media": "digits:5551234,sound:beep"})
        _, finished = await log.wait(lambda e: isinstance(e, PlaybackFinished)
                                     and e.playback.id == "qaf-whisper")
        assert finished.playback.state == "done"
        print(f"\nagent first: originate -> Up/StasisStart {entered - started:.3f} s "
              f"(agent answered report {agent_at - started:.3f} s)")
        await hang_up(ari, log, "qaf")
        _, gone = await log.wait(destroyed("qaf"))
        assert gone.cause == 16


async def test_given_customer_first_then_the_customer_waits_with_music_and_reaches_an_agent(asterisk) -> None:
    async with rig(asterisk) as (ari, log):
        await customer(ari, log, "qcf")
        dialled = await queue_leg(ari, log, "qcf-b", "qcf-dst", "support", CB_QUEUE_TIMEOUT="10")
        up_at, _ = await log.wait(lambda e: isinstance(e, ChannelStateChange) and e.channel.id == "qcf-dst"
                                  and e.channel.state == "Up")
        await log.wait(agent_answered({"1002", "1003"}))
        statuses = [e.dialstatus for _, e in log.of("qcf-dst") if isinstance(e, Dial)]
        assert statuses == ["", "PROGRESS", "ANSWER"]
        # The Local pair is not optimised away: the app's leg stays in its bridge.
        await asyncio.sleep(0.5)
        bridge = await ari.get_bridge("qcf-b")
        assert sorted(bridge.channels) == ["qcf", "qcf-dst"]
        print(f"\ncustomer first: dial -> Up {up_at - dialled:.3f} s (agents answer at once)")
        await hang_up(ari, log, "qcf", "qcf-dst", bridges=("qcf-b",))


async def test_given_customer_waiting_then_music_on_hold_reaches_the_customer(asterisk) -> None:
    async with rig(asterisk) as (ari, log):
        await customer(ari, log, "qmoh")
        await queue_leg(ari, log, "qmoh-b", "qmoh-dst", "hold", CB_QUEUE_TIMEOUT="10")
        await log.wait(lambda e: isinstance(e, Dial) and e.peer.id == "qmoh-dst" and e.dialstatus == "PROGRESS")
        # What the customer hears: a snoop on its leg (audio going out to it), recorded.
        await ari.request("POST", "/channels/qmoh/snoop", params={"spy": "out", "app": APP, "snoopId": "qmoh-snoop"})
        await log.wait(stasis_start("qmoh-snoop"))
        await ari.request("POST", "/channels/qmoh-snoop/record",
                          params={"name": "qmoh", "format": "wav", "maxDurationSeconds": 2, "ifExists": "overwrite"})
        await log.wait(lambda e: e.type == "RecordingFinished", timeout=5)
        leg = await ari.get_channel("qmoh-dst")
        assert leg.state == "Down"                   # still waiting: no agent
        await hang_up(ari, log, "qmoh-snoop", "qmoh", "qmoh-dst", bridges=("qmoh-b",))
    data = subprocess.run(["docker", "exec", CONTAINER, "cat", "/var/spool/asterisk/recording/qmoh.wav"],
                          capture_output=True, check=True).stdout
    subprocess.run(["docker", "exec", CONTAINER, "rm", "-f", "/var/spool/asterisk/recording/qmoh.wav"])
    with wave.open(io.BytesIO(data)) as w:
        assert w.getsampwidth() == 2
        samples, half = array("h", w.readframes(w.getnframes())), w.getframerate() // 2
    rms = [round(math.sqrt(sum(x * x for x in samples[i:i + half]) / len(samples[i:i + half])))
           for i in range(0, len(samples), half)]
    print(f"\nwhat the waiting customer heard, RMS per 0.5 s: {rms}")
    assert max(rms) > 200, rms


async def test_given_a_position_then_the_caller_joins_there(asterisk) -> None:
    async with rig(asterisk) as (ari, log):
        await ari.originate("Local/1001@test-phones", channel_id="qpos-probe", app=APP, formats="ulaw")
        await log.wait(stasis_start("qpos-probe"))
        names = {}
        for caller, position in (("qpos-a", ""), ("qpos-b", ""), ("qpos-c", "1")):
            channel = await ari.originate("Local/hold@cb-queue", channel_id=caller, app=APP, formats="ulaw",
                                          variables={"CB_QUEUE_TIMEOUT": "20", "CB_QUEUE_POSITION": position})
            names[channel.name.replace(";1", ";2")] = caller
            count = len(names)
            for _ in range(50):
                if await queue_function(ari, "qpos-probe", "QUEUE_WAITING_COUNT(hold)") == str(count):
                    break
                await asyncio.sleep(0.05)
            assert await queue_function(ari, "qpos-probe", "QUEUE_WAITING_COUNT(hold)") == str(count)
        shown = queue_show("hold")
        order = [names[line.split()[1]] for line in shown.splitlines()
                 if line.strip()[:2] in ("1.", "2.", "3.")]
        assert order == ["qpos-c", "qpos-a", "qpos-b"], shown
        await hang_up(ari, log, "qpos-a", "qpos-b", "qpos-c", "qpos-probe")


@pytest.mark.parametrize("queue, variables, cause, within", [
    ("hold", {"CB_QUEUE_TIMEOUT": "1"}, 19, (0.9, 3.0)),    # QUEUESTATUS=TIMEOUT
    ("closed", {}, 34, (0.0, 0.5)),                          # JOINEMPTY
    ("nope", {}, 1, (0.0, 0.5)),                             # no such queue: UNKNOWN
])
async def test_given_no_agent_then_the_leg_ends_with_the_documented_cause(
        asterisk, queue: str, variables: dict[str, str], cause: int, within: tuple[float, float]) -> None:
    async with rig(asterisk) as (ari, log):
        # Agent first (originate) ...
        started = time.monotonic()
        await ari.originate(f"Local/{queue}@cb-agent-first", channel_id="qend-af", app=APP, formats="ulaw",
                            variables=variables)
        at, gone = await log.wait(destroyed("qend-af"), timeout=5)
        first = at - started
        assert gone.cause == cause and within[0] <= first <= within[1], (gone, first)
        assert not [e for _, e in log.of("qend-af") if isinstance(e, StasisStart)]
        # ... and customer first (create + dial), the same outcome.
        await customer(ari, log, "qend")
        dialled = await queue_leg(ari, log, "qend-b", "qend-dst", queue, **variables)
        at, gone = await log.wait(destroyed("qend-dst"), timeout=5)
        assert gone.cause == cause and within[0] <= at - dialled <= within[1], (gone, at - dialled)
        print(f"\n{queue}: cause {cause} after {first:.3f} s (agent first), {at - dialled:.3f} s (customer first)")
        await hang_up(ari, log, "qend", bridges=("qend-b",))


async def test_given_queue_functions_then_readable_on_a_stasis_channel_not_globally(asterisk) -> None:
    async with rig(asterisk) as (ari, log):
        # The global-variable endpoint does not evaluate functions: 200 with an empty value.
        body = await ari.request("GET", "/asterisk/variable", params={"variable": "QUEUE_MEMBER(support,count)"})
        assert body["value"] == ""
        await ari.originate("Local/1001@test-phones", channel_id="qfn", app=APP, formats="ulaw")
        await log.wait(stasis_start("qfn"))
        values = {f: await queue_function(ari, "qfn", f) for f in (
            "QUEUE_MEMBER(support,count)", "QUEUE_MEMBER(support,logged)", "QUEUE_MEMBER(support,free)",
            "QUEUE_MEMBER(support,ready)", "QUEUE_MEMBER(hold,count)", "QUEUE_MEMBER(hold,ready)",
            "QUEUE_WAITING_COUNT(hold)", "QUEUE_EXISTS(sales)", "QUEUE_EXISTS(nope)")}
        assert values == {
            "QUEUE_MEMBER(support,count)": "2", "QUEUE_MEMBER(support,logged)": "2",
            "QUEUE_MEMBER(support,free)": "2", "QUEUE_MEMBER(support,ready)": "2",
            "QUEUE_MEMBER(hold,count)": "0", "QUEUE_MEMBER(hold,ready)": "0",
            "QUEUE_WAITING_COUNT(hold)": "0", "QUEUE_EXISTS(sales)": "1", "QUEUE_EXISTS(nope)": "0"}
        await hang_up(ari, log, "qfn")
