"""The attention list: what needs a person now, each with the key that acts on it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...text import safe
from ..model import GLYPH, Attention
from ..style import STATUS_STYLE

KIND_GLYPH = {**GLYPH, "fenced": "⊘", "changed": "≠"}


class AttentionList(Static):
    """Stale and suspect locks, double grants, malformed records, fenced completions."""

    DEFAULT_CSS = """
    AttentionList { height: auto; max-height: 8; padding: 0 1; border-top: solid $panel; }
    """

    def show(self, items: list[Attention], filter_text: str = "") -> None:
        """Render the list (a calm line when nothing needs anyone)."""
        if filter_text:
            items = [
                a for a in items if filter_text.lower() in f"{a.phase} {a.kind} {a.text}".lower()
            ]
        if not items:
            self.update(Text("✓ nothing needs attention", style="green"))
            return
        lines = Text(
            f"⚠ {len(items)} need{'s' if len(items) == 1 else ''} attention\n", style="bold"
        )
        for i, item in enumerate(items):
            style = STATUS_STYLE.get(item.kind, "yellow")
            lines.append(f"{KIND_GLYPH.get(item.kind, '!')} {item.kind:<9} ", style=style)
            lines.append(f"{safe(item.phase, 24):<9} ", style="bold")
            lines.append(safe(item.text, 160))
            lines.append(f"  [{item.key}]", style="bold reverse")
            if i < len(items) - 1:
                lines.append("\n")
        self.update(lines)
