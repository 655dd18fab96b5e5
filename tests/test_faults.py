"""Failure injection at every write of `conductor start`, `claim` and `complete`.

Each command is first run fault-free with CONDUCTOR_FAULT_LOG set, on a fresh store, to learn
its N writes (`<n> <op> <path>`). Then for every n in 1..N and ENOSPC, EROFS and EACCES (see PLAN
for which errno at which n), a fresh store is set up the same way and the real `conductor` command
runs in a subprocess with CONDUCTOR_FAULT=<n>:<ERRNO>. Whatever it answers must keep the contract:

- it failed and did not say "committed": after `conductor doctor --fix` (leftovers aged past
  doctor's grace with os.utime, never by sleeping) the store is exactly as it was (names, types
  and contents of every entry; audit.log only grew), the output has no traceback and names the
  problem (the disk is full, read-only, permission denied);
- it failed and said "committed" (only complete, after its commit rename): status shows the phase
  done; after doctor --fix it has a published done record of the claim's token, and doctor then
  finds nothing;
- it succeeded: the effect is there, the fault (which fired after the commit) was reported as a
  `warning:` line, and after doctor --fix doctor finds nothing.

The cases of one command and errno are independent stores in tmp: they run a few at a time in
threads (each is a short sequence of subprocesses), and every broken case is reported at once.
A last test fills a real (tmpfs) disk when running as root.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core.liveness import proc_info
from conductor_tui.core.store import Store
from tests.conftest import IDENTITY_VARS

AGENT = "agent-a"
ERRNOS = ("ENOSPC", "EROFS", "EACCES")
# What describe_os_error (core/store.py) says for each errno: the message must name the problem.
NAMED = {"ENOSPC": "disk is full", "EROFS": "read-only", "EACCES": "permission denied"}
AGE_S = 120.0  # past doctor's 60 s grace on mtimes
NO_ARTIFACT = "warning: completed without an artifact"
CHECKPOINT = {
    "summary": "Explored the failure modes of the store; every write is covered.",
    "key_files": ["conductor_tui/core/store.py"],
    "decisions_made": ["inject a fault at each write"],
    "open_questions": [],
}
WORKERS = max(2, min(4, len(os.sched_getaffinity(0))))

_BIN = Path(sys.executable).with_name("conductor")
CONDUCTOR = [str(_BIN)] if _BIN.exists() else [sys.executable, "-m", "conductor_tui.cli"]


# ---------------------------------------------------------------------------- harness


@dataclass
class Run:
    """One `conductor` command: exit code and output."""

    args: tuple[str, ...]
    rc: int
    out: str
    err: str

    def __str__(self) -> str:
        return (
            f"$ conductor {' '.join(self.args)} -> rc {self.rc}\n"
            f"  stdout: {self.out.strip()[:1500]!r}\n  stderr: {self.err.strip()[:1500]!r}"
        )


@dataclass
class World:
    """One fresh store and project in its own directory."""

    root: Path
    token: str = ""  # the setup claim's token (complete)
    artifact: str = ""  # the artifact to complete with (complete)
    old_sprint: str = ""  # the sprint a start archives (start)

    @property
    def store(self) -> str:
        return str(self.root / "store")

    @property
    def project(self) -> str:
        return str(self.root / "project")

    def conductor(self, *args: str, **extra: str) -> Run:
        """The real command, in a subprocess, as agent-a in the project."""
        env = {k: v for k, v in os.environ.items() if k not in IDENTITY_VARS}
        for var in ("CONDUCTOR_FAULT", "CONDUCTOR_FAULT_LOG", "CONDUCTOR_CRASH_AT"):
            env.pop(var, None)
        env.update(NANOSTACK_STORE=self.store, NANOSTACK_AGENT=AGENT, PWD=self.project)
        env.update(extra)
        proc = subprocess.run(
            [*CONDUCTOR, *args],
            cwd=self.project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return Run(args, proc.returncode, proc.stdout, proc.stderr)

    def status(self) -> dict[str, Any]:
        run = self.conductor("status", "--json")
        assert run.rc == 0, f"status --json failed:\n{run}"
        out = json.loads(run.out)
        assert isinstance(out, dict)
        return out

    def sprint_dir(self, sprint_id: str) -> Path:
        return Path(self.store, "conductor", sprint_id)


@dataclass
class Scenario:
    """A command and the fresh store it runs on."""

    name: str
    setup: Callable[[World], None]
    args: Callable[[World], tuple[str, ...]]
    check_effect: Callable[[World, Run], list[str]]


def _holder() -> tuple[int, int | None]:
    """The holder a `conductor claim` run by this test process would record: this process."""
    info = proc_info(os.getpid())
    return os.getpid(), info.start if info else None


def setup_start(w: World) -> None:
    """An active sprint with no locks, started an hour ago (so that the new sprint's id, from
    the current second, never collides with it and the writes are the same on every run)."""
    os.makedirs(w.project)
    sprint = Store(w.store, clock=lambda: time.time() - 3600).start(w.project, agent=AGENT)
    w.old_sprint = sprint.sprint_id


def setup_claim(w: World) -> None:
    """A fresh sprint: think is ready."""
    os.makedirs(w.project)
    Store(w.store).start(w.project, agent=AGENT)


def setup_complete(w: World) -> None:
    """A fresh sprint with think held by agent-a, and an artifact with a checkpoint."""
    setup_claim(w)
    sprint = Store(w.store).find_active(w.project)
    assert sprint is not None
    pid, start = _holder()
    w.token = sprint.claim("think", agent=AGENT, holder_pid=pid, holder_start=start).token
    art = Path(w.project, "think.json")
    art.write_text(json.dumps({"phase": "think", "context_checkpoint": CHECKPOINT}, indent=2))
    w.artifact = str(art)


def setup_complete_no_artifact(w: World) -> None:
    """As setup_complete; the command passes no artifact."""
    setup_complete(w)
    w.artifact = ""


def effect_start(w: World, run: Run) -> list[str]:
    problems = []
    new = Store(w.store).find_active(w.project)
    if new is None or new.sprint_id == w.old_sprint:
        problems.append(f"no new active sprint (found {new.sprint_id if new else None})")
    old = json.loads((w.sprint_dir(w.old_sprint) / "sprint.json").read_text())
    if old.get("status") != "archived":
        problems.append(f"the previous sprint is {old.get('status')!r}, not archived")
    return problems


def effect_claim(w: World, run: Run) -> list[str]:
    think = w.status()["phases"]["think"]
    if think["status"] != "held" or think["agent"] != AGENT:
        return [f"think is {think['status']!r} by {think['agent']!r}, not held by {AGENT}"]
    return []


def effect_complete(w: World, run: Run) -> list[str]:
    sprint = Store(w.store).find_active(w.project)
    pv = sprint.phase_view("think") if sprint else None
    if pv is None or pv.status != "done":
        return [f"think is {pv.status if pv else None!r}, not done"]
    return done_problems(w)


def done_problems(w: World) -> list[str]:
    """The published done record of think is the setup claim's, with its artifact."""
    sprint = Store(w.store).find_active(w.project)
    if sprint is None:
        return ["no active sprint"]
    path = Path(sprint.path, "think", "done")
    if not path.is_file():
        return ["think has no published done file"]
    done = json.loads(path.read_text())
    problems = []
    if done.get("token") != w.token:
        problems.append(f"done's token is {done.get('token')!r}, not the claim's {w.token!r}")
    if w.artifact:
        digest = hashlib.sha256(Path(w.artifact).read_bytes()).hexdigest()
        if done.get("artifact") != w.artifact or done.get("sha256") != digest:
            problems.append(f"done does not record the artifact: {done}")
    return problems


SCENARIOS = {
    "start": Scenario("start", setup_start, lambda w: ("start",), effect_start),
    "claim": Scenario("claim", setup_claim, lambda w: ("claim", "think"), effect_claim),
    "complete": Scenario(
        "complete",
        setup_complete,
        lambda w: ("complete", "think", "--artifact", w.artifact),
        effect_complete,
    ),
    "complete-no-artifact": Scenario(
        "complete-no-artifact",
        setup_complete_no_artifact,
        lambda w: ("complete", "think"),
        effect_complete,
    ),
}


# ---------------------------------------------------------------------------- the disk


Entry = tuple[str, str]  # (type, content digest)


def tree(store: str) -> dict[str, Entry]:
    """Every entry of the store, recursively: name -> (type, sha256 of its content or target).
    Not mtimes; audit.log is left out (it may only grow: see audit_log)."""
    out: dict[str, Entry] = {}
    for dirpath, dirnames, filenames in os.walk(store):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, store)
            if rel == "audit.log":
                continue
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                out[rel] = ("file", hashlib.sha256(Path(path).read_bytes()).hexdigest())
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", "")
            else:
                out[rel] = (f"mode {stat.S_IFMT(st.st_mode):o}", "")
    return out


def tree_diff(before: dict[str, Entry], after: dict[str, Entry], store: str) -> list[str]:
    """What differs, for a report; a changed file is shown as it is now."""
    lines = [f"  left behind: {k} ({after[k][0]})" for k in sorted(after.keys() - before.keys())]
    lines += [f"  missing: {k} ({before[k][0]})" for k in sorted(before.keys() - after.keys())]
    for k in sorted(before.keys() & after.keys()):
        if before[k] != after[k]:
            now = Path(store, k).read_bytes()[:600] if after[k][0] == "file" else after[k][1]
            lines.append(f"  changed: {k} ({before[k][0]} -> {after[k][0]}), now: {now!r}")
    return lines


def audit_log(store: str) -> bytes:
    try:
        return Path(store, "audit.log").read_bytes()
    except FileNotFoundError:
        return b""


def age_store(store: str, seconds: float = AGE_S) -> None:
    """Move every entry of the store's mtime into the past: leftovers look abandoned to doctor."""
    t = time.time() - seconds
    for dirpath, dirnames, filenames in os.walk(store):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (t, t), follow_symlinks=False)
    os.utime(store, (t, t))


def read_log(path: Path) -> list[tuple[str, str]]:
    """The writes a CONDUCTOR_FAULT_LOG recorded, in order: (op, path)."""
    if not path.exists():
        return []
    writes = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        n, op, where = line.split(" ", 2)
        assert int(n) == i, f"{path}: line {i} is {line!r}"
        writes.append((op, where))
    return writes


def has_traceback(run: Run) -> bool:
    return "Traceback" in run.err or "Traceback" in run.out


# ---------------------------------------------------------------------------- one case


@dataclass
class Case:
    """The command of a scenario with a fault at its n-th write, and what came of it."""

    scenario: Scenario
    n: int
    name: str  # the errno's name
    learned: tuple[str, str]  # (op, path) of the n-th write, from the fault-free run
    hit: tuple[str, str] | None = None  # (op, path) of the n-th write of this run
    problems: list[str] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    outcome: str = "not run"

    def report(self) -> str:
        op, path = self.hit or self.learned
        lines = [f"{self.scenario.name} n={self.n} {op} {path} {self.name}: {self.outcome}"]
        lines += [f"  - {p}" for p in self.problems]
        lines += [str(r) for r in self.runs]
        return "\n".join(lines)


def run_case(case: Case, root: Path) -> Case:
    """Set up, run the command with the fault, and check the contract; never raises."""
    try:
        _run_case(case, root)
    except Exception as exc:
        case.problems.append(f"the check itself failed: {type(exc).__name__}: {exc}")
    return case


def _run_case(case: Case, root: Path) -> None:
    scenario, n, name = case.scenario, case.n, case.name
    problems = case.problems
    w = World(root)
    scenario.setup(w)
    before, audit_before = tree(w.store), audit_log(w.store)
    flog = root / "faults.log"
    run = w.conductor(
        *scenario.args(w), CONDUCTOR_FAULT=f"{n}:{name}", CONDUCTOR_FAULT_LOG=str(flog)
    )
    case.runs.append(run)
    writes = read_log(flog)
    fired = len(writes) >= n
    if not fired:
        problems.append(f"the fault never fired: this run made only {len(writes)} writes")
    else:
        case.hit = writes[n - 1]
        if case.hit[0] != case.learned[0]:
            problems.append(f"write {n} was {case.hit}, not the learned {case.learned}")
    if has_traceback(run):
        problems.append("a traceback in the output")
    said = [ln.lower() for ln in run.err.splitlines()]

    def names_it(line: str) -> bool:
        return NAMED[name] in line or os.strerror(getattr(errno, name)).lower() in line

    def fix_then_healthy() -> None:
        """doctor --fix on the aged store, then doctor must find nothing."""
        age_store(w.store)
        fix = w.conductor("doctor", "--fix")
        case.runs.append(fix)
        if fix.rc != 0 or has_traceback(fix):
            problems.append("doctor --fix left something it could not repair")
        if fix.rc == 0 and fix.out.startswith("OK:"):
            return  # that doctor found nothing and so changed nothing: a second says the same
        again = w.conductor("doctor")
        case.runs.append(again)
        if again.rc != 0 or not again.out.startswith("OK:"):
            problems.append("doctor still reports findings after doctor --fix")

    if run.rc != 0 and "committed" not in run.err:
        case.outcome = "failed; must leave the store as it was"
        message = [ln for ln in said if not ln.startswith("warning:")]
        if not message or not names_it(message[-1]):
            problems.append(f"the message does not say {NAMED[name]!r}")
        age_store(w.store)
        fix = w.conductor("doctor", "--fix")
        case.runs.append(fix)
        if has_traceback(fix):
            problems.append("a traceback from doctor --fix")
        diff = tree_diff(before, tree(w.store), w.store)
        if diff:
            problems.append("after doctor --fix the store differs from before:\n" + "\n".join(diff))
    elif run.rc != 0:
        case.outcome = "failed after its commit (committed)"
        if not scenario.name.startswith("complete"):
            problems.append(f"{scenario.name} has no commit after which it may fail")
        think = w.status()["phases"]["think"]
        if think["status"] != "done":
            problems.append(f"status --json shows think {think['status']!r}, not done")
        fix_then_healthy()
        problems.extend(done_problems(w))
    else:
        case.outcome = "succeeded"
        problems.extend(scenario.check_effect(w, run))
        warned = [ln for ln in said if ln.startswith("warning:") and not ln.startswith(NO_ARTIFACT)]
        if fired and not any(names_it(ln) for ln in warned):
            problems.append("the fault after the commit was silent: no `warning:` line names it")
        fix_then_healthy()
    if not audit_log(w.store).startswith(audit_before):
        problems.append("audit.log was rewritten, not appended to")


# ---------------------------------------------------------------------------- the tests

_learned: dict[str, list[tuple[str, str]]] = {}


def learn(scenario: Scenario, root: Path) -> list[tuple[str, str]]:
    """The writes of a fault-free run on a fresh store, in order (once per scenario)."""
    if scenario.name in _learned:
        return _learned[scenario.name]
    w = World(root)
    scenario.setup(w)
    flog = root / "faults.log"
    run = w.conductor(*scenario.args(w), CONDUCTOR_FAULT_LOG=str(flog))
    assert run.rc == 0 and not has_traceback(run), str(run)
    warned = [
        ln for ln in run.err.splitlines() if ln.startswith("warning:") and NO_ARTIFACT not in ln
    ]
    assert not warned, str(run)
    writes = read_log(flog)
    assert writes, "the command made no writes: is CONDUCTOR_FAULT_LOG still honoured?"
    _learned[scenario.name] = writes
    return writes


# Every write of start (22), claim (15) and complete (21) fails with ENOSPC; to stay near a
# minute (each case is two to four subprocesses of ~0.2 s, and they barely overlap on a small
# machine), EROFS takes the odd writes and EACCES the even ones: every write still fails two
# ways. Complete without an artifact (19 writes, the same path minus the artifact link) runs
# with ENOSPC only. CONDUCTOR_FAULTS_ALL=1 runs every errno at every write (about 1.5 minutes).
ALL = os.environ.get("CONDUCTOR_FAULTS_ALL") == "1"
PLAN = [
    *((c, e) for c in ("start", "claim", "complete") for e in ERRNOS),
    *(("complete-no-artifact", e) for e in (ERRNOS if ALL else ("ENOSPC",))),
]


def chosen(name: str, n: int) -> bool:
    """Whether the fault name is injected at the n-th write in this run of the suite."""
    if ALL or name == "ENOSPC":
        return True
    return n % 2 == (1 if name == "EROFS" else 0)


@pytest.mark.parametrize(("command", "name"), PLAN)
def test_fault_at_every_write(command: str, name: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[command]
    writes = learn(scenario, tmp_path / "learn")
    cases = [
        Case(scenario, n, name, writes[n - 1]) for n in range(1, len(writes) + 1) if chosen(name, n)
    ]
    with ThreadPoolExecutor(WORKERS) as pool:
        done = list(pool.map(lambda c: run_case(c, tmp_path / f"n{c.n:03d}"), cases))
    broken = [c for c in done if c.problems]
    summary = "\n".join(f"{c.n:3d} {c.learned[0]:7s} {c.outcome}" for c in done)
    if broken:
        pytest.fail(
            f"{len(broken)} of {len(done)} faults in `conductor {command}` ({len(writes)} writes) "
            f"break the contract under {name}:\n\n"
            + "\n\n".join(c.report() for c in broken)
            + f"\n\nevery case:\n{summary}",
            pytrace=False,
        )


# ---------------------------------------------------------------------------- a real full disk


def _fill(path: Path) -> None:
    """Write path until the disk says ENOSPC (big blocks, then single bytes for the last page)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for size in (4096, 1):
            while True:
                try:
                    os.write(fd, b"x" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(fd)


def test_real_full_disk(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    try:
        w = World(tmp_path)
        os.makedirs(w.project)
        store = disk / "store"
        Store(str(store)).start(w.project, agent=AGENT)
        filler = disk / "filler"
        _fill(filler)

        def conductor(*args: str) -> Run:  # the store on the tiny disk, the project beside it
            return w.conductor(*args, NANOSTACK_STORE=str(store))

        free = os.statvfs(disk)
        assert free.f_bavail == 0, f"{free.f_bavail} blocks still free after filling the disk"
        failures = []
        for args in (("claim", "think"), ("start", "--force")):
            before, audit_before = tree(str(store)), audit_log(str(store))
            run = conductor(*args)
            lines = run.err.strip().splitlines()
            if run.rc == 0:
                failures.append(f"succeeded on a full disk:\n{run}")
            if has_traceback(run) or not lines or "disk is full" not in lines[-1]:
                failures.append(f"no clear message:\n{run}")
            diff = tree_diff(before, tree(str(store)), str(store))
            if diff:
                failures.append(f"{' '.join(args)} changed the store:\n" + "\n".join(diff))
            if not audit_log(str(store)).startswith(audit_before):
                failures.append(f"{' '.join(args)} rewrote audit.log")
        if failures:
            pytest.fail("\n\n".join(failures), pytrace=False)
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True, check=False)
