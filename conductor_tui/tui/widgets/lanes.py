"""The batch lanes: the batches that have run, dimmed, then the planner's batches still to run.

Each phase with a time shows it as a small bar scaled to the longest on show: claim to complete
for a done phase, claim to the reading's instant for a held one (so its bar grows at each
re-read of the store).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain, islice

from rich.text import Text

from ...core.estimate import Timing
from ...core.models import PhaseView
from ...text import GLYPH, age, safe
from ..model import Lane
from ..style import STATUS_STYLE
from .quiet import QuietLines

CLASS_NOTE = {"read": "side by side", "write": "one writer", "exclusive": "alone"}
EIGHTHS = " ▏▎▍▌▋▊▉"  # a bar's last cell, in eighths of a cell
SEP = "  "  # between two phases of a lane
MAX_CELLS = 16  # the longest bar
NOTES_ROOM = 40  # below this many cells for the phases, the classes' notes give way


PHASES_SHOWN = 24  # per lane: a lane of 200 side-by-side phases is a count, not 200 items
# which phases of a crowded lane are named first: what needs a person, then who is working
_FIRST = {"stale": 0, "contested": 0, "malformed": 1, "suspect": 1, "held": 2}


def _first(phases: Sequence[PhaseView], most: int) -> Sequence[PhaseView]:
    """A lane's phases to name: all of them, or the `most` that matter most, in lane order."""
    if len(phases) <= most:
        return phases
    by_rank: list[list[int]] = [[], [], [], []]  # in lane order within each rank: no sort
    for i, pv in enumerate(phases):
        by_rank[_FIRST.get(pv.status, 3)].append(i)
    keep = set(islice(chain.from_iterable(by_rank), most))
    return [pv for i, pv in enumerate(phases) if i in keep]


def bar(seconds: float, longest: float, cells: int) -> str:
    """A bar of up to `cells` cells for seconds out of longest; a sliver for any time at all."""
    if longest <= 0 or seconds <= 0 or cells <= 0:
        return ""
    eighths = round(min(seconds, longest) / longest * cells * 8)
    full, part = divmod(max(1, eighths), 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def flow(items: Sequence[Text], width: int) -> Text:
    """Items side by side, starting a new line between two items rather than inside one."""
    out = Text()
    used = 0
    for item in items:
        if used and used + len(SEP) + item.cell_len > width:
            out.append("\n")
            used = 0
        elif used:
            out.append(SEP)
            used += len(SEP)
        out.append_text(item)
        used += item.cell_len
    return out


class BatchLanes(QuietLines):
    """One line per batch: number (✓ once run), class, busy/slots, then its phases and times."""

    DEFAULT_CSS = """
    BatchLanes { height: auto; padding: 0 1; }
    """

    def __init__(
        self, *, limit: int | None = None, brief: bool = False, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.limit = limit  # how many lanes to run are shown, then how many more there are
        self.brief = brief  # the overview: the batches run as one summary line
        self._last: tuple[list[Lane], bool, list[Lane], Timing | None] | None = None
        # each lane's phases as last flowed, by the lane's phase names: (views, bars' key, text)
        self._made: dict[tuple[str, ...], Made] = {}
        self._next: dict[tuple[str, ...], Made] = {}  # what this show() flowed (and keeps)
        # each row's lines, by its cells, with the phases' text they were made from
        self._row_made: dict[tuple[object, ...], tuple[Text, list[Text]]] = {}
        self._next_rows: dict[tuple[object, ...], tuple[Text, list[Text]]] = {}
        # each lane's first three cells, by id() of the Lane (kept with it)
        self._cells: dict[tuple[int, bool, bool], tuple[Lane, Row]] = {}
        self._next_cells: dict[tuple[int, bool, bool], tuple[Lane, Row]] = {}

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)  # lines break and bars scale with the width

    def show(
        self,
        lanes: list[Lane],
        all_done: bool,
        done: Sequence[Lane] = (),
        timing: Timing | None = None,
    ) -> None:
        """Render the batches run (one summary line when limited) and the first `limit` lanes
        to run, with how many more there are."""
        self._last = (lanes, all_done, list(done), timing)
        earlier = 0
        if not self.brief and self.limit is not None and len(done) > self.limit // 3:
            keep = max(1, self.limit // 3)  # the latest batches run; a count of the others
            earlier, done = len(done) - keep, done[-keep:]
        took: Mapping[str, float] = timing.took if timing is not None else {}
        shown = [pv.name for lane in [*done, *lanes] for pv in lane.phases]
        longest = max((took[name] for name in shown if name in took), default=0.0)
        more = 0
        budget = None if self.limit is None else self.limit + 1 - (1 if done else 0)
        if budget is not None and len(lanes) > budget:  # a "1 more" line saves nothing
            lanes, more = lanes[: budget - 1], len(lanes) - (budget - 1)
        if not lanes and not done:
            self.show_text(
                Text("✓ every phase is done" if all_done else "no batches", style="green")
            )
            return
        width = max(20, (self.size.width or 120) - 2)
        summary = bool(done) and self.brief
        rows = self._rows(lanes, done, summary, notes=True)
        room = width - _fixed(rows)  # the phases' column
        if room < NOTES_ROOM:  # narrow: the classes' notes give way to the phases
            rows = self._rows(lanes, done, summary, notes=False)
            room = width - _fixed(rows)
        room = max(12, room)
        cells = max(3, min(MAX_CELLS, room // 6))  # one scale for every bar on show
        widths = [
            max(n.cell_len for n, _, _, _, _ in rows),
            max(k.cell_len for _, k, _, _, _ in rows),
            max(b.cell_len for _, _, b, _, _ in rows),
        ]
        indent = " " * (sum(widths) + 3)
        self._next = {}
        lines: list[Text] = []
        for number, kind, busy, row_lane, style in rows:
            if row_lane is None:
                phases = _summary(done, took, longest, cells, room)
            else:
                phases = self._phases(row_lane, took, longest, cells, room)
            key = (number.plain, kind.plain, busy.plain, style, tuple(widths))
            kept = self._row_made.get(key)
            if kept is not None and kept[0] is phases:
                self._next_rows[key] = kept
                lines.extend(kept[1])
                continue
            row = Text(style=style)  # the row's style first, under its cells' own
            row.append_text(_pad(number, widths[0], right=True))
            for cell, cell_width in ((kind, widths[1]), (busy, widths[2])):
                row.append(" ")
                row.append_text(_pad(cell, cell_width))
            row.append(" ")
            for i, line in enumerate(phases.split("\n")):
                if i:
                    row.append("\n" + indent)
                row.append_text(line)
            made = row.split("\n", allow_blank=True)
            self._next_rows[key] = (phases, list(made))
            lines.extend(made)
        self._made, self._row_made, self._next_rows = self._next, self._next_rows, {}
        self._cells, self._next_cells = self._next_cells, {}
        # below the grid, not in its class column, which they would widen
        if earlier:
            lines.append(Text(f"… and {earlier} earlier batches done", style="dim"))
        if all_done and not lanes:
            lines.append(Text("✓ every phase is done", style="green"))
        if more:
            lines.append(Text(f"… {more} more batches (Lanes tab: 3)", style="dim"))
        self.show_lines(lines)

    def _phases(
        self, lane: Lane, took: Mapping[str, float], longest: float, cells: int, room: int
    ) -> Text:
        """A lane's phases, flowed into room; kept while the lane's phase views are the same
        objects (a reading keeps the view of every phase that did not change) and its bars the
        same, so a reading that changes one phase builds one lane again."""
        pvs = tuple(lane.phases)
        times = tuple(took.get(pv.name) for pv in pvs)
        # the scale matters only to a lane with a bar to draw
        key = (times, longest if any(t is not None for t in times) else None, cells, room)
        names = tuple(lane.batch.phases)
        kept = self._made.get(names)
        if kept is not None and kept[1] == key and _same_views(kept[0], pvs):
            self._next[names] = kept
            return kept[2]
        shown = _first(pvs, PHASES_SHOWN)
        items = [_phase(pv, _holder(pv), took, longest, cells, room) for pv in shown]
        if len(pvs) > len(shown):
            items.append(Text(f"+{len(pvs) - len(shown)} more", "dim"))
        text = flow(items, room)
        self._next[names] = (pvs, key, text)
        return text

    def _rows(
        self, lanes: Sequence[Lane], done: Sequence[Lane], summary: bool, notes: bool
    ) -> list[Row]:
        """The rows' first three cells, and the lane whose phases follow (None: the summary).
        A lane's row is made once while the loader hands over the same Lane object (it does for
        every lane whose phases did not change)."""
        rows: list[Row] = []
        if summary:
            kind = Text("done", style="bold")
            if notes:
                n = len(done)
                kind.append(f" ({n} batch{'es' if n != 1 else ''})", style="dim")
            rows.append((Text("✓", style="green"), kind, Text(), None, "dim"))
        else:
            rows.extend(self._row(lane, notes, True) for lane in done)
        rows.extend(self._row(lane, notes, False) for lane in lanes)
        return rows

    def _row(self, lane: Lane, notes: bool, ran: bool) -> Row:
        key = (id(lane), notes, ran)
        kept = self._cells.get(key)
        if kept is not None and kept[0] is lane:
            self._next_cells[key] = kept
            return kept[1]
        if ran:
            row: Row = (Text("✓", style="green"), _kind(lane, notes), Text("done"), lane, "dim")
        else:
            busy = Text(f"{lane.busy}/{lane.slots} busy", style="cyan" if lane.busy else "dim")
            number = Text(str(lane.batch.batch), style="bold")
            row = (number, _kind(lane, notes), busy, lane, "")
        self._next_cells[key] = (lane, row)
        return row


Made = tuple[tuple[PhaseView, ...], tuple[object, ...], Text]

# a row of the grid: number, class, busy, then the lane whose phases fill it (None: the summary
# of the batches run), and the row's style
Row = tuple[Text, Text, Text, Lane | None, str]


def _same_views(a: Sequence[PhaseView], b: Sequence[PhaseView]) -> bool:
    """The same phase views, object for object."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _fixed(rows: Sequence[Row]) -> int:
    """The cells the first three columns take, with the padding after each."""
    return sum(
        max(text.cell_len for text in column) + 1
        for column in zip(*((n, k, b) for n, k, b, _, _ in rows), strict=True)
    )


def _pad(text: Text, width: int, *, right: bool = False) -> Text:
    """text padded with spaces to width cells (on the left when right-justified)."""
    gap = " " * max(0, width - text.cell_len)
    if right:
        return Text.assemble(gap, text)
    return Text.assemble(text, gap)


def _kind(lane: Lane, notes: bool) -> Text:
    """`read (side by side)`: the batch's class and, with notes, what it means."""
    kind = Text(lane.batch.type, style="bold")
    if notes:
        kind.append(f" ({CLASS_NOTE[lane.batch.type]})", style="dim")
    return kind


def _holder(pv: PhaseView) -> str:
    """Who works on a phase, for a phase somebody holds."""
    if pv.agent and pv.status not in ("done", "ready", "blocked"):
        return safe(pv.agent, 24)
    return ""


def _phase(
    pv: PhaseView,
    agent: str,
    took: Mapping[str, float],
    longest: float,
    cells: int,
    room: int,
) -> Text:
    """One phase: glyph and name in its state's style, its holder, its bar and its time. What
    does not fit in room gives way: the holder first, then the bar."""
    style = STATUS_STYLE.get(pv.status, "")
    seconds = took.get(pv.name)
    forms = [(agent, cells), ("", cells), ("", 0)] if agent else [("", cells), ("", 0)]
    out = Text()
    for holder, size in forms:
        out = Text(f"{GLYPH.get(pv.status, '?')} {safe(pv.name, 64)}", style=style)
        if holder:
            out.append(f" ({holder})", style="dim")
        if seconds is not None:
            drawn = bar(seconds, longest, size)
            if drawn:
                out.append(" ")
                out.append(drawn, style=style or "default")
            out.append(f" {age(seconds)}", style="dim")
        if out.cell_len <= room:
            break
    return out


def _summary(
    done: Sequence[Lane], took: Mapping[str, float], longest: float, cells: int, room: int
) -> Text:
    """Every phase run so far, on one line: at the common scale, or without bars when they do
    not fit (never at a scale of their own), then cut."""
    line = Text()
    for size in (cells, 0):
        items = [_phase(pv, "", took, longest, size, room) for lane in done for pv in lane.phases]
        line = Text(SEP).join(items)
        if line.cell_len <= room:
            break
    line.no_wrap, line.overflow = True, "ellipsis"
    return line
