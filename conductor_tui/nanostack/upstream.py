"""nanostack's rules, as sprint.sh and its phase registry apply them, restated for our store.

Learned from reading and running upstream (conductor/bin/sprint.sh, bin/lib/phases.sh,
bin/lib/store-path.sh): who the caller is, which phase arguments are refused before any path is
built, which config file holds the graph and the registry, when a graph is valid, the order in
which batches are walked, where a phase's SKILL.md is looked for, and which phases a session may
start next. Standard library only: the hot commands import this module whole.
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False  # typing itself costs milliseconds on every call
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

# The phases every nanostack install knows; a graph may also hold conductor's `build` stage.
CORE_PHASES: tuple[str, ...] = ("think", "plan", "review", "security", "qa", "ship")
GRAPH_BUILTINS: tuple[str, ...] = (*CORE_PHASES, "build")
NAME_RE = re.compile(r"[a-z][a-z0-9-]*")


def account_name() -> str:
    """The system's name for the effective user, as `whoami` prints it (never $USER, which
    containers and tmux often leave unset); the numeric id when the system has no name."""
    import pwd

    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name or str(uid)
    except KeyError:
        return str(uid)


def _clean(text: str) -> str:
    """A piece of an agent name made of characters every agent name may hold."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text) or "unknown"


def detect_agent(env: Mapping[str, str], ppid: int, account: str | None = None) -> str:
    """The caller's agent name, in upstream's order: $NANOSTACK_AGENT, a Claude, Codex or
    OpenCode session, else agent-<account>-<parent pid>."""
    if env.get("NANOSTACK_AGENT"):
        return env["NANOSTACK_AGENT"]
    if env.get("CLAUDE_SESSION_ID"):
        return f"claude-{_clean(env['CLAUDE_SESSION_ID'][:8])}"
    if env.get("CLAUDE_CODE"):
        return f"claude-{ppid}"
    if env.get("CODEX_SESSION_ID"):
        return f"codex-{_clean(env['CODEX_SESSION_ID'][:8])}"
    if env.get("OPENCODE_SESSION_ID"):
        return f"opencode-{_clean(env['OPENCODE_SESSION_ID'][:8])}"
    return f"agent-{_clean(account if account is not None else account_name())}-{ppid}"


def safe_segment(phase: str) -> bool:
    """Upstream's first check of a phase argument: one path segment (not empty, no slash, no
    `..`, no leading dash). Names that pass are then looked up in the sprint."""
    return bool(phase) and not phase.startswith("-") and "/" not in phase and ".." not in phase


# ---------------------------------------------------------------- config and phase registry


def config_path(store_root: str, env: Mapping[str, str]) -> str | None:
    """The config file upstream reads the graph and the registry from: the store's, else the
    home store's; None when neither exists."""
    candidates = [os.path.join(store_root, "config.json")]
    if env.get("HOME"):
        candidates.append(os.path.join(env["HOME"], ".nanostack", "config.json"))
    for path in candidates:
        if os.path.isfile(path):
            return path
    return None


def custom_phases(config: Mapping[str, Any]) -> list[str]:
    """The custom phases a config registers: valid names only, core names and repeats dropped."""
    raw = config.get("custom_phases")
    if not isinstance(raw, list):
        return []
    out: list[str] = []
    for name in raw:
        valid = isinstance(name, str) and NAME_RE.fullmatch(name) is not None
        if valid and name not in CORE_PHASES and name not in out:
            out.append(name)
    return out


def graph_is_valid(raw: object, registered: Iterable[str]) -> bool:
    """Upstream's test of a phase graph: a non-empty array of {name, depends_on} with string
    names matching the phase rule and known to the registry (core, `build`, or registered),
    no duplicate, every dependency in the graph, and no cycle."""
    if not isinstance(raw, list) or not raw:
        return False
    known = set(GRAPH_BUILTINS) | set(registered)
    names: list[str] = []
    deps: dict[str, list[str]] = {}
    for item in raw:
        if not isinstance(item, dict):
            return False
        name, after = item.get("name"), item.get("depends_on")
        if not isinstance(name, str) or not isinstance(after, list):
            return False
        if not all(isinstance(d, str) for d in after):
            return False
        if not NAME_RE.fullmatch(name) or name not in known or name in deps:
            return False
        names.append(name)
        deps[name] = list(after)
    if any(d not in deps for after in deps.values() for d in after):
        return False
    return wave_order(raw) is not None


def wave_order(raw: Sequence[Any]) -> list[str] | None:
    """Upstream's topological order: in waves, each wave every phase whose dependencies came in
    earlier waves, in graph order. None when the graph has a cycle."""
    pending = [
        (item["name"], set(item.get("depends_on") or ()))
        for item in raw
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    ]
    order: list[str] = []
    placed: set[str] = set()
    while pending:
        wave = [name for name, after in pending if after <= placed]
        if not wave:
            return None
        order.extend(wave)
        placed.update(wave)
        pending = [(name, after) for name, after in pending if name not in placed]
    return order


# ---------------------------------------------------------------- sessions: what is ready


def ready_from_graph(
    graph: Sequence[Any], completed: Iterable[object], in_progress: Iterable[object]
) -> list[str]:
    """The phases a session may start next, in graph order: not completed, not in progress,
    every dependency satisfied. `build` leaves no session record, so it counts as satisfied once
    its own dependencies are completed, unless it is in progress itself."""
    base = {c for c in completed if isinstance(c, str)}
    active = {a for a in in_progress if isinstance(a, str)}
    satisfied = set(base)
    build = next((n for n in graph if isinstance(n, dict) and n.get("name") == "build"), None)
    if build is not None:
        needs = build.get("depends_on") or []
        if all(d in base for d in needs) and "build" not in active:
            satisfied.add("build")
    ready: list[str] = []
    for node in graph:
        if not isinstance(node, dict):
            continue
        name = node.get("name")
        if not isinstance(name, str) or not name or name in satisfied or name in active:
            continue
        if all(d in satisfied for d in node.get("depends_on") or []):
            ready.append(name)
    return ready


def log_phases(log: object, status: str) -> list[str]:
    """The phases of a session's phase_log entries with this status; none when the log cannot
    be read that way (upstream's reading fails as a whole, then counts none)."""
    if log is None or log is False:
        return []
    if isinstance(log, dict):
        entries: list[Any] = list(log.values())
    elif isinstance(log, list):
        entries = log
    else:
        return []
    out: list[str] = []
    for entry in entries:
        if entry is None:
            continue
        if not isinstance(entry, dict):
            return []
        phase = entry.get("phase")
        if entry.get("status") == status and isinstance(phase, str) and phase not in out:
            out.append(phase)
    return out


# ---------------------------------------------------------------- skills: concurrency


def skill_roots(
    config: Mapping[str, Any] | None, config_file: str | None, store_root: str, home: str
) -> list[str]:
    """Where a registered custom phase's skill is looked for, in upstream's order."""
    roots: list[str] = []
    extra = config.get("skill_roots") if config is not None else None
    if isinstance(extra, list):
        roots += [r for r in extra if isinstance(r, str) and r]
    roots.append(os.path.join(store_root, "skills"))
    if config_file is not None:
        roots.append(os.path.join(os.path.dirname(config_file), "skills"))
    roots.append(os.path.join(".nanostack", "skills"))
    roots += [os.path.join(home, ".claude", "skills"), os.path.join(home, ".agents", "skills")]
    out: list[str] = []
    for root in roots:
        if root.startswith("~/"):
            root = os.path.join(home, root[2:])
        if root not in out:
            out.append(root)
    return out


def find_skill(
    phase: str,
    *,
    nanostack_root: str | None,
    registered: Sequence[str],
    roots: Sequence[str],
) -> str | None:
    """The SKILL.md that declares a phase's concurrency: the nanostack checkout's own skill
    first; a registered custom phase's in the skill roots; None when there is none."""
    if nanostack_root:
        path = os.path.join(nanostack_root, phase, "SKILL.md")
        if os.path.isfile(path):
            return path
    if phase in CORE_PHASES or phase not in registered:
        return None
    for root in roots:
        path = os.path.join(root, phase, "SKILL.md")
        if os.path.isdir(os.path.join(root, phase)) and os.path.isfile(path):
            return path
    return None
