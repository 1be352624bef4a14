"""``GET /metrics``: Prometheus' text format, built at scrape time from what the parts count.

Nothing is registered globally: each scrape reads the engine's, the dispatcher's and the ARI
client's counters (ari_callback/stats.py) and two indexed counts from the store, and renders
them with prometheus_client. No label carries a client id: the numbers are the instance's (and,
for the store's counts, the cluster's), and tenants' names stay out of the monitoring system.
The list with meanings is in docs/operations.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from ..stats import Histogram
from ..store import gauges
from .auth import client_id
from .errors import responses

log = logging.getLogger("ari_callback.api")
STORE_WAIT_S = 2.0   # a stalled database makes the scrape say so, not hang
PREFIX = "aricb_"


def router(public: bool) -> APIRouter:
    """The route, with the API key required unless ``http.metrics_public``."""
    routes = APIRouter(tags=["operations"])
    needs_key = [] if public else [Depends(client_id)]

    @routes.get("/metrics", response_class=Response, dependencies=needs_key,
                responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
                           **responses(401)})
    async def metrics(request: Request) -> Response:
        """Prometheus metrics of this instance (docs/operations.md). Needs an API key unless
        `http.metrics_public` is set."""
        service = request.app.state.service
        families = [*_process(service), *_store_writes(service.store), *await _store(service.store)]
        return Response(generate_latest(_Families(families)), media_type=CONTENT_TYPE_LATEST)

    return routes


class _Families:
    """What generate_latest wants: something whose collect() yields the metric families."""

    def __init__(self, families: list[Metric]):
        self._families = families

    def collect(self) -> Iterable[Metric]:
        yield from self._families
        yield from ProcessCollector(registry=None).collect()


def _histogram(name: str, doc: str, labels: list[str]) -> HistogramMetricFamily:
    return HistogramMetricFamily(PREFIX + name, doc, labels=labels)


def _add(family: HistogramMetricFamily, values: list[str], histogram: Histogram) -> None:
    buckets = [("+Inf" if bound == float("inf") else repr(bound), count) for bound, count in histogram.cumulative()]
    family.add_metric(values, buckets, histogram.total)


def _process(service: Any) -> list[Metric]:
    engine, dispatcher = service.engine, service.dispatcher
    found: list[Metric] = [
        GaugeMetricFamily(PREFIX + "active_calls", "Calls (attempts) running on this instance", engine.active_calls),
        GaugeMetricFamily(PREFIX + "asterisk_connected", "1 when the ARI websocket is up and reconciled",
                          1 if engine.ready() else 0)]
    finished = CounterMetricFamily(PREFIX + "attempts_finished", "Attempts this instance finished, by final "
                                   "state and status_detail", labels=["status", "detail"])
    for (status, detail), count in sorted(getattr(engine, "finished", {}).items()):
        finished.add_metric([status, detail], count)
    found.append(finished)
    found.extend(_ari(getattr(engine, "ari", None)))
    found.extend(_steps(getattr(engine, "step_times", None)))
    found.extend(_dispatch(getattr(dispatcher, "stats", None)))
    found.extend(_webhooks(getattr(getattr(service, "webhooks", None), "deliverer", None)))
    return found


def _ari(ari: Any) -> list[Metric]:
    stats = getattr(ari, "stats", None)
    if stats is None:
        return []
    requests = _histogram("ari_request_seconds", "ARI REST requests by method and outcome (2xx, 4xx, 5xx, "
                          "error: no answer), with their latency", ["method", "outcome"])
    for (method, outcome), histogram in sorted(stats.latency.items()):
        _add(requests, [method, outcome], histogram)
    found: list[Metric] = [requests]
    stream = getattr(ari, "events", None)
    if stream is not None:
        found.append(CounterMetricFamily(PREFIX + "ari_websocket_connects", "ARI websocket connections made "
                                         "(each after the first is a reconnect)", stream.connects))
    return found


def _steps(step_times: Any) -> list[Metric]:
    if step_times is None:
        return []
    family = _histogram("event_handling_seconds", "Time per ARI event step: total, queued (waiting for the "
                        "call's task), machine_store (transition and store write), ari (its requests)", ["part"])
    for part, histogram in step_times.histograms.items():
        _add(family, [part], histogram)
    return [family]


def _dispatch(stats: Any) -> list[Metric]:
    if stats is None:
        return []
    claims = CounterMetricFamily(PREFIX + "dispatch_claims", "Callbacks this instance claimed to dial",
                                 labels=["kind"])
    for kind, count in sorted(stats.claimed.items()):
        claims.add_metric([kind], count)
    lateness = _histogram("dispatch_lateness_seconds", "How long after its due time a click-to-call was "
                          "claimed", [])
    _add(lateness, [], stats.lateness)
    return [claims, lateness]


def _webhooks(deliverer: Any) -> list[Metric]:
    stats = getattr(deliverer, "stats", None)
    if stats is None:
        return []
    tries = CounterMetricFamily(PREFIX + "webhook_tries", "Webhook delivery tries of this instance: delivered "
                                "(2xx), failed (another answer, or none: it is retried)", labels=["outcome"])
    for outcome, count in sorted(stats.tries.items()):
        tries.add_metric([outcome], count)
    latency = _histogram("webhook_seconds", "How long each webhook POST took", [])
    _add(latency, [], stats.latency)
    return [tries, latency]


def _store_writes(store: Any) -> list[Metric]:
    failed = getattr(store, "failed_step_writes", None)
    if failed is None:
        return []
    return [CounterMetricFamily(PREFIX + "store_step_write_failures", "Call steps this instance could not save "
                                "(the database failed the transaction; the call goes on, the next save carries "
                                "them)", failed)]


async def _store(store: Any) -> list[Metric]:
    """Cluster-wide counts from the store, or ``aricb_store_up 0`` when it does not answer in time."""
    up = GaugeMetricFamily(PREFIX + "store_up", "1 when the store answered this scrape's counts in time", 1)
    now = time.time()
    try:
        counts, due = await asyncio.wait_for(asyncio.gather(
            gauges.unfinished_by_status(store.engine), gauges.oldest_due(store.engine, now)), STORE_WAIT_S)
    except Exception as exc:   # the database away or stalled: the rest of the scrape still counts
        log.warning("/metrics: the store's counts are missing: %s", exc)
        return [GaugeMetricFamily(PREFIX + "store_up", up.documentation, 0)]
    callbacks = GaugeMetricFamily(PREFIX + "callbacks", "Unfinished callbacks in the store (all instances), "
                                  "by status: the queue depth", labels=["status"])
    for status, count in counts.items():
        callbacks.add_metric([status], count)
    overdue = GaugeMetricFamily(PREFIX + "dispatch_oldest_overdue_seconds", "How long the most overdue "
                                "unclaimed click-to-call has been due (0: none)", max(0.0, now - due) if due else 0.0)
    return [up, callbacks, overdue]
