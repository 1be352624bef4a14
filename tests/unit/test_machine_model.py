"""R9: the pure call machine driven by Hypothesis through random event sequences.

A tiny fake Asterisk offers, at each step, any event that could plausibly arrive for what the
machine has done so far — for every leg it created: ringing, progress, answer, ready, a dial
status, hangup, destroy (duplicates and out-of-order included); timers with the current or a
stale token; playback ends; DTMF; transfer requests; cancel; resume. Invariants are checked
after every step, and at the end the fake Asterisk destroys every leg: the call must finish.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ari_callback.domain import commands as cmd
from ari_callback.domain import events as ev
from ari_callback.domain.machine import CallMachine, IllegalTransition
from ari_callback.domain.plan import CallerId, ClientPolicy, DialingPolicy, Route, Trunk, make_plan
from ari_callback.domain.request import CallbackRequest
from ari_callback.domain.states import ALL_STATES, ENDING, TERMINAL

from .model_budget import MODEL_EXAMPLES

DIALING = DialingPolicy(trunks={"in": Trunk("in", "Local/{number}@test-phones"),
                                "out": Trunk("out", "Local/{n}@test-phones", external=True)},
                        routes=(Route(re.compile(r"0(?P<n>\d{4})"), "out"), Route(re.compile(r"\d{4}"), "in")))
CLIENT = ClientPolicy("c", sounds={1: ("sound:beep",)}, caller_id=CallerId("Cb", "5550100"))


@st.composite
def plans(draw):
    options = dict(
        src=draw(st.sampled_from([["1001"], ["1001", "2001"], ["1001", "02001", "3001"]])),
        dst=draw(st.sampled_from(["1002", "01002"])),
        announce_sound_id=draw(st.sampled_from([None, 1])),
        dst_announce_sound_id=draw(st.sampled_from([None, 1])),
        dst_dtmf=draw(st.sampled_from([None, "12w#"])),
        transfer_after_dst_hangup=draw(st.sampled_from([None, "6001"])),
        transfer_after_src_hangup=draw(st.sampled_from([None, "6002"])),
        allow_public_transfer=draw(st.booleans()),
        simultaneous=draw(st.booleans()),
    )
    return make_plan("m", CallbackRequest(**{k: v for k, v in options.items() if v is not None}), CLIENT, DIALING)


class FakeAsterisk:
    """What the machine asked for, hence what Asterisk could report."""

    def __init__(self):
        self.created: list[str] = []
        self.created_kind: dict[str, str] = {}
        self.timers: dict[str, list[int]] = {}
        self.playbacks: list[str] = []
        self.bridged_srcs: set[str] = set()
        self.bridge_created = self.bridge_destroyed = 0

    def take(self, m: CallMachine, commands: list) -> None:
        for c in commands:
            match c:
                case cmd.Originate() | cmd.CreateLeg():
                    assert c.leg_id not in self.created, f"{c.leg_id} created twice"
                    self.created.append(c.leg_id)
                    self.created_kind[c.leg_id] = type(c).__name__
                case cmd.StartTimer():
                    self.timers.setdefault(c.name, []).append(c.token)
                case cmd.PlayToLeg() | cmd.PlayToBridge():
                    self.playbacks.append(c.playback_id)
                case cmd.CreateBridge():
                    self.bridge_created += 1
                case cmd.DestroyBridge():
                    self.bridge_destroyed += 1
                case cmd.AddToBridge() if "-src" in c.leg_id:
                    self.bridged_srcs.add(c.leg_id)
            leg = m.legs.get(getattr(c, "leg_id", ""))
            if leg is not None and leg.destroyed and not isinstance(c, cmd.Hangup):
                raise AssertionError(f"{c} targets destroyed leg {leg.id}")

    def events(self) -> list:
        out: list = [ev.Cancel(), ev.Resume(), ev.PlaybackDone("cb-m-pb99")]
        for leg in self.created:
            out += [ev.LegRinging(leg), ev.LegProgress(leg), ev.LegAnswered(leg), ev.LegHangup(leg, 16),
                    ev.LegDestroyed(leg, 0), ev.LegDestroyed(leg, 17), ev.LegDestroyed(leg, 26),
                    ev.LegDialStatus(leg, "BUSY"), ev.LegDialStatus(leg, "NOANSWER"),
                    ev.DtmfReceived(leg, "#"), ev.DtmfReceived(leg, "6"), ev.TransferRequested(leg, "6003")]
            if self.created_kind[leg] == "CreateLeg":
                out.append(ev.LegReady(leg))
            if self.created_kind[leg] == "Originate":
                out.append(ev.LegFailed(leg, "refused"))
        for name, tokens in self.timers.items():
            out += [ev.TimerFired(name, token) for token in tokens]
        out += [ev.PlaybackDone(pid, ok) for pid in self.playbacks for ok in (True, False)]
        return out


def check(m: CallMachine, fake: FakeAsterisk, before_state: str, commands: list) -> None:
    assert m.state in ALL_STATES
    assert len(fake.bridged_srcs) <= 1, f"two origins bridged: {fake.bridged_srcs}"
    if m.state in TERMINAL:
        assert all(leg.destroyed for leg in m.legs.values()), "finished with a live leg"
    assert fake.bridge_destroyed <= 1 and fake.bridge_destroyed <= fake.bridge_created
    if m.state == ENDING and before_state != ENDING:
        live = [leg.id for leg in m.legs.values() if not leg.leaving]
        assert not live, f"ending without hanging up {live}"
    ringing = [lg for lg in m.legs.values() if lg.role != "src" and not lg.answered and not lg.leaving]
    assert len(ringing) <= 1, f"two destination/transfer legs rung at once: {ringing}"


def snapshot(m: CallMachine) -> tuple:
    return m.state, tuple((lg.id, lg.answered_at, lg.hangup_requested_at, lg.hangup_at, lg.ended_at)
                          for lg in m.legs.values())


def step(m: CallMachine, fake: FakeAsterisk, event, now: float) -> None:
    before = snapshot(m)
    was_terminal = m.state in TERMINAL
    try:
        commands = m.handle(event, now)
    except IllegalTransition:
        assert snapshot(m) == before, "an illegal transition changed the machine"
        return
    if was_terminal:
        assert commands == [] and m.state in TERMINAL
    fake.take(m, commands)
    check(m, fake, before[0], commands)


@pytest.mark.timeout(900)
@settings(max_examples=MODEL_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans(), data=st.data())
def test_given_any_event_sequence_then_invariants_hold_and_the_call_finishes(plan, data):
    m, fake, now = CallMachine(plan), FakeAsterisk(), 0.0
    step(m, fake, ev.Start(), now)
    for _ in range(data.draw(st.integers(0, 30))):
        now += 0.5
        step(m, fake, data.draw(st.sampled_from(fake.events())), now)
    # Liveness: Asterisk ends everything (ending creates no new legs, but a transfer may).
    for _ in range(4):
        if m.state not in TERMINAL:
            step(m, fake, ev.Cancel(), now)
        for leg_id in list(fake.created):
            now += 0.1
            step(m, fake, ev.LegDestroyed(leg_id, 16), now)
    assert m.state in TERMINAL, f"not finished: {m.state}"
