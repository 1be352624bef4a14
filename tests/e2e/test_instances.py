"""Several instances on one PostgreSQL (R18): work claimed once, a dead instance's calls taken
over, limits and cancels across instances, and instances on two Asterisks."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from datetime import datetime

import pytest

from ari_callback.bundled import BundledAsterisk
from tests.pg_server import fresh_database

from .instances import all_final, place, start_instance

OTHER = {"X-API-Key": "other-client-key"}
SECOND_CONTAINER, SECOND_HTTP, SECOND_SIP = "ari-callback-asterisk-test-2", 18188, 15160


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def _nothing_left(ari, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while [c for c in await ari.list_channels()] + [b for b in await ari.list_bridges()]:
        if time.monotonic() > deadline:
            return   # the leak check after the test says what is left
        await asyncio.sleep(0.2)


def _originates(observer, mark) -> Counter:
    """Origin channels Asterisk created since ``mark``, by channel id (cb-<attempt>-src<i>)."""
    return Counter(e.channel.id for e in observer.since(mark, "ChannelCreated")
                   if re.fullmatch(r"cb-.+-src\d+", e.channel.id))


async def test_given_two_instances_when_one_is_killed_mid_run_then_each_callback_is_dialled_once(
        asterisk, observer, pg_url, tmp_path, ari):
    async with fresh_database(pg_url) as url:
        clients = {"default": {"max_concurrent_calls": 1000}}
        a = await start_instance(asterisk, tmp_path, "inst-a", url, clients=clients)
        b = await start_instance(asterisk, tmp_path, "inst-b", url, clients=clients)
        try:
            mark = observer.mark()
            ids = []
            for i in range(200):   # accepted through both, each talking 4 s once connected
                response = await place(a if i % 2 else b, src=["1001"], dst="6004")
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
            a.kill()
            killed = time.monotonic()
            records = await all_final(b, ids, timeout=60)
            settled = time.monotonic() - killed
            await _nothing_left(ari, timeout=20)   # while the survivor runs: its sweep is part of this
        finally:
            await a.stop()
            await b.stop()
    originates = _originates(observer, mark)
    by_instance = Counter(r["attempts"][0]["instance"] for r in records.values())
    outcomes = Counter((r["status"], r["status_detail"]) for r in records.values())
    # A callback claimed by the killed instance whose originate had not left it yet cannot be
    # told apart, by its adopter, from one whose origin failed at once: it is failed, never
    # dialled a second time (docs/decisions.md). Every other one rang exactly once.
    unrung = [r for r in records.values() if originates[f"cb-{r['attempts'][0]['id']}-src0"] == 0]
    print(f"\nR18: 200 callbacks, dialled by {dict(by_instance)}; outcomes {dict(outcomes)}; "
          f"all final {settled:.1f} s after the kill; {len(unrung)} caught before their originate left")
    assert all(len(r["attempts"]) == 1 for r in records.values())
    assert all(originates[f"cb-{r['attempts'][0]['id']}-src0"] <= 1 for r in records.values())
    assert len(unrung) <= 2 and all(r["status"] == "failed" for r in unrung), [
        (r["status"], r["status_detail"]) for r in unrung]
    assert settled < 30
    assert by_instance["inst-a"] > 0 and outcomes[("completed", "answered")] >= 190


async def test_given_a_limit_of_10_when_100_creates_race_on_two_instances_then_exactly_10_admitted(
        asterisk, pg_url, tmp_path):
    async with fresh_database(pg_url) as url:
        clients = {"other": {"max_concurrent_calls": 10}}
        a = await start_instance(asterisk, tmp_path, "inst-a", url, clients=clients)
        b = await start_instance(asterisk, tmp_path, "inst-b", url, clients=clients)
        try:
            responses = await asyncio.gather(*(place(a if i % 2 else b, OTHER, src=["2001"], dst="1001")
                                               for i in range(100)))
            admitted = [r.json()["id"] for r in responses if r.status_code == 201]
            for callback_id in admitted:   # they ring for ever: end them
                cancelled = await a.http.post(f"/v1/callbacks/{callback_id}/cancel", headers=OTHER)
                assert cancelled.status_code == 202, cancelled.text
            await all_final(a, admitted, timeout=30, headers=OTHER)
        finally:
            await a.stop()
            await b.stop()
    assert Counter(r.status_code for r in responses) == {201: 10, 429: 90}
    assert {r.json()["error_id"] for r in responses if r.status_code == 429} == {"concurrent_call_limit_exceeded"}


async def test_given_a_call_owned_by_one_instance_when_cancelled_on_the_other_then_ended_within_1_s(
        asterisk, pg_url, tmp_path):
    async with fresh_database(pg_url) as url:
        servers = {name: await start_instance(asterisk, tmp_path, name, url) for name in ("inst-a", "inst-b")}
        try:
            created = await place(servers["inst-a"], src=["1001"], dst="1002")
            callback_id = created.json()["id"]
            record = await servers["inst-a"].until(callback_id, lambda r: r["state"] == "connected")
            owner = record["attempts"][0]["instance"]
            other = servers["inst-b" if owner == "inst-a" else "inst-a"]
            asked = time.time()
            response = await other.http.post(f"/v1/callbacks/{callback_id}/cancel")
            assert response.status_code == 202, response.text
            done = await other.until(callback_id, lambda r: r["finished"], timeout=10)
        finally:
            for server in servers.values():
                await server.stop()
    acted = [e for e in done["timeline"] if e["kind"] == "cancel_requested"]
    delay = _epoch(acted[0]["at"]) - asked
    print(f"\ncancel on {other.config.stem} of a call owned by {owner}: acted on after {delay * 1000:.0f} ms")
    assert (done["status"], done["ended_by"]) == ("cancelled", "cancel")
    assert delay < 1.0


@pytest.fixture
def second_asterisk():
    bundled = BundledAsterisk(name=SECOND_CONTAINER, http_port=SECOND_HTTP, sip_port=SECOND_SIP)
    bundled.up(timeout=120)
    yield bundled
    bundled.down()


async def _disconnected(server, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while (await server.http.get("/health")).json()["asterisk_connected"]:
        assert time.monotonic() < deadline, "the instance still says it is connected"
        await asyncio.sleep(0.2)


async def test_given_two_asterisks_when_one_stops_then_only_the_connected_instance_dials(
        asterisk, second_asterisk, pg_url, tmp_path):
    pinned = {"other": {"asterisk": "pbx2"}}
    async with fresh_database(pg_url) as url:
        x = await start_instance(asterisk, tmp_path, "inst-x", url, asterisk_name="pbx1", clients=pinned)
        y = await start_instance(second_asterisk, tmp_path, "inst-y", url, asterisk_name="pbx2", clients=pinned)
        try:
            # A client pinned to pbx2 is dialled there, whichever instance took the request.
            first = (await place(x, OTHER, src=["1001"], dst="6002")).json()["id"]
            pinned_record = (await all_final(x, [first], timeout=30, headers=OTHER))[first]
            second_asterisk.down()
            await _disconnected(y)
            ids = [(await place(x, src=["1001"], dst="6001")).json()["id"] for _ in range(6)]
            records = await all_final(x, ids, timeout=30)
            refused = await place(y, src=["1001"], dst="6001")
            waiting = (await place(x, OTHER, src=["1001"], dst="6001")).json()["id"]
            await asyncio.sleep(3)
            still = await x.http.get(f"/v1/callbacks/{waiting}", headers=OTHER)
            second_asterisk.up(timeout=120)
            late = (await all_final(x, [waiting], timeout=60, headers=OTHER))[waiting]
        finally:
            await x.stop()
            await y.stop()
    assert (pinned_record["status"], pinned_record["attempts"][0]["instance"]) == ("completed", "inst-y")
    assert {r["attempts"][0]["instance"] for r in records.values()} == {"inst-x"}
    assert all(r["status"] == "completed" for r in records.values())
    assert (refused.status_code, refused.json()["error_id"]) == (503, "asterisk_unavailable")
    assert still.json()["status"] == "queued"   # pinned to the stopped Asterisk: it waits
    assert (late["status"], late["attempts"][0]["instance"]) == ("completed", "inst-y")


async def test_given_the_directory_changed_on_one_instance_or_by_the_cli_then_every_instance_uses_it(
        asterisk, pg_url, tmp_path):
    """A tenant's sound stored through instance A is playable through B, and a limit the operator
    lowers with the CLI on the database is enforced by both, each within the directory's poll."""
    from .test_cli import BIN

    async with fresh_database(pg_url) as url:
        a = await start_instance(asterisk, tmp_path, "inst-a", url)
        b = await start_instance(asterisk, tmp_path, "inst-b", url)
        made: list[str] = []
        try:
            stored = await a.http.put("/v1/sounds/77", json={"media": ["sound:beep"]})
            assert stored.status_code == 200, stored.text
            asked, first = time.monotonic(), None
            while first is None or first.status_code == 422:
                assert time.monotonic() - asked < 5, first.text if first is not None else "no answer"
                await asyncio.sleep(0.1)
                first = await place(b, src=["2001"], dst="1001", announce_sound_id=77)
            seen_after = time.monotonic() - asked
            assert first.status_code == 201, first.text
            made.append(first.json()["id"])
            lowered = await asyncio.create_subprocess_exec(
                str(BIN), "--config", str(tmp_path / "inst-b.yaml"), "clients", "set", "default",
                "--max-concurrent-calls", "1", stdin=asyncio.subprocess.DEVNULL)
            assert await lowered.wait() == 0
            await asyncio.sleep(2.5)   # instance.directory_poll_interval is 2 s
            refused = [await place(server, src=["2001"], dst="1001") for server in (a, b)]
        finally:
            for callback_id in made:
                await a.http.post(f"/v1/callbacks/{callback_id}/cancel")
            await all_final(a, made, timeout=30)
            await a.stop()
            await b.stop()
    print(f"\ndirectory: a sound stored on inst-a was playable on inst-b after {seen_after * 1000:.0f} ms")
    assert [(r.status_code, r.json()["error_id"]) for r in refused] == [(429, "concurrent_call_limit_exceeded")] * 2
    assert seen_after < 3.0
