"""Q.850 hangup causes as Asterisk reports them, and what they mean for a callback.

Asterisk's ARI reports a leg's end in ``ChannelDestroyed.cause`` (plus ``tech_cause``, the SIP
code, on direct PJSIP legs). Local channels sometimes report cause 0 for Busy()/Congestion();
then the last ``Dial`` status tells what happened, so classification looks at both.
"""

from __future__ import annotations

NORMAL_CLEARING = 16
USER_BUSY = 17
NO_USER_RESPONSE = 18
NO_ANSWER = 19
CALL_REJECTED = 21
ANSWERED_ELSEWHERE = 26
CONGESTION = 34

# What a leg's end means, in the words the API shows.
BUSY = "busy"
UNANSWERED = "no_answer"
REJECTED = "rejected"
UNREACHABLE = "unavailable"
CONGESTED = "congestion"
INVALID_NUMBER = "invalid_number"
NORMAL = "normal"
ELSEWHERE = "answered_elsewhere"
UNKNOWN = "unknown"

_BY_CAUSE = {
    1: INVALID_NUMBER, 3: INVALID_NUMBER, 28: INVALID_NUMBER,
    16: NORMAL, 17: BUSY, 18: UNANSWERED, 19: UNANSWERED, 21: REJECTED,
    20: UNREACHABLE, 26: ELSEWHERE, 27: UNREACHABLE, 31: NORMAL,
    34: CONGESTED, 38: CONGESTED, 41: CONGESTED, 42: CONGESTED, 44: CONGESTED,
    127: UNANSWERED,
}
_BY_DIALSTATUS = {
    "BUSY": BUSY, "CONGESTION": CONGESTED, "NOANSWER": UNANSWERED,
    "CHANUNAVAIL": UNREACHABLE, "CANCEL": UNANSWERED, "INVALIDARGS": INVALID_NUMBER,
}


def classify(cause: int | None, dialstatus: str | None = None, answered: bool = False) -> str:
    """Name a leg's end from its Q.850 cause, falling back to the Dial status for cause 0.
    A far-end BYE without a Reason header gives cause 0 on a direct PJSIP leg: after an
    answer that is an ordinary hang-up."""
    if not cause and answered:
        return NORMAL
    if cause:
        named = _BY_CAUSE.get(cause)
        if named is not None:
            return named
    if dialstatus:
        named = _BY_DIALSTATUS.get(dialstatus.upper())
        if named is not None:
            return named
    return UNKNOWN if not cause else UNREACHABLE
