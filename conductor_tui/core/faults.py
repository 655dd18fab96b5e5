"""Fault injection for the test suite: crash points, and a failure at the n-th write.

`CONDUCTOR_CRASH_AT=<point>` ends the process at a named crash point (exit 86);
`CONDUCTOR_STOP_AT=<point>` stops it there with SIGSTOP (a suspended laptop, a swapped-out agent)
until someone sends SIGCONT.
`CONDUCTOR_FAULT=<n>:<ERRNO>` makes the n-th write to the disk (a create, write, fsync, mkdir,
rename, link, symlink, unlink or rmdir, counted from 1) fail with that errno, as a full disk, a
read-only file system or a permission problem would. `CONDUCTOR_FAULT_LOG=<file>` appends one line
per write (`<n> <op> <path>`) so that a test learns how many writes a command makes.
The fault variables are read once, at import; unset, the write hook is one comparison.
"""

from __future__ import annotations

import errno
import os

_FAULT = os.environ.get("CONDUCTOR_FAULT") or None
_FAULT_LOG = os.environ.get("CONDUCTOR_FAULT_LOG") or None
_ACTIVE = bool(_FAULT or _FAULT_LOG)
_count = 0


def _parse(spec: str | None) -> tuple[int, int] | None:
    if not spec:
        return None
    n, _, name = spec.partition(":")
    code = getattr(errno, name, None)
    if not n.isdigit() or not isinstance(code, int):
        raise SystemExit(f"CONDUCTOR_FAULT={spec!r}: expected <n>:<ERRNO>, e.g. 3:ENOSPC")
    return int(n), code


_TARGET = _parse(_FAULT)


def crash(point: str) -> None:
    """End the process here when the test suite asked for this crash point (read at each point:
    the stress harness sets it in forked workers)."""
    if os.environ.get("CONDUCTOR_CRASH_AT") == point:
        os._exit(86)
    if os.environ.get("CONDUCTOR_STOP_AT") == point:
        import signal  # only the test suite stops here; its enums cost every command 0.5 ms

        os.kill(os.getpid(), signal.SIGSTOP)


def before_write(op: str, path: str) -> None:
    """Count one write; raise the injected error when it is the one the test suite chose."""
    if not _ACTIVE:
        return
    global _count
    _count += 1
    if _FAULT_LOG:
        fd = os.open(_FAULT_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{_count} {op} {path}\n".encode())
        finally:
            os.close(fd)
    if _TARGET is not None and _count == _TARGET[0]:
        raise OSError(_TARGET[1], os.strerror(_TARGET[1]), path)
