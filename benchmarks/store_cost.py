"""What one callback costs the store, and how soon the dispatcher dials it.

N callbacks run one after another through the real app (in this process) on the bundled
Asterisk (its own container and ports, so it runs beside the tests): origin 1001 answers at
once, destination 6001 answers and hangs up a second later. SQLAlchemy's engine events count
every statement and every transaction the store sends, per call. With the durable model it
also reports the dispatch latency: the callback stored (``created_at``) to its attempt claimed
and to the origin's originate being issued (the origin leg's ``created_at``).

    .venv/bin/python benchmarks/store_cost.py [--calls 20] [--postgresql]

The same script runs against an older checkout (no attempts: no latency figures), which is
how the "before" column of docs/benchmarks.md was taken.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_callback.bundled import BundledAsterisk  # noqa: E402
from ari_callback.config import Settings  # noqa: E402
from ari_callback.domain.request import CallbackRequest  # noqa: E402
from ari_callback.service import runtime  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


WRITES = ("INSERT", "UPDATE", "DELETE")


class Counts:
    """Write statements by their first word, and the transactions that wrote, on one engine.
    Reads (this script polls the store) and the BEGIN/COMMIT around them are left out."""

    def __init__(self, sync_engine) -> None:
        self.statements: Counter[str] = Counter()
        self.transactions = 0
        self._writing: set[int] = set()
        event.listen(sync_engine, "before_cursor_execute", self._statement)
        event.listen(sync_engine, "commit", self._commit)
        event.listen(sync_engine, "rollback", self._rollback)

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        verb = statement.split(None, 1)[0].upper()
        if verb in WRITES:
            self.statements[verb] += 1
            self._writing.add(id(conn))

    def _commit(self, conn) -> None:
        if id(conn) in self._writing:
            self._writing.discard(id(conn))
            self.transactions += 1

    def _rollback(self, conn) -> None:
        self._writing.discard(id(conn))

    def snapshot(self) -> tuple[Counter[str], int]:
        return Counter(self.statements), self.transactions


def settings_for(asterisk: BundledAsterisk, data_dir: str, database_url: str | None) -> Settings:
    data = yaml.safe_load((ROOT / "docker" / "demo.yaml").read_text())
    data["ari"].update(url=asterisk.url, app="cb-bench-store")
    data["data_dir"] = data_dir
    data["clients"]["default"]["max_concurrent_calls"] = 1000
    if database_url:
        data["database_url"] = database_url
    return Settings(**data)


async def one_call(service) -> tuple[str, float]:
    started = time.time()
    call_id = await service.create(CallbackRequest(src=["1001"], dst="6001"), client_id="default", api="native")
    while not (await service.store.get(call_id)).finished:
        await asyncio.sleep(0.05)
    return call_id, started


def latencies(view) -> tuple[float, float] | None:
    attempts = getattr(view, "attempt_list", None)
    if not attempts:
        return None
    first = attempts[0]
    src = [leg for leg in first.legs if leg["role"] == "src"][0]
    return first.created_at - view.created_at, src["created_at"] - view.created_at


async def run(calls: int, database_url: str | None) -> None:
    asterisk = BundledAsterisk(name="aricb-bench-store", http_port=38088, sip_port=35060)
    asterisk.up(timeout=120)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            async with runtime(settings_for(asterisk, data_dir, database_url)) as service:
                await asyncio.wait_for(service.engine.connected.wait(), 30)
                await one_call(service)   # warm up: first connections, caches
                await asyncio.sleep(0.5)
                counts = Counts(service.store.engine.sync_engine)
                found = []
                for _ in range(calls):
                    call_id, _started = await one_call(service)
                    found.append(latencies(await service.store.get(call_id)))
                await asyncio.sleep(0.5)
                report(calls, counts, found)
    finally:
        asterisk.down()


def report(calls: int, counts: Counts, found: list) -> None:
    writes, transactions = counts.snapshot()
    print(f"{calls} calls: per call {sum(writes.values()) / calls:.1f} write statements "
          f"({', '.join(f'{k} {v / calls:.1f}' for k, v in sorted(writes.items()))}) "
          f"in {transactions / calls:.1f} write transactions")
    if found and found[0] is not None:
        claimed = sorted(1000 * f[0] for f in found)
        dialled = sorted(1000 * f[1] for f in found)
        print(f"dispatch: stored -> claimed p50 {statistics.median(claimed):.1f} ms, max {claimed[-1]:.1f} ms; "
              f"stored -> originate issued p50 {statistics.median(dialled):.1f} ms, max {dialled[-1]:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--postgresql", action="store_true", help="a throwaway PostgreSQL (tests/pg_server.py)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = None
        if args.postgresql:
            from tests.pg_server import running_postgres
            url = stack.enter_context(running_postgres()).url
        asyncio.run(run(args.calls, url))


if __name__ == "__main__":
    main()
