"""The app's reading of a PostgreSQL store: the same Snapshot as the file store's Loader, read
whole at each load (one query for the phases, one for the recent events), judged at the
server's clock. Runs in the app's loader thread; it touches the store through its public
methods only and never Textual.

A database reading is a few milliseconds whatever changed, so there is nothing to keep between
loads except what tells the screen which phases changed.
"""

from __future__ import annotations

import time
from typing import Any

from ..core.errors import ConductorError
from ..core.estimate import CriticalMemo, TookCache, batches_run, sprint_timing
from ..core.graph import layers, plan_batches, topo_order
from ..core.models import PhaseView
from .model import Lane, Snapshot, attention, phase_details

__all__ = ["PgLoader"]


class PgLoader:
    """The Loader's surface the app uses (load, details, sprint, store, classes) over a PgStore."""

    def __init__(
        self,
        store: Any,
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
        self.sprint: Any = None
        self.classes: dict[str, str] = {}
        self.phase_reads = 0
        self._views: dict[str, PhaseView] = {}
        self._took: TookCache = {}
        self._critical = CriticalMemo()

    def details(self, phase: str) -> tuple[PhaseView, str, list[str]] | str:
        """A phase's fresh view (with the planner's class) and why it can or cannot be claimed."""
        return phase_details(self.sprint, self.classes, phase)

    def load(self, changed: frozenset[str] | None = None) -> Snapshot:
        """Read the sprint whole; errors become a Snapshot with an error, never an exception."""
        started = time.perf_counter()
        try:
            return self._load(started)
        except ConductorError as exc:  # the server went away: say so, keep trying
            return Snapshot(view=None, error=exc.message, fatal=False)

    def _load(self, started: float) -> Snapshot:
        store = self.store
        if self.sprint_id:
            sprint = store.open_sprint(self.sprint_id)
        else:
            sprint = store.find_active(self.project)
        if sprint is None:
            self.sprint, self._views = None, {}
            return Snapshot(
                view=None,
                error=f"no active sprint for {self.project} in {store.root} "
                "(waiting: start one with `conductor start`)",
            )
        if self.sprint is None or sprint.sprint_id != self.sprint.sprint_id:
            self._views, self._took, self._critical = {}, {}, CriticalMemo()
        self.sprint = sprint
        now = store.clock()
        readings = sprint.read_all(now)
        self.phase_reads += len(readings)
        classes, _sources, warnings = sprint.concurrency(self.skill_roots, tolerate_config=True)
        self.classes = dict(classes)
        view = sprint.view_from(readings, now, classes=classes)
        view.warnings.extend(warnings)
        before = self._views
        changed = (
            None
            if not before
            else frozenset(pv.name for pv in view.phases if before.get(pv.name) != pv)
        )
        self._views = {pv.name: pv for pv in view.phases}
        phases = sprint.record.phases
        done = {pv.name for pv in view.phases if pv.status == "done"}
        by_name = self._views
        lanes = [
            Lane(b, [by_name[n] for n in b.phases if n in by_name])
            for b in plan_batches(phases, classes, done)
        ]
        done_lanes = [
            Lane(b, [by_name[n] for n in b.phases if n in by_name])
            for b in batches_run(phases, classes, done)
        ]
        events: list[Any] = list(store.events(sprint=sprint.sprint_id, tail=self.events))
        expiries = [
            pv.lock.lease_expires_in
            for pv in view.phases
            if pv.lock is not None
            and pv.lock.lease_expires_in is not None
            and pv.status != "done"
            and pv.lock.lease_expires_in > 0
        ]
        return Snapshot(
            view=view,
            order=topo_order(phases),
            layers=layers(phases),
            lanes=lanes,
            events=events,
            attention=attention(view, events),
            load_s=time.perf_counter() - started,
            next_expiry_in=min(expiries) if expiries else None,
            changed=changed,
            done_lanes=done_lanes,
            timing=sprint_timing(phases, view, {}, self._took, self._critical),
        )
