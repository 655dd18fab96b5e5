"""The phase graph: layered columns joined by box-drawing edges, one selectable node per phase.

Below the width the columns need it becomes a stacked list, one phase a line.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from ...text import GLYPH, age, safe
from ..model import Snapshot
from ..style import STATUS_STYLE

GAP = 3  # columns between two layers: "─┬▶"
MIN_COL = 12
NODE_ROWS = 3  # name, state and age, agent
BOX = {
    # (left, right, up, down) -> the bus character
    (True, True, True, True): "┼",
    (True, True, True, False): "┴",
    (True, True, False, True): "┬",
    (True, True, False, False): "─",
    (True, False, True, True): "┤",
    (True, False, True, False): "┘",
    (True, False, False, True): "┐",
    (True, False, False, False): "─",
    (False, True, True, True): "├",
    (False, True, True, False): "└",
    (False, True, False, True): "┌",
    (False, True, False, False): "─",
    (False, False, True, True): "│",
    (False, False, True, False): "│",
    (False, False, False, True): "│",
    (False, False, False, False): " ",
}


def middle(text: str, width: int) -> str:
    """Cut a name in the middle, keeping its kind and its distinguishing end (claude-…a90c2)."""
    if len(text) <= width:
        return text
    if width < 5:
        return text[:width]
    head = max(1, min(text.find("-") + 1 if "-" in text else width // 2, width // 2))
    tail = width - head - 1
    return text[:head] + "…" + text[-tail:]


def _fit(text: str, width: int) -> str:
    """Cut to width cells with an ellipsis, then pad."""
    if cell_len(text) > width:
        while cell_len(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - cell_len(text))


class PhaseGraph(Widget, can_focus=True):
    """The sprint's phases as a graph (or a list when narrow), with a cursor on one phase."""

    BINDINGS = [
        Binding("j,down", "move(1)", "Next phase", show=False),
        Binding("k,up", "move(-1)", "Previous phase", show=False),
        Binding("l,right", "layer(1)", "Next column", show=False),
        Binding("h,left", "layer(-1)", "Previous column", show=False),
    ]
    DEFAULT_CSS = """
    PhaseGraph { height: auto; width: 1fr; padding: 0 1; text-wrap: nowrap; text-overflow: clip; }
    """

    selected: reactive[str | None] = reactive(None)
    filter: reactive[str] = reactive("")

    class Selected(Message):
        """The cursor moved to a phase."""

        def __init__(self, phase: str) -> None:
            super().__init__()
            self.phase = phase

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot: Snapshot | None = None
        self._node_rows: dict[str, int] = {}
        self.user_moved = False
        self._lines: dict[str, tuple[tuple[object, ...], Text]] = {}  # list mode, per phase
        self._pitch = NODE_ROWS + 1  # rows from one node to the next in a column
        self._list_mode = False

    def update_snapshot(self, snapshot: Snapshot) -> None:
        """Show a new reading; the cursor stays on its phase."""
        self.snapshot = snapshot
        if snapshot.order and (
            not self.user_moved or self.selected is None or self.selected not in snapshot.order
        ):
            # until the user moves it, the cursor follows what most needs a person
            self.selected = self._first_interesting(snapshot)
        self.refresh(layout=True)

    def _first_interesting(self, snapshot: Snapshot) -> str:
        for status in ("stale", "contested", "suspect", "malformed", "held", "ready"):
            for name in snapshot.order:
                pv = snapshot.phase(name)
                if pv is not None and pv.status == status:
                    return name
        return snapshot.order[0]

    def watch_selected(self, phase: str | None) -> None:
        if phase is not None:
            self.post_message(self.Selected(phase))
            row = self._node_rows.get(phase)
            if row is not None:
                self.call_after_refresh(self._scroll_to_row, row)
        self.refresh()

    def watch_filter(self, _value: str) -> None:
        self.refresh()

    def _scroll_to_row(self, row: int) -> None:
        height = 1 if self._list_mode else NODE_ROWS
        self.scroll_to_region(Region(0, row, 1, height), animate=False)

    def _order(self) -> list[str]:
        snap = self.snapshot
        if snap is None:
            return []
        if self._list_mode:
            return snap.order
        return [name for layer in snap.layers for name in layer]

    def action_move(self, step: int) -> None:
        """Move the cursor to the next or previous phase."""
        order = self._order()
        if not order:
            return
        self.user_moved = True
        index = order.index(self.selected) if self.selected in order else 0
        self.selected = order[max(0, min(len(order) - 1, index + step))]

    def action_layer(self, step: int) -> None:
        """Move the cursor to the neighbouring column (or page in the list)."""
        snap = self.snapshot
        if snap is None or not snap.layers:
            return
        self.user_moved = True
        if self._list_mode:
            self.action_move(step * 5)
            return
        where = next((i for i, layer in enumerate(snap.layers) if self.selected in layer), 0)
        target = max(0, min(len(snap.layers) - 1, where + step))
        layer = snap.layers[target]
        row = snap.layers[where].index(self.selected) if self.selected in snap.layers[where] else 0
        self.selected = layer[min(row, len(layer) - 1)]

    def _matches(self, name: str) -> bool:
        if not self.filter:
            return True
        pv = self.snapshot.phase(name) if self.snapshot else None
        hay = f"{name} {pv.status} {pv.agent}" if pv else name
        return self.filter.lower() in hay.lower()

    # ---------------------------------------------------------------- layout

    def _column_widths(self, width: int) -> list[int] | None:
        snap = self.snapshot
        if snap is None or not snap.layers:
            return None
        n = len(snap.layers)
        room = width - 1 - GAP * (n - 1)  # one column spare for a scrollbar
        if room < MIN_COL * n:
            return None
        wants = []
        for layer in snap.layers:
            want = MIN_COL
            for name in layer:
                pv = snap.phase(name)
                agent = len(pv.agent) if pv else 0
                state = len(pv.status) + 7 if pv else 0  # "  stale 12m"
                want = max(want, len(name) + 2, agent + 2, state)
            wants.append(want)
        if sum(wants) <= room:
            return wants
        # share the room: each column gets at least MIN_COL, the rest in proportion
        spare = room - MIN_COL * n
        extra = [w - MIN_COL for w in wants]
        total = sum(extra) or 1
        return [MIN_COL + (spare * e) // total for e in extra]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        snap = self.snapshot
        if snap is None or snap.view is None:
            return 1
        self._list_mode = self._column_widths(width) is None
        if self._list_mode:
            return len(snap.order)
        tallest = max(len(layer) for layer in snap.layers)
        # a blank row between nodes when the pane has room for it, none when it is short
        self._pitch = (
            NODE_ROWS + 1 if tallest * (NODE_ROWS + 1) - 1 <= container.height else NODE_ROWS
        )
        return tallest * self._pitch - (self._pitch - NODE_ROWS)

    def render(self) -> Text:
        snap = self.snapshot
        if snap is None:
            return Text("reading the store…", style="dim")
        if snap.view is None:
            return Text(safe(snap.error or "no sprint", 500), style="bold")
        width = self.content_region.width or self.size.width
        widths = self._column_widths(width)
        self._list_mode = widths is None
        if widths is None:
            return self._render_list(width)
        return self._render_graph(widths)

    def _node_lines(self, name: str, width: int) -> list[Text]:
        snap = self.snapshot
        assert snap is not None
        pv = snap.phase(name)
        if pv is None:
            return [Text(" " * width)] * NODE_ROWS
        style = STATUS_STYLE.get(pv.status, "")
        selected = name == self.selected
        dim = not self._matches(name)
        glyph = GLYPH.get(pv.status, "?")
        when = ""
        if pv.status != "done" and pv.lock is not None:
            when = age(pv.lock.age_s)
        lines = [
            Text(_fit(f"{glyph} {name}", width), style=f"bold {style}"),
            Text(_fit(f"  {pv.status} {when}".rstrip(), width), style=style),
            Text(
                _fit("  " + middle(safe(pv.agent, 64), width - 2) if pv.agent else "", width),
                style="dim" if not style else "",
            ),
        ]
        for line in lines:
            if selected:
                line.stylize("reverse")
            if dim:
                line.stylize("dim")
        return lines

    def _render_graph(self, widths: list[int]) -> Text:
        snap = self.snapshot
        assert snap is not None and snap.view is not None
        layers = snap.layers
        pitch = self._pitch
        height = max(len(layer) for layer in layers) * pitch - (pitch - NODE_ROWS)
        # the row of each node: layers centred on the tallest
        top: dict[str, int] = {}
        for layer in layers:
            block = len(layer) * pitch - (pitch - NODE_ROWS)
            offset = (height - block) // 2
            for i, name in enumerate(layer):
                top[name] = offset + i * pitch
        self._node_rows = top
        deps = {pv.name: pv.depends_on for pv in snap.view.phases}
        has_dependents = {d for ds in deps.values() for d in ds}
        rows = [Text() for _ in range(height)]
        for col, layer in enumerate(layers):
            width = widths[col]
            cells: list[Text | None] = [None] * height
            for name in layer:
                for i, line in enumerate(self._node_lines(name, width)):
                    cells[top[name] + i] = line
            for r in range(height):
                rows[r].append_text(cells[r] or Text(" " * width))
            if col == len(layers) - 1:
                continue
            # the bus between this column and the next
            left = {top[n] for n in layer if n in has_dependents}
            right = {top[n] for n in layers[col + 1] if deps.get(n)}
            marks = left | right
            low, high = (min(marks), max(marks)) if marks else (0, -1)
            for r in range(height):
                is_l, is_r = r in left, r in right
                up, down = low < r <= high, low <= r < high
                if not (low <= r <= high):
                    rows[r].append(" " * GAP)
                    continue
                mid = BOX[(is_l, is_r, up, down)]
                rows[r].append(("─" if is_l else " ") + mid + ("▶" if is_r else " "), style="dim")
        return Text("\n").join(rows)

    def _render_list(self, width: int) -> Text:
        snap = self.snapshot
        assert snap is not None
        rows = []
        self._node_rows = {}
        name_w = min(24, max((len(n) for n in snap.order), default=5))
        for i, name in enumerate(snap.order):
            pv = snap.phase(name)
            if pv is None:
                continue
            self._node_rows[name] = i
            when = age(pv.lock.age_s) if pv.lock is not None and pv.status != "done" else ""
            key = (pv.status, pv.agent, when, name == self.selected, self._matches(name), width)
            cached = self._lines.get(name)
            if cached is not None and cached[0] == key:
                rows.append(cached[1])  # unchanged since the last reading: no new Text
                continue
            glyph = GLYPH.get(pv.status, "?")
            line = f"{glyph} {name:<{name_w}} {pv.status:<9} {safe(pv.agent, 40)} {when}"
            text = Text(_fit(line, max(10, width)), style=STATUS_STYLE.get(pv.status, ""))
            if name == self.selected:
                text.stylize("reverse")
            if not self._matches(name):
                text.stylize("dim")
            self._lines[name] = (key, text)
            rows.append(text)
        return Text("\n").join(rows)
