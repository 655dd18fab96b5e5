"""The decision: does this tool call write into the tree, and may this agent do that now?

An agent that holds only read phases (live claims: held, suspect or contested) may not write
into the tree; holding a write or exclusive phase, or nothing, allows everything. The tree is the
sprint's project, less its store; where a write lands is where.py's business, and what a shell
command writes is classify.py's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.vocab import LIVE, Concurrency
from ..text import safe
from .classify import Classifier
from .payload import HookCall, command_of, is_shell_tool, is_writer_tool, tool_targets
from .where import Scope

if TYPE_CHECKING:
    from ..core.models import SprintView


@dataclass(frozen=True)
class Decision:
    """The guard's verdict: allow or block, and a one-line reason."""

    allow: bool
    reason: str


def _scope(project: str | None, allow_under: Sequence[str], env: Mapping[str, str]) -> Scope:
    return Scope.of(project, allow_under, home=env.get("HOME"))


def is_mutating_command(
    cmd: str,
    *,
    cwd: str | None = None,
    project: str | None = None,
    allow_under: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> str | None:
    """A short reason when a shell command writes into the tree, else None. Never raises for
    any text: what it cannot read counts as a write.

    The tree is `project` (None: everywhere) less the stores in `allow_under`; relative paths
    start from `cwd` (None: they count as inside).
    """
    if not isinstance(cmd, str) or not cmd.strip():
        return None
    env = os.environ if env is None else env
    return Classifier(_scope(project, allow_under, env), cwd, env).command_line(cmd)


def mutation(
    call: HookCall,
    *,
    project: str | None = None,
    allow_under: Sequence[str] = (),
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """What this call would change in the tree, in words ("Write to src/app.py"), or None.

    Relative paths start from the payload's cwd, else from `cwd`.
    """
    if call.problem:
        return None
    env = os.environ if env is None else env
    where = call.cwd or cwd
    tool = safe(call.tool, 60)
    if is_writer_tool(call):
        targets = tool_targets(call)
        if not targets:
            return f"{tool} (no file named)"
        scope = _scope(project, allow_under, env)
        inside = [shown for t in targets if (shown := scope.lands(t, where)) is not None]
        if not inside:
            return None
        more = f" (+{len(inside) - 1} more)" if len(inside) > 1 else ""
        return f"{tool} to {inside[0]}{more}"
    if is_shell_tool(call):
        cmd = command_of(call.tool_input)
        if cmd is None:
            return f"{tool} without a readable command"
        reason = is_mutating_command(
            cmd, cwd=where, project=project, allow_under=allow_under, env=env
        )
        if reason:
            return f"{tool} `{safe(' '.join(cmd[:4096].split()), 60)}` ({reason})"
    return None


def needs_claims(
    call: HookCall,
    *,
    project: str | None = None,
    allow_under: Sequence[str] = (),
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> bool:
    """Whether the decision depends on the agent's claims (False: allow without the store)."""
    if call.problem:
        return True
    if call.event is not None and call.event != "PreToolUse":
        return False
    found = mutation(call, project=project, allow_under=allow_under, cwd=cwd, env=env)
    return found is not None


def held_phases(
    view: SprintView, classes: Mapping[str, Concurrency], agent: str
) -> list[tuple[str, Concurrency]]:
    """The agent's live claims in a sprint view, each with its concurrency class."""
    out: list[tuple[str, Concurrency]] = []
    for pv in view.phases:
        lock = pv.lock
        if lock is None or lock.agent != agent or pv.status not in LIVE:
            continue
        out.append((pv.name, classes.get(pv.name, pv.concurrency)))
    return out


def decide(
    call: HookCall,
    held: Sequence[tuple[str, Concurrency]],
    *,
    agent: str | None = None,
    project: str | None = None,
    allow_under: Sequence[str] = (),
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Decision:
    """Allow unless the agent holds only read phases and the call would write into the tree."""
    who = safe(agent, 60) if agent else "this agent"
    if not held:
        return Decision(True, f"{who} holds no phase")
    if any(cls in ("write", "exclusive") for _, cls in held):
        return Decision(True, f"{who} holds a write or exclusive phase")
    names = ", ".join(safe(name, 40) for name, _ in held)
    head = f"conductor guard: {who} holds only read phases ({names})"
    if call.problem:
        return Decision(
            False,
            f"{head}; the hook payload is unreadable ({safe(call.problem, 80)}), so the "
            f"call is blocked — check the hook wiring, or complete or abort {names} first",
        )
    if call.event is not None and call.event != "PreToolUse":
        return Decision(True, f"{call.event} cannot be blocked")
    what = mutation(call, project=project, allow_under=allow_under, cwd=cwd, env=env)
    if what is None:
        return Decision(True, f"{who} holds only read phases and the call writes nothing")
    return Decision(
        False,
        f"{head}; {what} is blocked — complete or abort {names} first, or claim a write phase",
    )
