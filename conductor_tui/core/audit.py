"""The audit log: JSON Lines in <store>/audit.log, appended one whole line per write."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator

from .faults import before_write
from .jsonio import MalformedJSON, loads_strict
from .limits import MAX_AUDIT_LINE, MAX_AUDIT_READ
from .models import AuditEvent

# Upstream's event names where the transition exists upstream; ours otherwise.
EVENTS = {
    "start": "sprint_start",
    "claim": "sprint_claim",
    "complete": "sprint_complete",
    "reclaim": "sprint_unstuck",
    "heartbeat": "sprint_heartbeat",
    "abort": "sprint_abort",
    "fenced": "sprint_fenced",
    "superseded": "sprint_superseded",
    "archive": "sprint_archive",
    "doctor": "sprint_doctor",
}


def append(path: str, event: AuditEvent) -> None:
    """Append one event as a single write on an O_APPEND descriptor (whole lines, never torn)."""
    data = event.model_dump(exclude_none=True)
    line = json.dumps(data, ensure_ascii=False, separators=(", ", ": ")) + "\n"
    raw = line.encode()
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    before_write("append", path)
    fd = os.open(path, flags, 0o666)  # the umask decides: a shared store's log is group-writable
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path} is not a regular file")  # a FIFO or device: never block on it
        if st.st_size and os.pread(fd, 1, st.st_size - 1) != b"\n":
            raw = b"\n" + raw  # a torn last line stays torn; our event starts on a line of its own
        os.write(fd, raw)
    finally:
        os.close(fd)


def read(
    path: str, *, tail: int | None = None, max_bytes: int = MAX_AUDIT_READ
) -> Iterator[AuditEvent | str]:
    """Yield events in order; an unreadable line is yielded as a string describing it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return
    except OSError as exc:
        yield f"audit.log cannot be read: {exc.strerror}"
        return
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        yield "audit.log is not a regular file"
        return
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            fh.seek(size - max_bytes)
            fh.readline()  # drop the partial first line
        lines = fh.read().splitlines()
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            yield AuditEvent.model_validate(loads_strict(raw, limit=MAX_AUDIT_LINE))
        except (MalformedJSON, ValueError) as exc:
            first = str(exc).splitlines()[0][:80]
            yield f"line {number}: malformed ({first})"
