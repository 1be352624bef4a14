"""benchmarks/timeline.py and the ramp's "lost while held": the measures of issue 12 item 6
computed from an observer's event rows, without Asterisk."""

from __future__ import annotations

import asyncio
import json

import pytest

from benchmarks.bare_ari import FlowTimes
from benchmarks.observer import epoch, record
from benchmarks.ramp import RampHold, lost_while_held
from benchmarks.timeline import Channel, apply, load_index, measures, summarise

T0 = 1_000_000.0


def rows(origin: str, dst: str, caller: str | None = None) -> list[list]:
    """One call on Asterisk's clock: created at +5 ms, up at +30, dst dialled at +36, answered
    at +40; hang-up requested at +1000 and both legs destroyed by +1004."""
    return [
        ["ChannelCreated", T0 + 0.005, origin, None, None, None, "Down"],
        ["ChannelStateChange", T0 + 0.030, origin, None, None, None, "Up"],
        ["ChannelCreated", T0 + 0.033, dst, None, None, None, "Down"],
        ["Dial", T0 + 0.036, None, dst, caller, "", "Down"],
        ["Dial", T0 + 0.040, None, dst, caller, "ANSWER", "Up"],
        ["ChannelHangupRequest", T0 + 1.000, origin, None, None, None, "Up"],
        ["ChannelDestroyed", T0 + 1.002, origin, None, None, None, "Up"],
        ["ChannelDestroyed", T0 + 1.004, dst, None, None, None, "Up"],
    ]


def index_of(all_rows: list[list]) -> dict[str, Channel]:
    index: dict[str, Channel] = {}
    for row in all_rows:
        apply(index, row)
    return index


def test_the_four_measures_against_the_clients_stamps():
    index = index_of(rows("o", "d"))
    times = FlowTimes(0, 0, requested=T0, hangup=T0 + 0.999, origin="o", destination="d")
    got = measures(times, index)
    assert got["created"] == pytest.approx(0.005)
    assert got["dialled"] == pytest.approx(0.006)
    assert got["connected"] == pytest.approx(0.040)
    assert got["gone"] == pytest.approx(0.005)


def test_an_ami_destination_is_found_as_the_peer_the_origin_dialled():
    index = index_of(rows("o", "asterisk-named", caller="o"))
    times = FlowTimes(0, 0, requested=T0, hangup=T0 + 0.999, origin="o")
    assert measures(times, index)["connected"] == pytest.approx(0.040)


def test_a_missing_event_gives_no_figure_rather_than_a_wrong_one():
    index = index_of(rows("o", "d")[:3])
    times = FlowTimes(0, 0, requested=T0, hangup=T0 + 0.999, origin="o", destination="d")
    got = measures(times, index)
    assert got["connected"] is None and got["gone"] is None and got["dialled"] is None
    assert summarise([times], index)["connected"] == {"n": 0}


def test_the_observer_writes_asterisks_timestamp_and_the_ids(tmp_path):
    message = {"type": "Dial", "timestamp": "2026-12-06T17:55:01.123+0000", "dialstatus": "ANSWER",
               "peer": {"id": "d", "state": "Up"}, "caller": {"id": "o"}}
    row = record(message)
    assert row == ["Dial", epoch("2026-12-06T17:55:01.123+0000"), None, "d", "o", "ANSWER", "Up"]
    assert record({"type": "ChannelVarset", "timestamp": "x"}) is None
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(row) + "\n" + '["ChannelCreated", 1.0, "half-writ')   # a torn last line
    assert load_index(path)["d"].dial_answer == row[1]


async def test_a_ramp_call_is_lost_only_when_a_leg_ended_before_the_release():
    index = index_of(rows("o", "d"))   # the origin's hang-up was requested at T0 + 1.0
    hold = RampHold(asyncio.Event())
    hold.legs = ("o", "d")
    assert not lost_while_held(hold, index, released=T0 + 0.5)   # released first: a clean hold
    assert lost_while_held(hold, index, released=T0 + 2.0)       # ended while still held
