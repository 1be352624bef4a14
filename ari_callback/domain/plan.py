"""From a validated request and the site's policy to a fully resolved call plan.

The plan is everything the state machine needs and nothing it has to look up: dial strings,
caller IDs after the seed's fallback chain, media URIs for sound ids, limits in seconds.
Errors here are the caller's (unknown sound, unknown extension, limits) and carry a stable id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .destinations import ERROR_ID as DESTINATION_REFUSED
from .destinations import DestinationPolicy
from .request import CallbackRequest


class PlanError(Exception):
    """A request that is well formed but cannot be carried out as asked."""

    def __init__(self, error_id: str, message: str, *, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.error_id = error_id
        self.message = message
        self.field = field
        self.status = status


@dataclass(frozen=True)
class CallerId:
    name: str = ""
    number: str = ""

    def header(self) -> str:
        """The `"name" <number>` form Asterisk's originate takes."""
        if self.name and self.number:
            return f'"{self.name}" <{self.number}>'
        return self.number or (f'"{self.name}" <>' if self.name else "")


@dataclass(frozen=True)
class Trunk:
    """How numbers are dialled directly (origins): a dial template per trunk.

    ``dial`` is formatted with ``number`` and the named groups of the matching route.
    ``external`` marks numbers outside the client's own PBX: only those get the ANI.
    """

    name: str
    dial: str
    formats: str | None = "ulaw"
    external: bool = False


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    trunk: str


@dataclass(frozen=True)
class Extension:
    id: str
    number: str
    name: str = ""
    type: str = "phone"


@dataclass(frozen=True)
class ClientPolicy:
    client_id: str
    max_concurrent_calls: int = 10
    external_numbers: frozenset[str] = frozenset()
    sounds: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    extensions: Mapping[str, Extension] = field(default_factory=dict)
    caller_id: CallerId = CallerId()
    destinations: DestinationPolicy = DestinationPolicy()


@dataclass(frozen=True)
class DialingPolicy:
    trunks: Mapping[str, Trunk]
    routes: tuple[Route, ...]
    dst_context: str = "dst-route"
    transfer_context: str = "transfer-targets"
    dst_formats: str = "ulaw"
    default_wait_for_pickup: int = 30
    max_wait_for_pickup: int = 300
    default_call_duration: int = 3600
    max_call_duration: int = 86400
    max_src_numbers: int = 10
    playback_timeout: float = 60.0
    transfer_code: str = "##"


@dataclass(frozen=True)
class SrcTarget:
    number: str
    endpoint: str
    formats: str | None
    external: bool
    caller_id: CallerId


@dataclass(frozen=True)
class CallPlan:
    call_id: str
    client_id: str
    srcs: tuple[SrcTarget, ...]
    dst_number: str
    dst_endpoint: str
    dst_formats: str
    dst_external: bool
    dst_caller_id: CallerId
    wait_for_pickup: int
    call_duration: int
    announce_media: tuple[str, ...] = ()
    dst_announce_media: tuple[str, ...] = ()
    dst_dtmf: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)
    allow_public_transfer: bool = True
    transfer_after_dst_hangup: str = ""
    transfer_after_src_hangup: str = ""
    transfer_context: str = "transfer-targets"
    transfer_code: str = "##"
    playback_timeout: float = 60.0
    simultaneous: bool = False   # seed 001: ring the destination at the same time as the origins
    # The destination's own ring limit when it differs (0: wait_for_pickup): a queue leg is
    # "ringing" until an agent answers, which may take far longer than a phone rings.
    dst_wait_for_pickup: int = 0

    def dst_wait(self) -> int:
        return self.dst_wait_for_pickup or self.wait_for_pickup

    def transfer_endpoint(self, number: str) -> str:
        return f"Local/{number}@{self.transfer_context}"


def route_number(dialing: DialingPolicy, number: str) -> tuple[Trunk, str]:
    """The trunk a number goes out on and its dial string (first matching route wins)."""
    for route in dialing.routes:
        match = route.pattern.fullmatch(number)
        if match:
            trunk = dialing.trunks[route.trunk]
            groups = {k: v for k, v in match.groupdict().items() if v is not None}
            return trunk, trunk.dial.format(**{"number": number, **groups})
    raise PlanError("unroutable_number", f"no route dials {number!r}", field="src")


def is_external(dialing: DialingPolicy, number: str) -> bool:
    """Whether a number leaves the client's PBX. The destination and transfer targets go
    through the dialplan, so a number no route knows is the dialplan's business: internal."""
    try:
        trunk, _ = route_number(dialing, number)
    except PlanError:
        return False
    return trunk.external


def check_destinations(client: ClientPolicy, numbers: dict[str, str | None]) -> None:
    """Refuse (403) a request that would ring a number the client's policy keeps out of reach."""
    refused = client.destinations.refused(numbers)
    if refused is not None:
        name, reason = refused
        raise PlanError(DESTINATION_REFUSED, f"{reason} of client {client.client_id!r}", field=name, status=403)


def _pick(*candidates: str | None) -> str:
    return next((c for c in candidates if c), "")


def _sound(client: ClientPolicy, sound_id: int | None, field_name: str) -> tuple[str, ...]:
    if sound_id is None:
        return ()
    media = client.sounds.get(sound_id)
    if media is None:
        raise PlanError("unknown_sound", f"sound {sound_id} is not in client {client.client_id!r}'s "
                        "sound library", field=field_name)
    return media


def _limit(value: int | None, default: int, maximum: int, name: str) -> int:
    chosen = default if value is None else value
    if chosen > maximum:
        raise PlanError(f"invalid_{name}", f"{name} must be at most {maximum} seconds", field=name)
    return chosen


def _ani(client: ClientPolicy, ani: str | None) -> str:
    """An ANI counts only when it is one of the client's DIDs; otherwise it is ignored (seed 002)."""
    return ani if ani and ani in client.external_numbers else ""


def make_plan(call_id: str, request: CallbackRequest, client: ClientPolicy,
              dialing: DialingPolicy, extension: Extension | None = None) -> CallPlan:
    """Resolve a request; raises PlanError for what the policy cannot honour."""
    if len(request.src) > dialing.max_src_numbers:
        raise PlanError("too_many_numbers", f"at most {dialing.max_src_numbers} origin numbers", field="src")
    check_destinations(client, {**{f"src.{i}": n for i, n in enumerate(request.src)}, "dst": request.dst,
                                "transfer_after_dst_hangup": request.transfer_after_dst_hangup,
                                "transfer_after_src_hangup": request.transfer_after_src_hangup})
    ext_name = extension.name if extension else client.caller_id.name
    ext_number = extension.number if extension else client.caller_id.number
    base_name = _pick(request.caller_id_name, ext_name)
    base_number = _pick(request.caller_id_number, ext_number)
    src_name = _pick(request.src_caller_id_name, base_name)
    src_number = _pick(request.src_caller_id_number, base_number)
    src_ani = _ani(client, request.src_ani)
    srcs = []
    for number in request.src:
        trunk, endpoint = route_number(dialing, number)
        cid_number = src_ani if (trunk.external and src_ani) else src_number
        srcs.append(SrcTarget(number, endpoint, trunk.formats, trunk.external, CallerId(src_name, cid_number)))
    dst_external = is_external(dialing, request.dst)
    dst_ani = _ani(client, request.dst_ani)
    dst_number = dst_ani if (dst_external and dst_ani) else base_number
    return CallPlan(
        call_id=call_id,
        client_id=client.client_id,
        srcs=tuple(srcs),
        dst_number=request.dst,
        dst_endpoint=f"Local/{request.dst}@{dialing.dst_context}",
        dst_formats=dialing.dst_formats,
        dst_external=dst_external,
        dst_caller_id=CallerId(base_name, dst_number),
        wait_for_pickup=_limit(request.wait_for_pickup, dialing.default_wait_for_pickup,
                               dialing.max_wait_for_pickup, "wait_for_pickup"),
        call_duration=_limit(request.call_duration, dialing.default_call_duration,
                             dialing.max_call_duration, "call_duration"),
        announce_media=_sound(client, request.announce_sound_id, "announce_sound_id"),
        dst_announce_media=_sound(client, request.dst_announce_sound_id, "dst_announce_sound_id"),
        dst_dtmf=request.dst_dtmf or "",
        variables=MappingProxyType(dict(request.variables)),
        allow_public_transfer=request.allow_public_transfer,
        transfer_after_dst_hangup=request.transfer_after_dst_hangup or "",
        transfer_after_src_hangup=request.transfer_after_src_hangup or "",
        transfer_context=dialing.transfer_context,
        transfer_code=dialing.transfer_code,
        playback_timeout=dialing.playback_timeout,
        simultaneous=request.simultaneous,
    )
