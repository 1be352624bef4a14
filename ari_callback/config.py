"""Configuration: a YAML file, overridden by ``ARI_CALLBACK_*`` environment variables.

Unknown keys are refused and every error names the key, so a typo never silently turns a
setting off. Nested keys are reached from the environment with ``__``:
``ARI_CALLBACK_ARI__URL=http://127.0.0.1:8088``.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .config_clients import MEDIA_URI as MEDIA_URI
from .config_clients import NAME as NAME
from .config_clients import CallerIdSettings as CallerIdSettings
from .config_clients import ClientSettings as ClientSettings
from .config_clients import DestinationSettings as DestinationSettings
from .config_clients import ExtensionSettings as ExtensionSettings
from .config_clients import _regex, _Strict
from .customer_schema import SID, ProfileSettings
from .domain.destinations import DestinationPolicy
from .domain.plan import CallerId, ClientPolicy, DialingPolicy, Extension, Route, Trunk
from .webhooks.settings import WebhookDeliverySettings


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the key."""


class AriSettings(_Strict):
    url: str = Field("http://127.0.0.1:8088", description="Asterisk's HTTP server (without /ari)")
    username: str = "callback"
    password: SecretStr = SecretStr("callback-secret")
    app: str = Field("callback", pattern=r"^[A-Za-z0-9_.-]{1,64}$",
                     description="Stasis app name; one per running instance")
    max_connections: int = Field(20, ge=1, le=90, description="HTTP pool; stay below http.conf sessionlimit")
    timeout: float = Field(10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^/\s]+(:\d+)?/?", value):
            raise ValueError("must look like http://host:port")
        return value.rstrip("/")


class IdempotencySettings(_Strict):
    """``Idempotency-Key`` on the POSTs that start a call (docs/api-safety.md)."""

    ttl_seconds: float = Field(86400.0, ge=60, le=30 * 86400, description=(
        "how long a key and its first answer are kept; after that the key may be used again"))
    wait_seconds: float = Field(5.0, ge=0, le=60, description=(
        "how long a repeat waits for the first request's answer before 409 idempotency_in_progress"))
    lock_seconds: float = Field(60.0, ge=5, le=3600, description=(
        "a key still in progress after this long (its server died mid-request) may be taken over"))


class EventStreamSettings(_Strict):
    """``GET /v1/events`` (docs/operations.md)."""
    poll_interval: float = Field(0.25, gt=0, le=10, description="how often the outbox is read for new events")
    heartbeat_seconds: float = Field(15.0, gt=0, le=300, description=(
        "a comment line after this long without events, so proxies keep the stream open"))


class HttpSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = Field(65536, ge=1024, le=16 * 1024 * 1024, description=(
        "largest request body accepted (413 request_too_large beyond it)"))
    max_json_depth: int = Field(32, ge=4, le=200, description=(
        "deepest nesting of arrays and objects a JSON body may have (422 too_deep beyond it)"))
    retry_after_seconds: int = Field(5, ge=1, le=3600, description=(
        "Retry-After of a 429 (a concurrent-call or callback_rate_limit refusal)"))
    idempotency: IdempotencySettings = IdempotencySettings()
    metrics_public: bool = Field(False, description=(
        "serve /metrics without an API key (for a scraper on a trusted network); by default a key is needed"))
    events: EventStreamSettings = EventStreamSettings()


class InstanceSettings(_Strict):
    id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:@-]{1,128}$",
                           description="this instance's id; default <hostname>-<ari.app>")
    asterisk: str = Field("default", pattern=NAME, description=(
        "name of the Asterisk this instance serves; a client pinned to another is not dialled here"))
    lease_seconds: float = Field(15.0, ge=2, le=600, description=(
        "how long a dead instance's calls wait before another instance takes them over"))
    claim_batch: int = Field(50, ge=1, le=1000, description="callbacks claimed per statement")
    max_calls: int = Field(200, ge=1, le=5000, description=(
        "attempts this instance runs at once; due work beyond it waits for this or another instance"))
    poll_interval: float = Field(1.0, gt=0, le=60, description="how often due work is looked for")
    cancel_poll_interval: float = Field(0.25, gt=0, le=1, description=(
        "how often cancel requests made on other instances are looked for"))
    sweep_interval: float = Field(5.0, gt=0, le=3600, description=(
        "how often channels and bridges left by finished attempts (any instance's) are removed"))
    directory_poll_interval: float = Field(2.0, gt=0, le=300, description=(
        "how often clients, extensions, numbers and sounds changed on another instance are read"))


class ApiKey(_Strict):
    """A key seeded by the configuration; keys made with ``ari-callback keys create`` or
    ``POST /v1/keys`` live in the store instead."""

    key: SecretStr
    client: str = Field("default", description="the client it acts for; not given for an operator key")
    name: str = Field("", max_length=128)
    scope: Literal["full", "read_only", "operator"] = Field("full", description=(
        "read_only: 403 forbidden on writes; operator: manages every client (/v1/clients), acts for none"))
    extension: str | None = Field(None, description="an extension user: seed 002's routes of this extension only")


class FonoloAccount(_Strict):
    """Credentials of Fonolo's API v3.0 (``/3.0/``): HTTP Basic with an account SID and an auth
    token, in the formats Fonolo's SDKs check before they send anything."""

    sid: str = Field(pattern=r"^[A-Z]{2}[0-9a-f]{32}$", description="account SID, e.g. AC + 32 hex digits")
    token: SecretStr = Field(description="auth token: 64 lower-case hex digits")
    client: str = "default"
    scope: Literal["full", "read_only"] = Field("full", description="read_only: 403 forbidden on writes")

    @field_validator("token")
    @classmethod
    def _token_form(cls, value: SecretStr) -> SecretStr:
        if not re.fullmatch(r"[0-9a-f]{64}", value.get_secret_value()):
            raise ValueError("must be 64 lower-case hex digits (Fonolo's SDKs refuse anything else)")
        return value


class TrunkSettings(_Strict):
    dial: str = Field(description="dial string template: {number} and the route's named groups")
    formats: str | None = "ulaw"
    external: bool = False


class RouteSettings(_Strict):
    match: str = Field(description="regular expression matched against the whole number")
    trunk: str

    @field_validator("match")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return _regex(value)


class DialingSettings(_Strict):
    dst_context: str = "dst-route"
    origin_context: str = Field("cb-origin", description=(
        "dialplan context origins are rung into: it enters the app on answer, or apologises when "
        "the app is gone; empty: origins enter the app directly (no apology)"))
    transfer_context: str = "transfer-targets"
    dst_formats: str = "ulaw"
    wait_for_pickup: int = Field(30, ge=1, description="default ring limit, seconds")
    max_wait_for_pickup: int = Field(300, ge=1)
    call_duration: int = Field(3600, ge=1, description="default maximum call duration, seconds")
    max_call_duration: int = Field(86400, ge=1)
    max_src_numbers: int = Field(10, ge=1, le=50)
    playback_timeout: float = Field(60.0, gt=0, description="give up waiting for an announcement")
    transfer_code: str = Field("##", pattern=r"^[0-9*#]{1,4}$")
    queue_context: str = Field("cb-queue", pattern=r"^[A-Za-z0-9_-]{1,64}$", description=(
        "customer first: the queue leg is Local/<queue>@<this>, which runs Queue()"))
    agent_first_context: str = Field("cb-agent-first", pattern=r"^[A-Za-z0-9_-]{1,64}$", description=(
        "agent first: the origin is Local/<queue>@<this>, answered when an agent answers"))
    trunks: dict[str, TrunkSettings] = Field(default_factory=lambda: {
        "default": TrunkSettings(dial="PJSIP/{number}@trunk", external=True)})
    routes: list[RouteSettings] = Field(default_factory=lambda: [RouteSettings(match=r"\+?[0-9*#]+",
                                                                              trunk="default")])


class TriggerSettings(_Strict):
    """Dialplan triggers: Stasis(<app>,request|ringback|call,...) (docs/dialplan-triggers.md)."""

    client: str = Field("default", pattern=NAME, description="the client every trigger acts for")
    ringback_mode: Literal["reject", "prompt"] = Field("reject", description=(
        "reject: the inbound call is handed back unanswered (the caller pays nothing); "
        "prompt: answered, ringback_prompt played, then handed back"))
    ringback_prompt: list[str] = Field(default_factory=lambda: ["sound:auth-thankyou"])
    ringback_delay: float = Field(5.0, ge=0, le=3600, description="seconds before the caller is called back")
    ringback_destinations: list[str] | None = Field(None, description=(
        "regular expressions a ring-back destination must match in full; "
        "default: the dialing routes whose trunk is not external"))
    digit_timeout: float = Field(8.0, gt=0, le=60, description="wait for a key, seconds")
    prompt_timeout: float = Field(30.0, gt=0, le=300, description="longest wait for one prompt to finish")
    max_seconds: float = Field(180.0, gt=0, le=1800, description=(
        "a trigger channel is handed back to the dialplan after this, whatever happens"))

    @field_validator("ringback_destinations")
    @classmethod
    def _compiles(cls, value: list[str] | None) -> list[str] | None:
        for pattern in value or []:
            re.compile(pattern)
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARI_CALLBACK_", env_nested_delimiter="__",
                                      extra="forbid")

    ari: AriSettings = AriSettings()
    instance: InstanceSettings = InstanceSettings()
    http: HttpSettings = HttpSettings()
    api_keys: list[ApiKey] = Field(default_factory=list)
    api_key: SecretStr | None = Field(None, description="shorthand: one key for the default client")
    fonolo_accounts: list[FonoloAccount] = Field(default_factory=list, description=(
        "account SID and auth token pairs for /3.0/ (Fonolo's API), each naming its client"))
    data_dir: Path = Path("./data")
    database_url: str | None = Field(None, description="default: SQLite in data_dir")
    log_level: Annotated[str, Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"
    log_format: Literal["console", "json"] = Field("console", description=(
        "console: text lines for people; json: one JSON object per line, for a log pipeline"))
    dialing: DialingSettings = DialingSettings()
    clients: dict[str, ClientSettings] = Field(default_factory=lambda: {"default": ClientSettings()})
    profiles: dict[str, ProfileSettings] = Field(default_factory=dict, description=(
        "call-back profiles by sid (seed 000), written to the store at every start"))
    triggers: TriggerSettings = TriggerSettings()
    webhook_delivery: WebhookDeliverySettings = WebhookDeliverySettings()

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return env_settings, init_settings   # the environment overrides the file

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'ari-callback.db').resolve()}"

    @property
    def instance_id(self) -> str:
        return self.instance.id or f"{socket.gethostname()}-{self.ari.app}"

    def keys(self) -> dict[str, str]:
        """A client's API key -> its client id (the operator's keys act for no client)."""
        return {k.key.get_secret_value(): k.client for k in self.config_keys() if k.scope != "operator"}

    def secrets(self) -> list[str]:
        """Everything the configuration holds that must never reach a log line."""
        found = [self.ari.password.get_secret_value(), *(k.key.get_secret_value() for k in self.config_keys())]
        found += [account.token.get_secret_value() for account in self.fonolo_accounts]
        try:
            password = make_url(self.database_url).password if self.database_url else None
        except ArgumentError:
            password = None   # not a URL: the store says so when it opens it
        return [*found, str(password)] if password else found

    def config_keys(self) -> list[ApiKey]:
        """The keys the configuration seeds, the ``api_key`` shorthand included."""
        found = list(self.api_keys)
        if self.api_key is not None and self.api_key.get_secret_value():
            found.append(ApiKey(key=self.api_key, client="default", name="api_key"))
        return found

    def dialing_policy(self) -> DialingPolicy:
        d = self.dialing
        trunks = {name: Trunk(name, t.dial, t.formats, t.external) for name, t in d.trunks.items()}
        routes = tuple(Route(re.compile(r.match), r.trunk) for r in d.routes)
        return DialingPolicy(trunks=trunks, routes=routes, dst_context=d.dst_context,
                             transfer_context=d.transfer_context, dst_formats=d.dst_formats,
                             default_wait_for_pickup=d.wait_for_pickup, max_wait_for_pickup=d.max_wait_for_pickup,
                             default_call_duration=d.call_duration, max_call_duration=d.max_call_duration,
                             max_src_numbers=d.max_src_numbers, playback_timeout=d.playback_timeout,
                             transfer_code=d.transfer_code)

    def client_policy(self, client_id: str) -> ClientPolicy | None:
        c = self.clients.get(client_id)
        if c is None:
            return None
        extensions = {eid: Extension(eid, e.number, e.name, e.type) for eid, e in c.extensions.items()}
        return ClientPolicy(client_id=client_id, max_concurrent_calls=c.max_concurrent_calls,
                            external_numbers=frozenset(c.external_numbers),
                            sounds={k: tuple(v) for k, v in c.sounds.items()}, extensions=extensions,
                            caller_id=CallerId(c.caller_id.name, c.caller_id.number),
                            destinations=DestinationPolicy.of(c.destinations.allow, c.destinations.deny))

    def check(self) -> None:
        """Cross-field rules pydantic cannot see field by field."""
        for i, route in enumerate(self.dialing.routes):
            if route.trunk not in self.dialing.trunks:
                raise ConfigError(f"dialing.routes.{i}.trunk: no trunk named {route.trunk!r}")
        for i, key in enumerate(self.api_keys):
            if key.scope == "operator":
                if "client" in key.model_fields_set or key.extension is not None:
                    raise ConfigError(f"api_keys.{i}: an operator key acts for no client: give it no client or "
                                      "extension")
                continue
            if key.client not in self.clients:
                raise ConfigError(f"api_keys.{i}.client: key for unknown client {key.client!r}")
            if key.extension is not None and key.extension not in self.clients[key.client].extensions:
                raise ConfigError(f"api_keys.{i}.extension: client {key.client!r} has no extension {key.extension!r}")
        if self.api_key is not None and self.api_key.get_secret_value() and "default" not in self.clients:
            raise ConfigError("api_key: key for unknown client 'default'")
        for i, account in enumerate(self.fonolo_accounts):
            if account.client not in self.clients:
                raise ConfigError(f"fonolo_accounts.{i}.client: no client named {account.client!r}")
        sids = [account.sid for account in self.fonolo_accounts]
        for sid in {s for s in sids if sids.count(s) > 1}:
            raise ConfigError(f"fonolo_accounts: account SID {sid!r} is listed twice")
        for sid, profile in self.profiles.items():
            if not re.fullmatch(SID, sid):
                raise ConfigError(f"profiles.{sid}: a profile sid is 1-64 letters, digits, _ or -")
            if profile.client not in self.clients:
                raise ConfigError(f"profiles.{sid}.client: no client named {profile.client!r}")
        if self.triggers.client not in self.clients:
            raise ConfigError(f"triggers.client: no client named {self.triggers.client!r}")
        for name, settings in self.clients.items():
            ids = [hook.webhook_id for hook in settings.webhooks]
            for i, hook in enumerate(settings.webhooks):
                if hook.webhook_id in ids[:i]:
                    raise ConfigError(f"clients.{name}.webhooks.{i}: webhook {hook.webhook_id!r} is listed twice "
                                      "(give each an id of its own)")
        options = [osid for profile in self.profiles.values() for osid in profile.options]
        for osid in {o for o in options if options.count(o) > 1}:
            raise ConfigError(f"profiles: option sid {osid!r} is used by two profiles")


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        lines.append(f"{where}: {item['msg']}")
    return "; ".join(lines)


def load_settings(path: Path | str | None = None) -> Settings:
    """Read the YAML file (if any), apply the environment, validate. Raises ConfigError."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {path}: the top level must be a mapping")
        data = loaded or {}
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(f"config error: {_describe(exc)}") from None
    settings.check()
    return settings
