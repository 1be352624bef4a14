"""Call-back profiles with their call options and questions, stored as the schema that checks
them (``customer_schema``): what was valid when written is read back the same way."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..customer_schema import OptionSettings, ProfileSettings, QuestionSettings, WebSettings
from .db import translated
from .sql import dialect_insert
from .tables import call_options, profiles, questions
from .writer import Writer

_OPTION_COLUMNS = ("name", "position", "status")


class ProfileWrites:
    engine: AsyncEngine
    _writer: Writer

    def check_file(self) -> None: ...

    async def save_profile(self, sid: str, settings: ProfileSettings, now: float) -> None:
        """Create or replace a profile whole: options and questions it no longer has go."""
        row = dict(sid=sid, client_id=settings.client, name=settings.name, status=settings.status,
                   sms=settings.sms, scheduling=settings.scheduling, timezone=settings.timezone,
                   web=settings.web.model_dump(mode="json"), created_at=now, updated_at=now)
        self.check_file()
        with translated("storing a profile"):
            async with self._writer.begin() as conn:
                stmt = dialect_insert(conn, profiles).values(row)
                await conn.execute(stmt.on_conflict_do_update(
                    index_elements=[profiles.c.sid],
                    set_={k: stmt.excluded[k] for k in row if k not in ("sid", "created_at")}))
                await conn.execute(delete(call_options).where(call_options.c.profile_sid == sid))
                await conn.execute(delete(questions).where(questions.c.profile_sid == sid))
                if settings.options:
                    await conn.execute(call_options.insert(), [_option_row(sid, osid, o, now)
                                                               for osid, o in settings.options.items()])
                if settings.questions:
                    await conn.execute(questions.insert(), [
                        dict(sid=qsid, profile_sid=sid, position=q.position, settings=q.model_dump(mode="json"))
                        for qsid, q in settings.questions.items()])

    async def set_option_status(self, client_id: str, option_sid: str, status: str, now: float) -> bool:
        """Pause, close or reopen an option of the client's; False if it has no such option."""
        owned = select(profiles.c.sid).where(profiles.c.client_id == client_id)
        stmt = (update(call_options).where(call_options.c.sid == option_sid,
                                           call_options.c.profile_sid.in_(owned))
                .values(status=status, updated_at=now))
        self.check_file()
        with translated("changing an option's status"):
            async with self._writer.begin() as conn:
                return (await conn.execute(stmt)).rowcount > 0

    async def delete_profile(self, client_id: str, sid: str) -> bool:
        self.check_file()
        with translated("deleting a profile"):
            async with self._writer.begin() as conn:
                stmt = delete(profiles).where(profiles.c.sid == sid, profiles.c.client_id == client_id)
                return (await conn.execute(stmt)).rowcount > 0

    async def load_profiles(self, client_id: str | None = None) -> dict[str, ProfileSettings]:
        """Every profile (of one client, when given), by sid."""
        query = select(profiles)
        if client_id is not None:
            query = query.where(profiles.c.client_id == client_id)
        with translated("reading profiles"):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).mappings().all()
                sids = [r["sid"] for r in rows]
                options = (await conn.execute(select(call_options).where(
                    call_options.c.profile_sid.in_(sids)))).mappings().all()
                asked = (await conn.execute(select(questions).where(
                    questions.c.profile_sid.in_(sids)))).mappings().all()
        return {r["sid"]: _profile(r, [o for o in options if o["profile_sid"] == r["sid"]],
                                   [q for q in asked if q["profile_sid"] == r["sid"]]) for r in rows}


def _option_row(profile_sid: str, sid: str, option: OptionSettings, now: float) -> dict[str, Any]:
    settings = option.model_dump(mode="json", exclude=set(_OPTION_COLUMNS))
    return dict(sid=sid, profile_sid=profile_sid, name=option.name, position=option.position,
                status=option.status, settings=settings, updated_at=now)


def _profile(row, options, asked) -> ProfileSettings:
    return ProfileSettings(
        client=row["client_id"], name=row["name"], status=row["status"], sms=row["sms"],
        scheduling=row["scheduling"], timezone=row["timezone"], web=WebSettings(**(row["web"] or {})),
        options={o["sid"]: OptionSettings(**o["settings"], **{k: o[k] for k in _OPTION_COLUMNS}) for o in options},
        questions={q["sid"]: QuestionSettings(**q["settings"]) for q in asked})
