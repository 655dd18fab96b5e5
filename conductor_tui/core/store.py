"""The sprint store: start, claim, heartbeat, complete, abort, reclaim, status, doctor.

Every mutation follows PROTOCOL.md. The two linearisation points are:
- publishing a claim: one rename(2) of a fully written private directory onto <phase>/lock,
  which fails while lock exists and is not empty;
- ending a claim: one rename(2) of lock/<token> to history/<token>@<how>-<nonce>; only one
  caller can win it, every other caller is told "fenced". The destination name records how the
  claim ended, so whoever finds a release half-done can finish it (and publish a staged done).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import audit
from .errors import AlreadyDone, BadInput, Blocked, Fenced, Held, NotOwner, NotStale, Refused
from .jsonio import (
    MAX_ARTIFACT,
    MalformedJSON,
    atomic_write,
    dumps,
    fsync_dir,
    loads_strict,
    read_fd,
    read_json,
    write_file_durable,
)
from .liveness import (
    Judgement,
    ProcInfo,
    hostname,
    iso,
    iso_ms,
    judge_fenced,
    judge_upstream,
    proc_info,
)
from .models import (
    AuditEvent,
    DoneRecord,
    EndRecord,
    LockMeta,
    LockView,
    OwnerRecord,
    PhaseDef,
    PhaseView,
    SprintRecord,
    SprintView,
    StoreConfig,
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
from .vocab import LIVE, Concurrency

DEFAULT_TTL = 3600.0
CLAIM_ATTEMPTS = 8
DEFAULT_GRAPH: list[dict[str, Any]] = [
    {"name": "think", "depends_on": []},
    {"name": "plan", "depends_on": ["think"]},
    {"name": "build", "depends_on": ["plan"]},
    {"name": "review", "depends_on": ["build"]},
    {"name": "security", "depends_on": ["build"]},
    {"name": "qa", "depends_on": ["build"]},
    {"name": "ship", "depends_on": ["review", "security", "qa"]},
]
ENDING_GRACE_S = 30.0  # a release normally takes milliseconds; past this it was interrupted


def _crash_hook() -> Callable[[str], None]:
    """Crash-point injection for the test suite: CONDUCTOR_CRASH_AT=<point> ends the process."""
    target = os.environ.get("CONDUCTOR_CRASH_AT")
    if not target:
        return lambda point: None

    def hook(point: str) -> None:
        if point == target:
            os._exit(86)

    return hook


def _history_name(token: str, how: str, nonce: str) -> str:
    return f"{token}@{how}-{nonce}"


def _parse_history(name: str) -> tuple[str, str, str] | None:
    """(token, how, nonce) of a history entry name, or None."""
    token, sep, rest = name.partition("@")
    if not sep or not TOKEN_RE.fullmatch(token):
        return None
    how, _, nonce = rest.partition("-")
    return token, how, nonce


def _epoch_of(token: str) -> int:
    return int(token.split("-", 1)[0])


@dataclass
class LockState:
    """A raw reading of <phase>/lock, before it is turned into a view."""

    exists: bool = False
    form: str = "none"  # none | fenced | upstream | upstream-file | ending | empty | malformed
    token: str | None = None
    owner: OwnerRecord | None = None
    meta: LockMeta | None = None
    meta_mtime: float | None = None
    tokens: list[str] = field(default_factory=list)
    double_grant: bool = False
    problem: str | None = None
    dir_mtime: float | None = None


@dataclass
class Finding:
    """One thing `doctor` found, and what it did about it."""

    phase: str
    problem: str
    action: str
    fixed: bool = False


class Sprint:
    """One sprint directory and every operation on its phases."""

    def __init__(self, store: Store, path: str, record: SprintRecord) -> None:
        self.store = store
        self.path = path
        self.record = record
        self.defs: dict[str, PhaseDef] = {p.name: p for p in record.phases}

    # ------------------------------------------------------------------ reading

    @property
    def sprint_id(self) -> str:
        """The sprint's id (its directory name)."""
        return os.path.basename(self.path)

    def phase_dir(self, phase: str) -> str:
        """The directory of a validated phase of this sprint."""
        check_phase(phase)
        if phase not in self.defs:
            names = ", ".join(self.defs)
            raise BadInput(f"unknown phase {show(phase)} (this sprint has: {names})")
        return os.path.join(self.path, phase)

    def _read_done(self, pdir: str) -> tuple[DoneRecord | None, str | None, bool]:
        """(record, problem, exists) of <phase>/done."""
        try:
            raw = read_json(os.path.join(pdir, "done"))
            return DoneRecord.model_validate(raw), None, True
        except FileNotFoundError:
            return None, None, False
        except IsADirectoryError:
            return None, "done is a directory, not a record", True
        except (MalformedJSON, ValueError) as exc:
            return None, f"done record is malformed: {_first_line(exc)}", True
        except OSError as exc:
            return None, f"done record cannot be read: {exc.strerror}", True

    def _read_lock(self, pdir: str) -> LockState:
        """A stable reading of the lock.

        A release or a claim in flight moves files between the listing and the reads, which can
        make one reading look torn; a reading is only called malformed when a second one agrees.
        """
        ls = self._read_lock_once(pdir)
        for _ in range(4):
            if ls.form != "malformed" and not ls.problem:
                return ls
            again = self._read_lock_once(pdir)
            if (again.form, again.token, again.problem) == (ls.form, ls.token, ls.problem):
                return again
            ls = again
        return ls

    def _read_lock_once(self, pdir: str) -> LockState:
        lock = os.path.join(pdir, "lock")
        try:
            st = os.lstat(lock)
        except (FileNotFoundError, NotADirectoryError):
            return LockState()
        state = LockState(exists=True, dir_mtime=st.st_mtime)
        if stat.S_ISLNK(st.st_mode):
            state.form, state.problem = "malformed", "lock is a symlink"
            return state
        if stat.S_ISREG(st.st_mode):
            state.form, state.meta_mtime = "upstream-file", st.st_mtime
            try:
                state.meta = LockMeta.model_validate(read_json(lock))
            except (MalformedJSON, ValueError, OSError) as exc:
                state.form, state.problem = (
                    "malformed",
                    f"lock file is malformed: {_first_line(exc)}",
                )
            return state
        if not stat.S_ISDIR(st.st_mode):
            state.form, state.problem = "malformed", "lock is neither a file nor a directory"
            return state
        try:
            entries = os.listdir(lock)
        except FileNotFoundError:
            return LockState()
        except OSError as exc:
            state.form, state.problem = "malformed", f"lock cannot be listed: {exc.strerror}"
            return state
        state.tokens = sorted(e for e in entries if TOKEN_RE.fullmatch(e))
        state.double_grant = "lock.d" in entries
        meta_path = os.path.join(lock, "meta.json")
        meta_problem = None
        if "meta.json" in entries:
            try:
                state.meta_mtime = os.lstat(meta_path).st_mtime
                state.meta = LockMeta.model_validate(read_json(meta_path))
            except FileNotFoundError:
                pass
            except (MalformedJSON, ValueError, OSError) as exc:
                meta_problem = f"lock/meta.json is malformed: {_first_line(exc)}"
        if len(state.tokens) > 1:
            state.form, state.problem = "malformed", f"{len(state.tokens)} tokens under one lock"
            return state
        if state.tokens:
            state.form, state.token = "fenced", state.tokens[0]
            try:
                owner = read_json(os.path.join(lock, state.token, "owner.json"))
                state.owner = OwnerRecord.model_validate(owner)
            except FileNotFoundError:
                state.problem = "the claim's owner record is missing"
            except (MalformedJSON, ValueError, OSError) as exc:
                state.problem = f"owner record is malformed: {_first_line(exc)}"
            if state.owner is None and state.meta is not None and state.meta.token == state.token:
                # the mirror carries every field of the owner record: use it, and say so
                with contextlib.suppress(ValueError):
                    state.owner = OwnerRecord.model_validate(
                        {**state.meta.model_dump(exclude_none=True), "token": state.token}
                    )
            if state.owner is None:
                state.form = "malformed"
            return state
        if meta_problem:
            state.form, state.problem = "malformed", meta_problem
        elif state.meta is None:
            state.form = "empty" if not entries else "malformed"
            if entries and not state.double_grant:
                state.problem = "lock holds no record"
        elif state.meta.token:
            state.form, state.token = "ending", state.meta.token
        else:
            state.form = "upstream"
        return state

    def _lock_view(self, ls: LockState, now: float) -> LockView | None:
        """The verdict on one reading of a lock (None when nobody holds the phase)."""
        if not ls.exists or ls.form == "empty":
            return None  # an empty lock directory is free: the next claim's rename replaces it
        view = self._judge(ls, now)
        if ls.double_grant and view.verdict != "contested":
            view.verdict = "contested"
            view.evidence.insert(0, "a nested lock.d: upstream sprint.sh granted it twice")
        return view

    def _judge(self, ls: LockState, now: float) -> LockView:
        store = self.store
        if ls.form == "fenced" and ls.owner is not None:
            o = ls.owner
            j = judge_fenced(o, now=now, here=store.host, probe=store.probe)
            view = _view_from(j, "fenced", o.agent, ls.double_grant)
            view.token, view.epoch, view.claimed_at = o.token, o.epoch, o.claimed_at
            view.heartbeat_at, view.ttl_s, view.host = o.heartbeat_at, o.ttl_s, o.host
            view.holder_pid = o.holder_pid
            if ls.problem:
                view.evidence.append(ls.problem + " (read from the meta.json mirror)")
            return view
        if ls.form in ("upstream", "upstream-file") and ls.meta is not None:
            m = ls.meta
            j = judge_upstream(m, mtime=ls.meta_mtime, now=now, probe=store.probe)
            view = _view_from(j, ls.form, m.agent, ls.double_grant)  # type: ignore[arg-type]
            view.claimed_at, view.holder_pid = m.claimed_at, m.pid
            return view
        if ls.form == "ending":
            meta = ls.meta or LockMeta()
            return LockView(
                form="fenced",
                verdict="stale",
                agent=meta.agent,
                token=ls.token,
                epoch=meta.epoch,
                claimed_at=meta.claimed_at,
                evidence=[
                    "the claim ended but its lock was not cleared (a release was interrupted)",
                    "a claim, reclaim or `conductor doctor --fix` finishes the release",
                ],
                double_grant=ls.double_grant,
            )
        problem = ls.problem or "unreadable lock"
        return LockView(
            form="unknown",
            verdict="contested" if ls.double_grant else "malformed",
            evidence=[problem],
            double_grant=ls.double_grant,
            malformed=problem,
            agent=(ls.meta.agent if ls.meta else ""),
        )

    def phase_view(
        self, name: str, now: float | None = None, done_set: set[str] | None = None
    ) -> PhaseView:
        """The current view of one phase."""
        now = self.store.clock() if now is None else now
        pdef = self.defs[name]
        pdir = os.path.join(self.path, name)
        done, done_problem, done_exists = self._read_done(pdir)
        ls = self._read_lock(pdir)
        lock = self._lock_view(ls, now)
        problems: list[str] = []
        if ls.form == "ending" and ls.token:
            # Past the commit rename the phase is in its new state, whatever is left to tidy.
            settled = self._settled_end(pdir, ls.token, now)
            if settled is not None:
                staged_done, problem = settled
                lock = None
                if done is None and staged_done is not None:
                    done, done_exists = staged_done, True
                if problem:
                    problems.append(problem)
        if not os.path.isdir(pdir):
            what = "is not a directory" if os.path.lexists(pdir) else "is missing"
            problems.append(f"the phase directory {what}")
        if ls.form == "empty" and ls.dir_mtime is not None and now - ls.dir_mtime > ENDING_GRACE_S:
            problems.append("an empty lock directory left by a crash; the next claim replaces it")
        if done_set is None:
            done_set = {d for d in pdef.depends_on if self._is_done(d)}
        blocked_by = [d for d in pdef.depends_on if d not in done_set]
        state = "done" if done_exists else ("running" if ls.exists else "pending")
        if done is not None:
            status = "done"
            # A claim published just as the phase completed supersedes itself a moment later,
            # and a release tidies its lock after publishing done: only a lasting one is a problem.
            lingering = ls.dir_mtime is not None and now - ls.dir_mtime > ENDING_GRACE_S
            if ls.exists and ls.form != "ending" and lingering:
                problems.append("a lock remains beside the done record")
            else:
                lock = None  # done is terminal: a claim in its last moments holds nothing
        elif done_problem or problems:
            status = "malformed"
            if done_problem:
                problems.append(done_problem)
        elif lock is not None:
            status = lock.verdict
            if lock.malformed:
                problems.append(lock.malformed)
        else:
            status = "blocked" if blocked_by else "ready"
        return PhaseView(
            name=name,
            depends_on=list(pdef.depends_on),
            status=status,  # type: ignore[arg-type]
            state=state,  # type: ignore[arg-type]
            blocked_by=blocked_by,
            lock=lock,
            done=done,
            problems=problems,
            concurrency=pdef.concurrency or "write",
        )

    def _settled_end(
        self, pdir: str, token: str, now: float
    ) -> tuple[DoneRecord | None, str | None] | None:
        """For a claim ended but not yet tidied: its staged done record (if it was completed) and
        a problem once the tidying is overdue; None when the end cannot be found."""
        entry = self._history_entry(pdir, token)
        parsed = _parse_history(entry) if entry else None
        if entry is None or parsed is None:
            return None
        _, how, nonce = parsed
        staged = None
        if how == "done":
            with contextlib.suppress(OSError, MalformedJSON, ValueError):
                raw = read_json(os.path.join(pdir, f".done-{token}-{nonce}"))
                staged = DoneRecord.model_validate(raw)
        problem = None
        try:
            st = os.lstat(os.path.join(pdir, "history", entry))
            overdue = now - max(st.st_mtime, st.st_ctime) > ENDING_GRACE_S
        except OSError:
            overdue = False
        if overdue:
            problem = (
                f"the claim {token} was {how} but its release was interrupted; "
                "a claim or `conductor doctor --fix` finishes it"
            )
        return staged, problem

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
        return [n for n in self.defs if os.path.lexists(os.path.join(self.path, n, "lock"))]

    def _is_done(self, phase: str) -> bool:
        return os.path.isfile(os.path.join(self.path, phase, "done"))

    def view(self) -> SprintView:
        """A reading of every phase at one instant (the store's clock)."""
        now = self.store.clock()
        done_set = {name for name in self.defs if self._is_done(name)}
        phases = [self.phase_view(name, now, done_set) for name in self.defs]
        deps: dict[str, list[str]] = {name: [] for name in self.defs}
        for p in self.record.phases:
            for d in p.depends_on:
                if d in deps:
                    deps[d].append(p.name)
        for pv in phases:
            pv.dependents = deps[pv.name]
        r = self.record
        return SprintView(
            sprint_id=r.sprint_id,
            project=r.project,
            path=self.path,
            store=self.store.root,
            status=r.status,
            started_by=r.started_by,
            started_at=r.started_at,
            now=now,
            phases=phases,
        )

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
        if self.record.status == "archived":
            reasons.insert(0, "the sprint is archived")
        return pv.status, reasons

    def next_ready(self) -> list[str]:
        """Phases claimable now, in sprint order."""
        return [pv.name for pv in self.view().phases if pv.status == "ready"]

    def archive(self) -> None:
        """Mark this sprint archived, keeping unknown keys of sprint.json."""
        path = os.path.join(self.path, "sprint.json")
        raw = read_json(path)
        if isinstance(raw, dict):
            raw["status"] = "archived"
            atomic_write(path, dumps(raw))
            self.record.status = "archived"
            self.store.log("archive", "", self.record.started_by, sprint=self.sprint_id)

    # ------------------------------------------------------------------ claiming

    def _check_open(self) -> None:
        if self.record.status == "archived":
            raise Refused(f"sprint {self.sprint_id} is archived; start a new one")

    def _next_epoch(self, pdir: str) -> int:
        best = self._history_max_epoch(pdir)
        with contextlib.suppress(OSError):
            for name in os.listdir(os.path.join(pdir, "lock")):
                if TOKEN_RE.fullmatch(name):
                    best = max(best, _epoch_of(name))
        return best + 1

    def _history_max_epoch(self, pdir: str, exclude: str | None = None) -> int:
        """The largest epoch of the claims that ended (but exclude's)."""
        best = 0
        with contextlib.suppress(OSError):
            for name in os.listdir(os.path.join(pdir, "history")):
                parsed = _parse_history(name)
                if parsed and parsed[0] != exclude:
                    best = max(best, _epoch_of(parsed[0]))
        return best

    def claim(
        self,
        phase: str,
        *,
        agent: str,
        ttl: float = DEFAULT_TTL,
        holder_pid: int | None = None,
        holder_start: int | None = None,
    ) -> OwnerRecord:
        """Claim a phase for agent; returns the owner record with the fencing token."""
        pdir = self.phase_dir(phase)
        check_agent(agent)
        if not (0 < ttl <= 7 * 86400):
            raise BadInput(f"invalid --ttl {ttl}: between 0 and 604800 seconds")
        self._check_open()
        store = self.store
        for _ in range(CLAIM_ATTEMPTS):
            ending = self._read_lock(pdir)
            if ending.form == "ending" and ending.token:
                self._finish_release(pdir, ending.token)  # publishes a committed done first
                continue
            pv = self.phase_view(phase)
            if pv.state == "done":
                if pv.done is None:
                    raise Refused(f"{phase!r} has a malformed done record: {pv.problems[0]}")
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
            epoch = self._next_epoch(pdir)
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
            meta = _mirror(owner)
            os.makedirs(os.path.join(pdir, "history"), exist_ok=True)
            _ensure_sentinel(pdir)
            # the stager's pid in the name lets doctor tell a crash leftover from a claim in flight
            private = os.path.join(pdir, f".claim-{token}.{os.getpid()}")
            os.mkdir(private)
            os.mkdir(os.path.join(private, token))
            write_file_durable(
                os.path.join(private, token, "owner.json"), dumps(owner.model_dump())
            )
            write_file_durable(os.path.join(private, "meta.json"), dumps(meta))
            fsync_dir(os.path.join(private, token))
            fsync_dir(private)
            store.crash("claim.staged")
            try:
                os.rename(private, os.path.join(pdir, "lock"))
            except OSError as exc:
                _discard_private(private, token)
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                    continue  # somebody else published first: re-read and report them
                raise
            fsync_dir(pdir)
            store.crash("claim.published")
            # Re-check after winning: done is terminal, and epochs only grow.
            if os.path.lexists(os.path.join(pdir, "done")):
                self._end(pdir, phase, token, how="superseded", by=agent, reason="already done")
                raise AlreadyDone(f"{phase!r} was completed while we claimed it")
            if self._history_max_epoch(pdir, token) >= epoch:
                self._end(pdir, phase, token, how="superseded", by=agent, reason="epoch raced")
                continue
            _ensure_sentinel(pdir)  # a concurrent release may have removed it
            store.log("claim", phase, agent, sprint=self.sprint_id, token=token, epoch=epoch)
            return owner
        raise Refused(f"{phase!r}: gave up after {CLAIM_ATTEMPTS} contended attempts")

    def _authorize(
        self, phase: str, pdir: str, agent: str, token: str | None, force: bool, verb: str
    ) -> LockState:
        """The lock the caller may end or extend, or the precise refusal."""
        if token is not None:
            check_token(token)
        ls = self._read_lock(pdir)
        if not ls.exists or ls.form == "empty":
            if token is not None and self._token_ended(pdir, token):
                raise Fenced(self._fenced_message(pdir, phase, token))
            if self._is_done(phase) and verb != "heartbeat":
                raise AlreadyDone(f"{phase!r} is already completed")
            raise Refused(f"{phase!r} is not claimed")
        if ls.form == "ending":
            raise Fenced(self._fenced_message(pdir, phase, ls.token or ""))
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
            if self._token_ended(pdir, token):
                raise Fenced(self._fenced_message(pdir, phase, token))
            if not force:
                raise NotOwner(f"{phase!r} is held by {holder!r} under another token")
            return ls
        if holder == agent or force:
            return ls
        raise NotOwner(f"{phase!r} is claimed by {holder!r}, not {agent!r}")

    def _token_ended(self, pdir: str, token: str) -> bool:
        return self._history_entry(pdir, token) is not None

    def _history_entry(self, pdir: str, token: str) -> str | None:
        with contextlib.suppress(OSError):
            for name in os.listdir(os.path.join(pdir, "history")):
                if name.startswith(token + "@"):
                    return name
        return None

    def _fenced_message(self, pdir: str, phase: str, token: str) -> str:
        entry = self._history_entry(pdir, token)
        how = _parse_history(entry)[1] if entry else "ended"
        end = None
        if entry:
            with contextlib.suppress(OSError, MalformedJSON, ValueError):
                end = EndRecord.model_validate(
                    read_json(os.path.join(pdir, "history", entry, "end.json"))
                )
        by = f" by {end.by!r} at {end.at}" if end else ""
        return f"fenced: token {token} of {phase!r} was already {how}{by}"

    def heartbeat(
        self, phase: str, *, agent: str, token: str | None = None, ttl: float | None = None
    ) -> OwnerRecord:
        """Extend the lease of the caller's claim; fenced if the claim has ended."""
        pdir = self.phase_dir(phase)
        ls = self._authorize(phase, pdir, agent, token, False, "heartbeat")
        if ls.form != "fenced" or ls.owner is None or ls.token is None:
            raise Refused(f"{phase!r} is held by an upstream lock, which has no lease to extend")
        if ttl is not None and not (0 < ttl <= 7 * 86400):
            raise BadInput(f"invalid --ttl {ttl}: between 0 and 604800 seconds")
        owner = ls.owner.model_copy(
            update={
                "heartbeat_at": iso_ms(self.store.clock()),
                "ttl_s": float(ttl or ls.owner.ttl_s),
            }
        )
        tokdir = os.path.join(pdir, "lock", ls.token)
        try:
            atomic_write(
                os.path.join(tokdir, "owner.json"), dumps(owner.model_dump()), tmp_dir=tokdir
            )
            self.store.crash("heartbeat.owner")
            # Staged inside the token directory: if the claim ended meanwhile, this rename fails.
            atomic_write(
                os.path.join(pdir, "lock", "meta.json"), dumps(_mirror(owner)), tmp_dir=tokdir
            )
        except FileNotFoundError:
            self.store.log("fenced", phase, agent, sprint=self.sprint_id, token=ls.token)
            raise Fenced(self._fenced_message(pdir, phase, ls.token)) from None
        _ensure_sentinel(pdir)
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
        """Complete the caller's claim, recording the artifact's path and SHA-256."""
        pdir = self.phase_dir(phase)
        art_path, digest = "", None
        if artifact:
            art_path, digest, parsed = self.store.load_artifact(artifact, self.record.project)
            if validate is not None:
                validate(parsed)
        ls = self._authorize(phase, pdir, agent, token, force, "complete")
        if os.path.lexists(os.path.join(pdir, "done")):
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
        nonce = secrets.token_hex(4)
        staged = os.path.join(pdir, f".done-{ls.token or 'upstream'}-{nonce}")
        write_file_durable(staged, dumps(record.model_dump(exclude_none=True)))
        self.store.crash("complete.staged")
        try:
            self._commit_end(pdir, phase, ls, how="done", by=agent, reason="completed", nonce=nonce)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(staged)
            raise
        self.store.crash("complete.committed")
        self._publish_done(pdir, staged)
        self.store.crash("complete.published")
        if art_path:
            _replace_symlink(os.path.join(pdir, "artifact.json"), art_path)
        self._release_lock_dir(pdir, ls.token)
        self.store.log("complete", phase, agent, sprint=self.sprint_id, token=ls.token, epoch=epoch)
        return record

    def abort(
        self, phase: str, *, agent: str, token: str | None = None, force: bool = False
    ) -> str:
        """Give up the caller's claim without completing it."""
        pdir = self.phase_dir(phase)
        ls = self._authorize(phase, pdir, agent, token, force, "abort")
        self._commit_end(pdir, phase, ls, how="aborted", by=agent, reason="aborted")
        self.store.crash("abort.committed")
        self._release_lock_dir(pdir, ls.token)
        holder = ls.owner.agent if ls.owner else (ls.meta.agent if ls.meta else "")
        self.store.log("abort", phase, agent, sprint=self.sprint_id, token=ls.token)
        return holder

    def reclaim(self, phase: str, *, agent: str, force: bool = False) -> LockView:
        """Free a stale lock (any lock with force), keeping the evidence in the history.

        The verdict and the action come from one reading: the claim ended is exactly the token
        that was judged, so a claim made since (by anyone) is never ended by mistake.
        """
        pdir = self.phase_dir(phase)
        now = self.store.clock()
        ls = self._read_lock(pdir)
        if ls.form == "ending" and ls.token:
            settled = self._settled_end(pdir, ls.token, now)
            self._finish_release(pdir, ls.token)
            if settled is not None and settled[1] is None:
                raise Refused(f"{phase!r} is not locked: its claim was just released")
            lv = LockView(
                form="fenced",
                verdict="stale",
                token=ls.token,
                agent=ls.meta.agent if ls.meta else "",
                evidence=["finished a release that was interrupted"],
            )
        else:
            found = self._lock_view(ls, now)
            if found is None:
                raise Refused(f"{phase!r} is not locked; nothing to reclaim")
            lv = found
            if lv.verdict != "stale" and not force:
                why = "; ".join(lv.evidence)
                raise NotStale(
                    f"{phase!r} is {lv.verdict}, not stale ({why}); use --force to override"
                )
            reason = "; ".join(lv.evidence)
            self._commit_end(pdir, phase, ls, how="reclaimed", by=agent, reason=reason)
            self.store.crash("reclaim.committed")
            self._release_lock_dir(pdir, ls.token)
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

    # ------------------------------------------------------------------ ending

    def _commit_end(
        self,
        pdir: str,
        phase: str,
        ls: LockState,
        *,
        how: str,
        by: str,
        reason: str,
        nonce: str | None = None,
    ) -> None:
        """The linearisation point of ending a claim; raises Fenced for every loser."""
        nonce = nonce or secrets.token_hex(4)
        history = os.path.join(pdir, "history")
        os.makedirs(history, exist_ok=True)
        if ls.token and ls.form in ("fenced", "malformed"):
            # one of our claims, readable or not: its token path is what ends it
            self._end_token(pdir, phase, ls.token, how=how, by=by, reason=reason, nonce=nonce)
            return
        # Upstream lock (no token) or a malformed one ended with --force: move its records
        # away one by one, then check that what moved is what we judged.
        dest = os.path.join(history, _history_name(f"0-{secrets.token_hex(8)}", how, nonce))
        lock = os.path.join(pdir, "lock")
        if ls.form == "upstream-file":
            try:
                os.rename(lock, dest)
            except FileNotFoundError:
                raise Fenced(
                    f"fenced: the upstream lock of {phase!r} was already released"
                ) from None
            return
        os.mkdir(dest)
        try:
            os.rename(os.path.join(lock, "meta.json"), os.path.join(dest, "meta.json"))
        except FileNotFoundError:
            if ls.form != "malformed":
                raise Fenced(f"fenced: the lock of {phase!r} was already released") from None
        else:
            if ls.form != "malformed" and not self._same_upstream(dest, ls):
                # another claimer replaced the lock since we judged it: give its record back
                with contextlib.suppress(OSError):
                    os.link(os.path.join(dest, "meta.json"), os.path.join(lock, "meta.json"))
                raise Fenced(f"fenced: the lock of {phase!r} changed hands while we acted")
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            os.rename(os.path.join(lock, "lock.d"), os.path.join(dest, "lock.d"))
        _write_end(dest, how, by, self.store.clock(), reason)

    def _same_upstream(self, dest: str, ls: LockState) -> bool:
        """Whether the upstream record moved into dest is the one that was judged."""
        try:
            moved = LockMeta.model_validate(read_json(os.path.join(dest, "meta.json")))
        except (OSError, MalformedJSON, ValueError):
            return False
        judged = ls.meta or LockMeta()
        return (moved.agent, moved.claimed_at, moved.pid, moved.token) == (
            judged.agent,
            judged.claimed_at,
            judged.pid,
            judged.token,
        )

    def _end_token(
        self, pdir: str, phase: str, token: str, *, how: str, by: str, reason: str, nonce: str
    ) -> None:
        src = os.path.join(pdir, "lock", token)
        dest = os.path.join(pdir, "history", _history_name(token, how, nonce))
        try:
            os.rename(src, dest)
        except FileNotFoundError:
            self.store.log("fenced", phase, by, sprint=self.sprint_id, token=token, detail=how)
            raise Fenced(self._fenced_message(pdir, phase, token)) from None
        fsync_dir(os.path.join(pdir, "history"))
        self.store.crash(f"{how}.renamed")
        with contextlib.suppress(OSError):
            _write_end(dest, how, by, self.store.clock(), reason)

    def _end(self, pdir: str, phase: str, token: str, *, how: str, by: str, reason: str) -> None:
        """End our own just-published claim (superseded) and release the lock."""
        self._end_token(
            pdir, phase, token, how=how, by=by, reason=reason, nonce=secrets.token_hex(4)
        )
        self._release_lock_dir(pdir, token)
        self.store.log("superseded", phase, by, sprint=self.sprint_id, token=token, detail=reason)

    def _publish_done(self, pdir: str, staged: str) -> None:
        """Publish a staged done record; link(2) never replaces, so done is written once."""
        done = os.path.join(pdir, "done")
        try:
            os.link(staged, done)
        except FileExistsError:
            pass
        except FileNotFoundError:
            return  # another releaser published it and removed the stage
        fsync_dir(pdir)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged)

    def _finish_release(self, pdir: str, token: str) -> None:
        """Finish a release that was interrupted after its commit rename."""
        entry = self._history_entry(pdir, token)
        if entry is not None:
            _, how, nonce = _parse_history(entry) or ("", "", "")
            staged = os.path.join(pdir, f".done-{token}-{nonce}")
            if how == "done" and os.path.exists(staged):
                self._publish_done(pdir, staged)
        self._release_lock_dir(pdir, token)

    def _release_lock_dir(self, pdir: str, token: str | None) -> None:
        """Remove the lock mirror (if it is still the ended claim's), the lock and the sentinel."""
        lock = os.path.join(pdir, "lock")
        meta = os.path.join(lock, "meta.json")
        aside = os.path.join(pdir, "history", f".gc-{secrets.token_hex(6)}.json")
        try:
            os.rename(meta, aside)
        except (FileNotFoundError, NotADirectoryError):
            pass
        else:
            moved_token = None
            with contextlib.suppress(OSError, MalformedJSON, ValueError):
                moved_token = LockMeta.model_validate(read_json(aside)).token
            if token is not None and moved_token not in (token, None):
                # A new claim was published after our release began: give its mirror back.
                with contextlib.suppress(OSError):
                    os.link(aside, meta)
            with contextlib.suppress(OSError):
                os.unlink(aside)
        self.store.crash("release.mirror")
        with contextlib.suppress(OSError):
            os.rmdir(lock)  # only if empty: a new claim keeps its lock
        if not os.path.lexists(lock):
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(pdir, "lock.d"))
            if os.path.lexists(lock):
                _ensure_sentinel(pdir)  # a claim was published meanwhile: it keeps its sentinel
        with contextlib.suppress(OSError):
            fsync_dir(pdir)

    # ------------------------------------------------------------------ doctor

    def doctor(self, fix: bool = False, *, grace_s: float = 60.0) -> list[Finding]:
        """Find crash leftovers and malformed records; with fix, repair what is safe to repair."""
        found: list[Finding] = []
        now = self.store.clock()

        def report(
            phase: str, problem: str, action: str, repair: Callable[[], object] | None = None
        ) -> None:
            """Record a finding; with fix, run its repair (None: a person must look)."""
            finding = Finding(phase, problem, action)
            found.append(finding)
            if fix and repair is not None:
                repair()
                finding.fixed = True

        for name in self.defs:
            pdir = os.path.join(self.path, name)
            lock = os.path.join(pdir, "lock")
            if not os.path.isdir(pdir):
                report(
                    name,
                    "phase directory is missing",
                    "recreate it",
                    lambda pdir=pdir: os.makedirs(pdir, exist_ok=True),
                )
                continue
            ls = self._read_lock(pdir)
            done, done_problem, _ = self._read_done(pdir)
            if done_problem:
                report(name, done_problem, "left as is: inspect and remove it by hand")
            if ls.form == "ending" and ls.token:
                report(
                    name,
                    "a release was interrupted",
                    "finish the release",
                    lambda pdir=pdir, token=ls.token: self._finish_release(pdir, token),
                )
            elif ls.form == "empty":
                report(
                    name,
                    "an empty lock directory",
                    "remove it",
                    lambda lock=lock: _quietly(os.rmdir, lock),
                )
            elif ls.form == "fenced" and ls.token and ls.owner is not None:
                tokdir = os.path.join(lock, ls.token)
                owner = ls.owner
                if ls.meta is None or ls.meta.token != ls.token:
                    # staged in the token directory: if the claim ends meanwhile, nothing is written
                    report(
                        name,
                        "the lock's meta.json mirror is missing or stale",
                        "rewrite it",
                        lambda lock=lock, tokdir=tokdir, owner=owner: _quietly(
                            atomic_write,
                            os.path.join(lock, "meta.json"),
                            dumps(_mirror(owner)),
                            tmp_dir=tokdir,
                        ),
                    )
                if ls.problem:
                    report(
                        name,
                        ls.problem,
                        "rewrite it from the meta.json mirror",
                        lambda tokdir=tokdir, owner=owner: _quietly(
                            atomic_write,
                            os.path.join(tokdir, "owner.json"),
                            dumps(owner.model_dump()),
                            tmp_dir=tokdir,
                        ),
                    )
                if done is not None:
                    report(name, "a live claim beside a done record", "left as is: reclaim it")
            elif ls.form == "malformed":
                report(
                    name, ls.problem or "malformed lock", "left as is: `reclaim --force` clears it"
                )
            if ls.double_grant:
                report(
                    name,
                    "nested lock.d: upstream granted the phase twice",
                    "left as is: `reclaim --force` clears it",
                )
            sentinel = os.path.join(pdir, "lock.d")
            # re-checked now: a fix above may just have removed the lock
            if not os.path.lexists(lock) and os.path.isdir(sentinel):
                try:
                    entries = os.listdir(sentinel)
                    age = now - os.lstat(sentinel).st_mtime
                except OSError:
                    entries, age = [], 0.0
                if not entries:
                    report(
                        name,
                        "an orphan lock.d sentinel",
                        "remove it",
                        lambda sentinel=sentinel: _quietly(os.rmdir, sentinel),
                    )
                elif age > grace_s:
                    crashed = f"0-{secrets.token_hex(8)}@crashed-{secrets.token_hex(4)}"
                    report(
                        name,
                        "an upstream claim crashed inside lock.d",
                        "move it to history",
                        lambda pdir=pdir, sentinel=sentinel, crashed=crashed: (
                            os.makedirs(os.path.join(pdir, "history"), exist_ok=True),
                            _quietly(os.rename, sentinel, os.path.join(pdir, "history", crashed)),
                        ),
                    )
            for entry in _list(pdir):
                path = os.path.join(pdir, entry)
                if entry.startswith(".claim-") and self._abandoned(entry, path, now, grace_s):
                    token = entry[len(".claim-") :].split(".")[0]
                    report(
                        name,
                        f"an unpublished claim {entry}",
                        "remove it",
                        lambda path=path, token=token: _discard_private(path, token),
                    )
                elif entry.startswith(".done-"):
                    token = entry[len(".done-") :].rsplit("-", 1)[0]
                    hist = self._history_entry(pdir, token)
                    if hist and _parse_history(hist)[1] == "done":  # type: ignore[index]
                        report(
                            name,
                            "a committed completion was not published",
                            "publish it",
                            lambda pdir=pdir, path=path: self._publish_done(pdir, path),
                        )
                    elif _older(path, now, grace_s):
                        report(
                            name,
                            f"an abandoned staged record {entry}",
                            "remove it",
                            lambda path=path: _quietly(os.unlink, path),
                        )
                elif ".tmp-" in entry and _older(path, now, grace_s):
                    report(
                        name,
                        f"a temporary file {entry}",
                        "remove it",
                        lambda path=path: _quietly(os.unlink, path),
                    )
            link = os.path.join(pdir, "artifact.json")
            if done is not None and done.artifact and not os.path.lexists(link):
                report(
                    name,
                    "the artifact.json link is missing",
                    "recreate it",
                    lambda link=link, target=done.artifact: _replace_symlink(link, target),
                )
        fixed = sum(f.fixed for f in found)
        if fixed:
            self.store.log("doctor", "", "doctor", sprint=self.sprint_id, detail=f"{fixed} fixed")
        return found

    def _abandoned(self, entry: str, path: str, now: float, grace_s: float) -> bool:
        """A staged claim whose stager process is gone (or that is simply old)."""
        _, _, pid = entry.rpartition(".")
        if pid.isdigit() and self.store.probe(int(pid)) is None:
            return True
        return _older(path, now, grace_s)


class Store:
    """A store directory: where sprints live, plus the clock and host every verdict uses."""

    def __init__(
        self,
        root: str,
        *,
        clock: Callable[[], float] = time.time,
        host: str | None = None,
        probe: Callable[[int], ProcInfo | None] = proc_info,
        token_hex: Callable[[int], str] = secrets.token_hex,
    ) -> None:
        self.root = os.path.abspath(root)
        self.clock = clock
        self.token_hex = token_hex  # injectable so that snapshot tests see fixed tokens
        self.host = host or hostname()
        self.probe = probe
        self.crash = _crash_hook()

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
            raise BadInput(f"{path} is malformed: {_first_line(exc)}") from None

    def load_sprint(self, path: str, record: SprintRecord | None = None) -> Sprint:
        """Open a sprint directory; BadInput when its sprint.json is missing or malformed."""
        sj = os.path.join(path, "sprint.json")
        if record is None:
            try:
                record = SprintRecord.model_validate(read_json(sj))
            except FileNotFoundError:
                raise BadInput(f"no sprint.json in {path}") from None
            except (MalformedJSON, ValueError, OSError) as exc:
                raise BadInput(f"{sj} is malformed: {_first_line(exc)}") from None
        from .graph import validate_graph

        try:
            validate_graph([p.model_dump() for p in record.phases])
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
                    record = SprintRecord.model_validate(
                        read_json(os.path.join(path, "sprint.json"))
                    )
                except FileNotFoundError:
                    continue
                except (MalformedJSON, ValueError, OSError) as exc:
                    broken.append(f"{name}: {_first_line(exc)}")
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
        """Start a sprint for project; archive the active one (refused while it has live locks)."""
        from .graph import validate_graph

        check_agent(agent)
        project = os.path.abspath(project)
        raw = phases if phases is not None else self.config().phase_graph
        graph = validate_graph(DEFAULT_GRAPH if raw is None else raw)
        previous = []
        for name in self._sprint_dirs():
            if project_hash(project) not in name:
                continue
            path = os.path.join(self.conductor_dir, name)
            try:  # only active sprints are opened in full: archived ones can pile up
                record = SprintRecord.model_validate(read_json(os.path.join(path, "sprint.json")))
            except (OSError, MalformedJSON, ValueError):
                continue
            if record.project == project and record.status != "archived":
                with contextlib.suppress(BadInput):
                    previous.append(self.load_sprint(path, record))
        if not force:
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
        os.makedirs(self.conductor_dir, exist_ok=True)
        now = self.clock()
        record = SprintRecord(
            sprint_id="",
            project=project,
            started_by=agent,
            started_at=iso(now),
            status="active",
            phases=graph,
        )
        staging = os.path.join(self.conductor_dir, f".start-{secrets.token_hex(6)}")
        os.mkdir(staging)
        try:
            for p in graph:
                os.mkdir(os.path.join(staging, p.name))  # history/ comes with the first claim
            h = project_hash(project)
            stamp = int(now)
            for _ in range(3600):
                sprint_id = f"{h}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(stamp))}"
                record.sprint_id = sprint_id
                sj = os.path.join(staging, "sprint.json")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(sj)
                write_file_durable(sj, dumps(record.model_dump(exclude_none=True)))
                fsync_dir(staging)
                final = os.path.join(self.conductor_dir, sprint_id)
                # mkdir reserves the name: two starts within one second never share a directory
                try:
                    os.mkdir(final)
                except FileExistsError:
                    stamp += 1
                    continue
                os.rename(staging, final)
                fsync_dir(self.conductor_dir)
                break
            else:  # pragma: no cover - an hour of sprints started in one second
                raise Refused("could not find a free sprint id")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        for sprint in previous:
            sprint.archive()
        self.log("start", "", agent, sprint=sprint_id, detail=project)
        return self.load_sprint(final)

    def clean(self, project: str | None, *, older_than_s: float = 7 * 86400) -> list[str]:
        """Delete archived sprints older than a week: this project's, or all with project=None."""
        removed = []
        h = project_hash(os.path.abspath(project)) if project else None
        now = self.clock()
        for name in self._sprint_dirs():
            if h is not None and h not in name:
                continue
            path = os.path.join(self.conductor_dir, name)
            sj = os.path.join(path, "sprint.json")
            try:
                record = SprintRecord.model_validate(read_json(sj))
                age = now - os.lstat(sj).st_mtime
            except (OSError, MalformedJSON, ValueError):
                continue
            if record.status != "archived" or age <= older_than_s:
                continue
            if project is not None and record.project != os.path.abspath(project):
                continue
            trash = os.path.join(self.conductor_dir, f".trash-{secrets.token_hex(6)}")
            os.rename(path, trash)
            shutil.rmtree(trash, ignore_errors=True)
            removed.append(name)
        return removed

    # ------------------------------------------------------------------ artifacts and log

    def load_artifact(self, artifact: str, project: str) -> tuple[str, str, Any]:
        """Validate an artifact: a regular JSON file, not a symlink, inside project or store."""
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
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            raise BadInput(f"artifact {show(artifact)} cannot be opened: {exc.strerror}") from None
        try:
            # Judge the file we opened, not the path: a folder swapped for a symlink between a
            # check and the open would otherwise let a file from elsewhere in.
            real = os.readlink(f"/proc/self/fd/{fd}")
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise BadInput(f"artifact {show(artifact)} is not a regular file")
            if not any(_inside(real, root) for root in roots):
                raise BadInput(f"artifact {show(artifact)} is outside the project and the store")
            data = read_fd(fd, MAX_ARTIFACT)
            named = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
            if named != real or os.readlink(f"/proc/self/fd/{fd}") != real:
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
        """Append one audit event; a failure to log never undoes a committed transition."""
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
        with contextlib.suppress(OSError):
            os.makedirs(self.root, exist_ok=True)
            audit.append(self.audit_path, event)


# ---------------------------------------------------------------------- helpers


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


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


def _quietly(action: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Run a tidying step whose target another process may already have removed."""
    with contextlib.suppress(OSError):
        action(*args, **kwargs)


def _list(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _older(path: str, now: float, seconds: float) -> bool:
    try:
        return now - os.lstat(path).st_mtime > seconds
    except OSError:
        return False


def _mirror(owner: OwnerRecord) -> dict[str, Any]:
    """lock/meta.json: upstream's three fields first (pid = the holder, for upstream's check)."""
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


def _ensure_sentinel(pdir: str) -> None:
    """The empty lock.d that makes upstream's `mkdir lock.d` fail while we hold the phase."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(os.path.join(pdir, "lock.d"))


def _discard_private(private: str, token: str) -> None:
    for rel in (os.path.join(token, "owner.json"), "meta.json"):
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(private, rel))
    for rel in (token, ""):
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(private, rel) if rel else private)


def _write_end(dest: str, how: str, by: str, now: float, reason: str) -> None:
    end = EndRecord(how=how, by=by, at=iso(now), reason=reason[:2000])  # type: ignore[arg-type]
    atomic_write(os.path.join(dest, "end.json"), dumps(end.model_dump()))


def _replace_symlink(link: str, target: str) -> None:
    tmp = f"{link}.tmp-{secrets.token_hex(4)}"
    os.symlink(target, tmp)
    try:
        os.rename(tmp, link)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _view_from(j: Judgement, form: str, agent: str, double_grant: bool) -> LockView:
    return LockView(
        form=form,  # type: ignore[arg-type]
        verdict=j.verdict,
        evidence=list(j.evidence),
        agent=agent,
        holder_alive=j.holder_alive,
        lease_expires_in=j.lease_expires_in,
        age_s=j.age_s,
        double_grant=double_grant,
    )
