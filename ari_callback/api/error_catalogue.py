"""Every error the API answers with, in one place: its stable ``error_id``, its HTTP status and
what it means.

Each API shape wraps the id in its own envelope: the native ``/v1`` and seeds 001-003 send
``{"error_id", "message", "errors"?}``, Fonolo's ``/3.0/`` sends its ``{"data", "errors"}``
envelope (seed 000) with the same ids. A client may rely on an id; the message is for people.
``tests/unit/test_error_catalogue.py`` fails when the code raises an id that is not here, with a
status that is not its, or when the README's table differs from ``markdown()``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorKind:
    statuses: tuple[int, ...]
    meaning: str


def _kind(statuses: int | tuple[int, ...], meaning: str) -> ErrorKind:
    return ErrorKind(statuses if isinstance(statuses, tuple) else (statuses,), meaning)


# Ids made from a field's name: the field is also named in the error's ``errors[].field``.
FAMILIES: dict[str, ErrorKind] = {
    "missing_<field>": _kind((400, 422), "a required field is absent (400 on /3.0/)"),
    "invalid_<field>": _kind((400, 422), "a field has a wrong type, format or range (400 on /3.0/)"),
    "http_<status>": _kind((400, 404, 405, 409, 413, 415, 422, 429, 500, 503),
                           "an HTTP error no handler named (should not happen; report it)"),
}

CATALOGUE: dict[str, ErrorKind] = {
    # Access
    "unauthorized": _kind(401, "no valid API key (or /3.0/ account credentials) was offered"),
    "unknown_client": _kind(403, "the key's client is not configured"),
    "forbidden": _kind(403, "the key may not do this: a read-only key (or /3.0/ account) writing, an "
                            "extension user outside its extension's routes, a client's key on the operator's "
                            "routes (/v1/clients) or the operator's key on a client's"),
    "client_not_found": _kind(404, "the client named in the path or body is not the key's (another client's "
                                   "looks missing)"),
    "key_not_found": _kind(404, "no such API key for this client"),
    "key_in_config": _kind(409, "the key comes from the configuration file: revoke it there"),
    "origin_not_allowed": _kind(403, "the customer page's API was called from an origin its profile does not allow"),
    # The request itself
    "request_too_large": _kind(413, "the body is larger than http.max_body_bytes"),
    "malformed_json": _kind(400, "the body is not JSON (or not UTF-8)"),
    "malformed_body": _kind(400, "the body is not a URL-encoded form (/3.0/)"),
    "too_deep": _kind(422, "the JSON nests deeper than http.max_json_depth"),
    "duplicate_key": _kind(422, "a JSON object names one key twice"),
    "unknown_field": _kind(422, "the body has a field the route does not take"),
    "invalid_body": _kind(422, "the body is not the object the route takes"),
    "xml_not_supported": _kind(400, "a /3.0/ route was asked for XML; only JSON is served"),
    "not_found": _kind(404, "no such route or resource"),
    "unknown_resource": _kind(404, "no such /3.0/ resource (the endpoint must end with /3.0/)"),
    "method_not_allowed": _kind(405, "the route does not take this method"),
    # Idempotency-Key
    "invalid_idempotency_key": _kind(400, "the Idempotency-Key header is empty, too long or not printable ASCII"),
    "idempotency_key_reused": _kind(409, "the Idempotency-Key was used before with another body"),
    "idempotency_in_progress": _kind(409, "a request with this Idempotency-Key is still being answered"),
    # Numbers and plans
    "invalid_number": _kind(422, "a phone number has no digit or characters a number cannot have"),
    "invalid_contact_number": _kind(422, "the contact number is not a phone number (seed 003)"),
    "missing_contact_number": _kind(422, "callback_status needs a contact_number (seed 003)"),
    "too_many_numbers": _kind(422, "more origin numbers than dialing.max_src_numbers"),
    "unroutable_number": _kind(422, "no dialing route matches the number"),
    "unknown_sound": _kind(422, "the sound id is not in the client's sound library"),
    "unknown_variable": _kind(422, "a client variable used in the request is not set"),
    "extension_not_found": _kind(404, "no such extension for this client"),
    "variable_not_found": _kind(404, "no such stored client variable"),
    "extension_in_config": _kind(409, "the extension is defined in the configuration file: change it there"),
    "sound_not_found": _kind(404, "no such sound in the client's sound library"),
    "sound_in_config": _kind(409, "the sound is defined in the configuration file: change it there"),
    "client_in_config": _kind(409, "the client is defined in the configuration file and the store holds nothing "
                                   "of it: change it there"),
    "number_not_found": _kind(404, "the client has no such stored external number"),
    "number_in_config": _kind(409, "the external number is in the configuration file: change it there"),
    "variable_in_config": _kind(409, "the variable is a default from the configuration file: change it there"),
    "invalid_name": _kind(422, "a client variable's name is not a letter or _ then up to 63 letters, digits or _, "
                               "or an extension's caller name has quotes, <, >, control characters or over 64"),
    "extension_not_phone": _kind(422, "the extension cannot be rung as an origin"),
    # Limits
    "concurrent_call_limit_exceeded": _kind(429, "the client's concurrent-call limit is reached (Retry-After)"),
    "callback_rate_limit_exceeded": _kind(429, "callback_rate_limit leaves no room for another callback now "
                                               "(Retry-After)"),
    "calls_per_second_exceeded": _kind(429, "the client's max_calls_per_second is reached (Retry-After: the window)"),
    "destination_not_allowed": _kind(403, "the client's destination policy keeps a number of the request out of reach"),
    # Callbacks
    "callback_not_found": _kind(404, "no such callback for this client (another client's is missing too)"),
    "callback_finished": _kind(409, "the callback is over already"),
    "callback_pending": _kind(409, "this number already has a callback waiting on this option (the page)"),
    "optin_not_found": _kind(404, "no such SMS opt-in (/3.0/)"),
    "organization_not_found": _kind(404, "no such organization (seed 003)"),
    # Customer callbacks
    "profile_not_found": _kind(404, "no such profile for this client"),
    "option_not_found": _kind(404, "no such call option in the profile"),
    "question_not_found": _kind(404, "no such question in the profile"),
    "profile_paused": _kind(409, "the profile takes no callbacks now"),
    "option_paused": _kind(409, "the call option is paused: it keeps its waitlist, takes no new callbacks"),
    "option_closed": _kind(409, "the call option is closed"),
    "profile_sid_taken": _kind(409, "another client's profile has this sid"),
    "sid_taken": _kind(409, "an option or question sid is used by another profile"),
    "scheduling_not_enabled": _kind(422, "the profile takes no scheduled callbacks"),
    "sms_not_enabled": _kind(422, "the profile takes no SMS opt-in"),
    "invalid_start_at": _kind(422, "start_at is not a time with an offset"),
    "invalid_timezone": _kind((400, 422), "not an IANA time zone"),
    "unknown_question": _kind(422, "an answer names a question the option does not ask"),
    "answer_required": _kind(422, "a required question was not answered"),
    "invalid_answer": _kind((400, 422), "an answer does not fit its question's type or choices"),
    "invalid_answers": _kind(400, "answers are sent as fc_answers[QUESTION_SID]=answer (/3.0/)"),
    "invalid_status": _kind((400, 422), "an unknown status in a list filter (400 on /3.0/)"),
    "invalid_cursor": _kind(422, "a list's cursor is not one the API gave"),
    "slot_in_past": _kind(422, "the requested start has passed"),
    "slot_too_soon": _kind(422, "the slot needs more notice"),
    "slot_too_far": _kind(422, "the slot is further ahead than the option books"),
    "slot_closed": _kind(422, "no slot at that time: the option is closed then"),
    "slot_full": _kind(422, "that slot is fully booked"),
    # Webhooks (docs/webhooks.md)
    "delivery_not_found": _kind(404, "no such webhook delivery for this client (another client's is missing too)"),
    "webhook_not_configured": _kind(409, "the delivery's webhook is no longer in the configuration: it cannot be "
                                         "replayed"),
    # The server
    "asterisk_unavailable": _kind(503, "this instance is not connected to Asterisk; try again shortly"),
    "store_unavailable": _kind(503, "the database cannot be written now; nothing was stored"),
    "not_ready": _kind(503, "/readyz: not connected to Asterisk, or the database is not usable"),
    "internal_error": _kind(500, "an unexpected failure; it is logged with the request's path"),
}


def known(error_id: str, status: int | None = None) -> bool:
    """Whether ``error_id`` (with ``status``, if given) is catalogued, by name or by family."""
    kind = CATALOGUE.get(error_id) or next(
        (k for pattern, k in FAMILIES.items() if error_id.startswith(pattern.split("<")[0])), None)
    return kind is not None and (status is None or status in kind.statuses)


def markdown() -> str:
    """The catalogue as the README's and the OpenAPI description's table."""
    rows = ["| error_id | HTTP | meaning |", "|---|---|---|"]
    for error_id, kind in {**CATALOGUE, **FAMILIES}.items():
        rows.append(f"| `{error_id}` | {', '.join(map(str, kind.statuses))} | {kind.meaning} |")
    return "\n".join(rows)


if __name__ == "__main__":   # python -m ari_callback.api.error_catalogue > table.md
    print(markdown())
