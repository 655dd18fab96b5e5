"""Ending a claim: the commit rename, publishing done, and tidying the lock directory.

The linearisation point is one rename(2) of lock/<token> to history/<token>@<how>-<nonce>: only
one caller wins it, every other is told "fenced". The destination name records how the claim
ended, so whoever finds a release half-done can finish it, and a completion's done record is
staged (`.done-<token>-<nonce>`) before the commit, so that a committed completion is never lost:
doctor never removes the staged record of a live or committed token (invariant 10).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable

from . import fs
from .errors import Fenced, Refused
from .jsonio import MalformedJSON, dumps, read_json
from .layout import PhasePaths, parse_history
from .liveness import iso
from .models import EndRecord, LockMeta
from .reading import LockState, end_record, history_entry, read_done

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .store import Sprint


class LostCompletion(Refused):
    """A committed completion whose done record could not be published."""


def commit_end(
    sprint: Sprint,
    paths: PhasePaths,
    phase: str,
    ls: LockState,
    *,
    how: str,
    by: str,
    reason: str,
    nonce: str | None = None,
) -> None:
    """The linearisation point of ending a claim; raises Fenced for every loser."""
    nonce = nonce or fs.token_hex(4)
    fs.ensure_dir(paths.history)
    if ls.token and ls.form in ("fenced", "malformed"):
        # one of our claims, readable or not: its token path is what ends it
        end_token(sprint, paths, phase, ls.token, how=how, by=by, reason=reason, nonce=nonce)
        return
    # Upstream lock (no token) or a malformed one ended with --force: move its records
    # away one by one, then check that what moved is what we judged.
    dest = paths.ended_as(f"0-{fs.token_hex(8)}", how, nonce)
    if ls.form == "upstream-file":
        try:
            fs.rename(paths.lock, dest)
        except FileNotFoundError:
            raise Fenced(f"fenced: the upstream lock of {phase!r} was already released") from None
        return
    fs.mkdir(dest)
    try:
        fs.rename(paths.meta, os.path.join(dest, "meta.json"))
    except FileNotFoundError:
        if ls.form != "malformed":
            _quietly(fs.rmdir, dest)
            raise Fenced(f"fenced: the lock of {phase!r} was already released") from None
    except BaseException:
        _quietly(fs.rmdir, dest)
        raise
    else:
        if ls.form != "malformed" and not _same_upstream(dest, ls):
            # another claimer replaced the lock since we judged it: give its record back
            with contextlib.suppress(OSError):
                fs.link(os.path.join(dest, "meta.json"), paths.meta)
            raise Fenced(f"fenced: the lock of {phase!r} changed hands while we acted")
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        fs.rename(os.path.join(paths.lock, "lock.d"), os.path.join(dest, "lock.d"))
    sprint.tidy(
        f"the end record of {phase!r}", write_end, dest, how, by, sprint.store.clock(), reason
    )


def _same_upstream(dest: str, ls: LockState) -> bool:
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


def end_token(
    sprint: Sprint,
    paths: PhasePaths,
    phase: str,
    token: str,
    *,
    how: str,
    by: str,
    reason: str,
    nonce: str,
) -> None:
    """Rename lock/<token> into history: the one step that ends a claim of ours."""
    dest = paths.ended_as(token, how, nonce)
    try:
        fs.rename(paths.token_dir(token), dest)
    except FileNotFoundError:
        sprint.store.log("fenced", phase, by, sprint=sprint.sprint_id, token=token, detail=how)
        raise Fenced(fenced_message(paths, phase, token)) from None
    sprint.store.crash(f"{how}.renamed")
    # The end is committed: what follows can fail without undoing it, and says so.
    sprint.tidy(f"syncing the history of {phase!r}", fs.fsync_dir, paths.history)
    sprint.tidy(
        f"the end record of {phase!r}", write_end, dest, how, by, sprint.store.clock(), reason
    )


def fenced_message(paths: PhasePaths, phase: str, token: str) -> str:
    """What a caller whose token has already ended is told."""
    entry = history_entry(paths, token)
    parsed = parse_history(entry) if entry else None
    how = parsed[1] if parsed else "ended"
    end = end_record(paths, entry) if entry else None
    by = f" by {end.by!r} at {end.at}" if end else ""
    return f"fenced: token {token} of {phase!r} was already {how}{by}"


def publish_done(
    paths: PhasePaths,
    staged: str,
    token: str | None,
    warn: Callable[[str], None] | None = None,
) -> None:
    """Publish a committed completion's staged record; link(2) never replaces, so done is
    written once. Returns only when <phase>/done is this token's record and durable."""
    # published already (by us, or by whoever finished our release): checked below
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        fs.link(staged, paths.done)
    published = read_done(paths.done)
    if published.record is None or published.record.token != token:
        what = published.problem or (
            "no done record" if published.record is None else "another claim's done record"
        )
        raise LostCompletion(
            f"the claim {token} was committed as done, but publishing its record failed: "
            f"{what}; run `conductor doctor`"
        )
    fs.fsync_dir(paths.dir)
    try:
        fs.unlink(staged)
    except FileNotFoundError:
        pass
    except OSError as exc:  # published and durable: the stage left behind is doctor's
        if warn is None:
            raise
        warn(
            f"the staged record {os.path.basename(staged)} was not removed "
            f"({exc.strerror or exc}); `conductor doctor --fix` repairs it"
        )


def finish_release(sprint: Sprint, paths: PhasePaths, token: str) -> None:
    """Finish a release that was interrupted after its commit rename."""
    entry = history_entry(paths, token)
    parsed = parse_history(entry) if entry else None
    if parsed is not None:
        _, how, nonce = parsed
        staged = paths.staged_done(token, nonce)
        if how == "done" and not os.path.lexists(paths.done):
            publish_done(paths, staged, token, sprint.warn)
    release_lock_dir(sprint, paths, token)


def release_lock_dir(sprint: Sprint, paths: PhasePaths, token: str | None) -> None:
    """Remove the lock mirror (if it is still the ended claim's), the lock and the sentinel.

    Every step is tidying after a committed end: the races it expects (another releaser was
    first, a new claim filled the lock) are quiet; any other failure is a warning naming what
    `doctor --fix` will repair, never silence.
    """
    phase = os.path.basename(paths.dir)

    def step(what: str, action: Callable[..., object], *args: object) -> bool:
        try:
            action(*args)
        except OSError as exc:
            if exc.errno not in _RACES:
                sprint.warn(
                    f"{what} of {phase!r} was not tidied ({exc.strerror or exc}); "
                    "`conductor doctor --fix` repairs it"
                )
            return False
        return True

    aside = paths.gc(fs.token_hex(6))
    if step("the lock mirror", fs.rename, paths.meta, aside):
        moved_token = None
        with contextlib.suppress(OSError, MalformedJSON, ValueError):
            moved_token = LockMeta.model_validate(read_json(aside)).token
        if token is not None and moved_token not in (token, None):
            # A new claim was published after our release began: give its mirror back.
            step("the new claim's mirror", fs.link, aside, paths.meta)
        step("a moved-aside mirror", fs.unlink, aside)
    elif os.path.lexists(paths.meta):
        return  # the disk refused: leave the rest as it is, for doctor
    sprint.store.crash("release.mirror")
    step("the lock directory", fs.rmdir, paths.lock)  # only if empty: a new claim keeps it
    if not os.path.lexists(paths.lock):
        step("the lock.d sentinel", fs.rmdir, paths.sentinel)
        if os.path.lexists(paths.lock):  # a claim was published meanwhile: it keeps its sentinel
            step("the new claim's sentinel", ensure_sentinel, paths)
    step("syncing the phase directory", fs.fsync_dir, paths.dir)


# What a release expects from others acting at the same time: quiet, not a warning.
_RACES = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ENOTEMPTY, errno.EEXIST})


def ensure_sentinel(paths: PhasePaths) -> bool:
    """The empty lock.d that makes upstream's `mkdir lock.d` fail while we hold the phase; True
    when this call made it."""
    return fs.ensure_dir(paths.sentinel)


def write_end(dest: str, how: str, by: str, now: float, reason: str) -> None:
    """history/<entry>/end.json: how, by whom and why a claim ended."""
    end = EndRecord(how=how, by=by, at=iso(now), reason=reason[:2000])  # type: ignore[arg-type]
    fs.atomic_write(os.path.join(dest, "end.json"), dumps(end.model_dump()))


def _quietly(action: Callable[..., object], *args: str) -> None:
    """A tidying step whose target another process may already have removed."""
    with contextlib.suppress(OSError):
        action(*args)
