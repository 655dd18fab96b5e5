"""Strict, size-capped JSON reading, and the one serialiser of records."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable

from .limits import MAX_ARTIFACT, MAX_DEPTH, MAX_RECORD_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MAX_ARTIFACT", "MAX_RECORD_BYTES", "MalformedJSON", "dumps", "loads_strict"]


class MalformedJSON(ValueError):
    """A file that is not a well-formed, strict JSON document of the expected size and shape."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedJSON(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise MalformedJSON(f"non-standard number {name}")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e999 overflows to infinity
        raise MalformedJSON(f"number {text[:20]} is out of range")
    return value


def _too_deep(value: Any, limit: int) -> bool:
    """Whether a parsed document nests deeper than limit (iterative: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def loads_strict(data: bytes, *, limit: int = MAX_RECORD_BYTES) -> Any:
    """Parse bytes as strict JSON: UTF-8, size-capped, no duplicate keys, no NaN, bounded depth."""
    if len(data) > limit:
        raise MalformedJSON(f"too large ({len(data)} bytes, limit {limit})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJSON(f"not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constants,
            parse_float=_finite,
        )
    except MalformedJSON:
        raise
    except RecursionError:
        raise MalformedJSON(f"nested deeper than {MAX_DEPTH}") from None
    except ValueError as exc:
        raise MalformedJSON(str(exc) or "invalid JSON") from None
    if _too_deep(value, MAX_DEPTH):
        raise MalformedJSON(f"nested deeper than {MAX_DEPTH}")
    return value


def read_bytes_nofollow(path: str, *, limit: int = MAX_RECORD_BYTES) -> bytes:
    """Read a regular file without following a symlink at its last component; size-capped."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: the path is a symlink
            raise MalformedJSON("is a symlink; refusing to follow it") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise MalformedJSON("is not a regular file")
        if st.st_size > limit:
            raise MalformedJSON(f"too large ({st.st_size} bytes, limit {limit})")
        return read_fd(fd, limit)
    finally:
        os.close(fd)


def read_fd(fd: int, limit: int) -> bytes:
    """Everything an open file holds, refusing more than limit bytes (it may grow as we read)."""
    chunks = []
    remaining = limit + 1
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    data = b"".join(chunks)
    if len(data) > limit:
        raise MalformedJSON(f"too large (over {limit} bytes)")
    return data


def read_json(path: str, *, limit: int = MAX_RECORD_BYTES) -> Any:
    """Read a strict JSON file (no symlink follow). Raises FileNotFoundError or MalformedJSON."""
    return loads_strict(read_bytes_nofollow(path, limit=limit), limit=limit)


def dumps(obj: Any) -> bytes:
    """Serialise compactly and deterministically enough for humans to read."""
    return (
        json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(", ", ": ")) + "\n"
    ).encode()
