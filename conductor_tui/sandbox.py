"""The kernel sandbox for read phases: Linux Landlock keeps a command from writing the project.

Reads and execution stay allowed everywhere. Writes (creating, removing, renaming, linking,
truncating, writing a file, device ioctls) are allowed only beneath the store, the temporary
directories, a few devices, the user's home and whatever `--allow` names; and never in the project.
Landlock only ever adds permissions to a ruleset, so a writable directory that contains the
project (a home, /tmp) is granted *around* it: each entry on the way down to the project, except
the one that leads to it. docs/SANDBOX.md says what that costs and what Landlock does not cover.

Why our own binding (ctypes, three system calls and one prctl) rather than a PyPI package: the
bindings there are pre-releases or 0.x versions with few users (`landlock` 1.0.0.dev5, `landlockpy`,
`py-landlock`), each a dependency for three system calls; and what we must get right is ours
anyway: masking the rights to the kernel's ABI, giving files only the rights a file can take,
never following a symlink when a rule is added, and a clear refusal where Landlock is missing.

A process restricts itself and everything it starts from then on; nothing can lift a ruleset.
`conductor sandbox` restricts itself and then execs the command, so the command's exit status and
its signals are its own. `conductor run` restricts only its child, between fork and exec
(`Ruleset.enter` as Popen's preexec_fn: the runner is single-threaded), and stays outside to
heartbeat and settle the claim.

`CONDUCTOR_LANDLOCK=off` makes Landlock look missing; it exists for the tests of that path.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from .core.errors import BadInput, ConductorError

# The generic system call numbers, the same on x86_64, aarch64 and every architecture that took
# its numbers from the common table after Linux 5.1 (alpha alone kept its own).
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1 << 0
LANDLOCK_RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

# Filesystem access rights (include/uapi/linux/landlock.h), with the ABI that brought each.
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2: link or rename into another directory
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5: ioctl on a device file

ABI_1 = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
SINCE = {REFER: 2, TRUNCATE: 3, IOCTL_DEV: 5}

READ = EXECUTE | READ_FILE | READ_DIR
# The rights a rule on a file (not a directory) may carry; the kernel refuses any other.
FILE_WRITE = WRITE_FILE | TRUNCATE | IOCTL_DEV
DIR_WRITE = (
    FILE_WRITE
    | REMOVE_DIR
    | REMOVE_FILE
    | MAKE_CHAR
    | MAKE_DIR
    | MAKE_REG
    | MAKE_SOCK
    | MAKE_FIFO
    | MAKE_BLOCK
    | MAKE_SYM
    | REFER
)

TEST_SWITCH = "CONDUCTOR_LANDLOCK"  # "off": behave as if the kernel had no Landlock (tests)

# Devices a command may write: terminals, the bit buckets, shared memory. Not the whole of /dev,
# where root could write a disk the project lives on.
DEVICES = (
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
    "/dev/shm",
)
TEMP_DIRS = ("/tmp", "/var/tmp")


def handled_rights(abi: int) -> int:
    """Every filesystem right this ABI knows: the ruleset handles (denies) them all."""
    rights = ABI_1
    for right, since in SINCE.items():
        if abi >= since:
            rights |= right
    return rights


# ---------------------------------------------------------------------- errors


class Unavailable(BadInput):
    """The kernel cannot sandbox here (exit 2): the message says what to do instead."""

    kind = "no_sandbox"


class CommandFailed(ConductorError):
    """The command could not be started: 127 when it is not found, 126 otherwise (as a shell)."""

    kind = "exec"

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def advice(what: str) -> str:
    """What to do where Landlock is missing, for `what` (an option spelling differs by command)."""
    return (
        "run it on Linux 5.13 or later with Landlock enabled (`landlock` in the kernel's lsm= "
        "list), or use the agent host's own sandbox (Codex `--sandbox read-only`; Claude Code's "
        "sandbox settings with the project denied for writing, or its plan mode), or pass "
        f"{what} to run it without the kernel sandbox"
    )


# ---------------------------------------------------------------------- the system calls


class _RulesetAttr(ctypes.Structure):
    """struct landlock_ruleset_attr, its first field only: the kernel takes the ABI 1 size on
    every ABI, and network rights and scopes are not what this sandbox is for."""

    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    """struct landlock_path_beneath_attr, packed (12 bytes) as the kernel declares it."""

    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_LIBC: ctypes.CDLL | None = None


def _libc() -> ctypes.CDLL:
    global _LIBC
    if _LIBC is None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        libc.prctl.restype = ctypes.c_int
        _LIBC = libc
    return _LIBC


def _syscall(number: int, *args: Any) -> int:
    """syscall(2) with every argument passed as a long or a pointer; OSError on failure."""
    result = int(_libc().syscall(ctypes.c_long(number), *args))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def abi_version(env: Mapping[str, str] | None = None) -> int:
    """The kernel's Landlock ABI version; Unavailable (with the reason) where there is none."""
    env = os.environ if env is None else env
    if env.get(TEST_SWITCH, "").lower() == "off":
        raise Unavailable(f"Landlock is switched off by {TEST_SWITCH}=off (a switch for tests)")
    if not sys.platform.startswith("linux"):
        raise Unavailable(f"Landlock is a Linux feature and this is {sys.platform}")
    if os.uname().machine.lower().startswith("alpha"):
        raise Unavailable("Landlock's system call numbers on alpha are not known to conductor")
    try:
        return _syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            ctypes.c_void_p(None),
            ctypes.c_long(0),
            ctypes.c_long(LANDLOCK_CREATE_RULESET_VERSION),
        )
    except OSError as exc:
        if exc.errno == errno.ENOSYS:
            raise Unavailable("this kernel has no Landlock (it came in Linux 5.13)") from None
        if exc.errno == errno.EOPNOTSUPP:
            raise Unavailable(
                "Landlock is built into this kernel but disabled at boot"
                " (add `landlock` to the lsm= kernel parameter)"
            ) from None
        raise Unavailable(f"Landlock cannot be queried: {exc.strerror}") from None


# ---------------------------------------------------------------------- the plan


@dataclass
class Plan:
    """What a sandbox grants: the project it protects and the paths a command may write."""

    project: str
    grants: list[str] = field(default_factory=list)  # real paths; a directory's whole subtree
    skipped: list[str] = field(default_factory=list)  # named but missing, or inside the project


def _real(path: str) -> str:
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def _inside(path: str, parent: str) -> bool:
    """path is parent or beneath it (both real, normalised)."""
    return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)


def default_roots(env: Mapping[str, str]) -> list[str]:
    """The writable places every sandbox has besides the store: the temporary directories, a
    few devices, the user's home, its XDG directories and its runtime directory."""
    roots = [*TEMP_DIRS, env.get("TMPDIR", ""), *DEVICES, env.get("HOME", "")]
    for name in ("CONFIG_HOME", "CACHE_HOME", "DATA_HOME", "STATE_HOME", "RUNTIME_DIR"):
        roots.append(env.get(f"XDG_{name}", ""))
    return [r for r in roots if r]


def around(root: str, project: str) -> list[str]:
    """The entries of each directory from root down to the project's parent, except the one on
    the way to the project: a writable root minus the project, as far as Landlock can say it.
    Symlinks are left out (a rule would follow them, and replacing one needs its directory)."""
    grants: list[str] = []
    here = root
    for part in os.path.relpath(project, root).split(os.sep):
        try:
            with os.scandir(here) as entries:
                for entry in entries:
                    if entry.name != part and not entry.is_symlink():
                        grants.append(entry.path)
        except OSError:
            pass  # an unreadable directory grants nothing: stricter, never looser
        here = os.path.join(here, part)
    return grants


def plan(
    project: str,
    *,
    store: str | None,
    allow: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Plan:
    """The writable set for a command that must not write `project`.

    The store and each `--allow` may lie inside the project (the default store is
    <project>/.nanostack) and are then granted as they are; the other roots are granted only
    outside it. An `--allow` that is the project or contains it is refused: it would undo the
    sandbox. A path that does not exist is skipped."""
    env = os.environ if env is None else env
    if not os.path.isdir(project):
        raise BadInput(f"the project directory {project!r} does not exist")
    real_project = _real(project)
    for path in allow:
        if _inside(real_project, _real(path)):
            raise BadInput(
                f"--allow {path!r} is the project or contains it ({real_project}); "
                "that would let the command write the project it must only read"
            )
    out = Plan(project=real_project)
    explicit = [_real(store)] if store else []
    explicit += [_real(path) for path in allow]
    implicit = [_real(path) for path in default_roots(env)]
    for root in dict.fromkeys([*explicit, *implicit]):
        if not os.path.lexists(root):
            out.skipped.append(root)
        elif root == os.sep:
            out.skipped.append(root)  # a home at / would be the whole system
        elif root == real_project:
            out.skipped.append(root)  # a store that is the project itself stays read-only
        elif _inside(real_project, root):
            out.grants.extend(around(root, real_project))
        elif _inside(root, real_project):
            # beneath the project: only what the caller named (the store, an --allow)
            if root in explicit:
                out.grants.append(root)
            else:
                out.skipped.append(root)
        else:
            out.grants.append(root)
    out.grants = list(dict.fromkeys(out.grants))
    return out


# ---------------------------------------------------------------------- the ruleset


@dataclass
class Ruleset:
    """A Landlock ruleset built from a plan, ready to be entered (by this process or a child)."""

    fd: int
    abi: int
    rules: int

    def enter(self) -> None:
        """Restrict the calling process for good: no new privileges, then the ruleset. Used
        between fork and exec too, which is safe because the runner has no other thread."""
        zero = ctypes.c_long(0)
        if _libc().prctl(PR_SET_NO_NEW_PRIVS, ctypes.c_long(1), zero, zero, zero) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(err)}")
        _syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_long(self.fd), zero)

    def close(self) -> None:
        """Close the ruleset's descriptor (a process that entered it stays restricted)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def build(the_plan: Plan, env: Mapping[str, str] | None = None) -> Ruleset:
    """Create the ruleset: read and execute everywhere, the plan's writes; Unavailable when the
    kernel cannot. The descriptor is close-on-exec."""
    abi = abi_version(env)
    handled = handled_rights(abi)
    attr = _RulesetAttr(handled)
    try:
        fd = _syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            ctypes.byref(attr),
            ctypes.c_long(ctypes.sizeof(attr)),
            ctypes.c_long(0),
        )
    except OSError as exc:
        raise Unavailable(f"Landlock refused a ruleset: {exc.strerror}") from None
    ruleset = Ruleset(fd=fd, abi=abi, rules=0)
    try:
        ruleset.rules += _add_rule(fd, os.sep, READ & handled, READ & handled)
        for path in the_plan.grants:
            ruleset.rules += _add_rule(fd, path, DIR_WRITE & handled, FILE_WRITE & handled)
    except BaseException:
        ruleset.close()
        raise
    return ruleset


def _add_rule(ruleset_fd: int, path: str, dir_rights: int, file_rights: int) -> int:
    """Allow `dir_rights` beneath a directory, or `file_rights` on any other file; a symlink or
    a path gone meanwhile is skipped (returns 0). Never follows a symlink."""
    import stat

    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return 0
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISLNK(mode):
            return 0
        rights = dir_rights if stat.S_ISDIR(mode) else file_rights
        attr = _PathBeneathAttr(rights, fd)
        try:
            _syscall(
                SYS_LANDLOCK_ADD_RULE,
                ctypes.c_long(ruleset_fd),
                ctypes.c_long(LANDLOCK_RULE_PATH_BENEATH),
                ctypes.byref(attr),
                ctypes.c_long(0),
            )
        except OSError as exc:
            raise Unavailable(f"Landlock refused a rule for {path}: {exc.strerror}") from None
        return 1
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- running a command


def execute(cmd: Sequence[str], env: Mapping[str, str] | None) -> NoReturn:
    """Replace this process with cmd (searched on env's PATH), as a shell does; CommandFailed
    (127 not found, 126 not runnable) when it cannot start."""
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; a command expects it
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if env is None:
            os.execvp(cmd[0], list(cmd))
        else:
            os.execvpe(cmd[0], list(cmd), dict(env))
    except FileNotFoundError:
        raise CommandFailed(f"{cmd[0]}: command not found", 127) from None
    except OSError as exc:
        raise CommandFailed(f"{cmd[0]}: cannot run it: {exc.strerror}", 126) from None
