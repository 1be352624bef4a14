"""The ``clients`` part of the configuration: a client's limits, caller id, destination policy,
extensions, external numbers, sounds, variables and webhooks (what ari_callback/directory.py
merges the store's changes over). ``config`` re-exports every name here."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .webhooks.settings import WebhookSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


NAME = r"^[A-Za-z0-9_.:@-]{1,64}$"


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return value


class CallerIdSettings(_Strict):
    name: str = ""
    number: str = ""


class ExtensionSettings(_Strict):
    number: str
    name: str = ""
    type: Literal["phone", "ivr", "queue", "group"] = "phone"


def _compiled(patterns: list[str]) -> list[str]:
    for i, pattern in enumerate(patterns):
        try:
            _regex(pattern)
        except ValueError as exc:
            raise ValueError(f"{i}: {exc}") from None
    return patterns


class DestinationSettings(_Strict):
    """Numbers the client may have rung (domain/destinations.py); the default refuses nothing."""

    allow: list[str] = Field(default_factory=list, description=(
        "regular expressions matched against the whole number; when given, only numbers one matches"))
    deny: list[str] = Field(default_factory=list, description=(
        "regular expressions of numbers never rung, e.g. '00.*' (international), '0900.*' (premium rate)"))

    @field_validator("allow", "deny")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        return _compiled(value)


# A media URI Asterisk plays: an unknown scheme makes it start a playback that never finishes.
MEDIA_URI = re.compile(r"(sound|recording|tone|digits|number|characters):\S+|https?://\S+")


class ClientSettings(_Strict):
    max_concurrent_calls: int = Field(10, ge=1)
    max_calls_per_second: float | None = Field(None, gt=0, le=1000, description=(
        "callbacks the client may start per second, over all instances; none: no such limit"))
    destinations: DestinationSettings = DestinationSettings()
    asterisk: str | None = Field(None, pattern=NAME, description=(
        "pin: only instances serving this Asterisk (instance.asterisk) dial the client's callbacks"))
    caller_id: CallerIdSettings = CallerIdSettings()
    external_numbers: list[str] = Field(default_factory=list, description="the client's DIDs")
    sounds: dict[int, list[str]] = Field(default_factory=dict, description="sound id -> media URIs")
    extensions: dict[str, ExtensionSettings] = Field(default_factory=dict)
    variables: dict[str, str] = Field(default_factory=dict, description=(
        "client variables for the PBX API: @{NAME} in an extension id, $cv(NAME) in a body value"))
    webhooks: list[WebhookSettings] = Field(default_factory=list, description=(
        "receivers of this client's callback events, signed (docs/webhooks.md)"))

    @field_validator("sounds")
    @classmethod
    def _media_uris(cls, value: dict[int, list[str]]) -> dict[int, list[str]]:
        for sound_id, media in value.items():
            for uri in media:
                if not MEDIA_URI.fullmatch(uri):
                    raise ValueError(f"sound {sound_id}: {uri!r} is not a media URI Asterisk plays")
        return value
