"""`context` and `resume` on a PostgreSQL store: the core's hand-off page, with each done
phase's checkpoint taken from the database where this machine does not have the artifact."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core import handoff
from ..core.models import DoneRecord

if TYPE_CHECKING:
    from .store import PgSprint

__all__ = ["context", "resume"]


def context(sprint: PgSprint) -> handoff.Context:
    """The sprint on one page, as the core builds it (its rule reads only `view()` and the
    record), then each completed phase's artifact judged by `PgSprint.artifact_check`."""
    page = handoff.context(sprint)  # type: ignore[arg-type]  # duck-typed: view() and record
    view = sprint.view()
    for item in page.completed:
        pv = view.phase(item.phase)
        done = pv.done if pv is not None and pv.done is not None else None
        if done is None:
            done = DoneRecord(
                agent=item.agent, completed_at=item.completed_at, artifact=item.artifact
            )
        item.check = sprint.artifact_check(item.phase, done)
    return page


def resume(sprint: PgSprint, agent: str) -> handoff.Resume:
    """The calling agent's claims, else what it can claim now (the core's rule, unchanged)."""
    return handoff.resume(sprint, agent)  # type: ignore[arg-type]  # duck-typed: view()
