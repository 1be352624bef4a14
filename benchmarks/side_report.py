"""Tables of benchmarks/app_vs_bare.py: the four measures on Asterisk's clock, with ratios to the
bare websocket client and to AMI, the CPU per call, and the ramp."""

from __future__ import annotations

from benchmarks.timeline import MEASURES, TITLES, fmt


def ratio(rows: dict, name: str, base: str, measure: str, cut: str) -> str:
    mine = rows[name]["timeline"][measure].get(cut)
    theirs = rows.get(base, {}).get("timeline", {}).get(measure, {}).get(cut)
    return f"{mine / theirs:.2f}" if mine is not None and theirs else "n/a"


def print_measures(title: str, rows: dict[str, dict]) -> None:
    """``rows``: client -> {"timeline": summarise(...), "client_cpu_ms", "asterisk_cpu_ms",
    optionally "failed", "calls"}."""
    print(f"\n{title}; ms, p50 / p95 / p99, on Asterisk's clock against the client's request\n")
    print("| client | " + " | ".join(TITLES[m] for m in MEASURES)
          + " | connected x ARI ws (p50 / p99) | connected x AMI (p50 / p99) | failed "
          "| client CPU / call | Asterisk CPU / call | client / Asterisk CPU |")
    print("|---" * (len(MEASURES) + 7) + "|")
    for name, r in rows.items():
        cells = [fmt(r["timeline"][m]) for m in MEASURES]
        ws = (f"{ratio(rows, name, 'ari-websocket', 'connected', 'p50')} / "
              f"{ratio(rows, name, 'ari-websocket', 'connected', 'p99')}")
        ami = f"{ratio(rows, name, 'ami', 'connected', 'p50')} / {ratio(rows, name, 'ami', 'connected', 'p99')}"
        share = r["client_cpu_ms"] / r["asterisk_cpu_ms"] if r["asterisk_cpu_ms"] else 0.0
        print(f"| {name} | " + " | ".join(cells) + f" | {ws} | {ami} | {r.get('failed', 0)} | "
              f"{r['client_cpu_ms']:.1f} | {r['asterisk_cpu_ms']:.1f} | {100 * share:.0f} % |")


def print_ramp(results: list) -> None:
    print("\nRamp: 25 calls/s per step, held; a step fails when > 10 % of its calls fail\n")
    print("| client | most live calls held with 0 failures | where it stopped | lost while held "
          "/ teardown errors "
          "| connect p50 / p99 at the last clean step (ms) | client / Asterisk CPU over the ramp "
          "| hang-up of all at once -> legs gone p50 / p95 / p99 (ms) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        clean = [s for s in r.steps if s.live_before + s.started - s.failed <= r.held_clean] or r.steps[:1]
        last = clean[-1]
        cpu = sum(s.client_cpu_s for s in r.steps)
        ast = sum(s.asterisk_cpu_s for s in r.steps)
        share = f"{100 * cpu / ast:.0f} %" if ast else "n/a"
        print(f"| {r.client} | {r.held_clean} | {r.stopped} | {r.lost_while_held} / {r.teardown_errors} | "
              f"{last.connect_p50_ms:.0f} / {last.connect_p99_ms:.0f} | {share} | "
              f"{fmt(r.timeline['gone']) if r.timeline else 'n/a'} |")
    for r in results:
        if r.teardown_error:
            print(f"{r.client}: {r.teardown_errors} teardown errors, e.g. {r.teardown_error}")
    for r in results:
        print(f"\n{r.client}, per step: live before, failed, connect p50/p99 ms, client / Asterisk CPU s")
        for s in r.steps:
            errors = f"  {s.errors[0]}" if s.errors else ""
            print(f"  {s.live_before:4d} +{s.started} failed {s.failed:3d}  {s.connect_p50_ms:7.0f} / "
                  f"{s.connect_p99_ms:7.0f}  {s.client_cpu_s:5.2f} / {s.asterisk_cpu_s:5.2f}{errors}")
