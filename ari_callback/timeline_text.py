"""A timeline entry as one line of text, for the CLI and the demo (kept apart from both, so
neither imports the other)."""

from __future__ import annotations


def format_entry(entry: dict) -> str:
    leg = (entry.get("leg") or "").rsplit("-", 1)[-1] if entry.get("leg") else "call"
    detail = " ".join(f"{k}={v}" for k, v in (entry.get("detail") or {}).items() if v not in (None, ""))
    return f"  +{entry['offset']:7.3f}s  {leg:<6} {entry['kind']:<16} {detail}"
