"""The graph on the app's screen tells the truth: random sprints read back from what Pilot sees.

Each case starts a real sprint with a random DAG, runs the app at a fixed size, captures the
screen, crops it to the graph pane and reads the dependencies back from the text alone
(tests/drawing_reader.py, the reader the drawing's own property test uses). The set read must be
exactly the declared one. Graphs too big for the pane at a size scroll instead (tested below).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core.store import Store
from conductor_tui.tui.widgets.graph import PhaseGraph
from tests.drawing_reader import read_edges
from tests.test_drawing import random_graph

from .conftest import (
    HOST,
    PROJECT,
    FakeClock,
    drawn_lines,
    fake_probe,
    loaded,
    make_app,
    screen_text,
)
from .conftest import T0 as NOW
from .test_app import async_test

SIZES = [(80, 24), (120, 40), (200, 60)]
CASES = 24  # random sprints tried per size


def _graph_lines(app: Any) -> list[str]:
    """The screen's text inside the graph pane's content region."""
    graph = app.query_one(PhaseGraph)
    region = graph.content_region
    rows = screen_text(app).split("\n")[region.y : region.y + region.height]
    return [row[region.x : region.x + region.width] for row in rows]


async def _read_back(root: Path, phases: list[tuple[str, list[str]]], size: tuple[int, int]):
    store = Store(str(root), clock=FakeClock(NOW), host=HOST, probe=fake_probe)
    store.start(PROJECT, agent="tester", phases=[{"name": n, "depends_on": d} for n, d in phases])
    app = make_app(store, PROJECT)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot)
        graph = app.query_one(PhaseGraph)
        drawn = graph.layout_
        assert drawn is not None
        fits = (
            not graph.list_mode
            and drawn.width <= graph.scrollable_content_region.width
            and drawn.height <= graph.scrollable_content_region.height
        )
        if not fits:
            return None
        return read_edges(_graph_lines(app), [name for name, _ in phases])


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@async_test
async def test_random_sprints_read_back_exactly_from_the_screen(
    quiet_env: None, tmp_path: Path, size: tuple[int, int]
) -> None:
    rng = random.Random(f"screen-{size}")
    checked = 0
    for case in range(CASES):
        n = rng.randint(2, 6 if size[0] < 100 else 14)
        style = rng.choice(["sparse", "chain", "dense", "fan"])
        phases, _status, _pad = random_graph(n, style, random.Random(rng.getrandbits(32)))
        phases = [(name, list(deps)) for name, deps in phases]
        got = await _read_back(tmp_path / f"s{case}", phases, size)
        if got is None:
            continue  # too big to be on screen whole at this size
        declared = {(d, name) for name, deps in phases for d in deps}
        assert got == declared, (case, phases)
        checked += 1
    assert checked >= CASES // 2, f"only {checked} of {CASES} sprints fit at {size}"


@async_test
async def test_a_big_graph_scrolls_to_keep_the_cursor_in_view(
    quiet_env: None, tmp_path: Path
) -> None:
    """A sprint wider and taller than the pane: moving right along dependencies scrolls the
    pane so that the selected phase stays on screen."""
    names = [f"p{i:02d}" for i in range(40)]
    phases = [{"name": n, "depends_on": [names[i - 1]] if i else []} for i, n in enumerate(names)]
    phases += [{"name": f"side-{i}", "depends_on": ["p39"]} for i in range(30)]
    store = Store(str(tmp_path / "s"), clock=FakeClock(NOW), host=HOST, probe=fake_probe)
    store.start(PROJECT, agent="tester", phases=phases)
    app = make_app(store, PROJECT)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        graph = app.query_one(PhaseGraph)
        graph.selected = "p00"
        graph.user_moved = True
        await pilot.pause()
        for _ in range(12):
            await pilot.press("right")
        await pilot.pause()
        assert graph.selected == "p12"
        assert graph.scroll_x > 0
        assert graph.selected in "\n".join(_graph_lines(app))
        graph.selected = "p39"
        await pilot.pause()
        await pilot.press("right")  # to the fan of 30 sinks, taller than the pane
        for _ in range(20):
            await pilot.press("down")
        await pilot.pause()
        assert graph.selected.startswith("side-")
        assert graph.scroll_y > 0
        assert graph.selected in "\n".join(_graph_lines(app))


def _wide_sprint(root: Path, layers: int = 3, per_layer: int = 12) -> Store:
    """p000.. in layers: each phase needs the one a layer before it (a grid of chains)."""
    names = [f"p{i:03d}" for i in range(layers * per_layer)]
    phases = [
        {"name": n, "depends_on": [names[i - per_layer]] if i >= per_layer else []}
        for i, n in enumerate(names)
    ]
    store = Store(str(root), clock=FakeClock(NOW), host=HOST, probe=fake_probe)
    store.start(PROJECT, agent="tester", phases=phases)
    return store


@async_test
async def test_a_cursor_that_follows_a_change_repaints_two_lines_not_the_drawing(
    quiet_env: None, tmp_path: Path
) -> None:
    """Until the user moves it, the cursor follows the most pressing phase; when a claim moves
    it, the graph draws again the line it left and the line it came to (and the claimed phase's
    own), not every line in view."""
    store = _wide_sprint(tmp_path / "s")
    sprint = store.find_active(PROJECT)
    assert sprint is not None
    app = make_app(store, PROJECT)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        graph = app.query_one(PhaseGraph)
        assert graph.selected == "p000"  # the first ready phase
        drawn = drawn_lines(graph)
        sprint.claim("p005", agent="outsider")  # held outranks ready: the cursor goes there
        before = app.reloads
        app.request_reload(now=True)
        await loaded(pilot, before + 1)
        assert graph.selected == "p005"
        rows = {graph._node_row["p000"], graph._node_row["p005"]}
        top = graph.scroll_offset.y
        assert drawn, "the lines that changed were not drawn again"
        assert {y + top for y in drawn} <= rows, (sorted(drawn), rows)
        assert "p005" in "\n".join(_graph_lines(app))


@async_test
async def test_a_lock_whose_age_on_show_is_the_same_is_not_drawn_again(
    quiet_env: None, tmp_path: Path
) -> None:
    """A held phase's line shows its lock's age to the minute. A reading changes every lock's
    age (its view differs), but a line is drawn again only when what it shows differs: not for
    seconds passing inside the minute, and again when the minute turns."""
    store = _wide_sprint(tmp_path / "s", layers=2, per_layer=6)
    sprint = store.find_active(PROJECT)
    assert sprint is not None
    clock = store.clock
    assert isinstance(clock, FakeClock)
    sprint.claim("p002", agent="outsider")
    sprint.claim("p004", agent="outsider")
    app = make_app(store, PROJECT)
    async with app.run_test(size=(200, 40)) as pilot:
        await loaded(pilot)
        graph = app.query_one(PhaseGraph)
        assert graph.mode == "full" and not graph.list_mode
        held = {graph._node_row["p002"], graph._node_row["p004"]}
        assert all("outsider <1m" in _graph_lines(app)[row] for row in held)
        drawn = drawn_lines(graph, scrolled=True)

        async def reading_at(seconds: float) -> None:
            clock.now = NOW + seconds
            before = app.reloads
            app.request_reload(now=True)
            await loaded(pilot, before + 1)
            await pilot.pause()

        await reading_at(40)
        assert {"p002", "p004"} <= set(app.snapshot.changed or ())  # the views did change
        assert not held & set(drawn), (sorted(drawn), app.snapshot.critical, app.snapshot.changed)
        await reading_at(75)
        assert held <= set(drawn), sorted(drawn)
        assert all("outsider 1m" in _graph_lines(app)[row] for row in held)


@async_test
async def test_the_cursor_follows_the_most_pressing_phase_reading_after_reading(
    quiet_env: None, tmp_path: Path
) -> None:
    """The graph keeps the phases in a pressing state between readings and looks again only at
    those that changed: over claims, aborts, completions and readings it never saw (while the
    Locks tab hid it), its choice is the one a scan of every phase makes."""
    from conductor_tui.tui.widgets.graph import INTERESTING

    def scan(snap: Any) -> str:
        ranked = [
            (INTERESTING[pv.status], snap.order.index(pv.name), pv.name)
            for pv in snap.view.phases
            if pv.status in INTERESTING
        ]
        return min(ranked)[2] if ranked else snap.order[0]

    store = _wide_sprint(tmp_path / "s", layers=3, per_layer=5)
    sprint = store.find_active(PROJECT)
    assert sprint is not None
    app = make_app(store, PROJECT)
    rng = random.Random(7)
    async with app.run_test(size=(80, 24)) as pilot:  # narrow: the tabs can hide the graph
        await loaded(pilot)
        graph = app.query_one(PhaseGraph)
        held: dict[str, str] = {}
        for step in range(40):
            ready = [pv.name for pv in sprint.view().phases if pv.status == "ready"]
            move = rng.choice(["claim", "claim", "abort", "complete"])
            if move == "claim" and ready:
                name = rng.choice(ready)
                held[name] = sprint.claim(name, agent="outsider").token
            elif held:
                name = rng.choice(sorted(held))
                token = held.pop(name)
                if move == "abort":
                    sprint.abort(name, agent="outsider", token=token)
                else:
                    sprint.complete(name, agent="outsider", token=token)
            hidden = step % 7 in (3, 4)  # two readings the graph does not see
            await pilot.press("2" if hidden else "1")
            before = app.reloads
            app.request_reload(now=True)
            await loaded(pilot, before + 1)
            if not hidden:
                assert graph.selected == scan(app.snapshot), step
