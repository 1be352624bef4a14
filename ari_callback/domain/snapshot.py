"""A call plan, and a whole call machine, as plain JSON data and back, exactly.

A callback's plan is resolved once, when it is accepted, and stored: recovery and every later
attempt run that plan, never one rebuilt from today's configuration. The machine is stored
after every step in the same way, so that after a restart it is put back exactly as it was,
instead of being guessed from the call's rows. So the stored form must give back the very
plan and machine that were saved, and a stored form this code does not understand (a newer
version, a field renamed or dropped) is refused with the key it trips on rather than read as
something else.

This module is the machine's persistence: it alone reads and writes the machine's private
fields, from the table ``_MACHINE_FIELDS``; a test checks that the table covers every one.
Anything whose order matters (legs, timers, the timeline) is a list, because a JSON object's
key order does not survive every store (PostgreSQL's jsonb sorts keys).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from .legs import Leg, TimelineEntry
from .machine import CallMachine
from .plan import CallerId, CallPlan, SrcTarget
from .transfer import DigitCollector

PLAN_VERSION = 1
MACHINE_VERSION = 1


def plan_to_dict(plan: CallPlan) -> dict[str, Any]:
    """The plan as JSON-safe data (str, int, float, bool, None, list, dict only)."""
    if not math.isfinite(plan.playback_timeout):
        raise ValueError(f"playback_timeout: {plan.playback_timeout!r} has no JSON form")
    data: dict[str, Any] = {"version": PLAN_VERSION}
    for key, (dump, _) in _PLAN_FIELDS.items():
        data[key] = dump(getattr(plan, key))
    return data


def plan_from_dict(data: Mapping[str, Any]) -> CallPlan:
    """The plan ``plan_to_dict`` gave; ValueError naming the key for anything else."""
    data = {**_PLAN_ADDED, **data}
    _expect_keys(data, {"version", *_PLAN_FIELDS}, "plan")
    if data["version"] != PLAN_VERSION:
        raise ValueError(f"plan.version: {data['version']!r} is not {PLAN_VERSION}")
    return CallPlan(**{key: load(data[key], f"plan.{key}") for key, (_, load) in _PLAN_FIELDS.items()})


def machine_snapshot(machine: CallMachine) -> dict[str, Any]:
    """Everything the machine knows, as JSON-safe data: store it after every step."""
    data: dict[str, Any] = {"version": MACHINE_VERSION, "plan": plan_to_dict(machine.plan)}
    for key, (attribute, dump, _) in _MACHINE_FIELDS.items():
        data[key] = dump(getattr(machine, attribute))
    data["digits"] = _dump_digits(machine.digits)
    return data


def machine_from_snapshot(data: Mapping[str, Any]) -> CallMachine:
    """The machine ``machine_snapshot`` saw, to go on from where it was; ValueError naming the
    key for data it did not write."""
    _expect_keys(data, {"version", "plan", "digits", *_MACHINE_FIELDS}, "machine")
    if data["version"] != MACHINE_VERSION:
        raise ValueError(f"machine.version: {data['version']!r} is not {MACHINE_VERSION}")
    machine = CallMachine(plan_from_dict(data["plan"]))
    for key, (attribute, _, load) in _MACHINE_FIELDS.items():
        setattr(machine, attribute, load(data[key], f"machine.{key}"))
    machine.digits = _load_digits(data["digits"], machine.plan.transfer_code, "machine.digits")
    return machine


# --------------------------------------------------------------------------- checking
def _expect_keys(data: object, wanted: set[str], where: str) -> None:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    unknown = sorted(set(data) - wanted)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}")
    missing = sorted(wanted - set(data))
    if missing:
        raise ValueError(f"{where}: missing key {missing[0]!r}")


def _checked(kind: type | tuple[type, ...], *, optional: bool = False) -> Callable[[Any, str], Any]:
    """A loader that refuses a value of the wrong JSON type (bool is not an int here)."""
    def load(value: Any, where: str) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise ValueError(f"{where}: expected {_name(kind)}, got bool")
        if not isinstance(value, kind):
            raise ValueError(f"{where}: expected {_name(kind)}, got {type(value).__name__}")
        return value
    return load


def _name(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__


def _same(value: Any) -> Any:
    return value


# ------------------------------------------------------------------------ plan parts
def _load_str_tuple(value: Any, where: str) -> tuple[str, ...]:
    items = _checked(list)(value, where)
    return tuple(_checked(str)(item, f"{where}[{i}]") for i, item in enumerate(items))


def _load_float(value: Any, where: str) -> float:
    return float(_checked((int, float))(value, where))


def _dump_caller_id(caller_id: CallerId) -> dict[str, Any]:
    return {"name": caller_id.name, "number": caller_id.number}


def _load_caller_id(value: Any, where: str) -> CallerId:
    _expect_keys(value, {"name", "number"}, where)
    return CallerId(_checked(str)(value["name"], f"{where}.name"), _checked(str)(value["number"], f"{where}.number"))


def _dump_src(src: SrcTarget) -> dict[str, Any]:
    return {"number": src.number, "endpoint": src.endpoint, "formats": src.formats,
            "external": src.external, "caller_id": _dump_caller_id(src.caller_id)}


def _load_src(value: Any, where: str) -> SrcTarget:
    _expect_keys(value, {"number", "endpoint", "formats", "external", "caller_id"}, where)
    return SrcTarget(number=_checked(str)(value["number"], f"{where}.number"),
                     endpoint=_checked(str)(value["endpoint"], f"{where}.endpoint"),
                     formats=_checked(str, optional=True)(value["formats"], f"{where}.formats"),
                     external=_checked(bool)(value["external"], f"{where}.external"),
                     caller_id=_load_caller_id(value["caller_id"], f"{where}.caller_id"))


def _load_srcs(value: Any, where: str) -> tuple[SrcTarget, ...]:
    return tuple(_load_src(item, f"{where}[{i}]") for i, item in enumerate(_checked(list)(value, where)))


def _load_variables(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
    return MappingProxyType({_checked(str)(k, f"{where} key"): _checked(str)(v, f"{where}.{k}")
                             for k, v in value.items()})


_STR = (_same, _checked(str))
_BOOL = (_same, _checked(bool))
_INT = (_same, _checked(int))
_STR_TUPLE = (list, _load_str_tuple)

# key -> (to JSON, from JSON); every CallPlan field, in declaration order.
_PLAN_FIELDS: dict[str, tuple[Callable[[Any], Any], Callable[[Any, str], Any]]] = {
    "call_id": _STR,
    "client_id": _STR,
    "srcs": (lambda srcs: [_dump_src(s) for s in srcs], _load_srcs),
    "dst_number": _STR,
    "dst_endpoint": _STR,
    "dst_formats": _STR,
    "dst_external": _BOOL,
    "dst_caller_id": (_dump_caller_id, _load_caller_id),
    "wait_for_pickup": _INT,
    "call_duration": _INT,
    "announce_media": _STR_TUPLE,
    "dst_announce_media": _STR_TUPLE,
    "dst_dtmf": _STR,
    "variables": (dict, _load_variables),
    "allow_public_transfer": _BOOL,
    "transfer_after_dst_hangup": _STR,
    "transfer_after_src_hangup": _STR,
    "transfer_context": _STR,
    "transfer_code": _STR,
    "playback_timeout": (float, _load_float),
    "simultaneous": _BOOL,
    "dst_wait_for_pickup": _INT,
}
# Fields added to CallPlan after plans were first stored, with the value an older plan means.
_PLAN_ADDED = {"dst_wait_for_pickup": 0}


# ---------------------------------------------------------------------- machine parts
_TEXT = _checked(str)
_MAYBE_TEXT = _checked(str, optional=True)
_MAYBE_INT = _checked(int, optional=True)
_MAYBE_TIME = _checked((int, float), optional=True)

# Leg field -> loader; every Leg field (a test keeps this equal to the dataclass).
_LEG_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "id": _TEXT, "role": _TEXT, "number": _TEXT, "index": _checked(int),
    "created_at": _MAYBE_TIME, "ringing_at": _MAYBE_TIME, "progress_at": _MAYBE_TIME,
    "answered_at": _MAYBE_TIME, "dialled_at": _MAYBE_TIME, "hangup_requested_at": _MAYBE_TIME,
    "hangup_at": _MAYBE_TIME, "ended_at": _MAYBE_TIME, "cause": _MAYBE_INT, "cause_txt": _TEXT,
    "tech_cause": _MAYBE_INT, "dialstatus": _TEXT, "hangup_reason": _TEXT, "outcome": _TEXT,
}


def leg_to_dict(leg: Leg) -> dict[str, Any]:
    """Every field of a leg (its outcome included), JSON-safe: one list of a leg's fields for
    whoever stores or shows legs."""
    return {key: getattr(leg, key) for key in _LEG_FIELDS}


def leg_from_dict(data: Mapping[str, Any], where: str = "leg") -> Leg:
    _expect_keys(data, set(_LEG_FIELDS), where)
    return Leg(**{key: load(data[key], f"{where}.{key}") for key, load in _LEG_FIELDS.items()})


def _dump_legs(legs: Mapping[str, Leg]) -> list[dict[str, Any]]:
    return [leg_to_dict(leg) for leg in legs.values()]


def _load_legs(value: Any, where: str) -> dict[str, Leg]:
    legs = [leg_from_dict(row, f"{where}[{i}]") for i, row in enumerate(_checked(list)(value, where))]
    return {leg.id: leg for leg in legs}


def _dump_timeline(timeline: list[TimelineEntry]) -> list[dict[str, Any]]:
    return [{"at": e.at, "kind": e.kind, "leg_id": e.leg_id, "detail": dict(e.detail)} for e in timeline]


def _load_timeline(value: Any, where: str) -> list[TimelineEntry]:
    entries = []
    for i, row in enumerate(_checked(list)(value, where)):
        at = f"{where}[{i}]"
        _expect_keys(row, {"at", "kind", "leg_id", "detail"}, at)
        detail = _checked(Mapping)(row["detail"], f"{at}.detail")
        entries.append(TimelineEntry(_checked((int, float))(row["at"], f"{at}.at"), _TEXT(row["kind"], f"{at}.kind"),
                                     _MAYBE_TEXT(row["leg_id"], f"{at}.leg_id"), dict(detail)))
    return entries


def _dump_timers(timers: Mapping[str, int]) -> list[list[Any]]:
    return [[name, token] for name, token in timers.items()]


def _load_timers(value: Any, where: str) -> dict[str, int]:
    timers = {}
    for i, pair in enumerate(_checked(list)(value, where)):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"{where}[{i}]: expected [name, token]")
        timers[_TEXT(pair[0], f"{where}[{i}]")] = _checked(int)(pair[1], f"{where}[{i}]")
    return timers


def _load_transfers_used(value: Any, where: str) -> set[str]:
    return {_TEXT(item, f"{where}[{i}]") for i, item in enumerate(_checked(list)(value, where))}


def _dump_digits(digits: DigitCollector) -> dict[str, Any]:
    return {"recent": dict(digits._recent), "leg": digits._leg, "number": digits._number}


def _load_digits(value: Any, code: str, where: str) -> DigitCollector:
    """The code is the plan's, so it is not stored twice."""
    _expect_keys(value, {"recent", "leg", "number"}, where)
    digits = DigitCollector(code)
    recent = _checked(Mapping)(value["recent"], f"{where}.recent")
    digits._recent = {_TEXT(k, f"{where}.recent key"): _TEXT(v, f"{where}.recent.{k}") for k, v in recent.items()}
    digits._leg = _MAYBE_TEXT(value["leg"], f"{where}.leg")
    digits._number = _TEXT(value["number"], f"{where}.number")
    return digits


_SCALAR = (_same, _TEXT)
_MAYBE_SCALAR = (_same, _MAYBE_TEXT)
_FLAG = (_same, _checked(bool))

# key -> (CallMachine attribute, to JSON, from JSON); with "plan" and "digits", which need
# their own handling, every attribute (a test keeps this equal to vars(CallMachine(...))).
_MACHINE_FIELDS: dict[str, tuple[str, Callable[[Any], Any], Callable[[Any, str], Any]]] = {
    "state": ("state", *_SCALAR),
    "status_detail": ("status_detail", *_SCALAR),
    "ended_by": ("ended_by", *_SCALAR),
    "legs": ("legs", _dump_legs, _load_legs),
    "timeline": ("timeline", _dump_timeline, _load_timeline),
    "winner": ("winner", *_MAYBE_SCALAR),
    "a_party": ("a_party", *_MAYBE_SCALAR),
    "b_party": ("b_party", *_MAYBE_SCALAR),
    "pending": ("pending", *_MAYBE_SCALAR),
    "bridge_created": ("bridge_created", *_FLAG),
    "was_connected": ("was_connected", *_FLAG),
    "connected_at": ("connected_at", _same, _MAYBE_TIME),
    "ended_at": ("ended_at", _same, _MAYBE_TIME),
    "transfers_used": ("transfers_used", sorted, _load_transfers_used),
    "timers": ("timers", _dump_timers, _load_timers),
    "timer_token": ("_token", _same, _checked(int)),
    "playback_counter": ("_counter", _same, _checked(int)),
    "announce_playback": ("announce_playback", *_MAYBE_SCALAR),
    "final": ("_final", *_SCALAR),
    "blame": ("_blame", *_MAYBE_SCALAR),
    "first_failure": ("first_failure", *_MAYBE_SCALAR),
}
