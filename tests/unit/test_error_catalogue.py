"""The error catalogue (ari_callback/api/error_catalogue.py) is the whole truth: every id the code
raises is in it with its status, and the README and the OpenAPI show it as it is."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ari_callback.api import error_catalogue
from ari_callback.api.app import create_app
from ari_callback.bundled import REPO
from ari_callback.config import Settings
from ari_callback.domain import admission, destinations, slots

# Where each error-making call takes its (status, error_id): positions in the call's arguments.
# PlanError has no status argument but a ``status`` keyword that defaults to 422.
MAKERS = {"ServiceError": (0, 1), "error_response": (0, 1), "shaped_error": (1, 2), "failure": (0, 1),
          "PlanError": (None, 0), "SlotError": (None, 0)}


def _name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _status(call: ast.Call, index: int | None) -> int | None:
    if index is None:
        keyword = next((k.value for k in call.keywords if k.arg == "status"), None)
        return keyword.value if isinstance(keyword, ast.Constant) else 422 if keyword is None else None
    argument = call.args[index] if index < len(call.args) else None
    return argument.value if isinstance(argument, ast.Constant) else None


def _raised() -> list[tuple[str, str, int | None]]:
    """(where, id or id pattern, status) of every error made with a literal or f-string id."""
    found = []
    for path in sorted((REPO / "ari_callback").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or _name(node) not in MAKERS:
                continue
            status_at, id_at = MAKERS[_name(node)]
            if id_at >= len(node.args):
                continue
            argument, where = node.args[id_at], f"{path.relative_to(REPO)}:{node.lineno}"
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.append((where, argument.value, _status(node, status_at)))
            elif isinstance(argument, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else "<x>" for v in argument.values)
                found.append((where, text, _status(node, status_at)))
    return found


def _catalogued(error_id: str, status: int | None) -> bool:
    if "<x>" not in error_id:
        return error_catalogue.known(error_id, status)
    head, _, tail = error_id.partition("<x>")
    names = [name for name in error_catalogue.CATALOGUE if name.startswith(head) and name.endswith(tail)]
    families = [f for f in error_catalogue.FAMILIES if f.startswith(head) and head]
    return bool(names or families)


def test_the_scan_finds_the_error_making_calls() -> None:
    assert len(_raised()) > 80   # a scan that found nothing would pass everything below


def test_every_error_the_code_makes_is_catalogued_with_its_status() -> None:
    missing = [(where, error_id, status) for where, error_id, status in _raised()
               if error_id.replace("<x>", "") and not _catalogued(error_id, status)]
    assert missing == []


@pytest.mark.parametrize("error_id", [admission.CONCURRENT, admission.RATE, admission.PACE, destinations.ERROR_ID,
                                      slots.SLOT_IN_PAST,
                                      slots.SLOT_TOO_SOON, slots.SLOT_TOO_FAR, slots.SLOT_CLOSED, slots.SLOT_FULL])
def test_ids_kept_in_constants_are_catalogued(error_id: str) -> None:
    assert error_catalogue.known(error_id)


def test_the_readme_shows_the_catalogue_as_it_is() -> None:
    assert error_catalogue.markdown() in (REPO / "README.md").read_text()


def test_the_openapi_description_lists_every_error_id() -> None:
    description = create_app(Settings(), runtime=lambda s: None).openapi()["info"]["description"]
    assert all(f"`{error_id}`" in description for error_id in error_catalogue.CATALOGUE)
