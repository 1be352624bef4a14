"""What each trigger verb does: the caller's side on the channel, the callback through the
same services as the REST API (so its validation, limits and caller-ID rules apply).

Every flow returns the callback id it made, or raises ``TriggerError`` (CB_RESULT=error) or
``ChannelGone`` (the caller hung up: nothing to hand back).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..callbacks import CallbackService, ServiceError
from ..config import TriggerSettings
from ..customers import CustomerService
from ..domain.request import CallbackRequest
from . import rules
from .channel import TriggerChannel
from .rules import Reason, TriggerError

MAX_TRIES = 3        # tries at keying in and confirming a number
NUMBER_DIGITS = 20   # the longest number a caller may key in


@dataclass
class TriggerContext:
    """What the flows need, given when the desk is made."""

    settings: TriggerSettings
    customers: CustomerService
    callbacks: CallbackService
    destinations: rules.DestinationPolicy
    clock: Callable[[], float] = time.time

    @property
    def client(self) -> str:
        return self.settings.client


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """A service's refusal is the trigger's failure, with the service's stable error id."""
    try:
        yield
    except ServiceError as exc:
        raise TriggerError(exc.error_id, exc.message) from None


async def run(trigger: rules.Trigger, ch: TriggerChannel, ctx: TriggerContext) -> str:
    match trigger:
        case rules.RequestTrigger():
            return await request(trigger, ch, ctx)
        case rules.RingbackTrigger():
            return await ringback(trigger, ch, ctx)
        case rules.CallTrigger():
            with _refusals():
                return await ctx.callbacks.create(trigger.request, client_id=ctx.client, api="dialplan")
    raise TypeError(f"unknown trigger {trigger!r}")


# ------------------------------------------------------------------------------- request
async def request(trigger: rules.RequestTrigger, ch: TriggerChannel, ctx: TriggerContext) -> str:
    """Queue exit: register a customer callback that keeps the caller's place, say the wait."""
    await _check_option(trigger.option, ctx)
    await ch.answer()
    number = trigger.number or await _confirmed_number(ch, ctx, ask=trigger.ask)
    joined = rules.queue_joined(await ch.variable("CB_QUEUE_JOINED"), ctx.clock())
    with _refusals():
        accepted = await ctx.customers.request(ctx.client, option_sid=trigger.option, number=number,
                                               api="dialplan", source="dialplan", place_at=joined)
        forecast = await ctx.customers.forecast_of(accepted.view)
    wait = forecast.wait_seconds if forecast is not None else None
    await ch.play(rules.wait_prompt(wait), timeout=ctx.settings.prompt_timeout)
    return accepted.callback_id


async def _check_option(option_sid: str, ctx: TriggerContext) -> None:
    """Refuse a paused or closed option before the caller keys anything in."""
    with _refusals():
        profile, option = await ctx.customers.find_option(ctx.client, option_sid)
    refusal = option.refusal(ctx.clock())
    if profile.status != "active":
        raise TriggerError("profile_paused", f"profile {profile.sid} is paused")
    if refusal is not None:
        raise TriggerError(refusal.error_id, refusal.message)


async def _confirmed_number(ch: TriggerChannel, ctx: TriggerContext, *, ask: bool) -> str:
    """The caller's number read back and confirmed with 1; 2 (or no caller ID, or ``ask``)
    lets them key one in, read back and confirmed the same way."""
    s = ctx.settings
    candidate = None if ask else rules.caller_number(ch.channel.caller.number)
    for _ in range(MAX_TRIES):
        if candidate is None:
            await ch.play(list(rules.ENTER_NUMBER), timeout=s.prompt_timeout, barge_in=True)
            candidate = await ch.read(max_digits=NUMBER_DIGITS, first_timeout=s.digit_timeout,
                                      next_timeout=s.digit_timeout) or None
            if candidate is None or rules.caller_number(candidate) is None:
                candidate = None
                continue
        await ch.play(rules.confirm_prompt(candidate), timeout=s.prompt_timeout, barge_in=True)
        answer = await ch.read(max_digits=1, first_timeout=s.digit_timeout, next_timeout=0)
        if answer == "1":
            return candidate
        candidate = None   # 2, anything else or nothing: key one in
    raise TriggerError(Reason.NOT_CONFIRMED, "no number confirmed")


# ------------------------------------------------------------------------------ ringback
async def ringback(trigger: rules.RingbackTrigger, ch: TriggerChannel, ctx: TriggerContext) -> str:
    """End the inbound call (unanswered, or after a short prompt) and call the caller back."""
    ctx.destinations.check(trigger.destination)
    caller = rules.caller_number(ch.channel.caller.number)
    if caller is None:
        raise TriggerError(Reason.NO_CALLER_NUMBER, "the caller's number is unknown")
    request = CallbackRequest(src=[caller], dst=trigger.destination)
    with _refusals():
        callback_id = await ctx.callbacks.create(request, client_id=ctx.client, api="dialplan",
                                                 delay=ctx.settings.ringback_delay)
    if (trigger.mode or ctx.settings.ringback_mode) == "prompt":
        await ch.answer()
        await ch.play(list(ctx.settings.ringback_prompt), timeout=ctx.settings.prompt_timeout)
    return callback_id
