"""The batch lanes: the planner's batches, each with its class, phases and busy slots."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ...text import GLYPH, safe
from ..model import Lane
from ..style import STATUS_STYLE

CLASS_NOTE = {"read": "side by side", "write": "one writer", "exclusive": "alone"}


class BatchLanes(Static):
    """One line per batch: number, class, busy/slots, then the phases in their states."""

    DEFAULT_CSS = """
    BatchLanes { height: auto; padding: 0 1; }
    """

    def __init__(self, *, limit: int | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.limit = limit  # the overview shows the first lanes; the Lanes tab shows them all

    def show(self, lanes: list[Lane], all_done: bool) -> None:
        """Render the lanes (the first `limit` of them, and how many more there are)."""
        more = 0
        if self.limit is not None and len(lanes) > self.limit + 1:  # a "1 more" line saves nothing
            lanes, more = lanes[: self.limit], len(lanes) - self.limit
        if not lanes:
            self.update(Text("✓ every phase is done" if all_done else "no batches", style="green"))
            return
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", style="bold", no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1)  # phases wrap inside their own column
        for lane in lanes:
            b = lane.batch
            busy = Text(f"{lane.busy}/{lane.slots} busy", style="cyan" if lane.busy else "dim")
            kind = Text(b.type, style="bold")
            kind.append(f" ({CLASS_NOTE[b.type]})", style="dim")
            phases = Text()
            for pv in lane.phases:
                if phases:
                    phases.append("  ")
                glyph = GLYPH.get(pv.status, "?")
                phases.append(f"{glyph} {pv.name}", style=STATUS_STYLE.get(pv.status, ""))
                if pv.agent and pv.status not in ("done", "ready", "blocked"):
                    phases.append(f" ({safe(pv.agent, 24)})", style="dim")
            grid.add_row(str(b.batch), kind, busy, phases)
        if more:
            grid.add_row("", Text(f"… {more} more batches (Lanes tab: 3)", style="dim"), "", "")
        out = grid
        self.update(out)
