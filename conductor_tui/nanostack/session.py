"""The session.json mirror: nanostack's session tooling reads the sprint's graph from there.

When `<store>/session.json` exists (nanostack's `session.sh init` makes it), a start puts the
sprint's phase graph into it with the phases the session may start next (`ready_phases`) and
the first of them (`next_phase`), computed from the session's own `phase_log` as nanostack
computes them. Every other key is kept as it was, in its order. The write is atomic (a temp
file, fsync, rename) and made under nanostack's own session lock (`session.json.lockdir`), so it
never interleaves with a `session.sh` writer. A session file that cannot be read, or whose lock
stays held, is left alone: the mirror never fails the command that asked for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

from .upstream import log_phases, ready_from_graph

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

SESSION = "session.json"
LOCK_WAIT_S = 3.0  # nanostack's own writers hold the lock for milliseconds
MAX_SESSION_BYTES = 4 << 20


def session_path(store_root: str) -> str:
    """Where nanostack keeps the session of a store."""
    return os.path.join(store_root, SESSION)


def mirrored(session: dict[str, Any], graph: Sequence[Any]) -> dict[str, Any]:
    """session with the graph, the ready phases and the next phase set; every other key kept."""
    log = session.get("phase_log")
    ready = ready_from_graph(graph, log_phases(log, "completed"), log_phases(log, "in_progress"))
    out = dict(session)
    out["phase_graph"] = list(graph)
    out["ready_phases"] = ready
    out["next_phase"] = ready[0] if ready else None
    return out


def render(session: dict[str, Any]) -> bytes:
    """The file as nanostack's tools write it: two-space indents, UTF-8, a final newline."""
    return (json.dumps(session, indent=2, ensure_ascii=False) + "\n").encode()


def mirror_session(store_root: str, graph: Sequence[Any]) -> str | None:
    """Bring <store>/session.json in step with the sprint's graph, if the file exists.

    Returns a warning to show when the file was there but could not be updated, else None
    (also when there is no session, or nothing changed). Native commands may call it too.
    """
    path = session_path(store_root)
    if not os.path.isfile(path):
        return None
    lockdir = path + ".lockdir"
    if not _lock(lockdir):
        return f"{path} not updated: its lock {lockdir} stays held by another writer"
    try:
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_SESSION_BYTES + 1)
            if len(data) > MAX_SESSION_BYTES:
                return f"{path} not updated: it is larger than {MAX_SESSION_BYTES} bytes"
            session = json.loads(data.decode("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:
            return f"{path} not updated: it cannot be read ({_first(exc)})"
        if not isinstance(session, dict):
            return f"{path} not updated: it is not a JSON object"
        new = mirrored(session, graph)
        if new == session:
            return None
        try:
            _replace(path, render(new))
        except OSError as exc:
            return f"{path} not updated: {exc.strerror or exc}"
        return None
    finally:
        _unlock(lockdir)


def _first(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _replace(path: str, data: bytes) -> None:
    """Write path atomically, keeping its permission bits."""
    mode = os.stat(path).st_mode & 0o7777
    tmp = os.path.join(os.path.dirname(path), f".{SESSION}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dfd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _lock(lockdir: str, wait_s: float = LOCK_WAIT_S) -> bool:
    """Take nanostack's session lock (a directory holding the owner's pid); a lock whose owner
    has exited is taken over, as nanostack's writers do."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            os.mkdir(lockdir)
        except FileExistsError:
            if _owner_gone(lockdir):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(lockdir, "owner"))
                with contextlib.suppress(OSError):
                    os.rmdir(lockdir)
                continue
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
            continue
        except OSError:
            return False
        with contextlib.suppress(OSError):
            with open(os.path.join(lockdir, "owner"), "w") as fh:
                fh.write(f"{os.getpid()}\n")
        return True


def _owner_gone(lockdir: str) -> bool:
    """True when the lock records an owner pid and no such process exists (a missing or
    unreadable owner counts as alive, as nanostack counts it)."""
    try:
        with open(os.path.join(lockdir, "owner")) as fh:
            pid = int(fh.read().strip())
    except (OSError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _unlock(lockdir: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(lockdir, "owner"))
    with contextlib.suppress(OSError):
        os.rmdir(lockdir)
