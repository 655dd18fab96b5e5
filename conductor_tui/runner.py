"""`conductor run`: hold a phase for the life of a command, heartbeating, then settle it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cli import Context


def run_phase(ctx: Context) -> int:
    """Claim, run the command, keep the lease alive, complete on 0 or abort; return its code."""
    from .core.errors import BadInput, ConductorError, Fenced
    from .core.liveness import holder_process

    args = ctx.args
    cmd = list(args.cmd)
    if not cmd:
        raise BadInput("run needs a command: conductor run PHASE -- CMD [ARGS...]")
    sprint = ctx.sprint()
    agent = ctx.agent()
    pid, start = holder_process(os.getpid())  # this process holds the claim while CMD runs
    owner = sprint.claim(args.phase, agent=agent, ttl=args.ttl, holder_pid=pid, holder_start=start)
    token = owner.token
    claimed = {"token": token, "epoch": owner.epoch}
    if not ctx.json:  # with --json the one object comes at the end
        ctx.emit("OK", f"claimed {args.phase!r} (token {token}); running {cmd[0]}")
        sys.stdout.flush()
    try:
        from . import cli

        child = subprocess.Popen(cmd, env=cli.INHERITED_ENV)
    except OSError as exc:
        sprint.abort(args.phase, agent=agent, token=token)
        raise BadInput(f"cannot run {cmd[0]!r}: {exc.strerror}") from None

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    every = args.every or max(1.0, args.ttl / 3)
    fenced = False
    while True:
        try:
            code = child.wait(timeout=every)
            break
        except subprocess.TimeoutExpired:
            if fenced:
                continue
            try:
                sprint.heartbeat(args.phase, agent=agent, token=token)
            except Fenced as exc:
                fenced = True
                print(
                    f"warning: {exc.message}; the command keeps running unguarded", file=sys.stderr
                )
            except ConductorError as exc:
                print(f"warning: heartbeat failed: {exc.message}", file=sys.stderr)
    code = 128 - code if code < 0 else code
    try:
        if code == 0:
            from .cli import checkpoint_rule

            sprint.complete(
                args.phase,
                agent=agent,
                token=token,
                artifact=args.artifact,
                validate=checkpoint_rule(args),
            )
            ctx.emit("OK", f"completed {args.phase!r}", {**claimed, "exit_code": 0})
        else:
            sprint.abort(args.phase, agent=agent, token=token)
            message = f"aborted {args.phase!r}: command exited {code}"
            ctx.emit("OK", message, {**claimed, "exit_code": code})
    except BadInput as exc:
        sprint.abort(args.phase, agent=agent, token=token)
        # reported like every other error, in the caller's format (one JSON object with --json)
        raise BadInput(f"{exc.message}; releasing the claim") from None
    return code
