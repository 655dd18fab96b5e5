"""One consistent reading of the store for the screen: the sprint view plus what is derived from it.

Runs in the app's loader thread; it touches the store through the core only and never Textual.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from ..core import audit
from ..core.artifacts import check_artifact
from ..core.errors import ConductorError
from ..core.graph import layers, plan_batches, topo_order
from ..core.models import AuditEvent, BatchView, PhaseView, SprintView
from ..core.store import Sprint, Store

# Order in which the attention list ranks what needs a person.
URGENCY = {
    "contested": 0,
    "stale": 1,
    "malformed": 2,
    "suspect": 3,
    "orphan": 4,
    "fenced": 5,
    "changed": 6,
    "note": 7,
}


@dataclass(frozen=True)
class Attention:
    """Something a person should act on now, with the key that acts on it."""

    phase: str
    kind: str
    text: str
    key: str


@dataclass(frozen=True)
class Lane:
    """One batch of the plan with its phases' live states."""

    batch: BatchView
    phases: list[PhaseView]

    @property
    def busy(self) -> int:
        """How many of the lane's phases are being worked on now."""
        return sum(1 for p in self.phases if p.status in ("held", "suspect", "stale", "contested"))

    @property
    def slots(self) -> int:
        """How many phases of the lane may run at once."""
        return len(self.phases) if self.batch.type == "read" else 1


@dataclass(frozen=True)
class Snapshot:
    """Everything the screen shows, read at one instant."""

    view: SprintView | None
    order: list[str] = field(default_factory=list)
    layers: list[list[str]] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)
    events: list[AuditEvent | str] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    error: str | None = None
    fatal: bool = False  # the store is unreadable, as opposed to waiting for a sprint
    load_s: float = 0.0
    next_expiry_in: float | None = None

    def phase(self, name: str | None) -> PhaseView | None:
        """The view of a phase by name."""
        if self.view is None or name is None:
            return None
        return self.view.phase(name)


class Loader:
    """Finds the sprint and reads snapshots of it; one per app, used from the loader thread."""

    def __init__(
        self,
        store: Store,
        project: str,
        sprint_id: str | None = None,
        skill_roots: list[str] | None = None,
        events: int = 200,
    ) -> None:
        self.store = store
        self.project = project
        self.sprint_id = sprint_id
        self.skill_roots = list(skill_roots or [])
        self.events = events
        self.sprint: Sprint | None = None
        self.classes: dict[str, str] = {}
        # artifact checks keyed by what lstat says, so a reload re-hashes only what changed
        self._artifact_cache: dict[str, tuple[tuple[int, int, int, str], str | None]] = {}

    def find(self) -> Sprint | None:
        """The sprint to show (re-found on each load: a new sprint may have been started)."""
        if self.sprint_id:
            return self.store.open_sprint(self.sprint_id)
        if not os.path.isdir(self.store.root):
            return None
        return self.store.find_active(self.project)

    def details(self, phase: str) -> tuple[PhaseView, str, list[str]] | str:
        """A phase's fresh view (with the planner's class) and why it can or cannot be claimed."""
        sprint = self.sprint
        if sprint is None:
            return "no sprint"
        if phase not in sprint.defs:
            return f"no phase {phase!r}"
        status, reasons = sprint.why(phase)
        pv = sprint.phase_view(phase)  # this phase only: not a reading of the whole sprint
        pv.concurrency = self.classes.get(phase, pv.concurrency)  # type: ignore[assignment]
        pv.dependents = [p.name for p in sprint.record.phases if phase in p.depends_on]
        return pv, status, reasons

    def load(self) -> Snapshot:
        """Read the store once; errors become a Snapshot with an error, never an exception."""
        started = time.perf_counter()
        try:
            sprint = self.find()
        except ConductorError as exc:
            return Snapshot(view=None, error=exc.message, fatal=True)
        self.sprint = sprint
        if sprint is None:
            return Snapshot(
                view=None,
                error=f"no active sprint for {self.project} in {self.store.root} "
                "(waiting: start one with `conductor start`)",
            )
        view = sprint.view()
        phases = sprint.record.phases
        classes, _sources, warnings = sprint.concurrency(self.skill_roots, tolerate_config=True)
        self.classes = dict(classes)
        for pv in view.phases:
            pv.concurrency = classes.get(pv.name, "write")
        done = {pv.name for pv in view.phases if pv.status == "done"}
        lanes = [
            Lane(b, [p for name in b.phases if (p := view.phase(name)) is not None])
            for b in plan_batches(phases, classes, done)
        ]
        events = [
            e
            for e in audit.read(self.store.audit_path, tail=self.events * 4)
            if isinstance(e, str) or e.sprint in (view.sprint_id, None)
        ][-self.events :]
        view.warnings.extend(warnings)
        expiries = [
            pv.lock.lease_expires_in
            for pv in view.phases
            if pv.lock is not None
            and pv.lock.lease_expires_in is not None
            and pv.status != "done"
            and pv.lock.lease_expires_in > 0
        ]
        changed = self._artifact_problems(view)
        return Snapshot(
            view=view,
            order=topo_order(phases),
            layers=layers(phases),
            lanes=lanes,
            events=events,
            attention=attention(view, events, changed),
            load_s=time.perf_counter() - started,
            next_expiry_in=min(expiries) if expiries else None,
        )

    def _artifact_problems(self, view: SprintView) -> dict[str, str]:
        """Done phases whose artifact changed, vanished or became unreadable since completion."""
        problems: dict[str, str] = {}
        for pv in view.phases:
            done = pv.done
            if done is None or not done.artifact or not done.sha256:
                continue
            try:
                st = os.lstat(done.artifact)
                key = (st.st_mtime_ns, st.st_size, st.st_ino, done.sha256)
            except OSError:
                key = (0, 0, 0, done.sha256)
            cached = self._artifact_cache.get(done.artifact)
            if cached is None or cached[0] != key:
                check = check_artifact(done)
                cached = (key, check.problem if check is not None else None)
                self._artifact_cache[done.artifact] = cached
            if cached[1]:
                problems[pv.name] = cached[1]
        return problems


def attention(
    view: SprintView, events: list[AuditEvent | str], changed: dict[str, str] | None = None
) -> list[Attention]:
    """What needs a person now, most urgent first."""
    items: list[Attention] = []
    for phase, problem in (changed or {}).items():
        items.append(Attention(phase, "changed", f"{problem}; see `conductor verify`", "enter"))
    for pv in view.phases:
        lock = pv.lock
        if pv.status == "stale" and lock is not None:
            items.append(
                Attention(
                    pv.name,
                    "stale",
                    f"stale lock of {lock.agent or '?'}: "
                    f"{lock.evidence[0] if lock.evidence else ''}",
                    "r",
                )
            )
        elif pv.status == "suspect" and lock is not None:
            items.append(
                Attention(
                    pv.name,
                    "suspect",
                    f"{lock.agent} is past its lease but alive: check on it before reclaiming",
                    "r",
                )
            )
        elif pv.status == "contested":
            items.append(
                Attention(
                    pv.name,
                    "contested",
                    "granted twice by upstream sprint.sh; reclaim to clear both",
                    "r",
                )
            )
        elif pv.status == "malformed":
            reason = pv.problems[0] if pv.problems else "unreadable record"
            items.append(
                Attention(pv.name, "malformed", f"{reason}; run `conductor doctor`", "enter")
            )
        for problem in pv.problems if pv.status != "malformed" else []:
            items.append(Attention(pv.name, "malformed", problem, "enter"))
        for note in pv.notes:
            orphan = pv.orphan_sentinel and "lock.d" in note
            items.append(
                Attention(pv.name, "orphan" if orphan else "note", note, "r" if orphan else "enter")
            )
    seen: set[str] = set()
    for e in reversed(events):
        if not isinstance(e, AuditEvent) or e.event != "sprint_fenced" or e.resource in seen:
            continue
        if _not_done(view, e.resource):  # once the phase is done, the fencing is history
            seen.add(e.resource)
            items.append(
                Attention(
                    e.resource,
                    "fenced",
                    f"{e.agent or e.detail} was fenced "
                    f"at {e.at}: its work on this phase was not recorded",
                    "enter",
                )
            )
    items.sort(key=lambda a: URGENCY.get(a.kind, 9))
    return items


def _not_done(view: SprintView, phase: str) -> bool:
    pv = view.phase(phase)
    return pv is not None and pv.status != "done"
