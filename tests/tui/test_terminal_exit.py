"""The app leaves with its terminal: a closed pane, a hang-up or SIGTERM, busy or idle.

Real processes on a real pty, through bench/terminal_exit.py (which says what each way does, and
prints the figures over several runs): `conductor-tui` on a 120x40 pty in a session of its own, a
sprint of 1,000 phases that another process claims and aborts about ten times a second (built once
per module), or the default 7-phase sprint with nobody writing, or `--demo` with its 7 agents.

Each test takes the terminal away once and asserts that the app is gone within BOUND_S (every
thread of it: a pidfd turns readable only then), with exit code 128 + the signal (129 for every
hang-up, 143 for SIGTERM), with no process left in its session and, for the demo, no agent process
and no demo directory. The bound is generous, for CI's 2 cores under load; the app itself gives
its orderly exit 0.8 s before it leaves by its last resort. No assertion depends on a sleep: every
wait is a select on the pty, the writer's pipe or the pidfd, with a deadline. A failure prints each
thread's state and stack (faulthandler, on SIGUSR1).

Before the fix, closing the pty that was not the app's controlling terminal left it spinning a
core (input thread at end of file) and, busy, frozen on the dead writer's queue, deaf to SIGTERM;
closing its controlling pty left it blocked for ever in the writer's shutdown, about half the
time (the kernel's SIGCONT restarted application mode on the dead tty).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "terminal_exit.py"
BOUND_S = 5.0


def _load_bench() -> Any:
    spec = importlib.util.spec_from_file_location("conductor_terminal_exit", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="ptys, pidfds and /proc as Linux has them"
)


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """A sprint of 1,000 phases, and the process that claims and aborts in it all along."""
    sprint = bench.make_sprint(tmp_path_factory.mktemp("busy"), bench.PHASES)
    writer = bench.Writer(sprint)
    try:
        yield sprint, writer
    finally:
        writer.stop()


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The default 7-phase sprint; nobody writes to it."""
    return bench.make_sprint(tmp_path_factory.mktemp("idle"), 0)


def _check(run: Any) -> None:
    assert not run.problems, "\n".join(run.problems)
    assert run.seconds is not None
    print(f"{run.way} ({'busy' if run.busy else 'idle'}): gone in {run.seconds:.3f} s")


@pytest.mark.parametrize("way", bench.WAYS)
def test_gone_under_load(busy: tuple[Any, Any], way: str, tmp_path: Path) -> None:
    """Closed pane (with and without the kernel's SIGHUP), SIGHUP, SIGTERM: 1,000 phases, busy."""
    sprint, writer = busy
    _check(bench.run_once(sprint, way, tmp_path, writer=writer, bound=BOUND_S))


@pytest.mark.parametrize("way", bench.WAYS)
def test_gone_when_idle(idle: Any, way: str, tmp_path: Path) -> None:
    """The same four ways on the default sprint with nothing happening."""
    _check(bench.run_once(idle, way, tmp_path, bound=BOUND_S))


def test_demo_agents_go_with_it_on_sighup(tmp_path: Path) -> None:
    """`--demo` and SIGHUP: the app, every agent process and the demo's directory are gone."""
    _check(bench.run_once(None, "demo-hup", tmp_path, bound=BOUND_S))
