"""The call state machine, example by example: events in, commands out, with a fake clock."""

from __future__ import annotations

import re

import pytest

from ari_callback.domain import commands as cmd
from ari_callback.domain import events as ev
from ari_callback.domain.machine import TRANSITIONS, CallMachine, IllegalTransition
from ari_callback.domain.plan import CallerId, ClientPolicy, DialingPolicy, Route, Trunk, make_plan
from ari_callback.domain.request import CallbackRequest
from ari_callback.domain.states import ALL_STATES, TERMINAL

DIALING = DialingPolicy(trunks={"phones": Trunk("phones", "Local/{number}@test-phones"),
                                "out": Trunk("out", "Local/{n}@test-phones", external=True)},
                        routes=(Route(re.compile(r"0(?P<n>[1-7]\d{3})"), "out"),
                                Route(re.compile(r"[1-7]\d{3}"), "phones")))
CLIENT = ClientPolicy("acme", sounds={1: ("sound:hello",), 2: ("sound:welcome", "sound:beep")},
                      caller_id=CallerId("Callback", "5550100"), external_numbers=frozenset({"5550199"}))

SRC0, SRC1, SRC2 = "cb-t-src0", "cb-t-src1", "cb-t-src2"
DST, XFER1, XFER2 = "cb-t-dst", "cb-t-xfer1", "cb-t-xfer2"
BRIDGE = "cb-t"
WAIT, DURATION = 30, 3600
SAFETY = 2 * WAIT + 5


class Call:
    """A machine, a fake clock and everything the machine asked for."""

    def __init__(self, **options):
        options.setdefault("src", ["1001"])
        options.setdefault("dst", "2002")
        self.plan = make_plan("t", CallbackRequest(**options), CLIENT, DIALING)
        self.m = CallMachine(self.plan)
        self.now = 1000.0
        self.sent: list = []

    def __call__(self, event, dt: float = 1.0) -> list:
        self.now += dt
        out = self.m.handle(event, self.now)
        self.sent += out
        return out

    @property
    def state(self) -> str:
        return self.m.state

    def token(self, name: str) -> int:
        starts = [c for c in self.sent if isinstance(c, cmd.StartTimer) and c.name == name]
        assert starts, f"no {name} timer was started"
        return starts[-1].token

    def fire(self, name: str, dt: float = 1.0) -> list:
        return self(ev.TimerFired(name, self.token(name)), dt)

    def destroy(self, leg_id: str, cause: int = 16, **kw) -> list:
        return self(ev.LegDestroyed(leg_id, cause, **kw))

    def destroy_all(self, cause: int = 16) -> list:
        out = []
        for leg in list(self.m.legs.values()):
            if not leg.destroyed:
                out += self.destroy(leg.id, cause)
        return out

    def leg(self, leg_id: str):
        return self.m.legs[leg_id]

    def kinds(self, leg_id: str | None = None) -> list[str]:
        return [e.kind for e in self.m.timeline if leg_id is None or e.leg_id == leg_id]


def started(**options) -> Call:
    call = Call(**options)
    call(ev.Start())
    return call


def calling_dst(**options) -> Call:
    call = started(**options)
    call(ev.LegAnswered(SRC0))
    if call.plan.announce_media:
        call(ev.PlaybackDone("cb-t-pb1"))
    call(ev.LegReady(DST))
    assert call.state == "calling_dst"
    return call


def connected(**options) -> Call:
    call = calling_dst(**options)
    call(ev.LegRinging(DST))
    call(ev.LegAnswered(DST))
    assert call.state == "connected"
    return call


def hangups(commands) -> list[tuple[str, str]]:
    return [(c.leg_id, c.reason) for c in commands if isinstance(c, cmd.Hangup)]


def of(kind, commands) -> list:
    return [c for c in commands if isinstance(c, kind)]


def index_of(kind, commands) -> list[int]:
    return [i for i, c in enumerate(commands) if isinstance(c, kind)]


# ================================================================================ happy path
def test_given_one_origin_when_started_then_originate_with_caller_id_safety_timeout_and_src_ring_timer():
    call = Call(variables={"autoanswer": "4"})
    out = call(ev.Start())
    assert out == [
        cmd.Originate(SRC0, "Local/1001@test-phones", '"Callback" <5550100>', timeout=SAFETY, formats="ulaw",
                      variables={"__CB_CALL_ID": "t", "CB_ROLE": "src", "__autoanswer": "4"}),
        cmd.StartTimer("src_ring", float(WAIT), out[-1].token),
    ]
    assert call.state == "calling_src"
    assert call.leg(SRC0).role == "src" and call.leg(SRC0).number == "1001"


def test_given_pjsip_origin_when_started_then_its_refer_is_handed_to_the_app():
    dialing = DialingPolicy(trunks={"sip": Trunk("sip", "PJSIP/{number}@trunk")},
                            routes=(Route(re.compile(r"\d{4}"), "sip"),))
    m = CallMachine(make_plan("t", CallbackRequest(src=["1001"], dst="2002"), CLIENT, dialing))
    originate = m.handle(ev.Start(), 0.0)[0]
    assert originate.endpoint == "PJSIP/1001@trunk"
    assert originate.variables["PJSIP_TRANSFER_HANDLING()"] == "ari-only"


def test_given_origin_answers_then_bridge_created_winner_added_and_destination_created_with_its_caller_id():
    call = started(caller_id_name="Shop", caller_id_number="5550123", variables={"v": "1"})
    out = call(ev.LegAnswered(SRC0))
    assert out == [
        cmd.CancelTimer("src_ring"),
        cmd.CreateBridge(BRIDGE),
        cmd.AddToBridge(BRIDGE, SRC0),
        cmd.CreateLeg(DST, "Local/2002@dst-route", "ulaw",
                      {"__CB_CALL_ID": "t", "CB_ROLE": "dst", "__v": "1", "CB_DST_CID_NUM": "5550123",
                       "CB_DST_CID_NAME": "Shop", "__CB_PUBLIC_TRANSFER": "yes"}),
    ]
    assert call.state == "calling_dst"
    assert (call.m.winner, call.m.a_party, call.m.b_party) == (SRC0, SRC0, DST)


def test_given_destination_ready_then_bridged_before_it_is_dialled_and_dst_ring_timer_started():
    call = started()
    call(ev.LegAnswered(SRC0))
    out = call(ev.LegReady(DST))
    assert out == [cmd.AddToBridge(BRIDGE, DST), cmd.Dial(DST, timeout=SAFETY),
                   cmd.StartTimer("dst_ring", float(WAIT), out[-1].token)]
    assert call.state == "calling_dst"


def test_given_destination_answers_then_timeout_absolute_on_both_legs_then_duration_timer():
    call = calling_dst()
    out = call(ev.LegAnswered(DST))
    assert out == [cmd.CancelTimer("dst_ring"),
                   cmd.SetVariable(SRC0, "TIMEOUT(absolute)", str(DURATION + 2)),
                   cmd.SetVariable(DST, "TIMEOUT(absolute)", str(DURATION + 2)),
                   cmd.StartTimer("duration", float(DURATION), out[-1].token)]
    assert call.state == "connected" and call.m.was_connected and call.m.connected_at == call.now


def test_given_dst_announce_and_dtmf_when_destination_answers_then_both_timeouts_set_before_any_dtmf_or_playback():
    call = calling_dst(dst_announce_sound_id=2, dst_dtmf="12w#")
    out = call(ev.LegAnswered(DST))
    sets = index_of(cmd.SetVariable, out)
    later = index_of(cmd.SendDtmf, out) + index_of(cmd.PlayToBridge, out)
    assert {c.leg_id for c in of(cmd.SetVariable, out)} == {SRC0, DST}
    assert len(later) == 2 and max(sets) < min(later)
    assert of(cmd.PlayToBridge, out) == [cmd.PlayToBridge(BRIDGE, ("sound:welcome", "sound:beep"), "cb-t-pb1")]
    assert of(cmd.SendDtmf, out) == [cmd.SendDtmf(DST, "12w#")]
    assert isinstance(out[-1], cmd.StartTimer) and out[-1].name == "duration"


def test_given_dst_dtmf_only_when_destination_answers_then_dtmf_sent_to_the_destination_after_timeouts():
    call = calling_dst(dst_dtmf="1#")
    out = call(ev.LegAnswered(DST))
    assert [type(c).__name__ for c in out] == ["CancelTimer", "SetVariable", "SetVariable", "SendDtmf", "StartTimer"]
    assert out[3] == cmd.SendDtmf(DST, "1#")


def test_given_dst_announce_when_destination_answers_then_played_to_the_bridge_for_everyone():
    call = calling_dst(dst_announce_sound_id=1)
    out = call(ev.LegAnswered(DST))
    assert of(cmd.PlayToBridge, out) == [cmd.PlayToBridge(BRIDGE, ("sound:hello",), "cb-t-pb1")]
    assert not of(cmd.PlayToLeg, out) and not of(cmd.SendDtmf, out)


def test_given_connected_when_destination_hangs_up_then_origin_hung_up_and_bridge_destroyed_once_all_legs_gone():
    call = connected()
    out = call(ev.LegHangup(DST, 16))
    assert hangups(out) == [(SRC0, "normal")]
    assert call.state == "ending" and call.m.ended_by == "dst"
    assert not of(cmd.DestroyBridge, out)
    assert not of(cmd.DestroyBridge, call.destroy(DST, 16))
    assert call.state == "ending"
    out = call.destroy(SRC0, 16)
    assert out == [cmd.DestroyBridge(BRIDGE)]
    assert (call.state, call.m.status_detail, call.m.ended_by) == ("completed", "answered", "dst")
    assert call.m.ended_at == call.now


def test_given_connected_when_origin_hangs_up_first_then_destination_hung_up_and_ended_by_src():
    call = connected()
    out = call(ev.LegHangup(SRC0, 16))
    assert hangups(out) == [(DST, "normal")]
    call.destroy(SRC0)
    assert call.state == "ending"
    assert call.destroy(DST) == [cmd.DestroyBridge(BRIDGE)]
    assert (call.state, call.m.status_detail, call.m.ended_by) == ("completed", "answered", "src")


def test_given_connected_when_destroyed_without_hangup_event_then_same_ending():
    call = connected()
    out = call.destroy(DST, 16)
    assert hangups(out) == [(SRC0, "normal")] and call.state == "ending"
    assert call.destroy(SRC0) == [cmd.DestroyBridge(BRIDGE)]
    assert call.state == "completed" and call.m.ended_by == "dst"


def test_given_connected_when_both_hang_up_together_then_first_one_ended_it_and_nobody_hung_up_twice():
    call = connected()
    call(ev.LegHangup(DST, 16))
    out = call(ev.LegHangup(SRC0, 16))
    assert hangups(out) == [] and call.m.ended_by == "dst"
    call.destroy_all()
    assert call.state == "completed"
    assert len(of(cmd.DestroyBridge, call.sent)) == 1


# ============================================================================= several origins
def test_given_three_origins_when_started_then_all_originated_with_their_own_ids():
    call = Call(src=["1001", "02001", "3001"])
    out = call(ev.Start())
    originates = of(cmd.Originate, out)
    assert [o.leg_id for o in originates] == [SRC0, SRC1, SRC2]
    assert [o.endpoint for o in originates] == ["Local/1001@test-phones", "Local/2001@test-phones",
                                                "Local/3001@test-phones"]
    assert len(of(cmd.StartTimer, out)) == 1


def test_given_two_origins_when_first_answers_then_other_cancelled_answered_elsewhere():
    call = started(src=["1001", "3001"])
    out = call(ev.LegAnswered(SRC1))
    assert hangups(out) == [(SRC0, "answered_elsewhere")]
    assert [c.leg_id for c in of(cmd.AddToBridge, out)] == [SRC1]
    assert call.m.winner == SRC1
    # the loser's end is only recorded
    assert call(ev.LegHangup(SRC0, 32)) == [] and call.destroy(SRC0, 26) == []
    assert call.state == "calling_dst"
    assert call.leg(SRC0).cause == 26


def test_given_two_origins_when_second_answers_moments_later_then_hung_up_answered_elsewhere_never_bridged():
    call = started(src=["1001", "3001"])
    call(ev.LegAnswered(SRC0))
    out = call(ev.LegAnswered(SRC1))
    assert not of(cmd.AddToBridge, out) and not of(cmd.CreateLeg, out)
    assert all(reason == "answered_elsewhere" for _, reason in hangups(out))
    assert call.leg(SRC1).hangup_reason == "answered_elsewhere"
    call(ev.LegReady(DST))
    call(ev.LegAnswered(DST))
    bridged = {c.leg_id for c in of(cmd.AddToBridge, call.sent)}
    assert bridged == {SRC0, DST}
    assert call.state == "connected"


def test_given_two_origins_when_second_answers_while_announcing_then_not_bridged():
    call = started(src=["1001", "3001"], announce_sound_id=1)
    call(ev.LegAnswered(SRC1))
    out = call(ev.LegAnswered(SRC0))
    assert not of(cmd.AddToBridge, out) and not of(cmd.PlayToLeg, out)
    assert call.state == "announcing" and call.m.winner == SRC1


def test_given_two_origins_when_both_busy_on_local_channels_then_failed_src_busy():
    call = started(src=["1001", "3001"])
    call(ev.LegDialStatus(SRC0, "BUSY"))
    assert call.destroy(SRC0, 0) == [] and call.state == "calling_src"
    call(ev.LegDialStatus(SRC1, "BUSY"))
    out = call.destroy(SRC1, 0)
    assert (call.state, call.m.status_detail) == ("failed", "src_busy")
    assert not of(cmd.DestroyBridge, out) and not hangups(out)


def test_given_origin_busy_then_we_do_not_hang_it_up_ourselves():
    call = started(src=["1001"])
    assert call(ev.LegDialStatus(SRC0, "BUSY")) == []
    assert call.state == "calling_src"


def test_given_two_origins_when_one_busy_and_one_unanswered_then_failed_src_busy():
    call = started(src=["1001", "3001"])
    call.destroy(SRC0, 19)
    call.destroy(SRC1, 17)
    assert (call.state, call.m.status_detail) == ("failed", "src_busy")


def test_given_two_origins_when_neither_answers_before_asterisk_gives_up_then_failed_src_no_answer():
    call = started(src=["1001", "3001"])
    call.destroy(SRC0, 19, tech_cause=480)
    call.destroy(SRC1, 19)
    assert (call.state, call.m.status_detail) == ("failed", "src_no_answer")
    assert call.leg(SRC0).tech_cause == 480


def test_given_origin_rejects_then_failed_src_rejected():
    call = started()
    call(ev.LegHangup(SRC0, 21))
    assert call.state == "ending"
    call.destroy(SRC0, 21)
    assert (call.state, call.m.status_detail) == ("failed", "src_rejected")


def test_given_origin_cannot_be_created_then_failed():
    call = started()
    call(ev.LegFailed(SRC0, "allocation failed"))
    assert call.state == "failed" and call.m.status_detail.startswith("src_")


def test_given_origins_ringing_when_src_ring_timer_fires_then_all_hung_up_no_answer_and_failed_once_destroyed():
    call = started(src=["1001", "3001"])
    call(ev.LegRinging(SRC0))
    out = call.fire("src_ring")
    assert sorted(hangups(out)) == [(SRC0, "no_answer"), (SRC1, "no_answer")]
    assert call.state == "ending"
    call(ev.LegHangup(SRC0, 32))
    call.destroy(SRC0, 19)
    assert call.state == "ending"
    call.destroy(SRC1, 19)
    assert (call.state, call.m.status_detail) == ("failed", "src_no_answer")
    assert not of(cmd.DestroyBridge, call.sent)


def test_given_one_origin_lost_when_src_ring_timer_fires_then_only_the_live_one_is_hung_up():
    call = started(src=["1001", "3001"])
    call.destroy(SRC0, 17)
    out = call.fire("src_ring")
    assert hangups(out) == [(SRC1, "no_answer")]


def test_given_origin_answered_when_old_src_ring_timer_fires_then_ignored():
    call = started()
    token = call.token("src_ring")
    call(ev.LegAnswered(SRC0))
    assert call(ev.TimerFired("src_ring", token)) == []
    assert call.state == "calling_dst"


# ================================================================================ destination
def test_given_destination_busy_then_hung_up_busy_origin_hung_up_and_failed_dst_busy():
    call = calling_dst()
    out = call(ev.LegDialStatus(DST, "BUSY"))
    assert hangups(out) == [(DST, "busy")]
    assert call.state == "calling_dst"
    out = call(ev.LegHangup(DST, 32))
    assert hangups(out) == [(SRC0, "normal")] and call.state == "ending"
    call.destroy(DST, 0)
    assert call.destroy(SRC0) == [cmd.DestroyBridge(BRIDGE)]
    assert (call.state, call.m.status_detail) == ("failed", "dst_busy")


@pytest.mark.parametrize("status, reason, detail", [
    ("CONGESTION", "congestion", "dst_congestion"),
    ("NOANSWER", "no_answer", "dst_no_answer"),
])
def test_given_destination_final_dial_status_then_hung_up_with_matching_reason(status, reason, detail):
    call = calling_dst()
    assert hangups(call(ev.LegDialStatus(DST, status))) == [(DST, reason)]
    assert hangups(call.destroy(DST, 0)) == [(SRC0, "normal")]
    call.destroy(SRC0)
    assert (call.state, call.m.status_detail) == ("failed", detail)


def test_given_destination_chanunavail_then_failed_dst_unavailable():
    call = calling_dst()
    call(ev.LegDialStatus(DST, "CHANUNAVAIL"))
    call.destroy(DST, 0)
    call.destroy(SRC0)
    assert (call.state, call.m.status_detail) == ("failed", "dst_unavailable")


def test_given_destination_ringing_when_dst_ring_timer_fires_then_hung_up_no_answer_and_failed_dst_no_answer():
    call = calling_dst()
    call(ev.LegRinging(DST))
    out = call.fire("dst_ring")
    assert hangups(out) == [(DST, "no_answer")] and call.state == "calling_dst"
    out = call.destroy(DST, 19)
    assert hangups(out) == [(SRC0, "normal")] and call.state == "ending"
    call.destroy(SRC0)
    assert (call.state, call.m.status_detail) == ("failed", "dst_no_answer")


def test_given_destination_early_media_then_dst_ring_timer_restarted_and_the_old_one_ignored():
    call = calling_dst()
    old = call.token("dst_ring")
    out = call(ev.LegProgress(DST))
    assert out == [cmd.StartTimer("dst_ring", float(WAIT), out[0].token)] and out[0].token != old
    assert call(ev.TimerFired("dst_ring", old)) == []
    assert call.state == "calling_dst" and not call.leg(DST).leaving
    assert hangups(call.fire("dst_ring")) == [(DST, "no_answer")]


def test_given_destination_answered_when_dst_ring_timer_fires_late_then_ignored():
    call = calling_dst()
    token = call.token("dst_ring")
    call(ev.LegAnswered(DST))
    assert call(ev.TimerFired("dst_ring", token)) == []
    assert call.state == "connected"


def test_given_destination_leg_cannot_be_created_then_origin_hung_up_and_failed():
    call = started()
    call(ev.LegAnswered(SRC0))
    out = call(ev.LegFailed(DST, "no such context"))
    assert hangups(out) == [(SRC0, "normal")]
    call.destroy(SRC0)
    assert call.state == "failed" and call.m.status_detail.startswith("dst_")


def test_given_origin_hangs_up_while_destination_rings_then_destination_hung_up_and_failed_src_abandoned():
    call = calling_dst(transfer_after_src_hangup="3004")
    out = call(ev.LegHangup(SRC0, 16))
    assert hangups(out) == [(DST, "normal")] and not of(cmd.CreateLeg, out)
    call.destroy_all()
    assert (call.state, call.m.status_detail) == ("failed", "src_abandoned")


# ============================================================================= announcements
def test_given_announce_when_origin_answers_then_played_to_it_and_destination_waits():
    call = started(announce_sound_id=2)
    out = call(ev.LegAnswered(SRC0))
    assert out == [cmd.CancelTimer("src_ring"),
                   cmd.PlayToLeg(SRC0, ("sound:welcome", "sound:beep"), "cb-t-pb1"),
                   cmd.StartTimer("announce", 60.0, out[-1].token)]
    assert call.state == "announcing"


def test_given_announcing_when_another_playback_finishes_then_destination_still_waits():
    call = started(announce_sound_id=1)
    call(ev.LegAnswered(SRC0))
    assert call(ev.PlaybackDone("cb-t-pb7")) == []
    assert call(ev.PlaybackDone("something-else")) == []
    assert call.state == "announcing"


def test_given_announcing_when_that_playback_finishes_then_destination_dialled():
    call = started(announce_sound_id=1)
    call(ev.LegAnswered(SRC0))
    out = call(ev.PlaybackDone("cb-t-pb1"))
    assert out[0] == cmd.CancelTimer("announce")
    assert out[1:4] == [cmd.CreateBridge(BRIDGE), cmd.AddToBridge(BRIDGE, SRC0)] + of(cmd.CreateLeg, out)
    assert of(cmd.CreateLeg, out)[0].leg_id == DST
    assert call.state == "calling_dst"


def test_given_announce_playback_failed_then_destination_dialled_anyway_and_noted():
    call = started(announce_sound_id=1)
    call(ev.LegAnswered(SRC0))
    out = call(ev.PlaybackDone("cb-t-pb1", ok=False))
    assert of(cmd.CreateLeg, out) and call.state == "calling_dst"
    assert "announce_failed" in call.kinds()


def test_given_announce_never_finishes_when_announce_timer_fires_then_stopped_and_destination_dialled():
    call = started(announce_sound_id=1)
    call(ev.LegAnswered(SRC0))
    out = call.fire("announce", dt=60)
    assert out[:2] == [cmd.CancelTimer("announce"), cmd.StopPlayback("cb-t-pb1")]
    assert of(cmd.CreateLeg, out) and call.state == "calling_dst"
    assert "announce_timeout" in call.kinds()


def test_given_announce_done_when_its_timer_fires_later_then_ignored():
    call = started(announce_sound_id=1)
    call(ev.LegAnswered(SRC0))
    token = call.token("announce")
    call(ev.PlaybackDone("cb-t-pb1"))
    assert call(ev.TimerFired("announce", token)) == []
    assert call(ev.PlaybackDone("cb-t-pb1")) == []
    assert len(of(cmd.CreateLeg, call.sent)) == 1


def test_given_announcing_when_origin_hangs_up_then_failed_src_abandoned_without_destination():
    call = started(announce_sound_id=1)
    call(ev.LegAnswered(SRC0))
    out = call(ev.LegHangup(SRC0, 16))
    assert call.state == "ending" and not of(cmd.CreateLeg, out)
    call.destroy(SRC0)
    assert (call.state, call.m.status_detail) == ("failed", "src_abandoned")
    assert not of(cmd.DestroyBridge, call.sent)


# ================================================================================= duration
def test_given_connected_when_duration_timer_fires_then_both_hung_up_and_completed_by_duration_limit():
    call = connected(call_duration=60)
    assert of(cmd.SetVariable, call.sent)[0].value == "62"
    out = call.fire("duration", dt=60)
    assert sorted(hangups(out)) == [(DST, "normal"), (SRC0, "normal")]
    assert call.state == "ending" and call.m.ended_by == "duration_limit"
    call.destroy_all()
    assert (call.state, call.m.status_detail, call.m.ended_by) == ("completed", "answered", "duration_limit")


def test_given_connected_when_stale_duration_token_fires_then_ignored():
    call = connected()
    assert call(ev.TimerFired("duration", call.token("duration") + 100)) == []
    assert call.state == "connected"


# =================================================================================== cancel
def test_given_new_call_when_cancelled_then_cancelled_at_once_without_commands():
    call = Call()
    assert call(ev.Cancel()) == []
    assert (call.state, call.m.status_detail) == ("cancelled", "cancelled")
    assert call(ev.Start()) == []


def _ringing():
    return started(src=["1001", "3001"])


def _announcing():
    call = started(announce_sound_id=1)
    call(ev.LegAnswered(SRC0))
    return call


def _dst_created():
    call = started()
    call(ev.LegAnswered(SRC0))
    return call


def _transferring():
    call = connected(transfer_after_dst_hangup="3003")
    call(ev.LegHangup(DST, 16))
    assert call.state == "transferring"
    return call


@pytest.mark.parametrize("make, live, bridge", [
    (_ringing, {SRC0, SRC1}, False),
    (_announcing, {SRC0}, False),
    (_dst_created, {SRC0, DST}, True),
    (calling_dst, {SRC0, DST}, True),
    (connected, {SRC0, DST}, True),
    (_transferring, {SRC0, XFER1}, True),
], ids=["calling_src", "announcing", "dst_created", "calling_dst", "connected", "transferring"])
def test_given_active_call_when_cancelled_then_every_live_leg_hung_up_and_cancelled_once_all_destroyed(
        make, live, bridge):
    call = make()
    out = call(ev.Cancel("api"))
    assert {leg for leg, _ in hangups(out)} == live
    assert call.state == "ending" and call.m.ended_by == "cancel"
    assert not of(cmd.StartTimer, out)
    assert call.m.timers == {}
    call.destroy_all()
    assert (call.state, call.m.status_detail, call.m.ended_by) == ("cancelled", "cancelled", "cancel")
    assert of(cmd.DestroyBridge, call.sent) == ([cmd.DestroyBridge(BRIDGE)] if bridge else [])
    assert "cancel_requested" in call.kinds()


def test_given_call_ending_when_cancelled_again_then_refused_and_nothing_changes():
    call = connected()
    call(ev.Cancel())
    before = (call.state, len(call.m.timeline))
    with pytest.raises(IllegalTransition):
        call(ev.Cancel())
    assert (call.state, len(call.m.timeline)) == before


# ================================================================ transfers after a hang-up
def test_given_transfer_after_dst_hangup_when_destination_hangs_up_then_origin_stays_and_transfer_leg_created():
    call = connected(transfer_after_dst_hangup="3003")
    out = call(ev.LegHangup(DST, 16))
    assert not hangups(out)
    assert of(cmd.CreateLeg, out) == [cmd.CreateLeg(
        XFER1, "Local/3003@transfer-targets", "ulaw",
        {"__CB_CALL_ID": "t", "CB_ROLE": "xfer", "CB_DST_CID_NUM": "5550100", "CB_DST_CID_NAME": "Callback"})]
    assert call.state == "transferring" and call.m.b_party == XFER1 and call.m.a_party == SRC0
    assert not of(cmd.DestroyBridge, call.destroy(DST))
    out = call(ev.LegReady(XFER1))
    assert out == [cmd.AddToBridge(BRIDGE, XFER1), cmd.Dial(XFER1, timeout=SAFETY),
                   cmd.StartTimer("xfer_ring", float(WAIT), out[-1].token)]
    out = call(ev.LegAnswered(XFER1))
    assert out[0] == cmd.CancelTimer("xfer_ring")
    assert [c.leg_id for c in of(cmd.SetVariable, out)] == [XFER1]
    assert call.state == "connected"


def test_given_transfer_after_src_hangup_when_origin_hangs_up_then_destination_stays_and_is_transferred():
    call = connected(transfer_after_src_hangup="3004")
    out = call(ev.LegHangup(SRC0, 16))
    assert not hangups(out)
    assert [c.endpoint for c in of(cmd.CreateLeg, out)] == ["Local/3004@transfer-targets"]
    assert call.m.a_party == XFER1 and call.m.b_party == DST
    call(ev.LegReady(XFER1))
    call(ev.LegAnswered(XFER1))
    assert call.state == "connected"
    out = call(ev.LegHangup(DST, 16))
    assert hangups(out) == [(XFER1, "normal")]
    call.destroy_all()
    assert (call.state, call.m.status_detail, call.m.ended_by) == ("completed", "answered", "dst")


def test_given_transfer_answered_then_its_backstop_is_what_is_left_of_call_duration():
    call = connected(transfer_after_dst_hangup="3003", call_duration=100)
    call(ev.LegHangup(DST, 16), dt=40)
    call(ev.LegReady(XFER1), dt=5)
    out = call(ev.LegAnswered(XFER1), dt=5)
    assert of(cmd.SetVariable, out) == [cmd.SetVariable(XFER1, "TIMEOUT(absolute)", str(100 - 50 + 2))]


def test_given_transfer_used_when_the_transfer_target_hangs_up_then_no_second_transfer():
    call = connected(transfer_after_dst_hangup="3003")
    call(ev.LegHangup(DST, 16))
    call(ev.LegReady(XFER1))
    call(ev.LegAnswered(XFER1))
    out = call(ev.LegHangup(XFER1, 16))
    assert hangups(out) == [(SRC0, "normal")] and not of(cmd.CreateLeg, out)
    assert call.state == "ending"
    call.destroy_all()
    assert call.state == "completed" and [lg.role for lg in call.m.legs.values()] == ["src", "dst", "xfer"]


def test_given_both_transfers_then_each_used_once():
    call = connected(transfer_after_dst_hangup="3003", transfer_after_src_hangup="3004")
    call(ev.LegHangup(DST, 16))
    call(ev.LegReady(XFER1))
    call(ev.LegAnswered(XFER1))
    out = call(ev.LegHangup(SRC0, 16))
    assert [c.endpoint for c in of(cmd.CreateLeg, out)] == ["Local/3004@transfer-targets"]
    assert call.m.a_party == XFER2 and call.state == "transferring"
    call(ev.LegReady(XFER2))
    call(ev.LegAnswered(XFER2))
    out = call(ev.LegHangup(XFER1, 16))
    assert hangups(out) == [(XFER2, "normal")] and call.state == "ending"
    assert call.m.transfers_used == {"transfer_after_dst_hangup", "transfer_after_src_hangup"}


def test_given_transferring_when_transfer_leg_busy_then_hung_up_call_ends_completed_and_transfer_failure_noted():
    call = _transferring()
    call(ev.LegReady(XFER1))
    assert hangups(call(ev.LegDialStatus(XFER1, "BUSY"))) == [(XFER1, "busy")]
    out = call(ev.LegHangup(XFER1, 17))
    assert hangups(out) == [(SRC0, "normal")] and call.state == "ending"
    call.destroy_all()
    assert (call.state, call.m.status_detail) == ("completed", "answered")
    assert "transfer_failed" in call.kinds()


def test_given_transferring_when_transfer_leg_never_answers_then_hung_up_no_answer_and_ending():
    call = _transferring()
    call(ev.LegReady(XFER1))
    assert hangups(call.fire("xfer_ring")) == [(XFER1, "no_answer")]
    out = call.destroy(XFER1, 19)
    assert hangups(out) == [(SRC0, "normal")] and call.state == "ending"


def test_given_transferring_when_survivor_hangs_up_then_transfer_leg_hung_up():
    call = _transferring()
    call(ev.LegReady(XFER1))
    out = call(ev.LegHangup(SRC0, 16))
    assert hangups(out) == [(XFER1, "normal")] and call.state == "ending"
    call.destroy_all()
    assert (call.state, call.m.ended_by) == ("completed", "src")


def test_given_transferring_when_duration_timer_fires_then_call_ends_by_duration_limit():
    call = _transferring()
    out = call.fire("duration")
    assert sorted(hangups(out)) == [(SRC0, "normal"), (XFER1, "normal")]
    call.destroy_all()
    assert (call.state, call.m.ended_by) == ("completed", "duration_limit")


def test_given_destination_busy_with_transfer_after_dst_hangup_then_origin_transferred():
    call = calling_dst(transfer_after_dst_hangup="3003")
    call(ev.LegDialStatus(DST, "BUSY"))
    out = call(ev.LegHangup(DST, 17))
    assert out[0] == cmd.CancelTimer("dst_ring")
    assert [c.endpoint for c in of(cmd.CreateLeg, out)] == ["Local/3003@transfer-targets"]
    assert not hangups(out) and call.state == "transferring"
    assert "dst_ring" not in call.m.timers


def test_given_destination_never_answered_when_transfer_target_answers_then_limits_set_on_both_legs():
    call = calling_dst(transfer_after_dst_hangup="3003", call_duration=60)
    call.fire("dst_ring")
    call.destroy(DST, 19)
    call(ev.LegReady(XFER1))
    out = call(ev.LegAnswered(XFER1))
    assert call.state == "connected"
    # The call is now a conversation: Asterisk's backstop on both legs and our duration timer.
    assert {c.leg_id for c in of(cmd.SetVariable, out)} == {SRC0, XFER1}
    assert [c.name for c in of(cmd.StartTimer, out)] == ["duration"]
    call.fire("duration", dt=60)
    call.destroy_all()
    assert (call.state, call.m.ended_by) == ("completed", "duration_limit")


def test_given_destination_busy_and_transfer_target_fails_too_then_failed_named_by_the_destination():
    call = calling_dst(transfer_after_dst_hangup="3003")
    call(ev.LegDialStatus(DST, "BUSY"))
    call(ev.LegHangup(DST, 17))
    call.destroy(DST, 0)
    call(ev.LegReady(XFER1))
    out = call.destroy(XFER1, 19)
    assert hangups(out) == [(SRC0, "normal")] and call.state == "ending"
    call.destroy(SRC0)
    assert (call.state, call.m.status_detail) == ("failed", "dst_busy")
    assert "transfer_failed" in call.kinds()


# ============================================================================ public transfer
def keys(call: Call, leg_id: str, digits: str) -> list:
    out = []
    for digit in digits:
        out += call(ev.DtmfReceived(leg_id, digit), dt=0.2)
    return out


def test_given_connected_when_origin_keys_code_number_and_hash_then_origin_leaves_and_destination_transferred():
    call = connected()
    out = keys(call, SRC0, "##")
    assert [c.name for c in of(cmd.StartTimer, out)] == ["xfer_digits"]
    assert call.state == "connected"
    out = keys(call, SRC0, "3003")
    assert [c.name for c in of(cmd.StartTimer, out)] == ["xfer_digits"] * 4
    out = keys(call, SRC0, "#")
    assert out[0] == cmd.CancelTimer("xfer_digits")
    assert hangups(out) == [(SRC0, "normal")]
    assert [(c.leg_id, c.endpoint) for c in of(cmd.CreateLeg, out)] == [(XFER1, "Local/3003@transfer-targets")]
    assert call.state == "transferring" and call.m.a_party == XFER1 and call.m.b_party == DST
    call(ev.LegHangup(SRC0, 16))
    call.destroy(SRC0, 16)
    assert call.state == "transferring"
    call(ev.LegReady(XFER1))
    call(ev.LegAnswered(XFER1))
    assert call.state == "connected"
    assert "dtmf_received" in call.kinds(SRC0) and "transfer" in call.kinds()


def test_given_destination_keys_the_transfer_then_destination_leaves_and_origin_transferred():
    call = connected()
    out = keys(call, DST, "##3003#")
    assert hangups(out) == [(DST, "normal")]
    assert call.m.b_party == XFER1 and call.m.a_party == SRC0


def test_given_number_keyed_without_terminator_when_inter_digit_timer_fires_then_transferred():
    call = connected()
    keys(call, SRC0, "##3003")
    out = call.fire("xfer_digits", dt=3)
    assert hangups(out) == [(SRC0, "normal")]
    assert [c.endpoint for c in of(cmd.CreateLeg, out)] == ["Local/3003@transfer-targets"]
    assert call.state == "transferring"


def test_given_code_without_number_when_hash_or_timer_then_nothing_happens():
    call = connected()
    keys(call, SRC0, "###")
    assert call.state == "connected" and not hangups(call.sent[-3:])
    assert call.fire("xfer_digits") == [] and call.state == "connected"


def test_given_digits_without_the_code_then_nothing_happens():
    call = connected()
    out = keys(call, SRC0, "123#4#")
    assert out == [] and call.state == "connected"


def test_given_one_party_collecting_when_the_other_keys_digits_then_they_are_ignored():
    call = connected()
    keys(call, SRC0, "##30")
    keys(call, DST, "99##55#")
    assert call.state == "connected"
    out = keys(call, SRC0, "03#")
    assert [c.endpoint for c in of(cmd.CreateLeg, out)] == ["Local/3003@transfer-targets"]


def test_given_stale_digit_timer_when_it_fires_then_ignored():
    call = connected()
    keys(call, SRC0, "##3")
    old = call.token("xfer_digits")
    keys(call, SRC0, "0")
    assert call(ev.TimerFired("xfer_digits", old)) == [] and call.state == "connected"


@pytest.mark.parametrize("src, dst", [(["01001"], "2002"), (["1001"], "02002")], ids=["external_src", "external_dst"])
def test_given_public_transfer_off_and_external_number_involved_then_dtmf_transfer_refused(src, dst):
    call = connected(src=src, dst=dst, allow_public_transfer=False)
    out = keys(call, SRC0, "##3003#")
    assert not hangups(out) and not of(cmd.CreateLeg, out) and call.state == "connected"
    out = call.fire("xfer_digits", dt=3)
    assert not hangups(out) and not of(cmd.CreateLeg, out) and call.state == "connected"


def test_given_public_transfer_off_but_internal_numbers_only_then_dtmf_transfer_allowed():
    call = connected(allow_public_transfer=False)
    out = keys(call, SRC0, "##3003#")
    assert of(cmd.CreateLeg, out) and call.state == "transferring"


def test_given_public_transfer_off_and_external_destination_then_destination_leg_told_so():
    call = started(dst="02002", allow_public_transfer=False)
    out = call(ev.LegAnswered(SRC0))
    assert of(cmd.CreateLeg, out)[0].variables["__CB_PUBLIC_TRANSFER"] == "no"


def test_given_external_destination_and_public_transfer_allowed_then_transfer_works():
    call = connected(src=["01001"], dst="02002")
    assert of(cmd.CreateLeg, keys(call, DST, "##3003#"))


def test_given_connected_when_phone_refers_then_it_leaves_and_the_other_party_is_transferred():
    call = connected()
    out = call(ev.TransferRequested(SRC0, "3003"))
    assert hangups(out) == [(SRC0, "normal")]
    assert [(c.leg_id, c.endpoint) for c in of(cmd.CreateLeg, out)] == [(XFER1, "Local/3003@transfer-targets")]
    assert call.state == "transferring" and "transfer_requested" in call.kinds(SRC0)


def test_given_public_transfer_off_and_external_when_phone_refers_then_refused_and_noted():
    call = connected(src=["01001"], allow_public_transfer=False)
    assert call(ev.TransferRequested(SRC0, "3003")) == []
    assert call.state == "connected" and "transfer_requested" in call.kinds(SRC0)


@pytest.mark.parametrize("number", ["", "30a3", "3003@evil", "3003&PJSIP/x", "3003\n", "sip:3003@host"])
def test_given_refer_to_something_not_a_number_then_refused(number):
    call = connected()
    assert call(ev.TransferRequested(SRC0, number)) == []
    assert call.state == "connected" and len(call.m.legs) == 2


def test_given_destination_still_ringing_when_origin_refers_or_keys_code_then_nothing_happens():
    call = calling_dst()
    assert call(ev.TransferRequested(SRC0, "3003")) == []
    assert keys(call, SRC0, "##3003#") == []
    assert call.state == "calling_dst"


def test_given_transferred_once_when_the_new_party_transfers_again_then_the_second_transfer_goes_on():
    call = connected()
    keys(call, SRC0, "##3003#")
    call.destroy(SRC0)
    call(ev.LegReady(XFER1))
    call(ev.LegAnswered(XFER1))
    out = keys(call, XFER1, "##3005#")
    assert hangups(out) == [(XFER1, "normal")] and call.m.a_party == XFER2
    # Asterisk confirms the hang-up we asked for: the replaced party is no transfer failure.
    assert hangups(call(ev.LegHangup(XFER1, 32))) == []
    call.destroy(XFER1)
    assert call.state == "transferring"
    call(ev.LegReady(XFER2))
    call(ev.LegAnswered(XFER2))
    assert call.state == "connected"


def test_given_transferred_once_when_the_new_party_refers_then_the_second_transfer_goes_on():
    call = connected(transfer_after_dst_hangup="3003")
    call(ev.LegHangup(DST, 16))
    call(ev.LegReady(XFER1))
    call(ev.LegAnswered(XFER1))
    call(ev.TransferRequested(XFER1, "3005"))
    assert call.m.b_party == XFER2 and call.state == "transferring"
    call.destroy(XFER1)
    assert call.state == "transferring" and not call.leg(XFER2).leaving


def test_given_party_collecting_digits_when_other_party_is_replaced_by_transfer_then_new_party_can_transfer():
    call = connected(transfer_after_dst_hangup="3003")
    keys(call, SRC0, "##30")
    call(ev.LegHangup(DST, 16))
    call(ev.LegReady(XFER1))
    call(ev.LegAnswered(XFER1))
    assert call.state == "connected"
    out = keys(call, XFER1, "##3005#")
    assert hangups(out) == [(XFER1, "normal")] and call.state == "transferring"


# ==================================================================== illegal and ignored
def test_given_started_when_started_again_then_illegal_transition_and_nothing_changes():
    call = started(src=["1001", "3001"])
    before = (call.state, dict(call.m.legs), len(call.m.timeline), dict(call.m.timers))
    with pytest.raises(IllegalTransition) as info:
        call(ev.Start())
    assert (info.value.state, info.value.label) == ("calling_src", "start")
    assert (call.state, dict(call.m.legs), len(call.m.timeline), dict(call.m.timers)) == before


@pytest.mark.parametrize("make", [calling_dst, connected, _transferring])
def test_given_any_active_state_when_started_again_then_illegal_transition(make):
    call = make()
    state = call.state
    with pytest.raises(IllegalTransition):
        call(ev.Start())
    assert call.state == state


def test_given_every_label_in_the_table_then_states_are_known():
    for (state, _), target in TRANSITIONS.items():
        assert state in ALL_STATES and target in ALL_STATES
        assert state not in TERMINAL


def every_event(leg_ids):
    out = [ev.Start(), ev.Resume(), ev.Cancel(), ev.BridgeFailed("x"), ev.PlaybackDone("cb-t-pb1"),
           *[ev.TimerFired(name, token) for name in ("src_ring", "dst_ring", "xfer_ring", "announce", "duration",
                                                   "xfer_digits") for token in range(0, 12)]]
    for leg in leg_ids:
        out += [ev.LegRinging(leg), ev.LegProgress(leg), ev.LegAnswered(leg), ev.LegReady(leg),
                ev.LegDialStatus(leg, "BUSY"), ev.LegHangup(leg, 16), ev.LegDestroyed(leg, 16), ev.LegFailed(leg),
                ev.DtmfReceived(leg, "#"), ev.TransferRequested(leg, "3003")]
    return out


@pytest.mark.parametrize("finish", ["completed", "failed", "cancelled"])
def test_given_terminal_call_then_every_event_is_ignored(finish):
    if finish == "completed":
        call = connected()
        call(ev.LegHangup(DST))
        call.destroy_all()
    elif finish == "failed":
        call = started()
        call.destroy(SRC0, 17)
    else:
        call = Call()
        call(ev.Cancel())
    assert call.state == finish
    before = (len(call.m.timeline), call.m.status_detail, call.m.ended_by, call.m.ended_at)
    for event in every_event([SRC0, DST, XFER1]):
        assert call(event) == [], event
        assert call.state == finish
    assert (len(call.m.timeline), call.m.status_detail, call.m.ended_by, call.m.ended_at) == before


@pytest.mark.parametrize("leg_id", ["cb-t-dst;2", "cb-t-src0;2", "cb-other-src0", "", "cb-t-xfer1"])
def test_given_event_for_a_leg_that_is_not_ours_then_ignored(leg_id):
    call = connected()
    before = (call.state, len(call.m.timeline))
    for event in every_event([leg_id]):
        if hasattr(event, "leg_id"):
            assert call(event) == [], event
    assert (call.state, len(call.m.timeline)) == before


def test_given_local_second_half_destroyed_first_then_only_the_first_half_ends_the_leg():
    call = connected()
    assert call(ev.LegHangup(f"{DST};2", 16)) == [] and call.destroy(f"{DST};2") == []
    assert call.state == "connected"
    assert hangups(call(ev.LegHangup(DST, 16))) == [(SRC0, "normal")]


def test_given_duplicate_events_then_each_acts_once():
    call = started(src=["1001", "3001"])
    call(ev.LegAnswered(SRC0))
    assert call(ev.LegAnswered(SRC0)) == []
    call(ev.LegReady(DST))
    call(ev.LegAnswered(DST))
    assert call(ev.LegAnswered(DST)) == []
    call(ev.LegHangup(DST))
    assert call(ev.LegHangup(DST)) == []
    assert len(of(cmd.CreateLeg, call.sent)) == 1 and len(of(cmd.Dial, call.sent)) == 1
    assert len(of(cmd.StartTimer, [c for c in call.sent if getattr(c, "name", "") == "duration"])) == 1


def test_given_destination_dialled_when_ready_reported_again_then_not_bridged_or_dialled_twice():
    call = calling_dst()
    call(ev.LegRinging(DST))
    token = call.token("dst_ring")
    assert call(ev.LegReady(DST)) == []
    assert len(of(cmd.Dial, call.sent)) == 1 and call.m.timers["dst_ring"] == token


def test_given_transfer_leg_dialled_when_ready_reported_again_then_not_dialled_twice():
    call = _transferring()
    call(ev.LegReady(XFER1))
    assert call(ev.LegReady(XFER1)) == []
    assert [c.leg_id for c in of(cmd.Dial, call.sent)] == [DST, XFER1]


def test_given_bridge_failure_while_active_then_error_ending():
    call = connected()
    out = call(ev.BridgeFailed("no bridge"))
    assert sorted(hangups(out)) == [(DST, "normal"), (SRC0, "normal")]
    call.destroy_all()
    assert (call.state, call.m.status_detail) == ("failed", "error")


# ============================================================================== timeline
def test_given_a_full_call_then_timeline_records_each_legs_life_with_causes():
    call = calling_dst()
    call(ev.LegRinging(DST))
    call(ev.LegRinging(DST))   # a second 180 changes nothing
    call(ev.LegProgress(DST))
    call(ev.LegAnswered(DST))
    call(ev.LegHangup(DST, 16))
    call.destroy(DST, 16, cause_txt="Normal Clearing")
    call.destroy(SRC0, 16, cause_txt="Normal Clearing", tech_cause=200)
    dst = [e for e in call.m.timeline if e.leg_id == DST]
    assert [e.kind for e in dst] == ["leg_created", "ringing", "progress", "answered", "hangup", "ended"]
    assert dst[-1].detail == {"cause": 16, "cause_txt": "Normal Clearing", "tech_cause": None}
    assert dst[0].detail == {"role": "dst", "number": "2002"}
    leg = call.leg(DST)
    assert leg.created_at < leg.ringing_at < leg.progress_at < leg.answered_at < leg.hangup_at < leg.ended_at
    assert (leg.cause, leg.cause_txt) == (16, "Normal Clearing")
    src = call.leg(SRC0)
    assert (src.cause, src.tech_cause, src.hangup_reason) == (16, 200, "normal")
    assert "hangup_requested" in call.kinds(SRC0)
    states = [e.detail["state"] for e in call.m.timeline if e.kind == "state"]
    assert states == ["calling_src", "calling_dst", "connected", "ending", "completed"]
    assert [e.at for e in call.m.timeline] == sorted(e.at for e in call.m.timeline)


def test_given_origin_lost_then_its_dial_status_and_cause_are_recorded():
    call = started(src=["1001", "3001"])
    call(ev.LegDialStatus(SRC0, "BUSY"))
    call.destroy(SRC0, 0, cause_txt="Unknown")
    leg = call.leg(SRC0)
    assert (leg.dialstatus, leg.cause, leg.cause_txt) == ("BUSY", 0, "Unknown")
    assert [e.kind for e in call.m.timeline if e.leg_id == SRC0] == ["leg_created", "dial_status", "ended"]


# ============================================================================ simultaneous
def test_given_simultaneous_when_started_then_destination_created_with_the_origins():
    call = Call(simultaneous=True)
    out = call(ev.Start())
    assert [type(c).__name__ for c in out] == ["Originate", "CreateBridge", "CreateLeg", "StartTimer"]


def test_given_simultaneous_when_destination_answers_first_then_connected_when_origin_answers():
    call = started(simultaneous=True)
    call(ev.LegReady(DST))
    call(ev.LegAnswered(DST))
    assert call.state == "calling_src"
    out = call(ev.LegAnswered(SRC0))
    assert call.state == "connected"
    assert cmd.AddToBridge(BRIDGE, SRC0) in out
    assert {c.leg_id for c in of(cmd.SetVariable, out)} == {SRC0, DST}


def test_given_simultaneous_when_destination_fails_while_origins_ring_then_all_hung_up():
    call = started(simultaneous=True, src=["1001", "3001"])
    call(ev.LegReady(DST))
    out = call.destroy(DST, 17)
    assert sorted(hangups(out)) == [(SRC0, "normal"), (SRC1, "normal")]
    call.destroy_all()
    assert (call.state, call.m.status_detail) == ("failed", "dst_busy")


def test_given_simultaneous_destination_answered_early_when_it_hangs_up_before_any_origin_then_dst_abandoned():
    # Not "dst_normal": a waiting destination that hangs up left the call, as src_abandoned.
    call = started(simultaneous=True, src=["1001", "3001"])
    call(ev.LegReady(DST))
    call(ev.LegAnswered(DST))
    out = call(ev.LegHangup(DST, 16))
    assert sorted(hangups(out)) == [(SRC0, "normal"), (SRC1, "normal")]
    call.destroy_all()
    assert (call.state, call.m.status_detail) == ("failed", "dst_abandoned")


def test_given_simultaneous_destination_answered_early_but_being_hung_up_when_origin_answers_then_not_connected_to_it():
    # A stray final Dial status after the answer makes us hang the waiting destination up;
    # an origin answering just then must not be connected to a leg on its way out.
    call = started(simultaneous=True)
    call(ev.LegReady(DST))
    call(ev.LegAnswered(DST))
    assert hangups(call(ev.LegDialStatus(DST, "BUSY"))) == [(DST, "busy")]
    out = call(ev.LegAnswered(SRC0))
    assert call.state != "connected"
    assert DST not in [c.leg_id for c in of(cmd.SetVariable, out)]
    call.destroy(DST, 0)
    call.destroy(SRC0)
    assert (call.state, call.m.status_detail) == ("failed", "dst_busy")


# =========================================================================== outcome names
DOCUMENTED_KINDS = {"busy", "no_answer", "rejected", "congestion", "invalid_number", "unavailable", "unknown"}


@pytest.mark.parametrize("cause", [None, 0, 1, 16, 17, 18, 19, 21, 26, 27, 31, 34, 38, 127, 99])
def test_given_destination_ends_unanswered_with_any_cause_then_outcome_is_a_documented_dst_kind(cause):
    # docs/decisions.md: `<side>_<kind>`, kind one of busy, no_answer, rejected, congestion,
    # invalid_number, unavailable, unknown.
    call = calling_dst()
    call.destroy(DST, cause)
    call.destroy(SRC0)
    side, _, kind = call.m.status_detail.partition("_")
    assert (call.state, side) == ("failed", "dst") and kind in DOCUMENTED_KINDS, call.m.status_detail


@pytest.mark.parametrize("cause", [None, 0, 1, 16, 17, 18, 19, 21, 26, 27, 31, 34, 38, 127, 99])
def test_given_only_origin_ends_unanswered_with_any_cause_then_outcome_is_a_documented_src_kind(cause):
    call = started()
    call.destroy(SRC0, cause)
    side, _, kind = call.m.status_detail.partition("_")
    assert (call.state, side) == ("failed", "src") and kind in DOCUMENTED_KINDS, call.m.status_detail


# ================================================================================= resume
def test_given_restored_while_origins_ring_when_resumed_then_src_ring_timer_rearmed_with_time_left():
    call = started()
    out = call(ev.Resume(), dt=10)
    assert [(c.name, c.delay) for c in of(cmd.StartTimer, out)] == [("src_ring", pytest.approx(WAIT - 10))]
    assert call.state == "calling_src"


def test_given_new_call_when_resumed_then_it_starts():
    call = Call()
    assert of(cmd.Originate, call(ev.Resume())) and call.state == "calling_src"


def test_given_a_connected_call_when_asterisk_restarted_then_failed_asterisk_lost_not_a_party_hangup():
    call = connected()
    call(ev.AsteriskLost("Asterisk restarted"))
    assert call.state == "ending"
    call(ev.LegDestroyed(SRC0, None, "gone while we were disconnected"))
    call(ev.LegDestroyed(DST, None, "gone while we were disconnected"))
    assert (call.state, call.m.status_detail, call.m.ended_by) == ("failed", "asterisk_lost", "asterisk")
    assert "asterisk_lost" in [e.kind for e in call.m.timeline]


def test_given_a_finished_call_when_asterisk_lost_arrives_then_nothing_changes():
    call = connected()
    call.destroy(DST)
    call.destroy(SRC0)
    final = (call.state, call.m.status_detail, call.m.ended_by)
    assert call(ev.AsteriskLost()) == []
    assert (call.state, call.m.status_detail, call.m.ended_by) == final
