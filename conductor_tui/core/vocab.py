"""The store's vocabulary: states, verdicts and classes, with no dependency at all.

Kept apart from models.py so that the fast paths, such as the guard hook deciding on a
read-only command, use the same words. The words are tuples at run time; the Literal types made
of them are the type checker's, and are built at run time (importing typing, 2 ms) only when a
module asks for one by name.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
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

# The same words at run time (tests/test_lean.py checks they are the Literals' arguments).
WORDS: dict[str, tuple[str, ...]] = {
    "Concurrency": ("read", "write", "exclusive"),
    "PhaseStatus": (
        "done",
        "held",
        "suspect",
        "stale",
        "contested",
        "malformed",
        "ready",
        "blocked",
    ),
    "UpstreamState": ("pending", "running", "done"),
    "Verdict": ("held", "suspect", "stale", "contested", "malformed"),
    "EndHow": ("done", "aborted", "reclaimed", "superseded"),
}
# Statuses in which somebody may still be working on the phase.
LIVE: tuple[PhaseStatus, ...] = ("held", "suspect", "contested")


def __getattr__(name: str) -> object:
    """Concurrency, PhaseStatus... as Literal types, for a module that uses one at run time."""
    if name in WORDS:
        import typing

        value = typing.Literal.__getitem__(WORDS[name])  # Literal[("a", "b")] is Literal["a", "b"]
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
