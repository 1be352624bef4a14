"""Blind transfer by DTMF: a party keys the transfer code, the number, then ``#``.

Asterisk's features.conf transfer codes do nothing inside ARI bridges, so the app collects
the digits itself from ChannelDtmfReceived. The number also completes after a pause of
``INTERDIGIT`` seconds without a digit (as phones do for overlap dialling).
"""

from __future__ import annotations


class DigitCollector:
    TIMER = "xfer_digits"
    INTERDIGIT = 3.0
    TERMINATOR = "#"
    MAX_NUMBER = 32

    def __init__(self, code: str):
        self.code = code
        self._recent: dict[str, str] = {}
        self._leg: str | None = None
        self._number = ""

    def feed(self, leg_id: str, digit: str) -> bool:
        """Take a digit; True while a number is being collected (the inter-digit timer restarts)."""
        if self._leg is not None and self._leg != leg_id:
            return False   # the other party keeps talking while one transfers: ignore it
        if self._leg == leg_id:
            if digit.isdigit() and len(self._number) < self.MAX_NUMBER:
                self._number += digit
            return True
        recent = (self._recent.get(leg_id, "") + digit)[-len(self.code):]
        self._recent[leg_id] = recent
        if self.code and recent == self.code:
            self._leg, self._number, self._recent[leg_id] = leg_id, "", ""
            return True
        return False

    def would_complete(self, leg_id: str, digit: str) -> bool:
        return self._leg == leg_id and digit == self.TERMINATOR and bool(self._number)

    def pending(self) -> str:
        """The number collected so far ('' when nothing is being collected)."""
        return self._number if self._leg else ""

    def take(self) -> tuple[str, str]:
        number, leg = self._number, self._leg or ""
        self.reset()
        return number, leg

    def reset(self) -> None:
        self._leg, self._number = None, ""
