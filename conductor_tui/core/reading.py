"""Reading a phase: one reading of its directory, and the one verdict every face derives from it.

Invariant 9 of the protocol lives here. A `PhaseReading` is taken once per phase (the lock
first, then the done record, so that a completion racing the reader is seen either as the claim
or as done, never as free); `completed()` decides from that reading alone whether the phase is
done, and a sprint's views derive `blocked_by`, `ready` and every count from those same readings.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Mapping
from operator import attrgetter

from .jsonio import MalformedJSON, read_json
from .layout import SENTINEL, PhasePaths, parse_history
from .lean import Lean, field
from .limits import ENDING_GRACE_S, SENTINEL_GRACE_S
from .liveness import Judgement, ProcInfo, judge_fenced, judge_upstream
from .models import (
    DoneRecord,
    EndRecord,
    LockMeta,
    LockView,
    OwnerRecord,
    PhaseDef,
    PhaseView,
)
from .paths import TOKEN_RE

Probe = Callable[[int], ProcInfo | None]


class LockState(Lean, kw_only=False):
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


class DoneReading(Lean, kw_only=False):
    """A reading of <phase>/done."""

    record: DoneRecord | None = None
    problem: str | None = None
    exists: bool = False


class EndReading(Lean, kw_only=False):
    """A claim whose end is committed (its token is in history/) but whose lock is not tidied."""

    entry: str
    how: str
    nonce: str
    settled_at: float | None  # when its history entry last changed; None: unknown, never overdue
    read_at: float

    @property
    def overdue(self) -> bool:
        """The release was interrupted, as judged when this was read."""
        return self.overdue_at(self.read_at)

    def overdue_at(self, now: float) -> bool:
        """The release was interrupted, as judged at now (a cached reading judged again)."""
        return self.settled_at is not None and now - self.settled_at > ENDING_GRACE_S


class PhaseReading(Lean, kw_only=False):
    """Everything read from one phase directory, once: the only input of its view."""

    name: str
    paths: PhasePaths
    dir_problem: str | None
    lock: LockState
    end: EndReading | None
    done: DoneReading
    sentinel_mtime: float | None  # an orphan lock.d (no lock beside it): its mtime
    sentinel_busy: bool  # that lock.d holds something (an upstream claim in the making)
    read_at: float  # the instant of the reading; what ages with time is kept as mtimes

    @property
    def sentinel_age(self) -> float | None:
        """The orphan lock.d's age when this was read (None when there is none)."""
        return self.sentinel_age_at(self.read_at)

    def sentinel_age_at(self, now: float) -> float | None:
        """The orphan lock.d's age at now (None when there is none)."""
        return None if self.sentinel_mtime is None else max(0.0, now - self.sentinel_mtime)

    def completed(self) -> bool:
        """Done, by this reading: a valid done record, or a committed completion's record."""
        return self.done.record is not None and self.done.problem is None


def read_done(path: str) -> DoneReading:
    """Read a done record (the published one, or a staged one)."""
    try:
        raw = read_json(path)
        return DoneReading(DoneRecord.model_validate(raw), None, True)
    except FileNotFoundError:
        return DoneReading()
    except IsADirectoryError:
        return DoneReading(None, "done is a directory, not a record", True)
    except (MalformedJSON, ValueError) as exc:
        return DoneReading(None, f"done record is malformed: {first_line(exc)}", True)
    except OSError as exc:
        return DoneReading(None, f"done record cannot be read: {exc.strerror}", True)


def read_lock(paths: PhasePaths) -> LockState:
    """A stable reading of the lock.

    A release or a claim in flight moves files between the listing and the reads, which can
    make one reading look torn; a reading is only called malformed when a second one agrees.
    """
    ls = _read_lock_once(paths)
    for _ in range(4):
        if ls.form != "malformed" and not ls.problem:
            return ls
        again = _read_lock_once(paths)
        if (again.form, again.token, again.problem) == (ls.form, ls.token, ls.problem):
            return again
        ls = again
    return ls


def _read_lock_once(paths: PhasePaths) -> LockState:
    lock = paths.lock
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
            state.form, state.problem = "malformed", f"lock file is malformed: {first_line(exc)}"
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
    state.double_grant = SENTINEL in entries
    meta_problem = None
    if "meta.json" in entries:
        try:
            state.meta_mtime = os.lstat(paths.meta).st_mtime
            state.meta = LockMeta.model_validate(read_json(paths.meta))
        except FileNotFoundError:
            pass
        except (MalformedJSON, ValueError, OSError) as exc:
            meta_problem = f"lock/meta.json is malformed: {first_line(exc)}"
    if len(state.tokens) > 1:
        state.form, state.problem = "malformed", f"{len(state.tokens)} tokens under one lock"
        return state
    if state.tokens:
        state.form, state.token = "fenced", state.tokens[0]
        try:
            state.owner = OwnerRecord.model_validate(read_json(paths.owner(state.token)))
        except FileNotFoundError:
            state.problem = "the claim's owner record is missing"
        except (MalformedJSON, ValueError, OSError) as exc:
            state.problem = f"owner record is malformed: {first_line(exc)}"
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


def history_entry(paths: PhasePaths, token: str) -> str | None:
    """The history entry of an ended token, or None while it has not ended."""
    with contextlib.suppress(OSError):
        for name in os.listdir(paths.history):
            if name.startswith(token + "@"):
                return name
    return None


def read_end(paths: PhasePaths, token: str, now: float) -> EndReading | None:
    """How a claim whose lock is not yet tidied ended, or None when its end cannot be found."""
    entry = history_entry(paths, token)
    parsed = parse_history(entry) if entry else None
    if entry is None or parsed is None:
        return None
    _, how, nonce = parsed
    try:
        st = os.lstat(paths.ended(entry))
        settled_at: float | None = max(st.st_mtime, st.st_ctime)
    except OSError:
        settled_at = None
    return EndReading(entry, how, nonce, settled_at, now)


def end_record(paths: PhasePaths, entry: str) -> EndRecord | None:
    """history/<entry>/end.json, when it can be read."""
    with contextlib.suppress(OSError, MalformedJSON, ValueError):
        return EndRecord.model_validate(read_json(os.path.join(paths.ended(entry), "end.json")))
    return None


def read_phase(name: str, paths: PhasePaths, now: float) -> PhaseReading:
    """One reading of a phase directory: the lock, how a half-tidied claim ended, then done."""
    dir_problem = None
    try:
        st = os.lstat(paths.dir)
        if stat.S_ISLNK(st.st_mode):
            dir_problem = "the phase directory is a symlink (never followed)"
        elif not stat.S_ISDIR(st.st_mode):
            dir_problem = "the phase directory is not a directory"
    except FileNotFoundError:
        dir_problem = "the phase directory is missing"
    except OSError as exc:
        dir_problem = f"the phase directory cannot be read: {exc.strerror}"
    if dir_problem is not None:
        return PhaseReading(
            name, paths, dir_problem, LockState(), None, DoneReading(), None, False, now
        )
    lock = read_lock(paths)
    end = read_end(paths, lock.token, now) if lock.form == "ending" and lock.token else None
    done = read_done(paths.done)
    if end is not None and end.how == "done" and not done.exists:
        # committed but not yet published: the staged record is the phase's done record,
        # unless the publisher linked it (and removed the stage) since we looked
        done = read_done(paths.staged_done(lock.token or "", end.nonce))
        if not done.exists:
            done = read_done(paths.done)
        if not done.exists:
            done = DoneReading(
                None, "the claim was completed but its done record is lost; see doctor", True
            )
    sentinel_mtime, busy = None, False
    if not lock.exists:
        with contextlib.suppress(OSError):
            sst = os.lstat(paths.sentinel)
            if stat.S_ISDIR(sst.st_mode):
                sentinel_mtime = sst.st_mtime
                busy = bool(os.listdir(paths.sentinel))
    return PhaseReading(name, paths, None, lock, end, done, sentinel_mtime, busy, now)


def lock_view(ls: LockState, now: float, host: str, probe: Probe) -> LockView | None:
    """The verdict on one reading of a lock (None when nobody holds the phase)."""
    if not ls.exists or ls.form == "empty":
        return None  # an empty lock directory is free: the next claim's rename replaces it
    view = _judge(ls, now, host, probe)
    if ls.double_grant and view.verdict != "contested":
        view.verdict = "contested"
        view.evidence.insert(0, "a nested lock.d: upstream sprint.sh granted it twice")
    return view


def _judge(ls: LockState, now: float, host: str, probe: Probe) -> LockView:
    if ls.form == "fenced" and ls.owner is not None:
        o = ls.owner
        j = judge_fenced(o, now=now, here=host, probe=probe)
        view = _view_from(j, "fenced", o.agent, ls.double_grant)
        view.token, view.epoch, view.claimed_at = o.token, o.epoch, o.claimed_at
        view.heartbeat_at, view.ttl_s, view.host = o.heartbeat_at, o.ttl_s, o.host
        view.holder_pid = o.holder_pid
        if ls.problem:
            view.evidence.append(ls.problem + " (read from the meta.json mirror)")
        return view
    if ls.form in ("upstream", "upstream-file") and ls.meta is not None:
        m = ls.meta
        j = judge_upstream(m, mtime=ls.meta_mtime, now=now, probe=probe)
        view = _view_from(j, ls.form, m.agent, ls.double_grant)
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


def _view_from(j: Judgement, form: str, agent: str, double_grant: bool) -> LockView:
    return LockView(
        form=form,  # type: ignore[arg-type]  # one of the forms judged above
        verdict=j.verdict,
        evidence=list(j.evidence),
        agent=agent,
        holder_alive=j.holder_alive,
        lease_expires_in=j.lease_expires_in,
        age_s=j.age_s,
        double_grant=double_grant,
    )


def orphan_sentinel_note(name: str, r: PhaseReading, now: float) -> str | None:
    """What to say about a lock.d with no lock beside it, once it is older than the grace."""
    age = r.sentinel_age_at(now)
    if age is None or age <= SENTINEL_GRACE_S:
        return None
    if r.sentinel_busy:
        what = "an upstream claim was interrupted inside lock.d"
    else:
        what = "an orphan lock.d (left when a claim of ours was ended by upstream or a crash)"
    return f"{what}: upstream agents are refused {name!r}; clear it with `conductor reclaim {name}`"


def timeless(r: PhaseReading) -> bool:
    """True when phase_view of this reading depends on neither the clock nor a process: no
    lock (no lease, no holder, no age) and no lock.d. Its view then changes only with the
    reading itself or with its dependencies' completion, and a view derived earlier from this
    same reading may be kept instead of derived again."""
    return not r.lock.exists and r.end is None and r.sentinel_mtime is None


# every field of a reading but the instant it was taken (a field added later is compared too)
_CONTENT = attrgetter(*(n for n in PhaseReading.__lean_order__ if n != "read_at"))


def same_timeless(a: PhaseReading, b: PhaseReading) -> bool:
    """True when two readings are timeless (see timeless) and equal in all but the instant they
    were taken: a view derived from one is the view of the other."""
    return timeless(a) and timeless(b) and _CONTENT(a) == _CONTENT(b)


def phase_view(
    pdef: PhaseDef,
    r: PhaseReading,
    completed: Mapping[str, bool],
    now: float,
    host: str,
    probe: Probe,
) -> PhaseView:
    """The view of one phase from its reading; completed says, from the same readings, which
    of its dependencies are done."""
    problems: list[str] = []
    notes: list[str] = []
    ls = r.lock
    lock = lock_view(ls, now, host, probe)
    if r.end is not None:
        # Past the commit rename the phase is in its new state, whatever is left to tidy.
        lock = None
        if r.end.overdue_at(now):
            notes.append(
                f"the claim {ls.token} was {r.end.how} but its release was interrupted; "
                "a claim or `conductor doctor --fix` finishes it"
            )
    if r.dir_problem:
        problems.append(r.dir_problem)
    if ls.form == "empty" and ls.dir_mtime is not None and now - ls.dir_mtime > ENDING_GRACE_S:
        notes.append("an empty lock directory left by a crash; the next claim replaces it")
    orphan = orphan_sentinel_note(pdef.name, r, now)
    if orphan:
        notes.append(orphan)
    blocked_by = [d for d in pdef.depends_on if not completed.get(d, False)]
    done = r.done.record if r.completed() else None
    state = "done" if r.done.exists else ("running" if ls.exists and r.end is None else "pending")
    if done is not None:
        status = "done"
        # A claim published just as the phase completed supersedes itself a moment later,
        # and a release tidies its lock after publishing done: only a lasting one is a problem.
        lingering = ls.dir_mtime is not None and now - ls.dir_mtime > ENDING_GRACE_S
        if ls.exists and r.end is None and lingering:
            notes.append("a lock remains beside the done record")
        lock = None  # done is terminal: a claim in its last moments holds nothing
    elif r.done.problem or problems:
        status = "malformed"
        if r.done.problem:
            problems.append(r.done.problem)
    elif lock is not None:
        status = lock.verdict
        if lock.malformed:
            problems.append(lock.malformed)
    else:
        status = "blocked" if blocked_by else "ready"
    return PhaseView(
        name=pdef.name,
        depends_on=list(pdef.depends_on),
        status=status,  # type: ignore[arg-type]  # one of PhaseStatus, chosen above
        state=state,  # type: ignore[arg-type]  # one of UpstreamState
        blocked_by=blocked_by,
        lock=lock,
        done=done,
        problems=problems,
        notes=notes,
        orphan_sentinel=orphan is not None,
        concurrency=pdef.concurrency or "write",
    )


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, capped, for a one-line problem."""
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__
