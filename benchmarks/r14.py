"""R14 (reliability.md; issue 12's goals): the app's event latency under 100 concurrent clients.

    .venv/bin/python benchmarks/r14.py [--callbacks 1000] [--clients 100] [--json figures.json]

An ``ari-callback serve`` process (SQLite, the demo configuration with limits the run never
reaches) on its own bundled Asterisk (``aricb-bench-r14``, HTTP 48288, SIP 45260). ``--clients``
HTTP clients share ``--callbacks`` callbacks (``POST /v1/callbacks``, origin 1001 answers at once,
destination 6001 answers and hangs up 1 s later) and each posts its next one as soon as the last
was accepted. An observer app with subscribeAll (benchmarks/observer.py, its own process)
records Asterisk's ``ChannelDestroyed`` timestamps; afterwards every callback is read back.

Reported: the POST latency and the accepted rate; the answers that were not 201 (a 5xx is a
failure); the callbacks left unfinished; and the event latency: from a leg's
``ChannelDestroyed`` on Asterisk's clock to that leg's ``ended_at`` in the store (the app's
clock, same machine), which is what R14 bounds (p99 under 200 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ari_callback.bundled import BundledAsterisk  # noqa: E402
from benchmarks.app_vs_bare import app_settings_data  # noqa: E402
from benchmarks.observer import ObserverProcess  # noqa: E402

KEY = "r14-key"
BIN = Path(sys.executable).with_name("ari-callback")


def cuts(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"n": len(values)}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50": round(q[49], 1), "p99": round(q[98], 1), "max": round(max(values), 1)}


def start_server(asterisk: BundledAsterisk, tmp: Path, port: int) -> subprocess.Popen:
    data = app_settings_data(asterisk.url, str(tmp / "data"), "aricb-r14")
    data["ari"]["password"] = asterisk.password
    data.pop("api_key", None)
    data["api_keys"] = [{"key": KEY, "client": "default"}]
    data["http"] = {"host": "127.0.0.1", "port": port}
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(data))
    log = (tmp / "serve.log").open("w")
    return subprocess.Popen([str(BIN), "--config", str(config), "serve"], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log)


async def ready(http: httpx.AsyncClient, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the server did not get ready")


async def post_all(http: httpx.AsyncClient, total: int, clients: int) -> tuple[list[str], list[float], Counter]:
    ids, took, answers = [], [], Counter()
    left = iter(range(total))

    async def client() -> None:
        for _ in left:
            started = time.perf_counter()
            try:
                reply = await http.post("/v1/callbacks", json={"src": ["1001"], "dst": "6001"})
                answers[reply.status_code] += 1
                if reply.status_code == 201:
                    ids.append(reply.json()["id"])
            except httpx.HTTPError as exc:
                answers[type(exc).__name__] += 1
            took.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(client() for _ in range(clients)))
    return ids, took, answers


async def read_back(http: httpx.AsyncClient, ids: list[str], timeout: float) -> list[dict]:
    deadline, records = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        for callback_id in [i for i in ids if i not in records]:
            record = (await http.get(f"/v1/callbacks/{callback_id}")).json()
            if record["finished"]:
                records[callback_id] = record
        if len(records) == len(ids):
            break
        await asyncio.sleep(1)
    return [records.get(i) or (await http.get(f"/v1/callbacks/{i}")).json() for i in ids]


def destroyed_at(path: Path) -> dict[str, float]:
    found = {}
    for line in path.read_text().splitlines():
        kind, at, channel, *_ = json.loads(line)
        if kind == "ChannelDestroyed" and channel:
            found[channel] = at
    return found


def event_latency(records: list[dict], destroyed: dict[str, float]) -> list[float]:
    found = []
    for record in records:
        for leg in record.get("legs", []):
            if leg.get("ended_at") and leg["id"] in destroyed:
                stored = datetime.fromisoformat(leg["ended_at"].replace("Z", "+00:00")).timestamp()
                found.append((stored - destroyed[leg["id"]]) * 1000)
    return found


async def run(args: argparse.Namespace, asterisk: BundledAsterisk, tmp: Path) -> dict:
    observer = ObserverProcess(asterisk.url, asterisk.username, asterisk.password, tmp / "events.jsonl")
    await observer.start()
    server = start_server(asterisk, tmp, args.port)
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}", headers={"X-API-Key": KEY},
                                     timeout=120, limits=limits) as http:
            await ready(http)
            started = time.monotonic()
            ids, took, answers = await post_all(http, args.callbacks, args.clients)
            posting = time.monotonic() - started
            records = await read_back(http, ids, timeout=300)
            await asyncio.sleep(1.0)   # the last ChannelDestroyed events reach the observer's file
    finally:
        server.terminate()
        server.wait(60)
        observer.stop()
    outcomes = Counter((r.get("status"), r.get("status_detail")) for r in records)
    return {"callbacks": args.callbacks, "clients": args.clients, "answers": dict(answers),
            "accepted_per_s": round(len(ids) / posting, 1), "post_ms": cuts(took),
            "unfinished": sum(1 for r in records if not r.get("finished")),
            "outcomes": {f"{s}/{d}": n for (s, d), n in outcomes.items()},
            "event_latency_ms": cuts(event_latency(records, destroyed_at(tmp / "events.jsonl")))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callbacks", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--port", type=int, default=48280)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    asterisk = BundledAsterisk(name="aricb-bench-r14", http_port=48288, sip_port=45260)
    asterisk.up(timeout=120)
    try:
        with tempfile.TemporaryDirectory(prefix="aricb-r14-") as folder:
            figures = asyncio.run(run(args, asterisk, Path(folder)))
    finally:
        asterisk.down()
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
