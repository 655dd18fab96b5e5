"""Recent audit events of the sprint, newest last."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...core.models import AuditEvent
from ...text import safe

EVENT_STYLE = {
    "sprint_claim": "cyan",
    "sprint_complete": "green",
    "sprint_unstuck": "bold red",
    "sprint_fenced": "magenta",
    "sprint_abort": "yellow",
}


class EventLog(Static):
    """The audit log's tail, as plain text (names are untrusted)."""

    DEFAULT_CSS = """
    EventLog { height: auto; padding: 0 1; }
    """

    def show(self, events: list[AuditEvent | str], filter_text: str = "") -> None:
        """Render events, oldest first."""
        out = Text()
        shown = 0
        for e in events:
            if isinstance(e, str):
                line = Text(f"! {safe(e, 200)}", style="magenta")
            else:
                if e.event == "sprint_heartbeat":
                    continue
                line = Text(f"{safe(e.at[11:19], 8)}  ", style="dim")
                line.append(
                    f"{safe(e.event.removeprefix('sprint_'), 20):<10} ",
                    style=EVENT_STYLE.get(e.event, ""),
                )
                line.append(f"{safe(e.resource, 20):<9} ", style="bold")
                line.append(safe(e.detail, 160))
            if filter_text and filter_text.lower() not in line.plain.lower():
                continue
            if shown:
                out.append("\n")
            out.append_text(line)
            shown += 1
        self.update(out if shown else Text("no events yet", style="dim"))
