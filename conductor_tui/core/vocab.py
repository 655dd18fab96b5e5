"""The store's vocabulary: states, verdicts and classes, with no dependency at all.

Kept apart from models.py (which needs pydantic) so that the fast paths, such as the guard
hook deciding on a read-only command, use the same words without paying for pydantic.
"""

from __future__ import annotations

from typing import Literal

Concurrency = Literal["read", "write", "exclusive"]
# The refined state of a phase, as every face shows it.
PhaseStatus = Literal[
    "done", "held", "suspect", "stale", "contested", "malformed", "ready", "blocked"
]
# The state in upstream's vocabulary (sprint.sh status).
UpstreamState = Literal["pending", "running", "done"]
Verdict = Literal["held", "suspect", "stale", "contested", "malformed"]
EndHow = Literal["done", "aborted", "reclaimed", "superseded"]
# Statuses in which somebody may still be working on the phase.
LIVE: tuple[PhaseStatus, ...] = ("held", "suspect", "contested")
