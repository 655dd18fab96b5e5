"""The batch lanes: the planner's batches, each with its class, phases and busy slots."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...text import safe
from ..model import GLYPH, Lane
from ..style import STATUS_STYLE

CLASS_NOTE = {"read": "side by side", "write": "one writer", "exclusive": "alone"}


class BatchLanes(Static):
    """One line per batch: number, class, busy/slots, then the phases in their states."""

    DEFAULT_CSS = """
    BatchLanes { height: auto; padding: 0 1; }
    """

    def show(self, lanes: list[Lane], all_done: bool) -> None:
        """Render the lanes."""
        if not lanes:
            self.update(Text("✓ every phase is done" if all_done else "no batches", style="green"))
            return
        out = Text()
        for i, lane in enumerate(lanes):
            b = lane.batch
            out.append(f"{b.batch:>2} ", style="bold")
            out.append(f"{b.type:<9}", style="bold")
            out.append(f" {lane.busy}/{lane.slots} busy ", style="cyan" if lane.busy else "dim")
            out.append(f"({CLASS_NOTE[b.type]})  ", style="dim")
            for pv in lane.phases:
                out.append(
                    f"{GLYPH.get(pv.status, '?')} {pv.name}", style=STATUS_STYLE.get(pv.status, "")
                )
                if pv.agent and pv.status not in ("done", "ready", "blocked"):
                    out.append(f" ({safe(pv.agent, 20)})", style="dim")
                out.append("  ")
            if i < len(lanes) - 1:
                out.append("\n")
        self.update(out)
