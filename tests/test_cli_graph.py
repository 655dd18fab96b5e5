"""`conductor graph`: the drawing a person reads back gives exactly the sprint's dependencies."""

from __future__ import annotations

import json
import re
import sys

import pytest

from tests.conftest import Env, conductor
from tests.drawing_reader import read_edges

DEFAULT_EDGES = {
    ("think", "plan"),
    ("plan", "build"),
    ("build", "review"),
    ("build", "security"),
    ("build", "qa"),
    ("review", "ship"),
    ("security", "ship"),
    ("qa", "ship"),
}
ISSUE = [
    {"name": "think"},
    {"name": "api", "depends_on": ["think"]},
    {"name": "web", "depends_on": ["think"]},
    {"name": "api-tests", "depends_on": ["api"]},
    {"name": "web-tests", "depends_on": ["web"]},
    {"name": "ship", "depends_on": ["api-tests", "think"]},
]
ISSUE_EDGES = {(dep, p["name"]) for p in ISSUE for dep in p.get("depends_on", [])}
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def names_of(edges: set[tuple[str, str]]) -> set[str]:
    return {name for edge in edges for name in edge}


def test_default_sprint_reads_back_exactly(started: Env, cli) -> None:
    result = cli("graph")
    assert result.rc == 0, result
    assert result.err == ""
    lines = result.out.splitlines()
    assert read_edges(lines, names_of(DEFAULT_EDGES)) == DEFAULT_EDGES
    assert "\x1b" not in result.out  # not a terminal: no colour
    assert len(lines) == 3
    assert "○ think ready" in result.out and "· ship blocked" in result.out


def test_states_change_the_labels_not_the_edges(started: Env, cli) -> None:
    assert cli("claim", "think").rc == 0
    result = cli("graph")
    assert "● think held" in result.out
    assert read_edges(result.out.splitlines(), names_of(DEFAULT_EDGES)) == DEFAULT_EDGES


def test_issue_graph_reads_back_exactly(env: Env, cli) -> None:
    assert cli("start", "--phases", json.dumps(ISSUE)).rc == 0
    result = cli("graph")
    assert result.rc == 0, result
    lines = result.out.splitlines()
    assert read_edges(lines, names_of(ISSUE_EDGES)) == ISSUE_EDGES
    # think -> ship skips two layers: it passes below the middle layers, not through a label
    assert lines == [
        "              ┌─▶· api blocked──▶· api-tests blocked─┬─▶· ship blocked",
        "○ think ready─┼─▶· web blocked──▶· web-tests blocked │",
        "              └──────────────────────────────────────┘",
    ]


def test_json_describes_the_same_drawing(started: Env, cli) -> None:
    text = cli("graph").out.splitlines()
    data = cli("graph", "--json").json
    assert data["ok"] is True
    assert data["lines"] == text
    assert data["layers"] == [
        ["think"],
        ["plan"],
        ["build"],
        ["review", "security", "qa"],
        ["ship"],
    ]
    assert {(e["from"], e["to"]) for e in data["edges"]} == DEFAULT_EDGES
    assert len(data["lines"]) == data["height"]
    assert max(len(line) for line in data["lines"]) <= data["width"]
    for edge in data["edges"]:
        src, dst = data["nodes"][edge["from"]], data["nodes"][edge["to"]]
        assert edge["cells"][0] == [src["row"], src["col"] + src["width"]]
        assert edge["cells"][-1] == [dst["row"], dst["col"] - 1]
        assert data["lines"][dst["row"]][dst["col"] - 1] == "▶"
    for name, node in data["nodes"].items():
        assert set(node) == {"row", "col", "layer", "width"}
        assert data["lines"][node["row"]][node["col"] + 2 :].startswith(name)


def test_width_too_small_warns_and_still_prints(started: Env, cli) -> None:
    whole = cli("graph").out
    result = cli("graph", "--width", "40")
    assert result.rc == 0
    assert result.out == whole
    assert "columns wide, more than 40" in result.err_line
    assert cli("graph", "--width", "500").err == ""
    assert cli("graph", "--width", "0").rc == 2


def test_colour_only_on_a_terminal_and_never_with_no_color(
    started: Env, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = cli("graph", "--width", "500").out
    assert "\x1b[2m·\x1b[0m plan \x1b[2mblocked\x1b[0m" in coloured
    plain = ESCAPE.sub("", coloured)
    assert read_edges(plain.splitlines(), names_of(DEFAULT_EDGES)) == DEFAULT_EDGES
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in cli("graph", "--width", "500").out


def test_no_sprint_is_a_clean_error(env: Env, cli) -> None:
    result = cli("graph")
    assert result.rc == 2
    assert result.out == ""
    assert "no store" in result.err_line or "no active sprint" in result.err_line


def test_the_real_command(started: Env) -> None:
    result = conductor(started, "graph")
    assert result.rc == 0, result
    assert read_edges(result.out.splitlines(), names_of(DEFAULT_EDGES)) == DEFAULT_EDGES
