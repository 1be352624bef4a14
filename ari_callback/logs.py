"""Logging for the server: structured, one line per event, UTC timestamps.

Every module logs with the standard library (``logging.getLogger(...)``); structlog renders the
lines, as text for people (``log_format: console``) or one JSON object per line for a log
pipeline (``log_format: json``). What a call's task binds with :func:`bind_call` (its attempt
and callback ids) is on every line that call logs, including its timers' and its requests'.
The secrets the configuration holds (the ARI password, API keys, Fonolo tokens) are masked in
every line, whoever logs them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

MASK = "***"


def bind_call(call_id: str, callback_id: str) -> None:
    """Name the call on every line the current task (and what it schedules) logs from now on."""
    structlog.contextvars.bind_contextvars(call_id=call_id, callback_id=callback_id)


class Redactor:
    """A structlog processor that masks known secrets in every string of an event."""

    def __init__(self, secrets: Iterable[str]):
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if self.secrets:
            for key, value in event.items():
                if isinstance(value, str):
                    event[key] = self.mask(value)
        return event

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


def _renderer(log_format: str) -> Any:
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), pad_event_to=0)


def setup_logging(level: str = "INFO", log_format: str = "console", secrets: Iterable[str] = ()) -> None:
    chain: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=chain,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, Redactor(secrets), _renderer(log_format)]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
