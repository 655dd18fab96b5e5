"""`conductor sprint-sh COMMAND [ARGS...]`: nanostack's conductor/bin/sprint.sh over our store.

Same commands, arguments, environment, replies, streams and exit codes as upstream's script
wherever upstream's output is deterministic; underneath, our store: fenced claims, leases, the
lock.d sentinel, never a phase granted twice. Where upstream's behaviour is a defect we keep ours
and docs/NANOSTACK.md lists each difference with its reason.

Usage (as upstream): sprint.sh <start|claim|complete|abort|status|batch|clean|next|unstuck>
  start [--phases JSON|FILE] [--force]      prints the sprint's directory
  claim PHASE [--agent NAME]                 OK | DONE | BLOCKED | CLAIMED (exit 1)
  complete PHASE [--artifact FILE]           OK | ERROR (exit 1)
  abort PHASE                                OK: 'PHASE' released
  unstuck PHASE [--force]                    OK | REFUSED (exit 1)
  status                                     JSON ({"status":"no_sprint"} when there is none)
  next                                       the first claimable phase, or nothing
  batch                                      one compact JSON object per batch
  clean                                      removes archived sprints older than 7 days
A leading `--nanostack-root DIR` (written by `conductor nanostack install`) names the nanostack
checkout whose skills declare the phases' concurrency.

The core is imported inside each command, and only what that command needs.
"""

from __future__ import annotations

import contextlib
import os
import sys

from .upstream import detect_agent, safe_segment

TYPE_CHECKING = False  # typing itself costs milliseconds on every call
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from ..core.store import Sprint, Store

USAGE = "Usage: sprint.sh <start|claim|complete|abort|status|batch|clean|next|unstuck>"
BAD_GRAPH = (
    "ERROR: invalid phase graph (cycle, duplicate name, dangling depends_on, or unknown name)"
)
BAD_GRAPH_HINT = (
    "       Fix --phases / .nanostack/config.json:phase_graph or omit both to use the default."
)
BAD_CONFIG_HINT = "       Fix the config or pass --phases on the command line."
HOLD_HINT = "Pass --force only if you are sure that process is no longer doing useful work."
CLEAN_AGE_S = 8 * 86400.0  # upstream's `find -mtime +7`: eight whole days old


class Fail(Exception):
    """The command ends with these lines on stderr and this exit code."""

    def __init__(self, *lines: str, code: int = 1) -> None:
        super().__init__(lines[0] if lines else "")
        self.lines = lines
        self.code = code


def show(value: object) -> str:
    """An untrusted name printed in a reply: as it is, with control characters made visible."""
    from ..text import safe

    return safe(value, 4000)


def out(line: str) -> None:
    """One line of the reply on stdout."""
    sys.stdout.write(line + "\n")


def err(line: str) -> None:
    """One line on stderr."""
    sys.stderr.write(line + "\n")


class Run:
    """What every command needs: the project, the store, the caller, found as upstream finds
    them (the store: $NANOSTACK_STORE, else <git top>/.nanostack, else ~/.nanostack)."""

    def __init__(self, nanostack_root: str | None) -> None:
        from ..core.paths import find_store, logical_cwd

        self.env = os.environ
        self.project = logical_cwd()
        self.root = find_store(None, self.project)
        self.nanostack_root = nanostack_root or self.env.get("NANOSTACK_ROOT") or None
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """The store (its directory may not exist yet)."""
        if self._store is None:
            from ..core.store import Store

            self._store = Store(self.root)
        return self._store

    def find(self) -> Sprint | None:
        """The project's active sprint, or None."""
        if not os.path.isdir(self.root):
            return None
        return self.store.find_active(self.project)

    def sprint(self) -> Sprint:
        """The project's active sprint, or upstream's refusal."""
        found = self.find()
        if found is None:
            raise Fail("ERROR: no active sprint")
        return found

    def agent(self, explicit: str | None = None) -> str:
        """The caller's name (upstream's detection), refused when it cannot name an agent."""
        from ..core.errors import BadInput
        from ..core.paths import check_agent

        name = explicit if explicit else detect_agent(self.env, os.getppid())
        try:
            return check_agent(name)
        except BadInput as exc:
            raise Fail(f"ERROR: {show(exc.message)}") from None

    def mirror(self, sprint: Sprint) -> None:
        """Keep <store>/session.json in step with the sprint (see session.py)."""
        if not os.path.isfile(os.path.join(self.root, "session.json")):
            return
        self.mirror_graph([p.model_dump(exclude_none=True) for p in sprint.record.phases])

    def mirror_graph(self, graph: Sequence[Any]) -> None:
        """Mirror a graph into session.json; a failure is a warning, never the command's."""
        if not os.path.isfile(os.path.join(self.root, "session.json")):
            return  # no nanostack session: nothing to import, nothing to write
        from .session import mirror_session

        warning = mirror_session(self.root, graph)
        if warning:
            err(f"warning: {show(warning)}")

    def warnings(self) -> None:
        """What the store said the caller must hear, on stderr."""
        if self._store is not None:
            for warning in self._store.warnings:
                err(f"warning: {show(warning)}")
            self._store.warnings.clear()


def phase_arg(args: Sequence[str], usage: str) -> str:
    """The phase argument: missing is a usage error, a path-like one is refused (upstream's
    order, before any sprint is looked for)."""
    phase = args[0] if args else ""
    if not phase:
        raise Fail(f"sprint.sh: 1: Usage: sprint.sh {usage}")
    if not safe_segment(phase):
        raise Fail(f"ERROR: invalid phase name '{show(phase)}' (expected a single phase segment)")
    return phase


# ---------------------------------------------------------------------- start


def cmd_start(run: Run, args: Sequence[str]) -> int:
    """Start a sprint: graph from --phases, else the config's phase_graph, else the default."""
    from ..core.errors import BadInput, ConductorError, Refused
    from ..core.graph import validate_graph
    from ..core.store import DEFAULT_GRAPH
    from .upstream import config_path, custom_phases, graph_is_valid

    explicit: str | None = None
    force = False
    i = 0
    while i < len(args):
        if args[i] == "--phases":
            if i + 1 >= len(args) or not args[i + 1]:
                raise Fail("ERROR: --phases requires a JSON array or a path to a JSON file", code=2)
            explicit = args[i + 1]
            i += 2
            continue
        if args[i] == "--force":  # ours: upstream ignores it, and never refuses a start
            force = True
        i += 1
    cfg_path = config_path(run.root, run.env)
    cfg = _read_config(cfg_path) if cfg_path else None
    registered = custom_phases(cfg) if cfg is not None else []
    graph: Any
    if explicit is not None:
        graph = _parse_phases(explicit)
    else:
        graph = DEFAULT_GRAPH
        configured = cfg.get("phase_graph") if cfg is not None else None
        if configured is not None and configured is not False:
            if not graph_is_valid(configured, registered) or not _ours_valid(configured):
                raise Fail(
                    f"ERROR: invalid phase_graph in {show(cfg_path)} (cycle, duplicate name, "
                    "dangling depends_on, or unknown name)",
                    BAD_CONFIG_HINT,
                    code=2,
                )
            graph = configured
    if graph is None or not graph_is_valid(graph, registered) or not _ours_valid(graph):
        raise Fail(BAD_GRAPH, BAD_GRAPH_HINT, code=2)
    validate_graph(graph)
    agent = run.agent()
    try:
        sprint = run.store.start(run.project, agent=agent, phases=graph, force=force)
    except Refused as exc:
        raise Fail(f"{exc.word}: {show(exc.message)}") from None
    except BadInput as exc:
        raise Fail(f"ERROR: {show(exc.message)}", code=2) from None
    except ConductorError as exc:
        raise Fail(f"ERROR: {show(exc.message)}", code=2) from None
    run.mirror_graph(graph)
    named = run.env.get("NANOSTACK_STORE")
    out(f"{named}/conductor/{sprint.sprint_id}" if named else sprint.path)
    return 0


def _read_config(path: str) -> dict[str, Any]:
    """The config file upstream would read; one that is not a JSON object is refused (upstream
    would quietly start the default graph instead)."""
    from ..core.jsonio import MalformedJSON, read_json

    try:
        raw = read_json(os.path.realpath(path))
    except (OSError, MalformedJSON) as exc:
        raise Fail(f"ERROR: {show(path)} cannot be read as JSON ({show(exc)})", code=2) from None
    if not isinstance(raw, dict):
        raise Fail(f"ERROR: {show(path)} is not a JSON object", code=2)
    return raw


def _parse_phases(spec: str) -> Any:
    """--phases: an existing file's content, else the text itself; None when it is not JSON."""
    from ..core.jsonio import MalformedJSON, loads_strict

    try:
        if os.path.isfile(spec):
            with open(spec, "rb") as fh:
                data = fh.read((1 << 20) + 1)
        else:
            data = spec.encode("utf-8", "surrogateescape")
        return loads_strict(data)
    except MalformedJSON:
        return None
    except OSError as exc:
        raise Fail(f"ERROR: --phases {show(spec)} cannot be read: {exc.strerror}", code=2) from None


def _ours_valid(graph: Any) -> bool:
    """Our own rules on top of upstream's (a name at most 64 characters, and so on)."""
    from ..core.errors import BadInput
    from ..core.graph import validate_graph

    try:
        validate_graph(graph)
    except BadInput:
        return False
    return True


# ---------------------------------------------------------------------- claim


def cmd_claim(run: Run, args: Sequence[str]) -> int:
    """Claim a phase for the caller (or the agent named third, as upstream reads it)."""
    from ..core.errors import AlreadyDone, Blocked, Held, Refused
    from ..core.liveness import holder_process

    phase = phase_arg(args, "claim <phase> [--agent <name>]")
    sprint = run.sprint()
    if phase not in sprint.defs:
        raise Fail(f"ERROR: unknown phase '{show(phase)}'")
    agent = run.agent(args[2] if len(args) > 2 else None)
    pid, start = holder_process(None)
    for attempt in range(3):
        try:
            sprint.claim(phase, agent=agent, holder_pid=pid, holder_start=start)
        except AlreadyDone:
            raise Fail(f"DONE: '{phase}' is already completed") from None
        except Blocked as exc:
            waiting = sprint.phase_view(phase).blocked_by
            if not waiting:
                raise Fail(f"BLOCKED: {show(exc.message)}") from None
            raise Fail(f"BLOCKED: '{phase}' requires '{waiting[0]}' to complete first") from None
        except Held:
            lock = sprint.phase_view(phase).lock
            if lock is None:
                continue  # released meanwhile: try again
            if lock.agent == agent:
                out("OK")  # already yours, as upstream says
                return 0
            if lock.verdict == "stale" and attempt < 2:
                # upstream's claim takes over a dead claim; ours does on our evidence
                with contextlib.suppress(Refused):
                    sprint.reclaim(phase, agent=agent)
                continue
            raise Fail(f"CLAIMED: '{phase}' is locked by '{show(lock.agent)}'") from None
        except Refused as exc:
            raise Fail(f"{exc.word}: {show(exc.message)}") from None
        else:
            run.warnings()
            run.mirror(sprint)
            out("OK")
            return 0
    raise Fail(f"CLAIMED: lost race for '{phase}'")


# ---------------------------------------------------------------------- complete


def cmd_complete(run: Run, args: Sequence[str]) -> int:
    """Complete the caller's claim, with an optional artifact (the third argument)."""
    from ..core.errors import BadInput, Refused

    phase = phase_arg(args, "complete <phase> [--artifact <path>]")
    artifact = args[2] if len(args) > 2 else ""
    agent = run.agent()
    sprint = run.sprint()
    lock = sprint.phase_view(phase).lock if phase in sprint.defs else None
    if lock is None:
        raise Fail(f"ERROR: '{show(phase)}' is not claimed")
    if lock.agent != agent:
        raise Fail(f"ERROR: '{phase}' is claimed by '{show(lock.agent)}', not '{show(agent)}'")
    if artifact:
        _check_artifact(artifact, run.root, sprint.record.project)
    try:
        sprint.complete(phase, agent=agent, artifact=artifact or None)
    except (Refused, BadInput) as exc:
        if isinstance(exc, Refused) and sprint.phase_view(phase).lock is None:
            raise Fail(f"ERROR: '{phase}' is not claimed") from None
        raise Fail(f"ERROR: {show(exc.message)}") from None
    run.warnings()
    run.mirror(sprint)
    out("OK")
    return 0


def _check_artifact(artifact: str, store_root: str, project: str) -> None:
    """Upstream's checks of an artifact, in its order and with its replies: not a symlink, a
    file, JSON, in a directory that resolves, under the store or the project. The store checks
    again, on the file it opens."""
    from ..core.jsonio import MalformedJSON, read_json
    from ..core.limits import MAX_ARTIFACT

    if os.path.islink(artifact):
        raise Fail("ERROR: --artifact must not be a symlink")
    if not os.path.isfile(artifact):
        raise Fail(f"ERROR: --artifact '{show(artifact)}' not found")
    try:
        read_json(artifact, limit=MAX_ARTIFACT)
    except (OSError, MalformedJSON):
        raise Fail(f"ERROR: --artifact '{show(artifact)}' is not valid JSON") from None
    where = os.path.realpath(os.path.dirname(artifact) or ".")
    if not os.path.isdir(where):
        raise Fail("ERROR: cannot resolve --artifact path")
    real = os.path.join(where, os.path.basename(artifact))
    roots = (os.path.realpath(store_root), os.path.realpath(project))
    if not any(real.startswith(root.rstrip("/") + "/") for root in roots):
        raise Fail("ERROR: --artifact must live under the nanostack store or the project")


# ---------------------------------------------------------------------- abort and unstuck


def cmd_abort(run: Run, args: Sequence[str]) -> int:
    """Give up the caller's claim; a phase nobody holds is released already."""
    from ..core.errors import AlreadyDone, NotOwner, Refused

    phase = phase_arg(args, "abort <phase>")
    sprint = run.sprint()
    released = f"OK: '{show(phase)}' released"
    if phase not in sprint.defs:
        out(released)
        return 0
    agent = run.agent()
    try:
        sprint.abort(phase, agent=agent)
    except NotOwner as exc:
        raise Fail(f"ERROR: {show(exc.message)}") from None
    except AlreadyDone:
        pass
    except Refused as exc:
        if sprint.phase_view(phase).lock is not None:
            raise Fail(f"ERROR: {show(exc.message)}") from None
    else:
        run.warnings()
        run.mirror(sprint)
    out(released)
    return 0


def cmd_unstuck(run: Run, args: Sequence[str]) -> int:
    """Free a stale lock; a live one only with --force (the second argument, as upstream)."""
    from ..core.errors import NotStale, Refused

    phase = phase_arg(args, "unstuck <phase> [--force]")
    force = len(args) > 1 and args[1] == "--force"
    sprint = run.sprint()
    unlocked = f"OK: '{show(phase)}' has no lock"
    if phase not in sprint.defs:
        out(unlocked)
        return 0
    agent = run.agent()
    pv = sprint.phase_view(phase)
    lock = pv.lock
    if lock is None:
        if pv.orphan_sentinel:  # ours: an orphan lock.d that keeps upstream agents out
            with contextlib.suppress(Refused):
                sprint.reclaim(phase, agent=agent)
        out(unlocked)
        return 0
    alive = lock.holder_pid if lock.holder_pid and lock.holder_alive else None
    why = f"PID {alive} is alive" if alive else "; ".join(lock.evidence) or lock.verdict
    if lock.verdict != "stale":
        if not force:
            raise Fail(
                f"REFUSED: '{phase}' is held by '{show(lock.agent)}' ({show(why)})", HOLD_HINT
            )
        if alive:
            err(f"WARNING: forcing release of lock held by alive PID {alive} ({show(lock.agent)})")
        else:
            err(f"WARNING: forcing release of lock held by '{show(lock.agent)}' ({show(why)})")
    try:
        was = sprint.reclaim(phase, agent=agent, force=force)
    except NotStale as exc:
        raise Fail(f"REFUSED: {show(exc.message)}", HOLD_HINT) from None
    except Refused:
        if sprint.phase_view(phase).lock is None:
            out(unlocked)
            return 0
        raise
    run.warnings()
    run.mirror(sprint)
    out(f"OK: released '{phase}' (was held by '{show(was.agent or lock.agent)}')")
    return 0


# ---------------------------------------------------------------------- reading


def cmd_status(run: Run, args: Sequence[str]) -> int:
    """Every phase's state, agent and time, as upstream's JSON."""
    import json

    sprint = run.find()
    if sprint is None:
        out('{"status":"no_sprint"}')
        return 0
    view = sprint.view()
    phases: dict[str, dict[str, str]] = {}
    for pv in view.phases:
        at = ""
        if pv.state == "done" and pv.done is not None:
            at = pv.done.completed_at
        elif pv.state == "running" and pv.lock is not None:
            at = pv.lock.claimed_at
        phases[pv.name] = {
            "state": pv.state,
            "agent": pv.agent if pv.state != "pending" else "",
            "at": at,
        }
    doc = {"sprint_id": sprint.record.sprint_id, "project": sprint.record.project, "phases": phases}
    out(json.dumps(doc, indent=2, ensure_ascii=False))
    return 0


def cmd_next(run: Run, args: Sequence[str]) -> int:
    """The first phase in graph order that anyone may claim now; nothing when there is none."""
    sprint = run.sprint()
    for pv in sprint.view().phases:
        if pv.status == "ready":
            out(pv.name)
            break
    return 0


def cmd_batch(run: Run, args: Sequence[str]) -> int:
    """The batch plan as upstream makes it: the graph in waves, consecutive reads together
    unless one depends on another in the batch; one compact JSON object a line."""
    import json

    from ..core.graph import BUILTIN_CONCURRENCY, front_matter_concurrency
    from ..core.jsonio import MalformedJSON, read_json
    from .upstream import config_path, custom_phases, find_skill, skill_roots, wave_order

    sprint = run.sprint()
    done = {pv.name for pv in sprint.view().phases if pv.status == "done"}
    raw = [p.model_dump(exclude_none=True) for p in sprint.record.phases]
    order = wave_order(raw) or list(sprint.defs)
    cfg_file = config_path(run.root, run.env)
    cfg: dict[str, Any] | None = None
    if cfg_file is not None:
        try:
            loaded = read_json(os.path.realpath(cfg_file))
            cfg = loaded if isinstance(loaded, dict) else None
        except (OSError, MalformedJSON):
            cfg = None
    registered = custom_phases(cfg) if cfg is not None else []
    home = run.env.get("HOME") or os.path.expanduser("~")
    roots = skill_roots(cfg, cfg_file, run.root, home)

    def concurrency(name: str) -> str:
        if name == "build":
            return "write"
        declared = sprint.defs[name].concurrency
        if declared is not None:
            return declared
        path = find_skill(
            name, nanostack_root=run.nanostack_root, registered=registered, roots=roots
        )
        if path is not None:
            return front_matter_concurrency(_read_text(path)) or "write"
        if run.nanostack_root is None and name in BUILTIN_CONCURRENCY:
            return BUILTIN_CONCURRENCY[name]
        err(f"conductor: no SKILL.md found for phase '{name}'; defaulting concurrency=write")
        return "write"

    number = 0
    current: list[str] = []
    kind = ""
    scheduled = set(done)

    def flush() -> None:
        nonlocal number
        if current:
            number += 1
            line = {"batch": number, "type": kind, "phases": list(current)}
            out(json.dumps(line, separators=(",", ":")))
            scheduled.update(current)

    for name in order:
        if name in done:
            continue
        ready = all(dep in scheduled for dep in sprint.defs[name].depends_on)
        conc = concurrency(name)
        if conc == "read" and kind == "read" and ready:
            current.append(name)
            continue
        flush()
        current, kind = [name], conc
    flush()
    return 0


def _read_text(path: str) -> str:
    """A SKILL.md's text (its first 256 KiB); empty when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(256 * 1024).decode("utf-8", "replace")
    except OSError:
        return ""


def cmd_clean(run: Run, args: Sequence[str]) -> int:
    """Delete every project's archived sprints older than 7 days (upstream's reckoning)."""
    run.store.clean(None, older_than_s=CLEAN_AGE_S)
    out("OK: cleaned archived sprints older than 7 days")
    return 0


COMMANDS: dict[str, Callable[[Run, Sequence[str]], int]] = {
    "start": cmd_start,
    "claim": cmd_claim,
    "complete": cmd_complete,
    "abort": cmd_abort,
    "status": cmd_status,
    "batch": cmd_batch,
    "clean": cmd_clean,
    "next": cmd_next,
    "unstuck": cmd_unstuck,
}


def main(argv: list[str] | None = None) -> int:
    """Run one sprint.sh command; returns its exit code (never raises, never a traceback)."""
    args = list(sys.argv[1:] if argv is None else argv)
    root: str | None = None
    if len(args) >= 2 and args[0] == "--nanostack-root":
        root, args = args[1], args[2:]
    name = args[0] if args else "status"
    command = COMMANDS.get(name or "status")
    if command is None:
        err(USAGE)
        return 1
    from ..core.errors import ConductorError

    try:
        run = Run(root)
        return command(run, args[1:])
    except Fail as exc:
        for line in exc.lines:
            err(line)
        return exc.code
    except ConductorError as exc:
        err(f"{'ERROR' if exc.word == 'ERROR' else exc.word}: {show(exc.message)}")
        return 1 if exc.exit_code == 1 else 2
    except OSError as exc:
        from ..core.store import describe_os_error

        err(f"ERROR: {show(describe_os_error(exc))}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 1
    raise SystemExit(code)
