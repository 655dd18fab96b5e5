"""Linux inotify through ctypes: one descriptor, watches added and removed, events read in bulk.

No threads here and no policy: watch.py's tree observer decides what to watch and reads this
descriptor from its one reader thread. Only Linux has inotify; `Inotify()` raises OSError
elsewhere (or when the process is out of inotify instances), and the caller falls back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct
import sys
from typing import NamedTuple

__all__ = ["Inotify", "RawEvent", "available"]

# <sys/inotify.h>
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = getattr(os, "O_CLOEXEC", 0o2000000)

_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of NUL-padded name
_READ_SIZE = 64 * 1024


class RawEvent(NamedTuple):
    """One inotify event: the watch, what happened, and the entry's name (empty: the watched
    directory itself)."""

    wd: int
    mask: int
    cookie: int
    name: str


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    if not all(hasattr(lib, f) for f in ("inotify_init1", "inotify_add_watch", "inotify_rm_watch")):
        return None
    lib.inotify_init1.argtypes = [ctypes.c_int]
    lib.inotify_init1.restype = ctypes.c_int
    lib.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    lib.inotify_add_watch.restype = ctypes.c_int
    lib.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.inotify_rm_watch.restype = ctypes.c_int
    return lib


_LIBC = _libc()


def available() -> bool:
    """Whether this platform has inotify at all (Linux with a C library that exports it)."""
    return _LIBC is not None


def parse(buf: bytes) -> list[RawEvent]:
    """The events in one read()'s bytes (a read never splits an event)."""
    events: list[RawEvent] = []
    at, end, size = 0, len(buf), _HEADER.size
    while at + size <= end:
        wd, mask, cookie, length = _HEADER.unpack_from(buf, at)
        at += size
        raw = buf[at : at + length]
        at += length
        events.append(RawEvent(wd, mask, cookie, os.fsdecode(raw.rstrip(b"\0"))))
    return events


class Inotify:
    """One non-blocking, close-on-exec inotify descriptor."""

    def __init__(self) -> None:
        lib = _LIBC
        if lib is None:
            raise OSError(errno.ENOSYS, "inotify is not available on this platform")
        fd = lib.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_init1: {os.strerror(err)}")
        self._lib = lib
        self._fd = int(fd)

    def fileno(self) -> int:
        """The descriptor, for select()."""
        return self._fd

    def add(self, path: str, mask: int) -> int:
        """Watch path for mask; the watch descriptor (the same one again for the same inode).
        OSError as inotify_add_watch fails: ENOENT, ENOTDIR (with IN_ONLYDIR), ENOSPC (the
        user's watch limit), EACCES."""
        wd = self._lib.inotify_add_watch(self._fd, os.fsencode(path), mask)
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
        return int(wd)

    def remove(self, wd: int) -> None:
        """Stop a watch; one already gone (its directory deleted) is not an error."""
        self._lib.inotify_rm_watch(self._fd, wd)

    def read(self) -> list[RawEvent]:
        """The events queued now (none when nothing is queued: the descriptor never blocks)."""
        try:
            buf = os.read(self._fd, _READ_SIZE)
        except BlockingIOError:
            return []
        return parse(buf)

    def close(self) -> None:
        """Close the descriptor (every watch goes with it); more than once is harmless."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)
