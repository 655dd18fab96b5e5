"""Models of the store's files (tolerant on read) and of the views derived from them.

Lean classes (`lean.Lean`), not pydantic models: a command that only claims or reads must not
pay for pydantic. A record read from disk is checked by `model_validate`, a strict reader made
from these annotations that hands anything unusual to pydantic (see lean.py).
"""

from __future__ import annotations

from functools import cached_property

from . import vocab
from .lean import Lean
from .lean import field as Field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    from .vocab import Concurrency, EndHow, PhaseStatus, UpstreamState, Verdict

__all__ = ["Concurrency", "EndHow", "PhaseStatus", "UpstreamState", "Verdict"]


def __getattr__(name: str) -> object:
    """The vocabulary's Literal types, re-exported for the modules that import them from here
    (built only when asked for: see vocab.py)."""
    if name in vocab.WORDS:
        return getattr(vocab, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Record(Lean):
    """A record read from disk: unknown keys are kept (and written back), types are checked."""

    lean_extra = True


class PhaseDef(_Record):
    """One phase of the sprint graph as sprint.json holds it."""

    name: str
    depends_on: list[str] = Field(default_factory=list)
    concurrency: Concurrency | None = None


class SprintRecord(_Record):
    """sprint.json: the sprint's identity, status and phase graph."""

    sprint_id: str
    project: str
    started_by: str = ""
    started_at: str = ""
    status: str = "active"
    phases: list[PhaseDef]


class LockMeta(_Record):
    """lock/meta.json: upstream's lock record, with our fencing and lease fields as extras."""

    agent: str = ""
    claimed_at: str = ""
    pid: int | None = None
    token: str | None = None
    epoch: int | None = None
    host: str | None = None
    holder_pid: int | None = None
    holder_start: int | None = None
    heartbeat_at: str | None = None
    ttl_s: float | None = None


class OwnerRecord(_Record):
    """lock/<token>/owner.json: the authoritative record of one claim."""

    agent: str
    token: str
    epoch: int
    claimed_at: str
    heartbeat_at: str
    ttl_s: float
    host: str
    holder_pid: int | None = None
    holder_start: int | None = None
    sprint_id: str = ""
    phase: str = ""


def mirror_of(owner: OwnerRecord) -> dict[str, Any]:
    """lock/meta.json of a claim: upstream's three fields first (pid = the holder, for upstream's
    liveness check), then ours."""
    return {
        "agent": owner.agent,
        "claimed_at": owner.claimed_at,
        "pid": owner.holder_pid if owner.holder_pid is not None else 0,
        "token": owner.token,
        "epoch": owner.epoch,
        "host": owner.host,
        "holder_pid": owner.holder_pid,
        "holder_start": owner.holder_start,
        "heartbeat_at": owner.heartbeat_at,
        "ttl_s": owner.ttl_s,
    }


class DoneRecord(_Record):
    """<phase>/done: the phase is complete (upstream fields plus token, epoch and SHA-256)."""

    agent: str = ""
    completed_at: str = ""
    artifact: str = ""
    token: str | None = None
    epoch: int | None = None
    sha256: str | None = None


class EndRecord(_Record):
    """history/<token>/end.json: how and by whom a claim ended."""

    how: EndHow
    by: str
    at: str
    reason: str = ""


class AuditEvent(_Record):
    """One line of audit.log (upstream fields first; ours are extras upstream readers ignore)."""

    at: str
    event: str
    resource: str = ""
    detail: str = ""
    sprint: str | None = None
    agent: str | None = None
    token: str | None = None
    epoch: int | None = None


class StoreConfig(_Record):
    """<store>/config.json: optional graph and skill roots."""

    phase_graph: list[Any] | None = None
    skill_roots: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------- views (derived, never stored)


class LockView(Lean):
    """What a reader knows about the lock of one phase, with the evidence for its verdict."""

    form: Literal["fenced", "upstream", "upstream-file", "unknown"]
    verdict: Verdict
    evidence: list[str] = Field(default_factory=list)
    agent: str = ""
    token: str | None = None
    epoch: int | None = None
    claimed_at: str = ""
    heartbeat_at: str | None = None
    ttl_s: float | None = None
    lease_expires_in: float | None = None
    age_s: float | None = None
    host: str | None = None
    holder_pid: int | None = None
    holder_alive: bool | None = None
    double_grant: bool = False
    malformed: str | None = None


class PhaseView(Lean):
    """One phase as every face shows it: its state, why, and the records behind it."""

    name: str
    depends_on: list[str]
    dependents: list[str] = Field(default_factory=list)
    concurrency: Concurrency = "write"
    status: PhaseStatus
    state: UpstreamState
    blocked_by: list[str] = Field(default_factory=list)
    lock: LockView | None = None
    done: DoneRecord | None = None
    problems: list[str] = Field(default_factory=list)
    # what a person should know that does not change the status (an orphan lock.d, debris)
    notes: list[str] = Field(default_factory=list)
    # an orphan lock.d (no lock beside it, past upstream's window): `reclaim` clears it
    orphan_sentinel: bool = False

    @property
    def agent(self) -> str:
        """Who holds or completed the phase, or ''."""
        if self.done is not None:
            return self.done.agent
        if self.lock is not None:
            return self.lock.agent
        return ""


class BatchView(Lean):
    """One lane of the batch plan: phases that may run together."""

    batch: int
    type: Concurrency
    phases: list[str]


class SprintView(Lean):
    """A consistent reading of one sprint at one instant."""

    sprint_id: str
    project: str
    path: str
    store: str
    status: str
    started_by: str = ""
    started_at: str = ""
    now: float
    phases: list[PhaseView]
    warnings: list[str] = Field(default_factory=list)

    @cached_property
    def _by_name(self) -> dict[str, PhaseView]:
        return {view.name: view for view in self.phases}

    def phase(self, name: str) -> PhaseView | None:
        """The view of one phase by name, or None."""
        return self._by_name.get(name)

    @cached_property
    def _counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for view in self.phases:
            counts[view.status] = counts.get(view.status, 0) + 1
        return counts

    def count(self, *statuses: str) -> int:
        """How many phases are in any of the given statuses (counted once per view: a view's
        phases are not changed once it is made)."""
        return sum(self._counts.get(status, 0) for status in set(statuses))
