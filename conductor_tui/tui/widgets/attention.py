"""The attention list: what needs a person now, each with the key that acts on it."""

from __future__ import annotations

from rich.text import Text

from ...text import GLYPH, safe
from ..model import Attention
from ..style import STATUS_STYLE
from .quiet import QuietStatic

KIND_GLYPH = {**GLYPH, "fenced": "⊘", "changed": "≠"}


class AttentionList(QuietStatic):
    """Stale and suspect locks, double grants, malformed records, fenced completions (a reading
    that brings the same list repaints nothing)."""

    DEFAULT_CSS = """
    AttentionList {
        height: auto; padding: 0 1; border-top: solid $panel;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def show(self, items: list[Attention], filter_text: str = "") -> None:
        """Render the list (a calm line when nothing needs anyone)."""
        if filter_text:
            items = [
                a for a in items if filter_text.lower() in f"{a.phase} {a.kind} {a.text}".lower()
            ]
        if not items:
            self.show_text(Text("✓ nothing needs attention", style="green"))
            return
        lines = Text(f"⚠ {len(items)} need{'s' if len(items) == 1 else ''} attention", style="bold")
        for item in items:
            style = STATUS_STYLE.get(item.kind, "yellow")
            lines.append("\n")
            # the key first, so it is never the part cut off at the edge
            lines.append(f"{item.key:^7}", style="bold reverse")
            lines.append(f" {KIND_GLYPH.get(item.kind, '!')} {item.kind:<9} ", style=style)
            lines.append(f"{safe(item.phase, 24)}  ", style="bold")
            lines.append(safe(item.text, 300))
        lines.no_wrap = True
        lines.overflow = "ellipsis"
        self.show_text(lines)
