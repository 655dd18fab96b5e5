"""Shared fixtures: real store directories in tmp, a frozen clock, live and dead holder pids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.cli import main
from conductor_tui.core.liveness import proc_info
from conductor_tui.core.store import Sprint, Store

T0 = 1_795_000_000.0  # 2026-11-19T...Z: a fixed instant for every frozen clock


class FakeClock:
    """A clock the test moves by hand; the store reads it through Store(clock=...)."""

    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A frozen clock at T0."""
    return FakeClock()


@pytest.fixture
def store_dir(tmp_path) -> str:
    """An empty store directory path (not created)."""
    return str(tmp_path / "store")


@pytest.fixture
def project(tmp_path) -> str:
    """A project directory."""
    path = tmp_path / "project"
    path.mkdir()
    return str(path)


@pytest.fixture
def store(store_dir: str, clock: FakeClock) -> Store:
    """A store on a real directory with the frozen clock."""
    return Store(store_dir, clock=clock)


@pytest.fixture
def sprint(store: Store, project: str) -> Sprint:
    """A fresh default sprint (think -> plan -> build -> review/security/qa -> ship)."""
    return store.start(project, agent="tester")


@pytest.fixture
def live_pid() -> tuple[int, int | None]:
    """A holder that is alive for the whole test: this test process."""
    info = proc_info(os.getpid())
    return os.getpid(), info.start if info else None


@pytest.fixture
def dead_pid() -> Iterator[tuple[int, int | None]]:
    """A holder that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    info = proc_info(child.pid)
    child.wait()
    yield child.pid, info.start if info else None


def complete_through(sprint: Sprint, *phases: str, agent: str = "tester") -> None:
    """Claim and complete phases in order (test set-up helper)."""
    for phase in phases:
        owner = sprint.claim(phase, agent=agent, holder_pid=os.getpid())
        sprint.complete(phase, agent=agent, token=owner.token)


# -------------------------------------------------------------- the command line, in-process

# Variables that decide who the caller is (or crash it): a test sets the ones it wants.
IDENTITY_VARS = (
    "NANOSTACK_AGENT",
    "CLAUDE_SESSION_ID",
    "CLAUDE_CODE",
    "CLAUDECODE",
    "CODEX_SESSION_ID",
    "OPENCODE_SESSION_ID",
    "CONDUCTOR_CRASH_AT",
)


@dataclass
class CliResult:
    """One `conductor` command's exit code and output."""

    rc: int
    out: str
    err: str

    @property
    def json(self) -> dict[str, Any]:
        """stdout as exactly one JSON object."""
        obj = json.loads(self.out)
        assert isinstance(obj, dict), self.out
        return obj

    @property
    def word(self) -> str:
        """The first word of the human reply (stdout on success, stderr on failure)."""
        text = self.out if self.rc == 0 else self.err
        return text.split(":", 1)[0].split()[0] if text.strip() else ""

    @property
    def err_line(self) -> str:
        """stderr, which must be exactly one line."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        return lines[0]


def cli_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A project to run `conductor` in, as agent-a, with its store: (store, project)."""
    store = tmp_path / "store"
    project = tmp_path / "project"
    project.mkdir()
    for var in IDENTITY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NANOSTACK_STORE", str(store))
    monkeypatch.setenv("NANOSTACK_AGENT", "agent-a")
    monkeypatch.chdir(project)
    monkeypatch.setenv("PWD", str(project))
    return str(store), str(project)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `conductor ARGS...` in-process and capture what it said."""

    def run(*args: str) -> CliResult:
        try:
            rc = main(list(args))
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        out, err = capsys.readouterr()
        return CliResult(rc, out, err)

    return run


# ---------------------------------------------------------------------- the CLI on a sandbox


Result = CliResult


@dataclass
class Env:
    """Where the in-process command line runs."""

    tmp: Path
    store: str
    project: str

    def sprint(self) -> Sprint:
        found = Store(self.store).find_active(self.project)
        assert found is not None
        return found

    def phase(self, name: str) -> str:
        return os.path.join(self.sprint().path, name)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    store, project = cli_sandbox(tmp_path, monkeypatch)
    return Env(tmp=tmp_path, store=store, project=project)


@pytest.fixture
def started(env: Env, cli) -> Env:
    result = cli("start")
    assert result.rc == 0, result
    return env


def subprocess_env(env: Env, **extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in IDENTITY_VARS}
    out.update(NANOSTACK_STORE=env.store, NANOSTACK_AGENT="agent-a", PWD=env.project)
    out.update(extra)
    return out


def conductor(env: Env, *args: str, **extra: str) -> Result:
    """The real command, in a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "conductor_tui.cli", *args],
        cwd=env.project,
        env=subprocess_env(env, **extra),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def dead_pid_cli(dead_pid: tuple[int, int | None]) -> str:
    return str(dead_pid[0])


# ---------------------------------------------------------------------- /proc hidden (issue 14)
# CONDUCTOR_HIDE_PROC=1: the package may not open, list or stat anything under /proc, in this
# process and in every Python process the tests start (tests/hideproc/: an audit hook, loaded
# here and by a sitecustomize.py put on PYTHONPATH). What it refuses is recorded in
# CONDUCTOR_HIDE_PROC_LOG, and the test during which it happened fails. tests/test_hidden_proc.py
# runs the core, liveness, artifact and CLI tests so within the normal run.

HIDEPROC_DIR = str(Path(__file__).parent / "hideproc")


def proc_hidden() -> bool:
    """Whether this run hides /proc from the package."""
    return os.environ.get("CONDUCTOR_HIDE_PROC", "") not in ("", "0")


def pytest_configure(config: pytest.Config) -> None:
    if not proc_hidden():
        return
    if not os.environ.get("CONDUCTOR_HIDE_PROC_LOG"):
        fd, log = tempfile.mkstemp(prefix="conductor-hidden-proc-", suffix=".log")
        os.close(fd)
        os.environ["CONDUCTOR_HIDE_PROC_LOG"] = log
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if HIDEPROC_DIR not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([HIDEPROC_DIR, *paths])
    if HIDEPROC_DIR not in sys.path:
        sys.path.insert(0, HIDEPROC_DIR)
    import conductor_hide_proc

    conductor_hide_proc.install()


@pytest.fixture(autouse=True)
def _proc_stays_hidden() -> Iterator[None]:
    """With /proc hidden, a test during which the package touched it fails, naming where."""
    log = os.environ.get("CONDUCTOR_HIDE_PROC_LOG") if proc_hidden() else None
    if not log:
        yield
        return
    start = os.path.getsize(log) if os.path.exists(log) else 0
    yield
    if os.path.exists(log) and os.path.getsize(log) > start:
        with open(log, encoding="utf-8") as fh:
            fh.seek(start)
            found = fh.read().splitlines()
        pytest.fail(f"the package touched /proc while it was hidden: {found[:5]}")
