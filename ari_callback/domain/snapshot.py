"""A call plan as plain JSON data, and back, exactly.

A callback's plan is resolved once, when it is accepted, and stored: recovery and every later
attempt run that plan, never one rebuilt from today's configuration. So the stored form must
give back the very plan that was accepted, and a stored form this code does not understand
(a newer version, a field renamed or dropped) is refused with the key it trips on rather than
read as something else.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any, Callable, Mapping

from .plan import CallerId, CallPlan, SrcTarget

PLAN_VERSION = 1


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
    _expect_keys(data, {"version", *_PLAN_FIELDS}, "plan")
    if data["version"] != PLAN_VERSION:
        raise ValueError(f"plan.version: {data['version']!r} is not {PLAN_VERSION}")
    return CallPlan(**{key: load(data[key], f"plan.{key}") for key, (_, load) in _PLAN_FIELDS.items()})


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
}
