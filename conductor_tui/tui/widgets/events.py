"""Recent audit events of the sprint, newest first (the pane shows the latest without scrolling)."""

from __future__ import annotations

from rich.text import Text

from ...core.models import AuditEvent
from ...text import safe
from .quiet import QuietScroll

EVENT_STYLE = {
    "sprint_claim": "cyan",
    "sprint_complete": "green",
    "sprint_unstuck": "bold red",
    "sprint_fenced": "magenta",
    "sprint_abort": "yellow",
}


class EventLog(QuietScroll):
    """The audit log's tail, as plain text (names are untrusted); it scrolls itself."""

    DEFAULT_CSS = """
    EventLog { height: 1fr; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._made: dict[int, tuple[AuditEvent, Text]] = {}  # id(event) -> its line

    def show(self, events: list[AuditEvent | str], filter_text: str = "") -> None:
        """Render events, newest first, one line each (a long detail is cut)."""
        lines: list[Text] = []
        made: dict[int, tuple[AuditEvent, Text]] = {}
        needle = filter_text.lower()
        for e in reversed(events):
            if isinstance(e, str):
                line = Text(f"! {safe(e, 200)}", style="magenta")
            elif e.event == "sprint_heartbeat":
                continue
            else:
                known = self._made.get(id(e))
                line = known[1] if known is not None and known[0] is e else _line(e)
                made[id(e)] = (e, line)
            if needle and needle not in line.plain.lower():
                continue
            lines.append(line)
        self._made = made  # the lines of events no longer shown are let go
        self.show_lines(lines or [Text("no events yet", style="dim")])


def _line(e: AuditEvent) -> Text:
    """One event: time, what happened, to which phase, and the detail."""
    line = Text(f"{safe(e.at[11:19], 8)}  ", style="dim")
    line.append(
        f"{safe(e.event.removeprefix('sprint_'), 20):<10} ", style=EVENT_STYLE.get(e.event, "")
    )
    line.append(f"{safe(e.resource, 20):<9} ", style="bold")
    line.append(safe(e.detail, 160))
    return line
