"""Outbox rows as webhook events: the type of each status change, the body, the legs as they
stood at the event's time."""

from __future__ import annotations

import json

import pytest

from ari_callback.webhooks.events import EVENT_TYPES, encode, event_body, event_type, legs_at, wanted

T = 1_800_000_000.0


@pytest.mark.parametrize("kind,status,previous,expected", [
    ("callback", "queued", None, "callback.queued"),
    ("callback", "scheduled", None, "callback.scheduled"),
    ("callback", "dialling", None, "callback.dialling"),
    ("attempt", "calling_src", "new", "callback.ringing"),
    ("attempt", "announcing", "calling_src", "callback.answered"),
    ("attempt", "calling_dst", "calling_src", "callback.answered"),
    ("attempt", "calling_dst", "announcing", "callback.announced"),
    ("attempt", "connected", "calling_dst", "callback.connected"),
    ("attempt", "connected", "calling_src", "callback.connected"),   # simultaneous mode
    ("attempt", "transferring", "connected", "callback.transferring"),
    ("attempt", "connected", "transferring", "callback.transferred"),
    ("attempt", "ending", "connected", "callback.ending"),
    ("attempt", "completed", "ending", "attempt.completed"),
    ("attempt", "failed", "ending", "attempt.failed"),
    ("attempt", "cancelled", "new", "attempt.cancelled"),
    ("callback", "completed", "dialling", "callback.completed"),
    ("callback", "failed", "dialling", "callback.failed"),
    ("callback", "cancelled", "queued", "callback.cancelled"),
])
def test_given_a_status_change_then_its_event_type(kind, status, previous, expected):
    assert event_type(kind, status, previous) == expected
    assert expected in EVENT_TYPES


def test_given_every_state_of_the_machine_then_each_change_has_a_known_type():
    from ari_callback.domain.machine import TRANSITIONS
    for (state, _label), target in TRANSITIONS.items():
        if target != state:
            assert event_type("attempt", target, state) in EVENT_TYPES, (state, target)


def _leg(**fields):
    return {"id": "cb-a1-src0", "role": "src", "number": "1001", "idx": 0, "created_at": T, "ringing_at": T + 1,
            "progress_at": None, "answered_at": T + 3, "hangup_at": T + 9, "ended_at": T + 9.5, "cause": 16,
            "cause_txt": "Normal Clearing", "tech_cause": 200, "dialstatus": "ANSWER", "hangup_reason": "normal",
            "outcome": "normal", **fields}


def test_given_an_event_while_ringing_then_later_times_and_the_ending_are_left_out():
    shown = legs_at([_leg(), _leg(id="cb-a1-dst", role="dst", created_at=T + 4)], at=T + 2)
    assert [leg["id"] for leg in shown] == ["cb-a1-src0"]   # the destination did not exist yet
    assert shown[0]["ringing_at"] == "2027-01-15T08:00:01.000Z"
    assert shown[0]["answered_at"] is None and shown[0]["ended_at"] is None
    assert "cause" not in shown[0]


def test_given_an_event_after_the_end_then_the_leg_says_how_it_ended():
    (shown,) = legs_at([_leg()], at=T + 10)
    assert (shown["cause"], shown["sip_code"], shown["outcome"], shown["index"]) == (16, 200, "normal", 0)


def test_given_an_outbox_row_then_the_body_names_event_callback_attempt_client_and_time():
    row = {"id": 42, "at": T, "client_id": "acme", "callback_id": "c1", "attempt_id": "a1", "kind": "attempt",
           "status": "calling_src", "detail": {"previous": "new", "status_detail": ""}}
    body = event_body(row, [_leg()])
    assert {k: body[k] for k in ("id", "type", "created_at", "client_id", "callback_id", "attempt_id")} == {
        "id": 42, "type": "callback.ringing", "created_at": "2027-01-15T08:00:00.000Z", "client_id": "acme",
        "callback_id": "c1", "attempt_id": "a1"}
    assert body["data"]["status"] == "calling_src" and body["data"]["previous"] == "new"
    assert [leg["id"] for leg in body["data"]["legs"]] == ["cb-a1-src0"]


def test_given_a_queued_callback_then_no_legs_and_its_due_time_in_iso():
    row = {"id": 1, "at": T, "client_id": "acme", "callback_id": "c1", "attempt_id": None, "kind": "callback",
           "status": "queued", "detail": {"due_at": T + 60}}
    body = event_body(row)
    assert "legs" not in body["data"] and body["data"]["due_at"] == "2027-01-15T08:01:00.000Z"


def test_given_a_body_then_it_is_encoded_compact_and_unicode_kept():
    text = encode({"id": 1, "name": "Zoë"})
    assert text == '{"id":1,"name":"Zoë"}' and json.loads(text)["name"] == "Zoë"


def test_given_a_webhook_filter_then_only_its_types_go_to_it():
    assert wanted(None, "callback.ringing")
    assert wanted(frozenset({"*"}), "callback.ringing")
    assert wanted(frozenset({"callback.completed"}), "callback.completed")
    assert not wanted(frozenset({"callback.completed"}), "callback.ringing")
