"""Customer callbacks: what the seed 000 and 003 APIs, the native API and the CLI ask for.

A customer asks to be called back on a call option (a queue), now or at a chosen slot. The
request is checked against the option (active, open for requests), the profile's questions and
its schedule, resolved into a plan in the option's dial mode, and stored in the option's
waitlist. The dispatcher dials each waitlist in order while its option is open and has room.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .callbacks import ServiceError, made_with_this_key, store_errors
from .config import Settings
from .customer_schema import ProfileSettings, callback_policy
from .domain import customer as c
from .domain import slots as slot_rules
from .domain import waitlist as wl
from .domain.plan import PlanError
from .domain.request import NUMBER_RE
from .domain.snapshot import plan_to_dict
from .store import CallbackView, IdempotentRepeat, NewCallback, PendingCallback
from .store.idempotency import current_tag

CATALOG_TTL_S = 2.0        # another instance's change to an option reaches this one within it
HISTORY_WINDOW_S = 3600.0  # the recent history the estimates learn from


@dataclass(frozen=True)
class Accepted:
    callback_id: str
    created: bool          # False: the number had a pending callback on this option, this one
    view: CallbackView


def _refused(exc: PlanError) -> ServiceError:
    return ServiceError(exc.status, exc.error_id, exc.message, exc.field)


class CustomerService:
    def __init__(self, settings: Settings, store, poke: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.time):
        self.settings, self.store, self.poke, self.clock = settings, store, poke, clock
        self.dialing = settings.dialing_policy()
        self.contexts = c.QueueContexts(settings.dialing.queue_context, settings.dialing.agent_first_context)
        self._catalog: dict[str, c.Profile] = {}
        self._catalog_at = float("-inf")

    # ---------------------------------------------------------------------- profiles
    async def seed_from_config(self) -> None:
        """The profiles of the config file, written at every start: the file wins for them."""
        with store_errors():
            for sid, profile in self.settings.profiles.items():
                await self.store.save_profile(sid, profile, self.clock())
        self._catalog_at = float("-inf")

    async def _profiles(self) -> dict[str, c.Profile]:
        if time.monotonic() - self._catalog_at > CATALOG_TTL_S:
            with store_errors():
                stored = await self.store.load_profiles()
            self._catalog = {sid: settings.profile(sid) for sid, settings in stored.items()}
            self._catalog_at = time.monotonic()
        return self._catalog

    async def _fresh_profiles(self) -> dict[str, c.Profile]:
        self._catalog_at = float("-inf")
        return await self._profiles()

    async def options(self) -> Mapping[str, c.CallOption]:
        """Every call option by sid: what the dispatcher asks before dialling a waitlist."""
        return {o.sid: o for p in (await self._profiles()).values() for o in p.options}

    async def profiles(self, client_id: str) -> list[c.Profile]:
        return sorted((p for p in (await self._profiles()).values() if p.client_id == client_id),
                      key=lambda p: p.sid)

    async def profile(self, client_id: str, sid: str) -> c.Profile:
        found = (await self._profiles()).get(sid)
        if found is None or found.client_id != client_id:
            raise ServiceError(404, "profile_not_found", f"no call-back profile {sid!r}")
        return found

    async def option(self, client_id: str, profile_sid: str, option_sid: str) -> tuple[c.Profile, c.CallOption]:
        profile = await self.profile(client_id, profile_sid)
        option = profile.option(option_sid)
        if option is None:
            raise ServiceError(404, "option_not_found", f"profile {profile_sid!r} has no call option {option_sid!r}")
        return profile, option

    async def find_option(self, client_id: str, option_sid: str) -> tuple[c.Profile, c.CallOption]:
        """An option by its sid alone (seed 000's ``fc_option``)."""
        for profile in await self.profiles(client_id):
            if (option := profile.option(option_sid)) is not None:
                return profile, option
        raise ServiceError(404, "option_not_found", f"no call option {option_sid!r}", "option")

    async def save_profile(self, client_id: str, sid: str, settings: ProfileSettings) -> c.Profile:
        settings = settings.model_copy(update={"client": client_id})
        catalog = await self._fresh_profiles()
        existing = catalog.get(sid)
        if existing is not None and existing.client_id != client_id:
            raise ServiceError(409, "profile_sid_taken", f"profile sid {sid!r} is taken")
        others = [p for other_sid, p in catalog.items() if other_sid != sid]
        taken = ({o.sid for p in others for o in p.options} & set(settings.options)
                 | {q.sid for p in others for q in p.questions} & set(settings.questions))
        if taken:   # option and question sids are global (seed 000's fc_option names one alone)
            raise ServiceError(409, "sid_taken", f"option or question sid {sorted(taken)[0]!r} is taken")
        with store_errors():
            await self.store.save_profile(sid, settings, self.clock())
        self._catalog_at = float("-inf")
        return settings.profile(sid)

    async def store_profiles(self, client_id: str) -> dict[str, ProfileSettings]:
        """The client's profiles as stored (the shape the native API reads and writes)."""
        with store_errors():
            return await self.store.load_profiles(client_id)

    async def delete_profile(self, client_id: str, sid: str) -> None:
        with store_errors():
            deleted = await self.store.delete_profile(client_id, sid)
        if not deleted:
            raise ServiceError(404, "profile_not_found", f"no call-back profile {sid!r}")
        self._catalog_at = float("-inf")

    async def set_option_status(self, client_id: str, option_sid: str, status: str) -> None:
        with store_errors():
            changed = await self.store.set_option_status(client_id, option_sid, status, self.clock())
        if not changed:
            raise ServiceError(404, "option_not_found", f"no call option {option_sid!r}")
        self._catalog_at = float("-inf")
        self.poke()

    # --------------------------------------------------------------------- requests
    async def request(self, client_id: str, *, option_sid: str, number: str, api: str,
                      answers: Mapping[str, str] | None = None, sms: bool = False,
                      start_at: float | None = None, timezone: str | None = None,
                      source: str = "api", place_at: float | None = None,
                      profile_sid: str | None = None) -> Accepted:
        """Accept a customer's callback (or return the one pending for the number and option)."""
        if (first := await made_with_this_key(self.store, client_id)) is not None:
            return Accepted(first, True, await self._view(first, client_id))
        profile, option = (await self.option(client_id, profile_sid, option_sid) if profile_sid
                           else await self.find_option(client_id, option_sid))
        now = self.clock()
        try:
            checked = self._check(profile, option, number, answers or {}, sms, timezone)
            due_at = await self._start(profile, option, start_at, now) if start_at is not None else now
        except PlanError as exc:
            raise _refused(exc) from None
        callback_id = str(uuid.uuid4())
        try:
            plan = c.customer_plan(callback_id, checked, profile, self._client(client_id), self.dialing,
                                   self.contexts)
        except PlanError as exc:
            raise _refused(exc) from None
        new = NewCallback(
            id=callback_id, client_id=client_id, api=api, plan=plan_to_dict(plan), created_at=now, due_at=due_at,
            status="scheduled" if start_at is not None else "queued",
            asterisk=self.settings.clients[client_id].asterisk, option_sid=option.sid, number=number,
            place_at=place_at if place_at is not None else due_at, source=source,
            policy=callback_policy(option, checked.timezone),
            request={"profile": profile.sid, "option": option.sid, "number": number, "answers": checked.answers,
                     "sms": sms, "timezone": checked.timezone, "start_at": start_at, "source": source},
            idem_tag=current_tag.get())
        with store_errors():
            try:
                await self.store.create(new)
            except PendingCallback as pending:
                return Accepted(pending.callback_id, False, await self._view(pending.callback_id, client_id))
            except IdempotentRepeat as repeat:   # its server died before answering: this is the answer
                return Accepted(repeat.callback_id, True, await self._view(repeat.callback_id, client_id))
        self.poke()
        return Accepted(callback_id, True, await self._view(callback_id, client_id))

    def _client(self, client_id: str):
        client = self.settings.client_policy(client_id)
        if client is None:
            raise ServiceError(403, "unknown_client", f"client {client_id!r} is not configured")
        return client

    def _check(self, profile: c.Profile, option: c.CallOption, number: str, answers: Mapping[str, str],
               sms: bool, timezone: str | None) -> c.CustomerRequest:
        if profile.status != c.ACTIVE:
            raise PlanError("profile_paused", f"call-back profile {profile.sid} is paused", status=409)
        refusal = option.refusal(self.clock())
        if refusal is not None:
            raise refusal
        if not NUMBER_RE.fullmatch(number or ""):
            raise PlanError("invalid_number", f"{number!r} is not a phone number", field="number")
        if sms and not profile.sms:
            raise PlanError("sms_not_enabled", f"profile {profile.sid} offers no SMS updates", field="sms")
        zone = timezone or profile.timezone
        try:
            ZoneInfo(zone)
        except (ValueError, ZoneInfoNotFoundError):
            raise PlanError("invalid_timezone", f"{zone!r} is not an IANA time zone", field="timezone") from None
        return c.CustomerRequest(number=number, option=option, answers=c.check_answers(profile, answers),
                                 sms=sms, timezone=zone)

    async def _start(self, profile: c.Profile, option: c.CallOption, start_at: float, now: float) -> float:
        if not profile.scheduling:
            raise PlanError("scheduling_not_enabled", f"profile {profile.sid} takes no scheduled callbacks",
                            field="start_at")
        booked = await self._booked(option, now)
        try:
            slot_rules.check_start(option.hours, option.slots, now, start_at, booked)
        except slot_rules.SlotError as exc:
            raise PlanError(exc.error_id, str(exc), field="start_at") from None
        return start_at

    async def _booked(self, option: c.CallOption, now: float) -> dict[float, int]:
        horizon = now + (option.slots.days_ahead + 1) * 86400
        with store_errors():
            starts = await self.store.scheduled_starts(option.sid, now - 86400, horizon)
        return dict(Counter(starts))   # the slot rules count the starts inside each slot

    async def schedule(self, client_id: str, profile_sid: str, option_sid: str) -> list[slot_rules.Slot]:
        profile, option = await self.option(client_id, profile_sid, option_sid)
        now = self.clock()
        return slot_rules.slots(option.hours, option.slots, now, await self._booked(option, now))

    async def _view(self, callback_id: str, client_id: str) -> CallbackView:
        with store_errors():
            view = await self.store.get(callback_id, client_id=client_id)
        if view is None:   # deleted between the write and this read: not ours to explain
            raise ServiceError(404, "callback_not_found", f"no callback {callback_id!r}")
        return view

    async def calls(self, client_id: str, **filters) -> list[CallbackView]:
        """The client's customer callbacks, newest first; filters as ``store.customer_calls``."""
        with store_errors():
            return await self.store.customer_calls(client_id, **filters)

    # -------------------------------------------------------------------- forecasts
    async def forecast(self, option: c.CallOption) -> dict[str, wl.Forecast]:
        """Every waiting callback of the option: its position and estimated wait now."""
        now = self.clock()
        with store_errors():
            waiting, running = await self.store.waitlist(option.sid)
            history = await self.store.history(option.sid, now - HISTORY_WINDOW_S)
        stats = wl.stats_from_history([wl.Finished(*h) for h in history], option.capacity, now)
        entries = [wl.Waiting(row.id, row.place_at, row.due_at) for row in waiting]
        return wl.forecast(entries, running, stats, now, option.hours)

    async def waitlist(self, option: c.CallOption) -> list[tuple[Any, wl.Forecast | None]]:
        """The option's waiting callbacks in waitlist order, each with its forecast."""
        with store_errors():
            waiting, _ = await self.store.waitlist(option.sid)
        forecasts = await self.forecast(option)
        ordered = sorted(waiting, key=lambda row: (row.place_at, row.id))
        return [(row, forecasts.get(row.id)) for row in ordered]

    async def forecast_of(self, view: CallbackView) -> wl.Forecast | None:
        """A waiting callback's forecast (None once it is dialled or over)."""
        option = (await self.options()).get(view.option_sid or "")
        if option is None or view.status not in ("queued", "scheduled"):
            return None
        return (await self.forecast(option)).get(view.id)

    async def by_number(self, client_id: str, number: str) -> list[tuple[CallbackView, wl.Forecast | None]]:
        """The callbacks of a customer's number, each with its forecast while it waits (seed 003)."""
        with store_errors():
            views = await self.store.by_number(client_id, number)
        options = await self.options()
        forecasts: dict[str, dict[str, wl.Forecast]] = {}
        out = []
        for view in views:
            option = options.get(view.option_sid or "")
            if option is not None and view.status in ("queued", "scheduled") and option.sid not in forecasts:
                forecasts[option.sid] = await self.forecast(option)
            out.append((view, forecasts.get(view.option_sid or "", {}).get(view.id)))
        return out
