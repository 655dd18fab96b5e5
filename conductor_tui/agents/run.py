"""`conductor hooks run EVENT --for HOST [--store S] [--project P] [--agent A]`: the command
every installed hook runs, with the host's JSON payload on standard input.

    pre-tool-use   `conductor guard`: exit 0 allows, exit 2 blocks with one line on stderr
    post-tool-use  renew the calling agent's leases (renew.py); always exit 0, nothing printed
    session-start  prime's text for the agent's context (prime.py); always exit 0
    stop           a one-line reminder while the agent holds a claim (prime.py); always exit 0

It starts on every tool call, so this module imports nothing but `sys` and reads its options
without argparse; each event imports what it needs.
"""

from __future__ import annotations

import contextlib
import sys

EVENTS = ("pre-tool-use", "post-tool-use", "session-start", "stop")
HOSTS = ("claude", "codex", "cursor")


class Usage(Exception):
    """A mistake in the hook's own command line."""


def _run_options(argv: list[str]) -> tuple[str, dict[str, str | None]]:
    """`run EVENT [--for HOST] [--store S] [--project P] [--agent A]`, read without argparse
    (a hook starts on every tool call)."""
    if not argv or argv[0] not in EVENTS:
        raise Usage(f"hooks run: expected one of {', '.join(EVENTS)}")
    opts: dict[str, str | None] = {"for": "claude", "store": None, "project": None, "agent": None}
    rest = argv[1:]
    while rest:
        name = rest.pop(0)
        key, eq, inline = name.partition("=")
        key = key[2:] if key.startswith("--") else ""
        if key not in opts:
            raise Usage(f"hooks run: unknown option {name!r}")
        value = inline if eq else (rest.pop(0) if rest else None)
        if value is None:
            raise Usage(f"hooks run: {name} needs a value")
        opts[key] = value
    if opts["for"] not in HOSTS:
        raise Usage(f"hooks run: --for must be one of {', '.join(HOSTS)}")
    return argv[0], opts


def hook_run(argv: list[str]) -> int:
    """The installed hooks' entry point. pre-tool-use is `conductor guard` (exit 0 or 2); every
    other event exits 0 whatever happens, so that it can neither block nor break the agent."""
    try:
        event, opts = _run_options(argv)
    except Usage as exc:
        print(f"conductor hooks: {exc}", file=sys.stderr)
        return 2 if argv[:1] == ["pre-tool-use"] else 0
    host = opts["for"] or "claude"
    from . import payload

    raw = payload.read_stdin()
    if event == "post-tool-use":
        from .renew import hook_main

        return hook_main(
            raw, host=host, store=opts["store"], project=opts["project"], agent=opts["agent"]
        )
    if event == "pre-tool-use":
        return _guard(raw, host, opts)
    try:
        from . import prime

        if event == "session-start":
            out, note = prime.session_start(
                raw, host=host, store=opts["store"], project=opts["project"], agent=opts["agent"]
            )
        else:
            out = prime.stop_reminder(
                raw, host=host, store=opts["store"], project=opts["project"], agent=opts["agent"]
            )
            note = ""
        if out:
            print(out)
        if note:
            print(note, file=sys.stderr)
    except BaseException as exc:  # a session hook never fails the session
        with contextlib.suppress(BaseException):
            print(f"conductor hooks: {event}: {type(exc).__name__}: {exc}"[:300], file=sys.stderr)
    return 0


def _guard(raw: bytes, host: str, opts: dict[str, str | None]) -> int:
    """`conductor guard` on the payload; for Cursor, whose payload names no session the guard
    knows, the agent is named from its conversation (as the other hooks name it)."""
    try:
        from ..core.paths import logical_cwd
        from ..guard.hook import FALLBACK, run_hook

        agent = opts["agent"]
        if agent is None and host == "cursor":
            from . import payload

            name, stable = payload.agent_for(payload.parse(raw), host)
            agent = name if stable else None
        code, message = run_hook(
            raw, store=opts["store"], project=opts["project"], agent=agent, cwd=logical_cwd()
        )
        if message:
            print(message, file=sys.stderr, flush=True)
        return code
    except BaseException:  # the guard fails closed
        with contextlib.suppress(BaseException):
            print(FALLBACK, file=sys.stderr, flush=True)
        return 2


def main(argv: list[str]) -> int:
    """`conductor hooks run ...` (argv after `run`)."""
    return hook_run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
