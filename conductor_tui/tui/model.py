"""One consistent reading of the store for the screen: the sprint view plus what is derived from it.

Runs in the app's loader thread; it touches the store through the core only and never Textual.

A load re-reads only what changed. The watcher reports the paths it saw change; the loader keeps
the last reading of every phase and reads again only the phase directories under those paths,
then derives every view again from all the readings it holds, at the store clock's now (a view
is derived from one reading of each phase: invariant 9). What the phase graph alone decides
(order, layers, concurrency classes, the batch plan) is kept until sprint.json or config.json is
another file, and the audit log is read from where the last load stopped. A full read (every
phase, the active sprint found again) happens on the first load and whenever the reason for a
load is unknown or outside a phase directory. Besides, each load re-reads a few more phases in
turn: a sweep, at a rate that reads every phase once a period (15 s; longer past 500 phases),
the active sprint and the classes found again at the end of each round. An event the watcher
missed is repaired within that bound, and spread over the loads, the safety net never makes a
change wait behind a full read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core import audit
from ..core.artifacts import check_artifact
from ..core.errors import ConductorError
from ..core.estimate import (
    CriticalMemo,
    Timing,
    TookCache,
    batches_run,
    project_history,
    sprint_timing,
)
from ..core.graph import layers, plan_batches, topo_order
from ..core.layout import SPRINT_JSON
from ..core.models import AuditEvent, BatchView, Concurrency, PhaseView, SprintView
from ..core.reading import PhaseReading, same_timeless, timeless
from ..core.store import FileId, Sprint, Store, file_identity

# The longest a reading kept from an earlier load may go without being read again by the sweep
# (the bridge's rescan period: a quiet store still gets a load that often to sweep)...
FULL_EVERY_S = 15.0
# ... and beyond 500 phases, this long for each phase (30 s at 1,000): the sweep's reading of
# 1,000 phase directories costs about 3.5 ms a second, idle or not
SWEEP_S_PER_PHASE = 0.03
# A "path" that names no file: only time passed. load(frozenset({TICK})) reads no phase and
# judges every kept reading again at now (see Loader.rejudge); it adds up with real paths in
# a set of changes, and a full read still wins over it.
TICK = "<tick>"
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
    # phases whose view differs from the previous snapshot this loader made (None: any may have,
    # e.g. the first reading or another sprint); a widget may update only those
    changed: frozenset[str] | None = None
    seq: int = 0  # the loader's count of readings: `changed` is against reading seq - 1 (0: none)
    # something shown changes with time alone (a lock's age, lease or verdict, an orphan lock
    # directory's note, a running phase's time): False when every reading is timeless
    timed: bool = True
    done_lanes: list[Lane] = field(default_factory=list)  # the batches already run, in order
    timing: Timing | None = None  # the critical path, its estimate, each phase's time so far

    @property
    def critical(self) -> list[str]:
        """The longest chain of phases not yet done (the graph marks it)."""
        return self.timing.critical if self.timing is not None else []

    def phase(self, name: str | None) -> PhaseView | None:
        """The view of a phase by name."""
        if self.view is None or name is None:
            return None
        return self.view.phase(name)


# lanes kept from a load: the batch list, its lanes, and the index of each phase's lane
LanesKept = tuple[list[BatchView], list[Lane], dict[str, int]]


@dataclass(frozen=True)
class Graph:
    """What a sprint's phase graph alone decides, kept while sprint.json is the same file."""

    key: tuple[str, FileId | None]  # the sprint's path and its sprint.json's identity
    order: list[str]
    layers: list[list[str]]


@dataclass(frozen=True)
class Classes:
    """Each phase's concurrency class, and what resolving them warned about; kept while
    sprint.json and config.json are the same files (SKILL.md files are looked at again on each
    full read)."""

    key: tuple[object, ...]
    classes: dict[str, Concurrency]
    warnings: list[str]


class Loader:
    """Finds the sprint and reads snapshots of it; one per app, used from the loader thread."""

    def __init__(
        self,
        store: Store,
        project: str,
        sprint_id: str | None = None,
        skill_roots: list[str] | None = None,
        events: int = 200,
        *,
        full_every_s: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.project = project
        self.sprint_id = sprint_id
        self.skill_roots = list(skill_roots or [])
        self.events = events
        self.full_every_s = full_every_s
        self.sprint: Sprint | None = None
        self.classes: dict[str, str] = {}
        self.graph: Graph | None = None
        # phase directories read by every load so far (a figure for tests and benchmarks)
        self.phase_reads = 0
        self.seq = 0  # readings made (each snapshot's seq)
        # artifact checks keyed by what lstat says, so a reload re-hashes only what changed
        self._artifact_cache: dict[str, tuple[tuple[int, int, int, str], str | None]] = {}
        self._found: tuple[object, Sprint | None, FileId | None] | None = None
        self._sprint_file: FileId | None = None  # the shown sprint's sprint.json, as found
        self._classes: Classes | None = None
        self._plan: tuple[Graph, Classes, frozenset[str], list[BatchView]] | None = None
        # the last reading of each phase, and the view derived from it for the last snapshot
        self._known: dict[str, tuple[PhaseReading, PhaseView]] = {}
        self._problems: dict[str, str] = {}  # done phases whose artifact changed
        self._monotonic = monotonic
        self._swept_at = monotonic()  # when the sweep last advanced
        self._sweep_due = 0.0  # phases the sweep owes (a fraction carried to the next load)
        self._sweep_at = 0  # where the next round of the sweep goes on, in the sprint's order
        self.swept = 0  # phases read by the sweep so far (a figure for tests)
        self._audit = audit.Tail(store.audit_path, keep=events * 4)
        self._history: tuple[str, dict[str, list[float]]] | None = None  # (sprint id, its past)
        self._took: TookCache = {}  # done phases' durations: done is terminal, read once each
        self._critical = CriticalMemo()  # the critical path, while no phase turns done
        self._run: tuple[Classes, frozenset[str], list[BatchView]] | None = None
        # the lanes of the last load, by id() of the batch list they were made from (the list
        # is kept with the plan): (the list, its lanes, each phase's lane)
        self._lanes_kept: dict[int, LanesKept] = {}
        self._next_lanes: dict[int, LanesKept] = {}

    def find(self) -> Sprint | None:
        """The sprint to show. What finding it reads is checked first (a listing and a few
        stats), and the records are read again only when that changed: a start archives the old
        sprint, so a new sprint always comes with a changed sprint.json."""
        if self.sprint_id:
            sj = os.path.join(self.store.conductor_dir, self.sprint_id, SPRINT_JSON)
            ident = file_identity(sj)  # before the read: a newer file is seen at the next load
            if self._found is None or self._found[0] != ident:
                self._found = (ident, self.store.open_sprint(self.sprint_id), ident)
        else:
            if not os.path.isdir(self.store.root):
                self._found = None
                return None
            active = self.store.active_key(self.project)
            if self._found is None or self._found[0] != active:
                found = self.store.find_active(self.project)
                ident = dict(active).get(found.sprint_id) if found is not None else None
                self._found = (active, found, ident)
        _, sprint, ident = self._found
        current = self.sprint
        if (
            sprint is not None
            and current is not None
            and sprint.path == current.path
            and ident is not None
            and ident == self._sprint_file
        ):
            return current  # the same file: keep the sprint, its readings and what derives
        self._sprint_file = ident
        return sprint

    def details(self, phase: str) -> tuple[PhaseView, str, list[str]] | str:
        """A phase's fresh view (with the planner's class) and why it can or cannot be claimed."""
        return phase_details(self.sprint, self.classes, phase)

    def load(self, changed: frozenset[str] | None = None) -> Snapshot:
        """Read the store; errors become a Snapshot with an error, never an exception.

        changed: the paths the watcher saw change since the last load. None or an empty set (the
        first load, the periodic rescan, a reload for no stated reason) reads everything;
        otherwise only the phase directories under those paths are read again, the other phases
        keep their last reading, and every view is derived again from all of them at the store
        clock's now. A path outside the sprint's phase directories (sprint.json, the sprint or
        conductor folder, config.json, skills, anything unknown) makes it a full read; the audit
        log is read from where the last load stopped, whatever the paths.
        """
        return self._load(self._phases_under(changed) if changed else None)

    def rejudge(self) -> Snapshot:
        """Judge the kept readings again at the store clock's now, reading no phase directory
        but the sweep's (see _sweep).

        For a clock tick while the watcher reports every change: leases run out and holders die
        without a file changing, and the verdicts, ages and notes that depend on time are derived
        again from the same readings. With nothing kept yet it reads everything. The same as
        load(frozenset({TICK})).
        """
        return self._load(set())

    def _phases_under(self, changed: frozenset[str]) -> set[str] | None:
        """The phases whose directories hold these paths, or None when one is anything else."""
        sprint = self.sprint
        if sprint is None:
            return None
        base = sprint.path + os.sep
        phases: set[str] = set()
        for raw in changed:
            if raw == TICK:
                continue
            path = os.path.normpath(raw)
            if path == self.store.audit_path:
                continue  # read incrementally on every load anyway
            if not path.startswith(base):
                return None
            name = path[len(base) :].split(os.sep, 1)[0]
            if name not in sprint.defs:
                return None  # sprint.json, or something no phase explains
            phases.add(name)
        return phases

    def _load(self, phases: set[str] | None) -> Snapshot:
        """Read the phases named (all of them, with the sprint found again, when None)."""
        started = time.perf_counter()
        full = phases is None or self.sprint is None or not self._known
        swept: list[str] = []
        rounded = False  # a round of the sweep ended with this load
        if not full:
            swept, rounded = self._sweep()
            full = rounded and len(swept) >= len(self._known)  # a long quiet spell: all of it
            if rounded and not full:
                # a round of the sweep is over: the sprint is found again (sprint.json)
                try:
                    full = self.find() is not self.sprint
                except ConductorError:
                    full = True  # the full read below says what is wrong
        try:
            sprint = self.find() if full else self.sprint
        except ConductorError as exc:
            self._forget()
            return Snapshot(view=None, error=exc.message, fatal=True)
        if sprint is None:
            self._forget()
            return Snapshot(
                view=None,
                error=f"no active sprint for {self.project} in {self.store.root} "
                "(waiting: start one with `conductor start`)",
            )
        if sprint is not self.sprint:
            self._forget()
            self.sprint = sprint
        known = self._known
        now = self.store.clock()
        if full:
            readings = sprint.read_all(now)
            self._swept_at = self._monotonic()
            self._sweep_due = 0.0
            reread: set[str] | list[str] = list(sprint.defs)
        else:
            assert phases is not None
            readings = {name: r for name, (r, _) in known.items()}
            reread = phases | set(swept)
            for name in reread:
                fresh = sprint.read(name, now)
                kept = known.get(name)
                # a phase read again to find it as it was (the sweep, mostly) keeps its reading
                # object, and with it its view (view_from keeps a timeless reading's view)
                readings[name] = (
                    kept[0] if kept is not None and same_timeless(kept[0], fresh) else fresh
                )
        self.phase_reads += len(reread)
        self.swept += len(swept)
        graph = self._graph_of(sprint)
        kinds = self._classes_of(sprint, graph, full or rounded)
        view = sprint.view_from(readings, now, classes=kinds.classes, known=known)
        view.warnings.extend(kinds.warnings)
        changed = (
            None
            if not known
            else frozenset(
                pv.name
                for pv in view.phases
                if (before := known.get(pv.name)) is None
                or (before[1] is not pv and before[1] != pv)
            )
        )
        self._known = {pv.name: (readings[pv.name], pv) for pv in view.phases}
        done = frozenset(pv.name for pv in view.phases if pv.status == "done")
        by_name = {pv.name: pv for pv in view.phases}
        lanes = self._lanes(self._plan_of(sprint, graph, kinds, done), by_name, changed)
        done_lanes = self._lanes(self._run_of(sprint, kinds, done), by_name, changed)
        self._lanes_kept, self._next_lanes = self._next_lanes, {}
        timing = sprint_timing(
            sprint.record.phases, view, self._past(view), self._took, self._critical
        )
        events = [
            e
            for e in self._audit.read()
            if isinstance(e, str) or e.sprint in (view.sprint_id, None)
        ][-self.events :]
        expiries = [
            pv.lock.lease_expires_in
            for pv in view.phases
            if pv.lock is not None
            and pv.lock.lease_expires_in is not None
            and pv.status != "done"
            and pv.lock.lease_expires_in > 0
        ]
        problems = self._artifact_problems(view, None if full else reread)
        return Snapshot(
            view=view,
            order=graph.order,
            layers=graph.layers,
            lanes=lanes,
            events=events,
            attention=attention(view, events, problems),
            load_s=time.perf_counter() - started,
            next_expiry_in=min(expiries) if expiries else None,
            changed=changed,
            seq=self._next_seq(),
            timed=not all(timeless(r) for r in readings.values()),
            done_lanes=done_lanes,
            timing=timing,
        )

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _lanes(
        self,
        batches: list[BatchView],
        by_name: dict[str, PhaseView],
        changed: frozenset[str] | None,
    ) -> list[Lane]:
        """The batches with their phases' views. For the same batch list as at the last load,
        only the lanes holding a changed phase are made again; the others are the same Lane
        objects (widgets keep what they drew of them)."""
        kept = self._lanes_kept.get(id(batches))
        if kept is not None and kept[0] is batches and changed is not None:
            _, lanes, where = kept
            lanes = list(lanes)
            # each lane once, however many of its phases changed (a wide lane holds them all)
            for i in {i for name in changed if (i := where.get(name)) is not None}:
                b = batches[i]
                lanes[i] = Lane(b, [p for n in b.phases if (p := by_name.get(n)) is not None])
        else:
            lanes = [
                Lane(b, [p for n in b.phases if (p := by_name.get(n)) is not None]) for b in batches
            ]
            where = {n: i for i, b in enumerate(batches) for n in b.phases}
        self._next_lanes[id(batches)] = (batches, lanes, where)
        return lanes

    def _run_of(self, sprint: Sprint, kinds: Classes, done: frozenset[str]) -> list[BatchView]:
        """The batches already run, computed again only when the classes or done change."""
        run = self._run
        if run is None or run[0] is not kinds or run[1] != done:
            run = (kinds, done, batches_run(sprint.record.phases, kinds.classes, done))
            self._run = run
        return run[2]

    def _past(self, view: SprintView) -> dict[str, list[float]]:
        """Durations of the project's earlier sprints, read once per sprint shown (only a new
        sprint, which archives this one, adds to them)."""
        if self._history is None or self._history[0] != view.sprint_id:
            past = project_history(self.store, view.project, view.sprint_id)
            self._history = (view.sprint_id, past)
        return self._history[1]

    def _sweep(self) -> tuple[list[str], bool]:
        """The phases this load re-reads although nobody reported them, and whether that ends
        a round: every phase in turn, at a rate that reads each one once every `full_every_s`
        (a safety net for an event the watcher missed, spread over the loads rather than one
        full read that a change arriving meanwhile would wait for)."""
        names = list(self._known)
        n = len(names)
        now = self._monotonic()
        period = self.full_every_s
        if period is None:  # reading a phase costs about 0.1 ms: big sprints sweep slower
            period = max(FULL_EVERY_S, SWEEP_S_PER_PHASE * n)
        if period <= 0:
            return names, True
        self._sweep_due += n * max(0.0, now - self._swept_at) / period
        self._swept_at = now
        k = min(n, int(self._sweep_due))
        self._sweep_due -= k
        if k == 0:
            return [], False
        start = self._sweep_at % n
        self._sweep_at = (start + k) % n
        return [names[(start + i) % n] for i in range(k)], start + k >= n

    def _forget(self) -> None:
        """Drop what was kept about the sprint shown (another sprint, or none, is next)."""
        self.sprint = None
        self._known = {}
        self._problems = {}
        self._plan = None
        self._took = {}
        self._critical = CriticalMemo()
        self._run = None
        self._lanes_kept = {}

    def _graph_of(self, sprint: Sprint) -> Graph:
        """The order and layers of the sprint's graph, computed once per sprint.json."""
        key = (sprint.path, self._sprint_file)
        graph = self.graph
        if graph is None or graph.key != key or self._sprint_file is None:
            phases = sprint.record.phases
            graph = Graph(key, topo_order(phases), layers(phases))
            self.graph = graph
        return graph

    def _classes_of(self, sprint: Sprint, graph: Graph, full: bool) -> Classes:
        """Each phase's concurrency class: resolved again when sprint.json or config.json is
        another file, or on a full read (a SKILL.md may have changed); kept otherwise, and the
        same object is kept while the answer is the same (so the plan is kept too)."""
        config = file_identity(os.path.join(self.store.root, "config.json"))
        key = (graph.key, config, tuple(self.skill_roots))
        kept = self._classes
        if kept is not None and kept.key == key and not full:
            return kept
        classes, _sources, warnings = sprint.concurrency(self.skill_roots, tolerate_config=True)
        if kept is None or kept.classes != classes or kept.warnings != warnings or kept.key != key:
            kept = Classes(key, dict(classes), warnings)
            self._classes = kept
            self.classes = dict(classes)
        return kept

    def _plan_of(
        self, sprint: Sprint, graph: Graph, kinds: Classes, done: frozenset[str]
    ) -> list[BatchView]:
        """The batch plan, computed again only when the graph, the classes or done change."""
        plan = self._plan
        if plan is None or plan[0] is not graph or plan[1] is not kinds or plan[2] != done:
            batches = plan_batches(sprint.record.phases, kinds.classes, set(done))
            plan = (graph, kinds, done, batches)
            self._plan = plan
        return plan[3]

    def _artifact_problems(
        self, view: SprintView, reread: set[str] | list[str] | None
    ) -> dict[str, str]:
        """Done phases whose artifact changed, vanished or became unreadable since completion:
        every done phase on a full read (reread None), else only the phases read again."""
        if reread is None:
            self._problems = {}
            names: set[str] | list[str] = [pv.name for pv in view.phases]
        else:
            names = reread
        for name in names:
            self._problems.pop(name, None)
            pv = view.phase(name)
            problem = self._artifact_problem(pv) if pv is not None else None
            if problem:
                self._problems[name] = problem
        # in the sprint's order, as a full read lists them
        return {pv.name: self._problems[pv.name] for pv in view.phases if pv.name in self._problems}

    def _artifact_problem(self, pv: PhaseView) -> str | None:
        """What is wrong with a done phase's artifact now, if anything (cached by lstat)."""
        done = pv.done
        if done is None or not done.artifact or not done.sha256:
            return None
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
        return cached[1]


def phase_details(
    sprint: Any, classes: dict[str, str], phase: str
) -> tuple[PhaseView, str, list[str]] | str:
    """A phase's fresh view (with the planner's class) and why it can or cannot be claimed, on
    either store's sprint; a string says why there is none."""
    if sprint is None:
        return "no sprint"
    if phase not in sprint.defs:
        return f"no phase {phase!r}"
    status, reasons = sprint.why(phase)
    pv = sprint.phase_view(phase)  # this phase only: not a reading of the whole sprint
    pv.concurrency = classes.get(phase, pv.concurrency)
    pv.dependents = [p.name for p in sprint.record.phases if phase in p.depends_on]
    return pv, status, reasons


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
