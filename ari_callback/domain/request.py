"""What a caller may ask for: the callback request models and their validation.

Field names follow the PBX callback resource (seed 002) so that every API shape maps onto
one set of options with one validation. Types are strict: ``false`` is not an integer and
``"5"`` is not a number of seconds, so a wrong type is refused instead of guessed.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator

# At most 32 digits, * and # (after an optional +), with at least one digit: "*", "#" and "+*#"
# dial nothing anyone means (docs/decisions.md). A + is followed by a digit (E.164); a feature
# code starts with at most three * or # (*97, *#06#). No look-ahead: pydantic's regex lacks it.
NUMBER_RE = re.compile(r"^(?:\+?[0-9][0-9*#]{0,31}|[*#]{1,3}[0-9][0-9*#]{0,28})$")
DTMF_RE = re.compile(r"^[0-9*#wW]{1,64}$")
VARIABLE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# A caller name goes into `"name" <number>`: quotes and angle brackets would break it.
CALLER_NAME_RE = re.compile(r'^[^"<>\x00-\x1f\x7f]{0,64}$')

MAX_VARIABLES = 32
MAX_VARIABLE_VALUE = 256

Number = Annotated[StrictStr, Field(pattern=NUMBER_RE.pattern, examples=["1001"])]
CallerName = Annotated[StrictStr, Field(pattern=CALLER_NAME_RE.pattern, max_length=64)]
Seconds = Annotated[StrictInt, Field(ge=1)]


class CallbackOptions(BaseModel):
    """Every option of a callback, by the seed's names, shared by all API shapes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_public_transfer: StrictBool = Field(
        True, description="Let a party transfer the call (DTMF code or SIP REFER) when an external number is involved.")
    announce_sound_id: Annotated[StrictInt, Field(ge=0)] | None = Field(
        None, description="Sound played to the origin that answered, before the destination is dialled.")
    dst_announce_sound_id: Annotated[StrictInt, Field(ge=0)] | None = Field(
        None, description="Sound played to everyone when the destination answers.")
    call_duration: Seconds | None = Field(None, description="Maximum call duration after answer, in seconds.")
    wait_for_pickup: Seconds | None = Field(
        None, description="Ring limit in seconds, first for the origins, then for the destination "
                          "(restarted when the destination starts early media).")
    caller_id_name: CallerName | None = None
    caller_id_number: Number | None = None
    src_caller_id_name: CallerName | None = None
    src_caller_id_number: Number | None = None
    src_ani: Number | None = Field(None, description="Caller number for external origins, if one of the client's DIDs.")
    dst_ani: Number | None = Field(
        None, description="Caller number for an external destination, if one of the client's DIDs.")
    dst_dtmf: Annotated[StrictStr, Field(pattern=DTMF_RE.pattern)] | None = Field(
        None, description="Digits sent to the destination on answer: 0-9 * # and w (0.5 s) / W (1 s) pauses.")
    transfer_after_dst_hangup: Number | None = Field(
        None, description="Where the origin is transferred when the destination hangs up.")
    transfer_after_src_hangup: Number | None = Field(
        None, description="Where the destination is transferred when the origin hangs up.")
    callback_rate_limit: Annotated[StrictInt, Field(ge=0, le=100)] | None = Field(
        None, description="Share (%) of the client's concurrent-call limit callbacks may use; 100 always refuses.")
    variables: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="Channel variables set on every leg (inherited through the dialplan).")

    @field_validator("variables")
    @classmethod
    def _check_variables(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_VARIABLES:
            raise ValueError(f"at most {MAX_VARIABLES} variables")
        for name, val in value.items():
            if not VARIABLE_NAME_RE.fullmatch(name) or name.upper().startswith("CB_"):
                raise ValueError(f"variable name {name!r} must match {VARIABLE_NAME_RE.pattern} "
                                 "and not start with CB_ (reserved)")
            if len(val) > MAX_VARIABLE_VALUE or any(ord(ch) < 32 or ord(ch) == 127 for ch in val):
                raise ValueError(f"variable {name!r}: at most {MAX_VARIABLE_VALUE} printable characters")
        return value


class CallbackRequest(CallbackOptions):
    """The canonical request every API shape is turned into."""

    src: Annotated[list[Number], Field(min_length=1)]
    dst: Number
    client_id: StrictStr | None = None
    extension_id: StrictStr | None = None
    simultaneous: StrictBool = Field(False, description="Ring the destination at the same time as the "
                                     "origins (two-leg API); connect when both answered.")

    @field_validator("src")
    @classmethod
    def _distinct_sources(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("origin numbers must be distinct")
        return value

    def options(self) -> dict[str, object]:
        """The options alone, as given (for storing the request)."""
        return self.model_dump(exclude={"src", "dst", "client_id", "extension_id"}, exclude_none=True)
