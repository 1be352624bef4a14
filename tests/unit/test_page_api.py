"""The customer page's public API on a real store (SQLite), in-process, without Asterisk: only a
published profile is served, CORS and frame options follow its allowed origins, and bad input
gets the native error body with a stable id."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timezone

import httpx
import pytest

from ari_callback.api import page_policy
from ari_callback.api.app import create_app
from ari_callback.callbacks import CallbackService
from ari_callback.config import Settings
from ari_callback.customers import CustomerService
from ari_callback.store import CallbackStore

from .fonolo_app import _migrated_copy

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC).timestamp()   # a Monday, 10:00 in Toronto
SITE = "https://www.example.com"
OPTIONS = {"sales": {"name": "Sales", "queue": "sales-q", "capacity": 1, "hours": {"mon-fri": "09:00-17:00"},
                     "slots": {"slot_minutes": 30}},
           "later": {"name": "Later", "queue": "later-q", "status": "closed", "position": 1},
           "held": {"name": "Held", "queue": "held-q", "status": "paused", "position": 2}}
PUBLISHED = {"name": "Support", "sms": True, "scheduling": True, "timezone": "America/Toronto", "options": OPTIONS,
             "questions": {"acct": {"text": "Account?", "type": "number", "required": True}},
             "web": {"enabled": True, "allowed_origins": [SITE]}}
PAGE = "/page/P1"


def _profile(suffix: str, **changes) -> dict:
    """The published profile under another sid: option and question sids are unique over all
    profiles."""
    options = {f"{sid}{suffix}": option for sid, option in OPTIONS.items()}
    questions = {f"{sid}{suffix}": q for sid, q in PUBLISHED["questions"].items()}
    return {**PUBLISHED, "options": options, "questions": questions, **changes}


class Engine:
    connected = asyncio.Event()
    active_calls = 0

    def ready(self):
        return True

    def cancel(self, callback_id, reason="cancelled"):
        return False


class Dispatcher:
    def poke(self):
        pass


@pytest.fixture
async def api(tmp_path, monkeypatch):
    monkeypatch.setattr(page_policy, "CATALOG_TTL_S", 0.0)   # publishing changes are seen at once
    settings = Settings(api_key="k", dialing={"trunks": {"t": {"dial": "Local/{number}@p"}},
                                              "routes": [{"match": r"\d+", "trunk": "t"}]})
    url = f"sqlite+aiosqlite:///{tmp_path}/c.db"
    await _migrated_copy(tmp_path, url)
    store = await CallbackStore.open(url)
    ticks = itertools.count()
    clock = lambda: NOW + next(ticks) / 1000   # noqa: E731
    service = CallbackService(settings, store, Engine(), Dispatcher(), clock=clock)
    service.customers = CustomerService(settings, store, clock=clock)

    @asynccontextmanager
    async def running(_settings):
        yield service

    app = create_app(settings, running)
    app.state.service = service
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        hidden = {k: v for k, v in _profile("h").items() if k != "web"}
        for sid, body in (("P1", PUBLISHED), ("P2", _profile("2", web={"enabled": True})), ("HIDDEN", hidden)):
            created = await client.put(f"/v1/profiles/{sid}", json=body, headers={"X-API-Key": "k"})
            assert created.status_code == 200, created.text
        yield client
    await store.close()


async def _ask(api, number: str = "5551001", path: str = PAGE, **body) -> httpx.Response:
    return await api.post(f"{path}/callbacks", json={"option": "sales", "number": number,
                                                      "answers": {"acct": "42"}, **body})


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["error_id"]


# ------------------------------------------------------------------------------ publishing
@pytest.mark.parametrize("method, path", [("GET", "/page/HIDDEN"), ("GET", "/page/HIDDEN/config.json"),
                                          ("GET", "/page/HIDDEN/options/salesh/slots"),
                                          ("GET", f"/page/HIDDEN/callbacks/{uuid.uuid4()}"),
                                          ("GET", "/page/NOPE/config.json")])
async def test_given_an_unpublished_or_missing_profile_then_404_like_a_missing_one(api, method, path):
    assert _error(await api.request(method, path), 404) == "profile_not_found"


async def test_given_an_unpublished_profile_when_posted_to_even_badly_then_404_first(api):
    assert _error(await _ask(api, path="/page/HIDDEN"), 404) == "profile_not_found"
    bad = await api.post("/page/HIDDEN/callbacks", json={"nonsense": 1})
    assert _error(bad, 404) == "profile_not_found"


async def test_given_a_published_page_when_unpublished_then_no_longer_served(api):
    assert (await api.get(PAGE)).status_code == 200
    off = await api.put("/v1/profiles/P1", json={**PUBLISHED, "web": {"enabled": False}}, headers={"X-API-Key": "k"})
    assert off.status_code == 200 and off.json()["web"] == {"enabled": False, "allowed_origins": []}
    assert _error(await api.get(PAGE), 404) == "profile_not_found"


async def test_given_a_bad_origin_in_the_settings_then_the_profile_is_refused(api):
    bad = {"web": {"enabled": True, "allowed_origins": ["https://x.example.com/path"]}}
    response = await api.put("/v1/profiles/P3", json={**_profile("3"), **bad}, headers={"X-API-Key": "k"})
    assert _error(response, 422) == "invalid_web"


# ------------------------------------------------------------------- frame options and CORS
async def test_given_allowed_origins_then_only_they_may_frame_the_page(api):
    response = await api.get(PAGE)
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {SITE}" in csp and "script-src 'self'" in csp
    assert "x-frame-options" not in response.headers
    assert 'src="/page-assets/page.js"' in response.text


async def test_given_no_allowed_origins_then_the_page_may_not_be_framed_at_all(api):
    response = await api.get("/page/P2")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_given_an_allowed_origin_then_cors_headers_also_on_errors(api):
    ok = await api.get(f"{PAGE}/config.json", headers={"Origin": SITE})
    assert ok.headers["access-control-allow-origin"] == SITE and "Origin" in ok.headers["vary"]
    refused = await api.post(f"{PAGE}/callbacks", json={"option": "sales"}, headers={"Origin": SITE})
    assert _error(refused, 422) == "missing_number"
    assert refused.headers["access-control-allow-origin"] == SITE   # the embedding site can read why


async def test_given_another_origin_then_no_cors_headers_and_posts_refused(api):
    other = {"Origin": "https://evil.example.net"}
    read = await api.get(f"{PAGE}/config.json", headers=other)
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers
    assert _error(await api.post(f"{PAGE}/callbacks", json={"option": "sales", "number": "1", "answers": {"acct": "1"}},
                                 headers=other), 403) == "origin_not_allowed"
    assert _error(await api.options(f"{PAGE}/callbacks", headers=other), 403) == "origin_not_allowed"


async def test_given_a_preflight_from_an_allowed_origin_then_post_and_json_allowed(api):
    response = await api.options(f"{PAGE}/callbacks", headers={
        "Origin": SITE, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == SITE
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "Content-Type"


async def test_given_the_page_itself_posting_then_its_own_origin_is_fine(api):
    response = await api.post(
        f"{PAGE}/callbacks", json={"option": "sales", "number": "5551009", "answers": {"acct": "1"}},
        headers={"Origin": "http://app"})
    assert response.status_code == 201, response.text


async def test_given_the_assets_then_served_with_their_types_and_nothing_else(api):
    script = await api.get("/page-assets/page.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert (await api.get("/page-assets/page.css")).headers["content-type"].startswith("text/css")
    assert _error(await api.get("/page-assets/page.html"), 404) == "not_found"
    assert (await api.get("/page-assets/..%2Fpage.py")).status_code == 404


# --------------------------------------------------------------------------------- config
async def test_given_the_config_then_options_with_status_and_no_internals(api):
    config = (await api.get(f"{PAGE}/config.json")).json()
    assert [(o["sid"], o["status"], o["selectable"]) for o in config["options"]] == [
        ("sales", "active", True), ("later", "closed", False), ("held", "paused", False)]
    assert config["options"][0]["open_now"] is True and config["options"][0]["next_open"] is None
    assert config["questions"] == [{"sid": "acct", "text": "Account?", "type": "number", "required": True,
                                    "choices": []}]
    assert (config["sms"], config["scheduling"], config["timezone"]) == (True, True, "America/Toronto")
    text = str(config)
    assert "sales-q" not in text and "capacity" not in text and "client" not in text


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("body, status, error_id", [
    ({"number": "call me"}, 422, "invalid_number"),
    ({"number": "5551001", "extra": 1}, 422, "unknown_field"),
    ({"option": "later"}, 409, "option_closed"),
    ({"option": "held"}, 409, "option_paused"),
    ({"option": "nope"}, 404, "option_not_found"),
    ({"answers": {}}, 422, "answer_required"),
    ({"answers": {"acct": "forty-two"}}, 422, "invalid_answer"),
    ({"answers": {"acct": "1", "who": "x"}}, 422, "unknown_question"),
    ({"timezone": "Mars/Olympus"}, 422, "invalid_timezone"),
    ({"start_at": "2026-12-07T16:00:00"}, 422, "invalid_start_at"),
    ({"start_at": "2026-12-07T03:00:00Z"}, 422, "slot_in_past"),
    ({"sms": "yes please"}, 422, "invalid_sms"),
])
async def test_given_bad_input_then_4xx_with_a_stable_error_id(api, body, status, error_id):
    payload = {"option": "sales", "number": "5551001", "answers": {"acct": "42"}, **body}
    assert _error(await api.post(f"{PAGE}/callbacks", json=payload), status) == error_id


async def test_given_malformed_json_then_400(api):
    response = await api.post(f"{PAGE}/callbacks", content=b"{", headers={"Content-Type": "application/json"})
    assert _error(response, 400) == "malformed_json"


# -------------------------------------------------------------------- requests and status
async def test_given_a_request_then_201_with_position_and_a_status_only_the_id_opens(api):
    first, second = await _ask(api, "5551001"), await _ask(api, "5551002", sms=True, timezone="Europe/Paris")
    assert first.status_code == 201, first.text
    shown = second.json()
    assert (shown["phase"], shown["position"], shown["option_name"]) == ("waiting", 2, "Sales")
    assert shown["estimated_wait"] > 0 and shown["can_cancel"] is True
    status = await api.get(shown["status_url"])
    assert status.status_code == 200 and status.json()["id"] == shown["id"]
    assert status.headers["cache-control"] == "no-store"
    assert _error(await api.get(shown["status_url"].replace("/P1/", "/P2/")), 404) == "callback_not_found"


async def test_given_a_number_already_waiting_then_409_without_the_other_callbacks_id(api):
    first = (await _ask(api, "5551001")).json()
    again = await _ask(api, "5551001")
    assert _error(again, 409) == "callback_pending" and first["id"] not in again.text


@pytest.mark.parametrize("callback_id", ["not-a-uuid", str(uuid.uuid4()), "x" * 300])
async def test_given_an_unknown_id_then_404(api, callback_id):
    assert _error(await api.get(f"{PAGE}/callbacks/{callback_id}"), 404) == "callback_not_found"


async def test_given_a_callback_made_through_the_operator_api_then_the_page_does_not_show_it(api):
    made = await api.post("/v1/customer-callbacks", json={"option": "sales", "number": "5551003",
                                                          "answers": {"acct": "1"}}, headers={"X-API-Key": "k"})
    assert made.status_code == 201, made.text
    assert _error(await api.get(f"{PAGE}/callbacks/{made.json()['id']}"), 404) == "callback_not_found"


async def test_given_a_waiting_callback_when_cancelled_then_cancelled_once(api):
    shown = (await _ask(api)).json()
    cancelled = await api.post(shown["cancel_url"])
    assert cancelled.status_code == 202, cancelled.text
    assert (cancelled.json()["phase"], cancelled.json()["can_cancel"]) == ("cancelled", False)
    assert _error(await api.post(shown["cancel_url"]), 409) == "callback_finished"
    assert (await _ask(api)).status_code == 201   # the number may ask again


async def test_given_scheduling_then_slots_and_a_slot_booked(api):
    slots = (await api.get(f"{PAGE}/options/sales/slots")).json()
    assert slots and all(s["start"].endswith("Z") for s in slots)
    chosen = next(s for s in slots if s["available"])
    booked = await _ask(api, start_at=chosen["start"], timezone="Europe/Paris")
    assert booked.status_code == 201, booked.text
    assert (booked.json()["phase"], booked.json()["start_at"]) == ("scheduled", chosen["start"])


async def test_given_no_scheduling_then_slots_refused(api):
    changed = await api.put("/v1/profiles/P2", json=_profile("2", scheduling=False, web={"enabled": True}),
                            headers={"X-API-Key": "k"})
    assert changed.status_code == 200, changed.text
    assert _error(await api.get("/page/P2/options/sales2/slots"), 422) == "scheduling_not_enabled"
