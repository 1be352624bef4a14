"""Typed ARI REST calls over one pooled httpx client.

One ``httpx.AsyncClient`` with a bounded pool for the whole process: Asterisk's ``http.conf``
``sessionlimit`` (default 100) counts every HTTP connection *and* the event websocket, and past
it Asterisk resets connections, the websocket included. Every failure becomes :class:`AriError`;
nothing here swallows a status, because only the engine's executor knows what a 404 means.

Ids in paths are percent-encoded (``res_ari`` decodes each segment), so a Local channel's
``<id>;2`` half or any id we did not choose is addressed correctly.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Callable, Mapping, TypeVar
from urllib.parse import quote

import httpx

from ari_callback.ari.errors import AriError
from ari_callback.ari.models import AriModel, Bridge, Channel, Playback

logger = logging.getLogger("ari_callback.ari")

Params = Mapping[str, str | int | float | bool | None]
T = TypeVar("T")
M = TypeVar("M", bound=AriModel)


def _body(method: str, path: str, response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise AriError(method, path, response.status_code, response.text) from exc


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
    """Asterisk's REST interface (``/ari``) as typed async methods."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
        max_connections: int = 20,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
        )
        self._http = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/ari",
            auth=(username, password),
            timeout=timeout,
            limits=self.limits,
            transport=transport,
            # Proxy variables in the service's environment must not divert call control
            # (and its Basic auth) away from Asterisk.
            trust_env=False,
        )

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
            raise AriError(method, path, response.status_code, detail) from exc

    async def _send(
        self, method: str, path: str, params: Params | None, json: Any
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method, path, params=_encode_params(params), json=json
            )
        except httpx.HTTPError as exc:
            raise AriError(method, path, None, f"{type(exc).__name__}: {exc}") from exc
        logger.debug("%s %s -> %s", method, path, response.status_code)
        if response.status_code >= 400:
            raise AriError(method, path, response.status_code, response.text)
        return response

    # --- asterisk / applications -----------------------------------------------------------

    async def asterisk_info(self) -> dict[str, Any]:
        return await self._fetch(_object, "GET", "/asterisk/info")

    async def get_application(self, name: str) -> dict[str, Any]:
        return await self._fetch(_object, "GET", f"/applications/{_seg(name)}")

    # --- channels --------------------------------------------------------------------------

    async def originate(
        self,
        endpoint: str,
        *,
        channel_id: str,
        app: str,
        app_args: str = "",
        caller_id: str | None = None,
        timeout: int | None = None,
        variables: Mapping[str, str] | None = None,
        formats: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
    ) -> Channel:
        params = {
            "endpoint": endpoint, "app": app, "appArgs": app_args or None,
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
