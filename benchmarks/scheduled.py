"""Scheduled customer callbacks: 10,000 waiting, then dialled at their due times by one or two instances.

One or two ``ari-callback serve`` processes (own Stasis apps, own instance ids) share one database
(SQLite in a temporary directory, or a throwaway PostgreSQL) in front of the bundled Asterisk (its
own container and ports). A call-back profile with ``--options`` customer-first call options
(capacity ``--capacity``, open 24h, one attempt each) is in both instances' config; N customer
callbacks with status ``scheduled`` are stored through the store, built from the same pieces as
``CustomerService.request`` (the request checked against its option, ``customer_plan``, the
option's ``callback_policy``). Customer numbers are the busy test phones 3000-3999 (``Hangup(17)``),
so each call ends at once; a number is used once per option (one pending callback per number and
option), so callback i goes to option i mod ``--options``, number 3000 + i // ``--options``.

Due times: ``--window`` seconds (default 60) spread evenly, starting ``--lead`` seconds (default
20) after every instance is connected to Asterisk; with ``--window 0``, a burst (all due at one
instant). The callbacks are stored first with their due times a year ahead and moved to the
real ones in one statement once the instances run, so the lead does not depend on how long
storing 10,000 takes.

Reported, from the database afterwards: lateness (attempt claimed, its ``created_at``, minus
due time) p50/p99/max, claims per second over the claims' span, how the work split between
the instances, and that each callback was claimed exactly once and none was lost.

    .venv/bin/python benchmarks/scheduled.py [--callbacks 10000] [--instances 1|2] [--window 60] [--postgresql]
                                             [--probe out] [--json figures.jsonl]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml
from sqlalchemy import func, select, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_callback.bundled import BundledAsterisk  # noqa: E402
from ari_callback.config import Settings  # noqa: E402
from ari_callback.customer_schema import callback_policy  # noqa: E402
from ari_callback.customers import CustomerService  # noqa: E402
from ari_callback.domain.customer import customer_plan  # noqa: E402
from ari_callback.domain.snapshot import plan_to_dict  # noqa: E402
from ari_callback.store import CallbackStore, NewCallback  # noqa: E402
from ari_callback.store.tables import WAITING, attempts, callbacks  # noqa: E402
from benchmarks.dispatch import ROOT, free_port, wait_connected  # noqa: E402

BIN = Path(sys.executable).with_name("ari-callback")
PROFILE = "P5BENCH"
# Stored a year ahead, moved to the real due times once the instances run. (A first version
# stored them at the epoch plus a year, 1971: due at once, so an instance that came up before
# the move claimed some early, which showed as a negative lateness.)
FAR_S = time.time() + 365 * 86400.0
CONTAINER, HTTP_PORT, SIP_PORT = "ari-callback-asterisk-bench-p5", 38288, 35260


def profile(options: int, capacity: int) -> dict:
    return {"client": "default", "name": "P5 bench", "timezone": "UTC", "scheduling": True,
            "options": {f"P5-{k:02d}": {"name": f"P5 option {k}", "queue": "support", "capacity": capacity,
                                        "hours": {"daily": "24h"}, "retry": {"max_attempts": 1}}
                        for k in range(options)}}


def config(asterisk: BundledAsterisk, workdir: Path, name: str, url: str, prof: dict,
           max_calls: int | None) -> tuple[Path, int]:
    data = yaml.safe_load((ROOT / "docker" / "demo.yaml").read_text())
    port = free_port()
    data["ari"].update(url=asterisk.url, app=f"cb-p5-{name}", max_connections=40)
    data["http"]["port"] = port
    data["database_url"] = url
    data["log_level"] = "WARNING"
    data["instance"] = {"id": name, "claim_batch": 100, **({"max_calls": max_calls} if max_calls else {})}
    data["clients"]["default"]["max_concurrent_calls"] = 1_000_000
    data["profiles"] = {PROFILE: prof}
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, port


async def store_scheduled(url: str, settings: Settings, count: int, window: float, due: int) -> float:
    """The callbacks, due at FAR_S + offset (the first ``due`` within the window, the others a
    day after it: they wait); how long storing them took."""
    store = await CallbackStore.open(url)
    service = CustomerService(settings, store)   # its pieces, not request(): no slot rules, no read-back
    began = time.monotonic()
    try:
        await service.seed_from_config()
        prof = (await service._profiles())[PROFILE]
        client = service._client("default")
        for i in range(count):
            option = prof.options[i % len(prof.options)]
            number = str(3000 + i // len(prof.options))
            checked = service._check(prof, option, number, {}, False, None)
            callback_id = str(uuid.uuid4())
            plan = customer_plan(callback_id, checked, prof, client, service.dialing, service.contexts)
            due_at = FAR_S + ((window * i / due if window else 0.0) if i < due else 86400.0 + i)
            await store.create(NewCallback(
                id=callback_id, client_id="default", api="native", plan=plan_to_dict(plan), created_at=time.time(),
                due_at=due_at, status="scheduled", asterisk=settings.clients["default"].asterisk,
                option_sid=option.sid, number=number, place_at=due_at, source="api",
                policy=callback_policy(option, checked.timezone),
                request={"profile": PROFILE, "option": option.sid, "number": number, "answers": checked.answers,
                         "sms": False, "timezone": checked.timezone, "start_at": due_at, "source": "api"}))
    finally:
        await store.close()
    return time.monotonic() - began


async def schedule(url: str, start: float) -> None:
    """Move every stored callback to its real due time: start + its offset."""
    store = await CallbackStore.open(url)
    try:
        async with store.engine.begin() as conn:
            shift = start - FAR_S
            await conn.execute(update(callbacks).values(due_at=callbacks.c.due_at + shift,
                                                        place_at=callbacks.c.place_at + shift))
    finally:
        await store.close()


async def results(url: str, timeout: float, until: float) -> tuple[list[tuple], dict[str, int]]:
    """Once every callback due by ``until`` is over: the attempts, and the callbacks by status."""
    store = await CallbackStore.open(url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with store.engine.connect() as conn:
                left = (await conn.execute(select(func.count()).select_from(callbacks).where(
                    callbacks.c.status.in_((*WAITING, "dialling")), callbacks.c.due_at <= until))).scalar_one()
            if left == 0:
                break
            await asyncio.sleep(1.0)
        async with store.engine.connect() as conn:
            query = select(callbacks.c.id, callbacks.c.due_at, attempts.c.created_at, attempts.c.instance,
                           attempts.c.status_detail).join(attempts, attempts.c.callback_id == callbacks.c.id)
            rows = [tuple(row) for row in (await conn.execute(query)).all()]
            statuses = dict((await conn.execute(select(callbacks.c.status, func.count())
                                                .group_by(callbacks.c.status))).all())
        return rows, statuses
    finally:
        await store.close()


def report(label: str, count: int, rows: list[tuple], statuses: dict[str, int]) -> dict:
    lateness = sorted(1000 * (claimed - due) for _, due, claimed, _, _ in rows)
    claimed = sorted(row[2] for row in rows)
    per_instance: dict[str, int] = {}
    details: dict[str, int] = {}
    for row in rows:
        per_instance[row[3]] = per_instance.get(row[3], 0) + 1
        details[row[4]] = details.get(row[4], 0) + 1
    distinct = len({row[0] for row in rows})
    span = claimed[-1] - claimed[0] if claimed else 0.0
    figures = {"label": label, "callbacks": count, "attempts": len(rows), "claimed_callbacks": distinct,
               "statuses": statuses, "details": details, "split": per_instance,
               "lateness_ms": {"p50": statistics.median(lateness), "p99": lateness[int(0.99 * (len(lateness) - 1))],
                               "max": lateness[-1], "min": lateness[0]} if lateness else {},
               "claims_per_s": len(rows) / span if span else None, "span_s": span}
    dues = sorted(row[1] for row in rows)
    if dues:
        figures["due_span_s"] = dues[-1] - dues[0]
    lat = figures["lateness_ms"]
    print(f"{label}: {distinct} of {count} callbacks claimed, {len(rows)} attempts "
          f"({'each once' if distinct == len(rows) == count else 'NOT each once'}); statuses {statuses}; "
          f"split {per_instance}; lateness p50 {lat.get('p50', 0):.0f} ms, p99 {lat.get('p99', 0):.0f} ms, "
          f"max {lat.get('max', 0):.0f} ms, min {lat.get('min', 0):.0f} ms; "
          f"{figures['claims_per_s'] or 0:.0f} claims/s over {span:.1f} s "
          f"(due over {figures.get('due_span_s', 0):.1f} s)",
          flush=True)
    return figures


async def run(args: argparse.Namespace, url: str, backend: str) -> dict:
    asterisk = BundledAsterisk(name=CONTAINER, http_port=HTTP_PORT, sip_port=SIP_PORT)
    asterisk.up(timeout=120)
    procs: list[subprocess.Popen] = []
    prof = profile(args.options, args.capacity)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            names = [f"p5-{chr(ord('a') + k)}" for k in range(args.instances)]
            configs = [config(asterisk, workdir, name, url, prof, args.max_calls) for name in names]
            settings = Settings(**yaml.safe_load(configs[0][0].read_text()))
            due = args.due or args.callbacks
            took = await store_scheduled(url, settings, args.callbacks, args.window, due)
            print(f"stored {args.callbacks} scheduled callbacks in {took:.1f} s", flush=True)
            for (path, port), name in zip(configs, names, strict=False):
                command = [str(BIN), "--config", str(path), "serve"]
                env = None
                if args.probe:   # the dispatcher's loop timed (benchmarks/dispatch_probe.py)
                    command = [sys.executable, str(ROOT / "benchmarks" / "dispatch_probe.py"), *command[1:]]
                    env = {**os.environ, "P5_PROBE_OUT": str(args.probe.with_suffix(f".{name}.json"))}
                procs.append(subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env))
                await wait_connected(port, procs[-1])
            start = time.time() + args.lead
            await schedule(url, start)
            kind = f"{due} due over {args.window:g} s" if args.window else f"{due} due at once"
            label = f"{backend}, {args.instances} instance(s), {args.callbacks} waiting, {kind}"
            rows, statuses = await results(url, timeout=args.lead + args.window + 900, until=start + args.window)
            figures = report(label, due, rows, statuses)
            figures.update(stored_s=took, backend=backend, instances=args.instances, window_s=args.window)
            return figures
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        asterisk.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callbacks", type=int, default=10_000)
    parser.add_argument("--instances", type=int, default=1, choices=(1, 2))
    parser.add_argument("--options", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=500)
    parser.add_argument("--window", type=float, default=60.0, help="due times spread over it; 0: a burst")
    parser.add_argument("--due", type=int, default=None, help=(
        "how many come due in the window (default: all); the others wait, due a day later"))
    parser.add_argument("--lead", type=float, default=20.0, help="the first due time, after the instances run")
    parser.add_argument("--max-calls", type=int, default=None, help="instance.max_calls (default: the app's)")
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--probe", type=Path,
                        help="time the dispatcher's loop; its figures go to PROBE.<instance>.json")
    parser.add_argument("--json", type=Path, help="append the figures as a JSON line")
    args = parser.parse_args()
    assert args.callbacks <= 1000 * args.options, "numbers 3000-3999: at most 1,000 callbacks per option"
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if args.postgresql:
            from tests.pg_server import running_postgres
            url, backend = stack.enter_context(running_postgres()).url, "postgresql"
        else:
            url, backend = f"sqlite+aiosqlite:///{tmp}/bench.db", "sqlite"
        figures = asyncio.run(run(args, url, backend))
    if args.json:
        with args.json.open("a") as out:
            out.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
