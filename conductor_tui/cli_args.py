"""The argument parser of `conductor`.

Building argparse's parser of every subcommand cost each command 10 ms, and importing argparse
with its gettext another 3: `build_parser(only)` builds one subcommand, and the hot commands'
usual argument lists never reach it (cli_fast.py reads them without argparse).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .core.limits import DEFAULT_TTL_S, MAX_TTL_S


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= MAX_TTL_S:
        raise argparse.ArgumentTypeError(f"must be between 0 and {int(MAX_TTL_S)} seconds")
    return value


def _columns(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized without importing shutil: argparse makes one for every
    add_argument, so its `import shutil` alone cost each command 2 ms."""

    def __init__(self, prog: str, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("width") is None and len(args) < 3:
            kwargs["width"] = _terminal_columns() - 2
        super().__init__(prog, *args, **kwargs)


def _terminal_columns() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with `ERROR: ...` (our usage convention) instead of its banner."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"ERROR: {message}", file=sys.stderr)
        raise SystemExit(2)


def _claim_or_heartbeat(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("phase")
    p.add_argument(
        "--ttl",
        type=_positive,
        default=DEFAULT_TTL_S if name == "claim" else None,
        help=f"lease in seconds (default {int(DEFAULT_TTL_S)})",
    )
    if name == "claim":
        p.add_argument(
            "--pid", type=int, help="holder process (default: nearest non-shell ancestor)"
        )
    else:
        p.add_argument("--token", help="your claim's token")


def _start_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--phases", help="phase graph: inline JSON array or a JSON file")
    p.add_argument(
        "--force", action="store_true", help="start even if the old sprint has live locks"
    )


def _complete_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("phase")
    p.add_argument("--artifact", help="JSON artifact (inside the project or the store)")
    p.add_argument("--token", help="your claim's token")
    p.add_argument("--force", action="store_true", help="complete someone else's claim")
    p.add_argument(
        "--allow-no-checkpoint",
        action="store_true",
        help="accept an artifact without a context_checkpoint (upstream style)",
    )


def _abort_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("phase")
    p.add_argument("--token", help="your claim's token")
    p.add_argument("--force", action="store_true", help="abort someone else's claim")


def _reclaim_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("phase")
    p.add_argument("--force", action="store_true", help="free a lock that is not stale")


def _graph_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--width",
        type=_columns,
        help="warn on stderr when the drawing is wider than N columns (default: the terminal)",
    )


def _phase_only(p: argparse.ArgumentParser) -> None:
    p.add_argument("phase")


def _batch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--skills", action="append", help="a skill root to search for SKILL.md")


def _log_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", type=int, default=20, help="how many (default 20)")
    p.add_argument("--all", action="store_true", help="every sprint's events")


def _clean_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", help="every project's, not only this one's")


def _doctor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fix", action="store_true", help="repair what is safe to repair")


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("phase")
    p.add_argument("--artifact", help="artifact to complete with when CMD succeeds")
    p.add_argument("--ttl", type=_positive, default=300.0, help="lease in seconds (default 300)")
    p.add_argument("--every", type=_positive, help="heartbeat period (default ttl/3)")
    p.add_argument(
        "--allow-no-checkpoint",
        action="store_true",
        help="accept an artifact without a context_checkpoint",
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run a read phase's command without the kernel sandbox it gets by default "
        "(docs/SANDBOX.md); written to the audit log",
    )
    _sandbox_options(p)


def _artifact_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["new"])
    p.add_argument("phase")
    p.add_argument("--out", help="where to write it (default <store>/<phase>/<stamp>.json)")


def _no_options(p: argparse.ArgumentParser) -> None:
    pass


def _sandbox_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow",
        action="append",
        metavar="PATH",
        help="also let the command write beneath PATH (never the project or above it)",
    )
    p.add_argument(
        "--allow-unsandboxed",
        action="store_true",
        help="where the kernel has no Landlock, warn and run the command without the sandbox",
    )


# Every subcommand: its help line, its options and (for run and sandbox) its usage line, in the
# order `conductor --help` lists them.
SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], str | None]] = {
    "start": ("start a sprint (archives the project's active one)", _start_options, None),
    "claim": ("claim a phase", lambda p: _claim_or_heartbeat(p, "claim"), None),
    "heartbeat": (
        "extend your claim's lease",
        lambda p: _claim_or_heartbeat(p, "heartbeat"),
        None,
    ),
    "complete": ("complete your claim", _complete_options, None),
    "abort": ("give up your claim", _abort_options, None),
    "reclaim": ("free a stale lock", _reclaim_options, None),
    "unstuck": ("free a stale lock (alias of reclaim)", _reclaim_options, None),
    "status": ("every phase's state", _no_options, None),
    "graph": ("the phase graph drawn as text, dependencies as arrows", _graph_options, None),
    "next": ("the phases claimable now", _no_options, None),
    "why": ("why a phase cannot be claimed now", _phase_only, None),
    "batch": ("the batch plan (parallel lanes)", _batch_options, None),
    "log": ("recent audit events", _log_options, None),
    "clean": ("delete archived sprints older than 7 days", _clean_options, None),
    "doctor": ("find crash leftovers and malformed records", _doctor_options, None),
    "run": (
        "claim PHASE, run CMD with the lease kept alive, complete on exit 0",
        _run_options,
        "conductor run PHASE [--artifact F] [--ttl S] [--every S] [--no-sandbox] -- CMD [ARGS...]",
    ),
    "artifact": (
        "write a template artifact to fill in: artifact new PHASE",
        _artifact_options,
        None,
    ),
    "verify": ("report artifacts that changed after completion", _no_options, None),
    "context": ("the sprint on one page: checkpoints, in progress, next", _no_options, None),
    "resume": ("what you were doing: the phase you hold, or the next to claim", _no_options, None),
    "guard": (
        "pre-tool hook: block writes while you hold only read phases (docs/GUARD.md)",
        _no_options,
        None,
    ),
    "sandbox": (
        "run CMD unable to write the project (Linux Landlock; docs/SANDBOX.md)",
        _sandbox_options,
        "conductor sandbox [--project DIR] [--allow PATH]... [--allow-unsandboxed] "
        "-- CMD [ARGS...]",
    ),
}

_GLOBAL_WITH_VALUE = ("--store", "--project", "--sprint", "--agent")

# Commands that speak another tool's language: everything after their name is theirs, untouched
# by our parser (upstream's sprint.sh reads `claim PHASE --agent NAME` by position).
PASS_THROUGH = {
    "sprint-sh": "nanostack's conductor/bin/sprint.sh over our store: sprint-sh COMMAND [ARGS...]",
    "nanostack": "put ours behind a nanostack checkout's sprint.sh: nanostack install|uninstall",
    "skill": "install the /conductor skill into agent hosts: skill install|uninstall [--for HOST]",
    "hooks": "install the hooks that guard, renew leases and prime agents: hooks install|uninstall",
    "prime": "what an agent starting a session should know: its claim, checkpoints, what is next",
    "watch": "follow the sprint without a screen: events, --on-stale CMD, --on-ready CMD, --json",
    "db": "a PostgreSQL store: db migrate, db import (a file-store sprint in), db export (out)",
}


def command_position(argv: Sequence[str]) -> int | None:
    """Where the subcommand's name is in argv, after any global options (and their values);
    None when an option that is not global comes first, or there is no command."""
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg in _GLOBAL_WITH_VALUE:
            skip = True
        elif arg == "--json" or arg.startswith(tuple(f"{o}=" for o in _GLOBAL_WITH_VALUE)):
            continue
        elif arg.startswith("-"):
            return None
        else:
            return i
    return None


def command_of(argv: Sequence[str]) -> str | None:
    """The subcommand argv names, when it can be told without a parser (global options first,
    then a known command); None for anything else (--help, --version, a typo), which the whole
    parser then handles."""
    at = command_position(argv)
    return argv[at] if at is not None and argv[at] in SUBCOMMANDS else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The `conductor` argument parser: every subcommand, or with only, just that one (building
    all of them cost each command 10 ms; `--help` and errors get the whole parser)."""
    common = _Parser(add_help=False)  # a parent of every subparser, so of their class too
    s = argparse.SUPPRESS
    common.add_argument("--store", default=s, help="store directory (else $NANOSTACK_STORE, ...)")
    common.add_argument("--project", default=s, help="project directory (default: current)")
    common.add_argument("--sprint", default=s, help="sprint id (default: the project's active)")
    common.add_argument("--json", action="store_true", default=s, help="one JSON object out")
    common.add_argument("--agent", default=s, help="agent name (default: detected)")

    parser = _Parser(
        prog="conductor",
        description="Coordinate AI coding agents on one repository through a sprint of phases.",
        epilog="Exit codes: 0 done, 1 refused (held, blocked, done, fenced, not the owner, "
        "not stale), 2 bad input or usage.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version="conductor-tui 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (help_text, options, usage) in SUBCOMMANDS.items():
        if only is not None and name != only:
            continue
        p = sub.add_parser(
            name, help=help_text, description=help_text, parents=[common], usage=usage
        )
        options(p)
    if only is None:  # listed in --help; main() hands them their arguments before parsing
        for name, help_text in PASS_THROUGH.items():
            sub.add_parser(name, help=help_text, add_help=False).add_argument(
                "args", nargs=argparse.REMAINDER
            )
    return parser
