"""Where a sprint's time went and where it is going: phase durations, the critical path, an ETA.

Durations are read from the store's own records, never from audit.log. A phase's `done` names
the token that completed it, and ending a claim renames `lock/<token>` (with its `owner.json`,
whose `claimed_at` never changes) to `history/<token>@done-<nonce>/`: claim to complete is
`done.completed_at - owner.claimed_at`, two small files per phase, durable before `complete`
said OK. audit.log would be cheaper to scan but is not reliable for this: it is shared by every
project of the store, readers take only its tail (`MAX_AUDIT_READ`), an event the disk refused
is only a warning, and upstream's own events carry no token.

A phase completed by upstream sprint.sh (a done record without a token) has no claim record of
ours, so it has no duration: it is left out, never guessed.

Everything here is a pure function of the disk and an injected `now`; nothing formats for a
screen.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from statistics import median
from typing import TYPE_CHECKING

from .graph import critical_path, plan_batches, valid_name
from .jsonio import MalformedJSON, read_json
from .layout import DONE, OWNER, SPRINT_JSON, PhasePaths, parse_history
from .liveness import parse_iso
from .models import (
    BatchView,
    Concurrency,
    DoneRecord,
    OwnerRecord,
    PhaseDef,
    PhaseView,
    SprintRecord,
    SprintView,
)
from .paths import SPRINT_RE, project_hash
from .reading import history_entry
from .vocab import LIVE

if TYPE_CHECKING:
    from .store import Store

# The past an estimate rests on: this many of the project's earlier sprints, newest first.
HISTORY_SPRINTS = 20

# (phase directory, token) -> claim-to-complete seconds, or None when it cannot be known.
# A done record is terminal, so its duration is read once; the caller keeps the dict.
TookCache = dict[tuple[str, str], float | None]


@dataclass(frozen=True)
class Estimate:
    """Time left along the critical path, from the median past duration of each phase on it."""

    seconds: float  # the sum over the phases that have history (never a guess for the others)
    samples: int  # how many past phase durations the medians rest on
    unknown: tuple[str, ...] = ()  # phases of the path with no history: not in `seconds`

    @property
    def partial(self) -> bool:
        """Some phases of the path have no history, so the real time left is longer."""
        return bool(self.unknown)


@dataclass(frozen=True)
class Timing:
    """The sprint's timing facts for a screen: the critical path, its ETA, per-phase durations."""

    critical: list[str] = field(default_factory=list)
    estimate: Estimate | None = None
    # done phases: claim to complete; phases with a lock: claim to the reading's now
    took: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- durations on disk


def claimed_at(paths: PhasePaths, token: str) -> float | None:
    """When the claim `token` was made, from its owner record in history/ (None if unknown)."""
    entry = history_entry(paths, token)
    parsed = parse_history(entry) if entry else None
    if entry is None or parsed is None or parsed[0] != token or parsed[1] != "done":
        return None
    try:
        owner = OwnerRecord.model_validate(read_json(os.path.join(paths.ended(entry), OWNER)))
    except (OSError, MalformedJSON, ValueError):
        return None
    return parse_iso(owner.claimed_at) if owner.token == token else None


def done_took(paths: PhasePaths, done: DoneRecord) -> float | None:
    """Claim to complete of a done phase, in seconds; None without a readable claim of ours."""
    if not done.token:
        return None  # completed by upstream sprint.sh: no claim record to measure from
    start = claimed_at(paths, done.token)
    end = parse_iso(done.completed_at)
    if start is None or end is None:
        return None
    took = end - start
    # clocks of two hosts sharing a store can disagree: a negative span measures nothing
    return took if math.isfinite(took) and took >= 0 else None


def elapsed(pv: PhaseView, now: float) -> float | None:
    """Seconds since the phase's current claim was made (None when nobody holds it)."""
    if pv.lock is None:
        return None
    start = parse_iso(pv.lock.claimed_at)
    return None if start is None else max(0.0, now - start)


def sprint_took(
    sprint_dir: str, views: Iterable[PhaseView], now: float, cache: TookCache | None = None
) -> dict[str, float]:
    """Each phase's time so far: done phases claim to complete, locked phases claim to now."""
    out: dict[str, float] = {}
    for pv in views:
        took: float | None = None
        if pv.status == "done" and pv.done is not None:
            if not valid_name(pv.name) or not pv.done.token:
                continue
            paths = PhasePaths(os.path.join(sprint_dir, pv.name))
            key = (paths.dir, pv.done.token)
            if cache is not None and key in cache:
                took = cache[key]
            else:
                took = done_took(paths, pv.done)
                if cache is not None:
                    cache[key] = took
        else:
            took = elapsed(pv, now)
        if took is not None:
            out[pv.name] = took
    return out


def project_history(
    store: Store,
    project: str,
    exclude_sprint: str | None = None,
    *,
    sprints: int = HISTORY_SPRINTS,
) -> dict[str, list[float]]:
    """Claim-to-complete seconds per phase name over the project's last `sprints` earlier sprints.

    Sprints are this project's directories (`<hash>-<stamp>` whose sprint.json names exactly
    `project`), newest first, skipping `exclude_sprint` and, when it is one of ours, every sprint
    started after it. Each list is oldest first. Cost: a listing of the conductor directory, then
    per sprint its sprint.json and per phase its done record, a listing of history/ and one
    owner.json.
    """
    prefix = project_hash(project) + "-"
    try:
        names = os.listdir(store.conductor_dir)
    except OSError:
        return {}
    before = exclude_sprint if exclude_sprint and SPRINT_RE.fullmatch(exclude_sprint) else None
    candidates = sorted(
        (
            name
            for name in names
            if name.startswith(prefix)
            and SPRINT_RE.fullmatch(name)
            and name != exclude_sprint
            and (before is None or name < before)
        ),
        reverse=True,
    )
    per_sprint: list[dict[str, float]] = []
    for name in candidates:
        if len(per_sprint) >= sprints:
            break
        path = os.path.join(store.conductor_dir, name)
        try:
            record = SprintRecord.model_validate(read_json(os.path.join(path, SPRINT_JSON)))
        except (OSError, MalformedJSON, ValueError):
            continue
        if record.project != project:
            continue  # another project with the same hash prefix: not our past
        per_sprint.append(_sprint_durations(path, record))
    history: dict[str, list[float]] = {}
    for durations in reversed(per_sprint):
        for phase, took in durations.items():
            history.setdefault(phase, []).append(took)
    return history


def _sprint_durations(path: str, record: SprintRecord) -> dict[str, float]:
    """Claim-to-complete seconds of each done phase of one sprint directory."""
    out: dict[str, float] = {}
    for pdef in record.phases:
        if not valid_name(pdef.name):
            continue  # names are data: never a path component unless valid
        paths = PhasePaths(os.path.join(path, pdef.name))
        try:
            done = DoneRecord.model_validate(read_json(os.path.join(paths.dir, DONE)))
        except (OSError, MalformedJSON, ValueError):
            continue
        took = done_took(paths, done)
        if took is not None:
            out[pdef.name] = took
    return out


# ---------------------------------------------------------------- the estimate


def estimate(
    critical: Sequence[str],
    views: Iterable[PhaseView],
    history: Mapping[str, Sequence[float]],
    now: float,
) -> Estimate | None:
    """Time left along `critical`: per phase its median past duration, less the time its live
    claim has already run (never below zero). None when no phase of the path has history.

    A phase with no history adds nothing to `seconds` and is named in `unknown`, so a screen
    can say the real figure is larger; a stale claim's time is not progress and is not
    subtracted.
    """
    by_name = {pv.name: pv for pv in views}
    seconds, samples = 0.0, 0
    unknown: list[str] = []
    for name in critical:
        pv = by_name.get(name)
        if pv is not None and pv.status == "done":
            continue
        past = [took for took in history.get(name, ()) if math.isfinite(took) and took >= 0]
        if not past:
            unknown.append(name)
            continue
        left = median(past)
        if pv is not None and pv.status in LIVE:
            spent = elapsed(pv, now)
            if spent is not None:
                left = max(0.0, left - spent)
        seconds += left
        samples += len(past)
    if samples == 0:
        return None
    return Estimate(seconds=seconds, samples=samples, unknown=tuple(unknown))


class CriticalMemo:
    """The last critical path worked out, for the same phase list and the same done set: a
    claim or an abort changes neither, so a reader re-reading a big sprint on every change
    need not walk its graph again."""

    def __init__(self) -> None:
        self._key: tuple[Sequence[PhaseDef], frozenset[str]] | None = None
        self._path: list[str] = []

    def path(self, phases: Sequence[PhaseDef], done: frozenset[str]) -> list[str]:
        """critical_path(phases, done), from memory when nothing it depends on changed."""
        key = self._key
        if key is None or key[0] is not phases or key[1] != done:
            self._path = critical_path(phases, set(done))
            self._key = (phases, done)
        return list(self._path)


def sprint_timing(
    phases: Sequence[PhaseDef],
    view: SprintView,
    history: Mapping[str, Sequence[float]],
    cache: TookCache | None = None,
    memo: CriticalMemo | None = None,
) -> Timing:
    """The critical path of the phases not done, its estimate, and each phase's time so far.
    memo: where a reader keeps the last critical path (the phase list must not be mutated)."""
    done = frozenset(pv.name for pv in view.phases if pv.status == "done")
    critical = memo.path(phases, done) if memo is not None else critical_path(phases, set(done))
    return Timing(
        critical=critical,
        estimate=estimate(critical, view.phases, history, view.now),
        took=sprint_took(view.path, view.phases, view.now, cache),
    )


def batches_run(
    phases: Sequence[PhaseDef], classes: Mapping[str, Concurrency], done: AbstractSet[str]
) -> list[BatchView]:
    """The batches already run: the planner's batches over the done phases alone (their
    dependencies on phases not done, possible only after a forced completion, are dropped)."""
    finished = [
        PhaseDef(
            name=p.name,
            depends_on=[d for d in p.depends_on if d in done],
            concurrency=p.concurrency,
        )
        for p in phases
        if p.name in done
    ]
    return plan_batches(finished, classes, set()) if finished else []
