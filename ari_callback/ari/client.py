"""Typed ARI REST calls, carried by a transport: HTTP, or the event websocket when it can.

Every request goes through :meth:`AriClient._send`, and from there through one
:class:`~ari_callback.ari.transport.AriTransport`: HTTP by default (one pooled httpx client,
bounded below Asterisk's ``sessionlimit``), REST over the event websocket once wired to an
:class:`~ari_callback.ari.stream.EventStream` (:meth:`AriClient.use_websocket`), or an
in-memory fake in tests. Every failure becomes an :class:`AriError`; nothing here swallows a
status, because only the engine's executor knows what a 404 means.

One thing is decided here: a request whose outcome is unknown (sent, no answer) is sent again
when repeating it cannot do anything twice: GET and DELETE, and the creates whose id we chose
(``channelId``, ``bridgeId``), which Asterisk answers 409 if the first one took effect. Such a
409 answers our own earlier attempt, so the client returns the resource it created.

Ids in paths are percent-encoded (``res_ari`` decodes each segment), so a Local channel's
``<id>;2`` half or any id we did not choose is addressed correctly.
"""

from __future__ import annotations

import json as json_module
import logging
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx

from ari_callback.ari.errors import AriError, AriOutcomeUnknown, AriRequestNotSent
from ari_callback.ari.models import AriModel, Bridge, Channel, Playback
from ari_callback.ari.transport import (
    AriRequest,
    AriResponse,
    AriTransport,
    FallbackTransport,
    HttpTransport,
    created_path,
    repeatable,
)
from ari_callback.stats import RequestStats, outcome_of

if TYPE_CHECKING:
    from ari_callback.ari.stream import EventStream

logger = logging.getLogger("ari_callback.ari")

Params = Mapping[str, str | int | float | bool | None]
T = TypeVar("T")
M = TypeVar("M", bound=AriModel)


def _body(method: str, path: str, response: AriResponse) -> Any:
    if response.status == 204 or not response.text:
        return None
    try:
        return json_module.loads(response.text)
    except ValueError as exc:
        raise AriError(method, path, response.status, response.text) from exc


def _list_of(model: type[M]) -> Callable[[Any], list[M]]:
    return lambda data: [model.model_validate(item) for item in data]


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    return data


def _value(data: Any) -> str:
    return str(data["value"])


def _seg(value: str) -> str:
    return quote(value, safe="")


def _encode_params(params: Params | None) -> dict[str, str]:
    """Drop unset params and spell booleans the way Asterisk parses them."""
    encoded: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        # bool before str(): bool is an int subclass, and the ARI spec documents true/false.
        encoded[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return encoded


class AriClient:
    """Asterisk's REST interface (``/ari``) as typed async methods.

    REST over the event websocket, with HTTP as the fallback, is one line once both exist
    (the stream made with the event filter, so Asterisk sends only what the engine uses)::

        stream = EventStream(url, user, password, app, event_filter=CALL_EVENT_TYPES)
        client.use_websocket(stream)

    ``rest_transport`` replaces HTTP altogether (tests pass an in-memory fake);
    ``transport`` is httpx's own transport under the HTTP one.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
        max_connections: int = 20,
        transport: httpx.AsyncBaseTransport | None = None,
        rest_transport: AriTransport | None = None,
        unknown_outcome_retries: int = 1,
    ) -> None:
        self.timeout = timeout
        self._http = HttpTransport(base_url, username, password, timeout=timeout,
                                   max_connections=max_connections, transport=transport)
        self.limits = self._http.limits
        self._transport: AriTransport = rest_transport or self._http
        self._retries = unknown_outcome_retries
        self.stats = RequestStats()   # for /metrics
        self.events: EventStream | None = None   # the websocket, once REST may go over it

    def use_websocket(self, stream: EventStream) -> None:
        """Send every request over ``stream``'s websocket whenever that carries REST.

        HTTP carries the rest: everything before the first connect, while the websocket is
        down, or on an Asterisk without REST over websockets (before 20.14, 21.9, 22.4); and
        always the reads, whose answers can outgrow what Asterisk can write to a websocket,
        and requests that would wait for a channel busy with DTMF or a playback (see
        ari/ws_transport.py and ari/busy.py). The client's ``timeout`` applies on both paths.
        """
        stream.rest.timeout = self.timeout
        self.events = stream
        self._transport = FallbackTransport(stream.rest, self._http)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def request(
        self, method: str, path: str, *, params: Params | None = None, json: Any = None
    ) -> Any:
        """Send one request; return the parsed JSON body, or None when there is none."""
        response = await self._send(method, path, params, json)
        return _body(method, path, response)

    async def _fetch(
        self,
        shape: Callable[[Any], T],
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
    ) -> T:
        """Send one request and shape its body into a model; a misfit body is an AriError."""
        response = await self._send(method, path, params, json)
        try:
            return shape(_body(method, path, response))
        # ValidationError is a ValueError; Key/TypeError come from a body of the wrong shape.
        except (ValueError, KeyError, TypeError) as exc:
            detail = f"unexpected response {response.text[:500]!r}: {exc}"
            raise AriError(method, path, response.status, detail) from exc

    async def _send(
        self, method: str, path: str, params: Params | None, json: Any
    ) -> AriResponse:
        """The one way out: every request of this client passes here."""
        request = AriRequest(method, path, _encode_params(params), json)
        began, status = time.perf_counter(), None
        try:
            response, resent = await self._exchange(request)
            status = response.status
        finally:
            self.stats.record(method, outcome_of(status), time.perf_counter() - began)
        created = created_path(request)
        if response.status == 409 and resent and created is not None:
            # The conflict is with our own first attempt: it did take effect.
            response = await self._resource_or(created, response)
        logger.debug("%s %s -> %s", method, path, response.status)
        if response.status >= 400:
            raise AriError(method, path, response.status, response.text)
        return response

    async def _exchange(self, request: AriRequest) -> tuple[AriResponse, bool]:
        """Send ``request``, again while its outcome is unknown if that is safe (see the
        module docstring); also say whether the response answers a resend."""
        retries = self._retries if repeatable(request) else 0
        unknown: AriOutcomeUnknown | None = None
        for attempt in range(retries + 1):
            try:
                return await self._transport.send(request), attempt > 0
            except AriRequestNotSent:
                if unknown is None:
                    raise
                break   # the resend never left: what we know is still "outcome unknown"
            except AriOutcomeUnknown as exc:
                unknown = unknown or exc
                logger.warning("%s (%s)", exc, "resending" if attempt < retries else "giving up")
        assert unknown is not None
        raise unknown

    async def _resource_or(self, path: str, conflict: AriResponse) -> AriResponse:
        """The resource our first attempt created, or the 409 if it is already gone again."""
        try:
            found, _ = await self._exchange(AriRequest("GET", path))
        except AriError:
            return conflict
        return found if found.status == 200 else conflict

    # --- asterisk / applications -----------------------------------------------------------

    async def asterisk_info(self) -> dict[str, Any]:
        return await self._fetch(_object, "GET", "/asterisk/info")

    async def get_application(self, name: str) -> dict[str, Any]:
        return await self._fetch(_object, "GET", f"/applications/{_seg(name)}")

    async def subscribe(self, app: str, event_source: str) -> None:
        """Send ``event_source``'s events (``channel:<id>``, ``bridge:<id>``) to ``app`` too."""
        await self.request("POST", f"/applications/{_seg(app)}/subscription",
                           params={"eventSource": event_source})

    # --- channels --------------------------------------------------------------------------

    async def originate(
        self,
        endpoint: str,
        *,
        channel_id: str,
        app: str | None = None,
        app_args: str = "",
        context: str | None = None,
        extension: str | None = None,
        caller_id: str | None = None,
        timeout: int | None = None,
        variables: Mapping[str, str] | None = None,
        formats: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
    ) -> Channel:
        """Ring ``endpoint``. With ``app`` the answered channel enters that Stasis app (and the
        app gets its events from the start); with ``context`` it runs that dialplan instead
        (ARI makes the two exclusive)."""
        params = {
            "endpoint": endpoint, "app": app, "appArgs": app_args or None,
            "context": context, "extension": extension, "priority": 1 if context else None,
            "channelId": channel_id, "callerId": caller_id, "timeout": timeout,
            "formats": formats, "otherChannelId": other_channel_id, "originator": originator,
        }
        body = {"variables": dict(variables)} if variables else None
        return await self._fetch(
            Channel.model_validate, "POST", "/channels", params=params, json=body
        )

    async def create_channel(
        self,
        endpoint: str,
        *,
        channel_id: str,
        app: str,
        app_args: str = "",
        variables: Mapping[str, str] | None = None,
        formats: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
    ) -> Channel:
        params = {
            "endpoint": endpoint, "app": app, "appArgs": app_args or None,
            "channelId": channel_id, "formats": formats,
            "otherChannelId": other_channel_id, "originator": originator,
        }
        body = {"variables": dict(variables)} if variables else None
        return await self._fetch(
            Channel.model_validate, "POST", "/channels/create", params=params, json=body
        )

    async def dial(
        self, channel_id: str, *, timeout: int | None = None, caller: str | None = None
    ) -> None:
        await self.request(
            "POST", f"/channels/{_seg(channel_id)}/dial",
            params={"timeout": timeout, "caller": caller},
        )

    async def hangup(self, channel_id: str, *, reason: str | None = None) -> None:
        await self.request("DELETE", f"/channels/{_seg(channel_id)}", params={"reason": reason})

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_seg(channel_id)}/answer")

    async def ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_seg(channel_id)}/ring")

    async def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        params = {"context": context, "extension": extension, "priority": priority, "label": label}
        await self.request("POST", f"/channels/{_seg(channel_id)}/continue", params=params)

    async def redirect(self, channel_id: str, endpoint: str) -> None:
        await self.request(
            "POST", f"/channels/{_seg(channel_id)}/redirect", params={"endpoint": endpoint}
        )

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self.request(
            "POST", f"/channels/{_seg(channel_id)}/variable",
            params={"variable": name, "value": value},
        )

    async def get_variable(self, channel_id: str, name: str) -> str:
        return await self._fetch(
            _value, "GET", f"/channels/{_seg(channel_id)}/variable", params={"variable": name}
        )

    async def send_dtmf(
        self,
        channel_id: str,
        dtmf: str,
        *,
        before: int | None = None,
        between: int | None = None,
        duration: int | None = None,
        after: int | None = None,
    ) -> None:
        params = {
            "dtmf": dtmf, "before": before, "between": between,
            "duration": duration, "after": after,
        }
        await self.request("POST", f"/channels/{_seg(channel_id)}/dtmf", params=params)

    async def transfer_progress(self, channel_id: str, states: str) -> None:
        await self.request(
            "POST", f"/channels/{_seg(channel_id)}/transfer_progress", params={"states": states}
        )

    async def list_channels(self) -> list[Channel]:
        return await self._fetch(_list_of(Channel), "GET", "/channels")

    async def get_channel(self, channel_id: str) -> Channel:
        return await self._fetch(Channel.model_validate, "GET", f"/channels/{_seg(channel_id)}")

    # --- playbacks -------------------------------------------------------------------------

    async def play_on_channel(
        self, channel_id: str, media: list[str], *, playback_id: str
    ) -> Playback:
        return await self._play(f"/channels/{_seg(channel_id)}/play", media, playback_id)

    async def play_on_bridge(
        self, bridge_id: str, media: list[str], *, playback_id: str
    ) -> Playback:
        return await self._play(f"/bridges/{_seg(bridge_id)}/play", media, playback_id)

    async def _play(self, path: str, media: list[str], playback_id: str) -> Playback:
        # One comma-joined `media`: Asterisk plays only the last of repeated `media` params.
        params = {"media": ",".join(media), "playbackId": playback_id}
        return await self._fetch(Playback.model_validate, "POST", path, params=params)

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{_seg(playback_id)}")

    # --- bridges ---------------------------------------------------------------------------

    async def create_bridge(
        self, bridge_id: str, *, type: str = "mixing,dtmf_events", name: str | None = None
    ) -> Bridge:
        params = {"type": type, "bridgeId": bridge_id, "name": name}
        return await self._fetch(Bridge.model_validate, "POST", "/bridges", params=params)

    async def add_channel(
        self,
        bridge_id: str,
        channel_id: str,
        *,
        inhibit_connected_line_updates: bool = False,
        absorb_dtmf: bool = False,
        role: str | None = None,
    ) -> None:
        params = {
            "channel": channel_id, "role": role, "absorbDTMF": absorb_dtmf,
            "inhibitConnectedLineUpdates": inhibit_connected_line_updates,
        }
        await self.request("POST", f"/bridges/{_seg(bridge_id)}/addChannel", params=params)

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        await self.request(
            "POST", f"/bridges/{_seg(bridge_id)}/removeChannel", params={"channel": channel_id}
        )

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{_seg(bridge_id)}")

    async def list_bridges(self) -> list[Bridge]:
        return await self._fetch(_list_of(Bridge), "GET", "/bridges")

    async def get_bridge(self, bridge_id: str) -> Bridge:
        return await self._fetch(Bridge.model_validate, "GET", f"/bridges/{_seg(bridge_id)}")
