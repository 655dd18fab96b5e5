"""`conductor guard` (conductor_tui.guard): hook payloads, the decision, identity, a real store.

The shell classifier's own cases are in test_guard_shell.py, paths in test_guard_paths.py, the
whole hook in test_guard_hook.py (through a real process: test_guard_hook_cli.py), and the
fuzzing in test_guard_fuzz.py.

Payloads are written the way the hosts send them: Claude Code's PreToolUse JSON (session_id,
transcript_path, cwd, permission_mode, hook_event_name, tool_name, tool_input, tool_use_id) and
Codex's (the same plus turn_id and model; shell and apply_patch carry `tool_input.command`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core.graph import resolve_concurrency
from conductor_tui.core.paths import account_name
from conductor_tui.core.store import Store
from conductor_tui.guard import (
    MAX_PAYLOAD,
    Decision,
    HookCall,
    agent_from_payload,
    decide,
    guard_identity,
    held_phases,
    is_mutating_command,
    mutation,
    needs_claims,
    parse_hook,
)
from tests.conftest import FakeClock

PROJECT = "/home/dev/shop"
CLAUDE_SESSION = "5e1a90c2-7f3b-4c1e-9d2a-0b6c8e4f1a37"
CODEX_SESSION = "7b21e0aa-81c0-7800-8aa1-bbab2a035a53"

# ---------------------------------------------------------------- fixtures: real payloads

CLAUDE_WRITE = b"""{
  "session_id": "5e1a90c2-7f3b-4c1e-9d2a-0b6c8e4f1a37",
  "transcript_path": "/home/dev/.claude/projects/-home-dev-shop/5e1a90c2-7f3b-4c1e-9d2a-0b6c8e4f1a37.jsonl",
  "cwd": "/home/dev/shop",
  "permission_mode": "default",
  "hook_event_name": "PreToolUse",
  "tool_name": "Write",
  "tool_input": {
    "file_path": "/home/dev/shop/src/app.py",
    "content": "def main() -> None:\\n    print(\\"hello\\")\\n"
  },
  "tool_use_id": "toolu_01HXc2mJ8qgk5v7Yw3RZ9bTn"
}"""  # noqa: E501 (a real transcript path)

CLAUDE_EDIT = b"""{
  "session_id": "5e1a90c2-7f3b-4c1e-9d2a-0b6c8e4f1a37",
  "transcript_path": "/home/dev/.claude/projects/-home-dev-shop/5e1a90c2-7f3b-4c1e-9d2a-0b6c8e4f1a37.jsonl",
  "cwd": "/home/dev/shop",
  "permission_mode": "acceptEdits",
  "hook_event_name": "PreToolUse",
  "tool_name": "Edit",
  "tool_input": {
    "file_path": "/home/dev/shop/src/cart.py",
    "old_string": "total = 0",
    "new_string": "total = Decimal(0)",
    "replace_all": false
  },
  "tool_use_id": "toolu_01JpQ4v9tL2mN8cX5aRk7eWd"
}"""  # noqa: E501 (a real transcript path)

CLAUDE_MULTIEDIT = b"""{
  "session_id": "5e1a90c2-7f3b-4c1e-9d2a-0b6c8e4f1a37",
  "transcript_path": "/home/dev/.claude/projects/-home-dev-shop/5e1a90c2-7f3b-4c1e-9d2a-0b6c8e4f1a37.jsonl",
  "cwd": "/home/dev/shop",
  "permission_mode": "default",
  "hook_event_name": "PreToolUse",
  "tool_name": "MultiEdit",
  "tool_input": {
    "file_path": "/home/dev/shop/README.md",
    "edits": [
      {"old_string": "# Shop", "new_string": "# Shop service"},
      {"old_string": "TODO", "new_string": "", "replace_all": true}
    ]
  },
  "tool_use_id": "toolu_01Kb7sT3wY9pE2nV6hFq4cMz"
}"""  # noqa: E501 (a real transcript path)

CLAUDE_NOTEBOOKEDIT = b"""{
  "session_id": "5e1a90c2-7f3b-4c1e-9d2a-0b6c8e4f1a37",
  "transcript_path": "/home/dev/.claude/projects/-home-dev-shop/5e1a90c2-7f3b-4c1e-9d2a-0b6c8e4f1a37.jsonl",
  "cwd": "/home/dev/shop",
  "permission_mode": "default",
  "hook_event_name": "PreToolUse",
  "tool_name": "NotebookEdit",
  "tool_input": {
    "notebook_path": "/home/dev/shop/notebooks/sales.ipynb",
    "cell_id": "a1b2c3",
    "new_source": "df.describe()",
    "cell_type": "code",
    "edit_mode": "replace"
  },
  "tool_use_id": "toolu_01Lm2Nq8Rt5Vw3Xy7Za9Bc4D"
}"""  # noqa: E501 (a real transcript path)

CODEX_APPLY_PATCH = json.dumps(
    {
        "session_id": CODEX_SESSION,
        "turn_id": "1",
        "transcript_path": None,
        "cwd": PROJECT,
        "hook_event_name": "PreToolUse",
        "model": "gpt-5-codex",
        "permission_mode": "default",
        "tool_name": "apply_patch",
        "tool_input": {
            "command": "*** Begin Patch\n*** Update File: src/app.py\n@@ def main\n-    pass\n"
            "+    run()\n*** Add File: src/run.py\n+def run() -> None: ...\n*** End Patch\n"
        },
        "tool_use_id": "call_Zq1x8Yh3",
    }
).encode()


def claude(tool: str, tool_input: dict[str, Any], **extra: Any) -> bytes:
    """A Claude Code PreToolUse payload."""
    payload = {
        "session_id": CLAUDE_SESSION,
        "transcript_path": f"/home/dev/.claude/projects/-home-dev-shop/{CLAUDE_SESSION}.jsonl",
        "cwd": PROJECT,
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "toolu_01AbCdEfGhIjKlMnOpQrStUv",
    }
    payload.update(extra)
    return json.dumps(payload).encode()


def codex(tool: str, tool_input: dict[str, Any]) -> bytes:
    """A Codex PreToolUse payload."""
    return json.dumps(
        {
            "session_id": CODEX_SESSION,
            "turn_id": "3",
            "transcript_path": f"/home/dev/.codex/sessions/rollout-{CODEX_SESSION}.jsonl",
            "cwd": PROJECT,
            "hook_event_name": "PreToolUse",
            "model": "gpt-5-codex",
            "permission_mode": "default",
            "tool_name": tool,
            "tool_input": tool_input,
            "tool_use_id": "call_Ab12Cd34",
        }
    ).encode()


def bash(command: str) -> bytes:
    """Claude Code's Bash tool call."""
    return claude("Bash", {"command": command, "description": "run a command"})


# (id, payload, whether it writes to the tree)
CALLS: list[tuple[str, bytes, bool]] = [
    ("Write", CLAUDE_WRITE, True),
    ("Edit", CLAUDE_EDIT, True),
    ("MultiEdit", CLAUDE_MULTIEDIT, True),
    ("NotebookEdit", CLAUDE_NOTEBOOKEDIT, True),
    ("codex apply_patch", CODEX_APPLY_PATCH, True),
    ("Read", claude("Read", {"file_path": f"{PROJECT}/src/app.py"}), False),
    ("Grep", claude("Grep", {"pattern": "TODO", "path": PROJECT, "output_mode": "content"}), False),
    ("Glob", claude("Glob", {"pattern": "**/*.py", "path": PROJECT}), False),
    ("TodoWrite", claude("TodoWrite", {"todos": [{"content": "x", "status": "pending"}]}), False),
    ("WebFetch", claude("WebFetch", {"url": "https://example.com", "prompt": "summary"}), False),
    ("echo hi > file", bash("echo hi > file"), True),
    ("cat a | tee b", bash("cat a | tee b"), True),
    ("ls && rm -rf x", bash("ls && rm -rf x"), True),
    ("git status", bash("git status"), False),
    ("git commit -m x", bash("git commit -m x"), True),
    ("sed -n 1p f", bash("sed -n 1p f"), False),
    ("sed -i s/a/b/ f", bash("sed -i s/a/b/ f"), True),
    ("python -m pytest", bash("python -m pytest -q tests/"), False),
    (
        "conductor complete",
        bash("conductor complete review --token 3-0123456789abcdef --artifact review.json"),
        False,
    ),
    ("conductor heartbeat", bash("conductor heartbeat review"), False),
    ('bash -c "rm x"', bash('bash -c "rm x"'), True),
    ("codex Bash git diff", codex("Bash", {"command": "git diff --stat"}), False),
    ("codex Bash rm", codex("Bash", {"command": "rm -f build/out.o"}), True),
    ("codex shell argv", codex("shell", {"command": ["bash", "-lc", "touch x"]}), True),
    ("codex shell argv read", codex("shell", {"command": ["bash", "-lc", "rg TODO"]}), False),
    (
        "mcp write_file",
        claude("mcp__filesystem__write_file", {"path": f"{PROJECT}/x.txt", "content": "y"}),
        True,
    ),
    (
        "mcp read_file",
        claude("mcp__filesystem__read_text_file", {"path": f"{PROJECT}/x.txt"}),
        False,
    ),
    (
        "mcp create issue (no path)",
        claude("mcp__github__create_issue", {"owner": "o", "repo": "r", "title": "t"}),
        False,
    ),
    ("generic shape", json.dumps({"tool": "Write", "input": {"file_path": "a.py"}}).encode(), True),
]
IDS = [c[0] for c in CALLS]

READ_ONLY = [("review", "read")]
ALLOWING_HOLDINGS = {
    "nothing": [],
    "a write phase": [("build", "write")],
    "an exclusive phase": [("ship", "exclusive")],
    "read and write": [("review", "read"), ("build", "write")],
}


def one_line_naming(reason: str, *names: str) -> None:
    """A block reason: one printable line, naming the phases."""
    assert reason.startswith("conductor guard: ")
    assert "\n" not in reason and "\r" not in reason
    assert all(ch.isprintable() for ch in reason), reason
    for name in names:
        assert name in reason


# ---------------------------------------------------------------- parsing


def test_parse_claude_write_payload() -> None:
    call = parse_hook(CLAUDE_WRITE)
    assert call.problem is None
    assert call.tool == "Write"
    assert call.tool_input["file_path"] == "/home/dev/shop/src/app.py"
    assert call.event == "PreToolUse"
    assert call.session_id == CLAUDE_SESSION
    assert call.cwd == PROJECT
    assert call.source == "claude"


def test_parse_codex_payloads() -> None:
    patch = parse_hook(CODEX_APPLY_PATCH)
    assert (patch.tool, patch.source, patch.problem) == ("apply_patch", "codex", None)
    shell = parse_hook(codex("Bash", {"command": "ls"}))
    assert (shell.tool, shell.source, shell.session_id) == ("Bash", "codex", CODEX_SESSION)


def test_parse_generic_shapes() -> None:
    call = parse_hook(b'{"tool": "Bash", "input": {"command": "ls"}}')
    assert (call.tool, dict(call.tool_input), call.source) == ("Bash", {"command": "ls"}, "generic")
    call = parse_hook(b'{"tool_name": "Read", "tool_input": {"file_path": "/x"}}')
    assert (call.tool, call.source, call.problem) == ("Read", "generic", None)
    call = parse_hook(b'{"toolName": "Write", "toolArgs": {"file_path": "/x"}}')
    assert (call.tool, call.problem) == ("Write", None)
    call = parse_hook(b'{"tool_name": "Bash", "tool_input": null}')
    assert (call.tool, dict(call.tool_input)) == ("Bash", {})


MALFORMED: dict[str, bytes] = {
    "truncated JSON": CLAUDE_WRITE[: len(CLAUDE_WRITE) // 2],
    "binary": bytes(range(256)),
    "not UTF-8": b'{"tool_name": "Write\xff"}',
    "2 MB": b'{"tool_name": "Write", "tool_input": {"content": "' + b"x" * (2 << 20) + b'"}}',
    "empty": b"",
    "whitespace": b"  \n\t ",
    "array": b'[{"tool_name": "Write"}]',
    "string": b'"Write"',
    "no tool": b'{"session_id": "abc", "tool_input": {}}',
    "tool name is a number": b'{"tool_name": 7, "tool_input": {}}',
    "tool name is empty": b'{"tool_name": "", "tool_input": {}}',
    "tool input is a list": b'{"tool_name": "Write", "tool_input": ["a.py"]}',
    "tool input is a string": b'{"tool_name": "Bash", "tool_input": "rm -rf /"}',
    "duplicate keys": b'{"tool_name": "Read", "tool_name": "Write", "tool_input": {}}',
    "NaN": b'{"tool_name": "Write", "tool_input": {"x": NaN}}',
    "too deep": b"[" * 5000 + b"]" * 5000,
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_payload_blocks_only_a_read_only_agent(raw: bytes) -> None:
    call = parse_hook(raw)
    assert call.problem, "a malformed payload must be reported, never read as a tool call"
    assert call.tool == ""
    assert agent_from_payload(call) is None
    assert needs_claims(call)
    blocked = decide(call, READ_ONLY, agent="codex-7b21e0aa")
    assert not blocked.allow
    one_line_naming(blocked.reason, "review", "codex-7b21e0aa", "unreadable")
    for holding in ALLOWING_HOLDINGS.values():
        assert decide(call, holding).allow


def test_payload_at_the_size_cap_is_read() -> None:
    head = b'{"tool_name": "Read", "tool_input": {"file_path": "/x", "pad": "'
    raw = head + b"y" * (MAX_PAYLOAD - len(head) - 4) + b'"}}'
    assert len(raw) <= MAX_PAYLOAD
    assert parse_hook(raw).problem is None
    assert parse_hook(raw + b" " * 8).problem is not None


# ---------------------------------------------------------------- the decision matrix


@pytest.mark.parametrize(("name", "raw", "writes"), CALLS, ids=IDS)
def test_read_only_agent_is_blocked_exactly_on_writes(name: str, raw: bytes, writes: bool) -> None:
    call = parse_hook(raw)
    assert call.problem is None, call.problem
    decision = decide(call, READ_ONLY, agent="codex-7b21e0aa", project=PROJECT)
    assert isinstance(decision, Decision)
    assert decision.allow is (not writes), decision.reason
    assert needs_claims(call, project=PROJECT) is writes
    if writes:
        one_line_naming(decision.reason, "review", "codex-7b21e0aa")
        assert "complete or abort review" in decision.reason


@pytest.mark.parametrize("holding", ALLOWING_HOLDINGS.values(), ids=ALLOWING_HOLDINGS.keys())
@pytest.mark.parametrize(("name", "raw", "writes"), CALLS, ids=IDS)
def test_write_exclusive_or_no_claim_allows_everything(
    holding: list[tuple[str, Any]], name: str, raw: bytes, writes: bool
) -> None:
    decision = decide(parse_hook(raw), holding, agent="claude-5e1a90c2", project=PROJECT)
    assert decision.allow, decision.reason


def test_reason_names_every_read_phase_and_the_target() -> None:
    held = [("review", "read"), ("security", "read"), ("qa", "read")]
    decision = decide(parse_hook(CLAUDE_WRITE), held, agent="claude-5e1a90c2", project=PROJECT)
    assert decision == Decision(
        False,
        "conductor guard: claude-5e1a90c2 holds only read phases (review, security, qa); "
        "Write to src/app.py is blocked — complete or abort review, security, qa first, "
        "or claim a write phase",
    )


def test_bash_reason_shows_the_command_on_one_line() -> None:
    nasty = "rm -rf build\n\x1b[31mecho done\u2028" + "x" * 500
    decision = decide(parse_hook(bash(nasty)), READ_ONLY, agent="a")
    assert not decision.allow
    one_line_naming(decision.reason, "review", "`rm` deletes")
    assert len(decision.reason) < 400


def test_codex_patch_names_its_files() -> None:
    call = parse_hook(CODEX_APPLY_PATCH)
    assert mutation(call, project=PROJECT) == "apply_patch to src/app.py (+1 more)"


def test_writer_tool_without_a_path_is_still_a_write() -> None:
    call = parse_hook(claude("Write", {"content": "x"}))
    assert mutation(call) == "Write (no file named)"
    assert not decide(call, READ_ONLY).allow


def test_shell_tool_without_a_command_is_blocked_for_read_only() -> None:
    call = parse_hook(claude("Bash", {"description": "nothing"}))
    assert not decide(call, READ_ONLY).allow


def test_other_hook_events_are_never_blocked() -> None:
    call = parse_hook(claude("Write", {"file_path": f"{PROJECT}/a"}, hook_event_name="PostToolUse"))
    assert decide(call, READ_ONLY).allow
    assert not needs_claims(call)


# ---------------------------------------------------------------- where a write lands


def test_writes_outside_the_project_or_into_the_store_are_allowed(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    (project / ".nanostack").mkdir(parents=True)
    outside = tmp_path / "scratch"
    outside.mkdir()
    store = str(project / ".nanostack")
    kw: dict[str, Any] = {"project": str(project), "allow_under": [store]}
    cases = {
        str(outside / "notes.md"): True,
        f"{store}/review/review.json": True,
        str(project / "src" / "app.py"): False,
        str(project / ".nanostack" / ".." / "src" / "app.py"): False,
    }
    for path, allowed in cases.items():
        call = parse_hook(claude("Write", {"file_path": path, "content": "x"}, cwd=str(project)))
        assert decide(call, READ_ONLY, **kw).allow is allowed, path
    # and for shell commands, relative targets resolve against the payload's cwd
    for command, allowed in {
        f"echo x > {outside}/out.txt": True,
        "conductor status --json > .nanostack/review/status.json": True,
        "echo x > out.txt": False,
        f"cd {outside} && echo x > out.txt": True,
        "cd somewhere && echo x > out.txt": False,
        f"mkdir -p {store}/review": True,
        f"rm {outside}/out.txt": True,  # deleting outside the project is outside the project
        "rm .nanostack/../src/app.py": False,  # the store exempts only what is really in it
    }.items():
        call = parse_hook(claude("Bash", {"command": command}, cwd=str(project)))
        assert decide(call, READ_ONLY, **kw).allow is allowed, command


def test_a_symlink_out_of_the_store_is_not_an_exemption(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    (project / "src").mkdir(parents=True)
    (project / ".nanostack").mkdir()
    (project / ".nanostack" / "src-link").symlink_to(project / "src")
    target = project / ".nanostack" / "src-link" / "app.py"
    call = parse_hook(claude("Write", {"file_path": str(target), "content": "x"}))
    kw: dict[str, Any] = {"project": str(project), "allow_under": [str(project / ".nanostack")]}
    assert not decide(call, READ_ONLY, **kw).allow


def test_without_a_project_every_write_counts() -> None:
    call = parse_hook(claude("Write", {"file_path": "/tmp/notes.md", "content": "x"}))
    assert not decide(call, READ_ONLY).allow
    assert is_mutating_command("echo x > /tmp/out") is not None
    assert is_mutating_command("echo x > /dev/null 2>&1") is None


# ---------------------------------------------------------------- the shell classifier

MUTATING = [
    "echo hi > file",
    "echo hi >> log.txt",
    "echo hi>file",
    "echo hi &> all.log",
    "ls >| f",
    ": > f",
    "exec > log",
    "cat <<EOF > out.txt\nhello\nEOF",
    "cat a | tee b",
    "cat a | tee -a b",
    "ls && rm -rf x",
    "ls; rm x",
    "ls || rm x",
    "rm -rf build &",
    "(cd sub && rm x)",
    "mv a b",
    "cp a b",
    "mkdir -p build",
    "rmdir build",
    "touch x",
    "chmod +x run.sh",
    "chown me f",
    "ln -s a b",
    "truncate -s 0 f",
    "dd if=/dev/zero of=disk.img bs=1M count=1",
    "sed -i s/a/b/ f",
    "sed -i.bak 's/a/b/' f",
    "sed --in-place 's/a/b/' f",
    "sed -ni 'p' f",
    "perl -pi -e 's/a/b/' f",
    "perl -i.bak -pe 's/a/b/' f",
    "gawk -i inplace '{print}' f",
    "git commit -m x",
    "git add .",
    "git rm f",
    "git mv a b",
    "git checkout main",
    "git checkout -- f",
    "git switch -c topic",
    "git reset --hard",
    "git restore f",
    "git stash",
    "git stash pop",
    "git merge topic",
    "git rebase main",
    "git apply fix.diff",
    "git cherry-pick abc123",
    "git push origin main",
    "git pull",
    "git clean -fdx",
    "git -C sub commit -m x",
    "git --no-pager commit -m x",
    "git branch topic",
    "git branch -D topic",
    "git tag v1.0",
    "git config user.name me",
    "git worktree add ../wt",
    "patch -p1 < fix.diff",
    "npm install",
    "npm i -D vitest",
    "pnpm add zod",
    "yarn",
    "yarn add zod",
    "pip install -e .",
    "pip3 install requests",
    "python -m pip install requests",
    "uv add httpx",
    "uv pip install httpx",
    "uv sync",
    "poetry add httpx",
    "cargo install ripgrep",
    "cargo add serde",
    "cargo fmt",
    "go get example.com/x",
    "go mod tidy",
    "apt-get install -y jq",
    "sudo apt install jq",
    "brew install jq",
    "gem install rails",
    "black .",
    "isort src",
    "ruff format .",
    "ruff check --fix .",
    "prettier --write .",
    "npx prettier --write src",
    "eslint --fix src",
    "gofmt -w .",
    "clang-format -i a.c",
    "python -c \"open('x', 'w').write('y')\"",
    'python3 -c \'import pathlib; pathlib.Path("x").write_text("y")\'',
    "python -c 'import shutil; shutil.rmtree(\"build\")'",
    "vim f",
    "nano f",
    "ed f",
    "install -m 755 a /usr/local/bin/a",
    "tar xzf a.tgz",
    "tar -czf a.tgz src",
    "unzip a.zip",
    "gunzip a.gz",
    "curl -o page.html https://example.com",
    "curl -O https://example.com/a.tgz",
    "wget https://example.com/a.tgz",
    "find . -name '*.pyc' -delete",
    "find . -name '*.orig' -exec rm {} \\;",
    "ls | xargs rm",
    "ls | xargs -0 -n1 rm -f",
    'bash -c "rm x"',
    "bash -lc 'rm x'",
    "sh -c 'echo > y'",
    "zsh -c 'touch y'",
    "bash -c \"bash -c 'rm x'\"",
    "env X=1 rm f",
    "env -i PATH=/bin rm f",
    "sudo rm f",
    "sudo -u bob rm f",
    "X=1 Y=2 rm f",
    "nohup rm x &",
    "timeout 10 rm x",
    "nice -n 5 rm x",
    "time rm x",
    "eval 'rm x'",
    "echo $(rm x)",
    'echo "$(touch y)"',
    "echo `mv a b`",
    "cat <(rm x)",
    "for f in *.py; do rm $f; done",
    "if true; then rm x; fi",
    "while read f; do rm $f; done < list",
    "f() { rm x; }; f",
    "! rm x",
    "{ rm x; }",
    "rm 'unterminated",
    "echo 'unterminated > x",
    "git commit -m 'unterminated",
    "echo 'unterminated",  # bash runs what comes before the error: unreadable text writes
    "cargo build",
    "go build ./...",
    "make",
    "npm run build",
]

READ_ONLY_COMMANDS = [
    "ls -la",
    "cat a b",
    "grep -rn TODO src",
    "rg 'fn main' -g '*.rs'",
    "git status",
    "git status --short",
    "git diff HEAD~1",
    "git log --oneline -20",
    "git show HEAD:src/app.py",
    "git blame src/app.py",
    "git branch",
    "git branch -a",
    "git branch --show-current",
    "git branch --contains HEAD",
    "git tag",
    "git tag -l 'v*'",
    "git stash list",
    "git worktree list",
    "git config user.name",
    "git config --get remote.origin.url",
    "git fetch",
    "git rev-parse HEAD",
    "sed -n 1p f",
    "sed -e 's/i/j/' f",
    "sed 's/a/b/' f | head",
    "perl -ne 'print if /x/' f",
    "awk '/inplace/ {print}' f",
    "python -m pytest",
    "python -m pytest -x -q tests/test_guard.py",
    "pytest -q",
    "uv run pytest",
    "poetry run pytest",
    "npm test",
    "npm run lint",
    "yarn test",
    "cargo test",
    "cargo fmt --check",
    "go test ./...",
    "go vet ./...",
    "make test",
    "ruff check .",
    "ruff format --check .",
    "black --check .",
    "isort --check-only .",
    "npx eslint .",
    "mypy src",
    "python -c 'print(1)'",
    "python script.py",
    "conductor status",
    "conductor complete review --token 3-0123456789abcdef --artifact review.json",
    "conductor heartbeat review",
    "conductor claim review",
    "NANOSTACK_AGENT=codex-7b21e0aa conductor complete review",
    "python -m conductor_tui.cli complete review",
    "ls 2>/dev/null",
    "ls > /dev/null 2>&1",
    "ls 2>&1 | head -5",
    "echo hi >&2",
    "cat < input.txt",
    "grep '>' f",
    'echo "a > b"',
    "echo 'rm -rf /'",
    "echo rm",
    "ls -la # rm -rf x",
    "cat <<'EOF'\nrm -rf /\nEOF",
    "wc -l <<< 'a > b'",
    "command -v rm",
    "which rm",
    "type rm",
    "find . -name '*.py'",
    "find . -name '*.py' -exec grep -l TODO {} +",
    "ls | xargs cat",
    "bash -lc 'rg TODO'",
    "sh -c 'git status'",
    "tar tzf a.tgz",
    "unzip -l a.zip",
    "gzip -c f",
    "zcat a.gz",
    "curl -s https://example.com",
    "curl -o /dev/null https://example.com",
    "wget --spider https://example.com",
    "wget -O - https://example.com",
    "dd if=a of=/dev/null",
    "tee",
    "echo $((1 + 2))",
    "echo ${HOME}",
    "",
    "   ",
]


@pytest.mark.parametrize("command", MUTATING)
def test_mutating_commands(command: str) -> None:
    reason = is_mutating_command(command)
    assert reason, f"{command!r} should be read as a write"
    assert "\n" not in reason


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS)
def test_read_only_commands(command: str) -> None:
    assert is_mutating_command(command) is None


def test_reasons_are_specific() -> None:
    assert is_mutating_command("ls && rm -rf /x") == "`rm` deletes /x"
    assert is_mutating_command("echo hi > /out.txt") == "redirects output into /out.txt"
    assert is_mutating_command("git commit -m x") == "`git commit` changes the repository"
    assert is_mutating_command("npm install") == (
        "`npm install` changes installed packages, lock files or the tree"
    )
    assert is_mutating_command("echo > out.txt") == (
        "redirects output into out.txt (a relative path from a directory the guard cannot know)"
    )
    reason = is_mutating_command("rm 'x")
    assert reason is not None and reason.startswith("the command cannot be read as shell")


def test_deep_nesting_and_huge_commands_count_as_writes() -> None:
    nested = "$(" * 50 + "ls" + ")" * 50
    assert is_mutating_command(nested) == "the command is nested too deeply to read"
    assert is_mutating_command("eval " * 1000 + "ls") == "the command is nested too deeply to read"
    huge = "ls " + "a" * (300 * 1024)
    reason = is_mutating_command(huge)
    assert reason is not None and reason.startswith("the command is too long")


def test_classifier_is_fast_on_large_input() -> None:
    command = "git status && " * 10_000 + "ls"
    start = time.perf_counter()
    assert is_mutating_command(command) is None
    assert time.perf_counter() - start < 2.0


# ---------------------------------------------------------------- identity


def test_agent_from_payload() -> None:
    assert agent_from_payload(parse_hook(CLAUDE_WRITE)) == "claude-5e1a90c2"
    assert agent_from_payload(parse_hook(CODEX_APPLY_PATCH)) == "codex-7b21e0aa"
    assert agent_from_payload(parse_hook(b'{"tool": "Write", "input": {}}')) is None
    odd = parse_hook(claude("Read", {}, session_id="ab/c d;e9999"))
    assert agent_from_payload(odd) == "claude-ab_c_d_e"
    assert agent_from_payload(parse_hook(claude("Read", {}, session_id=""))) is None
    assert agent_from_payload(parse_hook(claude("Read", {}, session_id=7))) is None


def test_guard_identity_precedence() -> None:
    call = parse_hook(CLAUDE_WRITE)
    named = guard_identity(call, env={"NANOSTACK_AGENT": "alice", "USER": "dev"}, ppid=42)
    assert (named.agent, named.source) == ("alice", "$NANOSTACK_AGENT")
    env_session = guard_identity(call, env={"CODEX_SESSION_ID": "0123456789"}, ppid=42)
    assert env_session.agent == "codex-01234567"
    # the parent-pid fallbacks mean nothing in a hook: the payload's session wins over them
    derived = guard_identity(call, env={"USER": "dev", "CLAUDE_CODE": "1"}, ppid=42)
    assert (derived.agent, derived.unstable) == ("claude-5e1a90c2", False)
    generic = parse_hook(b'{"tool": "Write", "input": {}}')
    fallback = guard_identity(generic, env={"USER": "dev"}, ppid=42)
    # the account is the system's name for this process's user (as whoami says), not $USER
    assert (fallback.agent, fallback.unstable) == (f"agent-{account_name()}-42", True)


# ---------------------------------------------------------------- a real store


def test_end_to_end_with_a_real_store(tmp_path: Path, clock: FakeClock, live_pid, dead_pid) -> None:
    project = tmp_path / "shop"
    (project / "src").mkdir(parents=True)
    store = Store(str(project / ".nanostack"), clock=clock)
    phases = [
        {"name": "review", "depends_on": []},  # read (built-in)
        {"name": "build", "depends_on": []},  # write (built-in)
        {"name": "ship", "depends_on": []},  # exclusive (built-in)
        {"name": "notes", "depends_on": [], "concurrency": "read"},  # read (sprint.json)
    ]
    sprint = store.start(str(project), agent="lead", phases=phases)
    classes, _, _ = resolve_concurrency(
        sprint.record.phases, store=store.root, home=str(tmp_path / "home")
    )
    assert classes == {"review": "read", "build": "write", "ship": "exclusive", "notes": "read"}
    me, other = "codex-7b21e0aa", "claude-5e1a90c2"
    pid, start = live_pid
    kw: dict[str, Any] = {"project": str(project), "allow_under": [store.root]}

    def held(agent: str) -> list[tuple[str, Any]]:
        return held_phases(sprint.view(), classes, agent)

    def verdict(raw: bytes, agent: str = me) -> Decision:
        return decide(parse_hook(raw), held(agent), agent=agent, **kw)

    write = claude("Write", {"file_path": str(project / "src" / "app.py"), "content": "x"})
    artifact = claude(
        "Write", {"file_path": os.path.join(store.root, "review", "r.json"), "content": "{}"}
    )
    read = claude("Read", {"file_path": str(project / "src" / "app.py")})

    def bash(command: str) -> bytes:  # the agent works in the project
        return claude("Bash", {"command": command}, cwd=str(project))

    assert held(me) == []
    assert verdict(write).allow

    review = sprint.claim("review", agent=me, holder_pid=pid, holder_start=start)
    assert held(me) == [("review", "read")]
    blocked = verdict(write)
    assert not blocked.allow
    one_line_naming(blocked.reason, "review", me, "src/app.py")
    assert not verdict(bash("git commit -am wip")).allow
    assert verdict(read).allow
    assert verdict(bash("git diff")).allow
    assert verdict(artifact).allow  # the store is not the tree
    assert verdict(bash(f"conductor complete review --token {review.token}")).allow
    assert held(other) == [] and verdict(write, other).allow  # someone else's claim

    build = sprint.claim("build", agent=me, holder_pid=pid, holder_start=start)
    assert held(me) == [("review", "read"), ("build", "write")]
    assert verdict(write).allow and verdict(bash("rm -rf build")).allow

    sprint.abort("build", agent=me, token=build.token)
    assert not verdict(write).allow
    sprint.complete("review", agent=me, token=review.token)
    assert held(me) == [] and verdict(write).allow

    # a stale claim is not held: its holder is gone, so it protects nothing
    dpid, dstart = dead_pid
    sprint.claim("notes", agent=me, holder_pid=dpid, holder_start=dstart)
    assert sprint.view().phase("notes").status == "stale"  # type: ignore[union-attr]
    assert held(me) == [] and verdict(write).allow

    sprint.claim("ship", agent=me, holder_pid=pid, holder_start=start)
    assert held(me) == [("ship", "exclusive")]
    assert verdict(write).allow


# ---------------------------------------------------------------- hygiene


def test_guard_package_is_light_to_import() -> None:
    code = (
        "import sys, conductor_tui.guard as g\n"
        'g.decide(g.parse_hook(b\'{"tool_name": "Read", "tool_input": {}}\'), [])\n'
        "heavy = [m for m in sys.modules\n"
        "         if m.split('.')[0] in ('pydantic', 'textual', 'watchdog')\n"
        "         or m in ('conductor_tui.core.guard', 'conductor_tui.core.store')]\n"
        "print(heavy)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "[]"


def test_hook_call_defaults_are_a_problem_free_noop() -> None:
    call = HookCall(tool="Read")
    assert mutation(call) is None and decide(call, READ_ONLY).allow


@pytest.mark.parametrize("tool", ["StrReplace", "Delete"])
def test_cursors_strreplace_and_delete_are_writes(tool: str) -> None:
    """Cursor's preToolUse names (its hooks documentation): StrReplace edits a file and Delete
    removes one; during a read phase both are blocked, with the file named."""
    call = parse_hook(claude(tool, {"path": f"{PROJECT}/src/app.py"}))
    assert mutation(call, project=PROJECT) == f"{tool} to src/app.py"
    decision = decide(call, READ_ONLY)
    assert not decision.allow and "src/app.py" in decision.reason
