"""Structured logs: a call's ids on every line it logs, JSON or text, and no secret in any line."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from ari_callback.config import Settings
from ari_callback.logs import MASK, bind_call, setup_logging

SECRETS = Settings(ari={"password": "ari-pass-123"}, api_keys=[{"key": "client-key-456", "client": "default"}],
                   database_url="postgresql+asyncpg://aricb:db-pass-789@127.0.0.1:5432/aricb")


class JsonLines:
    """Logging set up in JSON inside the test (capsys swaps stderr per phase), read back parsed."""

    def __init__(self, capsys):
        self.capsys = capsys
        setup_logging("INFO", "json", SECRETS.secrets())

    def __call__(self) -> list[dict]:
        return [json.loads(line) for line in self.capsys.readouterr().err.splitlines() if line.strip()]


@pytest.fixture
def json_lines(capsys):
    root = logging.getLogger()
    kept, level = root.handlers[:], root.level
    yield lambda: JsonLines(capsys)
    root.handlers[:] = kept
    root.setLevel(level)


async def test_given_a_call_task_then_every_line_it_logs_names_the_call_and_others_do_not(json_lines):
    lines = json_lines()
    log = logging.getLogger("ari_callback.engine")

    async def call() -> None:
        bind_call("attempt-1", "callback-1")
        log.info("ringing %s", "1001")
        await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(log.info, "a timer of the call fired")
        await asyncio.sleep(0.01)

    await asyncio.create_task(call())
    log.info("the dispatcher claims more")
    first, timer, outside = lines()
    assert (first["event"], first["call_id"], first["callback_id"], first["level"]) == (
        "ringing 1001", "attempt-1", "callback-1", "info")
    assert first["logger"] == "ari_callback.engine" and first["timestamp"].endswith("Z")
    assert timer["call_id"] == "attempt-1"
    assert "call_id" not in outside


def test_given_secrets_in_a_message_or_a_traceback_then_they_are_masked(json_lines):
    lines = json_lines()
    log = logging.getLogger("ari_callback.ari")
    log.warning("connect to ws://callback:ari-pass-123@127.0.0.1 with key client-key-456")
    try:
        raise RuntimeError("db-pass-789 refused")
    except RuntimeError:
        log.exception("store failed")
    text = json.dumps(lines())
    assert "ari-pass-123" not in text and "client-key-456" not in text and "db-pass-789" not in text
    assert text.count(MASK) >= 3


def test_given_console_format_then_plain_text_lines(capsys):
    root = logging.getLogger()
    kept = root.handlers[:]
    try:
        setup_logging("INFO", "console", ["s3cret-value"])
        logging.getLogger("ari_callback").info("hello s3cret-value")
        err = capsys.readouterr().err
    finally:
        root.handlers[:] = kept
    assert "hello ***" in err and "s3cret-value" not in err and not err.lstrip().startswith("{")
