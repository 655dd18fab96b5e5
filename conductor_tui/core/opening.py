"""Open a file and know where the opened file is, without /proc (Linux, macOS and the BSDs).

An artifact must be judged by the file actually opened, not by a path checked a moment before:
a folder swapped for a symlink between the check and the open would let a file from elsewhere
in. /proc/self/fd/N used to name the opened file; here, where the platform can name an open file
(`F_GETPATH`: macOS), the kernel names it; elsewhere the file is reached one folder at a time from
`/` along the path with its folders resolved, no folder followed through a symlink (`openat`,
`O_NOFOLLOW`, `O_DIRECTORY`; `O_PATH` on Linux, so that a folder one may search but not list is
no obstacle), so the path walked is the opened file's own. After the read, `still_there` proves
that this path still leads to the very file read (the same st_dev and st_ino), or the caller
refuses it as moved.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# the file itself: never through a symlink, and never waiting on a FIFO's writer
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def resolved(path: str) -> str:
    """path with its folders resolved (symlinks, `..`), its last component kept as it is."""
    path = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def kernel_path_of() -> Callable[[int], str] | None:
    """How this platform names an open file, if it can: F_GETPATH (macOS), else None."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    getpath = getattr(fcntl, "F_GETPATH", None)
    if getpath is None:
        return None

    def name(fd: int) -> str:
        raw = fcntl.fcntl(fd, getpath, bytes(1024))  # MAXPATHLEN
        return os.fsdecode(raw.split(b"\0", 1)[0])

    return name


def open_file(path: str, named: Callable[[int], str] | None = None) -> tuple[int, str]:
    """Open path (a regular file expected) for reading: the descriptor and the opened file's
    absolute path, its folders resolved. named: how the kernel names an open file (see above);
    None walks instead. OSError as os.open raises it (ELOOP: a symlink where a folder or the
    file was)."""
    if named is not None:
        fd = os.open(path, FILE_FLAGS)
        try:
            return fd, named(fd)
        except BaseException:
            os.close(fd)
            raise
    target = resolved(path)
    return walk_open(target), target


def walk_open(target: str) -> int:
    """Open target (absolute, its folders resolved) from `/`, one folder at a time, none of them
    followed through a symlink."""
    if os.open not in os.supports_dir_fd:  # pragma: no cover - no openat here
        return os.open(target, FILE_FLAGS)
    parts = [p for p in target.split("/") if p]
    if not parts:
        raise IsADirectoryError(21, "Is a directory", target)
    folder = os.open("/", DIR_FLAGS)
    try:
        for part in parts[:-1]:
            inner = os.open(part, DIR_FLAGS, dir_fd=folder)
            os.close(folder)
            folder = inner
        return os.open(parts[-1], FILE_FLAGS, dir_fd=folder)
    finally:
        os.close(folder)


def still_there(fd: int, path: str, real: str) -> bool:
    """Whether path, resolved now, is still real and still the file open as fd (same device and
    inode, not a symlink)."""
    try:
        if resolved(path) != real:
            return False
        now, opened = os.lstat(real), os.fstat(fd)
    except OSError:
        return False
    return (
        not stat.S_ISLNK(now.st_mode)
        and now.st_dev == opened.st_dev
        and now.st_ino == opened.st_ino
    )
