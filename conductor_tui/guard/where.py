"""Where a write lands: paths resolved as the kernel would, and the tree they fall in.

No path is exempt by its spelling. A path is resolved component by component: every symlink that
exists is followed, `..` climbs from where the kernel really is, `/proc/self/cwd` is the
command's own directory (not this hook's), `/proc/self/root` is `/`, and any other way through
`/proc` or `/dev/fd` (a descriptor could be open on any file) is unknown. Unknown means "inside":
the guard fails closed. Only the real location then decides: the store (exempt), the project
(the tree), or somewhere else.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ..text import safe

MAX_LINKS = 40  # symlinks followed in one path, as Linux allows
SINKS = frozenset(
    {"/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/random", "/dev/urandom"}
)
# Files outside the project that decide what later commands run (aliases, hooks, pagers, the
# agent's own hook settings): writing them is writing the tree. Relative to the home directory.
PROTECTED_IN_HOME = (
    ".gitconfig",
    ".config/git",
    ".claude",
    ".claude.json",
    ".codex",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".curlrc",
    ".wgetrc",
    ".npmrc",
    ".ssh/config",
    ".config/pip",
    ".pip",
)


@dataclass(frozen=True)
class Resolved:
    """A resolved path: its real location, or a sink, or unknown (path None) and why."""

    path: str | None
    sink: bool = False
    why: str = ""


_DEV_FDS = {"fd": "", "stdin": "0", "stdout": "1", "stderr": "2"}


def _unknown(why: str) -> Resolved:
    return Resolved(None, why=why)


def encodable(path: str) -> bool:
    """Whether the system can name this path at all (JSON can carry a lone surrogate)."""
    try:
        os.fsencode(path)
    except UnicodeError:
        return False
    return True


def _split(path: str) -> list[str]:
    return [c for c in path.split("/") if c not in ("", ".")]


def expand_tilde(text: str, home: str | None) -> str | None:
    """`~` and `~/x` with the given home, `~user/x` from the password database; else None."""
    head, sep, rest = text.partition("/")
    if head == "~":
        return None if not home else home.rstrip("/") + sep + rest
    try:
        expanded = os.path.expanduser(head)
    except (KeyError, ValueError):
        return None
    if expanded == head:
        return None
    return expanded + sep + rest


def resolve(path: str, cwd: str | None, *, std_ok: bool = True) -> Resolved:
    """Resolve a path the way the kernel would open it for writing (see the module docstring).

    cwd is the real directory the command runs in (None: unknown). std_ok says whether
    /dev/stdout and /dev/stderr are still the streams the agent reads (no descriptor games).
    """
    if not path or "\0" in path or not encodable(path):
        return _unknown("an empty, computed or unencodable path")
    if cwd is not None and not encodable(cwd):
        cwd = None
    if path.startswith("/"):
        stack: list[str] = []
    elif cwd is None:
        return _unknown("a relative path where the directory is not known")
    else:
        stack = _split(cwd)
    todo = list(reversed(_split(path)))
    links = 0
    while todo:
        comp = todo.pop()
        if comp == "..":
            if stack:
                stack.pop()
            continue
        stack.append(comp)
        if len(stack) == 2 and stack[0] == "dev" and comp in _DEV_FDS:
            # /dev/fd is /proc/self/fd; /dev/stdout is /proc/self/fd/1
            if comp != "fd":
                todo.append(_DEV_FDS[comp])
            todo.append("fd")
            stack = ["proc", "self"]
        if len(stack) == 2 and stack[0] == "proc":
            who = stack[1]
            own = who in ("self", "thread-self")
            nxt = todo.pop() if todo and (own or who.isdigit()) else ""
            if nxt == "cwd" and own:
                if cwd is None:
                    return _unknown("/proc/self/cwd where the directory is not known")
                stack = _split(cwd)
                continue
            if nxt == "root" and own:
                stack = []
                continue
            if nxt == "fd" and own and len(todo) == 1 and todo[0] in ("1", "2") and std_ok:
                return Resolved("/dev/std" + ("out" if todo[0] == "1" else "err"), sink=True)
            return _unknown("a path under /proc or /dev/fd (a descriptor may be open on any file)")
        current = "/" + "/".join(stack)
        try:
            st = os.lstat(current)
        except (OSError, ValueError):
            continue  # not there (yet): the rest is taken as written
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > MAX_LINKS:
                return _unknown("too many symbolic links")
            try:
                target = os.readlink(current)
            except (OSError, ValueError):
                return _unknown("an unreadable symbolic link")
            stack.pop()
            if target.startswith("/"):
                stack = []
            todo.extend(reversed([c for c in target.split("/") if c not in ("", ".")]))
    real = "/" + "/".join(stack)
    if real in SINKS:
        return Resolved(real, sink=True)
    try:
        st = os.lstat(real)
    except (OSError, ValueError):
        return Resolved(real)
    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        return _unknown("a file with other names (hard links) that may be in the project")
    return Resolved(real)


def within(path: str, root: str) -> bool:
    """Whether path is root or below it (both absolute and normalised)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


Place = Literal["project", "store", "outside"]


@dataclass(frozen=True)
class Scope:
    """What counts as the tree: the project (None: everywhere), less the store."""

    project: tuple[str, ...]  # the project's lexical and real paths; empty when unknown
    store: tuple[str, ...]  # the real paths of the store roots
    protected: tuple[str, ...]  # real paths outside the project that count as the tree

    @classmethod
    def of(
        cls, project: str | None, stores: Iterable[str] = (), *, home: str | None = None
    ) -> Scope:
        """The scope of a project (None when it is not known) and the store roots."""
        roots: tuple[str, ...] = ()
        if project:
            lexical = os.path.normpath(os.path.abspath(project))
            roots = tuple(dict.fromkeys((lexical, os.path.realpath(lexical))))
        stores = tuple(dict.fromkeys(os.path.realpath(s) for s in stores if s))
        protected: tuple[str, ...] = ()
        if home and os.path.isabs(home):
            protected = tuple(os.path.join(os.path.realpath(home), p) for p in PROTECTED_IN_HOME)
        return cls(roots, stores, protected)

    def place(self, real: str) -> Place:
        """Where a resolved path falls."""
        if any(within(real, p) for p in self.protected):
            return "project"
        if any(within(real, s) for s in self.store):
            return "store"
        if not self.project or any(within(real, p) for p in self.project):
            return "project"
        return "outside"

    def show(self, path: str) -> str:
        """A path as a person reads it: relative to the project when inside it."""
        for root in self.project:
            if path == root:
                return "the project's top directory"
            if within(path, root):
                return safe(os.path.relpath(path, root), 100)
        return safe(path, 100)

    def lands(self, path: str, cwd: str | None) -> str | None:
        """Where a write to a path a tool names lands, shown, if in the tree; else None."""
        where = resolve(path, cwd)
        if where.sink:
            return None
        if where.path is None:
            return f"{safe(path, 100)} ({where.why})"
        return self.show(where.path) if self.place(where.path) == "project" else None


def show_all(scope: Scope, paths: Sequence[str]) -> str:
    """The first path shown, and how many more."""
    more = f" (+{len(paths) - 1} more)" if len(paths) > 1 else ""
    return scope.show(paths[0]) + more
