"""Dispatch lateness and claims per second: N due callbacks claimed by two instances.

Two ``ari-callback serve`` processes (own Stasis apps, own instance ids) share one database
(SQLite in a temporary directory, or a throwaway PostgreSQL) in front of the bundled Asterisk
(its own container and ports). N callbacks are stored through the store, all due at the same
moment a few seconds ahead; origin 3001 is busy, so each call ends at once. Reported, from the
database afterwards: lateness (attempt claimed minus due time) p50/p99/max, claims per second
over the burst, how the work split between the instances, and that each callback was claimed
exactly once.

    .venv/bin/python benchmarks/dispatch.py [--callbacks 10000] [--postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import yaml
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_callback.bundled import BundledAsterisk  # noqa: E402
from ari_callback.config import Settings  # noqa: E402
from ari_callback.domain.plan import make_plan  # noqa: E402
from ari_callback.domain.request import CallbackRequest  # noqa: E402
from ari_callback.domain.snapshot import plan_to_dict  # noqa: E402
from ari_callback.store import CallbackStore, NewCallback  # noqa: E402
from ari_callback.store.tables import attempts, callbacks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).with_name("ari-callback")
LEAD_S = 8.0   # every callback is stored before this many seconds have passed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(asterisk: BundledAsterisk, workdir: Path, name: str, url: str) -> tuple[Path, int]:
    data = yaml.safe_load((ROOT / "docker" / "demo.yaml").read_text())
    port = free_port()
    data["ari"].update(url=asterisk.url, app=f"cb-bench-{name}", max_connections=40)
    data["http"]["port"] = port
    data["database_url"] = url
    data["log_level"] = "WARNING"
    data["instance"] = {"id": name, "claim_batch": 100}
    data["clients"]["default"]["max_concurrent_calls"] = 1_000_000
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, port


async def wait_connected(port: int, proc: subprocess.Popen) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for _ in range(300):
            assert proc.poll() is None, "an instance died while starting"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/health")).json()["asterisk_connected"]:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("an instance did not connect to Asterisk")


async def store_due(url: str, settings: Settings, count: int, due_at: float) -> None:
    store = await CallbackStore.open(url)
    client = settings.client_policy("default")
    dialing = settings.dialing_policy()
    request = CallbackRequest(src=["3001"], dst="1001")
    try:
        for _ in range(count):
            callback_id = str(uuid.uuid4())
            plan = plan_to_dict(make_plan(callback_id, request, client, dialing))
            await store.create(NewCallback(id=callback_id, client_id="default", api="native",
                                           request=request.model_dump(mode="json"), plan=plan,
                                           created_at=time.time(), due_at=due_at))
    finally:
        await store.close()


async def results(url: str, count: int, timeout: float) -> list[tuple]:
    store = await CallbackStore.open(url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with store.engine.connect() as conn:
                left = (await conn.execute(select(func.count()).select_from(callbacks)
                                           .where(callbacks.c.status.in_(("queued", "dialling"))))).scalar_one()
            if left == 0:
                break
            await asyncio.sleep(1.0)
        async with store.engine.connect() as conn:
            query = select(callbacks.c.id, callbacks.c.due_at, attempts.c.created_at, attempts.c.instance,
                           callbacks.c.status).join(attempts, attempts.c.callback_id == callbacks.c.id)
            return [tuple(row) for row in (await conn.execute(query)).all()]
    finally:
        await store.close()


def report(backend: str, count: int, rows: list[tuple]) -> None:
    lateness = sorted(1000 * (claimed - due) for _, due, claimed, _, _ in rows)
    claimed = sorted(row[2] for row in rows)
    per_instance: dict[str, int] = {}
    for row in rows:
        per_instance[row[3]] = per_instance.get(row[3], 0) + 1
    attempts_per_callback = len(rows) / len({row[0] for row in rows})
    span = claimed[-1] - claimed[0]
    p99 = lateness[int(0.99 * (len(lateness) - 1))]
    print(f"{backend}: {len(rows)} of {count} claimed ({attempts_per_callback:.2f} attempts per callback), "
          f"split {per_instance}; lateness p50 {statistics.median(lateness):.0f} ms, p99 {p99:.0f} ms, "
          f"max {lateness[-1]:.0f} ms; {len(rows) / span:.0f} claims/s over {span:.1f} s")


async def run(count: int, url: str, backend: str) -> None:
    asterisk = BundledAsterisk(name="aricb-bench-dispatch", http_port=38188, sip_port=35160)
    asterisk.up(timeout=120)
    procs: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            configs = [config(asterisk, workdir, name, url) for name in ("bench-a", "bench-b")]
            settings = Settings(**yaml.safe_load(configs[0][0].read_text()))
            due_at = time.time() + LEAD_S + count / 2000
            await store_due(url, settings, count, due_at)
            for path, port in configs:
                procs.append(subprocess.Popen([str(BIN), "--config", str(path), "serve"], stdin=subprocess.DEVNULL))
                await wait_connected(port, procs[-1])
            report(backend, count, await results(url, count, timeout=900))
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        asterisk.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callbacks", type=int, default=10_000)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if args.postgresql:
            from tests.pg_server import running_postgres
            url, backend = stack.enter_context(running_postgres()).url, "postgresql"
        else:
            url, backend = f"sqlite+aiosqlite:///{tmp}/bench.db", "sqlite"
        asyncio.run(run(args.callbacks, url, backend))


if __name__ == "__main__":
    main()
