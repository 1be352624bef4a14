"""The event filter the service asks for must let through every event the engine acts on."""

from __future__ import annotations

import ast
from pathlib import Path

from ari_callback.ari.models import CALL_EVENT_TYPES, EVENT_TYPES
from ari_callback.ari.stream import STREAM_EVENT_TYPES, event_filter_request

TRANSLATE = Path(__file__).resolve().parents[2] / "ari_callback" / "engine" / "translate.py"


def matched_event_types(source: str) -> set[str]:
    """Event classes named in the ``case`` patterns of translate.py (``case ari.Dial():``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.match_case):
            for pattern in ast.walk(node.pattern):
                if isinstance(pattern, ast.MatchClass) and isinstance(pattern.cls, ast.Attribute):
                    found.add(pattern.cls.attr)
    return found


def test_given_translate_then_call_event_types_are_exactly_the_ones_it_matches() -> None:
    matched = matched_event_types(TRANSLATE.read_text())
    # A rewrite that no longer matches on classes must fail here, not pass with nothing.
    assert len(matched) >= 5, matched
    assert matched == set(CALL_EVENT_TYPES)


def test_given_call_event_types_then_each_is_an_asterisk_event_we_model() -> None:
    assert set(CALL_EVENT_TYPES) | set(STREAM_EVENT_TYPES) <= set(EVENT_TYPES)


def test_given_filter_then_request_allows_the_stream_types_and_clears_disallowed() -> None:
    request = event_filter_request("my app", ["Dial", "Dial"])
    assert (request.method, request.path) == ("PUT", "/applications/my%20app/eventFilter")
    assert request.json == {"allowed": [{"type": "ApplicationReplaced"}, {"type": "Dial"},
                                        {"type": "RESTResponse"}], "disallowed": []}
