"""`conductor watch`: another process's lock turns stale when its holder dies, a phase becomes
claimable; events on stdout, commands run without a shell with the event in their environment;
SIGTERM and SIGINT end it cleanly. Every wait is bounded; nothing sleeps for timing."""

from __future__ import annotations

import json
import os
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core.store import Store
from tests.agent_samples import clean_env

DEADLINE_S = 30.0
RECORDER = """\
import json, os, sys
keys = [k for k in os.environ if k.startswith("CONDUCTOR_")]
with open(sys.argv[1], "a") as f:
    f.write(json.dumps({k: os.environ[k] for k in keys}) + "\\n")
"""


class Watch:
    """A `conductor watch --json` process and the events it printed."""

    def __init__(self, project: str, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "conductor_tui.agents.follow",
                "--json",
                "--interval",
                "0.1",
                *extra,
            ],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(),
        )
        self.events: list[dict[str, Any]] = []
        self._buf = b""

    def wait_for(self, **match: Any) -> dict[str, Any]:
        """The first event (already seen or to come) with these fields; bounded."""
        seen = 0
        deadline = time.monotonic() + DEADLINE_S
        while True:
            for ev in self.events[seen:]:
                if all(ev.get(k) == v for k, v in match.items()):
                    return ev
            seen = len(self.events)
            left = deadline - time.monotonic()
            assert left > 0, f"no event {match} in {DEADLINE_S} s; saw {self.events}"
            assert self.proc.stdout is not None
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                assert chunk, f"watch ended: {self.proc.wait()} {self.stderr()}"
                self._buf += chunk
                *lines, self._buf = self._buf.split(b"\n")
                self.events.extend(json.loads(line) for line in lines if line.strip())

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode() if self.proc.poll() is not None else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=DEADLINE_S)


@pytest.fixture
def project(tmp_path: Path) -> str:
    path = tmp_path / "shop"
    path.mkdir()
    (path / ".git").mkdir()
    return str(path)


def test_a_killed_holder_makes_the_lock_stale_and_runs_the_command(
    project: str, tmp_path: Path
) -> None:
    store = Store(os.path.join(project, ".nanostack"))
    sprint = store.start(project, agent="tester")
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        from conductor_tui.core.liveness import proc_info

        info = proc_info(holder.pid)
        sprint.claim(
            "think",
            agent="codex-7b21e0aa",
            ttl=3600,
            holder_pid=holder.pid,
            holder_start=info.start if info else None,
        )
        script = tmp_path / "record.py"
        script.write_text(RECORDER)
        stale_log, ready_log = tmp_path / "stale.jsonl", tmp_path / "ready.jsonl"
        on_stale = shlex.join([sys.executable, str(script), str(stale_log)])
        on_ready = shlex.join([sys.executable, str(script), str(ready_log)])
        watch = Watch(project, "--on-stale", on_stale, "--on-ready", on_ready)
        try:
            first = watch.wait_for(event="held", phase="think")
            assert first["agent"] == "codex-7b21e0aa" and first["was"] is None
            assert not stale_log.exists()

            holder.kill()
            holder.wait()
            stale = watch.wait_for(event="stale", phase="think")
            assert stale["was"] == "held" and stale["agent"] == "codex-7b21e0aa"
            assert any(str(holder.pid) in e for e in stale["evidence"])
            assert watch.wait_for(event="command", phase="think")["exit"] == 0
            recorded = json.loads(stale_log.read_text())
            assert recorded["CONDUCTOR_EVENT"] == "stale"
            assert recorded["CONDUCTOR_PHASE"] == "think"
            assert recorded["CONDUCTOR_AGENT"] == "codex-7b21e0aa"
            assert str(holder.pid) in recorded["CONDUCTOR_EVIDENCE"]
            assert recorded["CONDUCTOR_SPRINT"] == sprint.sprint_id
            assert recorded["CONDUCTOR_WAS"] == "held"

            sprint.reclaim("think", agent="ops")
            ready = watch.wait_for(event="ready", phase="think")
            assert ready["was"] == "stale" and ready["agent"] == ""
            assert watch.wait_for(event="command", **{"for": "ready"})["exit"] == 0
            assert json.loads(ready_log.read_text())["CONDUCTOR_PHASE"] == "think"
            assert watch.stop(signal.SIGTERM) == 0
        finally:
            if watch.proc.poll() is None:
                watch.proc.kill()
                watch.proc.wait()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_a_phase_becoming_claimable_and_sigint(project: str) -> None:
    store = Store(os.path.join(project, ".nanostack"))
    watch = Watch(project)
    try:
        assert watch.wait_for(event="no-sprint")["project"] == project
        sprint = store.start(project, agent="tester")
        watch.wait_for(event="sprint", sprint_id=sprint.sprint_id)
        assert watch.wait_for(event="ready", phase="think")["was"] is None
        owner = sprint.claim("think", agent="a1", holder_pid=os.getpid())
        watch.wait_for(event="held", phase="think")
        sprint.complete("think", agent="a1", token=owner.token)
        watch.wait_for(event="done", phase="think")
        assert watch.wait_for(event="ready", phase="plan")["was"] == "blocked"
        assert watch.stop(signal.SIGINT) == 0
    finally:
        if watch.proc.poll() is None:
            watch.proc.kill()
            watch.proc.wait()


def test_a_missing_command_is_a_warning_and_bad_usage_exits_2(project: str) -> None:
    Store(os.path.join(project, ".nanostack")).start(project, agent="tester")
    watch = Watch(project, "--on-ready", "/nonexistent/notify-me --now")
    try:
        watch.wait_for(event="ready", phase="think")
        assert watch.stop() == 0
        assert "warning: --on-ready /nonexistent/notify-me" in watch.stderr()
    finally:
        if watch.proc.poll() is None:
            watch.proc.kill()
            watch.proc.wait()
    for bad in (["--on-stale", "'unbalanced"], ["--interval", "0"], ["--on-ready", ""]):
        done = subprocess.run(
            [sys.executable, "-m", "conductor_tui.agents.follow", *bad],
            cwd=project,
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=DEADLINE_S,
        )
        assert done.returncode == 2 and "Traceback" not in done.stderr, done
