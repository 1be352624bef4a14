"""How many random event sequences each Hypothesis model of the call machine tries.

``make test`` tries 3,000 per model: both together take about 45 s on this project's 2-core
machine, where 10,000 took 143 s of a suite that must stay under 20 minutes. A deeper run, for
a change to the machine: ``ARI_CB_MODEL_EXAMPLES=10000 make unit`` (or more)."""

from __future__ import annotations

import os

MODEL_EXAMPLES = int(os.environ.get("ARI_CB_MODEL_EXAMPLES", "3000"))
