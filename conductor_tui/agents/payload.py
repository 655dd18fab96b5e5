"""A hook's JSON payload, read cheaply, and who is calling.

The hook entry points run on every tool call, so this module imports only the standard library
and the core's name rules. The calling agent is named as `conductor guard` names it
(docs/GUARD.md, "Who is calling"): a stable name from the environment ($NANOSTACK_AGENT or a
session variable) first, else the payload's session: `claude-<first 8 of session_id>`,
`codex-<first 8 of session_id>`, `cursor-<first 8 of conversation_id>` (Cursor's hooks name the
conversation; its sessionStart also gives it as session_id), else the parent-process fallback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_PAYLOAD = 1 << 20


def read_stdin() -> bytes:
    """The payload from standard input (at most MAX_PAYLOAD bytes); b'' when unreadable."""
    try:
        return sys.stdin.buffer.read(MAX_PAYLOAD + 1)
    except (OSError, ValueError, AttributeError):
        return b""


def parse(raw: bytes) -> dict[str, Any]:
    """The payload as an object; {} when it is not a JSON object (a hook must not fail on it)."""
    from ..core.jsonio import MalformedJSON, loads_strict

    if not raw.strip() or len(raw) > MAX_PAYLOAD:
        return {}
    try:
        obj = loads_strict(raw, limit=MAX_PAYLOAD)
    except MalformedJSON:
        return {}
    return obj if isinstance(obj, dict) else {}


def text(payload: Mapping[str, Any], key: str) -> str | None:
    """A non-empty string field of the payload, or None."""
    value = payload.get(key)
    return value if isinstance(value, str) and value else None


def session_of(payload: Mapping[str, Any], host: str) -> str | None:
    """The id the host gives this session."""
    if host == "cursor":
        return text(payload, "conversation_id") or text(payload, "session_id")
    return text(payload, "session_id")


def agent_for(
    payload: Mapping[str, Any], host: str, env: Mapping[str, str] | None = None
) -> tuple[str, bool]:
    """(agent name, stable): the environment's stable name, else the payload's session, else the
    parent-process fallback (stable False: it names this hook process's parent, not the agent)."""
    from ..core.paths import AGENT_RE, MAX_AGENT, clean_name, detect_agent

    env = os.environ if env is None else env
    ident = detect_agent(env)
    if not ident.unstable:
        return ident.agent, True
    session = session_of(payload, host)
    if session:
        name = f"{host}-{clean_name(session[:8])}"
        if len(name) <= MAX_AGENT and AGENT_RE.fullmatch(name):
            return name, True
    return ident.agent, False


def cwd_of(payload: Mapping[str, Any]) -> str | None:
    """Where the agent works: the payload's cwd, else Cursor's first workspace root."""
    cwd = text(payload, "cwd")
    if cwd is None:
        roots = payload.get("workspace_roots")
        if isinstance(roots, list) and roots and isinstance(roots[0], str):
            cwd = roots[0]
    if cwd and os.path.isabs(cwd) and "\0" not in cwd and os.path.isdir(cwd):
        return cwd
    return None
