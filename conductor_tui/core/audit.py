"""The audit log: JSON Lines in <store>/audit.log, appended one whole line per write."""

from __future__ import annotations

import json
import os
import stat
from collections import deque
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
    "unsandboxed": "sprint_unsandboxed",  # a read phase's command ran without the kernel sandbox
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


class Tail:
    """The last events of the log, kept between reads: each read parses only the lines
    appended since the one before. A log that was truncated, replaced or rotated (another
    file, or shorter than what was read, or no longer ending a line where the last read did)
    is read again from its tail, as `read` does."""

    def __init__(self, path: str, keep: int, *, max_bytes: int = MAX_AUDIT_READ) -> None:
        self.path = path
        self.keep = max(0, keep)
        self.max_bytes = max_bytes
        self._events: deque[AuditEvent | str] = deque(maxlen=self.keep)
        self._file: tuple[int, int] | None = None  # (st_dev, st_ino) of what was read
        self._offset = 0  # just past the last whole line read
        self._lines = 0  # whole lines seen since the tail was last read afresh
        self.rereads = 0  # how often the tail was read afresh (a figure for tests)

    def read(self) -> list[AuditEvent | str]:
        """The last `keep` events, oldest first; an unreadable line is a string describing it."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            self._forget()
            return []
        except OSError as exc:
            self._forget()
            return [f"audit.log cannot be read: {exc.strerror}"]
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                self._forget()
                return ["audit.log is not a regular file"]
            fragment = self._catch_up(fd, st)
        finally:
            os.close(fd)
        events = list(self._events)
        if fragment:  # a last line not (yet) ended: shown, and read again next time
            events.append(self._parse(fragment, self._lines + 1))
            events = events[-self.keep :] if self.keep else []
        return events

    def _forget(self) -> None:
        self._events.clear()
        self._file = None
        self._offset = self._lines = 0

    def _same_file(self, fd: int, st: os.stat_result) -> bool:
        if self._file != (st.st_dev, st.st_ino) or st.st_size < self._offset:
            return False
        # rewritten in place to the same length or longer: the last read ended a line there
        return self._offset == 0 or os.pread(fd, 1, self._offset - 1) == b"\n"

    def _catch_up(self, fd: int, st: os.stat_result) -> bytes:
        """Parse the whole lines appended since the last read; returns the unfinished last one."""
        start = self._offset
        skip_partial = False
        if not self._same_file(fd, st) or st.st_size - start > self.max_bytes:
            self._forget()
            self.rereads += 1
            self._file = (st.st_dev, st.st_ino)
            start = max(0, st.st_size - self.max_bytes)
            skip_partial = start > 0
        data = _pread_all(fd, start, st.st_size - start)
        if skip_partial:
            cut = data.find(b"\n") + 1  # the partial first line is dropped, as `read` does
            start, data = start + cut, data[cut:] if cut else b""
        end = data.rfind(b"\n") + 1
        whole, fragment = data[:end], data[end:]
        self._offset = start + end
        lines = whole.splitlines()
        first = self._lines + 1
        self._lines += len(lines)
        skipped = max(0, len(lines) - self.keep)  # older than what is kept: never parsed
        for number, raw in enumerate(lines[skipped:], first + skipped):
            if raw.strip():
                self._events.append(self._parse(raw, number))
        return fragment if fragment.strip() else b""

    @staticmethod
    def _parse(raw: bytes, number: int) -> AuditEvent | str:
        try:
            return AuditEvent.model_validate(loads_strict(raw, limit=MAX_AUDIT_LINE))
        except (MalformedJSON, ValueError) as exc:
            first = str(exc).splitlines()[0][:80]
            return f"line {number}: malformed ({first})"


def _pread_all(fd: int, offset: int, size: int) -> bytes:
    """size bytes from offset (fewer if the file is shorter)."""
    chunks: list[bytes] = []
    while size > 0:
        chunk = os.pread(fd, min(size, 1 << 20), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
        size -= len(chunk)
    return b"".join(chunks)
