"""The CPU budget that paces re-reads, and the app under it; the quiet widgets that redraw only
what changed; the key hints that replace Textual's Footer.

The budget is tested with an injected clock (its arithmetic is the point). The
app is the real one on a real store: a budget with no credit must still show a change, later
(never later than its max wait), and the user's own action must not wait at all.
"""

from __future__ import annotations

import gc
import time
import weakref
from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from conductor_tui.tui.model import Loader
from conductor_tui.tui.pacing import QUIET_S, CpuBudget
from conductor_tui.tui.widgets.events import EventLog
from conductor_tui.tui.widgets.keys import KeyHints
from conductor_tui.tui.widgets.quiet import QuietLines, QuietScroll

from .conftest import Built, loaded, screen_text, settle
from .test_timing_widgets import async_test


class Clock:
    """A wall clock that tests move by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def budget(c: Clock, **kw: Any) -> CpuBudget:
    return CpuBudget(kw.pop("share", 0.1), kw.pop("burst_s", 0.5), clock=c, **kw)


def test_a_quiet_budget_lets_work_start_at_once() -> None:
    c = Clock()
    b = budget(c)
    assert b.wait() == 0.0
    c.now += 10
    b.charge(0.4)  # less than the credit
    assert b.wait() == 0.0


def test_spending_beyond_the_credit_waits_for_the_share_to_pay_it_back() -> None:
    c = Clock()
    b = budget(c, max_wait_s=10.0)  # 0.1 of a core, 0.5 s of credit
    b.charge(0.7)  # 0.2 s in debt at once
    assert b.wait() == pytest.approx(2.0)  # 0.2 s / 0.1 per second
    c.now += 1.0
    assert b.wait() == pytest.approx(1.0)
    c.now += 1.5
    assert b.wait() == 0.0


def test_the_credit_never_exceeds_the_burst_however_long_the_quiet() -> None:
    c = Clock()
    b = budget(c, max_wait_s=10.0)
    c.now += 3600
    b.charge(0.6)  # a burst's worth and a little more
    assert b.wait() == pytest.approx(1.0)


def test_the_wait_is_capped_whatever_the_work_cost() -> None:
    c = Clock()
    b = budget(c, max_wait_s=1.0)
    b.charge(500.0)  # a first paint of a huge sprint on a slow machine
    assert b.wait() == pytest.approx(1.0)
    c.now += 1.0
    assert b.wait() == 0.0


def test_a_budget_without_a_share_is_refused() -> None:
    with pytest.raises(ValueError):
        CpuBudget(0.0, 1.0)


# ---------------------------------------------------------------------- the app under a budget


@async_test
async def test_a_paced_app_still_shows_a_change_within_its_max_wait(
    built: Any,
) -> None:
    b: Built = built("fresh")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.budget = CpuBudget(0.05, 0.1, 0.3)
        app.budget.charge(1000.0)  # in debt as deep as it goes: a 0.3 s wait
        before = app.reloads
        b.sprint.claim("think", agent="outsider")
        app.request_reload()
        assert app._paced is not None, "with no credit the reload must wait for a timer"
        assert app.reloads == before
        for _ in range(400):  # bounded: the timer fires after 0.3 s
            await pilot.pause(0.01)
            if app.reloads > before and not app._loading:
                break
        await settle(pilot)
        assert app.reloads == before + 1, "the changes that waited came in one reload"
        pv = app.snapshot.phase("think")
        assert pv is not None and pv.agent == "outsider"
        assert "outsider" in screen_text(app) or "held" in screen_text(app)


@async_test
async def test_the_users_own_action_does_not_wait_for_credit(built: Any) -> None:
    b: Built = built("fresh")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.budget = CpuBudget(0.05, 0.1, 60.0)
        app.budget.charge(1000.0)  # a minute's wait for anything else
        before = app.reloads
        await pilot.press("c")  # claim the selected phase (think), and confirm
        await settle(pilot)
        await pilot.press("tab", "enter")
        await settle(pilot)
        await loaded(pilot, before + 1)
        pv = app.snapshot.phase("think")
        assert pv is not None and pv.agent == app.agent


@async_test
async def test_an_action_during_a_read_is_shown_by_the_next_read_without_waiting(
    built: Any,
) -> None:
    b: Built = built("fresh")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.budget = CpuBudget(0.05, 0.1, 60.0)
        app.budget.charge(1000.0)  # a minute's wait for anything that is not urgent
        before = app.reloads
        app.request_reload(now=True)  # a read starts
        assert app._loading
        b.sprint.claim("think", agent="outsider")
        app.request_reload(now=True)  # the user's action lands while it reads
        await loaded(pilot, before + 2)  # bounded: seconds, not the budget's minute
        pv = app.snapshot.phase("think")
        assert pv is not None and pv.agent == "outsider"


@async_test
async def test_once_the_changes_stop_a_waiting_reload_does_not_wait_for_credit(
    built: Any,
) -> None:
    """A stream used the credit up (a minute's wait); when no change has come for QUIET_S,
    the stream has stopped, and its last state is shown then, not when the credit is back. While
    changes keep coming, the reload keeps waiting."""
    b: Built = built("fresh")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.budget = CpuBudget(0.05, 0.1, 60.0)
        app.budget.charge(1000.0)
        before = app.reloads
        b.sprint.claim("think", agent="outsider")
        app.request_reload()
        assert app._paced is not None and app._quiet is not None
        app._quiet.stop()  # the test runs the checks itself, at the instants it chooses
        app._changed_at = time.monotonic() + 3600  # a change "still coming": no quiet yet
        app._quiet_check()
        assert app._paced is not None and app.reloads == before, "it must wait while changes come"
        assert app._quiet is not None, "and look again later"
        app._quiet.stop()
        app._changed_at = time.monotonic() - QUIET_S  # the stream went quiet
        app._quiet_check()
        assert app._paced is None and app._loading, "the reading starts without credit"
        await loaded(pilot, before + 1)  # bounded: seconds, not the budget's minute
        pv = app.snapshot.phase("think")
        assert pv is not None and pv.agent == "outsider"


@async_test
async def test_the_start_up_heap_is_frozen_once_the_first_reading_is_shown(built: Any) -> None:
    """conductor-tui starts with the collector off and, once its first reading is on screen,
    collects once, freezes what it allocated to start (gc.freeze), so that a full collection
    later walks only what the app made since, and turns the collector on again; an app that is
    not asked to (a test's) leaves its process's collector alone."""
    b: Built = built("fresh")
    gc.unfreeze()
    try:
        plain = b.app()
        async with plain.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            assert gc.get_freeze_count() == 0
        # as main() starts it: the collector off until the first reading is on screen, and
        # what start-up left in cycles collected then, not frozen for good
        gc.disable()
        left = Cycle()
        left.me = left
        ref = weakref.ref(left)
        del left
        # and as main() makes it: the store read once before, that reading shown at mount
        first = Loader(b.store, b.sprint.record.project).load()
        program = b.app(freeze_gc=True, initial=first)
        async with program.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert program.reloads == 1  # the first reading alone: no reload came since
            assert gc.isenabled()
            assert ref() is None, "start-up's garbage was frozen with the heap"
            frozen = gc.get_freeze_count()
            assert frozen > 10_000, frozen  # Textual and the app at the least
            program.request_reload(now=True)
            await loaded(pilot, program.reloads + 1)
            # frozen once, not at every reading (frozen objects freed since only lower the count)
            assert gc.get_freeze_count() <= frozen
    finally:
        gc.enable()
        gc.unfreeze()


class Cycle:
    """An object that refers to itself: only the cyclic collector frees it."""

    me: object = None


# ---------------------------------------------------------------------- quiet widgets


class Lines(App[None]):
    def compose(self) -> ComposeResult:
        yield QuietLines(id="lines")
        yield EventLog(id="log")


@async_test
async def test_quiet_lines_redraw_only_what_changed() -> None:
    app = Lines()
    async with app.run_test(size=(40, 10)) as pilot:
        w = app.query_one(QuietLines)
        w.show_lines([Text("alpha"), Text("beta")])
        await pilot.pause()
        n = w.updates
        w.show_lines([Text("alpha"), Text("beta")])  # the same: nothing to do
        assert w.updates == n
        w.show_lines([Text("alpha"), Text("gamma")])
        await pilot.pause()
        assert w.updates == n + 1
        assert [line.plain for line in w.lines] == ["alpha", "gamma"]
        text = screen_text(app)
        assert "gamma" in text and "beta" not in text
        w.show_text(Text("one\ntwo\nthree"))  # a height change lays out again
        await pilot.pause()
        assert w.size.height == 3
        assert "three" in screen_text(app)


@async_test
async def test_a_line_too_long_is_cut_with_an_ellipsis_not_wrapped() -> None:
    app = Lines()
    async with app.run_test(size=(20, 6)) as pilot:
        w = app.query_one(QuietLines)
        w.show_lines([Text("x" * 50), Text("next")])
        await pilot.pause()
        rows = screen_text(app).splitlines()
        assert rows[0].rstrip().endswith("…")
        assert rows[1].startswith("next")


@async_test
async def test_a_line_drawn_once_is_not_rendered_again_styled_or_not() -> None:
    """A line's strip is kept with the line: drawing the same lines again, or the same lines a
    row lower (a log whose newest line comes first), renders none of them again; a line with
    its own style too (the log's lines are dimmed times, say)."""
    app = Lines()
    async with app.run_test(size=(40, 10)) as pilot:
        w = app.query_one(QuietLines)
        lines = [Text("plain"), Text("styled", style="dim"), Text("bold", style="bold red")]
        w.show_lines(lines)
        await pilot.pause()
        rendered: list[str] = []
        render = Text.render

        def counting(self: Text, *args: Any, **kw: Any) -> Any:
            rendered.append(self.plain)
            return render(self, *args, **kw)

        Text.render = counting  # type: ignore[method-assign]
        try:
            w.refresh()  # every row drawn again from what was kept
            await pilot.pause()
            w.show_lines([Text("new", style="dim"), *lines])  # a new line on top
            await pilot.pause()
        finally:
            Text.render = render  # type: ignore[method-assign]
        assert rendered == ["new"], rendered
        assert [r.rstrip() for r in screen_text(app).splitlines()[:4]] == [
            "new",
            "plain",
            "styled",
            "bold",
        ]


class Log(App[None]):
    CSS = "QuietScroll { height: 5; }"

    def compose(self) -> ComposeResult:
        yield QuietScroll(id="log")


def numbered(n: int) -> list[Text]:
    return [Text(f"event {i}") for i in range(n)]


@async_test
async def test_a_growing_log_scrolls_itself_and_lays_nothing_out_past_its_pane() -> None:
    """A log in a pane of fixed height: while its lines fit there is no scrollbar; past that its
    scrollable height is its number of lines, and a line more only tells the scrollbar (setting
    the height would lay the whole screen out again): the screen is laid out once, when the
    scrollbar comes, and the last line can always be scrolled to, with nothing blank past it."""
    app = Log()
    async with app.run_test(size=(30, 8)) as pilot:
        w = app.query_one(QuietScroll)
        w.show_lines(numbered(3))
        await pilot.pause()
        assert w.virtual_size.height == 5 and not w.show_vertical_scrollbar
        w.show_lines(numbered(6))  # past the pane: the scrollbar comes, with a layout
        await settle(pilot)  # that layout done (under load it can come a frame late)
        assert w.show_vertical_scrollbar and w.virtual_size.height == 6
        layouts: list[object] = []
        signal = app.screen.screen_layout_refresh_signal
        signal.subscribe(w, layouts.append)
        for n in range(7, 81):
            w.show_lines(numbered(n))
            assert w.virtual_size.height == n
            assert w.vertical_scrollbar.window_virtual_size == n
        await settle(pilot)
        assert layouts == []  # (scrolling, below, reflows the view: that is not growth)
        signal.unsubscribe(w)
        assert screen_text(app).splitlines()[0].startswith("event 0")
        w.scroll_to(y=10, animate=False)
        await pilot.pause()
        rows = screen_text(app).splitlines()
        assert rows[0].startswith("event 10") and rows[4].startswith("event 14")
        # a line that changes in view is drawn anew; one out of view changes nothing on screen
        lines = numbered(80)
        lines[12] = Text("changed")
        lines[40] = Text("far below")
        w.show_lines(lines)
        await pilot.pause()
        assert screen_text(app).splitlines()[2].startswith("changed")
        w.scroll_end(animate=False)  # the last line at the bottom of the pane, none blank
        await pilot.pause()
        assert screen_text(app).splitlines()[4].startswith("event 79")


# ---------------------------------------------------------------------- key hints


@async_test
async def test_key_hints_follow_check_action_and_a_click_presses_the_key(built: Any) -> None:
    b: Built = built("fresh")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        hints = app.screen.query_one(KeyHints)
        assert hints.descriptions()[:3] == ["Claim", "Abort", "Reclaim"]
        row = screen_text(app).splitlines()[-1]
        assert "c Claim" in row and "? Help" in row and "^p palette" in row
        # a click on "? Help" opens the help screen, as pressing ? does
        x = row.index("? Help") + 1
        await pilot.click(KeyHints, offset=(x, 0))
        await settle(pilot)
        assert type(app.screen).__name__ == "HelpScreen"


@async_test
async def test_the_clock_asks_for_a_refresh_only_when_something_shown_ages(
    built: Any,
) -> None:
    """The app's tick re-reads after an idle period to move the ages on screen; with no lock
    anywhere nothing on screen ages, and an idle pane reads nothing for it."""
    b: Built = built("fresh")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app._idle_period = lambda: 0.0  # type: ignore[method-assign]  # the idle period is over
        before = app.reloads
        app._tick()
        await settle(pilot)
        assert app.reloads == before and not app._loading, "a refresh with nothing to age"
        b.sprint.claim("think", agent="outsider")
        app.request_reload(now=True)
        await loaded(pilot, before + 1)
        assert app.snapshot.timed
        app._tick()
        await loaded(pilot, before + 2)
