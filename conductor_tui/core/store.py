"""The sprint store's lifecycle: start, claim, heartbeat, complete, abort, reclaim, archive.

The rules live in their own rooms: `reading` (one reading of a phase, and its verdict), `ending`
(the commit rename that ends a claim, publishing done, tidying the lock), `doctor` (a table of
checks and repairs), `layout` (every name in a phase directory) and `limits`. This module strings
them into operations. Two linearisation points:
- publishing a claim: one rename(2) of a fully written private directory onto <phase>/lock,
  which fails while lock exists and is not empty;
- ending a claim: one rename(2) of lock/<token> into history/ (see `ending`).
A command that fails leaves the disk as it was (invariant 10): what it staged is removed, a
claim it published but could not make durable is rolled back, a start it could not finish is
unpublished and the sprints it archived are restored.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property

from . import audit, fs
from .ending import (
    LostCompletion,
    commit_end,
    end_token,
    ensure_sentinel,
    fenced_message,
    finish_release,
    publish_done,
    release_lock_dir,
)
from .errors import (
    AlreadyDone,
    BadInput,
    Blocked,
    Committed,
    ConductorError,
    Fenced,
    Held,
    NotOwner,
    NotStale,
    Refused,
)
from .jsonio import MalformedJSON, dumps, loads_strict, read_bytes_nofollow, read_fd, read_json
from .layout import (
    LOCK,
    OWNER,
    SPRINT_JSON,
    START_STAGE,
    TRASH_STAGE,
    PhasePaths,
    epoch_of,
    parse_history,
)
from .limits import (
    ARCHIVE_AGE_S,
    CLAIM_ATTEMPTS,
    DEFAULT_TTL_S,
    DOCTOR_GRACE_S,
    MAX_ARTIFACT,
    MAX_RECORD_BYTES,
    MAX_TTL_S,
    SENTINEL_GRACE_S,
)
from .liveness import ProcInfo, hostname, iso, iso_ms, proc_info
from .models import (
    AuditEvent,
    DoneRecord,
    LockView,
    OwnerRecord,
    PhaseDef,
    PhaseView,
    SprintRecord,
    SprintView,
    StoreConfig,
    mirror_of,
)
from .paths import (
    SPRINT_RE,
    TOKEN_RE,
    check_agent,
    check_phase,
    check_token,
    project_candidates,
    project_hash,
    show,
)
from .reading import (
    LockState,
    PhaseReading,
    first_line,
    history_entry,
    lock_view,
    phase_view,
    read_lock,
    read_phase,
    timeless,
)
from .vocab import LIVE

TYPE_CHECKING = False  # typing is 2 ms of every command: imported by the checker only
if TYPE_CHECKING:
    from typing import Any, Protocol

    from .doctor import Finding
    from .vocab import Concurrency

    # What a view was last derived from: which phases were complete, the classes given (by
    # identity), and the views returned; replaced whole, never changed in place.
    Derived = tuple[dict[str, bool], Mapping[str, Concurrency] | None, dict[str, PhaseView]]

    class _Judge(Protocol):
        """What judging a lock needs of a store: its host and a process probe."""

        @property
        def root(self) -> str: ...
        @property
        def host(self) -> str: ...
        def probe(self, pid: int) -> ProcInfo | None: ...

    class _Derivable(Protocol):
        """What derive_view needs of a sprint (the file store's and the database's alike)."""

        @property
        def record(self) -> SprintRecord: ...
        @property
        def defs(self) -> dict[str, PhaseDef]: ...
        @property
        def dependents(self) -> dict[str, list[str]]: ...
        @property
        def path(self) -> str: ...
        @property
        def store(self) -> _Judge: ...


__all__ = ["DEFAULT_GRAPH", "FileId", "Sprint", "Store", "file_identity"]

token_hex = fs.token_hex

DEFAULT_GRAPH: list[dict[str, Any]] = [
    {"name": "think", "depends_on": []},
    {"name": "plan", "depends_on": ["think"]},
    {"name": "build", "depends_on": ["plan"]},
    {"name": "review", "depends_on": ["build"]},
    {"name": "security", "depends_on": ["build"]},
    {"name": "qa", "depends_on": ["build"]},
    {"name": "ship", "depends_on": ["review", "security", "qa"]},
]


def _check_ttl(ttl: float) -> None:
    if not (0 < ttl <= MAX_TTL_S):
        raise BadInput(f"invalid --ttl {ttl}: between 0 and {int(MAX_TTL_S)} seconds")


def derive_view(
    sprint: _Derivable,
    readings: Mapping[str, PhaseReading],
    now: float,
    *,
    classes: Mapping[str, Concurrency] | None,
    known: Mapping[str, tuple[PhaseReading, PhaseView]] | None,
    last: Derived | None,
) -> tuple[SprintView, Derived]:
    """The sprint's view derived from one reading of each phase, judged at now, and what it was
    derived from (the `last` of the next call). See Sprint.view_from."""
    defs = sprint.defs
    missing = [name for name in defs if name not in readings]
    if missing:
        raise ValueError(f"no reading of {', '.join(missing)}")
    completed = {name: readings[name].completed() for name in defs}
    store = sprint.store
    probed: dict[int, ProcInfo | None] = {}

    def probe(pid: int) -> ProcInfo | None:
        if pid not in probed:
            probed[pid] = store.probe(pid)
        return probed[pid]

    deps = sprint.dependents
    # The views returned last time, when the same phases are complete and the same classes
    # given: each of them is what it would be derived as now, if its reading is the same.
    same = last[2] if last is not None and last[1] is classes and last[0] == completed else {}
    phases: list[PhaseView] = []
    host = store.host
    for name, pdef in defs.items():
        reading = readings[name]
        kind = (classes.get(name) if classes is not None else None) or pdef.concurrency
        before = known.get(name) if known is not None else None
        if before is not None and before[0] is reading and timeless(reading):
            old = before[1]
            if same.get(name) is old or (
                old.concurrency == (kind or "write")
                and old.depends_on == pdef.depends_on
                and old.dependents == deps[name]
                and old.blocked_by == [d for d in pdef.depends_on if not completed[d]]
            ):
                phases.append(old)
                continue
        pv = phase_view(pdef, reading, completed, now, host, probe)
        pv.dependents = list(deps[name])
        pv.concurrency = kind or "write"
        phases.append(pv)
    r = sprint.record
    view = SprintView(
        sprint_id=r.sprint_id,
        project=r.project,
        path=sprint.path,
        store=store.root,
        status=r.status,
        started_by=r.started_by,
        started_at=r.started_at,
        now=now,
        phases=phases,
    )
    return view, (completed, classes, {pv.name: pv for pv in phases})


class Sprint:
    """One sprint directory and every operation on its phases."""

    def __init__(self, store: Store, path: str, record: SprintRecord) -> None:
        self.store = store
        self.path = path
        self.record = record
        self.defs: dict[str, PhaseDef] = {p.name: p for p in record.phases}
        self._paths: dict[str, PhasePaths] = {}
        self._derived: Derived | None = None  # what view_from last derived (derive_view)

    # ------------------------------------------------------------------ reading

    @cached_property
    def dependents(self) -> dict[str, list[str]]:
        """For each phase, the phases that depend on it (the graph never changes)."""
        from .graph import dependents

        return dependents(self.record.phases)

    @property
    def sprint_id(self) -> str:
        """The sprint's id (its directory name)."""
        return os.path.basename(self.path)

    @property
    def sprint_json(self) -> str:
        """The sprint's record."""
        return os.path.join(self.path, SPRINT_JSON)

    def paths(self, phase: str) -> PhasePaths:
        """The paths of a phase of this sprint (a name from the sprint's own graph)."""
        known = self._paths.get(phase)
        if known is None:
            known = PhasePaths(os.path.join(self.path, phase))
            if phase in self.defs:
                self._paths[phase] = known
        return known

    def phase_dir(self, phase: str) -> str:
        """The directory of a validated phase of this sprint."""
        return self.writable(phase).dir

    def writable(self, phase: str) -> PhasePaths:
        """The paths of a validated phase that an operation may write in: a real directory,
        never a symlink (which would carry our writes elsewhere)."""
        check_phase(phase)
        if phase not in self.defs:
            names = ", ".join(self.defs)
            raise BadInput(f"unknown phase {show(phase)} (this sprint has: {names})")
        paths = self.paths(phase)
        try:
            st = os.lstat(paths.dir)
        except FileNotFoundError:
            raise BadInput(
                f"the directory of {phase!r} is missing; `conductor doctor --fix` recreates it"
            ) from None
        if stat.S_ISLNK(st.st_mode):
            raise BadInput(f"the directory of {phase!r} is a symlink; refusing to write through it")
        if not stat.S_ISDIR(st.st_mode):
            raise BadInput(f"the directory of {phase!r} is not a directory")
        return paths

    def read(self, phase: str, now: float) -> PhaseReading:
        """One reading of a phase directory."""
        return read_phase(phase, self.paths(phase), now)

    def _view_of(
        self,
        r: PhaseReading,
        completed: Mapping[str, bool],
        now: float,
        probe: Callable[[int], ProcInfo | None] | None = None,
    ) -> PhaseView:
        probe = self.store.probe if probe is None else probe
        return phase_view(self.defs[r.name], r, completed, now, self.store.host, probe)

    def phase_view(self, name: str, now: float | None = None) -> PhaseView:
        """The current view of one phase, from one reading of it and of its dependencies."""
        now = self.store.clock() if now is None else now
        reading = self.read(name, now)
        completed = {d: self.read(d, now).completed() for d in self.defs[name].depends_on}
        return self._view_of(reading, completed, now)

    def view(self) -> SprintView:
        """Every phase from one reading each: states, blocked_by and counts all agree."""
        now = self.store.clock()
        return self.view_from(self.read_all(now), now)

    def read_all(self, now: float) -> dict[str, PhaseReading]:
        """One reading of every phase, in sprint order."""
        return {name: self.read(name, now) for name in self.defs}

    def view_from(
        self,
        readings: Mapping[str, PhaseReading],
        now: float,
        *,
        classes: Mapping[str, Concurrency] | None = None,
        known: Mapping[str, tuple[PhaseReading, PhaseView]] | None = None,
    ) -> SprintView:
        """The sprint's view derived from one reading of each phase (invariant 9), judged at now.

        The readings may be older than now (a reader that keeps them and re-reads only the
        phases it was told changed): verdicts, ages and leases are judged again at now, and
        blocked_by, ready and the counts come from these readings alone. classes overrides each
        phase's concurrency class (the planner's, from SKILL.md and config). known holds views
        derived earlier, each with the reading it came from: one is kept, not derived again,
        when it came from this very reading, that reading is timeless, and its class and
        blocked_by are what they would be now, so it is exactly the view phase_view would give.
        Each process is probed once per view, so every lock of one holder is judged alike.
        """
        view, self._derived = derive_view(
            self, readings, now, classes=classes, known=known, last=self._derived
        )
        return view

    def why(self, phase: str) -> tuple[str, list[str]]:
        """Why a phase can or cannot be claimed now: (status, reasons)."""
        self.phase_dir(phase)
        pv = self.phase_view(phase)
        reasons: list[str] = []
        if pv.status == "done" and pv.done is not None:
            reasons.append(f"done by {pv.done.agent!r} at {pv.done.completed_at}")
        elif pv.status == "malformed":
            reasons.extend(pv.problems)
        elif pv.lock is not None:
            reasons.append(f"locked by {pv.lock.agent!r} ({pv.lock.verdict})")
            reasons.extend(pv.lock.evidence)
            if pv.lock.verdict == "stale":
                reasons.append(f"reclaim it: conductor reclaim {phase}")
        elif pv.blocked_by:
            for dep in pv.blocked_by:
                dv = self.phase_view(dep)
                who = f" by {dv.agent!r}" if dv.agent else ""
                reasons.append(f"requires {dep!r}, which is {dv.status}{who}")
        else:
            reasons.append("every dependency is done and nobody holds it: claim it")
        reasons.extend(pv.notes)
        if self.record.status == "archived":
            reasons.insert(0, "the sprint is archived")
        return pv.status, reasons

    def next_ready(self) -> list[str]:
        """Phases claimable now, in sprint order."""
        return [pv.name for pv in self.view().phases if pv.status == "ready"]

    def concurrency(
        self, extra_roots: Sequence[str] = (), *, tolerate_config: bool = False
    ) -> tuple[dict[str, Concurrency], dict[str, str], list[str]]:
        """Each phase's class, where it came from, and warnings: --skills roots first, then the
        store's config. A malformed config.json is an error, or with tolerate_config a warning
        (a screen keeps showing the sprint)."""
        from .graph import resolve_concurrency

        warnings: list[str] = []
        try:
            roots = [*extra_roots, *self.store.config().skill_roots]
        except BadInput as exc:
            if not tolerate_config:
                raise
            roots = list(extra_roots)
            warnings.append(f"{exc.message}; its skill_roots are ignored")
        classes, sources, found = resolve_concurrency(
            self.record.phases, store=self.store.root, skill_roots=roots
        )
        return classes, sources, warnings + found

    def locked_phases(self) -> list[str]:
        """Phases with anything at <phase>/lock: the only ones that can be held (one stat each)."""
        return [n for n in self.defs if os.path.lexists(self.paths(n).lock)]

    # ------------------------------------------------------------------ reporting

    def warn(self, message: str) -> None:
        """Something the caller must hear about although the operation itself succeeded."""
        self.store.warnings.append(message)

    def tidy(self, what: str, action: Callable[..., object], *args: Any, **kwargs: Any) -> object:
        """A step after a commit whose failure undoes nothing: say so, and leave it to doctor.
        Returns what the step returned (None when it failed)."""
        try:
            return action(*args, **kwargs)
        except OSError as exc:
            self.warn(
                f"{what} was not written ({exc.strerror or exc}); "
                "`conductor doctor --fix` repairs it"
            )
            return None

    # ------------------------------------------------------------------ claiming

    def _check_open(self) -> None:
        if self.record.status == "archived":
            raise Refused(f"sprint {self.sprint_id} is archived; start a new one")

    def _next_epoch(self, paths: PhasePaths) -> int:
        best = self._history_max_epoch(paths)
        with contextlib.suppress(OSError):
            for name in os.listdir(paths.lock):
                if TOKEN_RE.fullmatch(name):
                    best = max(best, epoch_of(name))
        return best + 1

    def _history_max_epoch(self, paths: PhasePaths, exclude: str | None = None) -> int:
        """The largest epoch of the claims that ended (but exclude's)."""
        best = 0
        with contextlib.suppress(OSError):
            for name in os.listdir(paths.history):
                parsed = parse_history(name)
                if parsed and parsed[0] != exclude:
                    best = max(best, epoch_of(parsed[0]))
        return best

    def claim(
        self,
        phase: str,
        *,
        agent: str,
        ttl: float = DEFAULT_TTL_S,
        holder_pid: int | None = None,
        holder_start: int | None = None,
    ) -> OwnerRecord:
        """Claim a phase for agent; returns the owner record with the fencing token."""
        paths = self.writable(phase)
        check_agent(agent)
        _check_ttl(ttl)
        self._check_open()
        store = self.store
        for _ in range(CLAIM_ATTEMPTS):
            now = store.clock()
            reading = self.read(phase, now)
            if reading.lock.form == "ending" and reading.lock.token:
                finish_release(self, paths, reading.lock.token)  # publishes a committed done
                continue
            deps = [self.read(d, now) for d in self.defs[phase].depends_on]
            for dep in deps:
                if dep.end is not None and dep.lock.token:
                    # a dependency's completion is committed but untidied: finish it for them
                    with contextlib.suppress(ConductorError, OSError):
                        finish_release(self, dep.paths, dep.lock.token)
            pv = self._view_of(reading, {d.name: d.completed() for d in deps}, now)
            if reading.done.exists:
                if pv.done is None:
                    problem = pv.problems[0] if pv.problems else "unreadable"
                    raise Refused(f"{phase!r} has a malformed done record: {problem}")
                raise AlreadyDone(f"{phase!r} is already completed (by {pv.done.agent!r})")
            if pv.blocked_by:
                needs = ", ".join(repr(d) for d in pv.blocked_by)
                raise Blocked(f"{phase!r} requires {needs} to complete first")
            lv = pv.lock  # None when free: no lock, an empty one, or a release being tidied
            if lv is not None:
                if lv.agent == agent and lv.token:
                    raise Held(
                        f"{phase!r} is already held by you ({agent}) under token "
                        f"{lv.token}; use that token, or abort it first"
                    )
                hint = "; reclaim it with `conductor reclaim`" if lv.verdict == "stale" else ""
                raise Held(f"{phase!r} is locked by {lv.agent!r} ({lv.verdict}){hint}")
            if pv.status == "malformed":
                raise Refused(f"{phase!r} is malformed ({pv.problems[0]}); see `conductor doctor`")
            owner = self._publish_claim(paths, phase, agent, ttl, holder_pid, holder_start)
            if owner is None:
                continue  # somebody else published first: re-read and report them
            token, epoch = owner.token, owner.epoch
            # Re-check after winning: done is terminal, and epochs only grow.
            if os.path.lexists(paths.done):
                self._supersede(paths, phase, token, agent, "already done")
                raise AlreadyDone(f"{phase!r} was completed while we claimed it")
            if self._history_max_epoch(paths, token) >= epoch:
                self._supersede(paths, phase, token, agent, "epoch raced")
                continue
            # a concurrent release may have removed the sentinel
            self.tidy(f"the lock.d sentinel of {phase!r}", ensure_sentinel, paths)
            store.log("claim", phase, agent, sprint=self.sprint_id, token=token, epoch=epoch)
            return owner
        raise Refused(f"{phase!r}: gave up after {CLAIM_ATTEMPTS} contended attempts")

    def _publish_claim(
        self,
        paths: PhasePaths,
        phase: str,
        agent: str,
        ttl: float,
        holder_pid: int | None,
        holder_start: int | None,
    ) -> OwnerRecord | None:
        """Stage a claim privately and publish it with one rename; None when another claimer
        published first. On any failure the disk is left as it was."""
        store = self.store
        epoch = self._next_epoch(paths)
        token = f"{epoch}-{store.token_hex(8)}"
        now = store.clock()
        owner = OwnerRecord(
            agent=agent,
            token=token,
            epoch=epoch,
            claimed_at=iso(now),
            heartbeat_at=iso_ms(now),
            ttl_s=float(ttl),
            host=store.host,
            holder_pid=holder_pid,
            holder_start=holder_start,
            sprint_id=self.sprint_id,
            phase=phase,
        )
        made: list[str] = []  # what this attempt created beside the claim, undone on failure
        private = paths.claim_stage(token, os.getpid())
        try:
            if fs.ensure_dir(paths.history):
                made.append(paths.history)
            if fs.ensure_dir(paths.sentinel):
                made.append(paths.sentinel)
            fs.mkdir(private)
            fs.mkdir(os.path.join(private, token))
            fs.write_file_durable(os.path.join(private, token, OWNER), dumps(owner.model_dump()))
            fs.write_file_durable(os.path.join(private, "meta.json"), dumps(mirror_of(owner)))
            fs.fsync_dir(os.path.join(private, token))
            fs.fsync_dir(private)
            store.crash("claim.staged")
            try:
                fs.rename(private, paths.lock)
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                    from .doctor import discard_private

                    discard_private(private, token)
                    return None
                raise
        except BaseException:
            from .doctor import discard_private

            discard_private(private, token)
            if not os.path.lexists(paths.lock):
                for path in reversed(made):
                    with contextlib.suppress(OSError):
                        os.rmdir(path)
            raise
        try:
            fs.fsync_dir(paths.dir)
        except OSError as exc:
            # Published but not durable: it must not be reported won. Roll it back.
            self._unpublish(paths, token, made)
            raise _disk_error(exc, f"claiming {phase!r}") from None
        store.crash("claim.published")
        return owner

    def _unpublish(self, paths: PhasePaths, token: str, made: list[str]) -> None:
        """Undo the publication of a claim nobody was told about: the inverse of the publish
        rename (the token goes back to a staging directory, as if never published)."""
        back = paths.claim_stage(token, os.getpid())
        fs.mkdir(back)
        try:
            fs.rename(paths.token_dir(token), os.path.join(back, token))
        except FileNotFoundError:
            raise Fenced(fenced_message(paths, os.path.basename(paths.dir), token)) from None
        finally:
            with contextlib.suppress(OSError):
                os.rmdir(back)  # empty when the rename failed
        release_lock_dir(self, paths, token)
        from .doctor import discard_private

        discard_private(back, token)
        if paths.history in made:
            with contextlib.suppress(OSError):
                os.rmdir(paths.history)
        if paths.sentinel not in made and not os.path.lexists(paths.lock):
            ensure_sentinel(paths)  # it was there before us; leave it as it was

    def _supersede(self, paths: PhasePaths, phase: str, token: str, by: str, reason: str) -> None:
        """End our own just-published claim (superseded) and release the lock."""
        end_token(
            self,
            paths,
            phase,
            token,
            how="superseded",
            by=by,
            reason=reason,
            nonce=token_hex(4),
        )
        release_lock_dir(self, paths, token)
        self.store.log("superseded", phase, by, sprint=self.sprint_id, token=token, detail=reason)

    def _authorize(
        self, phase: str, paths: PhasePaths, agent: str, token: str | None, force: bool, verb: str
    ) -> LockState:
        """The lock the caller may end or extend, or the precise refusal."""
        if token is not None:
            check_token(token)
        ls = read_lock(paths)
        if not ls.exists or ls.form == "empty":
            if token is not None and history_entry(paths, token) is not None:
                raise Fenced(fenced_message(paths, phase, token))
            if os.path.isfile(paths.done) and verb != "heartbeat":
                raise AlreadyDone(f"{phase!r} is already completed")
            raise Refused(f"{phase!r} is not claimed")
        if ls.form == "ending":
            raise Fenced(fenced_message(paths, phase, ls.token or ""))
        if ls.form == "malformed" or (ls.form == "fenced" and ls.owner is None):
            if not force:
                raise Refused(
                    f"{phase!r} has a malformed lock ({ls.problem}); see `conductor doctor`"
                )
            return ls
        holder = ls.owner.agent if ls.owner else (ls.meta.agent if ls.meta else "")
        if token is not None:
            if token == ls.token:
                return ls
            if history_entry(paths, token) is not None:
                raise Fenced(fenced_message(paths, phase, token))
            if not force:
                raise NotOwner(f"{phase!r} is held by {holder!r} under another token")
            return ls
        if holder == agent or force:
            return ls
        raise NotOwner(f"{phase!r} is claimed by {holder!r}, not {agent!r}")

    def heartbeat(
        self, phase: str, *, agent: str, token: str | None = None, ttl: float | None = None
    ) -> OwnerRecord:
        """Extend the lease of the caller's claim; fenced if the claim has ended."""
        paths = self.writable(phase)
        ls = self._authorize(phase, paths, agent, token, False, "heartbeat")
        if ls.form != "fenced" or ls.owner is None or ls.token is None:
            raise Refused(f"{phase!r} is held by an upstream lock, which has no lease to extend")
        if ttl is not None:
            _check_ttl(ttl)
        owner = ls.owner.model_copy(
            update={
                "heartbeat_at": iso_ms(self.store.clock()),
                "ttl_s": float(ttl or ls.owner.ttl_s),
            }
        )
        tokdir = paths.token_dir(ls.token)
        try:
            fs.atomic_write(paths.owner(ls.token), dumps(owner.model_dump()), tmp_dir=tokdir)
        except FileNotFoundError:
            self.store.log("fenced", phase, agent, sprint=self.sprint_id, token=ls.token)
            raise Fenced(fenced_message(paths, phase, ls.token)) from None
        self.store.crash("heartbeat.owner")
        # Staged inside the token directory: if the claim ended meanwhile, this rename fails.
        try:
            fs.atomic_write(paths.meta, dumps(mirror_of(owner)), tmp_dir=tokdir)
        except FileNotFoundError:
            self.store.log("fenced", phase, agent, sprint=self.sprint_id, token=ls.token)
            raise Fenced(fenced_message(paths, phase, ls.token)) from None
        except OSError as exc:  # the lease is extended (owner.json is authoritative)
            self.warn(
                f"the meta.json mirror of {phase!r} was not updated ({exc.strerror}); "
                "upstream readers see the old lease"
            )
        self.store.crash("heartbeat.mirror")
        made = self.tidy(f"the lock.d sentinel of {phase!r}", ensure_sentinel, paths)
        if made is True and not os.path.lexists(paths.lock):
            # the claim ended after its lease was extended (an ending removes lock.d): the
            # sentinel put back for it would be an orphan that keeps upstream out of the phase
            with contextlib.suppress(OSError):
                os.rmdir(paths.sentinel)
        self.store.log(
            "heartbeat", phase, agent, sprint=self.sprint_id, token=ls.token, epoch=owner.epoch
        )
        return owner

    def complete(
        self,
        phase: str,
        *,
        agent: str,
        token: str | None = None,
        artifact: str | None = None,
        force: bool = False,
        validate: Callable[[Any], None] | None = None,
    ) -> DoneRecord:
        """Complete the caller's claim, recording the artifact's path and SHA-256. Returns only
        once the done record is published and durable."""
        paths = self.writable(phase)
        art_path, digest = "", None
        if artifact:
            art_path, digest, parsed = self.store.load_artifact(artifact, self.record.project)
            if validate is not None:
                validate(parsed)
        try:
            ls = self._authorize(phase, paths, agent, token, force, "complete")
        except Fenced:
            # work that will never be recorded: the audit log says so, and the app rings
            self.store.log(
                "fenced", phase, agent, sprint=self.sprint_id, token=token, detail="done"
            )
            raise
        if os.path.lexists(paths.done):
            if ls.token is not None and not os.path.lexists(paths.token_dir(ls.token)):
                # the claim ended after it was authorized (a racer completed it with the same
                # token): fenced, as every write of an ended claim is
                self.store.log(
                    "fenced", phase, agent, sprint=self.sprint_id, token=ls.token, detail="done"
                )
                raise Fenced(fenced_message(paths, phase, ls.token))
            # done is terminal; a corrupt one is a person's job, not something to write beside
            raise Refused(f"{phase!r} already has a done record; see `conductor doctor`")
        epoch = ls.owner.epoch if ls.owner else None
        record = DoneRecord(
            agent=(ls.owner.agent if ls.owner else agent) if not force else agent,
            completed_at=iso(self.store.clock()),
            artifact=art_path,
            token=ls.token,
            epoch=epoch,
            sha256=digest,
        )
        nonce = token_hex(4)
        staged = paths.staged_done(ls.token or "upstream", nonce)
        fs.write_file_durable(staged, dumps(record.model_dump(exclude_none=True)))
        self.store.crash("complete.staged")
        try:
            commit_end(
                self, paths, phase, ls, how="done", by=agent, reason="completed", nonce=nonce
            )
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(staged)
            raise
        self.store.crash("complete.committed")
        try:
            publish_done(paths, staged, ls.token, self.warn)
        except (OSError, LostCompletion) as exc:
            why = exc.message if isinstance(exc, LostCompletion) else _strerror(exc)
            raise Committed(
                f"{phase!r} is completed (the claim {ls.token} is committed as done), but its "
                f"done record is not yet published and durable: {why}; do not complete it "
                "again: `conductor doctor --fix` publishes it"
            ) from None
        self.store.crash("complete.published")
        if art_path:
            self.tidy(
                f"the artifact.json link of {phase!r}",
                fs.replace_symlink,
                paths.artifact_link,
                art_path,
            )
        release_lock_dir(self, paths, ls.token)
        self.store.log("complete", phase, agent, sprint=self.sprint_id, token=ls.token, epoch=epoch)
        return record

    def abort(
        self, phase: str, *, agent: str, token: str | None = None, force: bool = False
    ) -> str:
        """Give up the caller's claim without completing it."""
        paths = self.writable(phase)
        ls = self._authorize(phase, paths, agent, token, force, "abort")
        commit_end(self, paths, phase, ls, how="aborted", by=agent, reason="aborted")
        self.store.crash("abort.committed")
        release_lock_dir(self, paths, ls.token)
        holder = ls.owner.agent if ls.owner else (ls.meta.agent if ls.meta else "")
        self.store.log("abort", phase, agent, sprint=self.sprint_id, token=ls.token)
        return holder

    def reclaim(self, phase: str, *, agent: str, force: bool = False) -> LockView:
        """Free a stale lock (any lock with force), keeping the evidence in the history; or
        clear an orphan lock.d that keeps upstream agents out.

        The verdict and the action come from one reading: the claim ended is exactly the token
        that was judged, so a claim made since (by anyone) is never ended by mistake.
        """
        paths = self.writable(phase)
        now = self.store.clock()
        reading = self.read(phase, now)
        ls = reading.lock
        if ls.form == "ending" and ls.token:
            finish_release(self, paths, ls.token)
            if reading.end is not None and not reading.end.overdue:
                raise Refused(f"{phase!r} is not locked: its claim was just released")
            lv = LockView(
                form="fenced",
                verdict="stale",
                token=ls.token,
                agent=ls.meta.agent if ls.meta else "",
                evidence=["finished a release that was interrupted"],
            )
        elif not ls.exists and reading.sentinel_age is not None:
            lv = self._clear_sentinel(paths, phase, reading)
        else:
            found = lock_view(ls, now, self.store.host, self.store.probe)
            if found is None:
                raise Refused(f"{phase!r} is not locked; nothing to reclaim")
            lv = found
            if lv.verdict != "stale" and not force:
                why = "; ".join(lv.evidence)
                raise NotStale(
                    f"{phase!r} is {lv.verdict}, not stale ({why}); use --force to override"
                )
            reason = "; ".join(lv.evidence)
            commit_end(self, paths, phase, ls, how="reclaimed", by=agent, reason=reason)
            self.store.crash("reclaim.committed")
            release_lock_dir(self, paths, ls.token)
        self.store.log(
            "reclaim",
            phase,
            agent,
            sprint=self.sprint_id,
            token=ls.token,
            epoch=lv.epoch,
            detail=f"{lv.agent} ({lv.verdict}; by {agent})",
        )
        return lv

    def _clear_sentinel(self, paths: PhasePaths, phase: str, reading: PhaseReading) -> LockView:
        """Clear an orphan lock.d (no lock beside it), once it is older than upstream's window."""
        age = reading.sentinel_age or 0.0
        if age <= SENTINEL_GRACE_S:
            raise Refused(
                f"{phase!r} is not locked; its lock.d is {age:.0f} s old, which may be an "
                "upstream claim in the making: try again in a few seconds"
            )
        if reading.sentinel_busy:
            crashed = paths.ended_as(f"0-{token_hex(8)}", "crashed", token_hex(4))
            fs.ensure_dir(paths.history)
            fs.rename(paths.sentinel, crashed)
            what = "an upstream claim interrupted inside lock.d (moved to history)"
        else:
            try:
                fs.rmdir(paths.sentinel)
            except FileNotFoundError:
                raise Refused(f"{phase!r} is not locked; nothing to reclaim") from None
            what = "an orphan lock.d that kept upstream agents out"
        return LockView(form="upstream", verdict="stale", evidence=[f"cleared {what}"])

    # ------------------------------------------------------------------ sprint

    def archive(self) -> bytes | None:
        """Mark this sprint archived, keeping unknown keys of sprint.json; returns the bytes it
        replaced (so that a failed start can restore them)."""
        path = self.sprint_json
        before = read_bytes_nofollow(path)
        raw = loads_strict(before)
        if not isinstance(raw, dict):
            return None
        raw["status"] = "archived"
        fs.atomic_write(path, dumps(raw))
        self.record.status = "archived"
        return before

    def doctor(self, fix: bool = False, *, grace_s: float = DOCTOR_GRACE_S) -> list[Finding]:
        """Find crash leftovers and malformed records; with fix, repair what is safe to repair."""
        from .doctor import run as run_doctor

        return run_doctor(self, fix=fix, grace_s=grace_s)


class Store:
    """A store directory: where sprints live, plus the clock and host every verdict uses."""

    def __init__(
        self,
        root: str,
        *,
        clock: Callable[[], float] = time.time,
        host: str | None = None,
        probe: Callable[[int], ProcInfo | None] = proc_info,
        token_hex: Callable[[int], str] = fs.token_hex,
    ) -> None:
        from .faults import crash

        self.root = os.path.abspath(root)
        self.clock = clock
        self.token_hex = token_hex  # injectable so that snapshot tests see fixed tokens
        self.host = host or hostname()
        self.probe = probe
        self.crash = crash
        self.warnings: list[str] = []  # what the caller must hear although nothing failed

    @property
    def conductor_dir(self) -> str:
        """Where sprint directories live."""
        return os.path.join(self.root, "conductor")

    @property
    def audit_path(self) -> str:
        """The audit log's path."""
        return os.path.join(self.root, "audit.log")

    # ------------------------------------------------------------------ sprints

    def config(self) -> StoreConfig:
        """<store>/config.json (empty when absent); a malformed one is an error, not ignored."""
        path = os.path.join(self.root, "config.json")
        try:
            return StoreConfig.model_validate(read_json(path))
        except FileNotFoundError:
            return StoreConfig()
        except (MalformedJSON, ValueError, OSError) as exc:
            raise BadInput(f"{path} is malformed: {first_line(exc)}") from None

    def load_sprint(self, path: str, record: SprintRecord | None = None) -> Sprint:
        """Open a sprint directory; BadInput when its sprint.json is missing or malformed."""
        sj = os.path.join(path, SPRINT_JSON)
        if record is None:
            try:
                record = SprintRecord.model_validate(read_json(sj))
            except FileNotFoundError:
                raise BadInput(f"no sprint.json in {path}") from None
            except (MalformedJSON, ValueError, OSError) as exc:
                raise BadInput(f"{sj} is malformed: {first_line(exc)}") from None
        from .graph import check_graph

        try:
            check_graph(record.phases)
        except BadInput as exc:
            raise BadInput(f"{sj} has an invalid phase graph: {exc.message}") from None
        return Sprint(self, path, record)

    def open_sprint(self, sprint_id: str) -> Sprint:
        """Open a sprint by id."""
        if not SPRINT_RE.fullmatch(sprint_id) and not _loose_id(sprint_id):
            raise BadInput(f"invalid sprint id {show(sprint_id)}")
        path = os.path.join(self.conductor_dir, sprint_id)
        if not os.path.isdir(path):
            raise BadInput(f"no sprint {sprint_id} in {self.conductor_dir}")
        return self.load_sprint(path)

    def _sprint_dirs(self) -> list[str]:
        try:
            names = os.listdir(self.conductor_dir)
        except FileNotFoundError:
            return []
        except NotADirectoryError:
            raise BadInput(f"{self.conductor_dir} is not a directory") from None
        # a name that is not a safe id is not one of our sprints (and must never be printed raw)
        return sorted(n for n in names if SPRINT_RE.fullmatch(n) or _loose_id(n))

    def active_key(self, project: str) -> tuple[tuple[str, FileId | None], ...]:
        """What find_active(project) depends on, for a listing and a few stats: each sprint
        folder that could be the project's, with the identity of its sprint.json. While the key
        is unchanged so is the answer, and a reader may keep it instead of reading the records
        again. (Re-pointing a symlink on the project's path is not seen by the key.)"""
        names = self._sprint_dirs()
        hashes = {project_hash(c) for c in project_candidates(project)}
        return tuple(
            (name, file_identity(os.path.join(self.conductor_dir, name, SPRINT_JSON)))
            for name in names
            if any(h in name for h in hashes)
        )

    def find_active(self, project: str) -> Sprint | None:
        """The active sprint of a project (or of its nearest ancestor), as upstream finds it."""
        names = self._sprint_dirs()
        found = self._find_active_in(names, project)
        if found is None and names:
            # A start between our listing and our reads archives the old sprint that we listed
            # and creates one we did not list: look once more before saying there is none.
            again = self._sprint_dirs()
            if again != names:
                found = self._find_active_in(again, project)
        return found

    def _find_active_in(self, names: list[str], project: str) -> Sprint | None:
        if not names:
            return None
        for candidate in project_candidates(project):
            h = project_hash(candidate)
            real = os.path.realpath(candidate)
            broken: list[str] = []
            for name in reversed([n for n in names if h in n]):
                path = os.path.join(self.conductor_dir, name)
                try:
                    record = SprintRecord.model_validate(read_json(os.path.join(path, SPRINT_JSON)))
                except FileNotFoundError:
                    continue
                except (MalformedJSON, ValueError, OSError) as exc:
                    broken.append(f"{name}: {first_line(exc)}")
                    continue
                if record.status == "archived":
                    continue
                if record.project != candidate and os.path.realpath(record.project) != real:
                    continue
                if broken:
                    raise BadInput(f"a newer sprint's sprint.json is malformed ({broken[0]})")
                return self.load_sprint(path, record)
            if broken:
                raise BadInput(f"sprint.json is malformed ({broken[0]})")
        return None

    def start(
        self,
        project: str,
        *,
        agent: str,
        phases: Any = None,
        force: bool = False,
    ) -> Sprint:
        """Start a sprint for project and archive the active one (refused while it has live
        locks). Publish first, then archive; on any failure the new sprint is unpublished and
        the archived ones restored, so a failed start leaves the store as it was."""
        from .graph import validate_graph

        check_agent(agent)
        project = os.path.abspath(project)
        raw = phases if phases is not None else self.config().phase_graph
        graph = validate_graph(DEFAULT_GRAPH if raw is None else raw)
        now = self.clock()
        h = project_hash(project)
        record = SprintRecord(
            sprint_id=f"{h}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}",
            project=project,
            started_by=agent,
            started_at=iso(now),
            status="active",
            phases=graph,
        )
        size = len(dumps(record.model_dump(exclude_none=True)))
        if size > MAX_RECORD_BYTES:
            raise BadInput(
                f"the phase graph is too large: its sprint.json would be {size:,} bytes, over "
                f"the {MAX_RECORD_BYTES:,} that every reader accepts ({len(graph)} phases)"
            )
        previous = self._previous(project, force)
        if not os.path.isdir(self.conductor_dir):
            os.makedirs(self.root, exist_ok=True)
            fs.mkdir(self.conductor_dir)
        final = self._publish_sprint(record, now)
        restore: list[tuple[Sprint, bytes]] = []
        try:
            for sprint in previous:
                # kept before the write: an archive whose rename took effect but whose sync
                # failed must be restored too
                restore.append((sprint, read_bytes_nofollow(sprint.sprint_json)))
                sprint.archive()
        except BaseException as exc:
            left = self._unpublish_sprint(final, restore)
            if isinstance(exc, OSError):
                raise _disk_error(exc, "archiving the previous sprint", left) from None
            raise
        for sprint, _ in restore:  # logged once no rollback can undo them
            self.log("archive", "", sprint.record.started_by, sprint=sprint.sprint_id)
        self.log("start", "", agent, sprint=record.sprint_id, detail=project)
        return self.load_sprint(final)

    def _previous(self, project: str, force: bool) -> list[Sprint]:
        """The project's active sprints, which a start archives; refused while one has live
        locks, or has a sprint.json that cannot be read beside a lock (unless force)."""
        previous: list[Sprint] = []
        unreadable: list[str] = []
        h = project_hash(project)
        for name in self._sprint_dirs():
            if h not in name:
                continue
            path = os.path.join(self.conductor_dir, name)
            try:  # only active sprints are opened in full: archived ones can pile up
                record = SprintRecord.model_validate(read_json(os.path.join(path, SPRINT_JSON)))
                if record.project != project or record.status == "archived":
                    continue
                previous.append(self.load_sprint(path, record))
            except (OSError, MalformedJSON, ValueError, BadInput) as exc:
                if any(os.path.lexists(os.path.join(path, p, LOCK)) for p in _list(path)):
                    unreadable.append(f"{name} ({first_line(exc)})")
        if force:
            return previous
        if unreadable:
            raise Refused(
                f"sprint {unreadable[0]} cannot be read, and it has locks that may be live; "
                "repair its sprint.json, or start with --force"
            )
        for sprint in previous:
            live = [
                pv for pv in map(sprint.phase_view, sprint.locked_phases()) if pv.status in LIVE
            ]
            if live:
                who = ", ".join(f"{pv.name} ({pv.agent})" for pv in live)
                raise Refused(
                    f"sprint {sprint.sprint_id} has live locks: {who}; "
                    "finish them or start with --force"
                )
        return previous

    def _publish_sprint(self, record: SprintRecord, now: float) -> str:
        """Build the sprint in a staging directory, then publish it under a free id."""
        staging = os.path.join(self.conductor_dir, f"{START_STAGE}{token_hex(6)}")
        fs.mkdir(staging)
        final = ""
        try:
            for p in record.phases:
                fs.mkdir(os.path.join(staging, p.name))  # history/ comes with the first claim
            stamp = int(now)
            sj = os.path.join(staging, SPRINT_JSON)
            for _ in range(3600):
                record.sprint_id = f"{record.sprint_id[:12]}-" + time.strftime(
                    "%Y%m%d-%H%M%S", time.gmtime(stamp)
                )
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(sj)
                fs.write_file_durable(sj, dumps(record.model_dump(exclude_none=True)))
                fs.fsync_dir(staging)
                final = os.path.join(self.conductor_dir, record.sprint_id)
                # mkdir reserves the name: two starts within one second never share a directory
                try:
                    fs.mkdir(final)
                except FileExistsError:
                    stamp += 1
                    final = ""
                    continue
                fs.rename(staging, final)
                break
            else:  # pragma: no cover - an hour of sprints started in one second
                raise Refused("could not find a free sprint id")
        except BaseException as exc:
            if final:
                with contextlib.suppress(OSError):
                    os.rmdir(final)  # the reservation, still empty when the rename failed
            _rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError):
                raise _disk_error(exc, "starting the sprint") from None
            raise
        try:
            fs.fsync_dir(self.conductor_dir)
        except OSError as exc:
            left = self._unpublish_sprint(final, [])
            raise _disk_error(exc, "starting the sprint", left) from None
        return final

    def _unpublish_sprint(self, final: str, restore: list[tuple[Sprint, bytes]]) -> list[str]:
        """Roll a start back: restore what it archived, then take the new sprint away. Returns
        what could not be rolled back (so the error says so instead of "nothing was changed")."""
        left: list[str] = []
        for sprint, before in reversed(restore):
            try:
                fs.atomic_write(sprint.sprint_json, before)
                sprint.record.status = "active"
            except OSError as exc:
                left.append(f"sprint {sprint.sprint_id} stays archived ({exc.strerror or exc})")
        trash = os.path.join(self.conductor_dir, f"{TRASH_STAGE}{token_hex(6)}")
        try:
            os.rename(final, trash)
        except OSError as exc:
            left.append(f"the new sprint {os.path.basename(final)} stays ({exc.strerror or exc})")
        else:
            _rmtree(trash, ignore_errors=True)
        return left

    def clean(self, project: str | None, *, older_than_s: float = ARCHIVE_AGE_S) -> list[str]:
        """Delete archived sprints older than a week: this project's, or all with project=None."""
        removed = []
        h = project_hash(os.path.abspath(project)) if project else None
        now = self.clock()
        for name in self._sprint_dirs():
            if h is not None and h not in name:
                continue
            path = os.path.join(self.conductor_dir, name)
            sj = os.path.join(path, SPRINT_JSON)
            try:
                record = SprintRecord.model_validate(read_json(sj))
                age = now - os.lstat(sj).st_mtime
            except (OSError, MalformedJSON, ValueError):
                continue
            if record.status != "archived" or age <= older_than_s:
                continue
            if project is not None and record.project != os.path.abspath(project):
                continue
            trash = os.path.join(self.conductor_dir, f"{TRASH_STAGE}{token_hex(6)}")
            fs.rename(path, trash)
            _rmtree(trash, ignore_errors=True)
            removed.append(name)
        return removed

    # ------------------------------------------------------------------ artifacts and log

    def load_artifact(
        self, artifact: str, project: str, *, named: Callable[[int], str] | None = None
    ) -> tuple[str, str, Any]:
        """Validate an artifact: a regular JSON file, not a symlink, inside project or store.
        Judged by the file opened, not by its path (core/opening.py: no /proc); named is how the
        kernel names an open file (F_GETPATH where there is one), for tests to choose."""
        from .opening import kernel_path_of, open_file, still_there

        path = os.path.abspath(artifact)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            raise BadInput(f"artifact {show(artifact)} does not exist") from None
        except OSError as exc:
            raise BadInput(f"artifact {show(artifact)} cannot be read: {exc.strerror}") from None
        if stat.S_ISLNK(st.st_mode):
            raise BadInput(f"artifact {show(artifact)} is a symlink; pass the file itself")
        if not stat.S_ISREG(st.st_mode):
            raise BadInput(f"artifact {show(artifact)} is not a regular file")
        roots = [os.path.realpath(project), os.path.realpath(self.root)]
        try:
            fd, real = open_file(path, named if named is not None else kernel_path_of())
        except OSError as exc:
            raise BadInput(f"artifact {show(artifact)} cannot be opened: {exc.strerror}") from None
        try:
            # Judge the file we opened, not the path: a folder swapped for a symlink between a
            # check and the open would otherwise let a file from elsewhere in.
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise BadInput(f"artifact {show(artifact)} is not a regular file")
            if not any(_inside(real, root) for root in roots):
                raise BadInput(f"artifact {show(artifact)} is outside the project and the store")
            data = read_fd(fd, MAX_ARTIFACT)
            if not still_there(fd, path, real):
                raise BadInput(
                    f"artifact {show(artifact)} moved while it was read (a folder swapped for a "
                    "symlink?); nothing was recorded"
                )
            parsed = loads_strict(data, limit=MAX_ARTIFACT)
        except MalformedJSON as exc:
            raise BadInput(f"artifact {show(artifact)} is not valid JSON: {exc}") from None
        except OSError as exc:
            raise BadInput(f"artifact {show(artifact)} cannot be read: {exc.strerror}") from None
        finally:
            os.close(fd)
        import hashlib

        return real, hashlib.sha256(data).hexdigest(), parsed

    def log(
        self,
        what: str,
        phase: str,
        agent: str,
        *,
        sprint: str | None = None,
        token: str | None = None,
        epoch: int | None = None,
        detail: str | None = None,
    ) -> None:
        """Append one audit event. A failure never undoes a committed transition, and is never
        silent: it becomes a warning the caller prints."""
        event = AuditEvent(
            at=iso(self.clock()),
            event=audit.EVENTS.get(what, what),
            resource=phase,
            detail=agent if detail is None else detail,
            sprint=sprint,
            agent=agent,
            token=token,
            epoch=epoch,
        )
        try:
            if not os.path.isdir(self.root):
                os.makedirs(self.root, exist_ok=True)
            audit.append(self.audit_path, event)
        except OSError as exc:
            self.warnings.append(
                f"the audit event {event.event} was not written to {self.audit_path}: "
                f"{_strerror(exc)}"
            )


# ---------------------------------------------------------------------- helpers

FileId = tuple[int, int, int, int]


def file_identity(path: str) -> FileId | None:
    """(st_dev, st_ino, st_mtime_ns, st_size) of a file, not following a symlink; None when it
    cannot be stat'ed (or named: a NUL byte). A file replaced by a rename, or rewritten, gets
    another identity."""
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _strerror(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _disk_error(exc: OSError, doing: str, left: Sequence[str] = ()) -> ConductorError:
    """A clear message for a write the disk refused, and whether anything was left changed."""
    from .errors import DiskError

    changed = "; could not undo: " + "; ".join(left) if left else ", nothing was changed"
    return DiskError(f"{doing} failed{changed}: {describe_os_error(exc)}")


def describe_os_error(exc: OSError) -> str:
    """What went wrong with the disk, in words a person can act on."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"permission denied{where}: this account cannot write the store; a store shared by "
            "several accounts needs group-writable, setgid directories and umask 002 "
            "(see docs/SHARED-STORES.md)"
        )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full{where}"
    if exc.errno == errno.EROFS:
        return f"the file system is read-only{where}"
    return f"{_strerror(exc)}{where}"


def _loose_id(sprint_id: str) -> bool:
    """Ids of sprints made by other tools: still one safe path component."""
    return (
        0 < len(sprint_id) <= 80
        and sprint_id not in (".", "..")
        and all(c.isalnum() or c in "-_." for c in sprint_id)
        and not sprint_id.startswith(".")
    )


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:
        return False


def _list(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _rmtree(path: str, ignore_errors: bool = False) -> None:
    import shutil  # only start and clean delete trees

    shutil.rmtree(path, ignore_errors=ignore_errors)
