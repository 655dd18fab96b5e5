"""Hostile input, held to the standard:

    Bad input (a hostile phase name, a truncated or corrupt JSON file, a symlinked artifact, a
    missing store, a terminal that is too small) gets a clear message and a non-zero exit, never a
    traceback, and never loses or corrupts what was on disk.

Every test works on real directories under tmp_path; no file system is mocked. The readers
(Sprint.view, Store.find_active, Loader.load) and the `conductor` command line (in process with
capsys; real subprocesses only where a hang must be bounded by a timeout) are run against:

- every record type (sprint.json, lock/meta.json, lock/<token>/owner.json, done, an audit.log
  line, config.json, SKILL.md) truncated at every byte offset, filled with random binary, made
  huge, nested 10,000 deep, given duplicate keys, NaN / Infinity, and wrong types;
- hostile names used as phases, agents, tokens and sprint ids, and hostile strings written by hand
  into the records, which must be displayed escaped (by the CLI and by the app's widgets);
- hostile artifacts: symlinks, a FIFO, a directory, a device, files outside the project, a path
  swapped for a symlink while `complete` runs (a real racing process, not a mock);
- a missing store, a store that is a file, an unreadable sprint directory, a tiny terminal.

Every file under the store (or under tmp_path) is fingerprinted before and after each operation
that must not change it. A loop over many variants collects every failure before asserting, so
one report names every variant a defect affects.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import json
import os
import random
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.cli import main
from conductor_tui.core import audit
from conductor_tui.core.errors import ConductorError
from conductor_tui.core.graph import CLASSES, resolve_concurrency
from conductor_tui.core.jsonio import MalformedJSON, loads_strict
from conductor_tui.core.liveness import iso
from conductor_tui.core.models import AuditEvent, PhaseDef
from conductor_tui.core.paths import project_hash
from conductor_tui.core.store import Sprint, Store
from conductor_tui.tui.model import Loader, Snapshot

ESC, CSI = "\x1b", "\x9b"
WORD = re.compile(r"^(ERROR|REFUSED|CLAIMED|BLOCKED|DONE): \S")
ENV_VARS = (
    "NANOSTACK_AGENT",
    "NANOSTACK_STORE",
    "CLAUDE_SESSION_ID",
    "CLAUDE_CODE",
    "CODEX_SESSION_ID",
    "OPENCODE_SESSION_ID",
    "CONDUCTOR_CRASH_AT",
)
FINISHER = "claude-1a2b3c4d"  # completed think
HOLDER = "codex-7b21e0aa"  # holds plan in the lock tests
UPSTREAM = "opencode-9c44d1e8"  # an upstream sprint.sh lock on plan
CHECKPOINT = {
    "summary": "Checkout drops carts when the session expires mid-payment.",
    "key_files": ["shop/session.py"],
    "decisions_made": ["Fix the session refresh, not the cart"],
    "open_questions": [],
}
CONDUCTOR = os.path.join(os.path.dirname(sys.executable), "conductor")
HUGE = 5 << 20
DEEP = 10_000


# ---------------------------------------------------------------------- the world


@dataclass
class Reply:
    """One command's exit code and output."""

    rc: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def __repr__(self) -> str:
        return f"Reply(rc={self.rc}, out={self.out[-400:]!r}, err={self.err[-400:]!r})"


@dataclass
class World:
    """A store and a project under tmp, with a default sprint whose `think` is done."""

    tmp: Path
    root: str
    project: str
    home: str
    sprint: Sprint
    capsys: pytest.CaptureFixture[str]

    def cli(self, *args: str) -> Reply:
        """`conductor --store S --project P ARGS...` in process."""
        return run_main(self.capsys, ["--store", self.root, "--project", self.project, *args])

    def pdir(self, phase: str) -> str:
        return os.path.join(self.sprint.path, phase)

    def path(self, phase: str, *parts: str) -> str:
        return os.path.join(self.sprint.path, phase, *parts)

    def store(self) -> Store:
        return Store(self.root)

    def load(self, **kw: Any) -> Snapshot:
        """The app's reader; it must return a Snapshot and never raise."""
        try:
            snap = Loader(Store(self.root), self.project, **kw).load()
        except Exception as exc:  # the point of the check: nothing may escape
            raise AssertionError(f"Loader.load raised {type(exc).__name__}: {exc}") from exc
        assert isinstance(snap, Snapshot)
        return snap

    def subprocess_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
        env.update(HOME=self.home, NANOSTACK_AGENT="tester", PYTHONDONTWRITEBYTECODE="1")
        return env


def run_main(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Reply:
    """conductor_tui.cli.main in process; only SystemExit (argparse) is turned into a code."""
    capsys.readouterr()
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return Reply(int(rc), out, err)


def put(path: str | Path, data: bytes | str) -> None:
    """Replace a file's content with a fresh file (unlink, create). Rewriting in place would
    make ext4 (auto_da_alloc) flush on every close and slow the byte-offset loops tenfold."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)


def write_json(path: str, obj: Any) -> bytes:
    data = (json.dumps(obj) + "\n").encode()
    put(path, data)
    return data


def make_artifact(folder: str, name: str = "plan.json", extra: dict[str, Any] | None = None) -> str:
    path = os.path.join(folder, name)
    write_json(path, {"phase": name, "context_checkpoint": CHECKPOINT, **(extra or {})})
    return path


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> World:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NANOSTACK_AGENT", "tester")
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.delenv("NO_COLOR", raising=False)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    root = str(tmp_path / "store")
    store = Store(root)
    sprint = store.start(str(project), agent="tester")
    owner = sprint.claim("think", agent=FINISHER, holder_pid=os.getpid())
    art = make_artifact(str(project), "think.json")
    sprint.complete("think", agent=FINISHER, token=owner.token, artifact=art)
    return World(tmp_path, root, str(project), str(home), sprint, capsys)


def fenced_claim(w: World, phase: str = "plan") -> str:
    """Our claim of phase by HOLDER (this live process); returns the token."""
    return w.sprint.claim(phase, agent=HOLDER, holder_pid=os.getpid()).token


def upstream_lock(w: World, phase: str = "plan") -> bytes:
    """A lock as upstream sprint.sh writes it (mkdir lock.d, meta.json, mv lock.d lock)."""
    staging = w.path(phase, "lock.d")
    os.mkdir(staging)
    data = write_json(
        os.path.join(staging, "meta.json"),
        {"agent": UPSTREAM, "claimed_at": iso(w.store().clock()), "pid": os.getpid()},
    )
    os.rename(staging, w.path(phase, "lock"))
    return data


# ---------------------------------------------------------------------- checks


def fingerprint(root: str | Path) -> dict[str, str]:
    """Every entry under root: type, mode and (for files) the SHA-256; links are not followed."""
    out: dict[str, str] = {}
    root = str(root)
    if not os.path.lexists(root):
        return out
    for top, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = os.path.join(top, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256()
                with open(path, "rb") as fh:
                    for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                        digest.update(chunk)
                desc = f"file {st.st_mode:o} {digest.hexdigest()}"
            elif stat.S_ISLNK(st.st_mode):
                desc = "link " + os.readlink(path)
            else:
                desc = f"mode {st.st_mode:o}"
            out[os.path.relpath(path, root)] = desc
    return out


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    keys = sorted(before.keys() | after.keys())
    return [
        f"{k} ({'new' if k not in before else 'gone' if k not in after else 'altered'})"
        for k in keys
        if before.get(k) != after.get(k)
    ]


def assert_unchanged(before: dict[str, str], after: dict[str, str], what: str) -> None:
    diff = changes(before, after)
    assert not diff, f"{what} changed the disk: {diff[:8]}"


def assert_clean(r: Reply, what: str, *, json_out: bool = False) -> None:
    """No traceback and no terminal control sequence in what the command printed."""
    assert "Traceback" not in r.text, f"{what}: traceback printed: {r!r}"
    assert ESC not in r.text, f"{what}: raw ESC printed: {r!r}"
    if not json_out:
        assert CSI not in r.text, f"{what}: raw C1 CSI printed: {r!r}"


def assert_failed(r: Reply, what: str, codes: tuple[int, ...] = (1, 2)) -> None:
    """A refusal: the right exit code and exactly one `WORD: message` line on stderr."""
    assert r.rc in codes, f"{what}: exit {r.rc}, expected one of {codes}: {r!r}"
    assert_clean(r, what)
    lines = [ln for ln in r.err.splitlines() if WORD.match(ln)]
    assert len(lines) == 1, f"{what}: expected one `WORD: message` line on stderr: {r!r}"


def collect(failures: list[str], label: str, check: Callable[[], None]) -> None:
    """Run one check, keeping its failure (and any unexpected exception) for the final report."""
    try:
        check()
    except AssertionError as exc:
        failures.append(f"[{label}] {str(exc).splitlines()[0][:400]}")
    except Exception as exc:
        failures.append(f"[{label}] raised {type(exc).__name__}: {str(exc)[:300]}")


def report(failures: list[str], total: int) -> None:
    if failures:
        shown = "\n".join(failures[:25])
        more = f"\n... and {len(failures) - 25} more" if len(failures) > 25 else ""
        pytest.fail(f"{len(failures)} of {total} variants failed:\n{shown}{more}", pytrace=False)


# ---------------------------------------------------------------------- corrupt contents


def corruptions(valid: dict[str, Any]) -> dict[str, bytes]:
    """Every kind of bad content for a record whose valid form is `valid` (all must be refused)."""
    rnd = random.Random(",".join(valid))
    body = json.dumps(valid)
    key0 = next(iter(valid))
    first = valid[key0]
    # the same key again, with another value of the same type (so only the duplicate is wrong)
    other = (
        first + "-again"
        if isinstance(first, str)
        else first + 1
        if isinstance(first, int)
        else first
    )
    out: dict[str, bytes] = {
        "empty": b"",
        "binary": rnd.randbytes(4096),
        "nul-bytes": b"\x00" * 64,
        "latin1": (body[:-1] + ', "x-l": "caf\xe9"}').encode("latin-1"),
        "huge-value": json.dumps({**valid, "x-pad": "x" * HUGE}).encode(),
        "huge-whitespace": body.encode() + b" " * HUGE,
        "deep-array": b"[" * DEEP + b"]" * DEEP,
        "deep-object": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
        "deep-in-field": (body[:-1] + ', "x-deep": ' + "[" * DEEP + "]" * DEEP + "}").encode(),
        "duplicate-same": (
            body[:-1] + f", {json.dumps(key0)}: {json.dumps(valid[key0])}}}"
        ).encode(),
        "duplicate-other": (body[:-1] + f", {json.dumps(key0)}: {json.dumps(other)}}}").encode(),
        "nan": (body[:-1] + ', "x-n": NaN}').encode(),
        "infinity": (body[:-1] + ', "x-n": Infinity}').encode(),
        "minus-infinity": (body[:-1] + ', "x-n": -Infinity}').encode(),
        "two-documents": (body + "\n" + body).encode(),
        "trailing-garbage": (body + "}").encode(),
    }
    for key, value in valid.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, str):
            bad: Any = 5
        elif isinstance(value, (int, float)):
            bad = [value]
        elif isinstance(value, list):
            bad = "not-a-list"
        else:
            bad = "not-an-object"
        out[f"type-{key}"] = json.dumps({**valid, key: bad}).encode()
    for name, whole in (("array", []), ("null", None), ("string", "x"), ("number", 42)):
        out[f"type-whole-{name}"] = json.dumps(whole).encode()
    return out


def truncations(data: bytes) -> Iterator[tuple[int, bytes, bool]]:
    """(offset, prefix, still_valid) for every byte offset; only cutting whitespace keeps it."""
    for i in range(len(data)):
        prefix = data[:i]
        yield i, prefix, prefix.strip() == data.strip() and i > 0


# ---------------------------------------------------------------------- expectations per record

# How much of the command line each check runs: the readers always; NONE, SOME (status, claim,
# doctor: the commonest) or ALL (every command the record matters to). In-process calls are cheap,
# but building the argument parser is not, so loops run SOME on a stride and ALL on a few cases.
NONE, SOME, ALL = 0, 1, 2
FULL_VARIANTS = {"empty", "binary", "huge-value", "deep-array", "duplicate-other", "nan"}


def level_at(i: int, n: int) -> int:
    """The CLI level for offset i of n: ALL twice, SOME about 16 times, else NONE."""
    if i in (1, n // 2):
        return ALL
    return SOME if i % max(1, n // 16) == 0 else NONE


def level_of(variant: str) -> int:
    return ALL if variant in FULL_VARIANTS or variant == "type-whole-array" else SOME


def expect_sprint_json_refused(w: World, what: str, *, cli: int = ALL) -> None:
    try:
        Store(w.root).find_active(w.project)
    except ConductorError:
        pass
    else:
        raise AssertionError(f"{what}: find_active accepted a corrupt sprint.json")
    snap = w.load()
    assert snap.view is None and snap.fatal and snap.error, f"{what}: snapshot {snap.error!r}"
    assert ESC not in snap.error
    if not cli:
        return
    before = fingerprint(w.root)
    commands = [("status",), ("claim", "plan", "--agent", "bob")]
    if cli == ALL:
        commands += [("doctor",), ("why", "plan"), ("abort", "think", "--agent", "bob")]
    for args in commands:
        assert_failed(w.cli(*args), f"{what}: {' '.join(args)}", (2,))
    assert_unchanged(before, fingerprint(w.root), what)


def expect_done_malformed(w: World, what: str, *, cli: int = ALL) -> None:
    pv = w.sprint.view().phase("think")
    assert pv is not None and pv.status == "malformed", f"{what}: think is {pv and pv.status}"
    assert pv.state == "done" and pv.problems, f"{what}: {pv.state} {pv.problems}"
    snap = w.load()
    assert snap.view is not None, f"{what}: {snap.error}"
    spv = snap.view.phase("think")
    assert spv is not None and spv.status == "malformed"
    assert any(a.phase == "think" and a.kind == "malformed" for a in snap.attention)
    if not cli:
        return
    r = w.cli("status")
    assert r.rc == 0 and re.search(r"think\s+malformed", r.out), f"{what}: status {r!r}"
    assert_clean(r, what)
    before = fingerprint(w.root)
    commands = [("claim", "think", "--agent", "bob")]
    if cli == ALL:
        commands += [
            ("complete", "think", "--agent", "bob", "--allow-no-checkpoint"),
            ("abort", "think", "--agent", "bob"),
            ("reclaim", "think", "--agent", "bob"),
        ]
    for args in commands:
        assert_failed(w.cli(*args), f"{what}: {' '.join(args)}", (1, 2))
    r = w.cli("doctor")
    assert r.rc == 1 and "think" in r.out, f"{what}: doctor {r!r}"
    assert_clean(r, what)
    assert_unchanged(before, fingerprint(w.root), what)


def expect_upstream_lock_malformed(w: World, what: str, *, cli: int = ALL) -> None:
    pv = w.sprint.view().phase("plan")
    assert pv is not None and pv.status == "malformed", f"{what}: plan is {pv and pv.status}"
    assert pv.state == "running"
    snap = w.load()
    assert snap.view is not None and snap.view.phase("plan").status == "malformed"  # type: ignore[union-attr]
    if not cli:
        return
    r = w.cli("status")
    assert r.rc == 0 and re.search(r"plan\s+malformed", r.out), f"{what}: status {r!r}"
    before = fingerprint(w.root)
    commands = [("claim", "plan", "--agent", "bob")]
    if cli == ALL:
        commands += [
            ("reclaim", "plan", "--agent", "bob"),
            ("abort", "plan", "--agent", UPSTREAM),
            ("complete", "plan", "--agent", UPSTREAM, "--allow-no-checkpoint"),
            ("heartbeat", "plan", "--agent", UPSTREAM),
        ]
    for args in commands:
        assert_failed(w.cli(*args), f"{what}: {' '.join(args)}", (1,))
    r = w.cli("doctor")
    assert r.rc == 1 and "plan" in r.out, f"{what}: doctor {r!r}"
    assert_unchanged(before, fingerprint(w.root), what)


def expect_held_not_free(w: World, what: str, *, cli: int = ALL, malformed: bool) -> None:
    """A fenced claim whose owner.json or mirror is damaged: never free, never stale."""
    pv = w.sprint.view().phase("plan")
    assert pv is not None
    wanted = ("malformed",) if malformed else ("held", "malformed")
    assert pv.status in wanted, f"{what}: plan is {pv.status} (expected {wanted})"
    assert pv.state == "running"
    snap = w.load()
    assert snap.view is not None and snap.view.phase("plan").status in wanted  # type: ignore[union-attr]
    if not cli:
        return
    before = fingerprint(w.root)
    assert_failed(w.cli("claim", "plan", "--agent", "bob"), f"{what}: claim", (1,))
    if cli == ALL:
        assert_failed(w.cli("reclaim", "plan", "--agent", "bob"), f"{what}: reclaim", (1,))
    if malformed and cli == ALL:
        for args in (
            ("abort", "plan", "--agent", HOLDER),
            ("complete", "plan", "--agent", HOLDER, "--allow-no-checkpoint"),
        ):
            assert_failed(w.cli(*args), f"{what}: {' '.join(args)}", (1,))
    r = w.cli("doctor")
    assert r.rc == 1 and "plan" in r.out, f"{what}: doctor found nothing: {r!r}"
    assert_clean(r, what)
    assert_unchanged(before, fingerprint(w.root), what)


def expect_config_refused(w: World, what: str, *, cli: int = ALL) -> None:
    try:
        Store(w.root).config()
    except ConductorError:
        pass
    else:
        raise AssertionError(f"{what}: Store.config accepted a corrupt config.json")
    snap = w.load()
    assert snap.view is not None, (
        f"{what}: the sprint is unreadable because of config: {snap.error}"
    )
    if not cli:
        return
    before = fingerprint(w.tmp)
    assert_failed(w.cli("start", "--agent", "tester"), f"{what}: start", (2,))
    if cli == ALL:
        assert_failed(w.cli("batch"), f"{what}: batch", (2,))
    assert_unchanged(before, fingerprint(w.tmp), what)


# ---------------------------------------------------------------------- (a) every byte offset


def test_sprint_json_truncated_at_every_offset(world: World) -> None:
    w = world
    sj = os.path.join(w.sprint.path, "sprint.json")
    data = Path(sj).read_bytes()
    failures: list[str] = []
    for i, prefix, valid in truncations(data):
        put(sj, prefix)
        if valid:
            found = Store(w.root).find_active(w.project)
            assert found is not None and found.sprint_id == w.sprint.sprint_id
            continue
        collect(
            failures,
            f"offset {i}",
            lambda i=i: expect_sprint_json_refused(
                w, f"sprint.json cut at {i}", cli=level_at(i, len(data))
            ),
        )
    put(sj, data)
    report(failures, len(data))


def test_done_truncated_at_every_offset(world: World) -> None:
    w = world
    done = w.path("think", "done")
    data = Path(done).read_bytes()
    assert b"sha256" in data and b"token" in data  # a realistic record of our complete
    failures: list[str] = []
    for i, prefix, valid in truncations(data):
        put(done, prefix)
        if valid:
            assert w.sprint.view().phase("think").status == "done"  # type: ignore[union-attr]
            continue
        collect(
            failures,
            f"offset {i}",
            lambda i=i: expect_done_malformed(w, f"done cut at {i}", cli=level_at(i, len(data))),
        )
        assert Path(done).read_bytes() == prefix, f"the corrupt done (cut at {i}) was altered"
    report(failures, len(data))


def test_upstream_meta_json_truncated_at_every_offset(world: World) -> None:
    w = world
    data = upstream_lock(w)
    meta = w.path("plan", "lock", "meta.json")
    failures: list[str] = []
    for i, prefix, valid in truncations(data):
        put(meta, prefix)
        if valid:
            assert w.sprint.view().phase("plan").status == "held"  # type: ignore[union-attr]
            continue
        collect(
            failures,
            f"offset {i}",
            lambda i=i: expect_upstream_lock_malformed(
                w, f"meta.json cut at {i}", cli=level_at(i, len(data))
            ),
        )
    report(failures, len(data))


def test_fenced_meta_json_mirror_truncated_at_every_offset(world: World) -> None:
    w = world
    fenced_claim(w)
    meta = w.path("plan", "lock", "meta.json")
    data = Path(meta).read_bytes()
    failures: list[str] = []
    for i, prefix, valid in truncations(data):
        put(meta, prefix)
        if valid:
            continue
        # owner.json is the authoritative record: the claim is still held, never free
        collect(
            failures,
            f"offset {i}",
            lambda i=i: expect_held_not_free(
                w, f"mirror cut at {i}", cli=level_at(i, len(data)), malformed=False
            ),
        )
    report(failures, len(data))


@pytest.mark.parametrize("mirror", [True, False], ids=["mirror-intact", "mirror-gone"])
def test_owner_json_truncated_at_every_offset(world: World, mirror: bool) -> None:
    w = world
    token = fenced_claim(w)
    owner = w.path("plan", "lock", token, "owner.json")
    if not mirror:
        os.unlink(w.path("plan", "lock", "meta.json"))
    data = Path(owner).read_bytes()
    failures: list[str] = []
    for i, prefix, valid in truncations(data):
        put(owner, prefix)
        if valid:
            continue
        collect(
            failures,
            f"offset {i}",
            lambda i=i: expect_held_not_free(
                w, f"owner.json cut at {i}", cli=level_at(i, len(data)), malformed=not mirror
            ),
        )
        assert Path(owner).read_bytes() == prefix
    report(failures, len(data))


def test_audit_log_truncated_at_every_offset(world: World) -> None:
    w = world
    fenced_claim(w)
    log = os.path.join(w.root, "audit.log")
    data = Path(log).read_bytes()
    assert data.count(b"\n") >= 3
    failures: list[str] = []
    for i, prefix, _ in truncations(data):
        put(log, prefix)
        torn = bool(prefix) and not prefix.endswith(b"\n") and not _parses(prefix.split(b"\n")[-1])

        def check(i: int = i, torn: bool = torn) -> None:
            events = list(audit.read(log))
            bad = [e for e in events if isinstance(e, str)]
            assert len(bad) == (1 if torn else 0), f"cut at {i}: {bad}"
            snap = w.load()
            assert snap.view is not None, snap.error
            assert sum(isinstance(e, str) for e in snap.events) == (1 if torn else 0)
            if level_at(i, len(data)):
                r = w.cli("log", "--all", "-n", "1000")
                assert r.rc == 0, r
                assert_clean(r, f"log cut at {i}")
                assert ("! line" in r.out) == torn, r
                assert w.cli("status").rc == 0

        collect(failures, f"offset {i}", check)
        assert Path(log).read_bytes() == prefix, "a reader altered the audit log"
    report(failures, len(data))


def _parses(line: bytes) -> bool:
    try:
        loads_strict(line)
    except MalformedJSON:
        return False
    return True


def test_config_json_truncated_at_every_offset(world: World) -> None:
    w = world
    cfg = os.path.join(w.root, "config.json")
    data = write_json(
        cfg,
        {
            "phase_graph": [
                {"name": "think", "depends_on": []},
                {"name": "build", "depends_on": ["think"]},
                {"name": "ship", "depends_on": ["build"], "concurrency": "exclusive"},
            ],
            "skill_roots": ["~/src/nanostack"],
        },
    )
    failures: list[str] = []
    for i, prefix, valid in truncations(data):
        put(cfg, prefix)
        if valid:
            continue
        collect(
            failures,
            f"offset {i}",
            lambda i=i: expect_config_refused(
                w, f"config.json cut at {i}", cli=level_at(i, len(data))
            ),
        )
    report(failures, len(data))


SKILL = (
    "---\n"
    "name: review\n"
    "description: Review the diff for correctness and style.\n"
    "concurrency: exclusive  # this team reviews one at a time\n"
    "---\n"
    "# Review\n\nRead the diff. Write review.json with a context checkpoint.\n"
)


def test_skill_md_truncated_at_every_offset(world: World) -> None:
    w = world
    folder = os.path.join(w.root, "skills", "review")
    os.makedirs(folder)
    skill = os.path.join(folder, "SKILL.md")
    data = SKILL.encode()
    # the first prefix with a closed front matter
    closed_at = data.index(b"\n---\n") + len(b"\n---")
    phases = w.sprint.record.phases
    failures: list[str] = []
    for i in range(len(data) + 1):
        put(skill, data[:i])
        expected = "exclusive" if i >= closed_at else "read"  # else the built-in class of review

        def check(i: int = i, expected: str = expected) -> None:
            classes, _, _ = resolve_concurrency(phases, store=w.root, home=w.home)
            assert classes["review"] == expected, f"cut at {i}: {classes['review']}"
            snap = w.load()
            assert snap.view is not None and snap.view.phase("review").concurrency == expected  # type: ignore[union-attr]
            if level_at(i, len(data)):
                r = w.cli("batch")
                assert r.rc == 0, r
                assert_clean(r, f"SKILL.md cut at {i}")

        collect(failures, f"offset {i}", check)
    report(failures, len(data))


# ---------------------------------------------------------------------- (b)-(g) per record type


def test_sprint_json_corruptions(world: World) -> None:
    w = world
    sj = os.path.join(w.sprint.path, "sprint.json")
    original = Path(sj).read_bytes()
    valid = json.loads(original)
    variants = corruptions(valid)
    variants["type-depends_on"] = json.dumps(
        {**valid, "phases": [{"name": "think", "depends_on": "plan"}]}
    ).encode()
    variants["type-phase-name"] = json.dumps({**valid, "phases": [{"name": 7}]}).encode()
    failures: list[str] = []
    for name, content in variants.items():
        put(sj, content)
        collect(
            failures,
            name,
            lambda name=name: expect_sprint_json_refused(w, name, cli=level_of(name)),
        )
        assert Path(sj).read_bytes() == content, f"{name}: sprint.json altered"
    report(failures, len(variants))


def test_done_corruptions(world: World) -> None:
    w = world
    done = w.path("think", "done")
    variants = corruptions(json.loads(Path(done).read_bytes()))
    failures: list[str] = []
    for name, content in variants.items():
        put(done, content)
        collect(
            failures, name, lambda name=name: expect_done_malformed(w, name, cli=level_of(name))
        )
        assert Path(done).read_bytes() == content, f"{name}: done altered"
    report(failures, len(variants))


def test_upstream_meta_json_corruptions(world: World) -> None:
    w = world
    meta = w.path("plan", "lock", "meta.json")
    variants = corruptions(json.loads(upstream_lock(w)))
    failures: list[str] = []
    for name, content in variants.items():
        put(meta, content)
        collect(
            failures,
            name,
            lambda name=name: expect_upstream_lock_malformed(w, name, cli=level_of(name)),
        )
        assert Path(meta).read_bytes() == content, f"{name}: meta.json altered"
    report(failures, len(variants))


def test_fenced_mirror_meta_json_corruptions(world: World) -> None:
    w = world
    fenced_claim(w)
    meta = w.path("plan", "lock", "meta.json")
    variants = corruptions(json.loads(Path(meta).read_bytes()))
    failures: list[str] = []
    for name, content in variants.items():
        put(meta, content)
        collect(
            failures,
            name,
            lambda name=name: expect_held_not_free(w, name, cli=level_of(name), malformed=False),
        )
    report(failures, len(variants))


@pytest.mark.parametrize("mirror", [True, False], ids=["mirror-intact", "mirror-gone"])
def test_owner_json_corruptions(world: World, mirror: bool) -> None:
    w = world
    token = fenced_claim(w)
    owner = w.path("plan", "lock", token, "owner.json")
    if not mirror:
        os.unlink(w.path("plan", "lock", "meta.json"))
    variants = corruptions(json.loads(Path(owner).read_bytes()))
    failures: list[str] = []
    for name, content in variants.items():
        put(owner, content)
        collect(
            failures,
            name,
            lambda name=name: expect_held_not_free(
                w, name, cli=level_of(name), malformed=not mirror
            ),
        )
        assert Path(owner).read_bytes() == content, f"{name}: owner.json altered"
    report(failures, len(variants))


def test_audit_log_line_corruptions(world: World) -> None:
    w = world
    log = os.path.join(w.root, "audit.log")
    good = Path(log).read_bytes()
    line = json.loads(good.splitlines()[-1])
    # (an empty line is no event at all; a 5 MB line lies beyond the 4 MB tail the readers keep)
    variants = {
        k: v for k, v in corruptions(line).items() if not k.startswith("huge") and k != "empty"
    }
    variants["huge-line"] = json.dumps({**line, "detail": "x" * (1 << 20)}).encode()
    failures: list[str] = []
    for name, content in variants.items():
        one_line = content.replace(b"\r", b" ").replace(b"\n", b" ")
        put(log, good + one_line + b"\n")

        def check(name: str = name) -> None:
            events = list(audit.read(log))
            assert sum(isinstance(e, str) for e in events) == 1, f"{name}: {events[-1:]!r}"
            assert sum(isinstance(e, AuditEvent) for e in events) == good.count(b"\n")
            snap = w.load()
            assert snap.view is not None, snap.error
            r = w.cli("log", "--all")
            assert r.rc == 0 and "! line" in r.out, f"{name}: {r!r}"
            assert_clean(r, name)
            assert w.cli("status").rc == 0

        collect(failures, name, check)
    # a whole log of binary, and a 5 MB log of valid lines (only its tail is read)
    put(log, random.Random(5).randbytes(HUGE))
    collect(failures, "binary-log", lambda: _log_reads_cleanly(w))
    put(log, good.splitlines()[-1] * (HUGE // len(good.splitlines()[-1])))
    collect(failures, "huge-log", lambda: _log_reads_cleanly(w))
    report(failures, len(variants) + 2)


def _log_reads_cleanly(w: World) -> None:
    snap = w.load()
    assert snap.view is not None, snap.error
    r = w.cli("log", "--all", "-n", "50")
    assert r.rc == 0, r
    assert_clean(r, "log")


def test_config_json_corruptions(world: World) -> None:
    w = world
    cfg = os.path.join(w.root, "config.json")
    valid = {
        "phase_graph": [{"name": "think"}, {"name": "ship", "depends_on": ["think"]}],
        "skill_roots": ["~/src/nanostack"],
    }
    variants = corruptions(valid)
    variants["type-skill-root"] = json.dumps({**valid, "skill_roots": [7]}).encode()
    failures: list[str] = []
    for name, content in variants.items():
        put(cfg, content)
        collect(
            failures, name, lambda name=name: expect_config_refused(w, name, cli=level_of(name))
        )
        assert Path(cfg).read_bytes() == content
    report(failures, len(variants))


SKILL_VARIANTS: dict[str, bytes] = {
    "binary": random.Random(9).randbytes(4096),
    "binary-after-front-matter": SKILL.encode() + random.Random(9).randbytes(4096),
    "huge-body": SKILL.encode() + b"lorem ipsum\n" * (HUGE // 12),
    "huge-no-newline": b"---" + b"x" * HUGE,
    "huge-unclosed": b"---\nconcurrency: exclusive\n" + b"notes: x\n" * (HUGE // 9),
    "deep-value": b"---\nconcurrency: " + b"[" * DEEP + b"]" * DEEP + b"\n---\n",
    "nan": b"---\nconcurrency: .nan\n---\n",
    "infinity": b"---\nconcurrency: .inf\n---\n",
    "list": b"---\nconcurrency: [read]\n---\n",
    "mapping": b"---\nconcurrency: {read: 1}\n---\n",
    "number": b"---\nconcurrency: 5\n---\n",
    "null": b"---\nconcurrency: null\n---\n",
    "escape": b"---\nconcurrency: \x1b[2J\x1b]0;pwn\x07\n---\n",
    "markup": b"---\nconcurrency: [bold red]read[/]\n---\n",
    "unclosed": b"---\nconcurrency: exclusive\n",
    "empty": b"",
}


def test_skill_md_corruptions(world: World) -> None:
    """A bad SKILL.md yields nothing (review keeps its built-in class), with no crash or escape;
    a good front matter followed by anything is still read."""
    w = world
    folder = os.path.join(w.root, "skills", "review")
    os.makedirs(folder)
    skill = os.path.join(folder, "SKILL.md")
    phases = w.sprint.record.phases
    failures: list[str] = []
    for name, content in SKILL_VARIANTS.items():
        put(skill, content)
        # a good front matter before a huge body is still read; a file that is not UTF-8 text
        # may be read up to the bad bytes or not at all; anything else yields nothing
        expected = {"huge-body": ("exclusive",), "binary-after-front-matter": ("exclusive", "read")}
        wanted = expected.get(name, ("read",))

        def check(name: str = name, wanted: tuple[str, ...] = wanted) -> None:
            classes, _, warnings = resolve_concurrency(phases, store=w.root, home=w.home)
            assert classes["review"] in wanted, f"{name}: {classes['review']}"
            assert all(ESC not in x for x in warnings), warnings
            snap = w.load()
            assert snap.view is not None and all(
                c in CLASSES for c in (p.concurrency for p in snap.view.phases)
            )
            r = w.cli("batch")
            assert r.rc == 0, r
            assert_clean(r, name)

        collect(failures, name, check)
    report(failures, len(SKILL_VARIANTS))


def test_skill_md_with_conflicting_duplicate_concurrency_is_not_read_as_the_laxest(
    world: World,
) -> None:
    """Duplicate keys are refused in every JSON record; in a front matter that decides whether a
    phase may run beside others, two conflicting `concurrency:` lines must not silently yield the
    laxest class (YAML readers take the last one): the stricter class, or at least a warning."""
    w = world
    folder = os.path.join(w.root, "skills", "review")
    os.makedirs(folder)
    put(
        os.path.join(folder, "SKILL.md"),
        "---\nname: review\nconcurrency: read\nconcurrency: exclusive\n---\n",
    )
    classes, _, warnings = resolve_concurrency([PhaseDef(name="review")], store=w.root, home=w.home)
    assert classes["review"] == "exclusive" or any("concurrency" in x for x in warnings), (
        f"conflicting duplicate keys read as {classes['review']!r} with no warning"
    )


# ---------------------------------------------------------------------- wrong file types


def _replace_with_dir(path: str) -> None:
    os.unlink(path)
    os.mkdir(path)
    put(os.path.join(path, "junk"), "x")


@pytest.mark.parametrize(
    "record", ["sprint.json", "done", "meta.json", "owner.json", "config.json", "SKILL.md"]
)
def test_record_that_is_a_directory(world: World, record: str) -> None:
    w = world
    token = fenced_claim(w)
    skill = os.path.join(w.root, "skills", "review", "SKILL.md")
    os.makedirs(os.path.dirname(skill))
    put(skill, SKILL)
    cfg = os.path.join(w.root, "config.json")
    write_json(cfg, {"skill_roots": []})
    if record == "owner.json":
        os.unlink(w.path("plan", "lock", "meta.json"))
    path = {
        "sprint.json": os.path.join(w.sprint.path, "sprint.json"),
        "done": w.path("think", "done"),
        "meta.json": w.path("plan", "lock", "meta.json"),
        "owner.json": w.path("plan", "lock", token, "owner.json"),
        "config.json": cfg,
        "SKILL.md": skill,
    }[record]
    _replace_with_dir(path)
    if record == "sprint.json":
        expect_sprint_json_refused(w, record)
    elif record == "done":
        expect_done_malformed(w, record)
    elif record in ("meta.json", "owner.json"):
        expect_held_not_free(w, record, malformed=record == "owner.json")
    elif record == "config.json":
        expect_config_refused(w, record)
    else:
        classes, _, _ = resolve_concurrency(w.sprint.record.phases, store=w.root, home=w.home)
        assert classes["review"] == "read"
        assert w.load().view is not None
        assert w.cli("batch").rc == 0


def test_loader_survives_an_audit_log_that_is_a_directory(world: World) -> None:
    w = world
    log = os.path.join(w.root, "audit.log")
    _replace_with_dir(log)
    before = fingerprint(w.root)
    snap = w.load()  # must return a Snapshot (the sprint is fine), never raise
    assert snap.view is not None
    r = w.cli("log")
    assert r.rc in (0, 2)
    assert_clean(r, "log")
    assert_unchanged(before, fingerprint(w.root), "reading")


def test_loader_survives_a_phase_directory_replaced_by_a_file(world: World) -> None:
    w = world
    qa = w.pdir("qa")
    os.rename(qa, qa + ".moved")
    put(qa, "not a directory")
    before = fingerprint(w.root)
    snap = w.load()
    assert snap.view is not None or snap.error
    r = w.cli("status")
    assert r.rc in (0, 2) and "Traceback" not in r.text, r
    if r.rc == 2:
        assert_failed(r, "status", (2,))
    r = w.cli("doctor")
    assert r.rc in (1, 2), r
    assert_clean(r, "doctor")
    assert_unchanged(before, fingerprint(w.root), "reading")


# ---------------------------------------------------------------------- FIFOs (bounded by timeouts)


FIFO_DRIVER = r"""
import contextlib, io, json, sys
from conductor_tui.cli import main
from conductor_tui.core.store import Store
from conductor_tui.tui.model import Loader
root, project, steps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
results = []
for step in steps:
    if step == ["loader"]:
        snap = Loader(Store(root), project).load()  # raises -> traceback -> exit 1
        results.append([step, 0, snap.error or ""])
        continue
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            rc = main(["--store", root, "--project", project, *step])
        except SystemExit as exc:
            rc = exc.code
    results.append([step, rc, err.getvalue()])
print(json.dumps(results))
"""


def bounded_driver(
    w: World, root: str, project: str, steps: list[list[str]]
) -> subprocess.Popen[str]:
    """Run steps (CLI argument lists, or ["loader"]) in one fresh process."""
    return subprocess.Popen(
        [sys.executable, "-c", FIFO_DRIVER, root, project, json.dumps(steps)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=w.subprocess_env(),
        cwd=project,
    )


def finish(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str] | None:
    """(stdout, stderr), or None when the process had to be killed."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None


def _bounded(
    w: World, argv: list[str], what: str, timeout: float = 10
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=w.subprocess_env(),
            cwd=w.project,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} hung (killed after {timeout} s)", pytrace=False)


@pytest.mark.parametrize(
    "record", ["sprint.json", "done", "meta.json", "owner.json", "config.json", "SKILL.md"]
)
def test_record_that_is_a_fifo_never_hangs(world: World, record: str) -> None:
    w = world
    token = fenced_claim(w)
    if record == "owner.json":
        os.unlink(w.path("plan", "lock", "meta.json"))
    skill = os.path.join(w.root, "skills", "review", "SKILL.md")
    os.makedirs(os.path.dirname(skill))
    path = {
        "sprint.json": os.path.join(w.sprint.path, "sprint.json"),
        "done": w.path("think", "done"),
        "meta.json": w.path("plan", "lock", "meta.json"),
        "owner.json": w.path("plan", "lock", token, "owner.json"),
        "config.json": os.path.join(w.root, "config.json"),
        "SKILL.md": skill,
    }[record]
    if os.path.lexists(path):
        os.unlink(path)
    os.mkfifo(path)
    steps = [["status"], ["doctor"], ["batch"], ["claim", "plan", "--agent", "bob"], ["loader"]]
    done = finish(bounded_driver(w, w.root, w.project, steps), 20)
    assert done is not None, f"a reader hung on a FIFO {record} (killed after 20 s)"
    out, err = done
    assert "Traceback" not in err, err[-1500:]
    for step, rc, step_err in json.loads(out):
        assert rc in (0, 1, 2) and "Traceback" not in step_err, (step, rc, step_err)
        assert ESC not in step_err
    assert stat.S_ISFIFO(os.lstat(path).st_mode), "the FIFO was replaced"


def test_audit_log_that_is_a_fifo_never_hangs(world: World, tmp_path: Path) -> None:
    """Each step in its own store (two processes on one FIFO would unblock each other)."""
    w = world
    procs = {}
    for step in (["claim", "plan", "--agent", "bob"], ["log"], ["status"], ["loader"]):
        label = " ".join(step)
        base = tmp_path / label.replace(" ", "-")
        project = base / "project"
        project.mkdir(parents=True)
        store = Store(str(base / "store"))
        sprint = store.start(str(project), agent="tester")
        token = sprint.claim("think", agent="tester", holder_pid=os.getpid()).token
        sprint.complete("think", agent="tester", token=token)
        os.unlink(store.audit_path)
        os.mkfifo(store.audit_path)
        procs[label] = bounded_driver(w, store.root, str(project), [step])
    deadline = time.monotonic() + 10  # one shared bound: the steps run side by side
    hung = [
        label
        for label, proc in procs.items()
        if finish(proc, max(0.1, deadline - time.monotonic())) is None
    ]
    assert not hung, f"hung on a FIFO audit.log (killed after 10 s): {hung}"


# ---------------------------------------------------------------------- NaN's cousin: 1e999


@pytest.mark.parametrize("text", ['{"x": 1e999}', '{"x": -1e999}', "[1e400]", '{"ttl_s": 2e308}'])
def test_out_of_range_numbers_are_refused_like_infinity(text: str) -> None:
    """1e999 is JSON's spelling of a number Python turns into inf: as non-strict as Infinity."""
    with pytest.raises(MalformedJSON):
        loads_strict(text.encode())


def test_start_after_a_sprint_json_holding_1e999_is_clean(world: World) -> None:
    w = world
    sj = os.path.join(w.sprint.path, "sprint.json")
    raw = Path(sj).read_text().rstrip()
    put(sj, raw[:-1] + ', "x-note": 1e999}\n')
    before = fingerprint(w.root)
    r = w.cli("start", "--agent", "tester")  # archives the old sprint: it rewrites its sprint.json
    assert r.rc in (0, 2), r
    assert_clean(r, "start")
    if r.rc == 2:
        assert_unchanged(before, fingerprint(w.root), "a refused start")


def test_heartbeat_of_an_owner_record_holding_1e999_is_clean(world: World) -> None:
    w = world
    token = fenced_claim(w)
    owner = w.path("plan", "lock", token, "owner.json")
    text = Path(owner).read_text()
    assert '"ttl_s": 3600.0' in text
    put(owner, text.replace('"ttl_s": 3600.0', '"ttl_s": 1e999'))
    r = w.cli("heartbeat", "plan", "--agent", HOLDER)
    assert r.rc in (0, 1, 2), r
    assert_clean(r, "heartbeat")


# ---------------------------------------------------------------------- what the operations own


def test_complete_beside_a_malformed_done_does_not_report_success(world: World) -> None:
    """A corrupt done beside a live claim: complete cannot publish its record (link(2) never
    replaces), so it must refuse, not say OK and drop the record while consuming the claim."""
    w = world
    fenced_claim(w)
    done = w.path("plan", "done")
    put(done, b'{"agent": "x", "completed_at": "2026-11-')
    art = make_artifact(w.project)
    before = fingerprint(w.root)
    r = w.cli("complete", "plan", "--agent", HOLDER, "--artifact", art)
    assert Path(done).read_bytes() == b'{"agent": "x", "completed_at": "2026-11-'
    assert r.rc in (1, 2), (
        f"complete said {r.out.strip()!r} (exit {r.rc}) but plan's done is still the corrupt one"
    )
    assert_failed(r, "complete")
    assert_unchanged(before, fingerprint(w.root), "a refused complete")


@pytest.mark.parametrize("verb", ["reclaim", "abort"])
def test_forced_end_of_a_claim_whose_owner_record_is_corrupt(world: World, verb: str) -> None:
    """doctor says "`reclaim --force` clears it": a forced end that reports OK must clear it."""
    w = world
    token = fenced_claim(w)
    owner = w.path("plan", "lock", token, "owner.json")
    put(owner, b'{"agent": "codex-7b2')
    os.unlink(w.path("plan", "lock", "meta.json"))
    assert w.sprint.view().phase("plan").status == "malformed"  # type: ignore[union-attr]
    r = w.cli(verb, "plan", "--agent", "ops", "--force")
    assert_clean(r, verb)
    if r.rc == 0:
        pv = w.sprint.view().phase("plan")
        assert pv is not None and pv.status == "ready", (
            f"`{verb} --force` said {r.out.strip()!r} but plan is still {pv and pv.status}"
        )
        kept = [
            os.path.join(top, f)
            for top, _, files in os.walk(w.path("plan", "history"))
            for f in files
            if Path(top, f).read_bytes() == b'{"agent": "codex-7b2'
        ]
        assert kept, "the corrupt owner record was not kept as evidence"
    else:
        assert_failed(r, verb)


@pytest.mark.parametrize("cut", [1, 9, 40], ids=lambda c: f"cut-{c}")
def test_an_event_appended_after_a_torn_audit_line_is_not_lost(world: World, cut: int) -> None:
    """A torn last line (a crashed writer, a full disk) must not swallow the next event, nor turn
    the last complete event (cut=1 removes only its newline) into garbage."""
    w = world
    log = os.path.join(w.root, "audit.log")
    data = Path(log).read_bytes()
    torn = data[:-cut]
    put(log, torn)
    r = w.cli("claim", "plan", "--agent", "bob")
    assert r.rc == 0, r
    after = Path(log).read_bytes()
    assert after.startswith(torn), "the existing log was rewritten"
    events = list(audit.read(log))
    claims = [
        e
        for e in events
        if isinstance(e, AuditEvent)
        and e.event == "sprint_claim"
        and e.resource == "plan"
        and e.agent == "bob"
    ]
    assert claims, f"the claim's audit event is unreadable: {events[-1]!r}"
    if cut == 1:
        last = json.loads(data.splitlines()[-1])
        assert any(
            isinstance(e, AuditEvent) and e.at == last["at"] and e.event == last["event"]
            for e in events
        ), "the last complete event became unreadable"


# ---------------------------------------------------------------------- hostile names


HOSTILE: dict[str, str] = {
    "slash": "a/b",
    "dotdot": "..",
    "dotdot-path": "../../../etc/passwd",
    "absolute": "/etc",
    "nul": "th\x00ink",
    "newline": "th\nink",
    "trailing-newline": "think\n",
    "ansi-clear": "\x1b[2J",
    "ansi-title": "\x1b]0;pwned\x07",
    "c1-csi": "\x9b2J",
    "rich-markup": "[bold red]x[/]",
    "10kb": "a" * 10_240,
    "cyrillic-lookalike": "th\u0456nk",
    "fullwidth": "\uff54\uff48\uff49\uff4e\uff4b",
    "zero-width": "think\u200b",
    "bidi-override": "\u202ekniht",
    "empty": "",
    "dot": ".",
    "uppercase": "THINK",
    "space": "th ink",
}
NAMES = list(HOSTILE)


def assert_refused_and_untouched(w: World, args: list[str], what: str) -> None:
    before = fingerprint(w.tmp)
    r = w.cli(*args)
    assert_failed(r, what, (2,))
    assert_unchanged(before, fingerprint(w.tmp), what)


@pytest.mark.parametrize("key", NAMES)
def test_hostile_phase_name_as_an_argument(world: World, key: str) -> None:
    w = world
    fenced_claim(w)
    name = HOSTILE[key]
    failures: list[str] = []
    for args in (
        ["claim", name, "--agent", "bob"],
        ["complete", name, "--agent", HOLDER, "--allow-no-checkpoint"],
        ["abort", name, "--agent", HOLDER],
        ["reclaim", name, "--agent", "bob", "--force"],
        ["heartbeat", name, "--agent", HOLDER],
        ["why", name],
        ["artifact", "new", name],
        ["run", name, "--agent", "bob", "--", sys.executable, "-c", "pass"],
    ):
        collect(
            failures,
            args[0],
            lambda args=args: assert_refused_and_untouched(w, args, f"{args[0]} {key}"),
        )
    report(failures, 8)


@pytest.mark.parametrize("key", NAMES)
def test_hostile_phase_name_in_a_phase_graph(world: World, key: str) -> None:
    w = world
    name = HOSTILE[key]
    graphs = {
        "name": [{"name": name, "depends_on": []}],
        "depends_on": [{"name": "a"}, {"name": "b", "depends_on": [name]}],
    }
    failures: list[str] = []
    for where, graph in graphs.items():
        spec = json.dumps(graph)
        collect(
            failures,
            f"--phases {where}",
            lambda spec=spec: assert_refused_and_untouched(
                w, ["start", "--agent", "tester", "--force", "--phases", spec], f"start {key}"
            ),
        )
        cfg = os.path.join(w.root, "config.json")
        write_json(cfg, {"phase_graph": graph})
        collect(
            failures,
            f"config {where}",
            lambda: assert_refused_and_untouched(
                w, ["start", "--agent", "tester", "--force"], f"start (config) {key}"
            ),
        )
        os.unlink(cfg)
    report(failures, 4)


@pytest.mark.parametrize("key", NAMES)
def test_hostile_phase_name_written_into_sprint_json(world: World, key: str) -> None:
    w = world
    sj = os.path.join(w.sprint.path, "sprint.json")
    raw = json.loads(Path(sj).read_bytes())
    failures: list[str] = []
    for where in ("name", "depends_on"):
        bad = json.loads(json.dumps(raw))
        if where == "name":
            bad["phases"][-1]["name"] = HOSTILE[key]
        else:
            bad["phases"][-1]["depends_on"] = [HOSTILE[key]]
        write_json(sj, bad)

        def check(where: str = where) -> None:
            expect_sprint_json_refused(w, f"{where} {key}")
            snap = w.load()
            assert snap.error and ESC not in snap.error and CSI not in snap.error, snap.error

        collect(failures, where, check)
    report(failures, 2)


AGENT_NAMES = [k for k in NAMES if k != "uppercase"]  # THINK is a valid agent name


@pytest.mark.parametrize("key", AGENT_NAMES)
def test_hostile_agent_name(world: World, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    w = world
    fenced_claim(w)
    name = HOSTILE[key]
    failures: list[str] = []
    commands = (
        ["claim", "build"],
        ["complete", "plan", "--force", "--allow-no-checkpoint"],
        ["abort", "plan", "--force"],
        ["start", "--force"],
        ["artifact", "new", "build"],
    )
    for args in commands:
        collect(
            failures,
            f"--agent {args[0]}",
            lambda args=args: assert_refused_and_untouched(
                w, [*args, "--agent", name], f"{args[0]} --agent {key}"
            ),
        )
    if "\x00" not in name and name:
        monkeypatch.setenv("NANOSTACK_AGENT", name)
        for args in commands:
            collect(
                failures,
                f"env {args[0]}",
                lambda args=args: assert_refused_and_untouched(
                    w, list(args), f"{args[0]} NANOSTACK_AGENT={key}"
                ),
            )
    report(failures, 2 * len(commands))


TOKEN_NAMES = [*NAMES, "token-newline", "token-dotdot", "token-upper"]


@pytest.mark.parametrize("key", TOKEN_NAMES)
def test_hostile_token(world: World, key: str) -> None:
    w = world
    token = fenced_claim(w)
    name = {
        "token-newline": token + "\n",
        "token-dotdot": "../" + token,
        "token-upper": token.upper(),
    }.get(key) or HOSTILE.get(key, "")
    failures: list[str] = []
    for verb in ("complete", "abort", "heartbeat"):
        args = [verb, "plan", "--agent", HOLDER, "--token", name]
        if verb == "complete":
            args.append("--allow-no-checkpoint")
        collect(
            failures,
            verb,
            lambda args=args: assert_refused_and_untouched(w, args, f"{args[0]} --token {key}"),
        )
    assert w.sprint.view().phase("plan").lock.token == token  # type: ignore[union-attr]
    report(failures, 3)


SPRINT_NAMES = [*NAMES, "sprint-newline"]


@pytest.mark.parametrize("key", SPRINT_NAMES)
def test_hostile_sprint_id(world: World, key: str) -> None:
    w = world
    name = w.sprint.sprint_id + "\n" if key == "sprint-newline" else HOSTILE[key]
    failures: list[str] = []
    for args in (
        ["status"],
        ["claim", "plan", "--agent", "bob"],
        ["doctor", "--fix"],
        ["why", "plan"],
        ["log"],
    ):
        collect(
            failures,
            args[0],
            lambda args=args: assert_refused_and_untouched(
                w, [*args, "--sprint", name], f"{args[0]} --sprint {key}"
            ),
        )

    def loader() -> None:
        snap = w.load(sprint_id=name)
        if name:  # an empty id means "the active sprint" to the Loader
            assert snap.view is None and snap.fatal, f"Loader opened sprint {name!r}"
            assert snap.error and ESC not in snap.error

    collect(failures, "loader", loader)
    report(failures, 6)


# ---------------------------------------------------------------------- hostile text on display

EVIL = "\x1b[2J\x1b]0;pwned\x07[bold red]EVIL[/]\x9b31m\u202e"


def write_hostile_records(w: World) -> None:
    """Hostile strings written by hand into every record a person may see."""
    sj = os.path.join(w.sprint.path, "sprint.json")
    raw = json.loads(Path(sj).read_bytes())
    raw.update(sprint_id=EVIL, status=EVIL, started_by=EVIL, started_at=EVIL, note=EVIL)
    write_json(sj, raw)
    done = w.path("think", "done")
    rec = json.loads(Path(done).read_bytes())
    rec.update(agent=EVIL, completed_at=EVIL, artifact=os.path.join(w.project, EVIL))
    write_json(done, rec)
    token = fenced_claim(w)  # plan: our claim, with a hostile owner and mirror
    for path in (w.path("plan", "lock", token, "owner.json"), w.path("plan", "lock", "meta.json")):
        rec = json.loads(Path(path).read_bytes())
        rec.update(agent=EVIL, host=EVIL, claimed_at=EVIL)
        write_json(path, rec)
    staging = w.path("review", "lock.d")  # review: an upstream lock
    os.mkdir(staging)
    write_json(os.path.join(staging, "meta.json"), {"agent": EVIL, "claimed_at": EVIL, "pid": 1})
    os.rename(staging, w.path("review", "lock"))
    with open(os.path.join(w.root, "audit.log"), "a", encoding="utf-8") as fh:
        for sprint in (None, EVIL, w.sprint.sprint_id):
            event = {"at": EVIL, "event": EVIL, "resource": EVIL, "detail": EVIL, "agent": EVIL}
            if sprint is not None:
                event["sprint"] = sprint
            fh.write(json.dumps(event) + "\n")
        fh.write(EVIL + "\n")  # a line that is not JSON at all
    skills = os.path.join(w.tmp, "skills" + EVIL)
    os.makedirs(os.path.join(skills, "security"))
    put(os.path.join(skills, "security", "SKILL.md"), f"---\nconcurrency: {EVIL}\n---\n")
    write_json(os.path.join(w.root, "config.json"), {"skill_roots": [skills]})


def test_hostile_text_in_records_is_printed_escaped_by_the_cli(world: World) -> None:
    w = world
    write_hostile_records(w)
    before = fingerprint(w.root)
    failures: list[str] = []
    for args in (
        ["status"],
        ["status", "--json"],
        ["next"],
        ["why", "think"],
        ["why", "plan"],
        ["why", "review"],
        ["why", "build"],
        ["log"],
        ["log", "--all"],
        ["log", "--all", "--json"],
        ["doctor"],
        ["batch"],
        ["context"],
        ["verify"],
        ["resume", "--agent", "bob"],
        ["claim", "plan", "--agent", "bob"],
        ["claim", "review", "--agent", "bob"],
    ):

        def check(args: list[str] = args) -> None:
            r = w.cli(*args)
            assert r.rc in (0, 1, 2), r
            assert_clean(r, " ".join(args), json_out="--json" in args)

        collect(failures, " ".join(args), check)
    report(failures, 17)
    assert_unchanged(before, fingerprint(w.root), "reading")


def test_hostile_sprint_directory_name_is_printed_escaped(world: World) -> None:
    w = world
    evil_dir = os.path.join(w.root, "conductor", project_hash(w.project) + "-\x1b[2J\x9b1m")
    os.rename(w.sprint.path, evil_dir)
    failures: list[str] = []
    for args in (["status"], ["doctor"], ["context"], ["log"], ["why", "plan"], ["next"]):

        def check(args: list[str] = args) -> None:
            r = w.cli(*args)
            assert r.rc in (0, 1, 2), r
            assert_clean(r, " ".join(args))

        collect(failures, " ".join(args), check)
    report(failures, 6)


async def _settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def _loaded(pilot: Any) -> None:
    app = pilot.app
    for _ in range(200):
        await _settle(pilot)
        if getattr(app, "reloads", 0) >= 1 and not getattr(app, "_loading", False):
            return
        await pilot.pause(0.01)
    raise AssertionError("the app never applied a snapshot")


def _screen_text(app: Any) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def run_app(w: World, size: tuple[int, int], keys: tuple[str, ...]) -> list[tuple[str, str]]:
    """The screen's plain text after loading and after each key (no watcher, no tick)."""
    from conductor_tui.tui.app import ConductorApp

    async def go() -> list[tuple[str, str]]:
        app = ConductorApp(
            Loader(Store(w.root), w.project), agent="human-dev", watch=False, tick_s=None
        )
        app.animation_level = "none"
        shots: list[tuple[str, str]] = []
        async with app.run_test(size=size) as pilot:
            await _loaded(pilot)
            shots.append(("loaded", _screen_text(app)))
            for key in keys:
                await pilot.press(key)
                await _settle(pilot)
                shots.append((key, _screen_text(app)))
        return shots

    return asyncio.run(go())


def test_hostile_text_in_records_is_shown_escaped_by_the_app(world: World) -> None:
    w = world
    write_hostile_records(w)
    before = fingerprint(w.root)
    shots = run_app(w, (200, 60), ("2", "3", "4", "1", "enter", "escape", "j", "enter"))
    bad_lines: dict[str, list[str]] = {}
    for key, text in shots:
        for line in text.splitlines():
            if ESC in line or CSI in line or "\x07" in line:
                bad_lines.setdefault(line.strip()[:140], []).append(key)
    assert not bad_lines, "raw control characters on screen (line: after keys):\n" + "\n".join(
        f"{line!r}: {keys}" for line, keys in bad_lines.items()
    )
    assert any("[bold red]EVIL[/]" in text for _, text in shots), "Rich markup was interpreted"
    assert_unchanged(before, fingerprint(w.root), "watching")


def test_terminal_too_small_is_told_not_crashed(world: World) -> None:
    shots = run_app(world, (30, 8), ("2", "j", "enter"))
    assert "too small" in shots[0][1].lower(), shots[0][1]


# ---------------------------------------------------------------------- artifacts


def assert_artifact_refused(
    w: World, artifact: str, what: str, why: str, *, subprocess_run: bool = False
) -> None:
    """complete with this artifact: exit 2 for the reason `why` (a regex), and the claim, the
    project and the store untouched."""
    if w.sprint.view().phase("plan").lock is None:  # type: ignore[union-attr]
        fenced_claim(w)
    before = fingerprint(w.tmp)
    args = ["complete", "plan", "--agent", HOLDER, "--artifact", artifact]
    if subprocess_run:
        p = _bounded(w, [CONDUCTOR, "--store", w.root, "--project", w.project, *args], what)
        r = Reply(p.returncode, p.stdout, p.stderr)
    else:
        r = w.cli(*args)
    assert_failed(r, what, (2,))
    message = re.sub(r"'[^']*'", "''", r.err)  # quoted paths: the tests' folders say "symlink"
    assert re.search(why, message, re.I), f"{what}: refused for another reason: {r.err!r}"
    assert_unchanged(before, fingerprint(w.tmp), what)
    pv = w.sprint.view().phase("plan")
    assert pv is not None and pv.status == "held" and pv.done is None, f"{what}: {pv and pv.status}"


def test_artifact_symlink_inside_the_project(world: World) -> None:
    w = world
    real = make_artifact(w.project, "real.json")
    os.symlink(real, os.path.join(w.project, "link.json"))
    assert_artifact_refused(w, os.path.join(w.project, "link.json"), "symlink inside", "symlink")
    r = w.cli("complete", "plan", "--agent", HOLDER, "--artifact", real)  # the control
    assert r.rc == 0, r
    assert (
        w.sprint.view().phase("plan").done.sha256
        == hashlib.sha256(  # type: ignore[union-attr]
            Path(real).read_bytes()
        ).hexdigest()
    )


def test_artifact_symlink_to_etc_passwd(world: World) -> None:
    w = world
    os.symlink("/etc/passwd", os.path.join(w.project, "passwd.json"))
    assert_artifact_refused(
        w, os.path.join(w.project, "passwd.json"), "symlink to /etc/passwd", "symlink"
    )


def test_artifact_that_is_a_fifo(world: World) -> None:
    w = world
    fifo = os.path.join(w.project, "plan.json")
    os.mkfifo(fifo)
    assert_artifact_refused(w, fifo, "FIFO artifact", "regular file", subprocess_run=True)


def test_artifact_that_is_a_directory(world: World) -> None:
    w = world
    folder = os.path.join(w.project, "plan.json")
    os.mkdir(folder)
    assert_artifact_refused(w, folder, "directory artifact", "regular file")


def test_artifact_that_is_a_device(world: World) -> None:
    w = world
    assert_artifact_refused(w, "/dev/zero", "/dev/zero", "regular file", subprocess_run=True)
    dev = os.path.join(w.project, "zero.json")
    try:
        os.mknod(dev, 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    except OSError as exc:
        pytest.skip(f"cannot make a device node here ({exc.strerror})")
    assert_artifact_refused(
        w, dev, "a device inside the project", "regular file", subprocess_run=True
    )


def test_artifact_outside_the_project_and_the_store(world: World) -> None:
    w = world
    outside = w.tmp / "elsewhere"
    outside.mkdir()
    art = make_artifact(str(outside))
    assert_artifact_refused(w, art, "outside", "outside")
    dotdot = os.path.join(w.project, "..", "elsewhere", "plan.json")
    assert_artifact_refused(w, dotdot, "dotdot", "outside")
    os.symlink(str(outside), os.path.join(w.project, "via"))
    via = os.path.join(w.project, "via", "plan.json")
    assert_artifact_refused(w, via, "symlinked folder", "outside|symlink")
    assert_artifact_refused(w, "/etc/passwd", "/etc/passwd", "outside")


def test_artifact_too_large(world: World) -> None:
    w = world
    path = os.path.join(w.project, "plan.json")
    with open(path, "w") as fh:
        fh.write('{"context_checkpoint": ' + json.dumps(CHECKPOINT) + ', "pad": "')
        fh.write("x" * (20 << 20))
        fh.write('"}')
    assert_artifact_refused(w, path, "20 MB artifact", "too large")


@pytest.mark.parametrize(
    "content",
    [
        '{"context_checkpoint": CP, "phase": "plan", "phase": "build"}',
        '{"context_checkpoint": CP, "score": NaN}',
        '{"context_checkpoint": CP, "score": Infinity}',
        '{"context_checkpoint": CP, "deep": ' + "[" * DEEP + "]" * DEEP + "}",
        '{"context_checkpoint": CP',
        "\x00\x01binary",
    ],
    ids=["duplicate", "nan", "infinity", "deep", "truncated", "binary"],
)
def test_artifact_that_is_not_strict_json(world: World, content: str) -> None:
    w = world
    path = os.path.join(w.project, "plan.json")
    put(path, content.replace("CP", json.dumps(CHECKPOINT)))
    assert_artifact_refused(w, path, "artifact", "not valid JSON")


# -- a path swapped for a symlink while complete runs (a real racing process, no mocks)

SWAPPER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
print("ready", flush=True)
while True:
    if libc.renameat2(-100, a, -100, b, 2) != 0:  # RENAME_EXCHANGE: both names always exist
        sys.exit(ctypes.get_errno())
"""


def _exchange_or_skip(a: str, b: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        pytest.skip("no renameat2 in this libc")
    for _ in range(2):
        if libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) != 0:
            pytest.skip(f"RENAME_EXCHANGE unsupported here (errno {ctypes.get_errno()})")


def race_complete(
    target: str, swap_a: str, swap_b: str, artifact: str, good: bytes, sprint: Sprint, phases: int
) -> None:
    """Complete phases p0.. with `artifact` while a process swaps swap_a and swap_b; every done
    recorded must hold the SHA-256 of `good`, never of what the symlink points at."""
    _exchange_or_skip(swap_a, swap_b)
    expected_path = os.path.join(os.path.realpath(os.path.dirname(artifact)), "plan.json")
    good_sha = hashlib.sha256(good).hexdigest()
    bad_sha = hashlib.sha256(Path(target).read_bytes()).hexdigest()
    swapper = subprocess.Popen(
        [sys.executable, "-c", SWAPPER, swap_a, swap_b], stdout=subprocess.PIPE, text=True
    )
    escaped: list[str] = []
    completed = refused = 0
    try:
        assert swapper.stdout is not None and swapper.stdout.readline().strip() == "ready"
        for i in range(phases):
            phase = f"p{i}"
            token = sprint.claim(phase, agent="racer", holder_pid=os.getpid()).token
            try:
                sprint.complete(phase, agent="racer", token=token, artifact=artifact)
                completed += 1
            except ConductorError:
                refused += 1
            except Exception as exc:
                escaped.append(f"{type(exc).__name__}: {exc}")
        assert swapper.poll() is None, f"the swapper stopped (exit {swapper.returncode})"
    finally:
        swapper.kill()
        swapper.wait()
    leaks = []
    for i in range(phases):
        done = os.path.join(sprint.path, f"p{i}", "done")
        if not os.path.exists(done):
            continue
        rec = json.loads(Path(done).read_bytes())
        if rec.get("sha256") != good_sha or rec.get("artifact") != expected_path:
            leaks.append((f"p{i}", rec.get("sha256") == bad_sha, rec.get("artifact")))
    assert not leaks, (
        f"{len(leaks)} of {completed} completions recorded something other than the regular "
        f"file (phase, is the symlink target's sha256, artifact): {leaks[:5]}"
    )
    assert not escaped, f"{len(escaped)} completions raised a non-ConductorError: {escaped[:3]}"
    if completed == 0:
        pytest.skip(f"the race refused all {refused} completions: nothing recorded to check")


def _race_world(tmp_path: Path, phases: int) -> tuple[str, Sprint]:
    project = tmp_path / "project"
    project.mkdir()
    store = Store(str(tmp_path / "store"))
    sprint = store.start(
        str(project),
        agent="tester",
        phases=[{"name": f"p{i}", "depends_on": []} for i in range(phases)],
    )
    return str(project), sprint


RACE_PHASES = 150


@pytest.mark.parametrize("target", ["etc-passwd", "outside-json"])
def test_artifact_swapped_for_a_symlink_while_complete_runs(tmp_path: Path, target: str) -> None:
    project, sprint = _race_world(tmp_path, RACE_PHASES)
    good = json.dumps({"context_checkpoint": CHECKPOINT, "where": "inside"}).encode()
    art = os.path.join(project, "plan.json")
    put(art, good)
    if target == "etc-passwd":
        dest = "/etc/passwd"
    else:
        (tmp_path / "outside").mkdir()
        dest = str(tmp_path / "outside" / "secret.json")
        put(dest, json.dumps({"context_checkpoint": CHECKPOINT, "where": "OUTSIDE"}))
    link = os.path.join(project, "swap.json")
    os.symlink(dest, link)
    race_complete(dest, art, link, art, good, sprint, RACE_PHASES)


def test_artifact_folder_swapped_for_a_symlink_while_complete_runs(tmp_path: Path) -> None:
    """The same race one level up: the artifact's folder swapped for a symlink to a folder
    outside the project. O_NOFOLLOW guards only the last component."""
    project, sprint = _race_world(tmp_path, RACE_PHASES)
    good = json.dumps({"context_checkpoint": CHECKPOINT, "where": "inside"}).encode()
    folder = os.path.join(project, "out")
    os.mkdir(folder)
    put(os.path.join(folder, "plan.json"), good)
    outside = tmp_path / "outside" / "out"
    outside.mkdir(parents=True)
    secret = outside / "plan.json"
    put(secret, json.dumps({"context_checkpoint": CHECKPOINT, "where": "OUTSIDE"}))
    link = os.path.join(project, "swap")
    os.symlink(str(outside), link)
    race_complete(
        str(secret), folder, link, os.path.join(folder, "plan.json"), good, sprint, RACE_PHASES
    )


# ---------------------------------------------------------------------- stores


STORE_COMMANDS = [
    ["status"],
    ["claim", "think", "--agent", "bob"],
    ["complete", "think", "--agent", "bob", "--allow-no-checkpoint"],
    ["abort", "think", "--agent", "bob"],
    ["reclaim", "think", "--agent", "bob"],
    ["heartbeat", "think", "--agent", "bob"],
    ["doctor"],
    ["doctor", "--fix"],
    ["why", "think"],
    ["next"],
    ["batch"],
    ["log"],
    ["status", "--sprint", "0123456789ab-20261121-094744"],
]


@pytest.mark.parametrize("kind", ["missing", "file", "conductor-is-a-file"])
def test_missing_or_odd_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    root = tmp_path / "store"
    if kind == "file":
        put(root, "not a store\n")
    elif kind == "conductor-is-a-file":
        root.mkdir()
        (root / "conductor").write_text("not a folder\n")
    argv0 = ["--store", str(root), "--project", str(project)]
    failures: list[str] = []
    commands = (
        [*STORE_COMMANDS, ["start", "--agent", "tester"]] if kind != "missing" else STORE_COMMANDS
    )
    for args in commands:

        def check(args: list[str] = args) -> None:
            before = fingerprint(tmp_path)
            r = run_main(capsys, [*argv0, *args])
            assert_failed(r, f"{kind}: {' '.join(args)}", (2,))
            assert_unchanged(before, fingerprint(tmp_path), f"{kind}: {' '.join(args)}")

        collect(failures, " ".join(args), check)

    def loader() -> None:
        before = fingerprint(tmp_path)
        snap = Loader(Store(str(root)), str(project)).load()
        assert snap.view is None and snap.error
        assert_unchanged(before, fingerprint(tmp_path), "Loader")

    collect(failures, "loader", loader)

    def tui_main() -> None:
        from conductor_tui.tui.main import main as tui

        before = fingerprint(tmp_path)
        capsys.readouterr()
        rc = tui(["--store", str(root), "--project", str(project)])
        _, err = capsys.readouterr()
        assert rc == 2 and err.startswith("ERROR: ") and "Traceback" not in err, (rc, err)
        assert_unchanged(before, fingerprint(tmp_path), "conductor-tui")

    collect(failures, "conductor-tui", tui_main)
    report(failures, len(commands) + 2)


def test_unreadable_sprint_directory(world: World) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not deny root, so there is nothing to test")
    w = world
    os.chmod(w.sprint.path, 0)
    try:
        r = w.cli("status")
        assert r.rc in (0, 2), r
        assert_clean(r, "status")
        assert w.load() is not None
    finally:
        os.chmod(w.sprint.path, 0o755)
