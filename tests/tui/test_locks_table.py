"""The locks table drawn through the line API: rows by phase, cells redrawn when they change,
the cursor kept on its phase, keys that select, and no layout for a lock that comes and goes.

The readings come from a real store (the `built` fixture's sprint) through the real loader.
"""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult

from conductor_tui.tui.model import Loader, Snapshot
from conductor_tui.tui.widgets.locks import LocksTable

from .conftest import Built, drawn_lines, screen_text, settle
from .test_timing_widgets import async_test


class Table(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = []
        self.highlighted: list[str] = []

    def compose(self) -> ComposeResult:
        yield LocksTable(id="locks-table")

    def on_locks_table_selected(self, event: LocksTable.Selected) -> None:
        self.selected.append(event.phase)

    def on_locks_table_highlighted(self, event: LocksTable.Highlighted) -> None:
        self.highlighted.append(event.phase)


def reading(b: Built) -> Snapshot:
    return Loader(b.store, b.sprint.record.project).load()


def row_of(app: App[Any], phase: str) -> str:
    rows = [r for r in screen_text(app).splitlines() if r.strip().startswith(phase + " ")]
    assert len(rows) == 1, f"{phase!r} on {len(rows)} rows"
    return rows[0]


@async_test
async def test_rows_follow_the_locks_and_the_cursor_stays_on_its_phase(built: Any) -> None:
    b: Built = built("mid")  # review and qa held
    app = Table()
    async with app.run_test(size=(120, 12)) as pilot:
        table = app.query_one(LocksTable)
        table.show(reading(b))
        await pilot.pause()
        assert table.phases == ["review", "qa"]
        assert "codex-7b21e0aa" in row_of(app, "review")
        table.focus()
        await pilot.press("down")
        assert table.cursor_phase == "qa" and app.highlighted == ["qa"]
        b.sprint.claim("security", agent="cursor-31f0b6d2", holder_pid=4242, holder_start=777)
        table.show(reading(b))  # a row appears above the cursor's: the cursor stays on qa
        await pilot.pause()
        assert table.phases == ["review", "security", "qa"]
        assert table.cursor_phase == "qa"
        assert app.highlighted == ["qa"]  # a live update never posts a highlight
        await pilot.press("enter")
        assert app.selected == ["qa"]


@async_test
async def test_a_row_whose_cells_change_while_another_row_comes_shows_the_new_cells(
    built: Any,
) -> None:
    b: Built = built("mid")
    app = Table()
    async with app.run_test(size=(120, 12)) as pilot:
        table = app.query_one(LocksTable)
        owner = b.sprint.claim(
            "security", agent="cursor-31f0b6d2", holder_pid=4242, holder_start=777
        )
        table.show(reading(b))  # the columns as wide as the reading below needs
        b.sprint.abort("security", agent="cursor-31f0b6d2", token=owner.token)
        table.show(reading(b))
        await pilot.pause()
        assert "codex-7b21e0aa" in row_of(app, "review")
        # review changes hands and security is taken, in one reading
        b.sprint.abort("review", agent="codex-7b21e0aa", force=True)
        b.sprint.claim("review", agent="claude-00ff00ff", holder_pid=4242, holder_start=777)
        b.sprint.claim("security", agent="cursor-31f0b6d2", holder_pid=4242, holder_start=777)
        table.show(reading(b))
        await pilot.pause()
        row = row_of(app, "review")
        assert "claude-00ff00ff" in row and "codex-7b21e0aa" not in row
        assert "cursor-31f0b6d2" in row_of(app, "security")


async def columns_settled(b: Built, table: LocksTable, pilot: Any) -> None:
    """A first lock on security may widen a column, once: take it and let it go, so that what
    the test does next changes no column's width."""
    owner = b.sprint.claim("security", agent="cursor-9", holder_pid=4242, holder_start=777)
    table.show(reading(b))
    b.sprint.abort("security", agent="cursor-9", token=owner.token)
    table.show(reading(b))
    await pilot.pause()


@async_test
async def test_a_lock_that_comes_and_goes_inside_the_pane_lays_nothing_out(built: Any) -> None:
    """Columns only widen, and the virtual height is the pane's: a claim and an abort of a
    phase already seen change no size (a new size would lay the whole screen out again)."""
    b: Built = built("mid")
    app = Table()
    async with app.run_test(size=(200, 12)) as pilot:
        table = app.query_one(LocksTable)
        await columns_settled(b, table, pilot)
        size = table.virtual_size
        owner = b.sprint.claim(
            "security", agent="cursor-31f0b6d2", holder_pid=4242, holder_start=777
        )
        table.show(reading(b))
        assert table.virtual_size == size  # no new size: no layout of the screen
        await pilot.pause()
        assert "cursor-31f0b6d2" in row_of(app, "security")
        b.sprint.abort("security", agent="cursor-31f0b6d2", token=owner.token)
        table.show(reading(b))
        assert table.virtual_size == size
        await pilot.pause()
        assert "security" not in screen_text(app)
        b.sprint.abort("review", agent="codex-7b21e0aa", force=True)
        b.sprint.abort("qa", agent="opencode-9c44d1e8", force=True)
        table.show(reading(b))
        await pilot.pause()
        assert screen_text(app).splitlines()[1].strip() == "nobody holds a lock"


@async_test
async def test_a_lock_that_comes_or_goes_draws_the_rows_that_moved_and_no_others(
    built: Any,
) -> None:
    """A row that comes or goes moves the rows under it: those lines are drawn again, and only
    those (a claim next to an otherwise unchanged table does not draw the table's other rows
    and blank lines), and no line is left showing a row that moved (each phase on one row)."""
    b: Built = built("mid")  # review and qa held; security comes between them
    app = Table()
    async with app.run_test(size=(200, 12)) as pilot:
        table = app.query_one(LocksTable)
        await columns_settled(b, table, pilot)
        drawn = drawn_lines(table)
        owner = b.sprint.claim(
            "security", agent="cursor-31f0b6d2", holder_pid=4242, holder_start=777
        )
        table.show(reading(b))
        await pilot.pause()
        assert table.phases == ["review", "security", "qa"]
        assert sorted(set(drawn)) == [2, 3]  # security's new row, and qa's one row down
        assert "cursor-31f0b6d2" in row_of(app, "security") and row_of(app, "qa")

        drawn.clear()
        b.sprint.abort("security", agent="cursor-31f0b6d2", token=owner.token)
        table.show(reading(b))
        await pilot.pause()
        assert sorted(set(drawn)) == [2, 3]  # qa one row up, and the row it left blanked
        assert "security" not in screen_text(app) and row_of(app, "qa")
        assert screen_text(app).splitlines()[3].strip() == ""


@async_test
async def test_a_row_more_or_less_in_a_full_pane_tells_the_scrollbar_and_lays_nothing_out(
    built: Any,
) -> None:
    """With more rows than the pane holds, a lock taken or released changes the scrollable
    height only: the scrollbar learns it, the new row can be scrolled to, and the screen is not
    laid out again (a layout repaints every scrolling pane's scrollbars)."""
    b: Built = built("mid")  # review and qa held
    app = Table()
    async with app.run_test(size=(200, 2)) as pilot:  # the header and one row
        table = app.query_one(LocksTable)
        await columns_settled(b, table, pilot)
        assert table.show_vertical_scrollbar and table.virtual_size.height == 3
        await settle(pilot)
        layouts: list[object] = []
        signal = app.screen.screen_layout_refresh_signal
        signal.subscribe(table, layouts.append)
        b.sprint.claim("security", agent="cursor-9", holder_pid=4242, holder_start=777)
        table.show(reading(b))
        await settle(pilot)
        assert layouts == []
        assert table.phases == ["review", "security", "qa"]
        assert table.virtual_size.height == 4
        assert table.vertical_scrollbar.window_virtual_size == 4
        table.focus()
        await pilot.press("end")  # the last row scrolls into view under the header
        assert table.cursor_phase == "qa" and table.scroll_offset.y == 2
        assert "opencode-9c44d1e8" in row_of(app, "qa")
        await settle(pilot)  # the scroll's own reflow of the view done
        layouts.clear()
        b.sprint.abort("security", agent="cursor-9", force=True)
        table.show(reading(b))
        await settle(pilot)
        assert layouts == []
        signal.unsubscribe(table)
        assert table.virtual_size.height == 3 and table.scroll_offset.y == 1
        assert table.vertical_scrollbar.window_virtual_size == 3
        assert "opencode-9c44d1e8" in row_of(app, "qa")


@async_test
async def test_a_filter_keeps_only_matching_rows_and_an_empty_table_keeps_its_header(
    built: Any,
) -> None:
    b: Built = built("mid")
    app = Table()
    async with app.run_test(size=(120, 12)) as pilot:
        table = app.query_one(LocksTable)
        snap = reading(b)
        table.show(snap, "opencode")
        await pilot.pause()
        assert table.phases == ["qa"]
        table.show(snap, "nobody")
        await pilot.pause()
        assert table.row_count == 0 and table.cursor_phase is None
        assert screen_text(app).splitlines()[0].split()[:3] == ["Phase", "Verdict", "Agent"]
        assert screen_text(app).splitlines()[1].strip() == "no lock matches the filter"
        await pilot.press("enter", "down")  # keys on an empty table do nothing
        assert app.selected == [] and app.highlighted == []
