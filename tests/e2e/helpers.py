"""Small helpers for the e2e tests: place a callback, wait for its end, find its legs."""

from __future__ import annotations

import asyncio
import time

import httpx


async def place(api: httpx.AsyncClient, **body) -> str:
    response = await api.post("/v1/callbacks", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def view(api: httpx.AsyncClient, call_id: str, headers: dict | None = None) -> dict:
    response = await api.get(f"/v1/callbacks/{call_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def wait_until(api: httpx.AsyncClient, call_id: str, predicate, timeout: float = 30.0,
                     headers: dict | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        current = await view(api, call_id, headers)
        if predicate(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"callback {call_id} did not get there within {timeout} s: "
                                 f"{current['status']} {current['status_detail']}")
        await asyncio.sleep(0.1)


async def finished(api: httpx.AsyncClient, call_id: str, timeout: float = 40.0,
                   headers: dict | None = None) -> dict:
    return await wait_until(api, call_id, lambda v: v["finished"], timeout, headers)


def leg(record: dict, role: str, index: int = 0) -> dict:
    found = [lg for lg in record["legs"] if lg["role"] == role and lg["index"] == index]
    assert found, f"no {role}{index} leg in {[lg['id'] for lg in record['legs']]}"
    return found[0]


def kinds(record: dict, leg_id: str | None = None) -> list[str]:
    return [e["kind"] for e in record["timeline"] if leg_id is None or e["leg"] == leg_id]


def attempt_id(record: dict) -> str:
    """The latest attempt's id: what its channel and bridge ids carry."""
    assert record["attempts"], f"callback {record['id']} has no attempt yet"
    return record["attempts"][-1]["id"]


def leg_id(record: dict, role: str, index: int = 0) -> str | None:
    """The id of a leg of the latest attempt, or None while it does not exist yet."""
    found = [lg["id"] for lg in record["legs"] if lg["role"] == role and lg["index"] == index]
    return found[0] if found else None
