from pathlib import Path

from ari_callback.domain.diagram import render


def test_given_transition_table_then_docs_state_machine_is_current():
    doc = Path(__file__).resolve().parents[2] / "docs" / "state-machine.md"
    assert doc.read_text() == render(), "run: python -m ari_callback.domain.diagram > docs/state-machine.md"
