"""`conductor`: the command line agents call. Imports the core lazily and never textual."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence

from .cli_fast import fast_parse
from .text import COLOUR, GLYPH, age, safe

TYPE_CHECKING = False  # typing itself is 2 ms of every command: imported by the checker only
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from .core.models import PhaseView, SprintView
    from .core.store import Sprint, Store

INHERITED_ENV: dict[str, str] | None = None  # the environment as the caller gave it


class Context:
    """What every command needs: the parsed options, the store, the project and the output."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.json: bool = bool(getattr(args, "json", False))
        from .core.paths import logical_cwd

        project = getattr(args, "project", None)
        if project:
            if not os.path.isdir(project):
                from .core.errors import BadInput

                raise BadInput(f"--project {project!r} is not a directory")
            self.project = os.path.abspath(project)
        else:
            self.project = logical_cwd()
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """The store, found as the protocol says: a directory, or a PostgreSQL URL (given in
        --store, $NANOSTACK_STORE, or as `store` in the file store's config.json)."""
        if self._store is None:
            from .storespec import is_url, store_spec

            spec = store_spec(getattr(self.args, "store", None), self.project)
            from .core.store import Store

            opened: Store
            if is_url(spec):
                from .pg import open_store

                opened = open_store(spec)  # type: ignore[assignment]  # a PgStore, same interface
            else:
                opened = Store(spec)
            self._store = opened
            return opened
        return self._store

    @property
    def on_pg(self) -> bool:
        """Whether the store is a PostgreSQL database (no directory behind it)."""
        return bool(getattr(self.store, "url", None))

    def sprint(self) -> Sprint:
        """The sprint named by --sprint, else the project's active sprint."""
        from .core.errors import BadInput

        sprint_id = getattr(self.args, "sprint", None)
        if sprint_id is not None:
            return self.store.open_sprint(sprint_id)
        if not self.on_pg and not os.path.isdir(self.store.root):
            raise BadInput(
                f"no store at {self.store.root}; start a sprint with `conductor start` "
                "or point --store / $NANOSTACK_STORE at one"
            )
        sprint = self.store.find_active(self.project)
        if sprint is None:
            raise BadInput(
                f"no active sprint for {self.project} in {self.store.root}; "
                "start one with `conductor start`"
            )
        return sprint

    def agent(self) -> str:
        """The calling agent's name (--agent, else detected), with a warning when unstable."""
        from .core.paths import check_agent, detect_agent

        explicit = getattr(self.args, "agent", None)
        if explicit is not None:
            return check_agent(explicit)
        ident = detect_agent()
        if ident.unstable and not self.json:
            print(
                f"warning: agent name {ident.agent!r} comes from {ident.source}; another shell "
                "of the same agent gets another name. Set NANOSTACK_AGENT or pass --agent.",
                file=sys.stderr,
            )
        return check_agent(ident.agent)

    def take_warnings(self) -> list[str]:
        """What the store said the caller must hear (an audit event not written, a tidying step
        left to doctor), each once."""
        if self._store is None or not self._store.warnings:
            return []
        taken, self._store.warnings[:] = list(self._store.warnings), []
        return taken

    def print_warnings(self) -> None:
        """Print what is left to say on stderr, where a JSON reader does not look."""
        for warning in self.take_warnings():
            print(f"warning: {safe(warning, 2000)}", file=sys.stderr)

    def reply(
        self, word: str, message: str, data: dict[str, Any] | None = None, *, ok: bool = True
    ) -> None:
        """The one JSON object of --json: `ok`, `word` and `message` first, then the data, then
        the warnings (every command's reply has this shape, the read commands' too)."""
        out: dict[str, Any] = {"ok": ok, "word": word, "message": message}
        out.update(data or {})
        if warnings := self.take_warnings():
            out["warnings"] = [*out.get("warnings", []), *warnings]
        print(json.dumps(out, ensure_ascii=False))

    def emit(self, word: str, message: str, data: dict[str, Any] | None = None) -> None:
        """Report success: `WORD: message` for people, one JSON object with --json."""
        if self.json:
            self.reply(word, message, data)
        else:
            lines = [safe(line, 2000) for line in message.splitlines()] or [""]
            print(f"{word}: {lines[0]}" if lines[0] else word)
            for line in lines[1:]:
                print(f"  {line}")


def _fail(ctx_json: bool, exc: Any, warnings: Sequence[str] = ()) -> int:
    if ctx_json:
        out = {"ok": False, "word": exc.word, "error": exc.kind, "message": exc.message}
        if warnings:
            out["warnings"] = list(warnings)
        print(json.dumps(out, ensure_ascii=False))
    else:
        for warning in warnings:
            print(f"warning: {safe(warning, 2000)}", file=sys.stderr)
        print(f"{exc.word}: {safe(exc.message, 2000)}", file=sys.stderr)
    return int(exc.exit_code)


# ---------------------------------------------------------------------- commands


def cmd_start(ctx: Context) -> int:
    """Start a sprint for the project."""
    phases = None
    spec = ctx.args.phases
    if spec is not None:
        phases = _load_phases(spec)
    sprint = ctx.store.start(ctx.project, agent=ctx.agent(), phases=phases, force=ctx.args.force)
    names = [p.name for p in sprint.record.phases]
    ctx.emit(
        "OK",
        f"started {sprint.sprint_id} with {len(names)} phases: {' → '.join(names)}\n{sprint.path}",
        {"sprint_id": sprint.sprint_id, "path": sprint.path, "phases": names},
    )
    return 0


def _load_phases(spec: str) -> Any:
    from .core.errors import BadInput
    from .core.jsonio import MalformedJSON, loads_strict, read_bytes_nofollow

    text = spec.strip()
    try:
        if text.startswith("["):
            return loads_strict(text.encode())
        return loads_strict(read_bytes_nofollow(spec))
    except MalformedJSON as exc:
        raise BadInput(f"--phases is not valid JSON: {exc}") from None
    except FileNotFoundError:
        raise BadInput(f"--phases: no such file {spec!r} (pass a JSON array or a file)") from None
    except OSError as exc:
        raise BadInput(f"--phases {spec!r} cannot be read: {exc.strerror}") from None


def _holder(args: argparse.Namespace) -> tuple[int, int | None]:
    from .core.liveness import holder_process

    return holder_process(getattr(args, "pid", None))


def cmd_claim(ctx: Context) -> int:
    """Claim a phase."""
    sprint = ctx.sprint()
    agent = ctx.agent()
    pid, start = _holder(ctx.args)
    owner = sprint.claim(
        ctx.args.phase, agent=agent, ttl=ctx.args.ttl, holder_pid=pid, holder_start=start
    )
    ctx.emit(
        "OK",
        f"claimed {owner.phase!r} as {agent} (token {owner.token}, epoch {owner.epoch}, "
        f"lease {owner.ttl_s:g} s, holder pid {pid})",
        {"token": owner.token, "epoch": owner.epoch, "owner": owner.model_dump()},
    )
    return 0


def cmd_heartbeat(ctx: Context) -> int:
    """Extend the lease of the caller's claim."""
    sprint = ctx.sprint()
    owner = sprint.heartbeat(
        ctx.args.phase, agent=ctx.agent(), token=ctx.args.token, ttl=ctx.args.ttl
    )
    ctx.emit(
        "OK",
        f"lease of {owner.phase!r} extended to {owner.ttl_s:g} s from {owner.heartbeat_at}",
        {"token": owner.token, "epoch": owner.epoch, "owner": owner.model_dump()},
    )
    return 0


def cmd_complete(ctx: Context) -> int:
    """Complete the caller's claim with an optional artifact."""
    sprint = ctx.sprint()
    record = sprint.complete(
        ctx.args.phase,
        agent=ctx.agent(),
        token=ctx.args.token,
        artifact=ctx.args.artifact,
        force=ctx.args.force,
        validate=checkpoint_rule(ctx.args),
    )
    if not ctx.args.artifact and not ctx.json:
        print(
            "warning: completed without an artifact: the next agent gets no checkpoint",
            file=sys.stderr,
        )
    extra = f" with {record.artifact} (sha256 {record.sha256[:12]})" if record.sha256 else ""
    ctx.emit(
        "OK",
        f"completed {ctx.args.phase!r}{extra}",
        {"done": record.model_dump(exclude_none=True)},
    )
    return 0


def checkpoint_rule(args: argparse.Namespace) -> Callable[[Any], None] | None:
    """The artifact check of complete and run: a context checkpoint unless waived."""
    if getattr(args, "allow_no_checkpoint", False):
        return None

    def rule(parsed: Any) -> None:
        from .core.artifacts import require_checkpoint  # pydantic: only with an artifact

        require_checkpoint(parsed)

    return rule


def cmd_artifact(ctx: Context) -> int:
    """`artifact new PHASE`: write a template artifact to fill in."""
    from .core.handoff import write_template

    sprint = ctx.sprint()
    # a database has no folder: the template goes in the project's .nanostack/artifacts
    root = os.path.join(ctx.project, ".nanostack", "artifacts") if ctx.on_pg else None
    path = write_template(sprint, ctx.args.phase, ctx.agent(), ctx.args.out, root)
    ctx.emit(
        "OK",
        f"wrote {path}\nfill in context_checkpoint, then: "
        f"conductor complete {ctx.args.phase} --artifact {path}",
        {"path": path},
    )
    return 0


def cmd_verify(ctx: Context) -> int:
    """Report every artifact that changed after its phase was completed."""
    from .core.handoff import verify

    checks = verify(ctx.sprint())
    bad = [(phase, c) for phase, c in checks if c.problem]
    if ctx.json:
        if bad:
            word, said = "REFUSED", f"{len(bad)} artifact(s) changed or missing since completion"
        elif checks:
            word, said = "OK", f"{len(checks)} artifact(s) match their recorded SHA-256"
        else:
            word, said = "OK", "no completed phase has an artifact yet"
        artifacts = [
            {
                "phase": phase,
                "path": c.path,
                "recorded_sha256": c.recorded_sha256,
                "actual_sha256": c.actual_sha256,
                "changed": c.changed,
                "problem": c.problem,
            }
            for phase, c in checks
        ]
        ctx.reply(word, said, {"artifacts": artifacts}, ok=not bad)
        return 1 if bad else 0
    for phase, c in checks:
        if c.problem:
            print(f"≠ {phase:<10} {safe(c.problem)}: {safe(c.path)}")
            if c.changed:
                print(f"  recorded {c.recorded_sha256}\n  now      {c.actual_sha256}")
        else:
            print(f"✓ {phase:<10} unchanged  {safe(c.path)}")
    if not checks:
        print("OK: no completed phase has an artifact yet")
    elif bad:
        print(
            f"REFUSED: {len(bad)} artifact(s) changed or missing since completion", file=sys.stderr
        )
    else:
        print(f"OK: {len(checks)} artifact(s) match their recorded SHA-256")
    return 1 if bad else 0


def cmd_context(ctx: Context) -> int:
    """The sprint on one page, for an agent joining mid-sprint."""
    if ctx.on_pg:  # checkpoints from the database where this machine lacks the artifact
        from .pg.handoff import context
    else:
        from .core.handoff import context  # type: ignore[assignment]

    page = context(ctx.sprint())  # type: ignore[arg-type]
    if ctx.json:
        said = (
            f"sprint {page.sprint_id}: {len(page.completed)} completed, "
            f"{len(page.in_progress)} in progress, claimable now: "
            + (", ".join(page.ready) if page.ready else "nothing")
        )
        ctx.reply("OK", said, _context_json(page))
    else:
        print(_context_text(page))
    return 0


def _context_json(page: Any) -> dict[str, Any]:
    return {
        "sprint_id": page.sprint_id,
        "project": page.project,
        "completed": [
            {
                "phase": c.phase,
                "agent": c.agent,
                "completed_at": c.completed_at,
                "artifact": c.artifact,
                "checkpoint": c.checkpoint.model_dump() if c.checkpoint else None,
                "problem": (c.check.problem or c.check.checkpoint_problem) if c.check else None,
            }
            for c in page.completed
        ],
        "in_progress": [
            {
                "phase": pv.name,
                "agent": pv.agent,
                "status": pv.status,
                "claimed_at": pv.lock.claimed_at if pv.lock else "",
            }
            for pv in page.in_progress
        ],
        "ready": page.ready,
        "blocked": [{"phase": pv.name, "needs": pv.blocked_by} for pv in page.blocked],
        "attention": [{"phase": pv.name, "status": pv.status} for pv in page.attention],
    }


def _context_text(page: Any) -> str:
    out = [f"# Sprint {safe(page.sprint_id, 80)}  {safe(page.project)}", ""]
    if not page.completed:
        out.append("Nothing is completed yet.")
    for c in page.completed:
        out.append(f"## {c.phase}  done by {safe(c.agent)} at {safe(c.completed_at, 40)}")
        cp = c.checkpoint
        problem = (c.check.problem or c.check.checkpoint_problem) if c.check else "no artifact"
        if c.check is not None and c.check.problem:
            out.append(f"   ! {safe(c.check.problem)}")
        if cp is None:
            out.append(f"   (no checkpoint: {safe(problem or 'none')})")
        else:
            out.append("   " + safe(cp.summary, 2000))
            for title, items in (
                ("key files", cp.key_files),
                ("decisions", cp.decisions_made),
                ("open questions", cp.open_questions),
            ):
                if items:
                    out.append(f"   {title}:")
                    out.extend(f"     - {safe(item, 500)}" for item in items)
        out.append("")
    if page.in_progress:
        out.append("## In progress")
        for pv in page.in_progress:
            when = pv.lock.claimed_at if pv.lock else ""
            out.append(f"   {pv.name}: {pv.status} by {safe(pv.agent)} since {safe(when, 40)}")
        out.append("")
    if page.attention:
        out.append("## Needs attention")
        out.extend(f"   {pv.name}: {pv.status}" for pv in page.attention)
        out.append("")
    out.append("## Next")
    out.append("   claimable now: " + (", ".join(page.ready) if page.ready else "nothing"))
    for pv in page.blocked:
        out.append(f"   {pv.name} waits for {', '.join(pv.blocked_by)}")
    return "\n".join(out)


def cmd_resume(ctx: Context) -> int:
    """What the calling agent was doing: the phase it holds, or the next one it can claim."""
    from .core.handoff import resume

    sprint = ctx.sprint()
    r = resume(sprint, ctx.agent())
    if ctx.json:
        if r.holding:
            word = "HOLDING"
            said = "you hold " + ", ".join(f"{pv.name} ({pv.status})" for pv in r.holding)
        elif r.ready:
            word, said = "READY", f"you hold nothing; claimable now: {' '.join(r.ready)}"
        else:
            word, said = "WAIT", "you hold nothing and nothing is claimable now"
        holding = [
            {
                "phase": pv.name,
                "status": pv.status,
                "token": pv.lock.token,
                "epoch": pv.lock.epoch,
                "lease_expires_in": pv.lock.lease_expires_in,
            }
            for pv in r.holding
            if pv.lock is not None
        ]
        data = {"agent": r.agent, "holding": holding, "ready": r.ready, "done_by_you": r.done_by_me}
        ctx.reply(word, said, data)
        return 0
    if r.holding:
        for pv in r.holding:
            lock = pv.lock
            assert lock is not None
            print(f"HOLDING: {pv.name} ({pv.status}) token {lock.token} epoch {lock.epoch}")
            for ev in lock.evidence[:1]:
                print(f"  {ev}")
            print(f"  heartbeat: conductor heartbeat {pv.name} --token {lock.token}")
            print(f"  finish:    conductor complete {pv.name} --token {lock.token} --artifact F")
        print("  context:   conductor context")
    elif r.ready:
        print(f"READY: you hold nothing; claimable now: {' '.join(r.ready)}")
        print(f"  conductor claim {r.ready[0]}   (then: conductor context)")
    else:
        print("WAIT: you hold nothing and nothing is claimable now (conductor next, conductor why)")
    return 0


def cmd_guard(ctx: Context) -> int:
    """Pre-tool hook: exit 2 with one line on stderr blocks the call; it fails closed
    (docs/GUARD.md)."""
    from .guard.hook import hook_main

    return hook_main(
        store=getattr(ctx.args, "store", None),
        project=getattr(ctx.args, "project", None),
        agent=getattr(ctx.args, "agent", None),
        cwd=ctx.project,
    )


def cmd_abort(ctx: Context) -> int:
    """Give up the caller's claim."""
    sprint = ctx.sprint()
    holder = sprint.abort(
        ctx.args.phase, agent=ctx.agent(), token=ctx.args.token, force=ctx.args.force
    )
    ctx.emit("OK", f"{ctx.args.phase!r} released (was held by {holder!r})", {"was": holder})
    return 0


def cmd_reclaim(ctx: Context) -> int:
    """Free a stale lock."""
    sprint = ctx.sprint()
    lock = sprint.reclaim(ctx.args.phase, agent=ctx.agent(), force=ctx.args.force)
    if lock.agent or lock.token:
        said = f"reclaimed {ctx.args.phase!r} from {lock.agent!r} ({lock.verdict}: "
        said += f"{'; '.join(lock.evidence)})"
    else:  # nobody held it: an orphan lock.d was cleared
        said = f"{ctx.args.phase!r}: {'; '.join(lock.evidence)}"
    ctx.emit("OK", said, {"was": lock.model_dump()})
    return 0


def _note(pv: PhaseView) -> str:
    if pv.status == "blocked":
        return "needs " + ", ".join(pv.blocked_by)
    if pv.lock is not None and pv.status != "done":
        return pv.lock.evidence[0] if pv.lock.evidence else ""
    if pv.problems:
        return pv.problems[0]
    if pv.notes:
        return pv.notes[0]
    if pv.done is not None and pv.done.artifact:
        return os.path.basename(pv.done.artifact)
    return ""


def phase_json(pv: PhaseView) -> dict[str, Any]:
    """One phase in status --json: upstream's three keys first, then ours."""
    at = ""
    if pv.done is not None:
        at = pv.done.completed_at
    elif pv.lock is not None:
        at = pv.lock.claimed_at
    return {
        "state": pv.state,
        "agent": pv.agent,
        "at": at,
        "status": pv.status,
        "depends_on": pv.depends_on,
        "blocked_by": pv.blocked_by,
        "lock": pv.lock.model_dump() if pv.lock else None,
        "done": pv.done.model_dump(exclude_none=True) if pv.done else None,
        "problems": pv.problems,
        "notes": pv.notes,
    }


def status_table(view: SprintView) -> str:
    """The human status table."""
    done = view.count("done")
    lines = [
        f"sprint {safe(view.sprint_id, 80)}  {safe(view.project)}  ({safe(view.status, 20)})  "
        f"{done}/{len(view.phases)} done",
    ]
    width = max([5, *(len(pv.name) for pv in view.phases)])
    lines.append(f"  {'PHASE':<{width}}  {'STATE':<9}  {'AGENT':<20}  {'AGE':>5}  NOTE")
    for pv in view.phases:
        when = age(pv.lock.age_s) if pv.status != "done" and pv.lock is not None else ""
        lines.append(
            f"{GLYPH.get(pv.status, '?')} {pv.name:<{width}}  {pv.status:<9}  "
            f"{safe(pv.agent, 20):<20}  {when:>5}  {safe(_note(pv), 80)}"
        )
    return "\n".join(lines)


def cmd_status(ctx: Context) -> int:
    """Show every phase's state."""
    view = ctx.sprint().view()
    if ctx.json:
        done = view.count("done")
        out = {
            "sprint_id": view.sprint_id,
            "project": view.project,
            "status": view.status,
            "path": view.path,
            "store": view.store,
            "done": done,
            "total": len(view.phases),
            "phases": {pv.name: phase_json(pv) for pv in view.phases},
        }
        ctx.reply("OK", f"sprint {view.sprint_id}: {done}/{len(view.phases)} done", out)
    else:
        print(status_table(view))
    return 0


# ANSI colours of the states for `graph` on a terminal: the app's, from one table
ANSI = {state: ansi for state, (_rich, ansi) in COLOUR.items() if ansi}


def cmd_graph(ctx: Context) -> int:
    """The phase graph drawn as text, left to right; every dependency an arrow."""
    from .core.drawing import layout_graph, render

    view = ctx.sprint().view()
    phases = [(pv.name, list(pv.depends_on)) for pv in view.phases]
    labels = {pv.name: f"{GLYPH.get(pv.status, '?')} {pv.name} {pv.status}" for pv in view.phases}
    layout = layout_graph(phases, {name: len(label) for name, label in labels.items()})
    lines = [line.rstrip() for line in render(layout, labels)]
    limit = ctx.args.width
    if limit is None and not ctx.json and sys.stdout.isatty():
        import shutil

        limit = shutil.get_terminal_size().columns
    if limit is not None and layout.width > limit:
        print(
            f"warning: the drawing is {layout.width} columns wide, more than {limit}; "
            "printed whole (widen the terminal or pipe it to `less -S`)",
            file=sys.stderr,
        )
    if ctx.json:
        out = {
            "layers": layout.layers,
            "nodes": {
                name: {"row": node.row, "col": node.col, "layer": node.layer, "width": node.width}
                for name, node in layout.nodes.items()
            },
            "edges": [
                {"from": edge.src, "to": edge.dst, "cells": [list(cell) for cell in edge.cells]}
                for edge in layout.edges
            ],
            "width": layout.width,
            "height": layout.height,
            "lines": lines,
        }
        said = f"{len(view.phases)} phases in {len(layout.layers)} layers"
        ctx.reply("OK", said, out)
        return 0
    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        lines = _coloured(lines, layout.nodes, {pv.name: pv.status for pv in view.phases})
    print("\n".join(lines))
    return 0


def _coloured(lines: list[str], nodes: Any, status: dict[str, str]) -> list[str]:
    """The drawing with each label's glyph and state word coloured by its state."""
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for name, node in nodes.items():
        code = ANSI.get(status[name])
        if code is None:
            continue
        word = node.col + 2 + len(name) + 1
        spans.setdefault(node.row, []).append((node.col, node.col + 1, code))
        spans.setdefault(node.row, []).append((word, word + len(status[name]), code))
    out = list(lines)
    for row, marks in spans.items():
        line = out[row]
        for start, end, code in sorted(marks, reverse=True):
            line = f"{line[:start]}\x1b[{code}m{line[start:end]}\x1b[0m{line[end:]}"
        out[row] = line
    return out


def cmd_next(ctx: Context) -> int:
    """What can be claimed now."""
    view = ctx.sprint().view()
    ready = [pv.name for pv in view.phases if pv.status == "ready"]
    remaining = [pv.name for pv in view.phases if pv.status != "done"]
    if ready:
        word, said = "READY", " ".join(ready)
    elif not remaining:
        word, said = "DONE", "every phase is complete"
    else:
        waiting = ", ".join(f"{pv.name} ({pv.status})" for pv in view.phases if pv.status != "done")
        word, said = "WAIT", f"nothing is claimable now; in progress or blocked: {waiting}"
    if ctx.json:
        ctx.reply(word, said, {"ready": ready, "remaining": remaining})
    else:
        print(f"{word}: {said}")
    return 0


def cmd_why(ctx: Context) -> int:
    """Why a phase can or cannot be claimed now."""
    status, reasons = ctx.sprint().why(ctx.args.phase)
    if ctx.json:
        data = {"phase": ctx.args.phase, "status": status, "reasons": reasons}
        ctx.reply(status.upper(), f"{ctx.args.phase}: {'; '.join(reasons)}", data)
    else:
        print(f"{status.upper()}: {ctx.args.phase}")
        for reason in reasons:
            print(f"  - {safe(reason, 500)}")
    return 0


def cmd_batch(ctx: Context) -> int:
    """The batch plan: upstream's JSON lines, or one JSON object with --json."""
    from .core.graph import batches_jsonl, plan_batches

    sprint = ctx.sprint()
    view = sprint.view()
    classes, sources, warnings = sprint.concurrency(ctx.args.skills or ())
    done = {pv.name for pv in view.phases if pv.status == "done"}
    batches = plan_batches(sprint.record.phases, classes, done)
    if ctx.json:
        data = {
            "batches": [b.model_dump() for b in batches],
            "classes": classes,
            "sources": sources,
            "warnings": warnings,
        }
        ctx.reply(
            "OK",
            f"{len(batches)} batch(es) for {sum(map(len, (b.phases for b in batches)))} phase(s)",
            data,
        )
    else:
        for warning in warnings:
            print(f"warning: {safe(warning, 500)}", file=sys.stderr)
        sys.stdout.write(batches_jsonl(batches))
    return 0


def cmd_log(ctx: Context) -> int:
    """Recent audit events (this sprint's unless --all)."""
    from .core import audit

    sprint_id = None if ctx.args.all else ctx.sprint().sprint_id
    events: list[Any] = []
    if ctx.on_pg:  # the events table is the audit log
        tail = max(0, ctx.args.n)
        events = list(ctx.store.events(sprint=sprint_id, tail=tail))  # type: ignore[attr-defined]
    else:
        for item in audit.read(ctx.store.audit_path):
            if isinstance(item, str) or sprint_id is None or item.sprint in (sprint_id, None):
                events.append(item)
    events = events[-ctx.args.n :] if ctx.args.n > 0 else []
    if ctx.json:
        dumped = [e if isinstance(e, str) else e.model_dump(exclude_none=True) for e in events]
        ctx.reply("OK", f"{len(dumped)} event(s)", {"events": dumped})
        return 0
    for e in events:
        if isinstance(e, str):
            print(f"! {safe(e)}")
        else:
            print(
                f"{safe(e.at, 24)}  {safe(e.event, 24):<18} {safe(e.resource, 24):<10} "
                f"{safe(e.detail, 120)}"
            )
    return 0


def cmd_clean(ctx: Context) -> int:
    """Delete archived sprints older than a week."""
    removed = ctx.store.clean(None if ctx.args.all else ctx.project)
    ctx.emit(
        "OK",
        f"removed {len(removed)} archived sprint(s) older than 7 days",
        {"removed": removed},
    )
    return 0


def cmd_doctor(ctx: Context) -> int:
    """Find (and with --fix repair) crash leftovers and malformed records."""
    sprint = ctx.sprint()
    found = sprint.doctor(fix=ctx.args.fix)
    left = [f for f in found if not f.fixed]
    if ctx.json:
        findings = [
            {"phase": f.phase, "problem": f.problem, "action": f.action, "fixed": f.fixed}
            for f in found
        ]
        if left:
            word = "REFUSED"
            said = f"{len(left)} problem(s) left" + (
                "" if ctx.args.fix else "; run `conductor doctor --fix` to repair what can be"
            )
        else:
            fixed = len(found)
            word = "OK"
            said = f"sprint {sprint.sprint_id} is healthy" + (f" ({fixed} fixed)" if fixed else "")
        ctx.reply(word, said, {"findings": findings}, ok=not left)
    elif not found:
        print(f"OK: sprint {safe(sprint.sprint_id, 80)} is healthy")
    else:
        for f in found:
            mark = "fixed" if f.fixed else ("would fix" if not ctx.args.fix else "left")
            print(f"{mark:>9}  {f.phase:<12} {safe(f.problem)} -> {f.action}")
        if left and not ctx.args.fix:
            print("run `conductor doctor --fix` to repair what can be repaired", file=sys.stderr)
    return 1 if left else 0


def cmd_run(ctx: Context) -> int:
    """Claim, run a command while keeping the lease alive, complete on 0 or abort otherwise."""
    from .runner import run_phase

    return run_phase(ctx)


def cmd_sandbox(ctx: Context) -> int:
    """Run a command that cannot write the project (Landlock): this process restricts itself,
    then becomes the command, so its exit status and signals are the command's own."""
    from . import sandbox
    from .core.errors import BadInput

    cmd = list(ctx.args.cmd)
    if not cmd:
        raise BadInput(
            "sandbox needs a command: conductor sandbox [--allow PATH]... -- CMD [ARGS...]"
        )
    project = _sandbox_project(ctx)
    from .core.paths import find_store

    # found without opening the store: with --project, `sandbox` never imports the models
    store = find_store(getattr(ctx.args, "store", None), ctx.project)
    plan = sandbox.plan(project, store=store, allow=ctx.args.allow or ())
    try:
        ruleset = sandbox.build(plan)
        try:
            ruleset.enter()
        except OSError as exc:
            raise sandbox.Unavailable(f"the sandbox could not be entered: {exc.strerror}") from None
        finally:
            ruleset.close()
    except sandbox.Unavailable as exc:
        if not ctx.args.allow_unsandboxed:
            raise sandbox.Unavailable(
                f"{exc.message}; {sandbox.advice('--allow-unsandboxed')}"
            ) from None
        print(
            f"warning: {exc.message}; running {safe(cmd[0], 200)} WITHOUT the sandbox "
            f"(--allow-unsandboxed): it can write {safe(plan.project)}",
            file=sys.stderr,
        )
    sandbox.execute(cmd, INHERITED_ENV)


def _sandbox_project(ctx: Context) -> str:
    """What `sandbox` protects: --project, else the sprint's project (--sprint or the active
    one), else the git work tree around the current directory, else the directory itself."""
    from .core.errors import ConductorError
    from .core.paths import git_top

    here: str = ctx.project
    if getattr(ctx.args, "project", None):
        return here
    if getattr(ctx.args, "sprint", None):
        return ctx.sprint().record.project
    if os.path.isdir(ctx.store.root):
        try:
            sprint = ctx.store.find_active(here)
        except ConductorError:
            sprint = None  # a broken store must not make the sandbox smaller: fall back
        if sprint is not None:
            return sprint.record.project
    return git_top(here) or here


COMMANDS: dict[str, Callable[[Context], int]] = {
    "start": cmd_start,
    "claim": cmd_claim,
    "heartbeat": cmd_heartbeat,
    "complete": cmd_complete,
    "abort": cmd_abort,
    "reclaim": cmd_reclaim,
    "unstuck": cmd_reclaim,
    "status": cmd_status,
    "graph": cmd_graph,
    "next": cmd_next,
    "why": cmd_why,
    "batch": cmd_batch,
    "log": cmd_log,
    "clean": cmd_clean,
    "doctor": cmd_doctor,
    "run": cmd_run,
    "artifact": cmd_artifact,
    "verify": cmd_verify,
    "context": cmd_context,
    "resume": cmd_resume,
    "guard": cmd_guard,
    "sandbox": cmd_sandbox,
}


def _default_sigpipe() -> None:
    """SIGPIPE's default action, through _signal: the signal module builds its enums on import
    (0.5 ms of every command)."""
    try:
        sig: Any = __import__("_signal")
    except ImportError:  # pragma: no cover - not CPython
        import signal as sig
    sig.signal(sig.SIGPIPE, sig.SIG_DFL)


# the commands that plug agents in (conductor_tui/agents): each parses its own options
AGENT_COMMANDS = ("skill", "hooks", "prime", "watch", "db")


def _agent_command(argv: list[str]) -> tuple[str, list[str]] | None:
    """(command, its arguments) when argv names one of AGENT_COMMANDS, with any global options
    given before it (--store S, --json ...) handed to it after its name."""
    from .cli_args import command_position

    at = command_position(argv)
    if at is None or argv[at] not in AGENT_COMMANDS:
        return None
    return argv[at], argv[:at] + argv[at + 1 :]


def _run_agent_command(name: str, rest: list[str]) -> int:
    if name == "skill":
        from .agents.skill import main as run
    elif name == "hooks":
        from .agents.hooks import main as run
    elif name == "prime":
        from .agents.prime import main as run
    elif name == "db":
        from .pg.commands import main as run
    else:
        from .agents.follow import main as run
    return run(rest)


def _pass_through(name: str, rest: list[str]) -> int:
    if name == "sprint-sh":
        from .nanostack.sprint_sh import main as sprint_sh

        return sprint_sh(rest)
    from .nanostack.install import main as install

    return install(rest)


def _parse_with_argparse(argv: list[str]) -> Any:
    """Everything fast_parse leaves: the whole parser for help and errors, else the command's."""
    from .cli_args import build_parser, command_of

    parser = build_parser(command_of(argv))
    # `run PHASE [options] -- CMD ...`: everything after the first -- is the command, verbatim
    cmd: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, cmd = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    args.cmd = cmd
    if cmd and args.command not in ("run", "sandbox"):
        parser.error(
            "'--' followed by a command is only for `conductor run` and `conductor sandbox`"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `conductor`."""
    _default_sigpipe()  # `conductor status | head` ends quietly
    # pydantic scans every installed package for plugins on first use (~16 ms); we use none.
    # Only for this process: `run` hands its command the environment it was given.
    global INHERITED_ENV
    INHERITED_ENV = dict(os.environ)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("sprint-sh", "nanostack"):
        return _pass_through(argv[0], argv[1:])
    if any(a in AGENT_COMMANDS for a in argv) and (found := _agent_command(argv)) is not None:
        return _run_agent_command(*found)
    args: Any = fast_parse(argv) if "--" not in argv else None
    if args is None:
        args = _parse_with_argparse(argv)
    else:
        args.cmd = []
    if not args.command:
        args.command = "status"
    as_json = bool(getattr(args, "json", False))
    from .core.errors import ConductorError

    ctx: Context | None = None
    try:
        ctx = Context(args)
        code = COMMANDS[args.command](ctx)
        ctx.print_warnings()
        return code
    except ConductorError as exc:
        return _fail(as_json, exc, ctx.take_warnings() if ctx else ())
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        from .core.errors import DiskError
        from .core.store import describe_os_error

        error = DiskError(f"{args.command}: {describe_os_error(exc)}")
        return _fail(as_json, error, ctx.take_warnings() if ctx else ())


if __name__ == "__main__":
    sys.exit(main())
