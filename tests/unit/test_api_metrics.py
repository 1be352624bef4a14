"""/metrics (Prometheus text, parsed with prometheus_client's own parser) and /healthz, in
process on a real SQLite store with a stand-in engine (tests/unit/fonolo_app.py)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ari_callback.engine.metrics import StepTimes
from ari_callback.stats import DispatchStats, RequestStats

from . import fonolo_app
from .fonolo_app import client
from .test_api_hardening import GOOD, KEY, hardened


@pytest.fixture
async def built(tmp_path):
    async with hardened(tmp_path / "data") as found:
        yield found


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample by (name, sorted labels); the parser raises on anything malformed."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def counting(built) -> None:
    """Give the stand-in engine and dispatcher the counters the real ones keep."""
    engine, dispatcher = built.service.engine, built.service.dispatcher
    engine.finished = {("completed", "answered"): 2, ("failed", "busy"): 1}
    engine.step_times = StepTimes()
    engine.step_times.record(0.0, 0.001, 0.003, 0.010)

    class Ari:
        stats = RequestStats()
    Ari.stats.record("POST", "2xx", 0.004)
    Ari.stats.record("DELETE", "4xx", 0.002)
    engine.ari = Ari()
    dispatcher.stats = DispatchStats()

    class Claim:
        due_at = 100.0
    dispatcher.stats.record("click_to_call", [Claim()], 100.3)


async def test_metrics_need_a_key_by_default(built):
    async with client(built.app) as anonymous:
        response = await anonymous.get("/metrics")
    assert (response.status_code, response.json()["error_id"]) == (401, "unauthorized")


async def test_metrics_are_prometheus_text_with_every_documented_family(built):
    counting(built)
    async with client(built.app, headers=KEY) as api:
        for _ in range(3):
            assert (await api.post("/v1/callbacks", json=GOOD)).status_code == 201
        response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    found = samples(response.text)
    assert found[("aricb_callbacks", (("status", "queued"),))] == 3
    assert found[("aricb_callbacks", (("status", "dialling"),))] == 0
    assert found[("aricb_store_up", ())] == 1
    assert found[("aricb_active_calls", ())] == 0 and found[("aricb_asterisk_connected", ())] == 1
    assert found[("aricb_attempts_finished_total", (("detail", "answered"), ("status", "completed")))] == 2
    assert found[("aricb_ari_request_seconds_count", (("method", "POST"), ("outcome", "2xx")))] == 1
    assert found[("aricb_ari_request_seconds_bucket", (("le", "0.005"), ("method", "POST"), ("outcome", "2xx")))] == 1
    assert found[("aricb_event_handling_seconds_count", (("part", "total"),))] == 1
    assert found[("aricb_event_handling_seconds_bucket", (("le", "0.01"), ("part", "total")))] == 1
    assert found[("aricb_dispatch_claims_total", (("kind", "click_to_call"),))] == 1
    assert found[("aricb_dispatch_lateness_seconds_bucket", (("le", "0.5"),))] == 1
    assert found[("aricb_dispatch_lateness_seconds_bucket", (("le", "0.25"),))] == 0
    assert ("aricb_dispatch_oldest_overdue_seconds", ()) in found
    assert ("process_resident_memory_bytes", ()) in found
    assert found[("aricb_store_step_write_failures_total", ())] == 0
    assert "acme" not in response.text   # no client ids in the monitoring system


async def test_metrics_public_needs_no_key(tmp_path, monkeypatch):
    made = fonolo_app.settings

    def public(data_dir):
        found = made(data_dir)
        found.http.metrics_public = True
        return found
    monkeypatch.setattr(fonolo_app, "settings", public)
    async with hardened(tmp_path / "data") as built, client(built.app) as anonymous:
        response = await anonymous.get("/metrics")
    assert response.status_code == 200 and "aricb_callbacks" in response.text


async def test_given_a_store_that_does_not_answer_then_store_up_is_0_and_the_rest_is_there(built):
    class Away:
        engine = None   # every query fails
    built.service.store = Away()
    async with client(built.app, headers=KEY) as api:
        response = await api.get("/metrics")
    found = samples(response.text)
    assert found[("aricb_store_up", ())] == 0 and ("aricb_active_calls", ()) in found


async def test_healthz_answers_without_a_key_and_without_asking_anything(built):
    built.service.store = None    # not even looked at
    built.service.engine = None
    async with client(built.app) as anonymous:
        response = await anonymous.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "alive"})


async def test_webhook_tries_are_counted_by_outcome(built):
    from types import SimpleNamespace

    from ari_callback.stats import WebhookStats
    stats = WebhookStats()
    stats.record(False, 0.2)
    stats.record(True, 0.01)
    built.service.webhooks = SimpleNamespace(deliverer=SimpleNamespace(stats=stats))
    async with client(built.app, headers=KEY) as api:
        found = samples((await api.get("/metrics")).text)
    assert found[("aricb_webhook_tries_total", (("outcome", "failed"),))] == 1
    assert found[("aricb_webhook_tries_total", (("outcome", "delivered"),))] == 1
    assert found[("aricb_webhook_seconds_count", ())] == 2
