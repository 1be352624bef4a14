"""Small builders for the store tests."""

from __future__ import annotations

from ari_callback.store import CallbackStore, Claim, Lease, NewCallback, Progress

T0 = 1_718_000_000.123456   # microseconds must survive the round trip
ME, OTHER, PBX = "host-a-callback", "host-b-callback", "default"


async def new(store: CallbackStore, callback_id: str = "c1", client_id: str = "acme", *, due_at: float = T0,
              created_at: float = T0, status: str = "queued", asterisk: str | None = None,
              allowed: int | None = None, request: dict | None = None,
              pace: tuple[int, float] | None = None, idem_tag: str | None = None) -> None:
    from ari_callback.store import Admission
    await store.create(NewCallback(id=callback_id, client_id=client_id, api="native",
                                   request=request or {"src": ["100"], "dst": "200"},
                                   plan={"version": 1, "call_id": callback_id}, created_at=created_at,
                                   due_at=due_at, status=status, asterisk=asterisk, idem_tag=idem_tag),
                       None if allowed is None else Admission(allowed, pace))


def lease(claim: Claim, instance: str = ME) -> Lease:
    return Lease(claim.callback_id, claim.attempt.id, claim.client_id, instance, claim.fence)


def leg(leg_id: str, role: str, idx: int = 0, **fields) -> dict:
    return {"id": leg_id, "role": role, "number": f"n-{leg_id}", "idx": idx, **fields}


def entry(seq: int, kind: str = "state", leg_id: str | None = None, **detail) -> dict:
    return {"seq": seq, "at": T0 + seq, "kind": kind, "leg_id": leg_id, "detail": detail}


def step(state: str, previous: str, *, legs=(), timeline=(), final: bool = False, at: float = T0 + 100,
         **fields) -> Progress:
    values = dict(status_detail="", ended_by="", winner_leg=None, connected_at=None, ended_at=None)
    values.update(fields)
    return Progress(state=state, previous_state=previous, legs=tuple(legs), timeline=tuple(timeline),
                    final=final, at=at, **values)


async def claim_one(store: CallbackStore, instance: str = ME, now: float = T0) -> Claim:
    claims = await store.claim_due(instance, PBX, now, 15.0, 1)
    assert len(claims) == 1, claims
    return claims[0]
