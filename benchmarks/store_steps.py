"""The store's CPU per step of a call: ``save_attempt`` alone, in process, no Asterisk.

Each of ``--calls`` callbacks is stored and claimed, then ``--steps`` steps are saved for it as
the engine saves them: the attempt row (fenced), two legs upserted, one timeline entry, an
outbox row when the state changes, and on the last step the callback's outcome. The figure is
process CPU (the event loop's thread and aiosqlite's) per step, p50 and mean over the calls
after the first five. A callback of the benchmarks' flow takes about ten steps.

    .venv/bin/python benchmarks/store_steps.py [--calls 60] [--steps 8] [--postgresql URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_callback.store import CallbackStore, Lease, NewCallback, Progress  # noqa: E402

T0 = 1_800_000_000.0
SNAPSHOT = {"version": 1, "state": "x", "legs": [{"id": "a" * 20, "n": i} for i in range(4)], "plan": {"k": "v" * 200}}


def _progress(attempt_id: str, step: int, steps: int) -> Progress:
    legs = ({"id": f"cb-{attempt_id}-src0", "role": "src", "number": "1001", "ringing_at": T0 + step},
            {"id": f"cb-{attempt_id}-dst", "role": "dst", "number": "6001", "answered_at": T0 + step})
    entry = {"seq": step + 1, "at": T0 + step, "kind": "state", "leg_id": None, "detail": {"n": step}}
    return Progress(state="ringing" if step % 2 else "dialing", previous_state="dialing" if step % 2 else "ringing",
                    status_detail="", ended_by="", winner_leg=None, connected_at=None, ended_at=None,
                    at=T0 + step, legs=legs, timeline=(entry,), final=step == steps - 1, snapshot=SNAPSHOT)


async def _one_call(store: CallbackStore, n: int, steps: int) -> float:
    await store.create(NewCallback(id=f"c{n}", client_id="acme", api="native", request={"src": ["1001"]},
                                   plan={"version": 1}, created_at=T0, due_at=T0))
    claim = (await store.claim_due("bench", "default", T0, 15.0, 1))[0]
    lease = Lease(claim.callback_id, claim.attempt.id, claim.client_id, "bench", claim.fence)
    started = time.process_time()
    for step in range(steps):
        await store.save_attempt(lease, _progress(claim.attempt.id, step, steps))
    return (time.process_time() - started) * 1000 / steps


async def main(calls: int, steps: int, url: str | None) -> None:
    store = await CallbackStore.open(url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/steps.db")
    try:
        cpu = [await _one_call(store, n, steps) for n in range(calls)]
    finally:
        await store.close()
    kept = cpu[5:]
    print(f"{calls} calls x {steps} steps: store CPU per step p50 {statistics.median(kept):.2f} ms, "
          f"mean {statistics.mean(kept):.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--postgresql", metavar="URL", help="a postgresql+asyncpg:// URL of an empty database")
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.steps, args.postgresql))
