"""Untrusted strings made safe to print: control characters and escapes become visible."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe(text: object, limit: int = 200) -> str:
    """One printable line: control characters shown as \\xNN escapes, long text cut with '…'."""
    value = str(text)
    value = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


# A glyph and a word for every state: colour is never the only signal.
GLYPH = {
    "done": "✓",
    "held": "●",
    "suspect": "◐",
    "stale": "✗",
    "contested": "‼",
    "malformed": "?",
    "ready": "○",
    "blocked": "·",
}

# The colour of each state, for Rich (the app) and as an ANSI SGR code (the command line on a
# terminal); it only ever doubles the glyph and the word. Never used under NO_COLOR.
COLOUR = {
    "done": ("green", "32"),
    "held": ("cyan", "36"),
    "suspect": ("yellow", "33"),
    "stale": ("bold red", "1;31"),
    "contested": ("bold magenta", "1;35"),
    "malformed": ("magenta", "35"),
    "ready": ("", ""),
    "blocked": ("dim", "2"),
}


def minutes(seconds: float | None) -> str:
    """A duration to the minute: <1m, 7m, 1.5h ('' when unknown). What a screen that is read
    again only now and then shows beside a lock: it changes once a minute, not at every reading
    (the seconds belong where a reading's instant is shown with them)."""
    if seconds is None:
        return ""
    return "<1m" if seconds < 60 else age(seconds)


def age(seconds: float | None) -> str:
    """A short duration: 42s, 7m, 1.5h ('' when unknown)."""
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
