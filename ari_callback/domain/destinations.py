"""Which numbers a client may have rung: its destination policy, checked before anything is
dialled.

A PBX exposed to many clients needs to keep some numbers out of reach (premium-rate lines,
international prefixes, emergency numbers for a test tenant). A policy has ``deny`` and
``allow`` patterns (regular expressions that must match the whole number): a number that a
``deny`` pattern matches is refused; with ``allow`` patterns, a number none of them matches is
refused too. The default policy refuses nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ERROR_ID = "destination_not_allowed"


@dataclass(frozen=True)
class DestinationPolicy:
    allow: tuple[re.Pattern[str], ...] = ()   # empty: any number not denied
    deny: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def of(cls, allow: list[str] | tuple[str, ...] = (), deny: list[str] | tuple[str, ...] = ()
           ) -> DestinationPolicy:
        return cls(tuple(re.compile(p) for p in allow), tuple(re.compile(p) for p in deny))

    def refusal(self, number: str) -> str | None:
        """Why ``number`` may not be rung, or None if it may."""
        denied = next((p.pattern for p in self.deny if p.fullmatch(number)), None)
        if denied is not None:
            return f"{number!r} matches the denied pattern {denied!r}"
        if self.allow and not any(p.fullmatch(number) for p in self.allow):
            return f"{number!r} matches none of the allowed patterns"
        return None

    def refused(self, numbers: dict[str, str | None]) -> tuple[str, str] | None:
        """The first (field, reason) among ``numbers`` (field -> number) that is refused."""
        for name, number in numbers.items():
            if number and (reason := self.refusal(number)) is not None:
                return name, reason
        return None
