"""Hook payloads in the shapes the agent hosts document (docs/AGENTS.md says which page each shape
comes from), and helpers that run our hooks as the hosts do: a subprocess, JSON on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

CLAUDE_SESSION = "5e1a90c2-7f3b-4c1e-9d2a-0b6c8e4f1a37"
CODEX_SESSION = "7b21e0aa-81c0-7800-8aa1-bbab2a035a53"
CURSOR_CONVERSATION = "cdefee2d-2727-4b73-bf77-d9d830f31d2a"
CLAUDE_AGENT = "claude-5e1a90c2"
CODEX_AGENT = "codex-7b21e0aa"
CURSOR_AGENT = "cursor-cdefee2d"

IDENTITY_VARS = (
    "NANOSTACK_AGENT",
    "NANOSTACK_STORE",
    "CLAUDE_SESSION_ID",
    "CLAUDE_CODE",
    "CLAUDECODE",
    "CODEX_SESSION_ID",
    "OPENCODE_SESSION_ID",
    "CLAUDE_ENV_FILE",
    "CODEX_ENV_FILE",
)


def claude(event: str, cwd: str, **extra: Any) -> dict[str, Any]:
    """Claude Code's common input fields (hooks reference, "Hook input"), then the event's."""
    base: dict[str, Any] = {
        "session_id": CLAUDE_SESSION,
        "transcript_path": f"/home/dev/.claude/projects/-home-dev-shop/{CLAUDE_SESSION}.jsonl",
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": event,
    }
    if event == "PostToolUse":  # PostToolUse input: tool_name, tool_input, tool_response
        base.update(
            tool_name="Write",
            tool_input={"file_path": f"{cwd}/notes.txt", "content": "file content"},
            tool_response={"filePath": f"{cwd}/notes.txt", "success": True},
            tool_use_id="toolu_01ABC123",
        )
    elif event == "PreToolUse":
        base.update(
            tool_name="Write",
            tool_input={"file_path": f"{cwd}/src/app.py", "content": "x"},
            tool_use_id="toolu_01HXc2mJ8qgk5v7Yw3RZ9bTn",
        )
    elif event == "SessionStart":  # SessionStart input: source, model
        base.update(source="startup", model="claude-sonnet-4-5-20250929")
    elif event == "Stop":  # Stop input: stop_hook_active
        base.update(stop_hook_active=False)
    base.update(extra)
    return base


def codex(event: str, cwd: str, **extra: Any) -> dict[str, Any]:
    """Codex's command-hook inputs (its generated *.command.input.schema.json files)."""
    base: dict[str, Any] = {
        "session_id": CODEX_SESSION,
        "transcript_path": None,
        "cwd": cwd,
        "hook_event_name": event,
        "model": "gpt-5-codex",
        "permission_mode": "default",
    }
    if event == "PostToolUse":
        base.update(
            turn_id="3",
            tool_name="Bash",
            tool_input={"command": "ls"},
            tool_response={"output": "", "exit_code": 0},
            tool_use_id="call_Zq1x8Yh3",
        )
    elif event == "SessionStart":
        base.update(source="startup")
    elif event == "Stop":
        base.update(turn_id="3", stop_hook_active=False, last_assistant_message="Done.")
    base.update(extra)
    return base


def cursor(event: str, workspace: str, **extra: Any) -> dict[str, Any]:
    """Cursor's common input fields (hooks page, "Common schema"), then the event's."""
    base: dict[str, Any] = {
        "conversation_id": CURSOR_CONVERSATION,
        "generation_id": "26b45fb6-bdea-439c-b2dc-5e97ee00ecea",
        "model": "claude-sonnet-4-5",
        "hook_event_name": event,
        "cursor_version": "2.0.77",
        "workspace_roots": [workspace],
        "user_email": "dev@example.com",
        "transcript_path": None,
    }
    if event == "postToolUse":
        base.update(
            tool_name="Shell",
            tool_input={"command": "ls"},
            tool_output='{"exitCode": 0}',
            duration=150,
        )
    elif event == "sessionStart":
        base.update(
            session_id=CURSOR_CONVERSATION, is_background_agent=False, composer_mode="agent"
        )
    elif event == "stop":
        base.update(status="completed", loop_count=0)
    base.update(extra)
    return base


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a hook process: no identity variables unless given."""
    env = {k: v for k, v in os.environ.items() if k not in IDENTITY_VARS}
    env.update(extra)
    return env


def run_hook(
    event: str,
    host: str,
    payload: dict[str, Any] | bytes,
    *,
    cwd: str,
    store: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`conductor hooks run EVENT --for HOST` as a host runs it (through the module until cli.py
    dispatches `hooks`)."""
    argv = [sys.executable, "-m", "conductor_tui.agents.hooks", "run", event, "--for", host]
    if store:
        argv += ["--store", store]
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    done = subprocess.run(
        argv, input=raw, capture_output=True, cwd=cwd, env=env or clean_env(), timeout=timeout
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def run_module(
    module: str, *args: str, cwd: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m conductor_tui.agents.MODULE ARGS...`."""
    return subprocess.run(
        [sys.executable, "-m", f"conductor_tui.agents.{module}", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or clean_env(),
        timeout=timeout,
    )
