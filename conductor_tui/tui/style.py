"""Colours of the states in the app (each one doubles a glyph and a word: see text.GLYPH)."""

from __future__ import annotations

from ..text import COLOUR

STATUS_STYLE = {state: rich for state, (rich, _ansi) in COLOUR.items()}
