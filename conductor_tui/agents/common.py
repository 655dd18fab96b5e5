"""What every command of this package shares with the rest of `conductor`: options (--store,
--project, --agent, --json), replies (`WORD: message`, or one JSON object with ok, word and
message first), errors and exit codes (0 done, 1 refused, 2 bad input or a refused write), the
agent hosts' configuration folders, and writing a user's file safely.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import stat
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ..core.errors import BadInput, ConductorError, DiskError, Refused
from ..text import safe

HOSTS = ("claude", "codex", "cursor", "opencode")
MAX_USER_FILE = 4 << 20  # a settings or instructions file larger than this is not one


class Parser(argparse.ArgumentParser):
    """argparse that exits 2 with `ERROR: ...`, the convention of `conductor`'s own parser."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"ERROR: {message}", file=sys.stderr)
        raise SystemExit(2)


def add_common(p: argparse.ArgumentParser, *, agent: bool = False) -> None:
    """The global options of `conductor`, accepted after the subcommand too."""
    p.add_argument("--store", help="store directory (else $NANOSTACK_STORE, <git top>/.nanostack)")
    p.add_argument("--project", help="project directory (default: the current one)")
    p.add_argument("--json", action="store_true", help="one JSON object out")
    if agent:
        p.add_argument("--agent", help="agent name (default: detected)")
        p.add_argument("--sprint", help="sprint id (default: the project's active one)")


def project_of(args: argparse.Namespace) -> str:
    """--project (which must be a directory), else the working directory as `pwd` prints it."""
    from ..core.paths import logical_cwd

    project = getattr(args, "project", None)
    if project:
        if not os.path.isdir(project):
            raise BadInput(f"--project {project!r} is not a directory")
        return os.path.abspath(str(project))
    return logical_cwd()


def reply(word: str, message: str, data: dict[str, Any] | None = None, *, ok: bool = True) -> None:
    """The one JSON object of --json: ok, word and message first, then the data."""
    out: dict[str, Any] = {"ok": ok, "word": word, "message": message}
    out.update(data or {})
    print(json.dumps(out, ensure_ascii=False))


def emit(as_json: bool, word: str, message: str, data: dict[str, Any] | None = None) -> None:
    """Report success: `WORD: message` (further lines indented) for people, JSON with --json."""
    if as_json:
        reply(word, message, data)
        return
    lines = [safe(line, 2000) for line in message.splitlines()] or [""]
    print(f"{word}: {lines[0]}")
    for line in lines[1:]:
        print(f"  {line}")


def fail(as_json: bool, exc: ConductorError) -> int:
    """Report an error as `conductor` does: stderr for people, the JSON object with --json."""
    if as_json:
        out = {"ok": False, "word": exc.word, "error": exc.kind, "message": exc.message}
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"{exc.word}: {safe(exc.message, 2000)}", file=sys.stderr)
    return int(exc.exit_code)


def guarded(as_json: bool, what: str, body: Callable[[], int]) -> int:
    """Run a command's body with `conductor`'s error handling: a ConductorError is its word and
    exit code, a refused write is exit 2, ^C is 130; never a traceback for those."""
    try:
        return body()
    except ConductorError as exc:
        return fail(as_json, exc)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        detail = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename else ""
        return fail(as_json, DiskError(f"{what}: {detail}{where}"))


# ---------------------------------------------------------------------- where hosts keep things


def home() -> str:
    """The user's home directory ($HOME first, as the hosts themselves resolve it)."""
    return os.environ.get("HOME") or os.path.expanduser("~")


def codex_home() -> str:
    """Codex's folder: $CODEX_HOME, else ~/.codex."""
    return os.environ.get("CODEX_HOME") or os.path.join(home(), ".codex")


def opencode_home() -> str:
    """OpenCode's global folder: $XDG_CONFIG_HOME/opencode, else ~/.config/opencode."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home(), ".config")
    return os.path.join(base, "opencode")


def hosts_of(value: str, allowed: Sequence[str]) -> list[str]:
    """`--for` as a list of hosts: one name, a comma-separated list, or `all`."""
    if value == "all":
        return list(allowed)
    names = [v.strip() for v in value.split(",") if v.strip()]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise BadInput(
            f"--for {safe(value, 80)!r}: expected {', '.join(allowed)} or all "
            "(or a comma-separated list)"
        )
    return list(dict.fromkeys(names))


def target_dir(args: argparse.Namespace) -> str | None:
    """The project the files go into, or None for --user (the hosts' per-user folders)."""
    if getattr(args, "user", False):
        return None
    return project_of(args)


# ---------------------------------------------------------------------- a user's files


def read_user_file(path: str) -> bytes | None:
    """A user's file as bytes, or None when there is none. Never follows a symlink at the last
    component (refused with a clear message), refuses what is not a regular file."""
    from ..core.jsonio import MalformedJSON, read_bytes_nofollow

    try:
        return read_bytes_nofollow(path, limit=MAX_USER_FILE)
    except FileNotFoundError:
        return None
    except MalformedJSON as exc:
        raise BadInput(f"{path} {exc}; nothing was changed") from None


def check_writable_path(path: str) -> None:
    """Refuse to write through a symlink, or over anything but a regular file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise BadInput(
            f"{path} is a symlink; refusing to write through it (edit the file it points to "
            "by hand, or replace the link with a regular file); nothing was changed"
        )
    if not stat.S_ISREG(st.st_mode):
        raise BadInput(f"{path} is not a regular file; nothing was changed")


def make_dirs(path: str) -> list[str]:
    """Create path and its missing parents; the directories created, outermost first."""
    made: list[str] = []
    todo: list[str] = []
    cur = os.path.abspath(path)
    while not os.path.isdir(cur):
        if os.path.lexists(cur):
            raise Refused(f"{cur} exists and is not a directory; nothing was changed")
        todo.append(cur)
        parent = os.path.dirname(cur)
        if parent == cur:
            break
        cur = parent
    for d in reversed(todo):
        os.mkdir(d)
        made.append(d)
    return made


def write_user_file(path: str, data: bytes) -> None:
    """Replace (or create) a user's file atomically: a temp file beside it, fsynced, renamed
    over it, the directory fsynced. The file's permission bits are kept; a symlink is refused."""
    check_writable_path(path)
    try:
        mode = stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        mode = None
    head, tail = os.path.split(path)
    tmp = os.path.join(head, f".{tail}.conductor-{os.urandom(6).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o666 if mode is None else mode)
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        check_writable_path(path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dfd = os.open(head or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def remove_user_file(path: str) -> None:
    """Remove a file we wrote (never through a symlink)."""
    check_writable_path(path)
    os.unlink(path)


def remove_empty_dirs(dirs: Sequence[str]) -> None:
    """Remove each directory (innermost first) if it is empty; leave it otherwise."""
    for d in sorted(dirs, key=len, reverse=True):
        try:
            os.rmdir(d)
        except OSError:
            continue
