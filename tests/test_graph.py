"""Tests of the phase graph: validation, orderings, concurrency classes and batch planning."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conductor_tui.core.errors import EXIT_BAD_INPUT, BadInput
from conductor_tui.core.graph import (
    BUILTIN_CONCURRENCY,
    MAX_NAME,
    NAME_RE,
    GraphError,
    batches_jsonl,
    critical_path,
    dependents,
    front_matter_concurrency,
    layers,
    plan_batches,
    resolve_concurrency,
    topo_order,
    upstream_batches,
    validate_graph,
)
from conductor_tui.core.models import BatchView, Concurrency, PhaseDef

DEFAULT_RAW = [
    {"name": "think", "depends_on": []},
    {"name": "plan", "depends_on": ["think"]},
    {"name": "build", "depends_on": ["plan"]},
    {"name": "review", "depends_on": ["build"]},
    {"name": "security", "depends_on": ["build"]},
    {"name": "qa", "depends_on": ["build"]},
    {"name": "ship", "depends_on": ["review", "security", "qa"]},
]


def default_graph() -> list[PhaseDef]:
    return validate_graph(json.loads(json.dumps(DEFAULT_RAW)))


def graph(*spec: tuple[str, list[str]]) -> list[PhaseDef]:
    return validate_graph([{"name": name, "depends_on": deps} for name, deps in spec])


def shape(batches: Sequence[BatchView]) -> list[tuple[int, str, list[str]]]:
    return [(b.batch, b.type, list(b.phases)) for b in batches]


def assert_valid_plan(
    phases: Sequence[PhaseDef],
    classes: Mapping[str, Concurrency],
    done: set[str],
    batches: Sequence[BatchView],
) -> None:
    """The protocol's rules for a batch plan, checked independently of the planner."""
    assert [b.batch for b in batches] == list(range(1, len(batches) + 1))
    where: dict[str, int] = {}
    for b in batches:
        assert b.phases, "empty batch"
        for name in b.phases:
            assert name not in where, f"{name} scheduled twice"
            where[name] = b.batch
        if b.type == "read":
            assert all(classes[name] == "read" for name in b.phases)
        else:
            assert len(b.phases) == 1, f"{b.type} batch with {b.phases}"
            assert classes[b.phases[0]] == b.type
    assert set(where) == {p.name for p in phases if p.name not in done}
    for p in phases:
        if p.name in done:
            continue
        for dep in p.depends_on:
            if dep not in done:
                assert where[dep] < where[p.name], f"{p.name} not after its dependency {dep}"


# ---------------------------------------------------------------- validation


def test_constants() -> None:
    assert NAME_RE.pattern == r"^[a-z][a-z0-9-]*$"
    assert MAX_NAME == 64
    assert issubclass(GraphError, BadInput)
    assert GraphError("x").exit_code == EXIT_BAD_INPUT


def test_default_graph_is_valid_and_typed() -> None:
    phases = default_graph()
    assert [p.name for p in phases] == [
        "think",
        "plan",
        "build",
        "review",
        "security",
        "qa",
        "ship",
    ]
    assert phases[6].depends_on == ["review", "security", "qa"]
    assert all(isinstance(p, PhaseDef) for p in phases)


def test_depends_on_defaults_to_empty_and_extra_keys_are_kept() -> None:
    phases = validate_graph([{"name": "a", "owner": "me", "retries": 3}, {"name": "b"}])
    assert phases[0].depends_on == []
    dumped = phases[0].model_dump()
    assert dumped["owner"] == "me"
    assert dumped["retries"] == 3
    assert phases[1].concurrency is None


def test_concurrency_key_accepted() -> None:
    phases = validate_graph([{"name": "a", "concurrency": "exclusive"}, {"name": "b"}])
    assert phases[0].concurrency == "exclusive"


def bad(raw: object) -> str:
    with pytest.raises(GraphError) as info:
        validate_graph(raw)
    return info.value.message


def test_not_a_list() -> None:
    assert bad({"name": "think"}) == "phase graph must be a JSON array (got dict)"
    assert bad("think") == "phase graph must be a JSON array (got str)"
    assert bad(None) == "phase graph must be a JSON array (got NoneType)"


def test_empty_list() -> None:
    assert bad([]) == "phase graph is empty"


def test_non_object_item() -> None:
    assert bad([{"name": "a"}, "b"]) == "phase 2 is not a JSON object (got str)"
    assert bad([["a"]]) == "phase 1 is not a JSON object (got list)"


def test_missing_or_non_string_name() -> None:
    assert bad([{"depends_on": []}]) == "phase 1 has no name"
    assert bad([{"name": "a"}, {"name": 7}]) == "phase 2 name must be a string (got int)"


def test_bad_name() -> None:
    raw = [{"name": "think"}, {"name": "plan"}, {"name": "Build"}]
    assert bad(raw) == "phase 3 name 'Build' is invalid (must match ^[a-z][a-z0-9-]*$)"
    for name in ["", "1a", "-a", "a_b", "a b", "a/b", "..", "é"]:
        assert "is invalid" in bad([{"name": name}]), name


def test_trailing_newline_name_is_refused() -> None:
    # re's `$` matches before a final newline; the name must still be refused.
    assert bad([{"name": "build\n"}]) == (
        "phase 1 name 'build\\n' is invalid (must match ^[a-z][a-z0-9-]*$)"
    )


def test_name_length_limit() -> None:
    assert validate_graph([{"name": "a" * MAX_NAME}])[0].name == "a" * MAX_NAME
    message = bad([{"name": "a" * (MAX_NAME + 1)}])
    assert message.startswith("phase 1 name 'aaaa")
    assert "too long (65 characters, at most 64)" in message


def test_untrusted_names_are_repr_in_messages() -> None:
    message = bad([{"name": "x\x1b[31mred"}])
    assert "\x1b" not in message
    assert "'x\\x1b[31mred'" in message
    message = bad([{"name": "a", "depends_on": ["\x1b]0;pwn\x07"]}])
    assert "\x1b" not in message and "\x07" not in message
    assert message == "'a' depends on unknown phase '\\x1b]0;pwn\\x07'"


def test_duplicate_name() -> None:
    raw = [{"name": "think"}, {"name": "plan"}, {"name": "plan", "depends_on": ["think"]}]
    assert bad(raw) == "duplicate phase name 'plan'"


def test_dangling_dependency() -> None:
    raw = [{"name": "build"}, {"name": "ship", "depends_on": ["build", "deploy"]}]
    assert bad(raw) == "'ship' depends on unknown phase 'deploy'"


def test_self_dependency() -> None:
    assert bad([{"name": "plan", "depends_on": ["plan"]}]) == "'plan' depends on itself"


def test_duplicate_dependency_entry() -> None:
    raw = [{"name": "think"}, {"name": "plan", "depends_on": ["think", "think"]}]
    assert bad(raw) == "'plan' lists 'think' twice in depends_on"


def test_depends_on_types() -> None:
    assert bad([{"name": "a", "depends_on": "b"}]) == (
        "phase 'a' depends_on must be a list of names (got str)"
    )
    assert bad([{"name": "b"}, {"name": "a", "depends_on": ["b", 3]}]) == (
        "phase 'a' depends_on entry 2 is not a string (got int)"
    )


def test_bad_concurrency() -> None:
    assert bad([{"name": "a", "concurrency": "fast"}]) == (
        "phase 'a' concurrency 'fast' is invalid (must be one of read, write, exclusive)"
    )
    assert "concurrency 1 is invalid" in bad([{"name": "a", "concurrency": 1}])


def test_two_cycle_is_named() -> None:
    raw = [{"name": "plan", "depends_on": ["build"]}, {"name": "build", "depends_on": ["plan"]}]
    assert bad(raw) == "cycle: plan -> build -> plan"


def test_cycle_behind_a_tail_is_named_without_the_tail() -> None:
    # z hangs off the cycle and comes first in the list; it is not part of the cycle.
    raw = [
        {"name": "z", "depends_on": ["c"]},
        {"name": "think"},
        {"name": "a", "depends_on": ["think", "c"]},
        {"name": "b", "depends_on": ["a"]},
        {"name": "c", "depends_on": ["b"]},
    ]
    assert bad(raw) == "cycle: a -> b -> c -> a"


# ---------------------------------------------------------------- orderings


def test_topo_order_prefers_list_order() -> None:
    phases = graph(("ship", ["b", "a"]), ("b", []), ("a", []), ("c", ["a"]))
    assert topo_order(phases) == ["b", "a", "ship", "c"]
    assert topo_order(default_graph()) == [
        "think",
        "plan",
        "build",
        "review",
        "security",
        "qa",
        "ship",
    ]


def test_dependents_in_list_order() -> None:
    assert dependents(default_graph()) == {
        "think": ["plan"],
        "plan": ["build"],
        "build": ["review", "security", "qa"],
        "review": ["ship"],
        "security": ["ship"],
        "qa": ["ship"],
        "ship": [],
    }


def test_layers_longest_path() -> None:
    assert layers(default_graph()) == [
        ["think"],
        ["plan"],
        ["build"],
        ["review", "security", "qa"],
        ["ship"],
    ]
    # d depends on a root and on a depth-2 phase: it goes to layer 3, not 1.
    phases = graph(("d", ["a", "c"]), ("a", []), ("b", ["a"]), ("c", ["b"]), ("e", []))
    assert layers(phases) == [["a", "e"], ["b"], ["c"], ["d"]]


def test_critical_path() -> None:
    phases = default_graph()
    assert critical_path(phases, set()) == ["think", "plan", "build", "review", "ship"]
    assert critical_path(phases, {"think", "plan"}) == ["build", "review", "ship"]
    assert critical_path(phases, {"think", "plan", "build", "review"}) == ["security", "ship"]
    assert critical_path(phases, {p.name for p in phases}) == []


def test_critical_path_prefers_longer_over_list_order() -> None:
    phases = graph(("x", []), ("y", []), ("a", []), ("b", ["a"]), ("c", ["b"]), ("z", ["x"]))
    assert critical_path(phases, set()) == ["a", "b", "c"]
    assert critical_path(phases, {"a"}) == ["x", "z"]


# ---------------------------------------------------------------- front matter


def test_front_matter_closed() -> None:
    text = "---\nname: review\nconcurrency: read\ndescription: x\n---\n# Review\n"
    assert front_matter_concurrency(text) == "read"
    assert front_matter_concurrency("---\nconcurrency:   exclusive  \n---\n") == "exclusive"
    assert front_matter_concurrency("---\r\nconcurrency: write\r\n---\r\nbody") == "write"


def test_front_matter_quoted() -> None:
    assert front_matter_concurrency('---\nconcurrency: "write"\n---\n') == "write"
    assert front_matter_concurrency("---\nconcurrency: 'read'\n---\n") == "read"
    assert front_matter_concurrency("---\nconcurrency: ' read '\n---\n") is None


def test_front_matter_unclosed() -> None:
    assert front_matter_concurrency("---\nconcurrency: read\n# body, never closed\n") is None
    assert front_matter_concurrency("---\nconcurrency: read") is None


def test_front_matter_missing_line_or_bad_value() -> None:
    assert front_matter_concurrency("---\nname: review\n---\nconcurrency: read\n") is None
    assert front_matter_concurrency("---\nconcurrency: parallel\n---\n") is None
    assert front_matter_concurrency("---\nconcurrency:\n---\n") is None
    assert front_matter_concurrency("---\nconcurrency: Read\n---\n") is None
    assert front_matter_concurrency("") is None


def test_front_matter_not_at_top() -> None:
    assert front_matter_concurrency("# Title\n---\nconcurrency: read\n---\n") is None
    assert front_matter_concurrency("\n---\nconcurrency: read\n---\n") is None


def test_front_matter_nested_key_does_not_count() -> None:
    assert front_matter_concurrency("---\nmeta:\n  concurrency: read\n---\n") is None
    assert front_matter_concurrency("---\nmax_concurrency: read\n---\n") is None


# ---------------------------------------------------------------- resolve_concurrency


def write_skill(root: Path, phase: str, value: str | None, *, closed: bool = True) -> Path:
    path = root / phase / "SKILL.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    front = f"concurrency: {value}\n" if value is not None else "name: x\n"
    path.write_text("---\n" + front + ("---\n" if closed else "") + "# Skill\n")
    return path


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    out = {name: tmp_path / name for name in ["store", "home", "root1", "root2"]}
    for path in out.values():
        path.mkdir()
    return out


def resolve(
    phases: Sequence[PhaseDef], dirs: Mapping[str, Path], roots: Sequence[str] = ()
) -> tuple[dict[str, Concurrency], dict[str, str], list[str]]:
    return resolve_concurrency(
        phases, store=str(dirs["store"]), skill_roots=roots, home=str(dirs["home"])
    )


def test_resolve_builtins_and_default(dirs: dict[str, Path]) -> None:
    phases = validate_graph([*DEFAULT_RAW, {"name": "deploy", "depends_on": ["ship"]}])
    classes, sources, warnings = resolve(phases, dirs)
    assert classes == {**BUILTIN_CONCURRENCY, "deploy": "write"}
    assert sources["build"] == "built-in"
    assert sources["deploy"] == "default"
    assert warnings == ["phase 'deploy': no concurrency class found; assuming write"]


def test_resolve_precedence(dirs: dict[str, Path]) -> None:
    store_skills = dirs["store"] / "skills"
    claude = dirs["home"] / ".claude" / "skills"
    agents = dirs["home"] / ".agents" / "skills"
    roots = [str(dirs["root1"]), str(dirs["root2"])]
    phases = validate_graph([{"name": "x"}])

    expected: list[tuple[Path, Concurrency]] = [
        (agents, "exclusive"),
        (claude, "read"),
        (store_skills, "exclusive"),
        (dirs["root2"], "read"),
        (dirs["root1"], "exclusive"),
    ]
    # Add sources from lowest to highest precedence: each new one must win.
    for root, value in expected:
        path = write_skill(root, "x", value)
        classes, sources, warnings = resolve(phases, dirs, roots)
        assert classes == {"x": value}, root
        assert sources == {"x": f"SKILL.md {path}"}
        assert warnings == []

    # sprint.json beats every SKILL.md.
    phases = validate_graph([{"name": "x", "concurrency": "write"}])
    classes, sources, _ = resolve(phases, dirs, roots)
    assert classes == {"x": "write"}
    assert sources == {"x": "sprint.json"}


def test_skill_md_beats_builtin(dirs: dict[str, Path]) -> None:
    path = write_skill(dirs["home"] / ".claude" / "skills", "review", "write")
    classes, sources, _ = resolve(default_graph(), dirs)
    assert classes["review"] == "write"
    assert sources["review"] == f"SKILL.md {path}"
    assert sources["qa"] == "built-in"


def test_skill_without_a_class_falls_through(dirs: dict[str, Path]) -> None:
    phases = validate_graph([{"name": "x"}])
    write_skill(dirs["root1"], "x", None)  # no concurrency line
    write_skill(dirs["root2"], "x", "read", closed=False)  # unclosed: yields nothing
    lower = write_skill(dirs["store"] / "skills", "x", "exclusive")
    classes, sources, _ = resolve(phases, dirs, [str(dirs["root1"]), str(dirs["root2"])])
    assert classes == {"x": "exclusive"}
    assert sources == {"x": f"SKILL.md {lower}"}


def test_unknown_value_in_skill_warns(dirs: dict[str, Path]) -> None:
    write_skill(dirs["store"] / "skills", "qa", "parallel")
    classes, sources, warnings = resolve(default_graph(), dirs)
    assert classes["qa"] == "read"
    assert sources["qa"] == "built-in"
    assert len(warnings) == 1 and "'parallel'" in warnings[0] and "'qa'" in warnings[0]


def test_unreadable_skill_files_are_not_found(dirs: dict[str, Path]) -> None:
    phases = validate_graph([{"name": "x"}])
    bad_utf8 = dirs["root1"] / "x" / "SKILL.md"
    bad_utf8.parent.mkdir()
    bad_utf8.write_bytes(b"---\nconcurrency: read\n---\n\xff\xfe")
    (dirs["root2"] / "x" / "SKILL.md").mkdir(parents=True)  # a directory, not a file
    good = write_skill(dirs["home"] / ".agents" / "skills", "x", "exclusive")
    classes, sources, warnings = resolve(phases, dirs, [str(dirs["root1"]), str(dirs["root2"])])
    assert classes == {"x": "exclusive"}
    assert sources == {"x": f"SKILL.md {good}"}
    assert warnings == []


def test_skill_roots_are_listed_once_and_every_kind_of_entry_still_counts(
    dirs: dict[str, Path], tmp_path: Path
) -> None:
    """The roots are listed once for all phases: a skill folder that is a symlink is found,
    a root that is a file or missing holds nothing, and precedence is kept."""
    phases = validate_graph([{"name": "x"}, {"name": "y"}, {"name": "z"}])
    elsewhere = write_skill(tmp_path / "elsewhere", "x", "read").parent
    (dirs["root1"] / "x").symlink_to(elsewhere)  # a linked skill folder
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("not a folder\n")
    y = write_skill(dirs["store"] / "skills", "y", "exclusive")
    classes, sources, warnings = resolve(
        phases, dirs, [str(not_a_dir), str(tmp_path / "missing"), str(dirs["root1"])]
    )
    assert classes == {"x": "read", "y": "exclusive", "z": "write"}
    assert sources["x"] == f"SKILL.md {dirs['root1'] / 'x' / 'SKILL.md'}"
    assert sources["y"] == f"SKILL.md {y}"
    assert sources["z"] == "default" and len(warnings) == 1


def test_large_skill_file_is_capped_but_read(dirs: dict[str, Path]) -> None:
    path = dirs["store"] / "skills" / "x" / "SKILL.md"
    path.parent.mkdir(parents=True)
    # A multi-byte character straddles the 256 KiB cut: the cap must not turn into a decode error.
    head = "---\nconcurrency: read\n---\nx"
    body = "é" * (200 * 1024)
    path.write_text(head + body + "\n" + body + "\n", encoding="utf-8")
    assert path.stat().st_size > 256 * 1024
    assert (256 * 1024 - len(head.encode())) % 2 == 1  # the cut falls inside a character
    classes, sources, _ = resolve(validate_graph([{"name": "x"}]), dirs)
    assert classes == {"x": "read"}
    assert sources == {"x": f"SKILL.md {path}"}


def test_front_matter_beyond_cap_is_not_seen(dirs: dict[str, Path]) -> None:
    path = dirs["store"] / "skills" / "x" / "SKILL.md"
    path.parent.mkdir(parents=True)
    filler = "a: b\n" * (60 * 1024)  # 300 KiB of front matter before the line
    path.write_text("---\n" + filler + "concurrency: read\n---\n")
    classes, sources, _ = resolve(validate_graph([{"name": "x"}]), dirs)
    assert classes == {"x": "write"}
    assert sources == {"x": "default"}


def test_invalid_name_never_builds_a_path(dirs: dict[str, Path]) -> None:
    # A SKILL.md that `<store>/skills/../escape/SKILL.md` would reach must not be read.
    write_skill(dirs["store"], "escape", "read")
    write_skill(dirs["root1"], "escape", "read")
    (dirs["store"] / "skills").mkdir()  # so that `skills/..` would resolve
    (dirs["root1"] / "sub").mkdir()
    assert (dirs["root1"] / "sub" / ".." / "escape" / "SKILL.md").is_file()
    evil = PhaseDef.model_construct(name="../escape", depends_on=[], concurrency=None)
    classes, sources, warnings = resolve([evil], dirs, [str(dirs["root1"] / "sub")])
    assert classes == {"../escape": "write"}
    assert sources == {"../escape": "default"}
    assert warnings == ["phase '../escape': no concurrency class found; assuming write"]


def test_home_defaults_to_user_home(dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(dirs["home"]))
    path = write_skill(dirs["home"] / ".claude" / "skills", "x", "read")
    classes, sources, _ = resolve_concurrency(
        validate_graph([{"name": "x"}]), store=str(dirs["store"])
    )
    assert classes == {"x": "read"}
    expected = os.path.join(str(dirs["home"]), ".claude", "skills", "x", "SKILL.md")
    assert sources == {"x": f"SKILL.md {expected}"}
    assert Path(expected) == path


# ---------------------------------------------------------------- batches


def test_default_graph_batches() -> None:
    phases = default_graph()
    classes = dict(BUILTIN_CONCURRENCY)
    expected = [
        (1, "read", ["think"]),
        (2, "read", ["plan"]),
        (3, "write", ["build"]),
        (4, "read", ["review", "security", "qa"]),
        (5, "exclusive", ["ship"]),
    ]
    assert shape(upstream_batches(phases, classes, set())) == expected
    assert shape(plan_batches(phases, classes, set())) == expected


def test_done_phases_are_omitted() -> None:
    phases = default_graph()
    classes = dict(BUILTIN_CONCURRENCY)
    done = {"think", "plan", "build", "security"}
    expected = [(1, "read", ["review", "qa"]), (2, "exclusive", ["ship"])]
    assert shape(upstream_batches(phases, classes, done)) == expected
    assert shape(plan_batches(phases, classes, done)) == expected
    everything = {p.name for p in phases}
    assert plan_batches(phases, classes, everything) == []
    assert upstream_batches(phases, classes, everything) == []


def test_upstream_groups_only_consecutive_reads() -> None:
    phases = graph(("a", []), ("w", []), ("b", []))
    classes: dict[str, Concurrency] = {"a": "read", "w": "write", "b": "read"}
    assert shape(upstream_batches(phases, classes, set())) == [
        (1, "read", ["a"]),
        (2, "write", ["w"]),
        (3, "read", ["b"]),
    ]
    # The planner groups the independent reads and beats upstream.
    assert shape(plan_batches(phases, classes, set())) == [
        (1, "read", ["a", "b"]),
        (2, "write", ["w"]),
    ]


def test_writes_are_never_grouped() -> None:
    phases = graph(("a", []), ("b", []), ("c", []))
    classes: dict[str, Concurrency] = {"a": "write", "b": "exclusive", "c": "write"}
    expected = [(1, "write", ["a"]), (2, "exclusive", ["b"]), (3, "write", ["c"])]
    assert shape(upstream_batches(phases, classes, set())) == expected
    assert shape(plan_batches(phases, classes, set())) == expected


def test_plan_falls_back_to_upstream_when_greedy_is_worse() -> None:
    # Greedy runs the ready read r1 first, then w, then r2 (3 batches); upstream needs 2.
    phases = graph(("w", []), ("r1", []), ("r2", ["w"]))
    classes: dict[str, Concurrency] = {"w": "write", "r1": "read", "r2": "read"}
    upstream = upstream_batches(phases, classes, set())
    assert shape(upstream) == [(1, "write", ["w"]), (2, "read", ["r1", "r2"])]
    assert shape(plan_batches(phases, classes, set())) == shape(upstream)


def test_unknown_class_defaults_to_write() -> None:
    phases = graph(("a", []), ("b", []))
    batches = plan_batches(phases, {"a": "read"}, set())
    assert shape(batches) == [(1, "read", ["a"]), (2, "write", ["b"])]


def test_batches_jsonl() -> None:
    phases = default_graph()
    text = batches_jsonl(plan_batches(phases, dict(BUILTIN_CONCURRENCY), {"think", "plan"}))
    assert text == (
        '{"batch": 1, "type": "write", "phases": ["build"]}\n'
        '{"batch": 2, "type": "read", "phases": ["review", "security", "qa"]}\n'
        '{"batch": 3, "type": "exclusive", "phases": ["ship"]}\n'
    )
    assert batches_jsonl([]) == ""


# ---------------------------------------------------------------- properties on random DAGs


@st.composite
def dags(
    draw: st.DrawFn,
) -> tuple[list[PhaseDef], dict[str, Concurrency], set[str]]:
    n = draw(st.integers(min_value=1, max_value=25))
    names = [f"p{i}" for i in range(n)]
    deps: list[list[str]] = []
    for j in range(n):
        chosen = draw(st.lists(st.integers(0, j - 1), unique=True)) if j else []
        deps.append([names[i] for i in chosen])
    kinds = st.sampled_from(["read", "write", "exclusive"])
    classes: dict[str, Concurrency] = {name: draw(kinds) for name in names}
    flags = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    done: set[str] = set()
    for j in range(n):  # indices are a topological order, so deps are decided first
        if flags[j] and all(dep in done for dep in deps[j]):
            done.add(names[j])
    order = draw(st.permutations(range(n)))
    raw = [{"name": names[j], "depends_on": deps[j]} for j in order]
    return validate_graph(raw), classes, done


@settings(max_examples=300, deadline=None)
@given(dags())
def test_batch_plans_are_valid_and_never_worse(
    case: tuple[list[PhaseDef], dict[str, Concurrency], set[str]],
) -> None:
    phases, classes, done = case
    upstream = upstream_batches(phases, classes, done)
    plan = plan_batches(phases, classes, done)
    assert_valid_plan(phases, classes, done, upstream)
    assert_valid_plan(phases, classes, done, plan)
    assert len(plan) <= len(upstream)
    lines = batches_jsonl(plan).splitlines()
    assert [json.loads(line) for line in lines] == [b.model_dump() for b in plan]


@settings(max_examples=200, deadline=None)
@given(dags())
def test_orderings_on_random_dags(
    case: tuple[list[PhaseDef], dict[str, Concurrency], set[str]],
) -> None:
    phases, _, done = case
    by_name = {p.name: p for p in phases}
    position = {p.name: i for i, p in enumerate(phases)}

    order = topo_order(phases)
    assert sorted(order) == sorted(by_name)
    index = {name: i for i, name in enumerate(order)}
    for p in phases:
        assert all(index[dep] < index[p.name] for dep in p.depends_on)
    # Kahn's with list-order preference: each step takes the earliest ready phase.
    for i, name in enumerate(order):
        ready = [n for n in order[i:] if all(index[d] < i for d in by_name[n].depends_on)]
        assert name == min(ready, key=position.__getitem__)

    rows = layers(phases)
    layer = {name: k for k, row in enumerate(rows) for name in row}
    assert sorted(layer) == sorted(by_name)
    assert all(row for row in rows)
    for row in rows:
        assert row == sorted(row, key=position.__getitem__)
    for p in phases:
        expected = 1 + max(layer[d] for d in p.depends_on) if p.depends_on else 0
        assert layer[p.name] == expected

    kids = dependents(phases)
    for p in phases:
        assert kids[p.name] == [q.name for q in phases if p.name in q.depends_on]

    # Longest chain of not-done phases, by brute-force depth over not-done dependencies.
    longest: dict[str, int] = {}
    for name in order:
        if name not in done:
            ups = [longest[d] for d in by_name[name].depends_on if d not in done]
            longest[name] = 1 + max(ups, default=0)
    path = critical_path(phases, done)
    assert len(path) == max(longest.values(), default=0)
    assert not set(path) & done
    for earlier, later in itertools.pairwise(path):
        assert earlier in by_name[later].depends_on
