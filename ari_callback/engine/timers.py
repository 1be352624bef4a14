"""Timers as data: the machine asks for ``StartTimer(name, delay, token)``; when it fires, the
call receives ``TimerFired(name, token)``. Restarting a timer replaces the old one; a stale
firing that was already queued carries an old token, which the machine ignores."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..domain import events as ev


class CallTimers:
    def __init__(self, emit: Callable[[ev.CallEvent], None]):
        self._emit = emit
        self._handles: dict[str, asyncio.TimerHandle] = {}

    def start(self, name: str, delay: float, token: int) -> None:
        self.cancel(name)
        loop = asyncio.get_running_loop()
        self._handles[name] = loop.call_later(delay, self._fire, name, token)

    def _fire(self, name: str, token: int) -> None:
        self._handles.pop(name, None)
        self._emit(ev.TimerFired(name, token))

    def cancel(self, name: str) -> None:
        handle = self._handles.pop(name, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> None:
        for name in list(self._handles):
            self.cancel(name)
