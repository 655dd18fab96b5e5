"""The demo: real agent processes drive the real CLI through a whole sprint, one of them dies."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from conductor_tui.core.liveness import proc_info
from conductor_tui.core.models import SprintView
from conductor_tui.core.store import Sprint, Store
from conductor_tui.demo import CAST, DemoAgents, DemoEnv, create_demo, parse_cli_output

DEADLINE_S = 60.0
SPEED = 20.0


def _dead(pid: int) -> bool:
    """True when pid is gone or a zombie (no agent process left running)."""
    info = proc_info(pid)
    return info is None or info.state == "Z"


def _group_gone(pgid: int) -> bool:
    """True when no process is left in the agent's process group (its CLI children included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Watcher:
    """Polls the real store every 50 ms, checking an invariant at every reading."""

    def __init__(self, sprint: Sprint, invariant: Callable[[SprintView], None]) -> None:
        self.sprint = sprint
        self.invariant = invariant
        self.done_order: list[str] = []
        self.last: SprintView | None = None

    def read(self) -> SprintView:
        """One reading of the sprint."""
        view = self.sprint.view()
        for pv in view.phases:
            if pv.status == "done" and pv.name not in self.done_order:
                self.done_order.append(pv.name)
        self.invariant(view)
        self.last = view
        return view

    def until(self, what: str, cond: Callable[[SprintView], bool], deadline: float) -> SprintView:
        """Poll until cond holds, failing with the last reading at the deadline."""
        while True:
            view = self.read()
            if cond(view):
                return view
            if time.monotonic() > deadline:
                states = {pv.name: (pv.status, pv.agent) for pv in view.phases}
                pytest.fail(f"timed out waiting for {what}: {states}")
            time.sleep(0.05)


def _status(view: SprintView, phase: str) -> str:
    pv = view.phase(phase)
    assert pv is not None
    return pv.status


@pytest.fixture
def demo(tmp_path) -> DemoEnv:
    """A fresh demo under tmp_path."""
    return create_demo(str(tmp_path))


def test_create_demo_layout(demo: DemoEnv, tmp_path) -> None:
    """The demo's root is a conductor-demo- temp dir holding the store and the shop project."""
    assert os.path.dirname(demo.root) == str(tmp_path)
    assert os.path.basename(demo.root).startswith("conductor-demo-")
    assert demo.store == os.path.join(demo.root, "store")
    assert demo.project == os.path.join(demo.root, "shop")
    assert os.path.isfile(os.path.join(demo.project, "app", "checkout.py"))
    sprint = Store(demo.store).open_sprint(demo.sprint_id)
    assert sprint.record.started_by == "lead-human"
    assert sprint.record.project == demo.project
    view = sprint.view()
    assert [pv.name for pv in view.phases] == [
        "think",
        "plan",
        "build",
        "review",
        "security",
        "qa",
        "ship",
    ]
    assert _status(view, "think") == "ready"


def test_demo_runs_with_a_stale_lock_and_a_rescue(demo: DemoEnv) -> None:
    """The cast works the sprint; security goes stale; after a reclaim the sprint finishes."""
    sprint = Store(demo.store).open_sprint(demo.sprint_id)
    agents = DemoAgents(demo, speed=SPEED)
    reclaimed = False

    def invariant(view: SprintView) -> None:
        # ship never moves while security is not done
        if _status(view, "security") != "done":
            assert _status(view, "ship") == "blocked", view.phase("ship")
        # nobody but the dying cursor holds security before the human's reclaim
        sec = view.phase("security")
        assert sec is not None
        if not reclaimed and sec.lock is not None:
            assert sec.lock.agent == "cursor-31f0b6d2"

    watch = Watcher(sprint, invariant)
    deadline = time.monotonic() + DEADLINE_S
    try:
        agents.start()
        assert len(agents.pids) == len(CAST)

        view = watch.until(
            "review and qa done, security stale",
            lambda v: (
                _status(v, "review") == "done"
                and _status(v, "qa") == "done"
                and _status(v, "security") == "stale"
            ),
            deadline,
        )
        sec = view.phase("security")
        assert sec is not None and sec.lock is not None
        assert sec.lock.agent == "cursor-31f0b6d2"
        assert sec.lock.holder_alive is False
        ship = view.phase("ship")
        assert ship is not None and ship.status == "blocked"
        assert ship.blocked_by == ["security"]
        assert watch.done_order[:3] == ["think", "plan", "build"]
        assert set(watch.done_order) == {"think", "plan", "build", "review", "qa"}

        # a person reclaims the stale lock (as the TUI's `r` does)
        was = sprint.reclaim("security", agent="tester-human")
        reclaimed = True
        assert was.agent == "cursor-31f0b6d2" and was.verdict == "stale"

        view = watch.until("every phase done", lambda v: v.count("done") == len(v.phases), deadline)
        assert watch.done_order[-2:] == ["security", "ship"]
        # the agents leave on their own once their job is done
        while agents.running():
            assert time.monotonic() < deadline, f"still running: {agents.running()}"
            time.sleep(0.05)
    finally:
        agents.stop()

    expected = {
        "think": "claude-5e1a90c2",
        "plan": "codex-7b21e0aa",
        "build": "claude-5e1a90c2",
        "review": "codex-7b21e0aa",
        "security": "claude-5e1a90c2",
        "qa": "opencode-9c44d1e8",
        "ship": "codex-7b21e0aa",
    }
    roots = (os.path.realpath(demo.project), os.path.realpath(demo.store))
    for pv in view.phases:
        done = pv.done
        assert done is not None
        assert done.agent == expected[pv.name]
        assert done.token and done.epoch == (2 if pv.name == "security" else 1)
        assert done.artifact and done.artifact.startswith(roots)
        with open(done.artifact, "rb") as fh:
            data = fh.read()
        assert done.sha256 == hashlib.sha256(data).hexdigest()
        doc = json.loads(data)
        assert doc["phase"] == pv.name
        assert isinstance(doc["summary"], str) and doc["summary"]
        cp = doc["context_checkpoint"]
        assert isinstance(cp["summary"], str) and cp["summary"]
        assert cp["key_files"] and all(isinstance(f, str) for f in cp["key_files"])
        for rel in cp["key_files"]:
            assert os.path.isfile(os.path.join(demo.project, rel)), rel
        assert isinstance(cp["decisions_made"], list)
        assert isinstance(cp["open_questions"], list)
        assert all(isinstance(x, str) for x in cp["decisions_made"] + cp["open_questions"])

    # the dying agent exited with 1 while holding its lock; every other agent with 0
    codes = {(role.name, role.phase, role.rescue): p.returncode for role, p in agents.procs}
    assert codes.pop(("cursor-31f0b6d2", "security", False)) == 1
    assert set(codes.values()) == {0}

    with open(demo.log_path, encoding="utf-8") as fh:
        log = fh.read()
    assert "crashes while holding security" in log
    assert "Traceback" not in log

    agents.stop()  # idempotent
    assert all(_dead(pid) and _group_gone(pid) for pid in agents.pids)
    agents.cleanup()
    assert not os.path.exists(demo.root)


def test_stop_ends_every_agent_mid_sprint(demo: DemoEnv) -> None:
    """stop() while agents wait and work leaves no agent process; held claims are given up."""
    sprint = Store(demo.store).open_sprint(demo.sprint_id)
    agents = DemoAgents(demo, speed=1.0)
    deadline = time.monotonic() + DEADLINE_S
    try:
        agents.start()
        while _status(sprint.view(), "think") != "held":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert len(agents.running()) == len(CAST)
    finally:
        started = time.monotonic()
        agents.stop()
        stopped_in = time.monotonic() - started
    assert stopped_in < 10
    assert agents.running() == []
    assert all(_dead(pid) and _group_gone(pid) for pid in agents.pids)
    # the think agent was asked to stop and released its claim instead of leaving it stale
    view = sprint.view()
    assert _status(view, "think") == "ready"
    agents.stop()
    agents.cleanup()
    agents.cleanup()
    assert not os.path.exists(demo.root)


def test_agents_leave_when_the_sprint_is_archived(demo: DemoEnv) -> None:
    """Waiting agents exit on their own once their sprint is no longer the active one."""
    agents = DemoAgents(demo, speed=SPEED)
    deadline = time.monotonic() + DEADLINE_S
    try:
        Store(demo.store).open_sprint(demo.sprint_id).archive()
        agents.start()
        while agents.running():
            assert time.monotonic() < deadline, f"still running: {agents.running()}"
            time.sleep(0.05)
        assert all(p.returncode == 0 for _, p in agents.procs)
    finally:
        agents.cleanup()
    assert not os.path.exists(demo.root)


def test_demo_imports_neither_textual_nor_watchdog() -> None:
    """The demo module (loaded by every agent process) stays free of the TUI's dependencies."""
    code = (
        "import sys, conductor_tui.demo; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'watchdog')]; "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=30, check=False).returncode == 0


def test_parse_cli_output_is_json_only() -> None:
    """CLI output is read as one strict JSON object, anything else is a failure object."""
    assert parse_cli_output(b'{"ok": true, "token": "1-0123456789abcdef"}\n', 0)["ok"] is True
    for junk in (b"", b"__import__('os')\n", b"[1, 2]\n", b'{"a": NaN}\n', b'{"a":1,"a":2}'):
        out = parse_cli_output(junk, 1)
        assert out["ok"] is False and out["error"] == "output"


def test_agent_entry_rejects_bad_names(demo: DemoEnv) -> None:
    """The per-agent entry validates its names before touching the store."""
    cmd = [sys.executable, "-m", "conductor_tui.demo", "agent", "--store", demo.store]
    cmd += ["--project", demo.project, "--name", "x", "--phase", "../etc"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "invalid --phase" in done.stderr
