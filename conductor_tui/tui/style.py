"""Colours of the states (each one doubles a glyph and a word: see text.GLYPH)."""

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
