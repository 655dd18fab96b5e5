"""Every name inside a sprint directory, in one place: records, staging prefixes, history names.

A phase directory holds:
  lock/                    the claim: lock/<token>/owner.json (ours) and lock/meta.json (mirror)
  lock.d/                  our sentinel beside a claim of ours; upstream's claim in the making
  done                     the completion record
  artifact.json            a symlink to the artifact (upstream's convenience; never followed)
  history/<token>@<how>-<nonce>/   an ended claim, with end.json
  .claim-<token>.<pid>/    a claim being staged (published by renaming it onto lock)
  .done-<token>-<nonce>    a completion's record, staged before its commit
Temporary files are `.<name>.tmp-<hex>` beside their target, or `.w-<hex>` inside a claim's token
directory (so that a claim ended meanwhile fences the write).
"""

from __future__ import annotations

import os
from functools import cached_property

from .lean import Lean
from .paths import TOKEN_RE

SPRINT_JSON = "sprint.json"
LOCK = "lock"
META = "meta.json"
OWNER = "owner.json"
SENTINEL = "lock.d"
DONE = "done"
ARTIFACT_LINK = "artifact.json"
HISTORY = "history"
END = "end.json"

# Staging prefixes: nothing a reader sees changes until an entry with one of them is renamed.
CLAIM_STAGE = ".claim-"  # a claim being built, in the phase directory
DONE_STAGE = ".done-"  # a completion's record, before its commit
GC_STAGE = ".gc-"  # a lock mirror moved aside to be removed, in history/
START_STAGE = ".start-"  # a sprint being built, in the conductor directory
TRASH_STAGE = ".trash-"  # a sprint being deleted by `clean`, or a start rolled back
WRITE_STAGE = ".w-"  # a temporary file staged inside a token directory
TMP_MARK = ".tmp-"  # a temporary file beside its target: .<name>.tmp-<hex>
STAGING_PREFIXES = (CLAIM_STAGE, DONE_STAGE, GC_STAGE, START_STAGE, TRASH_STAGE, WRITE_STAGE)


def is_staging(name: str) -> bool:
    """True for a private name that no reader acts on until it is renamed."""
    return name.startswith(STAGING_PREFIXES) or TMP_MARK in name


def tmp_name(final: str, suffix: str) -> str:
    """The temporary name beside final (same directory, so that rename is atomic)."""
    head, tail = os.path.split(final)
    return os.path.join(head, f".{tail}{TMP_MARK}{suffix}")


def history_name(token: str, how: str, nonce: str) -> str:
    """The name an ended claim takes in history/: it records how it ended."""
    return f"{token}@{how}-{nonce}"


def parse_history(name: str) -> tuple[str, str, str] | None:
    """(token, how, nonce) of a history entry name, or None."""
    token, sep, rest = name.partition("@")
    if not sep or not TOKEN_RE.fullmatch(token):
        return None
    how, _, nonce = rest.partition("-")
    return token, how, nonce


def epoch_of(token: str) -> int:
    """The epoch a token was issued for (its leading number)."""
    return int(token.split("-", 1)[0])


def parse_staged_done(name: str) -> tuple[str, str] | None:
    """(token, nonce) of a staged done record's name, or None."""
    if not name.startswith(DONE_STAGE):
        return None
    token, _, nonce = name[len(DONE_STAGE) :].rpartition("-")
    return (token, nonce) if token and nonce else None


def parse_claim_stage(name: str) -> tuple[str, int | None] | None:
    """(token, stager pid) of a staged claim's name, or None."""
    if not name.startswith(CLAIM_STAGE):
        return None
    token, _, pid = name[len(CLAIM_STAGE) :].partition(".")
    return token, (int(pid) if pid.isdigit() else None)


class PhasePaths(Lean, frozen=True, kw_only=False):
    """The paths of one phase directory: the only place that joins names under it (each
    joined once: a status of 1,000 phases asks for them thousands of times)."""

    dir: str

    @cached_property
    def lock(self) -> str:
        """The claim: a directory (ours and upstream's) or upstream's older plain file."""
        return os.path.join(self.dir, LOCK)

    @cached_property
    def meta(self) -> str:
        """lock/meta.json, upstream's record and our mirror."""
        return os.path.join(self.dir, LOCK, META)

    @cached_property
    def sentinel(self) -> str:
        """lock.d: our sentinel while we hold the phase, upstream's claim while it makes one."""
        return os.path.join(self.dir, SENTINEL)

    @cached_property
    def done(self) -> str:
        """The completion record."""
        return os.path.join(self.dir, DONE)

    @cached_property
    def artifact_link(self) -> str:
        """The artifact.json symlink."""
        return os.path.join(self.dir, ARTIFACT_LINK)

    @cached_property
    def history(self) -> str:
        """Where ended claims go."""
        return os.path.join(self.dir, HISTORY)

    def token_dir(self, token: str) -> str:
        """lock/<token>: renaming it away ends the claim."""
        return os.path.join(self.dir, LOCK, token)

    def owner(self, token: str) -> str:
        """lock/<token>/owner.json, the authoritative claim record."""
        return os.path.join(self.dir, LOCK, token, OWNER)

    def ended(self, entry: str) -> str:
        """history/<entry>."""
        return os.path.join(self.dir, HISTORY, entry)

    def ended_as(self, token: str, how: str, nonce: str) -> str:
        """history/<token>@<how>-<nonce>."""
        return self.ended(history_name(token, how, nonce))

    def staged_done(self, token: str, nonce: str) -> str:
        """.done-<token>-<nonce>, a completion's record before its commit."""
        return os.path.join(self.dir, f"{DONE_STAGE}{token}-{nonce}")

    def claim_stage(self, token: str, pid: int) -> str:
        """.claim-<token>.<pid>: the pid tells doctor a leftover from a claim in flight."""
        return os.path.join(self.dir, f"{CLAIM_STAGE}{token}.{pid}")

    def gc(self, suffix: str) -> str:
        """history/.gc-<suffix>.json, a lock mirror moved aside before it is removed."""
        return os.path.join(self.dir, HISTORY, f"{GC_STAGE}{suffix}.json")

    def entry(self, name: str) -> str:
        """Any entry of the phase directory by name (for doctor's sweep)."""
        return os.path.join(self.dir, name)
