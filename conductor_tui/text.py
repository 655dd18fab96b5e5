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
