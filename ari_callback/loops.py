"""A background loop that a failing database or Asterisk pauses but never ends: the dispatcher's
loops and the webhook deliverer's run under it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def run_forever(name: str, loop: Callable[[], Awaitable[object]], pause: float, log: logging.Logger) -> None:
    """Run ``loop``; when it fails, log why, wait ``pause`` seconds and run it again."""
    while True:
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s loop failed; retrying", name)
            await asyncio.sleep(pause)
