"""Fixtures shared by the unit and the e2e tests: a real PostgreSQL.

- ``pg_url`` (session): the base URL of a PostgreSQL whose role may CREATE DATABASE.
  ``ARI_CALLBACK_TEST_PG_URL`` names an external server; otherwise a throwaway one is
  started from Debian's binaries (tests/pg_server.py), once, on first use. Missing
  binaries are a failure, not a skip: a backend left untested proves nothing.
- ``pg_database`` (function): the URL of a fresh, empty database on it, dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.pg_server import PgServer, PostgresMissing, fresh_database, start_postgres

PG_URL_VARIABLE = "ARI_CALLBACK_TEST_PG_URL"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """Base URL of a PostgreSQL whose role may CREATE DATABASE (started once, on first use)."""
    external = os.environ.get(PG_URL_VARIABLE)
    if external:
        yield external
        return
    server = _start_or_fail()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def pg_database(pg_url: str) -> AsyncIterator[str]:
    """URL of a fresh, empty database of this test's own, dropped afterwards."""
    async with fresh_database(pg_url) as url:
        yield url


def _start_or_fail() -> PgServer:
    try:
        return start_postgres()
    except PostgresMissing as missing:
        # Failed outside the except block, so the report is the message, not a chain.
        message = (f"PostgreSQL is needed for these tests: {missing}; "
                   f"or set {PG_URL_VARIABLE} to a server of your own.")
    pytest.fail(message, pytrace=False)
