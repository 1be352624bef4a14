"""The customer page in a real headless Chromium (Debian's, driven by Playwright: no browser of
Playwright's own) against the app served on a real port and the real Asterisk with its
Queue(support). The customer's test phone is the proof: a ``6NNS`` phone answers and reports a
TestPhone UserEvent carrying the callback id; a ``2NNN`` phone rings until cancelled.

Screenshots of the main states are taken in a phone-sized viewport, into a temporary folder;
``ARI_CB_SCREENSHOTS=docs`` writes them to docs/ instead, for docs/customer-page.md (so a
plain test run leaves the work tree clean).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import Page, async_playwright, expect

from .helpers import finished, view

CHROMIUM = os.environ.get("ARI_CB_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 780}
ONCE = {"max_attempts": 1}
PROFILE = {
    "name": "Example Support", "timezone": "UTC", "sms": True, "scheduling": True,
    "web": {"enabled": True, "allowed_origins": ["https://www.example.com"]},
    "options": {
        "web-line": {"name": "Technical support", "queue": "support", "capacity": 1, "retry": ONCE},
        "web-ring": {"name": "Billing", "queue": "support", "capacity": 2, "position": 1, "retry": ONCE,
                     "slots": {"slot_minutes": 30, "min_notice_minutes": 0}},
        "web-paused": {"name": "Sales", "queue": "support", "status": "paused", "position": 2},
        "web-closed": {"name": "Returns", "queue": "support", "status": "closed", "position": 3},
    },
    "questions": {"web-acct": {"text": "Your account number", "type": "number", "required": True,
                               "variable": "ACCOUNT"},
                  "web-topic": {"text": "Is it about an order?", "type": "yes_no", "position": 1}},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def _serving(asgi_app) -> AsyncIterator[int]:
    """An ASGI app on a real port of 127.0.0.1, in this process and loop."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(asgi_app, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served(app) -> AsyncIterator[str]:
    """The e2e app (its runtime is the fixtures') on a real port."""
    async with _serving(app) as port:
        yield f"http://127.0.0.1:{port}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def chromium():
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(chromium, served, api, shots) -> AsyncIterator[Page]:
    """A customer's phone-sized browser in Paris, on the published profile's page."""
    response = await api.put("/v1/profiles/WEB", json=PROFILE)
    assert response.status_code == 200, response.text
    context = await chromium.new_context(viewport=PHONE, locale="en-GB", timezone_id="Europe/Paris")
    tab = await context.new_page()
    tab.set_default_timeout(15_000)
    tab.shots = shots   # type: ignore[attr-defined]  (where _shot writes)
    await tab.goto(f"{served}/page/WEB")
    await expect(tab.locator("#request-form")).to_be_visible()
    yield tab
    await context.close()
    await api.delete("/v1/profiles/WEB")


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    chosen = os.environ.get("ARI_CB_SCREENSHOTS")
    return (REPO / chosen) if chosen else tmp_path_factory.mktemp("screenshots")


async def _fill(page: Page, option: str, number: str, account: str = "4711") -> None:
    await page.check(f"#option-{option}")
    await page.fill("#number", number)
    await page.fill("#q-web-acct", account)


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(page.shots / f"customer-page-{name}.png"), full_page=True)


async def _page_callback_id(page: Page) -> str:
    return await page.evaluate("sessionStorage.getItem('ari-callback:' + location.pathname)")


async def test_given_callbacks_ahead_when_asked_from_the_page_then_the_position_moves_and_the_phone_answers(
        page, api, observer):
    # The form shows every option; paused and closed ones say so and cannot be chosen.
    await expect(page.locator("#option-web-paused")).to_be_disabled()
    await expect(page.locator("#option-web-closed")).to_be_disabled()
    await expect(page.locator("label[for=option-web-paused]")).to_contain_text("Paused")
    await expect(page.locator("#sms-field")).to_be_visible()
    ahead = []
    for number in ("6006", "6004"):   # one dialled at once (capacity 1), one waiting: two ahead
        made = await api.post("/v1/customer-callbacks", json={"option": "web-line", "number": number,
                                                              "answers": {"web-acct": "1"}})
        assert made.status_code == 201, made.text
        ahead.append(made.json()["id"])
    await _fill(page, "web-line", "60 05", "4711")
    await page.check("#sms")
    await _shot(page, "form")
    mark = observer.mark()
    await page.click("#submit")

    waiting = page.locator("#waiting")
    await expect(waiting).to_have_attribute("data-phase", "waiting")
    await expect(page.locator("#position")).to_have_text("2")
    await expect(page.locator("#waiting-title")).to_be_focused()
    await _shot(page, "waiting")
    await expect(page.locator("#position")).to_have_text("1", timeout=20_000)   # the line moved
    await expect(waiting).to_have_attribute("data-phase", "connected", timeout=30_000)
    await _shot(page, "connected")
    await expect(waiting).to_have_attribute("data-phase", "completed", timeout=20_000)
    await expect(page.locator("#live")).to_have_text("Your callback is done. Thank you!")
    await _shot(page, "done")

    records = [await finished(api, cid) for cid in ahead]
    assert [r["status"] for r in records] == ["completed", "completed"]
    mine = await _mine(api, observer, mark)
    assert (mine["status"], mine["status_detail"]) == ("completed", "answered"), mine


async def _mine(api, observer, mark: int) -> dict:
    """The page's callback, found from the customer phone's own report: 6005 answered it."""
    reports = [r for r in observer.phone_reports(mark, "answered") if r.get("phone") == "6005"]
    assert reports, "the customer's phone 6005 never answered"
    record = await finished(api, reports[0]["callback_id"])
    assert record["request"]["source"] == "web" and record["request"]["number"] == "6005", record["request"]
    assert record["request"]["sms"] is True and record["request"]["timezone"] == "Europe/Paris"
    return record


async def test_given_a_ringing_callback_when_cancelled_from_the_page_then_the_phone_stops(page, api, observer):
    mark = observer.mark()
    await _fill(page, "web-ring", "2005")
    await page.click("#submit")
    waiting = page.locator("#waiting")
    await expect(waiting).to_have_attribute("data-phase", "calling")
    await expect(page.locator("#live")).to_have_text("We are calling you now on 2005.")
    callback_id = await _page_callback_id(page)
    ringing = await view(api, callback_id)
    assert ringing["state"] == "calling_src" and ringing["legs"][0]["number"] == "2005"
    await page.click("#cancel")
    await expect(waiting).to_have_attribute("data-phase", "cancelled")
    await expect(page.locator("#again")).to_be_visible()
    await _shot(page, "cancelled")
    record = await finished(api, callback_id, timeout=10)
    assert record["status"] == "cancelled"
    customer = f"cb-{record['attempts'][0]['id']}-src0"   # the customer's leg: rang, then hung up
    assert [e.channel.id for e in observer.since(mark, "ChannelCreated")].count(customer) == 1
    await observer.wait_for(lambda e: e.type == "ChannelDestroyed" and e.channel.id == customer, since=mark)


async def test_given_a_slot_picked_in_the_customers_zone_then_scheduled_and_cancellable(page, api):
    await _fill(page, "web-ring", "1005")
    await page.check("#when-slot")
    slot = page.locator("#slot")
    await expect(slot.locator("option:not([disabled])").nth(1)).to_be_attached()
    chosen = slot.locator("option:not([disabled])").nth(2)
    start, label = await chosen.get_attribute("value"), await chosen.text_content()
    await expect(page.locator("#slot-zone")).to_contain_text("Europe/Paris")
    await slot.select_option(start)
    await page.click("#submit")
    await expect(page.locator("#waiting")).to_have_attribute("data-phase", "scheduled")
    await expect(page.locator("#start")).to_have_text(label.split("–")[0])   # the slot's start, Paris time
    callback_id = await _page_callback_id(page)
    stored = await view(api, callback_id)
    assert stored["status"] == "scheduled"
    await page.click("#cancel")
    await expect(page.locator("#waiting")).to_have_attribute("data-phase", "cancelled")
    assert (await finished(api, callback_id, timeout=10))["status"] == "cancelled"


async def test_given_bad_input_then_errors_are_read_out_and_focus_goes_to_the_field(page, api):
    await page.check("#option-web-line")
    await page.fill("#q-web-acct", "42")
    await page.focus("#number")
    await page.keyboard.type("call me")
    await page.keyboard.press("Enter")   # the keyboard alone submits the form
    alert = page.locator("#alert")
    await expect(alert).to_have_attribute("role", "alert")
    await expect(alert).to_contain_text("Please enter a phone number")
    await expect(page.locator("#number")).to_be_focused()
    await expect(page.locator("#number")).to_have_attribute("aria-invalid", "true")
    # The server's own refusal, shown the same way: this number already waits on the option.
    waiting = await api.post("/v1/customer-callbacks", json={"option": "web-line", "number": "2007",
                                                             "answers": {"web-acct": "1"}})
    assert waiting.status_code == 201, waiting.text
    await page.fill("#number", "2007")
    await page.click("#submit")
    await expect(alert).to_contain_text("already waiting for this option")
    await expect(page.locator("#number-error")).to_be_visible()
    await _shot(page, "error")
    await api.post(f"/v1/callbacks/{waiting.json()['id']}/cancel")
    await finished(api, waiting.json()["id"], timeout=20)


SNIPPET = """<!doctype html><title>Example Inc.</title><h1>Contact us</h1>
<iframe src="{page}" title="Request a callback" loading="lazy"
        style="width: 100%; max-width: 420px; height: 720px; border: 0"></iframe>"""


def _site_app(page_url: str):
    """A customer's web site: one page carrying the documented snippet."""
    async def site(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        await send({"type": "http.response.body", "body": SNIPPET.format(page=page_url).encode()})
    return site


async def _framed_form_count(chromium, site: str) -> int:
    context = await chromium.new_context(viewport=PHONE, locale="en-GB")
    try:
        tab = await context.new_page()
        await tab.goto(site)
        framed = tab.frame_locator("iframe")
        try:
            await expect(framed.locator("#request-form")).to_be_visible(timeout=5_000)
        except AssertionError:
            pass   # refused: counted below
        return await framed.locator("#option-web-line:enabled").count()
    finally:
        await context.close()


async def test_given_the_embedding_snippet_then_it_works_on_an_allowed_site_and_is_refused_elsewhere(
        chromium, served, api, page):
    # Both sites are local: Chromium lets no public site frame a page on 127.0.0.1 at all.
    async with _serving(_site_app(f"{served}/page/WEB")) as port:
        allowed, other = f"http://localhost:{port}", f"http://127.0.0.1:{port}"   # two origins, one server
        web = {"enabled": True, "allowed_origins": [allowed]}
        assert (await api.put("/v1/profiles/WEB", json={**PROFILE, "web": web})).status_code == 200
        await asyncio.sleep(2.1)   # the page catalogue is re-read every 2 s
        assert await _framed_form_count(chromium, f"{allowed}/") == 1
        assert await _framed_form_count(chromium, f"{other}/") == 0   # frame-ancestors refused it


async def test_given_the_demo_profile_then_its_page_calls_6004_as_the_readme_says(chromium, served, api, observer):
    """README's "From the web": make run's demo profile is published; 6004 answers, talks 4 s."""
    context = await chromium.new_context(viewport=PHONE, locale="en-GB")
    try:
        tab = await context.new_page()
        await tab.goto(f"{served}/page/CP00000000000000000000000000000001")
        await expect(tab.locator("h1")).to_have_text("Demo contact centre")
        await tab.fill("#number", "6004")
        await tab.fill("#q-CQ00000000000000000000000000000001", "4711")
        mark = observer.mark()
        await tab.click("#submit")
        waiting = tab.locator("#waiting")
        await expect(waiting).to_have_attribute("data-phase", "connected", timeout=20_000)
        await expect(waiting).to_have_attribute("data-phase", "completed", timeout=20_000)
    finally:
        await context.close()
    answered = [r for r in observer.phone_reports(mark, "answered") if r.get("phone") == "6004"]
    assert answered and (await finished(api, answered[0]["callback_id"]))["status"] == "completed"
