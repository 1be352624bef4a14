"""Asterisk's own clock for benchmarks/app_vs_bare.py: an observer app with subscribeAll.

    python -m benchmarks.observer URL USER PASSWORD APP OUT

Runs in its own process (so its CPU is billed to no client): one ARI websocket with
``subscribeAll=true`` and an event filter for the five event types the measures need, every
event written to OUT as one JSON line ``[type, epoch, channel, peer, caller, dialstatus,
state]`` (Asterisk's timestamp, millisecond resolution). :class:`ObserverProcess` starts and
stops it from the benchmark; benchmarks/timeline.py reads the file.

It sees every channel, those of the AMI client too (not in any Stasis app), so the three
clients are timed by the same observer on the same clock. The observer does cost Asterisk
some CPU (one more websocket carrying ~20 events per call), the same for every client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

OBSERVED = ("ChannelCreated", "ChannelStateChange", "Dial", "ChannelHangupRequest", "ChannelDestroyed")


def epoch(stamp: str) -> float:
    """``2026-12-06T17:55:01.123+0000`` -> seconds since the epoch."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def record(message: dict) -> list | None:
    kind = message.get("type")
    if kind not in OBSERVED:
        return None
    channel, peer, caller = (message.get(k) or {} for k in ("channel", "peer", "caller"))
    return [kind, epoch(message["timestamp"]), channel.get("id"), peer.get("id"), caller.get("id"),
            message.get("dialstatus"), (channel or peer).get("state")]


async def observe(url: str, user: str, password: str, app: str, out: Path) -> None:
    import httpx
    from websockets.asyncio.client import connect

    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    ws_url = url.replace("http", "ws", 1) + f"/ari/events?app={quote(app)}&subscribeAll=true"
    async with connect(ws_url, additional_headers={"Authorization": f"Basic {token}"},
                       max_size=None, proxy=None) as ws:
        body = {"allowed": [{"type": t} for t in OBSERVED], "disallowed": []}
        async with httpx.AsyncClient(auth=(user, password)) as http:
            reply = await http.put(f"{url}/ari/applications/{quote(app)}/eventFilter", json=body)
            reply.raise_for_status()
        with out.open("w", buffering=1) as sink:
            print("ready", flush=True)
            async for frame in ws:
                row = record(json.loads(frame))
                if row is not None:
                    sink.write(json.dumps(row) + "\n")


class ObserverProcess:
    """The observer as a subprocess writing to ``path``."""

    def __init__(self, url: str, user: str, password: str, path: Path, app: str = "aricb-bench-observer") -> None:
        self.args = [sys.executable, "-m", "benchmarks.observer", url, user, password, app, str(path)]
        self.path = path

    async def start(self) -> None:
        root = Path(__file__).resolve().parent.parent
        self.process = subprocess.Popen(self.args, cwd=root, stdout=subprocess.PIPE, text=True)
        line = await asyncio.to_thread(self.process.stdout.readline)
        if line.strip() != "ready":
            raise RuntimeError(f"observer did not start: {line!r}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


if __name__ == "__main__":
    asyncio.run(observe(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], Path(sys.argv[5])))
