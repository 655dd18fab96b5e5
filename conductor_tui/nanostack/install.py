"""`conductor nanostack install [DIR]` / `uninstall [DIR]`: put our store behind nanostack.

In a nanostack checkout (or an installed skill directory that links to one), install swaps
`conductor/bin/sprint.sh` for a two-line wrapper that runs `conductor sprint-sh` with the same
arguments, and keeps upstream's script beside it as `sprint.sh.conductor-backup` (a hard link
of the very file, so its bytes, mode and times are kept). Uninstall renames the backup back over
the wrapper: the script is restored byte for byte. Installing twice, or uninstalling where
nothing is installed, changes nothing. A file that is neither upstream's script nor our wrapper
is refused and left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import stat
import sys
from collections.abc import Sequence

from ..core.fs import fsync_dir

BACKUP_SUFFIX = ".conductor-backup"

# SHA-256 of every released version of upstream's conductor/bin/sprint.sh (from its history).
KNOWN_UPSTREAM = {
    "5aecce64381c01bc326827b2cbbfcfe9703820c93f78777e64799f850452acec": "2026-06-09",
    "f751ec6023c5de1b969f2c7a88abe61e1a81062bfdf1236cc88a2f27c0932b53": "2026-05-29",
    "08c687103f048badd449f79e0d612a84c358fc7574db4a458a23dd28d1975105": "2026-05-29 (earlier)",
    "7a10e9bba14ca449d37d592f5e3605ba25120f1ca2330409a49ff9fbb9de7a11": "2026-05-11",
    "23a74ea171fb3c234d637f0373564f7ecb099b2b985ae03d1391657e98343867": "2026-04-26",
    "afb21b98ca41089428db92766820b0f3f1ae17f126ffb9db5965746962f0adae": "2026-04-16 (c)",
    "254ef84b670607764028e62ac1aeb0b6aee4ecd66ae81364c966023ddb5678ee": "2026-04-16 (b)",
    "2289b0c87c9759fa0f4ae25f87a67bd540842624815c6f4342d169f7bd022554": "2026-04-16 (a)",
    "7361ee40096f80ec5db661c5153d3d8bac9155b1b9cf2f8bd7fd5427a256db61": "2026-04-12",
    "9ee5d520c621994722972e918f52f878121452a99fe65a41145d1ddc1886917b": "2026-03-31",
    "a5b55af27e5bef61fd823ef7427113b4023b807d09b5d0896598eaa436955d0c": "2026-03-27",
    "2c8983f57f300d5a827e19eb4c3deddf9480abcadce77e005871bbeeff335cc3": "2026-03-26",
    "80f015d5f0701d813a75f41bf7ad96239f8703322fe453b2843b27f32e3d7c30": "2026-03-25 (v0.1.0)",
}
# A version newer than this list still has upstream's shape: a bash script whose dispatch
# names these commands' functions and which claims with a lock.d directory.
SHAPE = (b"#!", b"bash", b"cmd_claim", b"cmd_complete", b"cmd_abort", b"cmd_status", b"lock.d")
WRAPPER_RE = re.compile(rb"#!/bin/sh\nexec [^\n]* sprint-sh (?:[^\n]* )?\"\$@\"\n")
MAX_SCRIPT = 1 << 20
USAGE = "usage: conductor nanostack install|uninstall [DIR] [--conductor PATH]"


class Refusal(Exception):
    """Install or uninstall refused: nothing was changed."""


def kind_of(data: bytes) -> str:
    """What a sprint.sh is: 'wrapper' (ours), 'upstream' (a known version), 'upstream-shape'
    (an unknown version with upstream's shape), or 'other'."""
    if WRAPPER_RE.fullmatch(data):
        return "wrapper"
    if hashlib.sha256(data).hexdigest() in KNOWN_UPSTREAM:
        return "upstream"
    if len(data) < MAX_SCRIPT and all(mark in data for mark in SHAPE):
        return "upstream-shape"
    return "other"


def wrapper(conductor: str, nanostack_root: str) -> bytes:
    """The two lines that replace upstream's script. exec keeps the caller's pid as our parent
    pid, so the default agent name is the one upstream's script gives."""
    return (
        "#!/bin/sh\n"
        f"exec {shlex.quote(conductor)} sprint-sh --nanostack-root {shlex.quote(nanostack_root)} "
        '"$@"\n'
    ).encode()


def find_script(directory: str) -> str:
    """The real sprint.sh of a nanostack checkout, of an installed conductor skill, or the
    file itself; symlinks are followed to the file every skill runs."""
    candidates = [
        os.path.join(directory, "conductor", "bin", "sprint.sh"),
        os.path.join(directory, "bin", "sprint.sh"),
    ]
    if os.path.basename(directory) == "sprint.sh":
        candidates.insert(0, directory)
    for path in candidates:
        if os.path.lexists(path):
            real = os.path.realpath(path)
            st = os.stat(real) if os.path.exists(real) else None
            if st is None or not stat.S_ISREG(st.st_mode):
                raise Refusal(f"{path} is not a regular file")
            return real
    raise Refusal(
        f"no conductor/bin/sprint.sh in {directory}: pass a nanostack checkout "
        "(such as ~/.claude/skills/nanostack) or its conductor skill directory"
    )


def default_dir() -> str:
    """The directory to act on when none is named: here when it holds nanostack, else the one
    standard install location that does."""
    here = os.getcwd()
    home = os.path.expanduser("~")
    places = [here] + [
        os.path.join(home, *parts)
        for parts in (
            (".claude", "skills", "nanostack"),
            (".agents", "skills", "nanostack"),
            ("nanostack",),
        )
    ]
    found = []
    for place in places:
        with contextlib.suppress(Refusal, OSError):
            found.append((place, find_script(place)))
            if place == here:
                return here
    distinct = {real for _, real in found}
    if len(distinct) == 1:
        return found[0][0]
    if not found:
        raise Refusal(
            "no nanostack here or in ~/.claude/skills/nanostack, ~/.agents/skills/nanostack or "
            "~/nanostack; name the directory: conductor nanostack install DIR"
        )
    raise Refusal(
        "several nanostack installs found ("
        + ", ".join(place for place, _ in found)
        + "); name one: conductor nanostack install DIR"
    )


def find_conductor(explicit: str | None) -> str:
    """The absolute path of the `conductor` command the wrapper will run."""
    if explicit:
        path = os.path.abspath(explicit)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise Refusal(f"--conductor {path} is not an executable file")
        return path
    beside = os.path.join(os.path.dirname(sys.executable), "conductor")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return os.path.abspath(beside)
    found = shutil.which("conductor")
    if found:
        return os.path.abspath(found)
    raise Refusal("cannot find the `conductor` command; pass --conductor PATH")


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(4 * MAX_SCRIPT)


def install(directory: str, conductor: str) -> str:
    """Swap upstream's sprint.sh for the wrapper; returns what was done."""
    script = find_script(directory)
    data = _read(script)
    kind = kind_of(data)
    backup = script + BACKUP_SUFFIX
    if kind == "wrapper":
        if not os.path.isfile(backup):
            raise Refusal(
                f"{script} is already a conductor wrapper, but its backup {backup} is missing"
            )
        return f"already installed: {script} runs conductor sprint-sh; nothing was changed"
    if kind == "other":
        digest = hashlib.sha256(data).hexdigest()[:12]
        raise Refusal(
            f"{script} is not nanostack's sprint.sh (sha256 {digest}...); nothing was changed"
        )
    bin_dir = os.path.dirname(script)
    root = os.path.dirname(os.path.dirname(bin_dir))
    mode = os.stat(script).st_mode & 0o7777
    tmp_backup = os.path.join(bin_dir, f".sprint.sh.{os.getpid()}.backup")
    tmp_wrapper = os.path.join(bin_dir, f".sprint.sh.{os.getpid()}.wrapper")
    try:
        try:
            os.link(script, tmp_backup)  # the very file: bytes, mode and times kept
        except OSError:
            shutil.copy2(script, tmp_backup)
        fd = os.open(tmp_wrapper, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, wrapper(conductor, root))
            os.fchmod(fd, mode | 0o111)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_backup, backup)
        os.replace(tmp_wrapper, script)
        fsync_dir(bin_dir)
    except OSError as exc:
        for leftover in (tmp_backup, tmp_wrapper):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        raise Refusal(f"cannot install in {bin_dir}: {exc.strerror or exc}") from None
    note = (
        "" if kind == "upstream" else " (a version of upstream's script this release does not know)"
    )
    return (
        f"installed: {script} now runs {conductor} sprint-sh; "
        f"upstream's script{note} is kept at {backup}"
    )


def uninstall(directory: str) -> str:
    """Put upstream's sprint.sh back, byte for byte; returns what was done."""
    script = find_script(directory)
    kind = kind_of(_read(script))
    backup = script + BACKUP_SUFFIX
    if kind in ("upstream", "upstream-shape"):
        return f"not installed: {script} is upstream's sprint.sh; nothing was changed"
    if kind != "wrapper":
        raise Refusal(
            f"{script} is neither upstream's sprint.sh nor our wrapper; nothing was changed"
        )
    if not os.path.isfile(backup) or os.path.islink(backup):
        raise Refusal(f"the backup {backup} is missing; nothing was changed")
    if kind_of(_read(backup)) not in ("upstream", "upstream-shape"):
        raise Refusal(f"the backup {backup} is not nanostack's sprint.sh; nothing was changed")
    try:
        os.replace(backup, script)
        fsync_dir(os.path.dirname(script))
    except OSError as exc:
        raise Refusal(f"cannot restore {script}: {exc.strerror or exc}") from None
    return f"uninstalled: {script} is upstream's sprint.sh again"


def main(argv: Sequence[str] | None = None) -> int:
    """`install|uninstall [DIR] [--conductor PATH]`: 0 done (or nothing to do), 1 refused,
    2 usage."""
    args = list(sys.argv[1:] if argv is None else argv)
    conductor: str | None = None
    if "--conductor" in args:
        at = args.index("--conductor")
        if at + 1 >= len(args):
            print(USAGE, file=sys.stderr)
            return 2
        conductor = args[at + 1]
        del args[at : at + 2]
    if not args or args[0] not in ("install", "uninstall") or len(args) > 2:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        directory = os.path.abspath(args[1]) if len(args) == 2 else default_dir()
        if args[0] == "install":
            said = install(directory, find_conductor(conductor))
        else:
            said = uninstall(directory)
    except Refusal as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ERROR: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"OK: {said}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
