"""The phase graph: a true layered drawing of any DAG, scrolling both ways, one line at a time.

The drawing comes from `core.drawing` (layers by longest path, long edges routed through the
layers they cross, crossings reduced, box characters that join only what is joined). This widget
renders only the visible lines (Textual's line API) and caches each line's strip keyed on the
states of the phases on it, so a reload that changes one phase rebuilds one line. Labels come in
three widths (glyph and name; with the state's word; with the agent and age): the widest that
fits the pane is used. Below 80 columns, when even the narrowest drawing does not fit, the graph
becomes a list that names each phase's dependencies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...core.drawing import GraphLayout, layout_graph, least_width
from ...text import GLYPH, minutes, safe
from ..model import Snapshot
from ..style import STATUS_STYLE

WORD = 9  # the longest state word: "malformed", "contested"
AGENT = 14  # an agent name, cut in the middle
LIST_BELOW = 80  # a terminal narrower than this shows a drawing that does not fit as a list
MODES = ("full", "compact", "tight")  # widest first

Graph = tuple[tuple[str, tuple[str, ...]], ...]


def middle(text: str, width: int) -> str:
    """Cut a name in the middle, keeping its kind and its distinguishing end (claude-…a90c2)."""
    if len(text) <= width:
        return text
    if width < 5:
        return text[:width]
    head = max(1, min(text.find("-") + 1 if "-" in text else width // 2, width // 2))
    tail = width - head - 1
    return text[:head] + "…" + text[-tail:]


def label_width(name: str, mode: str) -> int:
    """A node's width in a mode: fixed whatever its state, so a state change moves nothing."""
    width = 2 + len(name)
    if mode in ("compact", "full"):
        width += 1 + WORD
    if mode == "full":
        width += 1 + AGENT + 5  # " agent  age"
    return width


@lru_cache(maxsize=8)
def _layout(graph: Graph, mode: str) -> GraphLayout:
    """The drawing of a graph in a mode; computed once per graph and mode."""
    return layout_graph(graph, {name: label_width(name, mode) for name, _ in graph})


@lru_cache(maxsize=8)
def _least_width(graph: Graph, mode: str) -> int:
    """The least width of the drawing of a graph in a mode (see core.drawing.least_width)."""
    return least_width(graph, {name: label_width(name, mode) for name, _ in graph})


@lru_cache(maxsize=64)
def _style(spec: str) -> Style:
    return Style.parse(spec) if spec else Style()


LINE_STYLE = Style(dim=True)
# where the cursor goes until the user moves it: the first phase in the most pressing state
INTERESTING = {
    s: i for i, s in enumerate(("stale", "contested", "suspect", "malformed", "held", "ready"))
}


class PhaseGraph(ScrollView, can_focus=True):
    """The sprint's phases as a drawing (or a list when narrow), with a cursor on one phase."""

    BINDINGS = [
        Binding("j", "walk(1)", "Next phase in order", show=False),
        Binding("k", "walk(-1)", "Previous phase in order", show=False),
        Binding("down", "neighbour('down')", "Phase below", show=False),
        Binding("up", "neighbour('up')", "Phase above", show=False),
        Binding("right,l", "neighbour('right')", "A phase that needs this one", show=False),
        Binding("left,h", "neighbour('left')", "A phase this one needs", show=False),
    ]
    DEFAULT_CSS = """
    PhaseGraph { height: 1fr; width: 1fr; padding: 0 1; }
    """

    # the watchers repaint what changed: a new cursor repaints its old and new lines, not the
    # whole drawing (which a reactive's default repaint would)
    selected: reactive[str | None] = reactive(None, repaint=False)
    filter: reactive[str] = reactive("", repaint=False)

    class Selected(Message):
        """The cursor moved to a phase."""

        def __init__(self, phase: str) -> None:
            super().__init__()
            self.phase = phase

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot: Snapshot | None = None
        self.user_moved = False
        self.mode = "tight"
        self.list_mode = False
        self.layout_: GraphLayout | None = None
        self._graph: Graph = ()
        self._order: list[str] | None = None  # the snapshot order self._graph was made with
        # the phases in a pressing state, with its rank, as of the last reading (and the order
        # they were ranked in, with each phase's place in it)
        self._ranked: dict[str, int] = {}
        self._ranked_order: list[str] | None = None
        self._ranked_seq = 0  # the reading they are from (changed says what differs from it)
        self._index: dict[str, int] = {}
        self._row_nodes: dict[int, list[str]] = {}
        self._node_row: dict[str, int] = {}  # each phase's line
        self._strips: dict[int, tuple[tuple[object, ...], Strip]] = {}
        self._critical: frozenset[str] = frozenset()
        self._name_width = 0
        self._sources: frozenset[str] = frozenset()  # phases with dependents: lines leave them

    # ---------------------------------------------------------------- data

    def update_snapshot(self, snapshot: Snapshot) -> None:
        """Show a new reading; the cursor stays on its phase, only changed lines are rebuilt."""
        self.snapshot = snapshot
        view = snapshot.view
        if view is None:
            graph: Graph = ()
        elif snapshot.order and snapshot.order is self._order:
            graph = self._graph  # the loader keeps the order while sprint.json is the same file
        else:
            graph = tuple((pv.name, tuple(pv.depends_on)) for pv in view.phases)
        self._order = snapshot.order if view is not None else None
        critical = frozenset(snapshot.critical)
        whole = critical != self._critical or snapshot.changed is None
        self._critical = critical
        if graph != self._graph:
            self._graph = graph
            self._sources = frozenset(d for _, deps in graph for d in deps)
            self._relayout()
            whole = True
        if snapshot.order and (
            not self.user_moved or self.selected is None or self.selected not in snapshot.order
        ):
            # until the user moves it, the cursor follows what most needs a person
            self.selected = self._first_interesting(snapshot)
        if whole or view is None:
            self.refresh()
            return
        # only the lines of the phases whose view changed (with ages on show, the locked phases
        # too: their ages move with the clock), and of those only the lines that look different
        # (a lock's age changes its view at every reading, but its line once a minute)
        names = set(snapshot.changed or ())
        if self.mode == "full" or self.list_mode:
            names.update(pv.name for pv in view.phases if pv.lock is not None)
        strips, key = self._strips, self._key
        self._repaint_rows(
            {
                row
                for name in names
                if (row := self._node_row.get(name)) is not None
                and ((kept := strips.get(row)) is None or kept[0] != key(row))
            }
        )

    def on_resize(self) -> None:
        self._relayout()
        # what Textual drew at the new size came before this layout: draw it again, so that
        # the screen and the kept lines are this layout's
        self.refresh()

    def _relayout(self) -> None:
        """Choose the widest labels that fit, and the drawing (or the list) for them."""
        graph = self._graph
        self._strips.clear()
        if not graph:
            self.layout_ = None
            self.virtual_size = Size(0, 1)
            return
        room = max(1, self.scrollable_content_region.width or self.size.width)
        chosen = None
        for mode in MODES:
            if mode != MODES[-1] and _least_width(graph, mode) > room:
                continue  # cannot fit: not laid out (a thousand phases take tens of ms a mode)
            drawn = _layout(graph, mode)
            if drawn.width <= room or mode == MODES[-1]:
                chosen, self.mode = drawn, mode
                if drawn.width <= room:
                    break
        assert chosen is not None
        self.list_mode = chosen.width > room and self.app.size.width < LIST_BELOW
        self.layout_ = chosen
        if self.list_mode:
            self._name_width = min(24, max(len(n) for n, _ in graph))
            self.virtual_size = Size(room, len(graph))
            self._row_nodes = {i: [name] for i, (name, _) in enumerate(graph)}
            self._node_row = {name: i for i, (name, _) in enumerate(graph)}
        else:
            self.virtual_size = Size(chosen.width, chosen.height)
            rows: dict[int, list[str]] = {}
            for name, node in chosen.nodes.items():
                rows.setdefault(node.row, []).append(name)
            self._row_nodes = rows
            self._node_row = {name: node.row for name, node in chosen.nodes.items()}
        self._reveal(self.selected)

    def _first_interesting(self, snapshot: Snapshot) -> str:
        """The first phase in the order with the most pressing state. The phases in a pressing
        state are kept from one reading to the next, and only the ones that changed are looked
        at again (every phase when the reading does not say what changed, or follows another
        reading than the last one seen here: the graph is not updated while it is hidden)."""
        ranked = self._ranked
        changed = snapshot.changed
        follows, self._ranked_seq = snapshot.seq == self._ranked_seq + 1, snapshot.seq
        if changed is None or not follows or snapshot.order is not self._ranked_order:
            ranked.clear()
            names: Iterable[str] = snapshot.order
            self._ranked_order = snapshot.order
            self._index = {name: i for i, name in enumerate(snapshot.order)}
        else:
            names = changed
        for name in names:
            pv = snapshot.phase(name)
            rank = INTERESTING.get(pv.status) if pv is not None else None
            if rank is None:
                ranked.pop(name, None)
            else:
                ranked[name] = rank
        index = self._index
        if not ranked:
            return snapshot.order[0]
        return min(ranked, key=lambda name: (ranked[name], index.get(name, 0)))

    def watch_selected(self, old: str | None, phase: str | None) -> None:
        if phase is not None:
            self.post_message(self.Selected(phase))
            self.call_after_refresh(self._reveal, phase)
        self._forget(old, phase)

    def watch_filter(self, _value: str) -> None:
        self._strips.clear()
        self.refresh()

    def _forget(self, *names: str | None) -> None:
        """Drop the cached lines of some phases, and repaint those lines alone."""
        rows = {row for name in names if name and (row := self._node_row.get(name)) is not None}
        for row in rows:
            self._strips.pop(row, None)
        self._repaint_rows(rows)

    def _repaint_rows(self, rows: set[int]) -> None:
        """Repaint the lines of the drawing that are in view among rows."""
        top, width, height = self.scroll_offset.y, self.size.width, self.size.height
        regions = [Region(0, row - top, width, 1) for row in rows if 0 <= row - top < height]
        if regions:
            self.refresh(*regions)

    def _reveal(self, phase: str | None) -> None:
        """Scroll so that a phase is in view."""
        if phase is None or self.layout_ is None:
            return
        if self.list_mode:
            row = next((i for i, (n, _) in enumerate(self._graph) if n == phase), None)
            if row is not None:
                self.scroll_to_region(Region(0, row, 1, 1), animate=False, immediate=True)
            return
        node = self.layout_.nodes.get(phase)
        if node is not None:
            region = Region(max(0, node.col - 4), node.row, node.width + 6, 1)
            self.scroll_to_region(region, animate=False, immediate=True)

    # ---------------------------------------------------------------- keys

    def order(self) -> list[str]:
        """The order j and k walk: the sprint's."""
        return [name for name, _ in self._graph]

    def action_walk(self, step: int) -> None:
        """Move the cursor along the sprint's order."""
        order = self.order()
        if not order:
            return
        self.user_moved = True
        index = order.index(self.selected) if self.selected in order else 0
        self.selected = order[max(0, min(len(order) - 1, index + step))]

    def action_neighbour(self, direction: str) -> None:
        """Move the cursor to the neighbouring phase in the drawing."""
        if self.layout_ is None or self.selected is None:
            return
        if self.list_mode:
            self.action_walk({"down": 1, "up": -1, "right": 1, "left": -1}[direction])
            return
        self.user_moved = True
        target = self.layout_.neighbours(self.selected).get(direction)
        if target is not None:
            self.selected = target

    def _matches(self, name: str) -> bool:
        if not self.filter:
            return True
        pv = self.snapshot.phase(name) if self.snapshot else None
        hay = f"{name} {pv.status} {pv.agent}" if pv else name
        return self.filter.lower() in hay.lower()

    # ---------------------------------------------------------------- drawing

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width
        snap = self.snapshot
        if snap is None or snap.view is None or self.layout_ is None:
            if y == 0:
                message = "reading the store…" if snap is None else (snap.error or "no sprint")
                return Strip([Segment(safe(message, 500), Style(bold=True))]).crop_extend(
                    0, width, None
                )
            return Strip.blank(width)
        key = self._key(row)
        cached = self._strips.get(row)
        if cached is None or cached[0] != key:
            strip = self._list_strip(row) if self.list_mode else self._graph_strip(row)
            cached = (key, strip)
            self._strips[row] = cached
        return cached[1].crop_extend(scroll_x, scroll_x + width, None)

    def _key(self, row: int) -> tuple[object, ...]:
        """What the line's look depends on: the states on it, the cursor, the filter."""
        snap = self.snapshot
        assert snap is not None
        parts: list[object] = [self.mode, self.list_mode]
        for name in self._row_nodes.get(row, ()):
            pv = snap.phase(name)
            if pv is None:
                continue
            when = self._age(name) if self.mode == "full" or self.list_mode else ""
            parts.append(
                (
                    name,
                    pv.status,
                    pv.agent,
                    when,
                    name == self.selected,
                    self._matches(name),
                    name in self._critical,
                )
            )
        return tuple(parts)

    def _age(self, name: str) -> str:
        """How long a lock has been held, to the minute: a line of the drawing changes when its
        lock's age on show does, once a minute, not at each reading."""
        pv = self.snapshot.phase(name) if self.snapshot else None
        if pv is None or pv.lock is None or pv.status == "done":
            return ""
        return minutes(pv.lock.age_s)

    def _label(self, name: str, width: int) -> list[Segment]:
        """A node's label as styled segments, exactly width cells."""
        snap = self.snapshot
        assert snap is not None
        pv = snap.phase(name)
        status = pv.status if pv is not None else "malformed"
        state_style = _style(STATUS_STYLE.get(status, ""))
        glyph = GLYPH.get(status, "?")
        name_style = state_style + Style(bold=True)
        if name in self._critical:
            name_style += Style(underline=True)
        segments = [Segment(f"{glyph} ", state_style), Segment(name, name_style)]
        if self.list_mode and len(name) < self._name_width:  # columns line up in a list
            segments.append(Segment(" " * (self._name_width - len(name))))
        if self.list_mode:  # columns line up in a list
            segments.append(Segment(f" {status:<{WORD}}", state_style))
        elif self.mode in ("compact", "full"):
            segments.append(Segment(f" {status}", state_style))
        if self.mode == "full" and not self.list_mode:
            agent = middle(safe(pv.agent, 64), AGENT) if pv is not None and pv.agent else ""
            if agent:
                segments.append(Segment(f" {agent} {self._age(name)}".rstrip(), Style(dim=True)))
        extra = Style(reverse=True) if name == self.selected else None
        if not self._matches(name):
            extra = (extra or Style()) + Style(dim=True)
        if extra is not None:
            segments = [Segment(s.text, (s.style or Style()) + extra) for s in segments]
        used = sum(len(s.text) for s in segments)
        if used < width:  # the line leaves just right of the text, as core.drawing.render does
            fill = "─" if name in self._sources and not self.list_mode else " "
            segments.append(Segment(fill * (width - used), LINE_STYLE))
        return segments

    def _graph_strip(self, row: int) -> Strip:
        drawn = self.layout_
        assert drawn is not None
        line = drawn.canvas[row] if row < len(drawn.canvas) else ""
        nodes = sorted((drawn.nodes[name].col, name) for name in self._row_nodes.get(row, ()))
        segments: list[Segment] = []
        at = 0
        for col, name in nodes:
            if col > at:
                segments.extend(_line_segments(line[at:col]))
            width = drawn.nodes[name].width
            segments.extend(self._label(name, width))
            at = col + width
        if at < len(line):
            segments.extend(_line_segments(line[at:]))
        return Strip(segments)

    def _list_strip(self, row: int) -> Strip:
        if row >= len(self._graph):
            return Strip([])
        name, deps = self._graph[row]
        segments = self._label(name, 0)
        # what a phase needs first (a narrow pane must not lose it), then who holds it
        if deps:
            segments.append(Segment(f" ← needs {', '.join(deps)}", Style(dim=True)))
        pv = self.snapshot.phase(name) if self.snapshot else None
        if pv is not None and pv.agent:
            who = f" · {middle(safe(pv.agent, 64), AGENT)} {self._age(name)}".rstrip()
            segments.append(Segment(who, Style(dim=True)))
        return Strip(segments)


def _line_segments(text: str) -> Sequence[Segment]:
    """The drawing's lines: dim, so the labels stand out; blanks unstyled."""
    if not text.strip():
        return [Segment(text)]
    return [Segment(text, LINE_STYLE)]
