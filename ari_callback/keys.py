"""API keys: how they are made, hashed and shown. No I/O: the store keeps them, the API and the
CLI hand them out (docs/decisions.md, "API keys").

A key is ``acb_`` and 43 URL-safe characters (32 random bytes). Only its SHA-256 is stored:
with 256 random bits a fast hash is as safe as a slow one, and a lookup costs one index probe.
The prefix (``acb_`` + 8 characters) is kept to tell keys apart in lists and logs.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Literal

KEY_PREFIX = "acb_"
SHOWN_CHARS = 8                     # of the random part, in the displayed prefix
Scope = Literal["full", "read_only", "operator"]
SCOPES: tuple[Scope, ...] = ("full", "read_only")   # a client's keys; a client may make these itself
# The operator's key manages every client (/v1/clients) and acts for none: it is made only with
# ``ari-callback keys create --operator`` or seeded by the configuration.
OPERATOR: Scope = "operator"
OPERATOR_CLIENT = "*"   # what an operator key's client_id holds: no client is named so


def key_hash(secret: str) -> str:
    """What is stored and looked up: the key itself is never kept."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[:len(KEY_PREFIX) + SHOWN_CHARS]


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key as the store keeps it: everything but the secret."""

    id: str
    client_id: str
    name: str
    key_hash: str
    prefix: str
    scope: Scope
    extension: str | None
    created_at: float
    revoked_at: float | None = None
    last_used_at: float | None = None
    source: str = "store"           # "config": seeded by the configuration, revoked by editing it


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made: ``secret`` is shown once, to whoever made it, and never again."""

    secret: str
    stored: StoredKey


def make_key(client_id: str, now: float, *, name: str = "", scope: Scope = "full",
             extension: str | None = None) -> NewKey:
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    stored = StoredKey(id="key_" + uuid.uuid4().hex[:16], client_id=client_id, name=name, key_hash=key_hash(secret),
                       prefix=display_prefix(secret), scope=scope, extension=extension, created_at=now)
    return NewKey(secret, stored)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for: a client, and what its key limits it to. Two keys in one request
    must name the same principal (the key ids may differ)."""

    client_id: str
    scope: Scope = "full"
    extension: str | None = None    # an extension user: seed 002's routes of this extension only
    key_id: str | None = field(default=None, compare=False)

    @property
    def read_only(self) -> bool:
        return self.scope == "read_only"

    @property
    def operator(self) -> bool:
        return self.scope == OPERATOR
