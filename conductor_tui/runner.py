"""`conductor run`: hold a phase for the life of a command, heartbeating, then settle it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cli import Context
    from .core.store import Sprint
    from .sandbox import Ruleset


@dataclass(frozen=True)
class Confinement:
    """How a run's command is confined: the Landlock ruleset of a read phase, or why not."""

    ruleset: Ruleset | None = None
    read: bool = False  # the phase is a read phase
    why: str = ""  # why a read phase runs without the sandbox ("" when it has it)

    @property
    def sandboxed(self) -> bool:
        """The command runs under the kernel sandbox."""
        return self.ruleset is not None

    def words(self, phase: str) -> str:
        """How the command runs, for the claim line."""
        if self.sandboxed:
            return f" read-only under the sandbox ({phase} is a read phase)"
        if self.read:
            return f" WITHOUT the sandbox ({self.why})"
        return ""


def confinement(ctx: Context, sprint: Sprint) -> Confinement:
    """The sandbox a read phase's command runs in; Unavailable (exit 2) where Landlock is
    missing, unless --allow-unsandboxed. Decided before the claim, so a refusal changes nothing."""
    from . import sandbox

    args = ctx.args
    classes, _sources, _warnings = sprint.concurrency()
    if classes.get(args.phase) != "read":
        return Confinement()
    if args.no_sandbox:
        return Confinement(read=True, why="--no-sandbox")
    plan = sandbox.plan(sprint.record.project, store=sprint.store.root, allow=args.allow or ())
    try:
        return Confinement(sandbox.build(plan), read=True)
    except sandbox.Unavailable as exc:
        if not args.allow_unsandboxed:
            raise sandbox.Unavailable(
                f"{exc.message}; {args.phase} is a read phase, whose command runs under the "
                f"kernel sandbox: {sandbox.advice('--allow-unsandboxed (or --no-sandbox)')}"
            ) from None
        print(
            f"warning: {exc.message}; {args.phase} runs WITHOUT the sandbox "
            f"(--allow-unsandboxed): its command can write {plan.project}",
            file=sys.stderr,
        )
        return Confinement(read=True, why=f"--allow-unsandboxed: {exc.message}")


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
    confined = confinement(ctx, sprint)
    try:
        pid, start = holder_process(os.getpid())  # this process holds the claim while CMD runs
        owner = sprint.claim(
            args.phase, agent=agent, ttl=args.ttl, holder_pid=pid, holder_start=start
        )
        token = owner.token
        claimed = {"token": token, "epoch": owner.epoch, "sandboxed": confined.sandboxed}
        if confined.read and not confined.sandboxed:
            sprint.store.log(
                "unsandboxed",
                args.phase,
                agent,
                sprint=sprint.sprint_id,
                token=token,
                epoch=owner.epoch,
                detail=f"{confined.why} (command {os.path.basename(cmd[0])})",
            )
        if not ctx.json:  # with --json the one object comes at the end
            how = confined.words(args.phase)
            ctx.emit("OK", f"claimed {args.phase!r} (token {token}); running {cmd[0]}{how}")
            sys.stdout.flush()
        child = _start(
            cmd,
            confined,
            lambda: sprint.abort(args.phase, agent=agent, token=token),
            to_stderr=ctx.json,
        )
    finally:
        if confined.ruleset is not None:
            confined.ruleset.close()  # the child holds its own restriction; the runner has none

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
            if confined.sandboxed:
                message += (
                    f"; it ran read-only under the sandbox, which refuses every write into "
                    f"{sprint.record.project} (docs/SANDBOX.md)"
                )
            ctx.emit("OK", message, {**claimed, "exit_code": code})
    except BadInput as exc:
        sprint.abort(args.phase, agent=agent, token=token)
        # reported like every other error, in the caller's format (one JSON object with --json)
        raise BadInput(f"{exc.message}; releasing the claim") from None
    return code


def _start(
    cmd: list[str], confined: Confinement, abort: Callable[[], object], *, to_stderr: bool = False
) -> subprocess.Popen[bytes]:
    """Start the command, entering the sandbox between fork and exec; on failure release the
    claim and say why. With to_stderr (`run --json`) the command's stdout goes to our stderr,
    so that stdout carries nothing but the one JSON object."""
    from . import cli
    from .core.errors import BadInput

    ruleset = confined.ruleset
    try:
        return subprocess.Popen(
            cmd,
            env=cli.INHERITED_ENV,
            preexec_fn=ruleset.enter if ruleset else None,
            stdout=sys.stderr.fileno() if to_stderr else None,
        )
    except OSError as exc:
        abort()
        raise BadInput(f"cannot run {cmd[0]!r}: {exc.strerror}") from None
    except subprocess.SubprocessError:  # the child could not enter the sandbox
        abort()
        raise BadInput(
            f"cannot run {cmd[0]!r}: the sandbox could not be entered in its process"
        ) from None
