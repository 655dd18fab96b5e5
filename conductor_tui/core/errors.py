"""Errors the store raises; each carries the first word of the human reply and an exit code."""

from __future__ import annotations

# Exit codes, documented in the README; scripts rely on them.
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


class ConductorError(Exception):
    """Base of every error the core reports to a user: a word, a message and an exit code."""

    word = "ERROR"
    exit_code = EXIT_BAD_INPUT
    kind = "error"

    def __init__(self, message: str, *, word: str | None = None, kind: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if word is not None:
            self.word = word
        if kind is not None:
            self.kind = kind

    def __str__(self) -> str:
        return f"{self.word}: {self.message}"


class BadInput(ConductorError):
    """The request itself is wrong: a bad name, a missing store, a corrupt file, a usage error."""


class Refused(ConductorError):
    """The request is well-formed but the store's state forbids it now (exit 1)."""

    word = "REFUSED"
    exit_code = EXIT_REFUSED
    kind = "refused"


class Held(Refused):
    """The phase is held by someone else."""

    word = "CLAIMED"
    kind = "held"


class Blocked(Refused):
    """A dependency of the phase is not done yet."""

    word = "BLOCKED"
    kind = "blocked"


class AlreadyDone(Refused):
    """The phase is complete; done is terminal."""

    word = "DONE"
    kind = "done"


class Fenced(Refused):
    """The caller's token no longer holds the phase: someone else ended it first."""

    kind = "fenced"


class NotOwner(Refused):
    """The caller is not the current holder of the phase."""

    kind = "not_owner"


class NotStale(Refused):
    """A reclaim was asked of a lock that is not stale."""

    kind = "not_stale"


class DiskError(ConductorError):
    """The disk refused a write: permissions, a full disk, a read-only file system (exit 2)."""

    kind = "disk"


class Committed(ConductorError):
    """A transition committed, but a step after its commit failed: it must not be retried, and
    `conductor doctor --fix` finishes what is left (exit 2)."""

    kind = "committed"
