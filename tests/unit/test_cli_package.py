"""The command line without its optional parts: a missing extra is named, not a traceback; and
the CLI, the bundled Asterisk and the demo import each other without a cycle."""

from __future__ import annotations

import ast
import sys

import pytest
from click.testing import CliRunner

from ari_callback.bundled import REPO
from ari_callback.cli import main


@pytest.mark.parametrize("args", [["asterisk", "status"], ["asterisk", "down"], ["asterisk", "logs"]])
def test_given_no_docker_sdk_then_the_asterisk_commands_name_the_extra(monkeypatch, args) -> None:
    monkeypatch.setitem(sys.modules, "docker", None)          # what an install without [docker] has
    monkeypatch.setitem(sys.modules, "docker.errors", None)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "pip install 'ari-callback[docker]'" in result.output and "Traceback" not in result.output


def _imports(module: str) -> set[str]:
    tree = ast.parse((REPO / "ari_callback" / f"{module}.py").read_text())
    return {node.module.split(".")[0] for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}


def test_the_demo_does_not_import_the_cli_that_imports_it() -> None:
    assert "cli" not in _imports("demo") and "cli" not in _imports("cli_asterisk")
