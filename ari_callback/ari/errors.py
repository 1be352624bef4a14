"""Errors of the ARI transport.

REST calls raise exactly one type, :class:`AriError`, whatever went wrong (HTTP status or
transport failure): the engine's executor is the one place that decides what a status means
(a 404 on hangup is success there, a 409 on originate means "already done"). The event stream
raises :class:`AriStreamError` subclasses only for conditions where reconnecting would be wrong.

A failure without a status comes in two kinds, because they call for opposite handling:

* :class:`AriRequestNotSent`: nothing left this process (no connection, websocket down).
  Asterisk did nothing; any request may be sent again.
* :class:`AriOutcomeUnknown`: the request left, its answer did not come (timeout, connection
  lost while waiting). Asterisk may have done it. Only a request made idempotent by an id we
  chose may be sent again: a retried originate with the same ``channelId`` is answered 409
  if the first one took effect.
"""

from __future__ import annotations


class AriError(Exception):
    """A REST call to Asterisk failed.

    ``status`` is the HTTP status, or ``None`` when no response arrived at all (connection
    refused, timeout, protocol error): callers must not read ``None`` as "not found".
    """

    def __init__(self, method: str, path: str, status: int | None, body: str) -> None:
        # Passing every field to Exception keeps the error picklable (args rebuild it).
        super().__init__(method, path, status, body)
        self.method = method
        self.path = path
        self.status = status
        self.body = body

    def __str__(self) -> str:
        outcome = "transport error" if self.status is None else str(self.status)
        return f"{self.method} {self.path} -> {outcome}: {self.body}"

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409


class AriRequestNotSent(AriError):
    """The request never left this process: Asterisk did nothing, so resending is safe."""

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> transport error, not sent: {self.body}"


class AriOutcomeUnknown(AriError):
    """The request was sent but no answer came: Asterisk may or may not have done it."""

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> transport error, sent but outcome unknown: {self.body}"


class AriStreamError(Exception):
    """The event stream hit a condition where reconnecting would be wrong."""


class AriAuthError(AriStreamError):
    """Asterisk refused our credentials on the websocket handshake (401/403).

    Retrying cannot fix a wrong password and only fills Asterisk's security log.
    """

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status

    def __str__(self) -> str:
        return f"ARI websocket handshake refused with HTTP {self.status}: check ari.conf credentials"


class ApplicationReplacedError(AriStreamError):
    """Another websocket registered our Stasis application name and took it over.

    Asterisk sends nothing further to the old connection; reconnecting would steal the app back
    and the two instances would fight over it forever, so this is fatal.
    """

    def __init__(self, app: str) -> None:
        super().__init__(app)
        self.app = app

    def __str__(self) -> str:
        return (
            f"Stasis application {self.app!r} was taken over by another connection; "
            "each running instance needs its own app name"
        )


class EventDecodeError(ValueError):
    """A websocket frame is not a well-formed ARI message."""
