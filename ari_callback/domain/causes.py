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
# Asterisk's own words for the common causes (ast_cause2str), for an end the app learns from
# the origin context's hangup handler, which passes the number only.
_TEXT = {
    0: "Unknown", 1: "Unallocated (unassigned) number", 3: "No route to destination",
    16: "Normal Clearing", 17: "User busy", 18: "No user responding", 19: "User alerting, no answer",
    20: "Subscriber absent", 21: "Call Rejected", 26: "Answered elsewhere", 27: "Destination out of order",
    28: "Invalid number format", 31: "Normal, unspecified", 34: "Circuit/channel congestion",
    38: "Network out of order", 41: "Temporary failure", 42: "Switching equipment congestion",
    44: "Requested channel not available", 127: "Interworking, unspecified",
}


def text(cause: int | None) -> str:
    return _TEXT.get(cause, "") if cause is not None else ""


FINAL_DIALSTATUS = frozenset({"BUSY", "CONGESTION", "CHANUNAVAIL", "NOANSWER"})

# Hang-up reasons we give Asterisk that already say how a leg ended.
_BY_OUR_REASON = {"no_answer": UNANSWERED, "busy": BUSY, "congestion": CONGESTED, "answered_elsewhere": ELSEWHERE}

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


def leg_outcome(cause: int | None, dialstatus: str, answered: bool, hangup_reason: str = "") -> str:
    """How a leg of a callback ended: the one rule for a leg's ``outcome`` and the kind in the
    call's ``<side>_<kind>``, most specific first: the reason we hung it up with (our timers,
    a BUSY we acted on, another origin answering), a specific Q.850 cause (603 gives 21 with a
    mere Dial NOANSWER), a final Dial status (Local channels report cause 0 for busy,
    CHANUNAVAIL has none)."""
    if hangup_reason in _BY_OUR_REASON:
        return _BY_OUR_REASON[hangup_reason]
    if cause not in (None, 0, NORMAL_CLEARING) or dialstatus.upper() not in FINAL_DIALSTATUS:
        kind = classify(cause, dialstatus, answered)
    else:
        kind = classify(None, dialstatus)
    if not answered and kind in (NORMAL, ELSEWHERE):
        # Cleared before anyone picked up (a dialplan Hangup(), a fork answered elsewhere on
        # the far side): for this call, nobody answered.
        return UNANSWERED
    return kind
