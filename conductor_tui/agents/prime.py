"""`conductor prime`: what an agent must know when its session starts, to be put in its context:
the claim it holds (phase, token, lease left, the commands to finish), the context checkpoints of
the completed phases that phase depends on; otherwise what it may claim next.

Also the two session hooks that use it: SessionStart (prime's text as the host wants it, and the
session's agent name handed to its shell) and Stop (a one-line reminder while the agent still
holds a claim, never twice in a row: the host's "stop hook already active" flag is honoured).
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.errors import BadInput
from ..text import safe
from . import common
from . import payload as hookpayload

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..core.models import PhaseView
    from ..core.store import Sprint, Store


@dataclass
class Held:
    """One claim the agent holds."""

    phase: str
    status: str
    token: str | None
    epoch: int | None
    lease_left_s: float | None
    evidence: list[str]

    def commands(self) -> dict[str, str]:
        """The commands to go on with this claim."""
        tok = f" --token {self.token}" if self.token else ""
        return {
            "artifact": f"conductor artifact new {self.phase}",
            "finish": f"conductor complete {self.phase}{tok} --artifact FILE",
            "abort": f"conductor abort {self.phase}{tok}",
            "heartbeat": f"conductor heartbeat {self.phase}{tok}",
        }


@dataclass
class Checkpoint:
    """A completed phase's hand-off note."""

    phase: str
    agent: str
    completed_at: str
    summary: str | None
    key_files: list[str] = field(default_factory=list)
    decisions_made: list[str] = field(default_factory=list)
    open_questions: list[str] = field(default_factory=list)
    problem: str | None = None


@dataclass
class Prime:
    """Everything prime says."""

    agent: str
    sprint_id: str
    project: str
    holding: list[Held]
    checkpoints: list[Checkpoint]
    ready: list[str]
    waiting: list[str]

    @property
    def word(self) -> str:
        return "HOLDING" if self.holding else ("READY" if self.ready else "WAIT")


def held_by(view_phases: list[PhaseView], agent: str) -> list[PhaseView]:
    """The phases whose lock names the agent (live or stale: a stale claim is still its own
    until someone reclaims it)."""
    return [
        pv
        for pv in view_phases
        if pv.lock is not None and pv.lock.agent == agent and pv.status != "done"
    ]


def ancestors(sprint: Sprint, phases: list[str]) -> set[str]:
    """Every phase the given ones depend on, directly or not."""
    deps = {p.name: list(p.depends_on) for p in sprint.record.phases}
    out: set[str] = set()
    todo = [d for p in phases for d in deps.get(p, [])]
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(deps.get(name, []))
    return out


def prime(sprint: Sprint, agent: str) -> Prime:
    """What the agent holds, the checkpoints it needs, and what it may claim."""
    from ..core.handoff import context

    page = context(sprint)
    view = sprint.view()
    mine = held_by(view.phases, agent)
    holding = [
        Held(
            pv.name,
            pv.status,
            pv.lock.token if pv.lock else None,
            pv.lock.epoch if pv.lock else None,
            pv.lock.lease_expires_in if pv.lock else None,
            list(pv.lock.evidence) if pv.lock else [],
        )
        for pv in mine
    ]
    wanted = ancestors(sprint, [h.phase for h in holding]) if holding else set()
    checkpoints = []
    for c in page.completed:
        if c.phase not in wanted:
            continue
        cp = c.checkpoint
        problem = None
        if c.check is None:
            problem = "no artifact"
        elif c.check.problem or c.check.checkpoint_problem:
            problem = c.check.problem or c.check.checkpoint_problem
        checkpoints.append(
            Checkpoint(
                c.phase,
                c.agent,
                c.completed_at,
                cp.summary if cp else None,
                list(cp.key_files) if cp else [],
                list(cp.decisions_made) if cp else [],
                list(cp.open_questions) if cp else [],
                problem,
            )
        )
    waiting = [f"{pv.name} waits for {', '.join(pv.blocked_by)}" for pv in page.blocked]
    return Prime(agent, page.sprint_id, page.project, holding, checkpoints, page.ready, waiting)


def _lease(seconds: float | None) -> str:
    if seconds is None:
        return "no lease (an upstream lock)"
    minutes = abs(seconds) / 60
    span = f"{minutes:.0f} min" if minutes >= 1 else f"{abs(seconds):.0f} s"
    return f"lease {span} left" if seconds >= 0 else f"lease expired {span} ago"


def render(p: Prime) -> str:
    """prime's text, for people and for an agent's context."""
    out = [
        f"conductor: you are {safe(p.agent)} in sprint {safe(p.sprint_id, 80)} ({safe(p.project)})"
    ]
    for h in p.holding:
        cmd = h.commands()
        out.append(
            f"HOLDING: {h.phase} ({h.status}) token {h.token or '-'} epoch {h.epoch or '-'}, "
            f"{_lease(h.lease_left_s)}"
        )
        if h.status == "stale":
            out.append(
                "  ! the claim is stale: anyone may reclaim it; heartbeat it now or abort it"
            )
        out.append(f"  finish:    {cmd['artifact']}  (fill in its context_checkpoint), then")
        out.append(f"             {cmd['finish']}")
        out.append(f"  give up:   {cmd['abort']}")
        out.append(f"  heartbeat: {cmd['heartbeat']}")
    if p.holding:
        if p.checkpoints:
            names = ", ".join(h.phase for h in p.holding)
            out.append(f"Checkpoints of the completed phases {names} depends on:")
        for c in p.checkpoints:
            out.append(f"## {c.phase}  done by {safe(c.agent)} at {safe(c.completed_at, 40)}")
            if c.summary is None:
                out.append(f"   (no checkpoint: {safe(c.problem or 'none')})")
                continue
            if c.problem:
                out.append(f"   ! {safe(c.problem)}")
            out.append("   " + safe(c.summary, 2000))
            for title, items in (
                ("key files", c.key_files),
                ("decisions", c.decisions_made),
                ("open questions", c.open_questions),
            ):
                if items:
                    out.append(f"   {title}:")
                    out.extend(f"     - {safe(item, 500)}" for item in items)
    elif p.ready:
        out.append(f"READY: you hold nothing; claimable now: {' '.join(p.ready)}")
        out.append(f"  conductor claim {p.ready[0]}   (then: conductor context)")
    else:
        out.append("WAIT: you hold nothing and nothing is claimable now")
        out.extend(f"  {w}" for w in p.waiting)
    return "\n".join(out)


def as_json(p: Prime) -> dict[str, Any]:
    """prime's data for --json."""
    return {
        "agent": p.agent,
        "sprint_id": p.sprint_id,
        "project": p.project,
        "holding": [
            {
                "phase": h.phase,
                "status": h.status,
                "token": h.token,
                "epoch": h.epoch,
                "lease_left_s": h.lease_left_s,
                "evidence": h.evidence,
                "commands": h.commands(),
            }
            for h in p.holding
        ],
        "checkpoints": [c.__dict__ for c in p.checkpoints],
        "ready": p.ready,
        "waiting": p.waiting,
    }


def find_sprint(store: Store, project: str, sprint_id: str | None) -> Sprint | None:
    """--sprint, else the project's active sprint; None when the store or sprint is missing."""
    if sprint_id:
        return store.open_sprint(sprint_id)
    if not os.path.isdir(store.root):
        return None
    return store.find_active(project)


def main(argv: list[str]) -> int:
    """`conductor prime [--store PATH] [--project DIR] [--sprint ID] [--agent NAME] [--json]`."""
    p = common.Parser(
        prog="conductor prime",
        description="What to put in an agent's context at session start: the claim it holds "
        "and the checkpoints it needs, or what it may claim next.",
    )
    common.add_common(p, agent=True)
    args = p.parse_args(argv)

    def body() -> int:
        from ..core.paths import check_agent, detect_agent, find_store
        from ..core.store import Store

        project = common.project_of(args)
        agent = check_agent(args.agent if args.agent else detect_agent().agent)
        store = Store(find_store(args.store, project))
        sprint = find_sprint(store, project, args.sprint)
        if sprint is None:
            raise BadInput(
                f"no active sprint for {project} in {store.root}; start one with `conductor start`"
            )
        result = prime(sprint, agent)
        if args.json:
            first = render(result).splitlines()[1]
            common.reply(result.word, first.split(": ", 1)[-1], as_json(result))
        else:
            print(render(result))
        return 0

    return common.guarded(args.json, "prime", body)


# ---------------------------------------------------------------------- the session hooks


def _sprints_for(data: Mapping[str, Any], store: str | None, project: str | None) -> list[Sprint]:
    """The active sprints the hook's agent may work in: from --project, else from the hook's
    directory and the payload's."""
    from ..core.paths import find_store
    from ..core.store import Store

    bases = [os.path.abspath(project)] if project else [os.getcwd()]
    agent_cwd = hookpayload.cwd_of(data)
    if not project and agent_cwd and agent_cwd not in bases:
        bases.append(agent_cwd)
    found: dict[str, Sprint] = {}
    for base in bases:
        root = find_store(store, base)
        if not os.path.isdir(root):
            continue
        sprint = Store(root).find_active(base)
        if sprint is not None:
            found.setdefault(sprint.path, sprint)
    return list(found.values())


def _export_agent(agent: str, env: Mapping[str, str]) -> None:
    """Hand the session's agent name to the agent's shell through the host's env file
    ($CODEX_ENV_FILE or $CLAUDE_ENV_FILE), so that its `conductor claim` uses the name the hooks
    derive from the payload. An existing $NANOSTACK_AGENT is left alone."""
    if env.get("NANOSTACK_AGENT"):
        return
    path = env.get("CODEX_ENV_FILE") or env.get("CLAUDE_ENV_FILE")
    if not path or not os.path.isabs(path):
        return
    line = f"export NANOSTACK_AGENT={shlex.quote(agent)}\n".encode()
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def session_start(
    raw: bytes,
    *,
    host: str,
    store: str | None,
    project: str | None,
    agent: str | None,
    env: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """(stdout, note for stderr) of the SessionStart hook. Claude Code and Codex add plain stdout
    to the model's context; Cursor reads a JSON object (additional_context, env)."""
    import json

    env = os.environ if env is None else env
    data = hookpayload.parse(raw)
    stable = True
    if agent is None:
        agent, stable = hookpayload.agent_for(data, host, env)
    note = ""
    if host in ("claude", "codex") and stable:
        try:
            _export_agent(agent, env)
        except OSError as exc:
            note = f"conductor: could not write the agent name to the env file: {exc.strerror}"
    text = ""
    sprints = _sprints_for(data, store, project)
    text = "\n\n".join(render(prime(s, agent)) for s in sprints)
    if host != "cursor":
        return text, note
    out: dict[str, Any] = {}
    if text:
        out["additional_context"] = text
    if stable and not env.get("NANOSTACK_AGENT"):
        out["env"] = {"NANOSTACK_AGENT": agent}
    return json.dumps(out, ensure_ascii=False), note


def stop_reminder(
    raw: bytes,
    *,
    host: str,
    store: str | None,
    project: str | None,
    agent: str | None,
    env: Mapping[str, str] | None = None,
) -> str:
    """The Stop hook's stdout: empty, or the host's way of telling the model once (Claude Code
    and Codex: a JSON decision "block" with the reason; Cursor: a followup_message). Silent when
    the host says a stop hook already continued this turn (stop_hook_active, or Cursor's
    loop_count above 0), so the reminder never loops."""
    import json

    data = hookpayload.parse(raw)
    if data.get("stop_hook_active") is True:
        return ""
    loops = data.get("loop_count")
    if isinstance(loops, int) and not isinstance(loops, bool) and loops > 0:
        return ""
    if agent is None:
        agent, _stable = hookpayload.agent_for(data, host, env)
    held: list[Held] = []
    for sprint in _sprints_for(data, store, project):
        for pv in held_by(sprint.view().phases, agent):
            lock = pv.lock
            held.append(Held(pv.name, pv.status, lock.token if lock else None, None, None, []))
    if not held:
        return ""
    parts = [f"{h.phase} (token {h.token or '-'})" for h in held]
    first = held[0].commands()
    line = (
        f"conductor: you still hold {', '.join(parts)}. If its work is finished, complete it "
        f"(`{first['artifact']}`, fill in the checkpoint, then `{first['finish']}`); if you are "
        f"giving it up, `{first['abort']}`; if it is still in progress, say so and stop."
    )
    if host == "cursor":
        return json.dumps({"followup_message": line}, ensure_ascii=False)
    return json.dumps({"decision": "block", "reason": line}, ensure_ascii=False)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
