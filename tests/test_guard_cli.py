"""`conductor guard` as a hook host runs it: a real process, the payload on stdin, a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conductor_tui.core.store import Store

GRAPH = [{"name": "review", "depends_on": []}, {"name": "build", "depends_on": []}]


def guard(store: str, project: str, payload: bytes | dict, agent: str = "rev") -> tuple[int, str]:
    """Run `conductor guard` like Claude Code does; returns (exit code, stderr)."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NANOSTACK", "CLAUDE"))}
    env.update(NANOSTACK_STORE=store, NANOSTACK_AGENT=agent)
    done = subprocess.run(
        [sys.executable, "-m", "conductor_tui.cli", "guard"],
        input=raw,
        capture_output=True,
        cwd=project,
        env=env,
        timeout=60,
    )
    assert b"Traceback" not in done.stderr
    return done.returncode, done.stderr.decode()


def write(project: str, name: str = "app.py") -> dict:
    """Claude Code's PreToolUse payload for a Write."""
    return {
        "session_id": "5e1a90c2-0000",
        "hook_event_name": "PreToolUse",
        "cwd": project,
        "tool_name": "Write",
        "tool_input": {"file_path": os.path.join(project, name), "content": "print(1)\n"},
    }


def bash(project: str, command: str) -> dict:
    """Claude Code's PreToolUse payload for a Bash command."""
    return {
        "hook_event_name": "PreToolUse",
        "cwd": project,
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }


@pytest.fixture
def env(tmp_path: Path) -> tuple[Store, str]:
    project = tmp_path / "shop"
    project.mkdir()
    store = Store(str(tmp_path / "store"))
    store.start(str(project), agent="lead", phases=GRAPH)
    return store, str(project)


def test_a_reader_cannot_write_but_can_read(env: tuple[Store, str]) -> None:
    store, project = env
    store.find_active(project).claim("review", agent="rev", holder_pid=os.getpid())
    rc, err = guard(store.root, project, write(project))
    assert rc == 2
    assert err.count("\n") == 1 and "review" in err and "app.py" in err
    assert guard(store.root, project, bash(project, "git diff HEAD~1"))[0] == 0
    assert guard(store.root, project, bash(project, "ls && rm -rf src"))[0] == 2
    # completing the read phase is what the agent must still be able to do
    cmd = "conductor complete review --token 1-0123456789abcdef --artifact .nanostack/r.json"
    assert guard(store.root, project, bash(project, cmd))[0] == 0


def test_a_writer_or_an_idle_agent_may_write(env: tuple[Store, str]) -> None:
    store, project = env
    assert guard(store.root, project, write(project))[0] == 0  # holds nothing
    sprint = store.find_active(project)
    sprint.claim("review", agent="rev", holder_pid=os.getpid())
    sprint.claim("build", agent="rev", holder_pid=os.getpid())
    assert guard(store.root, project, write(project))[0] == 0  # holds a write phase too


def test_another_agents_read_claim_does_not_block_me(env: tuple[Store, str]) -> None:
    store, project = env
    store.find_active(project).claim("review", agent="someone-else", holder_pid=os.getpid())
    assert guard(store.root, project, write(project), agent="rev")[0] == 0


def test_a_garbled_payload_is_blocked_only_for_a_reader(env: tuple[Store, str]) -> None:
    store, project = env
    assert guard(store.root, project, b'{"tool_name": "Wri')[0] == 0
    store.find_active(project).claim("review", agent="rev", holder_pid=os.getpid())
    rc, err = guard(store.root, project, b'{"tool_name": "Wri')
    assert rc == 2 and err.strip()


def test_no_store_allows_and_a_corrupt_store_says_so_without_blocking(
    env: tuple[Store, str], tmp_path: Path
) -> None:
    store, project = env
    assert guard(str(tmp_path / "nowhere"), project, write(project))[0] == 0
    store.find_active(project).claim("review", agent="rev", holder_pid=os.getpid())
    sprint_json = Path(store.find_active(project).path, "sprint.json")
    sprint_json.write_text('{"sprint_id": ')
    rc, err = guard(store.root, project, write(project))
    assert rc == 1 and "malformed" in err  # exit 1: a non-blocking error for both hosts
