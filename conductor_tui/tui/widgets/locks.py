"""The locks table: who holds what, since when, and the verdict with its evidence.

Drawn through the line API (a `ScrollView`): each row's strip is kept until its cells change,
so a reading that changes one lock redraws one row, and only the rows in view are drawn at all.
The table's virtual height is never less than the widget's own, so a lock taken or released
while the rows fit in the pane changes no size and lays nothing out again (Textual's DataTable
re-measures itself, and the screen lays out, on every row added or removed); with more rows than
the pane holds, a row more or less tells the scrollbar, and lays nothing out either.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...text import GLYPH, age, safe
from ..model import Snapshot
from ..style import STATUS_STYLE
from .quiet import set_scroll_size

# the evidence right after who and how long: it is what explains a verdict
COLUMNS = ("Phase", "Verdict", "Agent", "Held", "Evidence", "Epoch", "Beat", "PID", "Alive")
# the widest a column grows (cells are cut with an ellipsis past it)
WIDEST = {"Phase": 40, "Verdict": 12, "Agent": 40, "Held": 10, "Evidence": 200}
PAD = 1  # blank cells left and right of each column's text
Cell = tuple[str, str]  # a cell's plain text (never markup) and its style's name


class LocksTable(ScrollView, can_focus=True):
    """One row per locked phase, kept in place by phase name (the cursor never jumps)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Details", show=False),
        Binding("up", "cursor(-1)", "Row above", show=False),
        Binding("down", "cursor(1)", "Row below", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor(-1000000)", "First row", show=False),
        Binding("end", "cursor(1000000)", "Last row", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "locks--header",
        "locks--cursor",
        "locks--even",
    }
    DEFAULT_CSS = """
    LocksTable { height: 1fr; background: $surface; }
    LocksTable > .locks--header { text-style: bold; background: $panel; color: $foreground; }
    LocksTable > .locks--even { background: $surface-lighten-1 20%; }
    LocksTable > .locks--cursor { background: $block-cursor-blurred-background; }
    LocksTable:focus > .locks--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    """

    cursor: reactive[int] = reactive(0, repaint=False)
    MANY = 8  # more lines to draw again than this: the table is repainted as one region

    class Highlighted(Message):
        """The user moved the cursor to a phase's row."""

        def __init__(self, phase: str) -> None:
            super().__init__()
            self.phase = phase

    class Selected(Message):
        """The user pressed Enter on (or clicked) a phase's row."""

        def __init__(self, phase: str) -> None:
            super().__init__()
            self.phase = phase

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: dict[str, list[Cell]] = {}  # phase -> its cells, in the sprint's order
        self._keys: list[str] = []
        self._widths: list[int] = [len(c) for c in COLUMNS]
        self._strips: dict[str, tuple[tuple[object, ...], Strip]] = {}
        self._filtered = False  # the rows shown are a filter's
        self._style = Style()  # the widget's own style, as of the current drawing pass
        self.updates = 0  # readings that changed the table (for tests and benchmarks)

    # ---------------------------------------------------------------- data

    @property
    def phases(self) -> list[str]:
        """The phases with a row, top to bottom."""
        return list(self._keys)

    @property
    def row_count(self) -> int:
        """How many rows the table has."""
        return len(self._keys)

    @property
    def cursor_phase(self) -> str | None:
        """The phase under the cursor."""
        return self._keys[self.cursor] if 0 <= self.cursor < len(self._keys) else None

    def show(self, snap: Snapshot, filter_text: str = "") -> None:
        """Apply a snapshot: rows appear, change and go by phase name; the cursor stays on its
        phase while it has a row."""
        rows: dict[str, list[Cell]] = {}
        view = snap.view
        needle = filter_text.lower()
        for pv in view.phases if view else []:
            lock = pv.lock
            if lock is None or pv.status == "done":
                continue
            if needle and needle not in f"{pv.name} {pv.status} {lock.agent}".lower():
                continue
            beat = ""
            if lock.heartbeat_at and lock.lease_expires_in is not None:
                beat = lock.heartbeat_at[11:19]
            alive = {True: "yes", False: "no", None: "?"}[lock.holder_alive]
            rows[pv.name] = [
                (safe(pv.name, 200), "bold"),
                (f"{GLYPH.get(pv.status, '?')} {pv.status}", STATUS_STYLE.get(pv.status, "")),
                (safe(lock.agent, 40), ""),
                (age(lock.age_s), ""),
                (safe("; ".join(lock.evidence), 200), "dim"),
                (str(lock.epoch) if lock.epoch is not None else "—", ""),
                (beat, ""),
                (str(lock.holder_pid) if lock.holder_pid else "—", ""),
                (alive, "red" if lock.holder_alive is False else ""),
            ]
        filtered = bool(needle)
        if rows == self._rows and list(rows) == self._keys and filtered == self._filtered:
            return
        said = filtered != self._filtered and not rows  # the empty table's line says another thing
        self._filtered = filtered
        before, old_keys, old_cursor = self.cursor_phase, self._keys, self.cursor
        changed = [k for k, cells in rows.items() if self._rows.get(k) != cells]
        self._rows = rows
        self._keys = list(rows)
        self.updates += 1
        # columns only widen: a lock that comes and goes must not move the others (nor change
        # the table's size, which would lay the screen out again)
        widths = list(self._widths)
        for cells in rows.values():
            for i, (plain, _) in enumerate(cells):
                widths[i] = max(widths[i], cell_len(plain))
        widths = [min(w, WIDEST.get(c, w)) for c, w in zip(COLUMNS, widths, strict=True)]
        resized = widths != self._widths
        self._widths = widths
        # a row's strip is kept only while its phase has a row with the same cells
        self._strips = {k: v for k, v in self._strips.items() if k in rows and k not in changed}
        if before in rows:
            self.set_reactive(LocksTable.cursor, self._keys.index(before))
        else:
            self.set_reactive(LocksTable.cursor, max(0, min(self.cursor, len(self._keys) - 1)))
        self._resize()
        if resized:
            self._strips.clear()
            self.refresh()
            return
        # the lines to draw again (the header is line 0): the rows whose cells changed; where a
        # row came or went, every row from the first that differs down to the end of the longer
        # list (they moved); and the cursor's old and new rows when its row is another
        lines = {1 + self._keys.index(k) for k in changed[: self.MANY + 1]}
        if self._keys != old_keys:
            first = next(
                (i for i, (a, b) in enumerate(zip(old_keys, self._keys, strict=False)) if a != b),
                min(len(old_keys), len(self._keys)),
            )
            lines.update(range(1 + first, 1 + max(len(old_keys), len(self._keys))))
        if self.cursor != old_cursor:
            lines.update((1 + old_cursor, 1 + self.cursor))
        if said:
            lines.add(1)
        if len(lines) > self.MANY:
            self.refresh()  # one region, not many clips
            return
        for y in sorted(lines):
            self.refresh_line(y)

    def _resize(self) -> None:
        """The virtual size: every column, and about the pane's height at least (so that rows
        coming and going inside the pane lay nothing out again)."""
        width = sum(w + 2 * PAD for w in self._widths)
        # one row short of the pane: a horizontal scrollbar takes a row, and the table must not
        # then look taller than its pane (a vertical scrollbar for nothing)
        height = max(1 + len(self._keys), self.size.height - 1)
        set_scroll_size(self, Size(width, height))  # rows past the pane's: no layout

    def on_resize(self, _event: events.Resize) -> None:
        self._resize()

    # ---------------------------------------------------------------- drawing

    def render_lines(self, crop: Region) -> list[Strip]:
        # the widget's style, worked out once a pass (Textual walks the ancestors for it)
        self._style = self.rich_style
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y == 0:  # the header stays on top whatever the scroll
            strip = self._header()
        elif y == 1 and not self._keys:
            strip = self._nobody()
        else:
            row = y - 1 + scroll_y
            strip = self._row(row) if row < len(self._keys) else self._blank()
        return strip.crop_extend(scroll_x, scroll_x + width, self._style)

    def _cell(self, cell: Cell, width: int, base: Style) -> list[Segment]:
        """A cell exactly width cells wide (cut with an ellipsis, padded), between its pads."""
        plain, style_name = cell
        style = base + self.app.console.get_style(style_name) if style_name else base
        if cell_len(plain) > width:
            plain = set_cell_size(plain, width - 1) + "…" if width > 0 else ""
        pad = Segment(" " * PAD, base)
        return [pad, Segment(set_cell_size(plain, width), style), pad]

    def _header(self) -> Strip:
        key = ("header", tuple(self._widths), self._style)
        cached = self._strips.get("\0header")
        if cached is not None and cached[0] == key:
            return cached[1]
        base = self.get_component_rich_style("locks--header")
        segments: list[Segment] = []
        for col, w in zip(COLUMNS, self._widths, strict=True):
            segments.extend(self._cell((col, ""), w, base))
        strip = Strip(segments)
        self._strips["\0header"] = (key, strip)
        return strip

    def _row(self, index: int) -> Strip:
        phase = self._keys[index]
        at_cursor = index == self.cursor
        focused = self.has_focus
        key = (tuple(self._widths), index % 2, at_cursor, at_cursor and focused, self._style)
        cached = self._strips.get(phase)
        if cached is not None and cached[0] == key:
            return cached[1]
        base = self._style
        if index % 2:
            base = base + self.get_component_rich_style("locks--even")
        if at_cursor:
            base = base + self.get_component_rich_style("locks--cursor")
        segments: list[Segment] = []
        for cell, w in zip(self._rows[phase], self._widths, strict=True):
            segments.extend(self._cell(cell, w, base))
        strip = Strip(segments)
        self._strips[phase] = (key, strip)
        return strip

    def _nobody(self) -> Strip:
        """The first row of an empty table: say so, rather than show nothing."""
        said = " no lock matches the filter" if self._filtered else " nobody holds a lock"
        text = Text(said, style="dim")
        return Strip(list(text.render(self.app.console))).apply_style(self._style)

    def _blank(self) -> Strip:
        return Strip.blank(sum(w + 2 * PAD for w in self._widths), self._style)

    # ---------------------------------------------------------------- cursor

    def watch_cursor(self, old: int, new: int) -> None:
        for row in (old, new):
            self.refresh_line(1 + row)
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        view = max(1, self.size.height - 1)  # rows under the header
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + view:
            self.scroll_to(y=self.cursor - view + 1, animate=False)

    def refresh_line(self, y: int) -> None:
        """Repaint a line of the table (y counts the header as 0)."""
        shown = y if y == 0 else y - self.scroll_offset.y
        if 0 <= shown < self.size.height:
            self.refresh(Region(0, shown, self.size.width, 1))

    def _move(self, to: int) -> None:
        if not self._keys:
            return
        to = max(0, min(to, len(self._keys) - 1))
        if to != self.cursor:
            self.cursor = to
            self.post_message(self.Highlighted(self._keys[to]))

    def action_cursor(self, delta: int) -> None:
        """Move the cursor by rows."""
        self._move(self.cursor + delta)

    def action_page(self, pages: int) -> None:
        """Move the cursor by a pane of rows."""
        self._move(self.cursor + pages * max(1, self.size.height - 1))

    def action_select(self) -> None:
        """Open the row's phase."""
        phase = self.cursor_phase
        if phase is not None:
            self.post_message(self.Selected(phase))

    def on_click(self, event: events.Click) -> None:
        row = event.y - 1 + self.scroll_offset.y
        if event.y >= 1 and 0 <= row < len(self._keys):
            self._move(row)
            if event.chain >= 2:
                self.action_select()

    def on_focus(self) -> None:
        self.refresh_line(1 + self.cursor)

    def on_blur(self) -> None:
        self.refresh_line(1 + self.cursor)
