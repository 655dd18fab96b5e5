"""The hook's payload: one tool call as Claude Code, Codex or a generic host describes it.

Read strictly (UTF-8, no duplicate keys, no NaN, at most MAX_PAYLOAD bytes); an unreadable payload
is a HookCall with `problem` set, never an exception. Also here: which tools write files, which
run shell commands, the paths a writer tool names, and who the calling agent is.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..core.jsonio import MalformedJSON, loads_strict
from ..core.paths import AGENT_RE, MAX_AGENT, Identity, clean_name, detect_agent

Source = Literal["claude", "codex", "generic"]

MAX_PAYLOAD = 1 << 20  # 1 MiB: a hook payload carries one tool call

# Tools that write the file named in their input (Claude Code's, Codex's, and common generic
# names). Compared case-insensitively.
WRITE_TOOLS = frozenset(
    {
        "write",
        "edit",
        "multiedit",
        "notebookedit",
        "apply_patch",
        "create_file",
        "write_file",
        "edit_file",
        "str_replace_editor",
        "str_replace_based_edit_tool",
        "strreplace",  # Cursor's preToolUse names: StrReplace and Delete write files too
        "delete",
        "delete_file",
    }
)
# Tools that run a shell command (Claude Code: Bash; Codex: Bash, older shell tools).
SHELL_TOOLS = frozenset(
    {
        "bash",
        "shell",
        "shell_command",
        "exec_command",
        "local_shell",
        "run_shell_command",
        "execute_command",
    }
)
_PATH_KEYS = ("file_path", "notebook_path", "path", "filePath", "target_file")
_MCP_PATH_KEYS = (*_PATH_KEYS, "paths", "destination", "source", "target", "new_path", "old_path")
_MCP_WRITER = re.compile(
    r"(write|edit|create|delete|remove|move|rename|patch|mkdir|append|replace|insert|truncate)",
    re.IGNORECASE,
)
_PATCH_PATH = re.compile(r"^\*\*\* (?:Add File|Update File|Delete File|Move to): (.+)$", re.M)


@dataclass(frozen=True)
class HookCall:
    """One tool call as the hook payload describes it (problem is set when it was unreadable)."""

    tool: str = ""
    tool_input: Mapping[str, Any] = field(default_factory=dict)
    event: str | None = None
    session_id: str | None = None
    cwd: str | None = None  # where the agent is: relative paths start here (never the project)
    source: Source = "generic"
    problem: str | None = None


def _bad(problem: str) -> HookCall:
    return HookCall(problem=problem)


def parse_hook(raw: bytes) -> HookCall:
    """Read a hook payload strictly; an unreadable one yields a HookCall with `problem` set."""
    if not raw.strip():
        return _bad("empty hook payload")
    try:
        obj = loads_strict(raw, limit=MAX_PAYLOAD)
    except MalformedJSON as exc:
        return _bad(f"hook payload is not valid JSON: {exc}")
    if not isinstance(obj, dict):
        return _bad(f"hook payload is a JSON {type(obj).__name__}, not an object")
    if "tool_name" in obj:
        tool, tool_input = obj.get("tool_name"), obj.get("tool_input", {})
    elif "tool" in obj:
        tool, tool_input = obj.get("tool"), obj.get("input", obj.get("tool_input", {}))
    elif "toolName" in obj:  # camelCase hosts (toolName / toolArgs)
        tool, tool_input = obj.get("toolName"), obj.get("toolArgs", obj.get("toolInput", {}))
    else:
        return _bad("hook payload names no tool (expected tool_name or tool)")
    if not isinstance(tool, str) or not tool.strip() or len(tool) > 200:
        return _bad("hook payload's tool name is not a non-empty string")
    if tool_input is None:
        tool_input = {}
    if not isinstance(tool_input, dict):
        return _bad(f"hook payload's tool input is a {type(tool_input).__name__}, not an object")
    event = obj.get("hook_event_name")
    session = obj.get("session_id")
    cwd = obj.get("cwd")
    if "turn_id" in obj or tool == "apply_patch":
        source: Source = "codex"
    elif "tool_name" in obj and ("hook_event_name" in obj or "transcript_path" in obj):
        source = "claude"
    else:
        source = "generic"
    return HookCall(
        tool=tool,
        tool_input=tool_input,
        event=event if isinstance(event, str) else None,
        session_id=session if isinstance(session, str) and session else None,
        cwd=cwd if isinstance(cwd, str) and os.path.isabs(cwd) and _nameable(cwd) else None,
        source=source,
    )


def _nameable(path: str) -> bool:
    """Whether a path can name a file: no NUL, no lone surrogate."""
    try:
        os.fsencode(path)
    except UnicodeError:
        return False
    return "\0" not in path


def agent_from_payload(call: HookCall) -> str | None:
    """`claude-<first 8 of session_id>` (or `codex-...`) as the protocol names agents, or None."""
    if call.problem or not call.session_id or call.source == "generic":
        return None
    short = clean_name(call.session_id[:8])
    name = f"{call.source}-{short}"
    if len(name) > MAX_AGENT or not AGENT_RE.fullmatch(name):
        return None
    return name


def guard_identity(
    call: HookCall, *, env: Mapping[str, str] | None = None, ppid: int | None = None
) -> Identity:
    """The calling agent for a hook: a stable detected name, else the payload's, else detected.

    `--agent` (handled by the hook) comes before all of this. A stable name is $NANOSTACK_AGENT
    or a session variable; the parent-pid fallbacks of `detect_agent` mean nothing in a hook
    process, so the payload's session_id wins over them.
    """
    ident = detect_agent(env, ppid)
    if not ident.unstable:
        return ident
    derived = agent_from_payload(call)
    if derived is not None:
        return Identity(derived, "the hook payload's session_id")
    return ident


def command_of(tool_input: Mapping[str, Any]) -> str | None:
    """The shell command of a shell tool's input (a string, or an argv list joined)."""
    for key in ("command", "cmd"):
        value = tool_input.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return shlex.join(value)
    return None


def _patch_paths(tool_input: Mapping[str, Any]) -> list[str]:
    """The files a Codex apply_patch envelope adds, updates, deletes or moves to."""
    for key in ("command", "input", "patch"):
        value = tool_input.get(key)
        if isinstance(value, str):
            return [p.strip() for p in _PATCH_PATH.findall(value)]
    return []


def tool_targets(call: HookCall) -> list[str]:
    """The paths a writer tool names (empty when it names none we can read)."""
    if call.tool == "apply_patch":
        return _patch_paths(call.tool_input)
    keys = _MCP_PATH_KEYS if call.tool.startswith("mcp__") else _PATH_KEYS
    out: list[str] = []
    for key in keys:
        value = call.tool_input.get(key)
        if isinstance(value, str) and value:
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str) and v)
    return out


def is_writer_tool(call: HookCall) -> bool:
    """Whether the tool writes files: Write/Edit/MultiEdit/NotebookEdit/apply_patch and kin."""
    name = call.tool.lower()
    if name in WRITE_TOOLS:
        return True
    if call.tool.startswith("mcp__"):
        verb = call.tool.rsplit("__", 1)[-1]
        keys = set(call.tool_input)
        return bool(_MCP_WRITER.search(verb)) and bool(keys & set(_MCP_PATH_KEYS))
    return False


def is_shell_tool(call: HookCall) -> bool:
    """Whether the tool runs a shell command."""
    return call.tool.lower() in SHELL_TOOLS
