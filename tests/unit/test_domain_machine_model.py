"""R9: a Hypothesis model of the call machine against a tiny fake Asterisk.

A ``RuleBasedStateMachine`` plays Asterisk: three times in four it answers what the machine asked
for (an originate rings, answers or is busy; a created leg becomes ready; a dialled leg rings,
sends early media, answers or fails; a hung-up leg is destroyed; a running timer fires; a
playback finishes), otherwise it sends anything at all: any event about any leg in any state,
duplicates, events out of order, timers with stale tokens, legs that are not ours, cancels,
restarts. Parties key DTMF (transfer codes) and phones REFER.

Checked after every single event: an IllegalTransition changes nothing; at most one origin is
ever bridged; terminal only with every leg destroyed, and then silent, with no timer left; never
two destination/transfer legs rung at once; ids unique; no command but Hangup for a destroyed
leg, none for a leg never created; each leg dialled and bridged once; one DestroyBridge, after a
CreateBridge; entering ``ending`` hangs up every live leg and ``ending`` starts nothing new; every
wait has its timer and every conversation its call_duration timer and TIMEOUT(absolute).
Liveness: once Asterisk has destroyed every leg, the call is finished and its bridge destroyed.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from ari_callback.domain import commands as cmd
from ari_callback.domain import events as ev
from ari_callback.domain.machine import CallMachine, IllegalTransition
from ari_callback.domain.plan import CallerId, ClientPolicy, DialingPolicy, Route, Trunk, make_plan
from ari_callback.domain.request import CallbackRequest
from ari_callback.domain.states import (
    ALL_STATES,
    ANNOUNCE,
    ANNOUNCING,
    CALLING_DST,
    CALLING_SRC,
    CONNECTED,
    DST_RING,
    DURATION,
    ENDING,
    SRC_RING,
    TERMINAL,
    TRANSFERRING,
    XFER_RING,
)

from .model_budget import MODEL_EXAMPLES

DIALING = DialingPolicy(trunks={"phones": Trunk("phones", "Local/{number}@test-phones"),
                                "out": Trunk("out", "Local/{n}@test-phones", external=True)},
                        routes=(Route(re.compile(r"0(?P<n>[1-7]\d{3})"), "out"),
                                Route(re.compile(r"[1-7]\d{3}"), "phones")))
CLIENT = ClientPolicy("acme", sounds={1: ("sound:hello",), 2: ("sound:welcome", "sound:beep")},
                      caller_id=CallerId("Callback", "5550100"), external_numbers=frozenset({"5550199"}))

LEG_COMMANDS = (cmd.Originate, cmd.CreateLeg, cmd.Dial, cmd.Hangup, cmd.AddToBridge, cmd.PlayToLeg,
                cmd.SetVariable, cmd.SendDtmf)
HANGUP_CAUSE = {"answered_elsewhere": 26, "no_answer": 19, "busy": 17, "congestion": 34}
CHOICE = st.integers(0, 1 << 16)
DIGITS = ["##3003#", "##3003", "##01234#", "##30", "###", "#", "3", "*", "##"]


@st.composite
def plans(draw):
    options = dict(
        src=draw(st.sampled_from([["1001"], ["01001"], ["1001", "2001"], ["1001", "02001", "3001"]])),
        dst=draw(st.sampled_from(["2002", "02002", "8002"])),
        announce_sound_id=draw(st.sampled_from([None, 1])),
        dst_announce_sound_id=draw(st.sampled_from([None, 2])),
        dst_dtmf=draw(st.sampled_from([None, "12w#"])),
        transfer_after_dst_hangup=draw(st.sampled_from([None, "3003"])),
        transfer_after_src_hangup=draw(st.sampled_from([None, "3004"])),
        allow_public_transfer=draw(st.booleans()),
        simultaneous=draw(st.booleans()),
        wait_for_pickup=draw(st.sampled_from([None, 5])),
    )
    request = CallbackRequest(**{k: v for k, v in options.items() if v is not None})
    return make_plan("m", request, CLIENT, DIALING)


class FakeAsterisk:
    """Remembers what the machine asked for, so it knows what Asterisk could say next."""

    def __init__(self) -> None:
        self.created: dict[str, str] = {}      # leg id -> "originate" | "create", in order
        self.ready: set[str] = set()
        self.dialled: set[str] = set()
        self.answered: set[str] = set()
        self.hangup_sent: dict[str, str] = {}  # leg id -> reason of our first Hangup
        self.destroyed: set[str] = set()
        self.armed: dict[str, int] = {}        # timers running now
        self.tokens: dict[str, list[int]] = {}  # every token ever started
        self.playbacks: list[str] = []
        self.playing: set[str] = set()
        self.bridge_created = 0
        self.bridge_destroyed = 0
        self.bridged_srcs: set[str] = set()
        self.limited: set[str] = set()         # legs given TIMEOUT(absolute)
        self.bridged: set[str] = set()

    # --------------------------------------------------------------- what the machine asked
    def take(self, m: CallMachine, commands: list) -> None:
        for c in commands:
            if isinstance(c, LEG_COMMANDS) and not isinstance(c, (cmd.Originate, cmd.CreateLeg)):
                assert c.leg_id in self.created, f"{c} names a leg that was never created"
                if not isinstance(c, cmd.Hangup):
                    assert c.leg_id not in self.destroyed, f"{c} targets a destroyed leg"
            match c:
                case cmd.Originate() | cmd.CreateLeg():
                    assert c.leg_id not in self.created, f"{c.leg_id} created twice"
                    self.created[c.leg_id] = "originate" if isinstance(c, cmd.Originate) else "create"
                case cmd.Dial():
                    assert c.leg_id not in self.dialled, f"{c.leg_id} dialled twice"
                    self.dialled.add(c.leg_id)
                case cmd.SetVariable(name="TIMEOUT(absolute)"):
                    self.limited.add(c.leg_id)
                case cmd.Hangup():
                    self.hangup_sent.setdefault(c.leg_id, c.reason)
                case cmd.CreateBridge():
                    self.bridge_created += 1
                case cmd.DestroyBridge():
                    assert self.bridge_created, "DestroyBridge without a bridge"
                    self.bridge_destroyed += 1
                    assert self.bridge_destroyed == 1, "DestroyBridge twice"
                case cmd.AddToBridge():
                    assert self.bridge_created, "AddToBridge before CreateBridge"
                    assert c.leg_id not in self.bridged, f"{c.leg_id} bridged twice"
                    self.bridged.add(c.leg_id)
                    if m.legs[c.leg_id].role == "src":
                        self.bridged_srcs.add(c.leg_id)
                case cmd.StartTimer():
                    self.armed[c.name] = c.token
                    self.tokens.setdefault(c.name, []).append(c.token)
                case cmd.CancelTimer():
                    self.armed.pop(c.name, None)
                case cmd.PlayToLeg() | cmd.PlayToBridge():
                    assert c.playback_id not in self.playbacks, f"playback id {c.playback_id} reused"
                    self.playbacks.append(c.playback_id)
                    self.playing.add(c.playback_id)

    def saw(self, e) -> None:
        """Asterisk said it: keep the fake's picture in step."""
        match e:
            case ev.LegReady(leg_id=leg):
                self.ready.add(leg)
            case ev.LegAnswered(leg_id=leg):
                self.answered.add(leg)
            case ev.LegDestroyed(leg_id=leg) | ev.LegFailed(leg_id=leg):
                self.destroyed.add(leg)
            case ev.TimerFired(name=name, token=token) if self.armed.get(name) == token:
                del self.armed[name]
            case ev.PlaybackDone(playback_id=pid):
                self.playing.discard(pid)

    # ------------------------------------------------------------- what Asterisk could say
    def likely(self) -> list:
        """Events that follow from what the machine asked for; repeats weight the happy ones."""
        out: list = []
        for leg, kind in self.created.items():
            if leg in self.destroyed:
                continue
            if leg in self.hangup_sent:
                cause = HANGUP_CAUSE.get(self.hangup_sent[leg], 16)
                out += [ev.LegHangup(leg, 32), ev.LegDestroyed(leg, cause), ev.LegDestroyed(leg, cause)]
            elif kind == "create" and leg not in self.ready:
                out += [ev.LegReady(leg)] * 4 + [ev.LegFailed(leg, "refused")]
            elif leg not in self.answered and (kind == "originate" or leg in self.dialled):
                out += [ev.LegRinging(leg), ev.LegProgress(leg)] + [ev.LegAnswered(leg)] * 5
                out += [ev.LegDialStatus(leg, "BUSY"), ev.LegDestroyed(leg, 0), ev.LegDestroyed(leg, 17),
                        ev.LegDestroyed(leg, 19, tech_cause=480)]
                if kind == "create":
                    out += [ev.LegDialStatus(leg, "CONGESTION"), ev.LegDialStatus(leg, "NOANSWER"),
                            ev.LegDialStatus(leg, "CHANUNAVAIL")]
            elif leg in self.answered:
                out += [ev.LegHangup(leg, 16), ev.LegDestroyed(leg, 16)]
        out += [ev.TimerFired(name, token) for name, token in self.armed.items()]
        out += [ev.PlaybackDone(pid, ok) for pid in self.playing for ok in (True, True, False)]
        return out

    def anything(self) -> list:
        """Any event at all: duplicates, out of order, stale, for legs in any state, not ours."""
        out: list = [ev.Start(), ev.Resume(), ev.Cancel(), ev.Cancel(), ev.Cancel(), ev.BridgeFailed("gone"),
                     ev.PlaybackDone("cb-m-pb99"),
                     ev.LegAnswered("cb-m-dst;2"), ev.LegDestroyed("cb-m-src0;2", 17), ev.LegReady("cb-x-dst"),
                     ev.TimerFired("xfer_digits", 10_000)]
        for leg in self.created:
            out += [ev.LegRinging(leg), ev.LegProgress(leg), ev.LegAnswered(leg), ev.LegReady(leg),
                    ev.LegDialStatus(leg, "BUSY"), ev.LegDialStatus(leg, "NOANSWER"), ev.LegDialStatus(leg, "ANSWER"),
                    ev.LegHangup(leg, 16), ev.LegHangup(leg, None), ev.LegDestroyed(leg, 0),
                    ev.LegDestroyed(leg, 16), ev.LegDestroyed(leg, 26), ev.LegFailed(leg, "refused"),
                    ev.DtmfReceived(leg, "#"), ev.DtmfReceived(leg, "5"), ev.TransferRequested(leg, "3005"),
                    ev.TransferRequested(leg, "30a5"), ev.TransferRequested(leg, "01234")]
        out += [ev.TimerFired(name, token) for name, tokens in self.tokens.items() for token in tokens]
        out += [ev.PlaybackDone(pid, ok) for pid in self.playbacks for ok in (True, False)]
        return out


def snapshot(m: CallMachine) -> tuple:
    legs = tuple((leg_id, tuple(vars(leg).values())) for leg_id, leg in m.legs.items())   # fields are scalars
    return (m.state, m.status_detail, m.ended_by, legs, tuple(m.timers.items()), m.a_party, m.b_party,
            m.pending, m.winner, len(m.timeline), m.bridge_created, frozenset(m.transfers_used))


class CallModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.m: CallMachine | None = None
        self.fake = FakeAsterisk()
        self.now = 0.0

    # ------------------------------------------------------------------ one event, checked
    def step(self, e) -> None:
        m, fake = self.m, self.fake
        self.now += 0.25
        before = snapshot(m)
        was_terminal = m.state in TERMINAL
        try:
            commands = m.handle(e, self.now)
        except IllegalTransition:
            assert snapshot(m) == before, f"IllegalTransition on {e} changed the machine"
            fake.saw(e)
            return
        if was_terminal:
            assert commands == [], f"a finished call answered {e} with {commands}"
            assert m.state == before[0], "a finished call changed state"
        fake.saw(e)
        if before[0] == ENDING:
            grown = [c for c in commands if isinstance(c, (cmd.Originate, cmd.CreateLeg, cmd.Dial, cmd.StartTimer))]
            assert not grown, f"an ending call started something: {grown}"
        fake.take(m, commands)
        self.check(before[0])

    def check(self, previous: str) -> None:
        m, fake = self.m, self.fake
        assert m.state in ALL_STATES, m.state
        assert len(fake.bridged_srcs) <= 1, f"two origins bridged: {fake.bridged_srcs}"
        if m.state in TERMINAL:
            live = [leg.id for leg in m.legs.values() if not leg.destroyed]
            assert not live, f"{m.state} with live legs {live}"
        if previous in TERMINAL:
            assert m.state == previous
        if m.state == ENDING and previous != ENDING:
            unhung = [leg.id for leg in m.legs.values()
                      if not leg.destroyed and not leg.gone and leg.id not in fake.hangup_sent]
            assert not unhung, f"ending without hanging up {unhung}"
        rung = [leg.id for leg in m.legs.values()
                if leg.role != "src" and not leg.answered and not leg.gone and leg.id not in fake.hangup_sent]
        assert len(rung) <= 1, f"two destination/transfer legs rung at once: {rung}"
        if fake.bridge_destroyed:
            assert m.state in TERMINAL, "bridge destroyed before the call finished"
        if m.state in TERMINAL:
            assert not m.timers, f"a finished call still runs timers {m.timers}"
        self.check_limits()

    def check_limits(self) -> None:
        """Nothing waits or talks for ever: each waiting state has its timer running, and a
        conversation has our duration timer and Asterisk's TIMEOUT(absolute) on its parties."""
        m, armed = self.m, set(self.m.timers)
        if m.state == CALLING_SRC and m.winner is None:
            assert SRC_RING in armed, f"origins ring without a limit: {m.timers}"
        if m.state == ANNOUNCING:
            assert ANNOUNCE in armed, f"announcement without a limit: {m.timers}"
        pending = m.legs.get(m.pending or "")
        if m.state in (CALLING_DST, TRANSFERRING) and pending is not None and pending.dialled_at is not None \
                and not pending.leaving and not pending.answered:
            wanted = DST_RING if pending.role == "dst" else XFER_RING
            assert wanted in armed, f"{pending.id} rings without a limit: {m.timers}"
        if m.state in (CONNECTED, TRANSFERRING) and m.was_connected:
            assert DURATION in armed, f"{m.state} without the call_duration timer"
            for party in (m.a_party, m.b_party):
                leg = m.legs[party]
                if leg.answered and not leg.leaving:
                    assert party in self.fake.limited, f"{party} talks without TIMEOUT(absolute)"

    # ------------------------------------------------------------------------------ rules
    @initialize(plan=plans())
    def start(self, plan) -> None:
        self.m = CallMachine(plan)
        self.step(ev.Start())

    # Events exist only at run time, so a rule draws one integer and takes it modulo the list
    # (much cheaper than st.data(), which matters for 10,000 examples). Three times in four
    # Asterisk answers what was asked; otherwise it says anything at all.
    @rule(pick=CHOICE)
    def asterisk_reports(self, pick) -> None:
        likely = self.fake.likely()
        if pick % 4 and likely:
            self.step(likely[(pick >> 2) % len(likely)])
        else:
            anything = self.fake.anything()
            self.step(anything[(pick >> 2) % len(anything)])

    def _talking(self) -> list[str]:
        return [leg for leg in self.fake.created if leg in self.fake.answered and leg not in self.fake.destroyed]

    @precondition(lambda self: self.m is not None and self._talking())
    @rule(pick=CHOICE)
    def a_party_keys_digits(self, pick) -> None:
        legs = self._talking()
        leg, digits = legs[pick % len(legs)], DIGITS[(pick >> 8) % len(DIGITS)]
        for digit in digits:
            self.step(ev.DtmfReceived(leg, digit))

    @precondition(lambda self: self.m is not None and self._talking())
    @rule(pick=CHOICE)
    def a_phone_refers(self, pick) -> None:
        legs = self._talking()
        number = ["3005", "01234", "30a5", "3005\n"][(pick >> 8) % 4]
        self.step(ev.TransferRequested(legs[pick % len(legs)], number))

    def teardown(self) -> None:
        if self.m is None:
            return
        # Liveness: Asterisk destroys every leg (a transfer may create one more: destroy it too).
        for _ in range(10):
            live = [leg for leg in self.fake.created if leg not in self.fake.destroyed]
            if not live:
                break
            for leg in live:
                self.step(ev.LegDestroyed(leg, 16))
        assert not [leg for leg in self.fake.created if leg not in self.fake.destroyed]
        assert self.m.state in TERMINAL, f"every leg destroyed but the call is {self.m.state}"
        if self.fake.bridge_created:
            assert self.fake.bridge_destroyed == 1, "the bridge was left behind"


@pytest.mark.timeout(900)
def test_given_random_asterisk_event_sequences_then_call_machine_invariants_hold_and_every_call_finishes():
    run_state_machine_as_test(CallModel, settings=settings(
        max_examples=MODEL_EXAMPLES, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
