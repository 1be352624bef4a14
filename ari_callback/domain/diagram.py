"""Render the call state machine's transition table as Markdown (docs/state-machine.md).

``python -m ari_callback.domain.diagram > docs/state-machine.md``; a unit test checks the file
is current, so the documentation cannot drift from the table.
"""

from __future__ import annotations

from collections import defaultdict

from .machine import TRANSITIONS
from .states import ALL_STATES, TERMINAL


def render() -> str:
    lines = ["# The call state machine", "",
             "Generated from `TRANSITIONS` in `ari_callback/domain/machine.py` by",
             "`python -m ari_callback.domain.diagram`. Every non-terminal state also accepts `noted`",
             "(an event that is only recorded); terminal states ignore every event.", "",
             "```mermaid", "stateDiagram-v2", "    [*] --> new"]
    moves: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (state, label), target in TRANSITIONS.items():
        if label != "noted" and state != target:
            moves[(state, target)].append(label)
    for (state, target), labels in sorted(moves.items(), key=lambda kv: (ALL_STATES.index(kv[0][0]), kv[0][1])):
        lines.append(f"    {state} --> {target}: {', '.join(sorted(labels))}")
    lines += [f"    {state} --> [*]" for state in ALL_STATES if state in TERMINAL]
    lines += ["```", "", "| state | label | next state |", "|---|---|---|"]
    for state in ALL_STATES:
        for (src, label), target in sorted(TRANSITIONS.items()):
            if src == state and label != "noted":
                lines.append(f"| {state} | {label} | {target} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
