"""`conductor guard`: the agent hook that keeps an agent holding only read phases from writing.

A best-effort first line, for agents not started under `conductor sandbox` / `conductor run`
(the kernel sandbox is the guarantee, docs/SANDBOX.md); it fails closed (docs/GUARD.md).

    payload.py   the hook's JSON: the tool call, the agent's identity
    lexer.py     a POSIX-ish shell parser: words, substitutions, redirections, compounds
    opts.py      options read as getopt_long reads them, in every spelling
    tables.py    the commands the guard knows and their options
    inline.py    sed scripts, awk programs and interpreter code
    where.py     where a path really lands: project, store or elsewhere
    classify.py  the walk over a command line; commands.py: what each program writes
    decide.py    the decision for an agent's claims
    hook.py      the whole hook: payload in, exit code and one line out
"""

from __future__ import annotations

from .decide import Decision, decide, held_phases, is_mutating_command, mutation, needs_claims
from .hook import hook_main, run_hook
from .payload import (
    MAX_PAYLOAD,
    HookCall,
    agent_from_payload,
    guard_identity,
    is_writer_tool,
    parse_hook,
)

__all__ = [
    "MAX_PAYLOAD",
    "Decision",
    "HookCall",
    "agent_from_payload",
    "decide",
    "guard_identity",
    "held_phases",
    "hook_main",
    "is_mutating_command",
    "is_writer_tool",
    "mutation",
    "needs_claims",
    "parse_hook",
    "run_hook",
]
