"""The one-line header: sprint, project, progress, lock counts and the mode."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...text import safe
from ..model import Snapshot


class SprintHeader(Static):
    """Sprint id, project, done/total, held/stale/suspect counts, ACT or READ-ONLY."""

    DEFAULT_CSS = """
    SprintHeader { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, read_only: bool, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.read_only = read_only

    _last: tuple[Snapshot, str] | None = None

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)

    def show(self, snap: Snapshot, note: str = "") -> None:
        """Render the header for a snapshot."""
        self._last = (snap, note)
        mode = Text(" READ-ONLY " if self.read_only else " ACT ", style="reverse bold")
        if snap.view is None:
            line = Text("conductor · ", style="bold")
            line.append(safe(snap.error or "no sprint", 300))
            self.update(Text.assemble(mode, " ", line))
            return
        v = snap.view
        counts = Text()
        counts.append(f"{v.count('done')}/{len(v.phases)} done", style="bold")
        shown = 0
        for status, style in (
            ("stale", "bold red"),
            ("contested", "bold magenta"),
            ("malformed", "magenta"),
            ("suspect", "yellow"),
            ("held", "cyan"),
        ):
            n = v.count(status)
            if n:
                counts.append(" · ")
                counts.append(f"{n} {status}", style=style)
                shown += 1
        if not shown:
            counts.append(" · nobody holding", style="dim")
        width = max(20, (self.size.width or 120) - 2)
        ident = safe(v.sprint_id, 80) + ("" if v.status == "active" else f" ({safe(v.status, 20)})")
        # what matters most comes first; the id and then the project give way when narrow
        line = Text.assemble(mode, " ", counts)
        room = width - line.cell_len - 2
        if room >= len(ident):
            line.append("  " + ident, style="bold")
            room -= len(ident) + 2
            if room > 8:
                project = safe(v.project, 300)
                if len(project) > room - 1:
                    project = "…" + project[-(room - 2) :]
                line.append(" " + project, style="dim")
        elif room > 8:
            line.append("  " + ident[: room - 1] + "…", style="bold")
        if note:
            line.append("  " + note, style="italic")
        line.truncate(width, overflow="ellipsis")
        self.update(line)
