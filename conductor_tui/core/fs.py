"""Every write the store makes to the disk goes through here (so that faults can be injected
at each one), plus durable file writes and directory syncs."""

from __future__ import annotations

import contextlib
import os

from .faults import before_write
from .layout import WRITE_STAGE, tmp_name

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def token_hex(nbytes: int) -> str:
    """nbytes random bytes from the OS as hex: secrets.token_hex, without importing secrets
    (random, hmac and base64 come with it)."""
    return os.urandom(nbytes).hex()


def mkdir(path: str) -> None:
    """os.mkdir (the umask decides the mode: a group-shared store uses umask 002)."""
    before_write("mkdir", path)
    os.mkdir(path)


def ensure_dir(path: str) -> bool:
    """Create a directory unless it exists; True when this call created it."""
    if os.path.isdir(path):
        return False
    try:
        mkdir(path)
    except FileExistsError:
        return False
    return True


def rename(src: str, dst: str) -> None:
    """os.rename: the store's atomic step."""
    before_write("rename", dst)
    os.rename(src, dst)


def link(src: str, dst: str) -> None:
    """os.link: publishes a file once; never replaces."""
    before_write("link", dst)
    os.link(src, dst)


def symlink(target: str, path: str) -> None:
    """os.symlink."""
    before_write("symlink", path)
    os.symlink(target, path)


def unlink(path: str) -> None:
    """os.unlink."""
    before_write("unlink", path)
    os.unlink(path)


def rmdir(path: str) -> None:
    """os.rmdir: only ever of a directory that should be empty."""
    before_write("rmdir", path)
    os.rmdir(path)


def fsync_dir(path: str) -> None:
    """Make a directory's entries durable (a rename or create inside it)."""
    before_write("fsync", path)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_durable(path: str, data: bytes) -> None:
    """Create a new file with data and fsync it; fails if the path exists. A write that fails
    removes what it created: a full disk leaves no partial file behind."""
    before_write("create", path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o666)
    try:
        try:
            before_write("write", path)
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            before_write("fsync", path)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def atomic_write(
    path: str, data: bytes, *, tmp_dir: str | None = None, durable: bool = True
) -> None:
    """Write path atomically: temp file, fsync, rename, fsync the directory.

    tmp_dir lets a caller stage the temp file somewhere whose disappearance must fence the write
    (a claim's token directory): if tmp_dir was renamed away, the rename fails with ENOENT.
    """
    suffix = token_hex(6)
    tmp = tmp_name(path, suffix) if tmp_dir is None else os.path.join(tmp_dir, WRITE_STAGE + suffix)
    write_file_durable(tmp, data)
    try:
        rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(os.path.dirname(path) or ".")


def replace_symlink(link: str, target: str) -> None:
    """Point link at target, atomically (a temp symlink renamed over it)."""
    tmp = tmp_name(link, token_hex(4))
    symlink(target, tmp)
    try:
        rename(tmp, link)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
