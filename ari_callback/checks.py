"""``ari-callback check``: reach ARI with the configured credentials and say what is wrong."""

from __future__ import annotations

import httpx

from .config import Settings


async def check_ari(settings: Settings) -> tuple[bool, str]:
    ari = settings.ari
    url = f"{ari.url}/ari/asterisk/info"
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(url, auth=(ari.username, ari.password.get_secret_value()))
    except httpx.ConnectError:
        return False, f"ari: nothing answers at {ari.url} (is Asterisk running, is http.conf enabled and bound there?)"
    except httpx.HTTPError as exc:
        return False, f"ari: {ari.url} did not answer properly: {type(exc).__name__}"
    if response.status_code == 401:
        return False, f"ari: {ari.url} refused user {ari.username!r} (check ari.conf and ari.password)"
    if response.status_code == 404:
        return False, f"ari: {url} answered 404 (res_ari not loaded, or still starting)"
    if response.status_code != 200:
        return False, f"ari: {url} answered HTTP {response.status_code}"
    info = response.json()
    version = info.get("system", {}).get("version", "?")
    return True, f"ari: ok, Asterisk {version} at {ari.url} as {ari.username!r}, app {ari.app!r}"
