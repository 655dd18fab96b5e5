"""What the classifier passes around: one command about to run, and the verdict that it writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .lexer import Word

# The real working directories a command may run in; None: unknown (relative paths are inside).
Cwds = frozenset[str] | None
# A command's effect on the shell's directory: where it is after success, after failure.
Result = tuple[Cwds, Cwds] | None


class Mutation(Exception):
    """The command writes into the tree; `reason` says how, in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Stdin:
    """Where a command's standard input comes from, when it may be read as a program."""

    kind: Literal["text", "file", "unknown"]
    text: str = ""  # the program, for kind "text"
    what: str = ""  # for kind "unknown": a pipe, a process substitution...


@dataclass(frozen=True)
class Call:
    """One simple command about to run, and what the guard knows of its circumstances."""

    words: list[Word]
    cwds: Cwds
    depth: int
    stdin: Stdin | None = None
    env: dict[str, Word] = field(default_factory=dict)  # assignments given to this command
    rooted: bool = False  # it sees another root or machine: no path it names can be placed
    name: str = ""  # the command's name as the tables know it

    @property
    def args(self) -> list[Word]:
        """The arguments after the command's name."""
        return self.words[1:]

    def then(
        self,
        words: list[Word],
        *,
        cwds: Cwds | Literal[False] = False,
        stdin: Stdin | Literal[False] | None = False,
        env: dict[str, Word] | None = None,
        rooted: bool | None = None,
    ) -> Call:
        """The command a wrapper runs: one level deeper, the rest the same unless changed."""
        return Call(
            words,
            self.cwds if cwds is False else cwds,
            self.depth + 1,
            self.stdin if stdin is False else stdin,
            self.env if env is None else env,
            self.rooted if rooted is None else rooted,
        )
