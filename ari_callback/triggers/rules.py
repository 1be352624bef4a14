"""The pure part of dialplan triggers: arguments in, a checked trigger (or a reason) out, and
the prompts the caller hears as Asterisk media lists.

Rule: nothing here awaits or does I/O. Stasis() splits its data on commas with no quoting, so
every argument is one comma-free token; ``call`` options are ``key=value&key=value``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from ..domain.request import NUMBER_RE, CallbackOptions, CallbackRequest

VERBS = ("request", "ringback", "call")
ASK = "ask"   # request,<option>,ask: the caller keys the number in, whatever the caller ID
OPTION_SID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_JOINED_AGE_S = 86400.0   # an older CB_QUEUE_JOINED is a stale variable, not a place


class Reason:
    """Stable CB_REASON values of the triggers themselves. Refusals of the callback services
    (option_paused, option_closed, limit ids, ...) are passed on with their own error ids."""

    UNKNOWN_VERB = "unknown_verb"
    WRONG_ARGUMENTS = "wrong_argument_count"
    INVALID_OPTION = "invalid_option"
    INVALID_NUMBER = "invalid_number"
    INVALID_OPTIONS = "invalid_options"
    DESTINATION_NOT_ALLOWED = "destination_not_allowed"
    NO_CALLER_NUMBER = "no_caller_number"
    NOT_CONFIRMED = "number_not_confirmed"
    TIMED_OUT = "timed_out"
    INTERNAL = "internal_error"


class TriggerError(Exception):
    """A trigger that cannot be carried out: CB_RESULT=error, CB_REASON=``reason``."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason


@dataclass(frozen=True)
class RequestTrigger:
    option: str
    number: str | None   # None: the caller's number, confirmed; or keyed in
    ask: bool = False    # always key the number in


@dataclass(frozen=True)
class RingbackTrigger:
    destination: str
    mode: str | None = None   # reject | prompt; None: triggers.ringback_mode


@dataclass(frozen=True)
class CallTrigger:
    request: CallbackRequest = field(repr=False)


Trigger = RequestTrigger | RingbackTrigger | CallTrigger


def is_trigger_start(args: Sequence[str]) -> bool:
    """A StasisStart the triggers take: any args but our own legs' ``leg,<call>``."""
    return bool(args) and args[0] != "leg"


def parse(args: Sequence[str]) -> Trigger:
    """The trigger the Stasis() arguments ask for. Empty trailing arguments (an unset dialplan
    variable) count as absent."""
    words = list(args)
    while len(words) > 1 and not words[-1].strip():
        words.pop()
    verb, rest = (words[0].strip().lower() if words else ""), [w.strip() for w in words[1:]]
    if verb == "request":
        return _request(rest)
    if verb == "ringback":
        return _ringback(rest)
    if verb == "call":
        return _call(rest)
    raise TriggerError(Reason.UNKNOWN_VERB, f"unknown trigger verb {verb!r}; expected one of {VERBS}")


def _count(rest: list[str], low: int, high: int) -> None:
    if not low <= len(rest) <= high:
        raise TriggerError(Reason.WRONG_ARGUMENTS, f"{len(rest)} arguments; expected {low} to {high}")


def _number(text: str) -> str:
    if not NUMBER_RE.fullmatch(text):
        raise TriggerError(Reason.INVALID_NUMBER, f"{text!r} is not a phone number")
    return text


def _request(rest: list[str]) -> RequestTrigger:
    _count(rest, 1, 2)
    if not OPTION_SID.fullmatch(rest[0]):
        raise TriggerError(Reason.INVALID_OPTION, f"{rest[0]!r} is not a call option sid")
    given = rest[1] if len(rest) == 2 and rest[1] else None
    if given is not None and given.lower() == ASK:
        return RequestTrigger(rest[0], None, ask=True)
    return RequestTrigger(rest[0], _number(given) if given is not None else None)


RINGBACK_MODES = ("reject", "prompt")


def _ringback(rest: list[str]) -> RingbackTrigger:
    _count(rest, 1, 2)
    mode = rest[1].lower() if len(rest) == 2 and rest[1] else None
    if mode is not None and mode not in RINGBACK_MODES:
        raise TriggerError(Reason.INVALID_OPTIONS, f"ring-back mode {mode!r}; expected one of {RINGBACK_MODES}")
    return RingbackTrigger(_number(rest[0]), mode)


def _call(rest: list[str]) -> CallTrigger:
    _count(rest, 2, 3)
    src, dst = _number(rest[0]), _number(rest[1])
    options = parse_options(rest[2] if len(rest) == 3 else "")
    try:
        return CallTrigger(CallbackRequest(src=[src], dst=dst, **options))
    except ValidationError as exc:
        raise TriggerError(Reason.INVALID_OPTIONS, _first_error(exc)) from None


_INT_OPTIONS = frozenset(n for n, f in CallbackOptions.model_fields.items() if "int" in str(f.annotation))
_BOOL_OPTIONS = frozenset(n for n, f in CallbackOptions.model_fields.items() if "bool" in str(f.annotation))
VAR_PREFIX = "var."


def parse_options(text: str) -> dict[str, object]:
    """``key=value&key=value`` into the REST API's option types: names as in CallbackOptions,
    ``var.NAME=value`` for a channel variable; ints and booleans (true/false/yes/no/1/0) from
    text. Anything else is refused, never guessed."""
    options: dict[str, object] = {}
    variables: dict[str, str] = {}
    for pair in filter(None, text.split("&")):
        key, sep, value = pair.partition("=")
        if not sep:
            raise TriggerError(Reason.INVALID_OPTIONS, f"option {pair!r} is not key=value")
        if key.startswith(VAR_PREFIX):
            variables[key[len(VAR_PREFIX):]] = value
        elif key in _BOOL_OPTIONS:
            options[key] = _boolean(key, value)
        elif key in _INT_OPTIONS:
            options[key] = _integer(key, value)
        elif key in CallbackOptions.model_fields and key != "variables":
            options[key] = value
        else:
            raise TriggerError(Reason.INVALID_OPTIONS, f"unknown option {key!r}")
    if variables:
        options["variables"] = variables
    return options


def _boolean(key: str, value: str) -> bool:
    table = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if value.lower() not in table:
        raise TriggerError(Reason.INVALID_OPTIONS, f"option {key}: {value!r} is not a boolean")
    return table[value.lower()]


def _integer(key: str, value: str) -> int:
    if not re.fullmatch(r"-?\d{1,9}", value):
        raise TriggerError(Reason.INVALID_OPTIONS, f"option {key}: {value!r} is not an integer")
    return int(value)


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


# ------------------------------------------------------------------------------- policies
@dataclass(frozen=True)
class DestinationPolicy:
    """Where a ring-back may connect its caller: full matches of any of these patterns."""

    patterns: tuple[re.Pattern[str], ...]

    def check(self, destination: str) -> None:
        if not any(p.fullmatch(destination) for p in self.patterns):
            raise TriggerError(Reason.DESTINATION_NOT_ALLOWED, f"ring-back to {destination!r} is not allowed")


def caller_number(caller: str) -> str | None:
    """The caller's number if it is one we could call back (not anonymous, not empty)."""
    return caller if NUMBER_RE.fullmatch(caller or "") else None


def queue_joined(value: str, now: float) -> float | None:
    """CB_QUEUE_JOINED (epoch seconds, as ``${EPOCH}`` gives it) as a waitlist place, or None
    when unset, malformed, in the future or too old to be this call's."""
    if not re.fullmatch(r"\d{1,12}(\.\d{1,6})?", value or ""):
        return None
    joined = float(value)
    return joined if now - MAX_JOINED_AGE_S <= joined <= now + 1.0 else None


# -------------------------------------------------------------------------------- prompts
# Asterisk's own English sounds (the core sounds package): see docs/dialplan-triggers.md.
ENTER_NUMBER = ("sound:vm-enter-num-to-call", "sound:vm-then-pound")
THANK_YOU = ("sound:auth-thankyou",)


def confirm_prompt(number: str) -> list[str]:
    """"You entered <digits>. If this is correct, press 1 ... press 2 to enter a number"."""
    return ["sound:you-entered", f"digits:{number}", "sound:if-correct-press", "digits:1",
            "sound:vm-press", "digits:2", "sound:vm-toenternumber"]


def wait_prompt(wait_seconds: float | None) -> list[str]:
    """"Thank you. The estimated hold time is currently about N minutes" (whole minutes, at
    least one); just the thanks when there is no estimate."""
    if wait_seconds is None:
        return list(THANK_YOU)
    minutes = max(1, math.ceil(wait_seconds / 60))
    return [*THANK_YOU, "sound:queue-holdtime", f"number:{minutes}",
            "sound:queue-minute" if minutes == 1 else "sound:queue-minutes"]


_ERROR_PROMPTS: Mapping[str, tuple[str, ...]] = {
    Reason.INVALID_NUMBER: ("sound:im-sorry", "sound:check-number-dial-again"),
    Reason.NO_CALLER_NUMBER: ("sound:im-sorry", "sound:check-number-dial-again"),
    Reason.NOT_CONFIRMED: ("sound:im-sorry", "sound:check-number-dial-again"),
    Reason.DESTINATION_NOT_ALLOWED: ("sound:im-sorry", "sound:cannot-complete-as-dialed"),
}
DEFAULT_ERROR_PROMPT = ("sound:im-sorry", "sound:please-try-call-later")


def error_prompt(reason: str) -> list[str]:
    return list(_ERROR_PROMPTS.get(reason, DEFAULT_ERROR_PROMPT))
