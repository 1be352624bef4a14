"""The webhook settings: ``clients.<id>.webhooks`` (where each client's events go) and
``webhook_delivery`` (how they are sent and retried). Errors name the key, as in config.py."""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from .backoff import RetryPolicy
from .events import ALL, EVENT_TYPES

NAME = r"^[A-Za-z0-9_.:@-]{1,64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookSettings(_Strict):
    """One receiver of a client's callback events (docs/webhooks.md)."""

    id: str | None = Field(None, pattern=NAME, description=(
        "stable name of this webhook in the delivery log; default: derived from the url (so a new url "
        "is a new webhook, and deliveries still pending for the old one fail)"))
    url: str = Field(max_length=2048, description="http(s) URL the events are POSTed to")
    secret: SecretStr = Field(description="HMAC-SHA256 key of the X-Callback-Signature header, 16 characters or more")
    events: list[str] | None = Field(None, description="event types to send (docs/webhooks.md); default: all")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^/\s?#]+(/\S*)?", value):
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (a guessable key signs nothing)")
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str] | None) -> list[str] | None:
        unknown = [name for name in value or [] if name != ALL and name not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)} or {ALL!r}")
        return value

    @property
    def webhook_id(self) -> str:
        return self.id or "url-" + hashlib.sha256(self.url.encode()).hexdigest()[:16]


class WebhookDeliverySettings(_Strict):
    """How every client's webhooks are sent and retried (docs/webhooks.md)."""

    timeout: float = Field(10.0, gt=0, le=120, description="seconds one POST may take, connecting included")
    first_retry_seconds: float = Field(10.0, gt=0, le=3600, description="wait after the first failed try")
    max_retry_seconds: float = Field(3600.0, gt=0, le=86400, description="the wait doubles up to this")
    max_attempts: int = Field(32, ge=1, le=1000, description="tries before a delivery is given up (failed)")
    poll_interval: float = Field(1.0, gt=0, le=60, description="how often the outbox and due retries are looked at")
    max_in_flight: int = Field(20, ge=1, le=500, description="POSTs this instance has open at once")
    keep_days: float = Field(30.0, gt=0, le=3650, description=(
        "delivered and given-up deliveries are forgotten after this many days (the delivery log's reach)"))

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(first_delay=self.first_retry_seconds, max_delay=self.max_retry_seconds,
                           max_attempts=self.max_attempts)
