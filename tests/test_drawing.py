"""Tests of the graph drawing: every declared edge, and nothing else, can be read back from the
text alone (tests/drawing_reader.py), over hundreds of random graphs; plus its structure."""

from __future__ import annotations

import itertools
import json
import random
import re
import subprocess
import sys
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conductor_tui.core import drawing
from conductor_tui.core.drawing import (
    ARROW,
    GraphLayout,
    _isotonic,
    critical_path,
    layout_graph,
    longest_path_layers,
    render,
)
from conductor_tui.core.graph import critical_path as graph_critical_path
from conductor_tui.core.graph import layers as graph_layers
from conductor_tui.core.models import PhaseDef
from conductor_tui.text import GLYPH
from tests.drawing_reader import Unreadable, arm_faults, find_labels, read_edges

Phases = list[tuple[str, list[str]]]

DEFAULT: Phases = [
    ("think", []),
    ("plan", ["think"]),
    ("build", ["plan"]),
    ("review", ["build"]),
    ("security", ["build"]),
    ("qa", ["build"]),
    ("ship", ["review", "security", "qa"]),
]
ISSUE: Phases = [
    ("think", []),
    ("api", ["think"]),
    ("web", ["think"]),
    ("api-tests", ["api"]),
    ("web-tests", ["web"]),
    ("ship", ["api-tests", "think"]),
]
INK = re.compile(r"[^ ]")
SYLLABLES = ["api", "web", "db", "build", "test", "x", "qa", "deploy", "lint", "docs", "ux", "b7"]


def declared(phases: Sequence[tuple[str, Sequence[str]]]) -> set[tuple[str, str]]:
    return {(dep, name) for name, deps in phases for dep in deps}


def draw(
    phases: Sequence[tuple[str, Sequence[str]]],
    status: dict[str, str] | None = None,
    pad: dict[str, int] | None = None,
) -> tuple[GraphLayout, list[str], dict[str, str]]:
    labels = {}
    for name, _ in phases:
        state = (status or {}).get(name, "done")
        labels[name] = f"{GLYPH[state]} {name} {state}"
    widths = {name: len(label) + (pad or {}).get(name, 0) for name, label in labels.items()}
    layout = layout_graph(phases, widths)
    return layout, render(layout, labels), labels


def check_structure(
    phases: Sequence[tuple[str, Sequence[str]]],
    layout: GraphLayout,
    lines: list[str],
    labels: dict[str, str],
) -> None:
    """Everything about a drawing that does not need the reader."""
    names = [name for name, _ in phases]
    deps = {name: list(ds) for name, ds in phases}
    canvas = layout.canvas
    assert len(canvas) == layout.height and all(len(line) == layout.width for line in canvas)
    assert len(lines) == layout.height and all(len(line) == layout.width for line in lines)
    assert set(layout.nodes) == set(names)
    # layers: longest path, one column per layer, drawn top to bottom
    index = {name: i for i, name in enumerate(names)}
    depth = longest_path_layers([[index[d] for d in deps[name]] for name in names])
    assert [sorted(layer) for layer in layout.layers] == [
        sorted(n for n in names if depth[index[n]] == i) for i in range(max(depth) + 1)
    ]
    for i, layer in enumerate(layout.layers):
        nodes = [layout.nodes[name] for name in layer]
        assert all(node.layer == i for node in nodes)
        assert len({node.col for node in nodes}) == 1
        assert [node.row for node in nodes] == sorted({node.row for node in nodes})
    cols = [layout.nodes[layer[0]].col for layer in layout.layers]
    assert cols == sorted(set(cols))
    # no two labels overlap; each label sits on its node's row, on blank canvas
    taken: set[tuple[int, int]] = set()
    for name, node in layout.nodes.items():
        cells = {(node.row, c) for c in range(node.col, node.col + node.width)}
        assert not cells & taken, name
        taken |= cells
        assert canvas[node.row][node.col : node.col + node.width] == " " * node.width
        assert lines[node.row][node.col :].startswith(labels[name])
    # one arrowhead per phase with dependencies, just left of its label, and no other
    ink: dict[tuple[int, int], str] = {
        (r, m.start()): m.group() for r, line in enumerate(canvas) for m in INK.finditer(line)
    }
    targets = {name for name in names if deps[name]}
    heads = {cell for cell, ch in ink.items() if ch == ARROW}
    assert heads == {(layout.nodes[t].row, layout.nodes[t].col - 1) for t in targets}
    # every declared edge has a path from just right of its source to its target's arrowhead
    assert sorted((e.src, e.dst) for e in layout.edges) == sorted(declared(phases))
    covered: set[tuple[int, int]] = set()
    turns: set[tuple[int, int]] = set()
    for edge in layout.edges:
        src, dst, cells = layout.nodes[edge.src], layout.nodes[edge.dst], edge.cells
        assert cells[0] == (src.row, src.col + src.width)
        assert cells[-1] == (dst.row, dst.col - 1)
        steps = {(abs(r2 - r1), c2 - c1) for (r1, c1), (r2, c2) in itertools.pairwise(cells)}
        assert steps <= {(1, 0), (0, 1)}, edge  # adjacent cells, never leftward
        for before, at, after in zip(cells, cells[1:], cells[2:], strict=False):
            if before[0] != after[0] and before[1] != after[1]:
                turns.add(at)
        covered.update(cells)
    assert covered == set(ink), "ink outside every edge, or an edge off the ink"
    # a `┼` always joins lines (a crossing is drawn `│`): some edge turns there
    assert {cell for cell, ch in ink.items() if ch == "┼"} <= turns
    assert arm_faults(lines) == []


def check_neighbours(phases: Sequence[tuple[str, Sequence[str]]], layout: GraphLayout) -> None:
    deps = {name: set(ds) for name, ds in phases}
    for name, node in layout.nodes.items():
        near = layout.neighbours(name)
        assert (near["left"] is None) == (not deps[name])
        assert near["left"] is None or near["left"] in deps[name]
        dependents = {n for n, ds in deps.items() if name in ds}
        assert (near["right"] is None) == (not dependents)
        assert near["right"] is None or name in deps[near["right"]]
        column = layout.layers[node.layer]
        for key, other in (("up", -1), ("down", 1)):
            found = near[key]
            if found is None:
                assert column.index(name) == (0 if key == "up" else len(column) - 1)
            else:
                assert layout.nodes[found].layer == node.layer
                assert column.index(found) == column.index(name) + other


# ---------------------------------------------------------------------- the property


def random_graph(
    n: int, style: str, rng: random.Random
) -> tuple[Phases, dict[str, str], dict[str, int]]:
    """A random DAG of n phases in a style, listed in a shuffled order, with a state and a
    label padding per phase."""
    names: list[str] = []
    for i in range(n):
        name = "-".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
        names.append(name if name not in names else f"{name}-{i}")
    most = {"sparse": 3, "chain": 2, "dense": 6, "fan": 9}[style]
    phases: Phases = []
    for i, name in enumerate(names):
        k = rng.randint(0, min(i, most))
        if style == "fan":  # a few hubs that many phases depend on
            pool = list(range(min(i, 3))) if rng.random() < 0.5 else list(range(i))
        elif style == "chain":  # mostly the last phases, so long runs and a few long edges
            pool = list(range(max(0, i - 2), i)) if rng.random() < 0.7 else list(range(i))
        else:
            pool = list(range(i))
        picked = rng.sample(pool, min(k, len(pool)))
        phases.append((name, [names[j] for j in picked]))
    rng.shuffle(phases)
    status = {name: rng.choice(list(GLYPH)) for name in names}
    pad = {name: rng.randint(0, 6) for name in names}
    return phases, status, pad


@st.composite
def graphs(draw_: st.DrawFn) -> tuple[Phases, dict[str, str], dict[str, int]]:
    """A random DAG: 2 to 60 phases, hyphenated names, long edges, diamonds, fans, several
    sources and sinks. Hypothesis draws the size, the style and a seed (drawing every choice
    through Hypothesis costs more than the drawing under test); a failure still shrinks."""
    n = draw_(st.sampled_from(range(2, 61)))
    style = draw_(st.sampled_from(["sparse", "chain", "dense", "fan"]))
    seed = draw_(st.integers(0, 2**32 - 1))
    return random_graph(n, style, random.Random(seed))


@settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(graphs())
def test_every_random_graph_reads_back_exactly(
    case: tuple[Phases, dict[str, str], dict[str, int]],
) -> None:
    phases, status, pad = case
    layout, lines, labels = draw(phases, status, pad)
    assert read_edges(lines, [name for name, _ in phases]) == declared(phases)
    check_structure(phases, layout, lines, labels)
    check_neighbours(phases, layout)


def test_a_thousand_phase_graph_reads_back_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # big enough for the large-graph effort: one round of sweeps and no count of crossings
    def no_count(*_: object) -> int:
        raise AssertionError("a large graph's crossings are not counted")

    monkeypatch.setattr(drawing, "_crossings", no_count)
    phases, status, pad = random_graph(1000, "dense", random.Random(1000))
    layout, lines, labels = draw(phases, status, pad)
    assert read_edges(lines, [name for name, _ in phases]) == declared(phases)
    check_structure(phases, layout, lines, labels)


# ---------------------------------------------------------------------- known graphs


@pytest.mark.parametrize("phases", [DEFAULT, ISSUE], ids=["default", "issue"])
def test_known_graphs_read_back_exactly(phases: Phases) -> None:
    layout, lines, labels = draw(phases)
    assert read_edges(lines, [name for name, _ in phases]) == declared(phases)
    check_structure(phases, layout, lines, labels)


def test_default_sprint_is_a_small_drawing() -> None:
    layout, lines, _ = draw(DEFAULT)
    assert layout.height == 3
    assert [line.rstrip() for line in lines] == [
        "                                          ┌─▶✓ review done───┐",
        "✓ think done──▶✓ plan done──▶✓ build done─┼─▶✓ security done─┼─▶✓ ship done",
        "                                          └─▶✓ qa done───────┘",
    ]


def test_issue_graph_routes_the_long_edge_around_the_nodes() -> None:
    layout, lines, _ = draw(ISSUE)
    assert [line.rstrip() for line in lines] == [
        "             ┌─▶✓ api done──▶✓ api-tests done─┬─▶✓ ship done",
        "✓ think done─┼─▶✓ web done──▶✓ web-tests done │",
        "             └────────────────────────────────┘",
    ]
    edge = next(e for e in layout.edges if (e.src, e.dst) == ("think", "ship"))
    label_cells = {
        (node.row, c)
        for node in layout.nodes.values()
        for c in range(node.col, node.col + node.width)
    }
    assert not set(edge.cells) & label_cells


def test_single_phase_and_empty_graph() -> None:
    layout, lines, _ = draw([("solo", [])])
    assert lines == ["✓ solo done"]
    assert layout.neighbours("solo") == {"left": None, "right": None, "up": None, "down": None}
    empty = layout_graph([], {})
    assert (empty.width, empty.height, empty.canvas, empty.edges) == (0, 0, (), [])


def test_a_short_label_is_joined_to_its_line() -> None:
    phases: Phases = [("a", []), ("b", ["a"])]
    layout = layout_graph(phases, {"a": 12, "b": 12})
    lines = render(layout, {"a": "✓ a done", "b": "○ b ready"})
    assert lines[0].rstrip() == "✓ a done──────▶○ b ready"
    assert read_edges(lines, ["a", "b"]) == {("a", "b")}


def test_same_input_same_drawing() -> None:
    first = draw(ISSUE)[1]
    assert all(draw(ISSUE)[1] == first for _ in range(3))


@pytest.mark.parametrize(
    ("phases", "message"),
    [
        ([("a", ["b"]), ("b", ["a"])], "cycle"),
        ([("a", ["zz"])], "unknown"),
        ([("a", []), ("a", [])], "duplicate"),
        ([("a", ["a"])], "itself"),
    ],
)
def test_bad_graphs_are_refused(phases: Phases, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        layout_graph(phases, {})


def test_neighbours_on_the_default_sprint() -> None:
    layout = draw(DEFAULT)[0]
    assert layout.neighbours("build") == {
        "left": "plan",
        "right": "security",
        "up": None,
        "down": None,
    }
    assert layout.neighbours("security") == {
        "left": "build",
        "right": "ship",
        "up": "review",
        "down": "qa",
    }
    assert layout.neighbours("ship")["left"] == "security"  # the nearest in rows
    check_neighbours(DEFAULT, layout)


# ---------------------------------------------------------------------- the reader can fail


def test_reader_reads_the_old_bus_drawing_as_false_edges() -> None:
    # a -> c and b -> d only, drawn the old way: one bus between the columns joins them all
    bus = [
        "✓ a done─┬▶✓ c done",
        "         │",
        "✓ b done─┴▶✓ d done",
    ]
    read = read_edges(bus, ["a", "b", "c", "d"])
    assert read == {("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")}
    assert read != {("a", "c"), ("b", "d")}


def test_reader_falls_into_the_merge_then_fork_trap() -> None:
    # a -> t and b -> t, b -> u; b's fork and t's merge share one track: a reads a false a -> u
    trap = [
        "✓ a done─┐",
        "         ├─▶✓ t done",
        "✓ b done─┤",
        "         └─▶✓ u done",
    ]
    assert ("a", "u") in read_edges(trap, ["a", "b", "t", "u"])


def test_reader_keeps_straight_through_a_crossing_and_never_goes_left() -> None:
    art = [
        "✓ a done──│──▶✓ c done",
        "        ┌─┘",
        "✓ b done┘",
    ]
    # b's line goes up through the crossing column and must not be read into a's row
    assert read_edges(art, ["a", "b", "c"]) == {("a", "c")}
    assert arm_faults(art) != []  # and the checker sees b's line ends on a's row


def test_negative_controls_the_reader_sees_a_crossing_drawn_joined() -> None:
    # Draw every crossing of a graph as `┼` (a junction), as a careless drawing would: the lines
    # still look well joined, and the reader must now read false edges.
    for seed in range(10):
        phases, status, pad = random_graph(30, "dense", random.Random(seed))
        names = [name for name, _ in phases]
        _, lines, _ = draw(phases, status, pad)
        assert read_edges(lines, names) == declared(phases)
        joined = [
            "".join(
                "┼" if ch == "│" and line[c - 1 : c + 2] == "─│─" else ch
                for c, ch in enumerate(line)
            )
            for line in lines
        ]
        assert joined != lines, "no crossing in this graph"
        assert arm_faults(joined) == []
        assert read_edges(joined, names) > declared(phases)  # the true edges and false ones


def test_negative_controls_an_arrowhead_removed_loses_its_edges() -> None:
    names = [name for name, _ in ISSUE]
    _, lines, _ = draw(ISSUE)
    cut = [line.replace("▶✓ ship", "─✓ ship") for line in lines]
    assert read_edges(cut, names) == declared(ISSUE) - {("think", "ship"), ("api-tests", "ship")}


def test_reader_needs_each_label_once() -> None:
    with pytest.raises(Unreadable):
        find_labels(["✓ a done ✓ a done"], ["a"])
    with pytest.raises(Unreadable):
        find_labels(["a"], ["a"])


def _least_distance(targets: list[int]) -> int:
    """By dynamic programming: the least total distance of strictly increasing rows."""
    values = range(min(targets) - len(targets), max(targets) + len(targets) + 1)
    best = {v: abs(v - targets[0]) for v in values}
    for target in targets[1:]:
        running, below = float("inf"), {}
        for v in values:
            below[v] = running  # the best with the previous row at most v - 1
            running = min(running, best[v])
        best = {v: below[v] + abs(v - target) for v in values}
    return int(min(best.values()))


def test_row_placement_is_the_least_distance_placement() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        targets = [rng.randint(0, 6) for _ in range(rng.randint(1, 8))]
        rows = _isotonic(targets)
        assert all(b > a for a, b in itertools.pairwise(rows)), (targets, rows)
        assert sum(abs(r - t) for r, t in zip(rows, targets, strict=True)) == _least_distance(
            targets
        ), (targets, rows)


# ---------------------------------------------------------------------- agreement with graph.py


def _models(phases: Phases) -> list[PhaseDef]:
    return [PhaseDef(name=name, depends_on=list(deps)) for name, deps in phases]


@settings(max_examples=60, derandomize=True, deadline=None)
@given(graphs(), st.data())
def test_layers_and_critical_path_agree_with_graph_py(
    case: tuple[Phases, dict[str, str], dict[str, int]], data: st.DataObject
) -> None:
    phases, _, _ = case
    names = [name for name, _ in phases]
    # graph.py needs dependencies listed first; sort by the drawing's own topological layers
    index = {name: i for i, name in enumerate(names)}
    depth = longest_path_layers([[index[d] for d in deps] for _, deps in phases])
    models = _models(phases)
    layout = layout_graph(phases, {})
    assert [sorted(layer) for layer in graph_layers(models)] == [
        sorted(layer) for layer in layout.layers
    ]
    assert max(depth) + 1 == len(layout.layers)
    done = set(data.draw(st.lists(st.sampled_from(names), unique=True)))
    remaining = set(names) - done
    assert critical_path(phases, remaining) == graph_critical_path(models, done)


def test_critical_path_of_the_default_sprint() -> None:
    assert critical_path(DEFAULT, {n for n, _ in DEFAULT}) == [
        "think",
        "plan",
        "build",
        "review",
        "ship",
    ]
    assert critical_path(DEFAULT, {"qa", "ship"}) == ["qa", "ship"]
    assert critical_path(DEFAULT, set()) == []


def test_drawing_imports_only_the_standard_library() -> None:
    code = (
        "import json, sys\n"
        "import conductor_tui.core.drawing\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'rich', 'watchdog', 'pydantic', 'pydantic_core'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(out.stdout) == []


@settings(max_examples=300, derandomize=True, deadline=None)
@given(graphs())
def test_the_least_width_never_exceeds_the_drawing(
    case: tuple[Phases, dict[str, str], dict[str, int]],
) -> None:
    """The app skips the label widths whose least width is more than the pane: the bound must
    hold for every graph, or a drawing that fits would be passed over."""
    phases, _status, pad = case
    widths = {name: 2 + len(name) + pad[name] for name, _ in phases}
    layout = drawing.layout_graph(phases, widths)
    bound = drawing.least_width(phases, widths)
    assert bound <= layout.width
    # and it is a bound worth having: every layer's widest label is in it
    assert bound >= max(widths.values())
