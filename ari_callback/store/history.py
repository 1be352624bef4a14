"""Call-history queries: a client's callbacks by time range, status, number and extension, a
page at a time, newest first, with a cursor that stays right while new callbacks arrive."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, or_, select

from .tables import callbacks, legs

_CB = callbacks.c


@dataclass(frozen=True)
class HistoryQuery:
    since: float | None = None          # created at or after (epoch seconds)
    until: float | None = None          # created before
    statuses: tuple[str, ...] = ()
    number: str | None = None           # any leg's number, or a customer callback's number
    extension: str | None = None        # made through this extension (seed 002)
    before: tuple[float, str] | None = None   # the cursor: (created_at, id) of the last row seen
    limit: int = 100


def history_filters(query: HistoryQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.since is not None:
        found.append(_CB.created_at >= query.since)
    if query.until is not None:
        found.append(_CB.created_at < query.until)
    if query.statuses:
        found.append(_CB.status.in_(query.statuses))
    if query.number:
        rang = exists(select(legs.c.id).where(legs.c.callback_id == _CB.id, legs.c.number == query.number))
        found.append(or_(_CB.number == query.number, rang))
    if query.extension:
        found.append(_CB.request["extension_id"].as_string() == query.extension)
    if query.before is not None:
        at, callback_id = query.before
        found.append(or_(_CB.created_at < at, and_(_CB.created_at == at, _CB.id < callback_id)))
    return found
