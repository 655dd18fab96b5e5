"""Shared fixtures: real store directories in tmp, a frozen clock, live and dead holder pids."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

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
