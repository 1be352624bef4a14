"""``ari-callback`` with the dispatcher's loop timed: what benchmarks/scheduled.py --probe runs.

Wraps the store calls of a dispatch pass (``next_due``, ``claim_due``, ``due_options``,
``claim_option``), the pass itself (``Dispatcher._claim``) and its sleep (``_pause``: how much
longer it slept than asked), and samples the event loop's lag every 10 ms. At exit the sums
and percentiles go, as JSON, to the file named by ``P5_PROBE_OUT``.

    P5_PROBE_OUT=probe.json .venv/bin/python benchmarks/dispatch_probe.py --config x.yaml serve
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_callback.cli import main  # noqa: E402
from ari_callback.engine import dispatcher as d  # noqa: E402
from ari_callback.store import CallbackStore  # noqa: E402

TIMES: dict[str, list[float]] = {}
COUNTS: dict[str, int] = {}


def timed(owner, name: str, rows: bool = False) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    async def wrapper(*args, **kwargs):
        began = time.perf_counter()
        result = await original(*args, **kwargs)
        TIMES.setdefault(name, []).append(1000 * (time.perf_counter() - began))
        if rows:
            COUNTS[name] = COUNTS.get(name, 0) + (result if isinstance(result, int) else len(result))
        return result
    setattr(owner, name, wrapper)


for method in ("next_due", "click_to_calls_due", "claim_due", "due_options", "claim_option"):
    timed(CallbackStore, method, rows=method not in ("next_due", "click_to_calls_due"))
timed(d.Dispatcher, "_claim", rows=True)
_pause = d.Dispatcher._pause


async def pause(self, seconds: float) -> None:
    began = time.perf_counter()
    await _pause(self, seconds)
    TIMES.setdefault("_pause overslept", []).append(1000 * max(0.0, time.perf_counter() - began - seconds))


d.Dispatcher._pause = pause
_start = d.Dispatcher.start


def start(self) -> None:
    _start(self)

    async def lag() -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.01)
            TIMES.setdefault("loop lag", []).append(1000 * (time.perf_counter() - began - 0.01))
    self._tasks.append(asyncio.create_task(lag()))


d.Dispatcher.start = start


@atexit.register
def dump() -> None:
    out = {}
    for name, values in TIMES.items():
        values = sorted(values)
        n = len(values)
        out[name] = {"n": n, "sum_ms": round(sum(values)), "p50_ms": round(values[n // 2], 2),
                     "p99_ms": round(values[int(0.99 * (n - 1))], 2), "max_ms": round(values[-1], 2),
                     "rows": COUNTS.get(name)}
    Path(os.environ["P5_PROBE_OUT"]).write_text(json.dumps(out, indent=1))


main()
