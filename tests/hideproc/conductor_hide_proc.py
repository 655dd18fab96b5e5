"""CONDUCTOR_HIDE_PROC=1: the package may not touch /proc at all, as on macOS (issue 14).

While the variable is set, an audit hook (sys.addaudithook) and thin wrappers of os.stat, os.lstat,
os.readlink and os.access watch every open, listing (os.listdir, os.scandir, glob) and stat of a
path under /proc. One made from our package (the first frame outside the standard library is a
module of conductor_tui) is refused as if /proc did not exist (FileNotFoundError) and recorded:
one line in the file named by CONDUCTOR_HIDE_PROC_LOG, where the test that caused it finds it and
fails (tests/conftest.py). psutil reads /proc on Linux, and the tests may too: their frames come
first and are let through.

Loaded in pytest by tests/conftest.py, and in every Python process the tests start through the
sitecustomize.py beside this file (conftest puts this folder on PYTHONPATH). It imports only sys
and os, so the hot-import checks see nothing new.
"""

from __future__ import annotations

import os
import sys

ENV = "CONDUCTOR_HIDE_PROC"
LOG_ENV = "CONDUCTOR_HIDE_PROC_LOG"
PACKAGE = "conductor_tui"

installed = False
seen: list[str] = []  # this process's violations, for tests that look in-process
_busy = False


def hidden() -> bool:
    """Whether the mode is on for this process."""
    return os.environ.get(ENV, "") not in ("", "0")


def _text(path: object) -> str | None:
    if isinstance(path, int) or path is None:
        return None
    try:
        path = os.fspath(path)  # type: ignore[arg-type]
    except TypeError:
        return None
    if isinstance(path, bytes):
        path = path.decode("utf-8", "replace")
    return path if isinstance(path, str) else None


def under_proc(path: object, *, itself: bool = False) -> bool:
    """Whether path is /proc/... (or /proc itself, when itself: a listing of the processes)."""
    text = _text(path)
    if not text or not text.startswith("/"):
        return False
    norm = "/" + os.path.normpath(text).lstrip("/")
    return norm.startswith("/proc/") or (itself and norm == "/proc")


def culprit() -> str | None:
    """The module responsible for a call: the first frame outside the standard library (and
    this module). 'conductor_tui....:line' when it is ours, else None."""
    frame = sys._getframe(1)
    stdlib = sys.stdlib_module_names
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if name == "__main__":  # python -m conductor_tui.cli: the module's own name
            spec = frame.f_globals.get("__spec__")
            name = str(getattr(spec, "name", None) or name)
        top = name.partition(".")[0]
        if name != __name__ and top not in stdlib and top not in ("", "builtins"):
            if top == PACKAGE:
                return f"{name}:{frame.f_lineno}"
            return None
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _refuse(what: str, path: object) -> None:
    global _busy
    if _busy:
        return
    who = culprit()
    if who is None:
        return
    line = f"pid {os.getpid()}: {what} {_text(path)!r} from {who}"
    seen.append(line)
    log = os.environ.get(LOG_ENV)
    if log:
        _busy = True
        try:
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode("utf-8", "replace"))
            finally:
                os.close(fd)
        except OSError:
            pass
        finally:
            _busy = False
    raise FileNotFoundError(2, f"No such file or directory ({ENV}=1 hides /proc)", _text(path))


LISTINGS = frozenset({"os.listdir", "os.scandir", "glob.glob"})


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and args and under_proc(args[0]):
        _refuse("open", args[0])
    elif event in LISTINGS and args and under_proc(args[0], itself=True):
        _refuse(event, args[0])


def _wrap(name: str) -> None:
    original = getattr(os, name)

    def wrapper(path: object, *args: object, **kwargs: object) -> object:
        if under_proc(path):
            _refuse(f"os.{name}", path)
        return original(path, *args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = original.__doc__
    # keep what the standard library asks of os.stat (shutil: `os.stat in os.supports_fd`)
    for support in ("supports_dir_fd", "supports_fd", "supports_follow_symlinks"):
        group = getattr(os, support, None)
        if isinstance(group, set) and original in group:
            group.add(wrapper)
    setattr(os, name, wrapper)


def install() -> bool:
    """Install the hook and the wrappers once, when the mode is on; whether they are."""
    global installed
    if installed or not hidden():
        return installed
    sys.addaudithook(_audit)
    for name in ("stat", "lstat", "readlink", "access"):
        _wrap(name)
    installed = True
    return True


install()
