"""The whole hook, `run_hook`: the project is the sprint's, and every failure blocks (exit 2).

A monorepo is the project: the sprint was started at its top, and the agent works in one
package. The agent `rev` holds the read phase `review`; `build` is a write phase.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core.errors import BadInput
from conductor_tui.core.store import Store
from conductor_tui.guard import hook
from conductor_tui.guard.hook import hook_main, run_hook

GRAPH = [{"name": "review", "depends_on": []}, {"name": "build", "depends_on": []}]


def backticks(levels: int, inner: str = "ls") -> str:
    """Backtick substitutions nested `levels` deep (each level escapes the one inside)."""
    for _ in range(levels):
        inner = "echo `" + inner.replace("\\", "\\\\").replace("`", "\\`") + "`"
    return inner


class Mono:
    """A monorepo with a sprint, an agent in packages/a, and the hook's environment."""

    def __init__(self, tmp: Path) -> None:
        self.top = tmp / "mono"
        self.a = self.top / "packages" / "a"
        self.b = self.top / "packages" / "b"
        for d in (self.a, self.b, self.top / ".git", tmp / "home", tmp / "scratch"):
            d.mkdir(parents=True)
        self.scratch = tmp / "scratch"
        self.store = Store(str(self.top / ".nanostack"))
        self.sprint = self.store.start(str(self.top), agent="lead", phases=GRAPH)
        self.env = {"NANOSTACK_AGENT": "rev", "HOME": str(tmp / "home")}

    def claim(self, phase: str = "review", agent: str = "rev") -> None:
        self.sprint.claim(phase, agent=agent, holder_pid=os.getpid())

    def run(
        self, payload: bytes | dict[str, Any], *, cwd: Path | None = None, **kw: Any
    ) -> tuple[int, str]:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        opts: dict[str, Any] = {"store": None, "project": None, "agent": None}
        opts.update(kw)
        code, message = run_hook(raw, cwd=str(cwd or self.a), env=self.env, **opts)
        assert code in (0, 2)
        assert "\n" not in message and (message == "") == (code == 0)
        assert "Traceback" not in message
        return code, message


def write(path: Path | str, cwd: Path | str) -> dict[str, Any]:
    """Claude Code's PreToolUse payload for a Write."""
    return {
        "session_id": "5e1a90c2-0000",
        "hook_event_name": "PreToolUse",
        "cwd": str(cwd),
        "tool_name": "Write",
        "tool_input": {"file_path": str(path), "content": "x"},
    }


def bash(command: str, cwd: Path | str) -> dict[str, Any]:
    """Claude Code's PreToolUse payload for a Bash command."""
    return {
        "hook_event_name": "PreToolUse",
        "cwd": str(cwd),
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }


@pytest.fixture
def mono(tmp_path: Path) -> Mono:
    return Mono(tmp_path)


def test_an_agent_in_a_package_cannot_write_a_sibling_package(mono: Mono) -> None:
    mono.claim()
    code, message = mono.run(write(mono.b / "x.py", mono.a))
    assert code == 2 and "packages/b/x.py" in message and "review" in message
    assert mono.run(write(mono.a / "x.py", mono.a))[0] == 2
    assert mono.run(bash("echo x > ../b/x.py", mono.a))[0] == 2
    assert mono.run(bash("cd .. && echo x > b/x.py", mono.a))[0] == 2
    assert mono.run(write(mono.scratch / "notes.md", mono.a)) == (0, "")
    assert mono.run(bash("git status && ls ../b", mono.a)) == (0, "")
    assert mono.run(write(mono.top / ".nanostack" / "review" / "r.json", mono.a)) == (0, "")


def test_the_payload_cwd_is_never_the_project(mono: Mono) -> None:
    mono.claim()
    # the agent says it is elsewhere: its relative paths start there, the project stays
    code, message = mono.run(write(mono.a / "x.py", mono.scratch))
    assert code == 2 and "packages/a/x.py" in message
    assert mono.run(bash("echo x > notes.md", mono.scratch)) == (0, "")
    assert mono.run(bash(f"echo x > {mono.b}/x.py", mono.scratch))[0] == 2
    # found from the agent's directory when the hook runs elsewhere
    assert mono.run(write(mono.b / "x.py", mono.a), cwd=mono.scratch)[0] == 2


def test_holding_a_write_phase_or_nothing_allows(mono: Mono) -> None:
    assert mono.run(write(mono.b / "x.py", mono.a)) == (0, "")
    mono.claim("review", agent="someone-else")
    assert mono.run(write(mono.b / "x.py", mono.a)) == (0, "")
    mono.claim("build")
    assert mono.run(write(mono.b / "x.py", mono.a)) == (0, "")


@pytest.mark.parametrize(
    "command",
    [
        "eval " * 1000 + "ls",
        "echo " + "$(" * 1000 + "ls" + ")" * 1000,
        "echo " + "$(" * 9 + backticks(9) + ")" * 9,
        "sudo " * 1000 + "ls",
        "nice " * 1000 + "ls",
        "env -S " * 50 + "ls",
        "( " * 1000 + "ls" + " )" * 1000,
        "npx " * 1000 + "ls",
        "uv run " * 1000 + "ls",
        "python -m conductor_tui.cli run review -- " * 100 + "ls",
        "find . -exec " * 200 + "ls",
        "xargs " * 1000 + "ls",
        "(((((" * 2000,
    ],
    ids=lambda command: command[:24],
)
def test_deep_nesting_blocks_with_one_line(mono: Mono, command: str) -> None:
    mono.claim()
    code, message = mono.run(bash(command, mono.a))
    assert code == 2 and message.startswith("conductor guard: rev holds only read phases")


def test_nested_shells_block(mono: Mono) -> None:
    mono.claim()
    # quoting a command for `bash -c` grows it threefold a level: 9 levels around 10 `$(`
    command = "echo " + "$(" * 10 + "ls" + ")" * 10
    for _ in range(9):
        command = "bash -c " + "'" + command.replace("'", "'\\''") + "'"
    assert len(command) < 200_000
    assert mono.run(bash(command, mono.a))[0] == 2
    # here-documents nest without growing: 40 shells, each reading the next from its input
    heredocs = "".join(f"bash <<'E{k}'\n" for k in range(40)) + "ls\n"
    heredocs += "".join(f"E{k}\n" for k in reversed(range(40)))
    assert mono.run(bash(heredocs, mono.a))[0] == 2
    assert mono.run(bash("bash -c 'bash -c \"rm -rf ../b\"'", mono.a))[0] == 2
    assert mono.run(bash("bash -c 'bash -c \"ls ../b\"'", mono.a)) == (0, "")


@pytest.mark.parametrize("error", [RecursionError, MemoryError, KeyError, SystemExit])
def test_any_internal_error_blocks_with_one_line(
    mono: Mono, monkeypatch: pytest.MonkeyPatch, error: type[BaseException]
) -> None:
    def boom(*args: Any, **kwargs: Any) -> bool:
        raise error("maximum recursion depth exceeded\nwith a second line")

    monkeypatch.setattr(hook, "needs_claims", boom)
    code, message = mono.run(bash("ls", mono.a))
    assert code == 2
    assert message.startswith(f"conductor guard: internal error ({error.__name__}")
    assert "blocking to be safe" in message


def test_an_unreadable_store_blocks_a_write_but_not_a_read(mono: Mono) -> None:
    mono.claim()
    Path(mono.sprint.path, "sprint.json").write_text('{"sprint_id": ')
    code, message = mono.run(write(mono.b / "x.py", mono.a))
    assert code == 2 and "cannot read the sprint" in message and "packages/b/x.py" in message
    assert mono.run(bash("git log", mono.a)) == (0, "")  # the store is not opened for a read
    assert mono.run(write(mono.scratch / "x", mono.a))[0] == 2  # a write: which project?


def test_a_store_error_blocks(mono: Mono, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Store, project: str) -> None:
        raise BadInput("sprint.json: not a sprint")

    monkeypatch.setattr(Store, "find_active", broken)
    code, message = mono.run(write(mono.b / "x.py", mono.a))
    assert code == 2 and "not a sprint" in message


def test_no_store_or_no_sprint_holds_nothing(mono: Mono, tmp_path: Path) -> None:
    mono.claim()
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    assert mono.run(write(elsewhere / "x", elsewhere), cwd=elsewhere) == (0, "")
    assert mono.run(write(mono.b / "x.py", mono.a), store=str(tmp_path / "nowhere")) == (0, "")
    mono.sprint.complete("review", agent="rev", token=None, force=True)
    assert mono.run(write(mono.b / "x.py", mono.a)) == (0, "")


def test_agent_and_project_options(mono: Mono) -> None:
    mono.claim("review", agent="alice")
    assert mono.run(write(mono.b / "x.py", mono.a), agent="alice")[0] == 2
    assert mono.run(write(mono.b / "x.py", mono.a), agent="bob") == (0, "")
    code, message = mono.run(write(mono.b / "x.py", mono.a), agent="not a name!")
    assert code == 2 and "--agent" in message
    assert mono.run(bash("ls", mono.a), agent="not a name!") == (0, "")  # a read needs nobody
    assert (
        mono.run(write(mono.b / "x.py", mono.a), agent="alice", project=str(mono.b))[0] == 2
    )  # --project finds the sprint from there; the project is still the sprint's


def test_an_unreadable_payload_blocks_only_a_reader(mono: Mono) -> None:
    assert mono.run(b'{"tool_name": "Wri') == (0, "")
    mono.claim()
    code, message = mono.run(b'{"tool_name": "Wri')
    assert code == 2 and "unreadable" in message


def test_text_no_file_system_can_name_is_inside(mono: Mono) -> None:
    mono.claim()
    raw = json.dumps(bash("echo x > \ud800/x && cd \udfff", "/\ud800")).encode()
    code, message = mono.run(raw)
    assert code == 2 and "\\ud800" in message
    message.encode("utf-8")
    assert mono.run(json.dumps(bash("ls \ud800", mono.a)).encode()) == (0, "")


def test_events_that_cannot_be_blocked_are_allowed(mono: Mono) -> None:
    mono.claim()
    payload = write(mono.b / "x.py", mono.a)
    payload["hook_event_name"] = "PostToolUse"
    assert mono.run(payload) == (0, "")


def test_hook_main_reads_stdin_and_prints_one_line(
    mono: Mono, monkeypatch: pytest.MonkeyPatch
) -> None:
    mono.claim()
    for name, value in mono.env.items():
        monkeypatch.setenv(name, value)
    raw = json.dumps(write(mono.b / "x.py", mono.a)).encode()

    def main(stdin: io.BytesIO, stderr: io.StringIO) -> int:
        return hook_main(
            store=None, project=None, agent=None, cwd=str(mono.a), stdin=stdin, stderr=stderr
        )

    err = io.StringIO()
    assert main(io.BytesIO(raw), err) == 2
    assert err.getvalue().count("\n") == 1 and "packages/b/x.py" in err.getvalue()

    class Unreadable(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            raise OSError("gone")

    err = io.StringIO()
    assert main(Unreadable(), err) == 2 and "unreadable" in err.getvalue()  # an empty payload

    class Closed(io.StringIO):
        def write(self, s: str) -> int:
            raise OSError("closed")

    assert main(io.BytesIO(raw), Closed()) == 2


def test_a_read_never_loads_the_store(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from conductor_tui.guard.hook import run_hook\n"
        'raw = b\'{"tool_name": "Bash", "tool_input": {"command": "git diff"}}\'\n'
        f"print(run_hook(raw, store=None, project=None, agent=None, cwd={str(tmp_path)!r}))\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('pydantic', 'textual')]\n"
        "heavy += [m for m in sys.modules if m == 'conductor_tui.core.store']\n"
        "print(heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines() == ["(0, '')", "[]"]


def test_the_core_does_not_import_the_guard() -> None:
    code = (
        "import sys, conductor_tui.core.store, conductor_tui.core.graph\n"
        "print([m for m in sys.modules if m.startswith('conductor_tui.guard')])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
