"""The auth matrix: every route of every API shape of the real app, every method, against every
kind of credential. It finds the routes itself (``app.routes``), so a route added without auth,
or one this matrix does not know how to reach, fails it.

For each route that is not on the short public list:
- no key, a wrong key, a revoked key: 401 ``unauthorized``, in the shape's own envelope;
- a read-only key: 403 ``forbidden`` on a write, 200 on a read of client A's resource;
- an extension user's key (extension a100): 403 ``forbidden`` outside seed 002's routes, and
  404 on those for what was made through another extension (a200);
- client B's key: 404 for A's resources in the path or the body (never 403, never A's data),
  and A's things unchanged afterwards;
- the operator's key: 403 ``forbidden`` on every client's route; on the operator's routes
  (``/v1/clients``) every other key is 403, and the operator reads (its writes:
  test_api_operator.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from ari_callback.api.auth import SAFE_METHODS
from ari_callback.api.guard import _flattened, route_info

from .fonolo_app import OPEN, OTHER_SID, OTHER_TOKEN, PROFILE, Q_TEXT, SID
from .tenants_app import A_NUMBER, READ_SID, READ_TOKEN, Tenants, a_sids, basic, client, tenants

# Deliberately public: operations, the OpenAPI and its viewers, and the customer page (its
# profile being published is what lets anyone use it, docs/customer-page.md).
PUBLIC = {"/health", "/readyz", "/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc",
          "/page/{profile_sid}", "/page-assets/{name}", "/page/{profile_sid}/config.json",
          "/page/{profile_sid}/options/{option_sid}/slots", "/page/{profile_sid}/callbacks",
          "/page/{profile_sid}/callbacks/{callback_id}", "/page/{profile_sid}/callbacks/{callback_id}/cancel",
          "/page/{profile_sid}/{rest:path}"}
PROFILE_BODY = {"name": "Mine", "options": {"CO" + "7" * 32: {"name": "Mine", "queue": "mine", "position": 1}}}
# What a write sends, so that client B's request reaches the route's own checks (a body the
# route refuses would answer 422 before the resource is looked for). Each names A's things.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/callbacks"): {"json": {"src": ["1001"], "dst": "6001", "extension_id": "a200"}},
    ("POST", "/v1/callbacks/{callback_id}/cancel"): {},
    ("POST", "/v1/keys"): {"json": {"name": "theirs", "extension": "a200"}},
    ("DELETE", "/v1/keys/{key_id}"): {},
    ("POST", "/v1/deliveries/{delivery_id}/replay"): {},
    ("POST", "/extension/{extension_id}/callback/"): {"json": {"src_num": ["1001"], "dst_num": "6001"}},
    ("POST", "/voice/call/callback"): {"json": {"leg_A": {"to": "1001"}, "leg_B": {"to": "6001"}}},
    ("PUT", "/v1/profiles/{sid}"): {"json": PROFILE_BODY},
    ("DELETE", "/v1/profiles/{sid}"): {},
    ("PUT", "/v1/options/{option_sid}/status"): {"json": {"status": "paused"}},
    ("POST", "/v1/customer-callbacks"): {"json": {"option": OPEN, "number": "5550999"}},
    ("POST", "/3.0/callback"): {"data": {"fc_number": "5550999", "fc_option": OPEN}},
    ("POST", "/3.0/callback.json"): {"data": {"fc_number": "5550999", "fc_option": OPEN}},
    ("POST", "/3.0/callback/{sid}/cancel"): {},
    ("POST", "/3.0/callback/{sid}/cancel.json"): {},
    ("POST", "/api/organization/{organization_id}/callback_status"): {"json": {"contact_number": A_NUMBER}},
    ("PUT", "/client/{client_ref}/variables/{name}"): {"json": {"value": "changed"}},
    ("DELETE", "/client/{client_ref}/variables/{name}"): {},
    ("PUT", "/v1/variables/{name}"): {"json": {"value": "changed"}},
    ("DELETE", "/v1/variables/{name}"): {},
    ("PUT", "/v1/extensions/{extension_id}"): {"json": {"number": "1999", "name": "Changed"}},
    ("DELETE", "/v1/extensions/{extension_id}"): {},
    ("PUT", "/v1/sounds/{sound_id}"): {"json": {"media": ["sound:beep"]}},
    ("DELETE", "/v1/sounds/{sound_id}"): {},
    ("PUT", "/v1/clients/{client_ref}"): {"json": {"max_concurrent_calls": 99}},
    ("DELETE", "/v1/clients/{client_ref}"): {},
    ("PUT", "/v1/clients/{client_ref}/numbers/{number}"): {},
    ("DELETE", "/v1/clients/{client_ref}/numbers/{number}"): {},
    ("PUT", "/v1/clients/{client_ref}/extensions/{extension_id}"): {"json": {"number": "1999"}},
    ("DELETE", "/v1/clients/{client_ref}/extensions/{extension_id}"): {},
    ("PUT", "/v1/clients/{client_ref}/sounds/{sound_id}"): {"json": {"media": ["sound:beep"]}},
    ("DELETE", "/v1/clients/{client_ref}/sounds/{sound_id}"): {},
}
QUERIES = {"/v1/customer-callbacks": {"number": A_NUMBER},
           "/v1/events": {"after": 0, "max_seconds": 0}}   # a stream: replayed, then ended (not waited for)
# Client B's answer where it is not 404. Profile sids are global and PUT creates: a sid another
# client holds is 409 profile_sid_taken, which shows none of that profile. A two-leg call names
# nothing of A's: B may make its own.
B_EXPECTED: dict[tuple[str, str], int | None] = {("PUT", "/v1/profiles/{sid}"): 409,
                                                 ("POST", "/voice/call/callback"): None,
                                                 # Names are per client: B sets and removes its own EXT.
                                                 ("PUT", "/v1/variables/{name}"): None,
                                                 ("DELETE", "/v1/variables/{name}"): None,
                                                 # So are extensions and sounds: B's PUT makes its own,
                                                 # and its DELETE removes that one.
                                                 ("PUT", "/v1/extensions/{extension_id}"): None,
                                                 ("DELETE", "/v1/extensions/{extension_id}"): None,
                                                 ("PUT", "/v1/sounds/{sound_id}"): None,
                                                 ("DELETE", "/v1/sounds/{sound_id}"): None}
A_VARIABLE = ("EXT", "a-only-value")


@dataclass(frozen=True)
class Case:
    method: str
    template: str
    info: Any

    @property
    def fonolo(self) -> bool:
        return self.template.startswith("/3.0")

    @property
    def write(self) -> bool:
        return self.method not in SAFE_METHODS and self.info.kind != "reader"


def cases(app) -> list[Case]:
    found = []
    for route in _flattened(app.router.routes):
        for method in sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"}):
            found.append(Case(method, route.path, route_info(route)))
    return found


def _path(t: Tenants, template: str) -> str:
    sids = a_sids(t)
    values = {"callback_id": t.callback_id, "call_uuid": t.callback_id, "key_id": t.key_ids["a_spare"],
              "profile_sid": PROFILE, "option_sid": OPEN, "question_sid": Q_TEXT, "extension_id": "a200",
              "client_ref": "acme", "organization_id": "acme", "name": A_VARIABLE[0],
              "delivery_id": str(t.delivery_id), "sound_id": "7", "number": "5550142",
              "sid": PROFILE if template.startswith("/v1/") else sids["optin" if "/optin/" in template else "call"]}

    def value(match: re.Match) -> str:
        if match[1] not in values:
            raise LookupError(f"{template}: the matrix has no resource for {{{match[1]}}}; add one")
        return values[match[1]]

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, template)


def _error_id(response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    data = body.get("data") if isinstance(body.get("head"), dict) else body   # Fonolo's envelope
    return data.get("error_id") if isinstance(data, dict) else None


class Matrix:
    def __init__(self, t: Tenants):
        self.t, self.problems = t, []

    async def ask(self, case: Case, headers: dict[str, str]):
        if case.write and (case.method, case.template) not in BODIES:
            raise LookupError(f"{case.method} {case.template}: the matrix has no body for this write; add one")
        extra = BODIES.get((case.method, case.template), {})
        async with client(self.t.app, headers=headers) as http:
            return await http.request(case.method, _path(self.t, case.template),
                                      params=QUERIES.get(case.template), **extra)

    async def expect(self, case: Case, who: str, headers: dict[str, str], status: int | None,
                     error_id: str | None = None) -> None:
        response = await self.ask(case, headers)
        got = (response.status_code, _error_id(response))
        if status is None:
            ok = response.status_code not in (401, 403)
        else:
            ok = response.status_code == status and (error_id is None or got[1] == error_id)
        if not ok:
            self.problems.append(f"{case.method} {case.template} as {who}: got {got}, wanted {status} {error_id or ''}")
        if who.startswith("client B"):
            asked = str(response.request.url) + response.request.content.decode("utf-8", "replace")
            shown = [m for m in self.a_markers() if m in response.text and m not in asked]
            if shown:
                self.problems.append(f"{case.method} {case.template} as {who}: the answer shows A's {shown}")

    def a_markers(self) -> list[str]:
        """What only A's data contains (an id B sent itself may come back in a 404's message)."""
        t = self.t
        return [A_NUMBER, t.callback_id, t.customer_callback_id, PROFILE, OPEN, A_VARIABLE[1], *a_sids(t).values(),
                *(key_id for name, key_id in t.key_ids.items() if name.startswith("a_"))]

    def credentials(self, case: Case) -> dict[str, dict[str, str]]:
        if case.fonolo:
            return {"none": {}, "wrong": basic(SID, "0" * 64), "read_only": basic(READ_SID, READ_TOKEN),
                    "client B": basic(OTHER_SID, OTHER_TOKEN)}
        return {"none": {}, "wrong": {"X-API-Key": "acb_" + "x" * 43}, "wrong bearer": {"Authorization": "Bearer nope"},
                "revoked": self.t.headers("a_revoked"), "read_only": self.t.headers("a_read"),
                "config read_only": {"X-API-Key": "acme-config-read-key"}, "extension a100": self.t.headers("a_ext"),
                "client B": self.t.headers("b_full"), "operator": self.t.headers("operator")}

    async def walk(self, case: Case) -> None:
        if case.template in PUBLIC:
            return
        if case.info.auth is None:
            self.problems.append(f"{case.method} {case.template}: needs no key and is not on the public list")
        for who, headers in self.credentials(case).items():
            if who in ("none", "wrong", "wrong bearer", "revoked"):
                await self.expect(case, who, headers, 401, "unauthorized")
            elif case.info.kind == "operator":
                if who != "operator":
                    await self.expect(case, who, headers, 403, "forbidden")
                elif not case.write:
                    await self.expect(case, who, headers, 200)
            elif who == "operator":
                await self.expect(case, who, headers, 403, "forbidden")
            elif who.endswith("read_only"):
                await self.expect(case, who, headers, 403 if case.write else 200, "forbidden" if case.write else None)
            elif who == "extension a100":
                holder = case.info.kind == "holder"
                await self.expect(case, who, headers, 404 if holder else 403,
                                  None if holder else "forbidden")
            else:
                await self._client_b(case, headers)

    async def _client_b(self, case: Case, headers: dict[str, str]) -> None:
        key = (case.method, case.template)
        names_a = "{" in case.template or case.write
        status = B_EXPECTED.get(key, 404) if names_a else None
        await self.expect(case, "client B", headers, status)


async def _unchanged(t: Tenants) -> list[str]:
    """What client B, the read-only and the extension keys tried left A's things as they were."""
    problems = []
    async with client(t.app, headers=t.headers("a_full")) as a:
        if (await a.get(f"/v1/callbacks/{t.callback_id}")).json()["status"] != "queued":
            problems.append("A's click-to-call changed")
        if (await a.get(f"/v1/callbacks/{t.customer_callback_id}")).json()["status"] != "queued":
            problems.append("A's customer callback changed")
        profile = await a.get(f"/v1/profiles/{PROFILE}")
        if profile.status_code != 200 or profile.json()["options"][OPEN]["status"] != "active":
            problems.append("A's profile or option changed")
        if {"name": A_VARIABLE[0], "value": A_VARIABLE[1], "source": "store"} not in (
                await a.get("/v1/variables")).json()["variables"]:
            problems.append("A's client variable changed")
        extensions = {e["id"]: (e["number"], e["name"]) for e in (await a.get("/v1/extensions")).json()}
        if extensions.get("a200") != ("1002", "Bob") or (await a.get("/v1/sounds")).json() != []:
            problems.append("A's extensions or sounds changed")
        keys = {k["id"] for k in (await a.get("/v1/keys")).json()}
        if t.key_ids["a_spare"] not in keys:
            problems.append("A's key was revoked")
    return problems


@pytest.fixture
async def two_clients(tmp_path):
    async with tenants(tmp_path / "data") as made:
        yield made


async def test_given_every_route_of_every_shape_when_walked_with_every_credential_then_401_403_404_as_due(
        two_clients):
    await two_clients.app.state.service.store.set_client_variable("acme", *A_VARIABLE, 0.0)
    matrix = Matrix(two_clients)
    found = cases(two_clients.app)
    for case in found:
        await matrix.walk(case)
    assert matrix.problems + await _unchanged(two_clients) == []
    walked = {c.template for c in found} - PUBLIC
    assert {"/v1/callbacks", "/extension/{extension_id}/callback/", "/voice/call/callback", "/3.0/callback",
            "/api/organization/{organization_id}/callback_status", "/v1/keys", "/v1/variables",
            "/client/{client_ref}/variables/{name}"} <= walked


async def test_given_a_route_added_without_auth_then_the_matrix_fails(two_clients):
    app = two_clients.app

    @app.get("/v1/leak/{callback_id}")   # type: ignore[attr-defined]
    async def leak(callback_id: str) -> dict:
        return {"id": callback_id}

    matrix = Matrix(two_clients)
    for case in cases(app):
        if case.template == "/v1/leak/{callback_id}":
            await matrix.walk(case)
    assert any("needs no key and is not on the public list" in p for p in matrix.problems)
    assert any("as none: got (200" in p for p in matrix.problems)


async def test_given_a_route_the_matrix_cannot_reach_then_it_says_so(two_clients):
    from fastapi import Depends

    from ari_callback.api.auth import client_id

    app = two_clients.app

    @app.get("/v1/widgets/{widget_id}")   # type: ignore[attr-defined]
    async def widget(widget_id: str, client: str = Depends(client_id)) -> dict:
        return {}

    case = next(c for c in cases(app) if c.template == "/v1/widgets/{widget_id}")
    with pytest.raises(LookupError, match="no resource for {widget_id}"):
        await Matrix(two_clients).walk(case)
