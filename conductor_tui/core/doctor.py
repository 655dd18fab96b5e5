"""`conductor doctor`: a table of checks, each naming what a crash left behind and its repair.

The rule every repair keeps (invariant 10): nothing that belongs to a live token or to a committed
end is ever removed. A staged done record is published when its end is committed, left alone while
its claim is live, and removed only once its claim has ended some other way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from . import fs
from .ending import finish_release, publish_done
from .errors import ConductorError
from .jsonio import dumps
from .layout import (
    GC_STAGE,
    START_STAGE,
    TMP_MARK,
    TRASH_STAGE,
    WRITE_STAGE,
    PhasePaths,
    parse_claim_stage,
    parse_history,
    parse_staged_done,
)
from .models import mirror_of
from .reading import PhaseReading, read_done, read_phase

if TYPE_CHECKING:
    from .store import Sprint


@dataclass
class Finding:
    """One thing `doctor` found, and what it did about it."""

    phase: str
    problem: str
    action: str
    fixed: bool = False
    repair: Callable[[], object] | None = field(default=None, repr=False, compare=False)

    def as_json(self) -> dict[str, object]:
        """The finding as `doctor --json` reports it."""
        return {
            "phase": self.phase,
            "problem": self.problem,
            "action": self.action,
            "fixed": self.fixed,
        }


@dataclass
class Scan:
    """What every check of one phase looks at: its reading, taken once."""

    sprint: Sprint
    name: str
    paths: PhasePaths
    reading: PhaseReading
    now: float
    grace_s: float

    def older(self, path: str) -> bool:
        """Whether path was last changed more than the grace ago (its writer is not at work)."""
        try:
            return self.now - os.lstat(path).st_mtime > self.grace_s
        except OSError:
            return False


Check = Callable[[Scan], Iterator[Finding]]


def _phase_dir(s: Scan) -> Iterator[Finding]:
    if s.reading.dir_problem == "the phase directory is missing":
        yield Finding(
            s.name,
            "phase directory is missing",
            "recreate it",
            repair=lambda: fs.mkdir(s.paths.dir),
        )
    elif s.reading.dir_problem:
        yield Finding(s.name, s.reading.dir_problem, "left as is: a person must look")


def _interrupted_release(s: Scan) -> Iterator[Finding]:
    ls = s.reading.lock
    if ls.form == "ending" and ls.token:
        token = ls.token
        yield Finding(
            s.name,
            "a release was interrupted",
            "finish the release",
            repair=lambda: finish_release(s.sprint, s.paths, token),
        )


def _empty_lock(s: Scan) -> Iterator[Finding]:
    if s.reading.lock.form == "empty":
        yield Finding(
            s.name, "an empty lock directory", "remove it", repair=lambda: fs.rmdir(s.paths.lock)
        )


def _our_claim(s: Scan) -> Iterator[Finding]:
    ls = s.reading.lock
    if not (ls.form == "fenced" and ls.token and ls.owner is not None):
        return
    token, owner = ls.token, ls.owner
    tokdir = s.paths.token_dir(token)
    if ls.meta is None or ls.meta.token != token:
        # staged in the token directory: if the claim ends meanwhile, nothing is written
        yield Finding(
            s.name,
            "the lock's meta.json mirror is missing or stale",
            "rewrite it",
            repair=lambda: fs.atomic_write(s.paths.meta, dumps(mirror_of(owner)), tmp_dir=tokdir),
        )
    if ls.problem:
        yield Finding(
            s.name,
            ls.problem,
            "rewrite it from the meta.json mirror",
            repair=lambda: fs.atomic_write(
                s.paths.owner(token), dumps(owner.model_dump()), tmp_dir=tokdir
            ),
        )
    if s.reading.done.exists:
        yield Finding(s.name, "a live claim beside a done record", "left as is: reclaim it")


def _malformed_lock(s: Scan) -> Iterator[Finding]:
    ls = s.reading.lock
    if ls.form == "malformed":
        yield Finding(
            s.name, ls.problem or "malformed lock", "left as is: `reclaim --force` clears it"
        )
    if ls.double_grant:
        yield Finding(
            s.name,
            "nested lock.d: upstream granted the phase twice",
            "left as is: `reclaim --force` clears it",
        )


def _done_record(s: Scan) -> Iterator[Finding]:
    if s.reading.done.problem:
        yield Finding(s.name, s.reading.done.problem, "left as is: inspect and remove it by hand")


def _sentinel(s: Scan) -> Iterator[Finding]:
    sentinel = s.paths.sentinel
    # re-checked now: a repair above may just have removed the lock
    if os.path.lexists(s.paths.lock) or not os.path.isdir(sentinel):
        return
    try:
        entries = os.listdir(sentinel)
    except OSError:
        entries = []
    if not entries:
        yield Finding(
            s.name,
            "an orphan lock.d sentinel (upstream agents are refused the phase)",
            "remove it",
            repair=lambda: fs.rmdir(sentinel),
        )
    elif s.older(sentinel):
        crashed = s.paths.ended_as(f"0-{secrets.token_hex(8)}", "crashed", secrets.token_hex(4))

        def move() -> None:
            fs.ensure_dir(s.paths.history)
            fs.rename(sentinel, crashed)

        yield Finding(
            s.name, "an upstream claim crashed inside lock.d", "move it to history", repair=move
        )


def _staged(s: Scan) -> Iterator[Finding]:
    """Claims and completions staged but never published."""
    history = _list(s.paths.history)
    live = s.reading.lock.token if s.reading.lock.form in ("fenced", "malformed") else None
    for entry in _list(s.paths.dir):
        path = s.paths.entry(entry)
        claim = parse_claim_stage(entry)
        done = parse_staged_done(entry)
        if claim is not None:
            token, pid = claim
            gone = pid is not None and s.sprint.store.probe(pid) is None
            if gone or s.older(path):
                yield Finding(
                    s.name,
                    f"an unpublished claim {entry}",
                    "remove it",
                    repair=partial(discard_private, path, token),
                )
        elif done is not None:
            token, nonce = done
            committed = any(
                (p := parse_history(h)) is not None and p[1] == "done" and p[2] == nonce
                for h in history
            )
            if committed:
                published = read_done(s.paths.done)
                if published.record is not None and published.record.token in (token, None):
                    yield Finding(
                        s.name,
                        f"the stage of a published completion {entry}",
                        "remove it",
                        repair=partial(fs.unlink, path),
                    )
                else:
                    stage_token = None if token == "upstream" else token
                    yield Finding(
                        s.name,
                        "a committed completion was not published",
                        "publish it",
                        repair=partial(publish_done, s.paths, path, stage_token),
                    )
            elif token == live or os.path.isdir(s.paths.token_dir(token)):
                if s.older(path):  # its completer may be stopped: never take its record away
                    yield Finding(
                        s.name,
                        f"a completion staged {entry} while its claim is still live",
                        "left as is: its completer may resume; abort or reclaim the claim",
                    )
            elif s.older(path) or any(h.startswith(token + "@") for h in history):
                yield Finding(
                    s.name,
                    f"an abandoned staged record {entry} (its claim ended without it)",
                    "remove it",
                    repair=partial(fs.unlink, path),
                )
        elif TMP_MARK in entry and s.older(path):
            yield _temporary(s.name, entry, path)


def _temporary(phase: str, shown: str, path: str) -> Finding:
    """A temporary file a failed or interrupted write left behind: remove it."""
    return Finding(phase, f"a temporary file {shown}", "remove it", repair=partial(fs.unlink, path))


def _debris(s: Scan) -> Iterator[Finding]:
    """Temporary files a failed write left inside history entries and the token directory."""
    for entry in _list(s.paths.history):
        path = s.paths.ended(entry)
        if entry.startswith(GC_STAGE) and s.older(path):
            yield _temporary(s.name, f"history/{entry}", path)
            continue
        for inner in _list(path) if os.path.isdir(path) else []:
            if TMP_MARK in inner and s.older(os.path.join(path, inner)):
                yield _temporary(s.name, f"history/{entry}/{inner}", os.path.join(path, inner))
    token = s.reading.lock.token
    if token:
        tokdir = s.paths.token_dir(token)
        for inner in _list(tokdir):
            p = os.path.join(tokdir, inner)
            if inner.startswith(WRITE_STAGE) and s.older(p):
                yield _temporary(s.name, f"lock/{token}/{inner}", p)


def _artifact_link(s: Scan) -> Iterator[Finding]:
    done = s.reading.done.record
    link = s.paths.artifact_link
    if done is not None and done.artifact and not os.path.lexists(link):
        yield Finding(
            s.name,
            "the artifact.json link is missing",
            "recreate it",
            repair=lambda: fs.replace_symlink(link, done.artifact),
        )


# The checks, in the order their repairs must run (a finished release can free an orphan sentinel).
CHECKS: tuple[Check, ...] = (
    _phase_dir,
    _done_record,
    _interrupted_release,
    _empty_lock,
    _our_claim,
    _malformed_lock,
    _sentinel,
    _staged,
    _debris,
    _artifact_link,
)


def _sprint_debris(sprint: Sprint, now: float, grace_s: float) -> Iterator[Finding]:
    """Leftovers outside the phases: a sprint.json temp file, a start or clean that died."""

    def older(path: str) -> bool:
        try:
            return now - os.lstat(path).st_mtime > grace_s
        except OSError:
            return False

    for entry in _list(sprint.path):
        path = os.path.join(sprint.path, entry)
        if TMP_MARK in entry and older(path):
            yield _temporary("", entry, path)
    conductor = os.path.dirname(sprint.path)
    for entry in _list(conductor):
        path = os.path.join(conductor, entry)
        if entry.startswith((START_STAGE, TRASH_STAGE)) and older(path):
            yield Finding(
                "",
                f"an unfinished start or clean {entry}",
                "remove it",
                repair=partial(shutil.rmtree, path),
            )


def run(sprint: Sprint, *, fix: bool, grace_s: float) -> list[Finding]:
    """Every check on every phase; with fix, each repair runs as soon as it is found."""
    found: list[Finding] = []
    now = sprint.store.clock()

    def take(finding: Finding) -> None:
        found.append(finding)
        if fix and finding.repair is not None:
            try:
                finding.repair()
            except OSError as exc:
                finding.action += f" (failed: {exc.strerror or exc})"
            except ConductorError as exc:  # e.g. a committed completion beside another's done
                finding.action += f" (refused: {exc.message})"
            else:
                finding.fixed = True

    for name in sprint.defs:
        paths = sprint.paths(name)
        scan = Scan(sprint, name, paths, read_phase(name, paths, now), now, grace_s)
        for check in CHECKS:
            for finding in check(scan):
                take(finding)
            if scan.reading.dir_problem:
                break  # nothing else in a phase directory that is not there
    for finding in _sprint_debris(sprint, now, grace_s):
        take(finding)
    fixed = sum(f.fixed for f in found)
    if fixed:
        sprint.store.log("doctor", "", "doctor", sprint=sprint.sprint_id, detail=f"{fixed} fixed")
    return found


def discard_private(private: str, token: str) -> None:
    """Remove a staged claim directory that was never published (or was rolled back)."""
    for rel in (os.path.join(token, "owner.json"), "meta.json"):
        with contextlib.suppress(OSError):
            fs.unlink(os.path.join(private, rel))
    for rel in (token, ""):
        with contextlib.suppress(OSError):
            fs.rmdir(os.path.join(private, rel) if rel else private)


def _list(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []
