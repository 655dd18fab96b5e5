"""`conductor guard` as a host runs it, once cmd_guard calls conductor_tui.guard: a real process,
the payload on stdin, a real store. Exit 0 allows, exit 2 blocks with one line; nothing else.

(These replace tests/test_guard_cli.py, which checks the old hook's exit 1 for a broken store.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core.store import Store

GRAPH = [{"name": "review", "depends_on": []}, {"name": "build", "depends_on": []}]


def guard(
    cwd: Path, payload: bytes | dict[str, Any], *args: str, agent: str = "rev", **env: str
) -> tuple[int, str]:
    """Run `conductor guard` as Claude Code does; returns (exit code, stderr)."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NANOSTACK", "CLAUDE"))}
    environ.update(NANOSTACK_AGENT=agent, PWD=str(cwd), **env)
    done = subprocess.run(
        [sys.executable, "-m", "conductor_tui.cli", "guard", *args],
        input=raw,
        capture_output=True,
        cwd=cwd,
        env=environ,
        timeout=60,
    )
    err = done.stderr.decode()
    assert done.returncode in (0, 2), err
    assert "Traceback" not in err
    assert err.count("\n") == (1 if done.returncode == 2 else 0), err
    assert done.stdout == b""
    return done.returncode, err


def write(path: Path, cwd: Path) -> dict[str, Any]:
    """Claude Code's PreToolUse payload for a Write."""
    return {
        "session_id": "5e1a90c2-0000",
        "hook_event_name": "PreToolUse",
        "cwd": str(cwd),
        "tool_name": "Write",
        "tool_input": {"file_path": str(path), "content": "print(1)\n"},
    }


def bash(command: str, cwd: Path) -> dict[str, Any]:
    """Claude Code's PreToolUse payload for a Bash command."""
    return {
        "hook_event_name": "PreToolUse",
        "cwd": str(cwd),
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }


class Mono:
    """A monorepo (a git top with its store) with a sprint started at its top."""

    def __init__(self, tmp: Path) -> None:
        self.top = tmp / "mono"
        self.a = self.top / "packages" / "a"
        self.b = self.top / "packages" / "b"
        for d in (self.a, self.b, self.top / ".git"):
            d.mkdir(parents=True)
        self.store = Store(str(self.top / ".nanostack"))
        self.sprint = self.store.start(str(self.top), agent="lead", phases=GRAPH)

    def claim(self, phase: str = "review", agent: str = "rev") -> None:
        self.sprint.claim(phase, agent=agent, holder_pid=os.getpid())


@pytest.fixture
def mono(tmp_path: Path) -> Mono:
    return Mono(tmp_path)


def test_a_reader_in_a_package_cannot_write_the_project(mono: Mono) -> None:
    mono.claim()
    code, err = guard(mono.a, write(mono.b / "app.py", mono.a))
    assert code == 2 and "review" in err and "packages/b/app.py" in err
    assert guard(mono.a, bash("echo x > ../b/app.py", mono.a))[0] == 2
    assert guard(mono.a, bash("git diff HEAD~1 && ls ../b", mono.a)) == (0, "")
    assert guard(mono.a, bash("wget -qO- https://example.com | head", mono.a)) == (0, "")
    assert guard(mono.a, bash("[[ 5 > 3 ]] && (( 2 > 1 ))", mono.a)) == (0, "")
    cmd = "conductor complete review --token 1-0123456789abcdef --artifact .nanostack/r.json"
    assert guard(mono.a, bash(cmd, mono.top)) == (0, "")


def test_deep_nesting_blocks_with_one_line_and_no_traceback(mono: Mono) -> None:
    mono.claim()
    code, err = guard(mono.a, bash("eval " * 1000 + "ls", mono.a))
    assert code == 2 and "nested too deeply" in err
    assert guard(mono.a, bash("echo " + "$(" * 1000 + "ls" + ")" * 1000, mono.a))[0] == 2


def test_a_writer_or_an_idle_agent_may_write(mono: Mono) -> None:
    assert guard(mono.a, write(mono.b / "app.py", mono.a)) == (0, "")
    mono.claim()
    mono.claim("build")
    assert guard(mono.a, write(mono.b / "app.py", mono.a)) == (0, "")


def test_a_broken_store_blocks_a_write_and_allows_a_read(mono: Mono, tmp_path: Path) -> None:
    assert guard(mono.a, write(mono.b / "app.py", mono.a), "--store", str(tmp_path / "no")) == (
        0,
        "",
    )
    mono.claim()
    Path(mono.sprint.path, "sprint.json").write_text('{"sprint_id": ')
    code, err = guard(mono.a, write(mono.b / "app.py", mono.a))
    assert code == 2 and "cannot read the sprint" in err
    assert guard(mono.a, bash("git status", mono.a)) == (0, "")


def test_a_garbled_payload_is_blocked_only_for_a_reader(mono: Mono) -> None:
    assert guard(mono.a, b'{"tool_name": "Wri') == (0, "")
    mono.claim()
    code, err = guard(mono.a, b'{"tool_name": "Wri')
    assert code == 2 and "unreadable" in err


def test_agent_and_project_options(mono: Mono, tmp_path: Path) -> None:
    mono.claim("review", agent="alice")
    assert guard(mono.a, write(mono.b / "x.py", mono.a), "--agent", "alice")[0] == 2
    assert guard(mono.a, write(mono.b / "x.py", mono.a), "--agent", "bob") == (0, "")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args = ("--agent", "alice", "--project", str(mono.b), "--store", str(mono.store.root))
    assert guard(elsewhere, write(mono.a / "x.py", elsewhere), *args)[0] == 2
