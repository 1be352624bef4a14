"""Signing a delivery: HMAC-SHA256 over ``<timestamp>.<body>`` with the webhook's secret.

Sent as ``X-Callback-Signature: t=<unix seconds>,v1=<hex>``. The timestamp is inside the
signed text, so a receiver that also refuses old timestamps cannot be fed a recorded delivery
again later. ``verify`` is the receiver's side, as docs/webhooks.md shows it.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Callback-Signature"
SCHEME = "v1"
TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance: float = TOLERANCE_S) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is at most ``tolerance`` s old."""
    parts = [part.partition("=") for part in header.split(",")]
    timestamps = [value for key, _, value in parts if key.strip() == "t"]
    offered = [value.strip() for key, _, value in parts if key.strip() == SCHEME]
    if len(timestamps) != 1 or not timestamps[0].strip().isdigit() or not offered:
        return False
    timestamp = int(timestamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for value in offered)
