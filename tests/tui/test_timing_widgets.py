"""Pilot tests of the timing on screen: the header's critical path and estimate, the lanes' bars.

The stores are real directories made by the real Store with frozen clocks: two earlier sprints
of the project worked to the end (the history), then the `mid` sprint of conftest (think, plan
and build done in 20, 40 and 80 min; review held for 25 min, qa for 8 min). The widgets are
shown in a small app of their own, fed the way the loader feeds the overview (`loaded_timing`);
the tests of the whole app run once the loader computes `Snapshot.timing`.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from textual.app import App, ComposeResult

from conductor_tui.core.estimate import Timing, batches_run, project_history, sprint_timing
from conductor_tui.core.store import Store
from conductor_tui.tui.model import Lane, Loader, Snapshot
from conductor_tui.tui.widgets.header import SprintHeader
from conductor_tui.tui.widgets.lanes import BatchLanes
from tests.conftest import T0, FakeClock

from .conftest import (
    HOST,
    MINUTE,
    PROJECT,
    Built,
    SeededHex,
    build_store,
    fake_probe,
    loaded,
    screen_text,
)

DAY = 86400.0
ORDER = ("think", "plan", "build", "review", "security", "qa", "ship")
# two earlier sprints: review took 30 and 40 min (median 35), ship 10 and 14 (median 12)
PAST = (
    {"think": 15, "plan": 35, "build": 70, "review": 30, "security": 20, "qa": 25, "ship": 10},
    {"think": 25, "plan": 45, "build": 95, "review": 40, "security": 15, "qa": 35, "ship": 14},
)
# review: its median 35 less the 25 min it has run; ship: 12 -> 22 min, from 2 + 2 durations
ESTIMATE_80 = "≈ 22m left (est. from 4)"
ESTIMATE_LONG = "≈ 22m left (estimate from 4 past phases)"
BAR = re.compile(r"[█▏▎▍▌▋▊▉]+")


def async_test(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body in a fresh event loop (no pytest-asyncio needed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


def with_history(root: str) -> Built:
    """Two earlier sprints of the project, worked to the end, then conftest's `mid` sprint."""
    clock = FakeClock(T0 - 3 * DAY)
    store = Store(root, clock=clock, host=HOST, probe=fake_probe, token_hex=SeededHex())
    for took in PAST:
        sprint = store.start(PROJECT, agent="claude-1a2b3c4d")
        for phase in ORDER:
            owner = sprint.claim(phase, agent="claude-1a2b3c4d", holder_pid=4242, holder_start=777)
            clock.advance(took[phase] * MINUTE)
            sprint.complete(phase, agent="claude-1a2b3c4d", token=owner.token)
        clock.advance(DAY)
    return build_store(root, "mid")


def loaded_timing(b: Built) -> tuple[Snapshot, list[Lane], Timing]:
    """What the loader hands the overview: a snapshot, the batches run and the timing."""
    snap = Loader(b.store, PROJECT).load()
    view = snap.view
    assert view is not None, snap.error
    sprint = b.store.find_active(PROJECT)
    assert sprint is not None
    classes, _, _ = sprint.concurrency()
    done = {pv.name for pv in view.phases if pv.status == "done"}
    done_lanes = [
        Lane(batch, [pv for name in batch.phases if (pv := view.phase(name)) is not None])
        for batch in batches_run(sprint.record.phases, classes, done)
    ]
    history = project_history(b.store, view.project, view.sprint_id)
    return snap, done_lanes, sprint_timing(sprint.record.phases, view, history)


class Widgets(App[None]):
    """The header and both lanes widgets (the overview's, limited, and the Lanes tab's)."""

    CSS = "BatchLanes { border-top: solid $panel; }"

    def compose(self) -> ComposeResult:
        yield SprintHeader(read_only=False, id="header")
        yield BatchLanes(id="overview-lanes", limit=4, brief=True)
        yield BatchLanes(id="lanes-view")

    def show(self, snap: Snapshot, done: list[Lane], timing: Timing | None) -> None:
        """Show a reading as the overview does."""
        view = snap.view
        all_done = view is not None and view.count("done") == len(view.phases)
        self.query_one(SprintHeader).show(snap, timing=timing)
        for lanes in self.query(BatchLanes):
            lanes.show(snap.lanes, all_done, done, timing)


def history_store(tmp_path: Any) -> Built:
    return with_history(str(tmp_path / "store"))


def widget_text(app: App[Any], selector: str) -> str:
    """What one widget shows, line by line, cut from the screen."""
    region = app.query_one(selector).region
    lines = screen_text(app).splitlines()[region.y : region.y + region.height]
    return "\n".join(line[region.x : region.x + region.width] for line in lines)


def line_of(text: str, phase: str) -> str:
    """The first screen line naming a phase with its glyph."""
    for line in text.splitlines():
        if re.search(rf"[✓●○·✗◐‼?] {phase}\b", line):
            return line
    raise AssertionError(f"no line shows {phase!r}:\n{text}")


def bar_of(line: str, phase: str) -> str:
    """The bar drawn after a phase's name (and holder) on a line."""
    found = re.search(rf"[✓●] {phase}(?: \([^)]*\))? ({BAR.pattern}) \S+", line)
    assert found, f"no bar after {phase!r} in {line!r}"
    return found.group(1)


def cells(bar: str) -> float:
    """A bar's length in cells (its last cell in eighths)."""
    return bar.count("█") + sum((" ▏▎▍▌▋▊▉".index(c)) / 8 for c in bar if c != "█")


# ---------------------------------------------------------------------- the header


@pytest.mark.parametrize(
    ("size", "estimate", "sprint_id"),
    [
        ((80, 24), ESTIMATE_80, False),
        ((120, 40), ESTIMATE_80, True),
        ((200, 60), ESTIMATE_LONG, True),
    ],
    ids=["80x24", "120x40", "200x60"],
)
@async_test
async def test_header_names_the_critical_path_and_the_estimate(
    quiet_env: None, tmp_path: Any, size: tuple[int, int], estimate: str, sprint_id: bool
) -> None:
    b = history_store(tmp_path)
    snap, done, timing = loaded_timing(b)
    assert timing.critical == ["review", "ship"]
    app = Widgets()
    async with app.run_test(size=size) as pilot:
        app.show(snap, done, timing)
        await pilot.pause()
        header = screen_text(app).splitlines()[0]
    assert "3/7 done · 2 held" in header, header
    assert "critical: review → ship" in header, header
    assert estimate in header, header
    assert (b.sprint.sprint_id in header) is sprint_id, header


@async_test
async def test_header_shortens_a_long_critical_path_to_fit(quiet_env: None, tmp_path: Any) -> None:
    b = build_store(str(tmp_path / "store"), "fresh")
    snap, done, timing = loaded_timing(b)
    assert timing.critical == ["think", "plan", "build", "review", "ship"]
    app = Widgets()
    async with app.run_test(size=(70, 24)) as pilot:
        app.show(snap, done, timing)
        await pilot.pause()
        narrow = screen_text(app).splitlines()[0]
        await pilot.resize_terminal(120, 24)
        await pilot.pause()
        wide = screen_text(app).splitlines()[0]
    # no history at all: the path alone, and never a number
    assert "≈" not in narrow and "≈" not in wide
    assert "critical: think → plan → … → ship" in narrow, narrow
    assert "critical: think → plan → build → review → ship" in wide, wide
    assert b.sprint.sprint_id in wide, wide


@async_test
async def test_header_shows_untrusted_names_as_text(quiet_env: None, tmp_path: Any) -> None:
    b = build_store(str(tmp_path / "store"), "fresh")
    snap, done, _ = loaded_timing(b)
    timing = Timing(critical=["evil\x1b[31m[bold red]x[/]", "ship"])
    app = Widgets()
    async with app.run_test(size=(120, 24)) as pilot:
        app.show(snap, done, timing)
        await pilot.pause()
        header = screen_text(app).splitlines()[0]
    assert "critical: evil\\x1b[31m[bold red]x[/] → ship" in header, header


# ---------------------------------------------------------------------- the lanes


@pytest.mark.parametrize(
    "size", [(80, 24), (120, 40), (200, 60)], ids=["80x24", "120x40", "200x60"]
)
@async_test
async def test_lanes_keep_the_done_batches_with_bars(
    quiet_env: None, tmp_path: Any, size: tuple[int, int]
) -> None:
    b = history_store(tmp_path)
    snap, done, timing = loaded_timing(b)
    assert [lane.batch.phases for lane in done] == [["think"], ["plan"], ["build"]]
    assert timing.took == {
        "think": 20 * MINUTE,
        "plan": 40 * MINUTE,
        "build": 80 * MINUTE,
        "review": 25 * MINUTE,
        "qa": 8 * MINUTE,
    }
    app = Widgets()
    async with app.run_test(size=size) as pilot:
        app.show(snap, done, timing)
        await pilot.pause()
        text = widget_text(app, "#lanes-view")
    think, plan, build = (bar_of(line_of(text, p), p) for p in ("think", "plan", "build"))
    review = bar_of(line_of(text, "review"), "review")
    # one scale, the longest phase (build, 80 min) drawn whole
    assert cells(build) == 2 * cells(plan) == 4 * cells(think), (think, plan, build)
    assert abs(cells(review) - cells(build) * 25 / 80) <= 1 / 16, (review, build)
    assert "20m" in line_of(text, "think") and "1.3h" in line_of(text, "build")
    assert "● review (codex-7b21e0aa)" in line_of(text, "review")
    assert line_of(text, "think").lstrip().startswith("✓ read")  # a batch that has run
    assert bar_of(line_of(text, "qa"), "qa")  # the upstream lock's claim time counts too
    assert "○ security" in text and "· ship" in text  # not started: no bar, no time
    assert not BAR.search(line_of(text, "ship"))


@async_test
async def test_running_bars_grow_with_the_clock(quiet_env: None, tmp_path: Any) -> None:
    b = history_store(tmp_path)
    app = Widgets()
    async with app.run_test(size=(120, 40)) as pilot:
        app.show(*loaded_timing(b))
        await pilot.pause()
        before = line_of(screen_text(app), "review")
        b.clock.advance(20 * MINUTE)
        snap, done, timing = loaded_timing(b)
        app.show(snap, done, timing)
        await pilot.pause()
        after = line_of(screen_text(app), "review")
        header = screen_text(app).splitlines()[0]
    assert "25m" in before and "45m" in after, (before, after)
    assert cells(bar_of(after, "review")) > cells(bar_of(before, "review"))
    # past review's median (35 min): it counts zero, ship's 12 min remain
    assert "≈ 12m left" in header, header


@async_test
async def test_overview_lanes_sum_up_the_batches_run_in_one_line(
    quiet_env: None, tmp_path: Any
) -> None:
    b = history_store(tmp_path)
    snap, done, timing = loaded_timing(b)
    app = Widgets()
    async with app.run_test(size=(120, 40)) as pilot:
        app.show(snap, done, timing)
        await pilot.pause()
        lines = widget_text(app, "#overview-lanes").splitlines()
    first = lines[1]  # under the border
    assert "done (3 batches)" in first, lines
    for phase in ("think", "plan", "build"):
        assert bar_of(first, phase), first
    assert line_of("\n".join(lines), "review").lstrip().startswith("1 read")


@async_test
async def test_lanes_without_timing_look_as_before(quiet_env: None, tmp_path: Any) -> None:
    b = build_store(str(tmp_path / "store"), "mid")
    snap, _, _ = loaded_timing(b)
    app = Widgets()
    async with app.run_test(size=(120, 40)) as pilot:
        app.show(snap, [], None)
        await pilot.pause()
        text = screen_text(app)
    assert not BAR.search(text), text
    assert "critical:" not in text
    assert "● review (codex-7b21e0aa)" in text


# ---------------------------------------------------------------------- the whole app


wired = pytest.mark.skipif(
    "timing" not in Snapshot.__dataclass_fields__,
    reason="the loader does not compute Snapshot.timing yet (see core/estimate.py)",
)


@wired
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@async_test
async def test_the_app_shows_the_critical_path_estimate_and_bars(
    quiet_env: None, tmp_path: Any, size: tuple[int, int]
) -> None:
    b = history_store(tmp_path)
    app = b.app()
    async with app.run_test(size=size) as pilot:
        await loaded(pilot)
        header = screen_text(app).splitlines()[0]
        await pilot.press("3")  # the Lanes tab (at 120x40 it may be on screen already)
        await pilot.pause()
        text = widget_text(app, "#lanes-view")
    assert "critical: review → ship" in header and ESTIMATE_80 in header, header
    assert bar_of(line_of(text, "build"), "build"), text
    assert bar_of(line_of(text, "review"), "review"), text


def test_a_crowded_lane_names_what_needs_a_person_first_in_lane_order() -> None:
    """A lane with more phases than it names: stale and contested first, then malformed and
    suspect, then held, then the rest; each group in lane order, and the names kept in it."""
    import random

    from conductor_tui.core.models import PhaseView
    from conductor_tui.tui.widgets.lanes import _FIRST, PHASES_SHOWN, _first

    statuses = ["ready", "blocked", "done", "held", "suspect", "stale", "contested", "malformed"]
    rng = random.Random(11)
    for size in (PHASES_SHOWN - 1, PHASES_SHOWN, PHASES_SHOWN + 1, 60, 400):
        phases = [
            PhaseView(name=f"p{i:03d}", depends_on=[], status=rng.choice(statuses), state="pending")
            for i in range(size)
        ]
        ranked = sorted(range(size), key=lambda i: (_FIRST.get(phases[i].status, 3), i))
        expected = [phases[i] for i in sorted(ranked[:PHASES_SHOWN])]
        assert list(_first(phases, PHASES_SHOWN)) == expected
