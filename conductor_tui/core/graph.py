"""The phase graph: validation, orderings, concurrency classes and the batch planner."""

from __future__ import annotations

import heapq
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence

from conductor_tui.core.errors import BadInput
from conductor_tui.core.models import BatchView, PhaseDef
from conductor_tui.core.vocab import WORDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conductor_tui.core.vocab import Concurrency

NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")
MAX_NAME = 64
MAX_SKILL_BYTES = 256 * 1024

CLASSES: tuple[str, ...] = WORDS["Concurrency"]

BUILTIN_CONCURRENCY: dict[str, Concurrency] = {
    "think": "read",
    "plan": "read",
    "review": "read",
    "security": "read",
    "qa": "read",
    "build": "write",
    "ship": "exclusive",
}


class GraphError(BadInput):
    """The phase graph is not valid: the message names the problem."""


def valid_name(name: object) -> bool:
    """True when name is a string usable as a phase name (and so as a path component)."""
    # fullmatch, not match: `$` also matches before a trailing newline.
    return isinstance(name, str) and len(name) <= MAX_NAME and NAME_RE.fullmatch(name) is not None


# ---------------------------------------------------------------- validation


def _check_item(index: int, item: object) -> PhaseDef:
    """Check one raw phase (index is 1-based, for messages) and build its model."""
    return PhaseDef.model_validate(_checked(index, item))


def _checked(index: int, item: object) -> dict[str, object]:
    """One raw phase checked against the graph's rules, as the data of its model."""
    if not isinstance(item, dict):
        raise GraphError(f"phase {index} is not a JSON object (got {type(item).__name__})")
    if "name" not in item:
        raise GraphError(f"phase {index} has no name")
    name = item["name"]
    if not isinstance(name, str):
        raise GraphError(f"phase {index} name must be a string (got {type(name).__name__})")
    if len(name) > MAX_NAME:
        raise GraphError(
            f"phase {index} name {name[:MAX_NAME]!r}... is too long "
            f"({len(name)} characters, at most {MAX_NAME})"
        )
    if NAME_RE.fullmatch(name) is None:
        raise GraphError(f"phase {index} name {name!r} is invalid (must match {NAME_RE.pattern})")
    deps = item.get("depends_on", [])
    if deps is None:
        deps = []
    if not isinstance(deps, list):
        raise GraphError(
            f"phase {name!r} depends_on must be a list of names (got {type(deps).__name__})"
        )
    seen: set[str] = set()
    for position, dep in enumerate(deps, start=1):
        if not isinstance(dep, str):
            raise GraphError(
                f"phase {name!r} depends_on entry {position} is not a string "
                f"(got {type(dep).__name__})"
            )
        if dep == name:
            raise GraphError(f"{name!r} depends on itself")
        if dep in seen:
            raise GraphError(f"{name!r} lists {dep!r} twice in depends_on")
        seen.add(dep)
    concurrency = item.get("concurrency")
    if concurrency is not None and (not isinstance(concurrency, str) or concurrency not in CLASSES):
        raise GraphError(
            f"phase {name!r} concurrency {concurrency!r} is invalid "
            f"(must be one of {', '.join(CLASSES)})"
        )
    data = dict(item)
    data["depends_on"] = list(deps)
    return data


def _find_cycle(phases: Sequence[PhaseDef], stuck: set[str]) -> list[str]:
    """A cycle among the phases Kahn's algorithm could not order, in execution direction."""
    deps = {phase.name: phase.depends_on for phase in phases}
    position = {phase.name: i for i, phase in enumerate(phases)}
    # Every stuck phase has a stuck dependency, so walking dependencies must revisit a phase.
    node = next(phase.name for phase in phases if phase.name in stuck)
    path: list[str] = []
    seen: dict[str, int] = {}
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(dep for dep in deps[node] if dep in stuck)
    cycle = path[seen[node] :]
    cycle.reverse()  # dependency -> dependent, the way work flows
    start = min(range(len(cycle)), key=lambda i: position[cycle[i]])
    return cycle[start:] + cycle[:start]


def _kahn(phases: Sequence[PhaseDef]) -> list[str]:
    """Kahn's order choosing, among ready phases, the one earliest in the list; may be partial."""
    position = {phase.name: i for i, phase in enumerate(phases)}
    missing = {phase.name: 0 for phase in phases}
    children: dict[str, list[str]] = {phase.name: [] for phase in phases}
    for phase in phases:
        for dep in phase.depends_on:
            if dep in children:
                children[dep].append(phase.name)
                missing[phase.name] += 1
            else:
                missing[phase.name] += 1  # an unknown dependency never becomes ready
    heap = [position[name] for name, count in missing.items() if count == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        name = phases[heapq.heappop(heap)].name
        order.append(name)
        for child in children[name]:
            missing[child] -= 1
            if missing[child] == 0:
                heapq.heappush(heap, position[child])
    return order


def validate_graph(raw: object) -> list[PhaseDef]:
    """Check a parsed JSON phase graph and return its phases, or raise GraphError naming why."""
    if not isinstance(raw, list):
        raise GraphError(f"phase graph must be a JSON array (got {type(raw).__name__})")
    if not raw:
        raise GraphError("phase graph is empty")
    phases = [_check_item(index, item) for index, item in enumerate(raw, start=1)]
    _check_whole(phases)
    return phases


def check_graph(phases: Sequence[PhaseDef]) -> None:
    """validate_graph's rules, with its messages, for phases already read into records (a
    sprint.json being opened): nothing is built again."""
    if not phases:
        raise GraphError("phase graph is empty")
    for index, phase in enumerate(phases, start=1):
        item = {"name": phase.name, "depends_on": phase.depends_on}
        if phase.concurrency is not None:
            item["concurrency"] = phase.concurrency
        _checked(index, item)
    _check_whole(phases)


def _check_whole(phases: Sequence[PhaseDef]) -> None:
    """Names unique, every dependency a phase of the graph, no cycle."""
    names: set[str] = set()
    for phase in phases:
        if phase.name in names:
            raise GraphError(f"duplicate phase name {phase.name!r}")
        names.add(phase.name)
    for phase in phases:
        for dep in phase.depends_on:
            if dep not in names:
                raise GraphError(f"{phase.name!r} depends on unknown phase {dep!r}")
    order = _kahn(phases)
    if len(order) != len(phases):
        cycle = _find_cycle(phases, names.difference(order))
        raise GraphError("cycle: " + " -> ".join([*cycle, cycle[0]]))


# ---------------------------------------------------------------- orderings and views


def topo_order(phases: Sequence[PhaseDef]) -> list[str]:
    """Deterministic topological order: among ready phases, the one earliest in the list."""
    order = _kahn(phases)
    if len(order) != len(phases):
        raise GraphError("phase graph has a cycle or an unknown dependency")
    return order


def dependents(phases: Sequence[PhaseDef]) -> dict[str, list[str]]:
    """For each phase, the phases that depend on it, in list order."""
    out: dict[str, list[str]] = {phase.name: [] for phase in phases}
    for phase in phases:
        for dep in phase.depends_on:
            if dep in out:
                out[dep].append(phase.name)
    return out


def layers(phases: Sequence[PhaseDef]) -> list[list[str]]:
    """Longest-path layering (roots at 0, else 1 + deepest dependency), each layer in list order."""
    depth: dict[str, int] = {}
    by_name = {phase.name: phase for phase in phases}
    for name in topo_order(phases):
        deps = by_name[name].depends_on
        depth[name] = 1 + max(depth[dep] for dep in deps) if deps else 0
    out: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for phase in phases:
        out[depth[phase.name]].append(phase.name)
    return out


def critical_path(phases: Sequence[PhaseDef], done: set[str]) -> list[str]:
    """The longest dependency chain of not-done phases (by count); ties go to list order."""
    position = {phase.name: i for i, phase in enumerate(phases)}
    by_name = {phase.name: phase for phase in phases}
    # best[name]: the chain ending at name, as list positions; longer wins, then smaller positions.
    best: dict[str, tuple[int, ...]] = {}
    for name in topo_order(phases):
        if name in done:
            continue
        chain: tuple[int, ...] = ()
        for dep in by_name[name].depends_on:
            candidate = best.get(dep)
            if candidate is not None and (
                len(candidate) > len(chain) or (len(candidate) == len(chain) and candidate < chain)
            ):
                chain = candidate
        best[name] = (*chain, position[name])
    if not best:
        return []
    winner = min(best.values(), key=lambda chain: (-len(chain), chain))
    return [phases[i].name for i in winner]


# ---------------------------------------------------------------- concurrency classes


STRICTNESS = {"read": 0, "write": 1, "exclusive": 2}


def _front_matter_value(text: str) -> str | None:
    """The raw value of the `concurrency:` line of a closed front matter, or None."""
    lines = text.removeprefix("\ufeff").splitlines()
    if not lines or lines[0].rstrip() != "---":
        return None
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == "---")
    except StopIteration:
        return None  # opened but never closed: yields nothing
    values = []
    for line in lines[1:end]:
        key, sep, rest = line.partition(":")
        if not sep or key.rstrip() != "concurrency" or key != key.lstrip():
            continue
        value = rest.strip()
        if len(value) >= 2 and value[0] in "'\"" and value[0] in value[1:]:
            value = value[1 : value.index(value[0], 1)]
        else:
            value = value.split(" #", 1)[0].strip()
        values.append(value)
    if len(values) > 1:
        # conflicting lines: the strictest class wins, never a looser one by accident of order
        known = [v for v in values if v in STRICTNESS]
        if known:
            return max(known, key=STRICTNESS.__getitem__)
    return values[0] if values else None


def front_matter_concurrency(text: str) -> Concurrency | None:
    """The concurrency class declared in a SKILL.md's closed front matter, or None."""
    value = _front_matter_value(text)
    if value == "read":
        return "read"
    if value == "write":
        return "write"
    if value == "exclusive":
        return "exclusive"
    return None


def _read_capped(path: str) -> str | None:
    """A regular file's text (first MAX_SKILL_BYTES), or None when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None  # never block on a FIFO or read a device
        chunks: list[bytes] = []
        size = 0
        while size < MAX_SKILL_BYTES:
            chunk = os.read(fd, MAX_SKILL_BYTES - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
        if size >= MAX_SKILL_BYTES and os.read(fd, 1):
            # Truncated: drop the partial last line so a cut multi-byte character cannot fail.
            data = data[: data.rfind(b"\n") + 1]
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)


def _expand_root(root: str, home: str) -> str:
    """A skill root with a leading `~` replaced by home."""
    if root == "~":
        return home
    if root.startswith("~/"):
        return os.path.join(home, root[2:])
    return root


def skill_paths(
    name: str, *, store: str, skill_roots: Sequence[str] = (), home: str | None = None
) -> list[str]:
    """The SKILL.md paths searched for a phase, in precedence order (none for a bad name)."""
    return _candidates(name, ((root, None) for root in _skill_roots(store, skill_roots, home)))


def _candidates(name: str, roots: Iterable[tuple[str, frozenset[str] | None]]) -> list[str]:
    """<root>/<name>/SKILL.md for each root, in order, leaving out the roots listed without a
    folder of that name (a listing of None: unknown, kept); none for a bad name."""
    if not valid_name(name):
        return []
    return [
        os.path.join(root, name, "SKILL.md")
        for root, names in roots
        if names is None or name in names
    ]


def _skill_roots(store: str, skill_roots: Sequence[str], home: str | None) -> list[str]:
    """The folders searched for <phase>/SKILL.md, in precedence order."""
    home_dir = os.path.expanduser("~") if home is None else home
    roots = [_expand_root(root, home_dir) for root in skill_roots if root]
    roots += [
        os.path.join(store, "skills"),
        os.path.join(home_dir, ".claude", "skills"),
        os.path.join(home_dir, ".agents", "skills"),
    ]
    return roots


def _listing(root: str) -> frozenset[str] | None:
    """The entries of a skill root: none when it is missing or not a folder; None (anything
    may be there, the open decides) when it cannot be listed, e.g. without read permission."""
    try:
        return frozenset(os.listdir(root))
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()
    except OSError:
        return None


def resolve_concurrency(
    phases: Sequence[PhaseDef],
    *,
    store: str,
    skill_roots: Sequence[str] = (),
    home: str | None = None,
) -> tuple[dict[str, Concurrency], dict[str, str], list[str]]:
    """Each phase's concurrency class and where it came from, plus warnings."""
    classes: dict[str, Concurrency] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    # each skill root is listed once, and a phase is looked for only in the roots that have a
    # folder of its name (skill_paths' order): 1,000 phases and no skills cost a few listings,
    # not 3,000 failed opens
    roots = [(root, _listing(root)) for root in _skill_roots(store, skill_roots, home)]
    for phase in phases:
        name = phase.name
        if phase.concurrency is not None:
            classes[name], sources[name] = phase.concurrency, "sprint.json"
            continue
        found: Concurrency | None = None
        for path in _candidates(name, roots):
            text = _read_capped(path)
            if text is None:
                continue
            found = front_matter_concurrency(text)
            if found is not None:
                classes[name], sources[name] = found, f"SKILL.md {path}"
                break
            raw = _front_matter_value(text)
            if raw is not None:
                warnings.append(
                    f"phase {name!r}: {path} declares unknown concurrency {raw!r}; ignored"
                )
        if found is not None:
            continue
        builtin = BUILTIN_CONCURRENCY.get(name)
        if builtin is not None:
            classes[name], sources[name] = builtin, "built-in"
            continue
        classes[name], sources[name] = "write", "default"
        warnings.append(f"phase {name!r}: no concurrency class found; assuming write")
    return classes, sources, warnings


# ---------------------------------------------------------------- batches


def _class_of(classes: Mapping[str, Concurrency], name: str) -> Concurrency:
    """A phase's class, defaulting to write (the safe choice) when unknown."""
    return classes.get(name, "write")


def upstream_batches(
    phases: Sequence[PhaseDef], classes: Mapping[str, Concurrency], done: set[str]
) -> list[BatchView]:
    """Upstream's plan: consecutive reads of the topological order share a batch."""
    deps = {phase.name: set(phase.depends_on) for phase in phases}
    groups: list[tuple[Concurrency, list[str]]] = []
    for name in topo_order(phases):
        if name in done:
            continue
        kind = _class_of(classes, name)
        if kind == "read" and groups and groups[-1][0] == "read":
            current = groups[-1][1]
            if not deps[name].intersection(current):
                current.append(name)
                continue
        groups.append((kind, [name]))
    return [
        BatchView(batch=i, type=kind, phases=members)
        for i, (kind, members) in enumerate(groups, start=1)
    ]


def _greedy_batches(
    phases: Sequence[PhaseDef], classes: Mapping[str, Concurrency], done: set[str]
) -> list[BatchView]:
    """Greedy list scheduling: all ready reads together, else the first ready writer alone.

    Linear in phases plus edges: each phase becomes ready once, when its last dependency settles.
    """
    order = topo_order(phases)
    rank = {name: i for i, name in enumerate(order)}
    waiting = {
        p.name: sum(1 for dep in p.depends_on if dep not in done)
        for p in phases
        if p.name not in done
    }
    after: dict[str, list[str]] = {name: [] for name in rank}
    for p in phases:
        for dep in p.depends_on:
            after[dep].append(p.name)
    reads: list[tuple[int, str]] = []
    others: list[tuple[int, str]] = []

    def release(name: str) -> None:
        queue = reads if _class_of(classes, name) == "read" else others
        heapq.heappush(queue, (rank[name], name))

    for name, count in waiting.items():
        if count == 0:
            release(name)
    out: list[BatchView] = []
    scheduled = 0
    while reads or others:
        if reads:
            chosen = [name for _, name in sorted(reads)]
            reads.clear()
            kind: Concurrency = "read"
        else:
            chosen = [heapq.heappop(others)[1]]
            kind = _class_of(classes, chosen[0])
        out.append(BatchView(batch=len(out) + 1, type=kind, phases=chosen))
        scheduled += len(chosen)
        for name in chosen:
            for nxt in after[name]:
                if nxt in waiting:
                    waiting[nxt] -= 1
                    if waiting[nxt] == 0:
                        release(nxt)
    if scheduled != len(waiting):
        raise GraphError("phase graph cannot be scheduled")
    return out


def plan_batches(
    phases: Sequence[PhaseDef], classes: Mapping[str, Concurrency], done: set[str]
) -> list[BatchView]:
    """The batch plan: greedy scheduling, never more batches than upstream's plan."""
    ours = _greedy_batches(phases, classes, done)
    theirs = upstream_batches(phases, classes, done)
    return theirs if len(theirs) < len(ours) else ours


def batches_jsonl(batches: Iterable[BatchView]) -> str:
    """Upstream's output: one JSON object per batch and line, with a trailing newline."""
    lines = [
        json.dumps({"batch": view.batch, "type": view.type, "phases": list(view.phases)})
        for view in batches
    ]
    return "".join(line + "\n" for line in lines)
