"""The directory: the clients and what each has (limits, caller id, destination policy,
extensions, external numbers, sounds), from the configuration and the store together.

The configuration's ``clients`` are the defaults. What the API or the CLI changes is stored, and
wins: a client row holds the settings changed from the configuration's (or all of them for a
client made in the store), and an extension, number or sound stored under an id the
configuration also has replaces it. What only the configuration has is changed there, not
through the API (409 ``..._in_config``), so a restart never undoes an API change.

``Settings.clients`` is kept as the merged view, replaced in one step (nothing runs between
the two statements), so every reader (admission, plans, keys, triggers) sees one directory.
Every instance re-reads the store every ``instance.directory_poll_interval`` seconds, and the
one that wrote at once (docs/decisions.md: "The directory").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .config import NAME, CallerIdSettings, ClientSettings, DestinationSettings, ExtensionSettings, Settings
from .domain.request import CALLER_NAME_RE, NUMBER_RE
from .loops import run_forever
from .store.directory import StoredDirectory

log = logging.getLogger("ari_callback.directory")
Source = Literal["config", "store"]


class ClientChanges(BaseModel):
    """A client's settings as the API and the CLI change them: only the fields given are stored."""

    model_config = ConfigDict(extra="forbid")

    max_concurrent_calls: int = Field(10, ge=1, le=100_000, description="callbacks unfinished at once")
    max_calls_per_second: float | None = Field(None, gt=0, le=1000, description=(
        "callbacks started per second over all instances; null: no such limit"))
    destinations: DestinationSettings = Field(default_factory=DestinationSettings)
    asterisk: str | None = Field(None, pattern=NAME, description="pinned to the instances serving this Asterisk")
    caller_id: CallerIdSettings = Field(default_factory=CallerIdSettings)

    @field_validator("caller_id")
    @classmethod
    def _presentable(cls, value: CallerIdSettings) -> CallerIdSettings:
        if not CALLER_NAME_RE.fullmatch(value.name):
            raise ValueError("a caller name is at most 64 characters, without quotes, <, > or control characters")
        if value.number and not NUMBER_RE.fullmatch(value.number):
            raise ValueError("a caller number is digits, *, # and an optional leading +")
        return value


def changes_of(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The stored changes, validated, as ``model_copy`` updates (only the fields that were given)."""
    changes = ClientChanges.model_validate(dict(stored))
    return {name: getattr(changes, name) for name in changes.model_fields_set}


def merged(base: Mapping[str, ClientSettings], stored: StoredDirectory) -> dict[str, ClientSettings]:
    """Every client of the configuration or of the store, with the store's changes over the
    configuration's. Stored rows of a client that is in neither (removed since) are ignored."""
    found = {}
    for client_id in sorted(set(base) | set(stored.clients)):
        own = base.get(client_id) or ClientSettings()
        update = changes_of(stored.clients.get(client_id, {}))
        extensions = {eid: ExtensionSettings(**e) for eid, e in stored.extensions.get(client_id, {}).items()}
        update["extensions"] = {**own.extensions, **extensions}
        extra = sorted(stored.numbers.get(client_id, set()) - set(own.external_numbers))
        update["external_numbers"] = [*own.external_numbers, *extra]
        update["sounds"] = {**own.sounds, **stored.sounds.get(client_id, {})}
        found[client_id] = own.model_copy(update=update)
    return found


class Directory:
    def __init__(self, settings: Settings, store: Any):
        self.settings, self.store = settings, store
        self.base = dict(settings.clients)   # the configuration's, as loaded
        self.stored = StoredDirectory()
        self._task: asyncio.Task[None] | None = None
        # One refresh at a time: a poll whose read began before a write must not apply its
        # older view after the writer's own refresh has applied the newer one.
        self._lock = asyncio.Lock()

    async def refresh(self) -> bool:
        """Read the store's directory; True if it changed (and the merged view with it)."""
        async with self._lock:
            stored = await self.store.read_directory()
            if stored == self.stored:
                return False
            effective = merged(self.base, stored)
            clients = self.settings.clients
            clients.clear()
            clients.update(effective)
            self.stored = stored
            return True

    def source(self, client_id: str, kind: Literal["extensions", "numbers", "sounds"], item: Any) -> Source:
        """Where an item of the merged view comes from: the store wins over the configuration."""
        held = getattr(self.stored, kind).get(client_id, {})
        return "store" if item in held else "config"

    def in_config(self, client_id: str, kind: Literal["extensions", "external_numbers", "sounds"], item: Any) -> bool:
        own = self.base.get(client_id)
        return own is not None and item in getattr(own, kind)

    def start(self, interval: float) -> None:
        async def poll() -> None:
            while True:
                await asyncio.sleep(interval)
                await self.refresh()

        self._task = asyncio.create_task(run_forever("directory", poll, interval, log), name="directory")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
