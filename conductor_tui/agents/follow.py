"""`conductor watch [--on-stale CMD] [--on-ready CMD] [--json] [--interval S]`: follow the
sprint without a screen.

Every interval the project's active sprint is read once (the core's one reading of each phase)
and compared with the previous reading. A phase whose state changed is an event named after its
new state (`stale`, `ready`, `suspect`, `contested`, `held`, `done`...); the first reading counts
as a change from nothing, so a lock that is already stale, or a phase already claimable, is
reported when watch starts. With --json each event is one JSON object on its own line; without,
one line for people.

`--on-stale CMD` runs when a lock turns stale, `--on-ready CMD` when a phase becomes claimable.
CMD is split like a shell would split words (shlex) and run WITHOUT a shell; the event reaches
it only through the environment, never through its command line:

    CONDUCTOR_EVENT     stale or ready
    CONDUCTOR_PHASE     the phase
    CONDUCTOR_AGENT     the agent named by the lock ("" for a ready phase)
    CONDUCTOR_EVIDENCE  why the verdict, "; "-separated (the holder pid is gone, the lease ran out)
    CONDUCTOR_SPRINT    the sprint id;  CONDUCTOR_PROJECT  its project;  CONDUCTOR_STATUS the state
    CONDUCTOR_WAS       the state before

To use a shell, name it: `--on-stale 'sh -c "notify-send conductor \\"$CONDUCTOR_PHASE\\""'` (the
variables are expanded by that shell from the environment, not pasted into the command). CMD's
output goes to standard error, so that stdout holds only events; when it ends, a `command` event
reports its exit code. watch never waits for a command: a slow one does not delay the next
reading. SIGINT and SIGTERM end watch cleanly (exit 0).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from ..core.errors import BadInput
from ..text import safe
from . import common

if TYPE_CHECKING:
    from ..core.models import PhaseView, SprintView

HOOKED = {"stale": "on_stale", "ready": "on_ready"}


@dataclass
class Event:
    """One change of one phase."""

    event: str
    phase: str
    was: str | None
    agent: str
    evidence: list[str]
    sprint_id: str
    project: str
    at: float

    def as_json(self) -> dict[str, Any]:
        from ..core.liveness import iso

        return {
            "event": self.event,
            "phase": self.phase,
            "was": self.was,
            "agent": self.agent,
            "evidence": self.evidence,
            "sprint_id": self.sprint_id,
            "project": self.project,
            "at": iso(self.at),
        }

    def env(self) -> dict[str, str]:
        return {
            "CONDUCTOR_EVENT": self.event,
            "CONDUCTOR_PHASE": self.phase,
            "CONDUCTOR_AGENT": self.agent,
            "CONDUCTOR_EVIDENCE": "; ".join(self.evidence),
            "CONDUCTOR_SPRINT": self.sprint_id,
            "CONDUCTOR_PROJECT": self.project,
            "CONDUCTOR_STATUS": self.event,
            "CONDUCTOR_WAS": self.was or "",
        }


def _evidence(pv: PhaseView) -> list[str]:
    if pv.status == "blocked":
        return [f"needs {', '.join(pv.blocked_by)}"]
    if pv.lock is not None and pv.status != "done":
        return list(pv.lock.evidence)
    return list(pv.problems)


def changes(before: dict[str, str], view: SprintView, now: float) -> list[Event]:
    """The events between the previous reading's states and this view."""
    out = []
    for pv in view.phases:
        was = before.get(pv.name)
        if was == pv.status:
            continue
        agent = pv.agent if pv.status != "ready" else ""
        out.append(
            Event(pv.status, pv.name, was, agent, _evidence(pv), view.sprint_id, view.project, now)
        )
    return out


@dataclass
class Watcher:
    """The loop's state: the last reading, the commands running, where output goes."""

    project: str
    store_root: str
    commands: dict[str, list[str]]
    as_json: bool
    out: TextIO = field(default_factory=lambda: sys.stdout)
    sprint_id: str | None = None
    states: dict[str, str] = field(default_factory=dict)
    running: list[tuple[subprocess.Popen[bytes], Event]] = field(default_factory=list)
    said_no_sprint: bool = False

    def say(self, data: dict[str, Any], human: str) -> None:
        text = json.dumps(data, ensure_ascii=False) if self.as_json else human
        print(text, file=self.out, flush=True)

    def tick(self) -> None:
        """One reading: report what changed, start the commands it calls for, reap finished ones."""
        from ..core.store import Store

        self.reap()
        store = Store(self.store_root)
        sprint = store.find_active(self.project) if os.path.isdir(store.root) else None
        if sprint is None:
            if not self.said_no_sprint:
                self.said_no_sprint = True
                self.say(
                    {"event": "no-sprint", "project": self.project, "store": store.root},
                    f"WAIT: no active sprint for {safe(self.project)} in {safe(store.root)}; "
                    "watching for one",
                )
            self.sprint_id, self.states = None, {}
            return
        self.said_no_sprint = False
        view = sprint.view()
        if view.sprint_id != self.sprint_id:
            self.sprint_id, self.states = view.sprint_id, {}
            self.say(
                {"event": "sprint", "sprint_id": view.sprint_id, "project": view.project},
                f"SPRINT: {safe(view.sprint_id, 80)} ({safe(view.project)})",
            )
        for ev in changes(self.states, view, time.time()):
            self.report(ev)
        self.states = {pv.name: pv.status for pv in view.phases}

    def report(self, ev: Event) -> None:
        who = f" ({safe(ev.agent)})" if ev.agent else ""
        why = f": {safe('; '.join(ev.evidence), 300)}" if ev.evidence else ""
        self.say(ev.as_json(), f"{ev.event.upper()}: {ev.phase}{who}{why}")
        argv = self.commands.get(ev.event)
        if argv:
            self.start(argv, ev)

    def start(self, argv: list[str], ev: Event) -> None:
        env = {**os.environ, **ev.env()}
        try:
            proc = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=sys.stderr, close_fds=True
            )
        except OSError as exc:
            print(
                f"warning: --on-{ev.event} {safe(argv[0])}: {exc.strerror or exc}", file=sys.stderr
            )
            return
        self.running.append((proc, ev))

    def reap(self) -> None:
        still = []
        for proc, ev in self.running:
            code = proc.poll()
            if code is None:
                still.append((proc, ev))
                continue
            self.say(
                {"event": "command", "for": ev.event, "phase": ev.phase, "exit": code},
                f"COMMAND: --on-{ev.event} for {ev.phase} exited {code}",
            )
        self.running = still


def _command(value: str | None, flag: str) -> list[str] | None:
    if value is None:
        return None
    try:
        argv = shlex.split(value)
    except ValueError as exc:
        raise BadInput(f"{flag} {value!r} cannot be split into words: {exc}") from None
    if not argv:
        raise BadInput(f"{flag} is empty")
    return argv


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadInput(f"--interval {text!r} is not a number") from None
    if not 0.05 <= value <= 3600:
        raise BadInput("--interval must be between 0.05 and 3600 seconds")
    return value


def loop(w: Watcher, interval: float, stop: Callable[[], bool], wake: int | None) -> None:
    """Read, report, then wait for the interval or a signal, until stop() says so."""
    while not stop():
        w.tick()
        deadline = time.monotonic() + interval
        while not stop():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if wake is None:
                time.sleep(min(left, 0.1))
                continue
            ready, _, _ = select.select([wake], [], [], left)
            if ready:
                with contextlib.suppress(OSError):
                    os.read(wake, 512)
        w.reap()


def main(argv: list[str]) -> int:
    """`conductor watch ...`."""
    p = common.Parser(
        prog="conductor watch",
        description="Follow the sprint without a screen; run commands when a lock turns stale "
        "or a phase becomes claimable.",
    )
    common.add_common(p)
    p.add_argument("--on-stale", metavar="CMD", help="run CMD (no shell) when a lock turns stale")
    p.add_argument("--on-ready", metavar="CMD", help="run CMD when a phase becomes claimable")
    p.add_argument("--interval", default="2", help="seconds between readings (default 2)")
    args = p.parse_args(argv)
    stopping: list[int] = []

    def body() -> int:
        from ..core.paths import find_store

        project = common.project_of(args)
        commands = {}
        for event, attr in HOOKED.items():
            cmd = _command(getattr(args, attr), f"--on-{event}")
            if cmd:
                commands[event] = cmd
        interval = _interval(args.interval)
        w = Watcher(project, find_store(args.store, project), commands, args.json)
        r, wfd = os.pipe()
        os.set_blocking(wfd, False)
        old_wake = signal.set_wakeup_fd(wfd)

        def on_signal(signum: int, _frame: object) -> None:
            stopping.append(signum)

        old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            loop(w, interval, lambda: bool(stopping), r)
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)
            signal.set_wakeup_fd(old_wake)
            os.close(r)
            os.close(wfd)
        w.reap()
        return 0

    return common.guarded(args.json, "watch", body)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
