"""`conductor guard`, the whole hook: payload in, exit code and at most one line out. Fails closed.

    allow                                    -> (0, "")
    block                                    -> (2, "conductor guard: … is blocked — …")
    any internal error (RecursionError, …)   -> (2, "conductor guard: internal error (…); …")
    a store it cannot read, for a write      -> (2, "conductor guard: cannot read the sprint …")

Both Claude Code and Codex treat exit 2 as "block, and show the line to the model", and every
other code as a non-blocking error, that is as "allow": so no failure may exit with anything
but 0 or 2, and every failure after the call is known to write is a block.

The order keeps the common case fast and independent of the store: a call that writes nothing
anywhere is allowed before the store is opened. Otherwise the project is the active sprint's
project as the store records it; the payload's `cwd` is only where the agent's relative paths
start (an agent started in a subdirectory of the project is still in the project).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING

from ..core.errors import ConductorError
from ..text import safe
from .decide import decide, held_phases, mutation, needs_claims
from .payload import MAX_PAYLOAD, HookCall, guard_identity, parse_hook

if TYPE_CHECKING:
    from ..core.store import Sprint

FALLBACK = "conductor guard: internal error; blocking to be safe"


def one_line(text: str) -> str:
    """A message as one printable line (control characters and lone surrogates shown as
    escapes, so that printing it cannot fail), not too long."""
    line = safe(" ".join(text.split()), 2000)
    return line.encode("utf-8", "backslashreplace").decode("utf-8")


def run_hook(
    raw: bytes,
    *,
    store: str | None,
    project: str | None,
    agent: str | None,
    cwd: str,
    env: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """The hook's verdict on a payload: (0, "") to allow, (2, one line) to block.

    store, project and agent are the command line's --store, --project and --agent (None when
    not given); cwd is the hook process's directory. Never raises: any failure blocks.
    """
    try:
        return _run(raw, store=store, project=project, agent=agent, cwd=cwd, env=env)
    except BaseException as exc:  # a guard fails closed, whatever went wrong
        return 2, _internal(exc)


def _internal(exc: BaseException) -> str:
    try:
        detail = "nesting too deep for Python" if isinstance(exc, RecursionError) else str(exc)
        return one_line(
            f"conductor guard: internal error ({type(exc).__name__}: {safe(detail, 120)}); "
            "blocking to be safe — the call could not be checked; if this repeats, report it, "
            "and a person can complete or abort the read phases from a terminal"
        )
    except BaseException:
        return FALLBACK


def _run(
    raw: bytes,
    *,
    store: str | None,
    project: str | None,
    agent: str | None,
    cwd: str,
    env: Mapping[str, str] | None,
) -> tuple[int, str]:
    env = os.environ if env is None else env
    call = parse_hook(raw)
    if not needs_claims(call, cwd=cwd, env=env):
        return 0, ""  # writes nothing anywhere (or cannot be blocked): no store needed
    what = mutation(call, cwd=cwd, env=env) or "an unreadable tool call"
    try:
        from ..core.paths import check_agent

        name = check_agent(agent) if agent is not None else guard_identity(call, env=env).agent
        found = _sprints(call, store=store, project=project, cwd=cwd, env=env)
        for sprint, root in found:
            view = sprint.view()
            classes, _, _ = sprint.concurrency()
            held = held_phases(view, classes, name)
            decision = decide(
                call, held, agent=name, project=view.project, allow_under=[root], cwd=cwd, env=env
            )
            if not decision.allow:
                return 2, one_line(decision.reason)
    except (ConductorError, OSError, ValueError) as exc:
        message = exc.message if isinstance(exc, ConductorError) else str(exc)
        return 2, one_line(
            f"conductor guard: cannot read the sprint or the agent ({safe(message, 160)}); "
            f"the call would write ({what}), so it is blocked to be safe — "
            "run `conductor doctor`, fix the hook's --agent, or remove the hook"
        )
    return 0, ""


def _sprints(
    call: HookCall, *, store: str | None, project: str | None, cwd: str, env: Mapping[str, str]
) -> list[tuple[Sprint, str]]:
    """The active sprints that may hold this agent's claims, each with its store's root.

    Found from --project, else from the hook's directory and the agent's (a sprint is found
    from any directory below its project). The sprint decides what the project is.
    """
    from ..core.paths import find_store

    bases = [os.path.abspath(project)] if project else [cwd]
    if not project and call.cwd and call.cwd not in bases and os.path.isdir(call.cwd):
        bases.append(call.cwd)
    roots = [(base, find_store(store, base, env)) for base in bases]
    roots = [(base, root) for base, root in roots if os.path.isdir(root)]
    if not roots:
        return []  # no store: nothing is held (and the store's models are never loaded)
    from ..core.store import Store

    found: dict[str, tuple[Sprint, str]] = {}
    for base, root in roots:
        opened = Store(root)
        sprint = opened.find_active(base)
        if sprint is not None:
            found.setdefault(sprint.path, (sprint, opened.root))
    return list(found.values())


def hook_main(
    *,
    store: str | None,
    project: str | None,
    agent: str | None,
    cwd: str,
    stdin: IO[bytes] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Read the payload from standard input, decide, print the one line; return the exit code."""
    try:
        stream = sys.stdin.buffer if stdin is None else stdin
        try:
            raw = stream.read(MAX_PAYLOAD + 1)
        except (OSError, ValueError):
            raw = b""
        code, message = run_hook(raw, store=store, project=project, agent=agent, cwd=cwd)
        if message:
            print(message, file=stderr or sys.stderr, flush=True)
        return code
    except BaseException:  # nothing may escape a guard: not even a broken stderr
        with contextlib.suppress(BaseException):
            print(FALLBACK, file=sys.stderr, flush=True)
        return 2
