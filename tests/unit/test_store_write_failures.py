"""The count behind aricb_store_step_write_failures_total: steps lost with a transaction that
failed as a whole are counted; a step refused alone (LeaseLost, a bad row) is not."""

from __future__ import annotations

import contextlib

import pytest

from ari_callback.store import StoreError
from ari_callback.store.batch import StepBatcher


class AwayWriter:
    @contextlib.asynccontextmanager
    async def begin(self):
        raise OSError("connection refused")
        yield


class Writer:
    @contextlib.asynccontextmanager
    async def begin(self):
        class Conn:
            @contextlib.asynccontextmanager
            async def begin_nested(self):
                yield
        yield Conn()


async def refuse(_conn, _step) -> None:
    raise StoreError("refused alone")


async def test_given_the_database_away_then_each_lost_step_is_counted():
    batcher = StepBatcher(AwayWriter(), refuse, "saving")
    with pytest.raises(StoreError):
        await batcher.submit("step")
    assert batcher.failed_steps == 1


async def test_given_a_step_refused_alone_then_it_is_not_a_store_failure():
    batcher = StepBatcher(Writer(), refuse, "saving")
    with pytest.raises(StoreError):
        await batcher.submit("step")
    assert batcher.failed_steps == 0 and batcher.transactions == 1
