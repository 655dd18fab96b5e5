"""Styles and small formatters shared by the widgets (colour always doubles a glyph and a word)."""

from __future__ import annotations

STATUS_STYLE = {
    "done": "green",
    "held": "cyan",
    "suspect": "yellow",
    "stale": "bold red",
    "contested": "bold magenta",
    "malformed": "magenta",
    "ready": "",
    "blocked": "dim",
}


def age(seconds: float | None) -> str:
    """A short duration: 42s, 7m, 1.5h."""
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
