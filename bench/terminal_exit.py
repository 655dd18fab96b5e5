"""How fast conductor-tui leaves when its terminal goes away, busy or idle: real processes, a pty.

    python bench/terminal_exit.py               # 5 runs of every way, medians
    python bench/terminal_exit.py --runs 9 --bound 5

The app runs as a terminal (tmux) runs it: `conductor-tui --store S --project P` on a fresh pty of
120x40 with TERM=xterm-256color, in a session of its own. The busy store is a sprint of 1,000
phases (p0000..p0999, 20 layers of 50, each phase after its namesake of the layer before) while
another process claims and aborts layer-0 phases about ten times a second through the store; the
idle one is the default 7-phase sprint with nobody writing. Once the app has drawn its screen (and,
busy, the writer has gone round a few times since), one of:

- close: the pty's master is closed, the pty being the app's controlling terminal, as when a tmux
  pane is killed: the kernel hangs the tty up and sends the app SIGHUP, then SIGCONT.
- close-no-ctty: the same on a pty that is not its controlling terminal (a hang-up that sends no
  signal): the app only sees end of file on input and EIO on output.
- hup, term: SIGHUP or SIGTERM on a live pty, which this harness keeps reading.
- demo-hup: `conductor-tui --demo` (7 agent processes) and SIGHUP.

The figure is the time from the close or the signal to the app's exit (a pidfd turns readable once
every thread of the process has ended); then the app must have exited with 128 + SIGHUP or
SIGTERM, no process may be left in its session, and, for the demo, no agent process alive and the
demo's directory gone. The app leaves by its own orderly path or, after 0.8 s, by its last resort
(conductor_tui/tui/main.py); the figures do not say which. No sleep times anything: waits are
selects on the pty, the writer's pipe and the pidfd, each with a deadline.

tests/tui/test_terminal_exit.py runs each way once with a generous bound. This prints the figures
and exits 1 when a run failed; it asserts nothing about speed beyond --bound.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PHASES = 1000
LAYER = 50
SIZE = (120, 40)
BOUND_S = 5.0  # "gone within": generous, for CI's 2 cores under load
START_S = 60.0  # how long the app may take to draw its first screen
WAYS = ("close", "close-no-ctty", "hup", "term")
EXIT_CODES = {
    "close": 128 + signal.SIGHUP,
    "close-no-ctty": 128 + signal.SIGHUP,
    "hup": 128 + signal.SIGHUP,
    "term": 128 + signal.SIGTERM,
    "demo-hup": 128 + signal.SIGHUP,
}
ALT_SCREEN = b"\x1b[?1049h"
DRAWN = 4096  # bytes after entering the alternate screen: a first paint of 120x40 is far more

# The app's entry, as the console script runs it, plus a stack dump of every thread on SIGUSR1
# into the file named first: a failure to exit then says where each thread is.
ENTRY = """\
import faulthandler, signal, sys
faulthandler.register(signal.SIGUSR1, file=open(sys.argv.pop(1), "w"), all_threads=True)
from conductor_tui.tui.main import main
sys.exit(main())
"""


@dataclass
class Sprint:
    """A store and the project whose active sprint the app shows."""

    store: str
    project: str


def make_sprint(base: str | Path, phases: int) -> Sprint:
    """A store under base with one active sprint: the default one (phases=0) or p0000.. layered."""
    from conductor_tui.core.store import Store

    project = os.path.join(base, "project")
    os.makedirs(project)
    graph = None
    if phases:
        graph = [
            {"name": f"p{i:04d}", "depends_on": [f"p{i - LAYER:04d}"] if i >= LAYER else []}
            for i in range(phases)
        ]
    store = Store(os.path.join(base, "store"))
    store.start(project, agent="bench-lead", phases=graph)
    return Sprint(store.root, project)


def writer_main(store_root: str, project: str, phases: list[str] | None = None) -> int:
    """The other process: claim a layer-0 phase (or one of `phases`, in turn), abort it, about
    ten times a second, for ever.

    One line on stdout per claim and abort, so the harness can tell it is at work.
    """
    from conductor_tui.core.errors import ConductorError
    from conductor_tui.core.store import Store

    sprint = Store(store_root).find_active(project)
    if sprint is None:
        print("no active sprint", file=sys.stderr)
        return 2
    agent = f"bench-writer-{os.getpid()}"
    i = 0
    while True:
        phase = phases[i % len(phases)] if phases else f"p{i % LAYER:04d}"
        i += 1
        try:  # a phase left held by an earlier writer that was killed is skipped
            owner = sprint.claim(phase, agent=agent, holder_pid=os.getpid())
            time.sleep(0.05)  # the workload's pace, not a measurement
            sprint.abort(phase, agent=agent, token=owner.token)
        except ConductorError:
            pass
        print(i, flush=True)
        time.sleep(0.05)


class Writer:
    """The writer process, and a count of the rounds it reported."""

    def __init__(self, sprint: Sprint, script: str = __file__) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, script, "writer", sprint.store, sprint.project],
            stdout=subprocess.PIPE,
            env=child_env(),
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        self._out = self.proc.stdout.fileno()
        os.set_blocking(self._out, False)
        self.rounds = 0

    def read(self) -> None:
        """Count the rounds reported so far (never blocks)."""
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self._out, 65536):
                self.rounds += chunk.count(b"\n")

    def fileno(self) -> int:
        """Readable when the writer has reported (for select)."""
        return self._out

    def stop(self) -> None:
        """Kill the writer."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child: the caller's, less what would steer the app or its size."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEXTUAL", "CONDUCTOR_"))
        and k not in ("NO_COLOR", "NANOSTACK_STORE", "COLUMNS", "LINES", "TMUX")
    }
    env.update(TERM="xterm-256color", **extra)
    return env


def _take_tty() -> None:
    """In the child, after setsid: make the pty on stdin our controlling terminal (as tmux does)."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def task_states(pid: int) -> list[tuple[str, str, str, int]]:
    """(tid, thread name, state, clock ticks used) of every thread of pid still listed in /proc."""
    rows = []
    with contextlib.suppress(OSError):
        for tid in sorted(os.listdir(f"/proc/{pid}/task")):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat", encoding="utf-8") as fh:
                    stat = fh.read()
                with open(f"/proc/{pid}/task/{tid}/comm", encoding="utf-8") as fh:
                    comm = fh.read().strip()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            rows.append((tid, comm, fields[0], int(fields[11]) + int(fields[12])))
    return rows


def session_members(sid: int) -> list[int]:
    """Pids of the live (not zombie) processes in session sid."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(name))
    return pids


def processes_naming(text: str) -> list[int]:
    """Pids of the live processes whose command line contains text (a demo's directory)."""
    needle = text.encode()
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if needle in cmdline:  # a zombie's command line is empty
            pids.append(int(name))
    return pids


class AppOnPty:
    """conductor-tui on a fresh pty of its own, read as a terminal reads it."""

    def __init__(
        self, argv: list[str], *, ctty: bool, diag: str, entry: str = ENTRY, **env: str
    ) -> None:
        self.master, slave = os.openpty()
        cols, rows = SIZE
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", entry, diag, *argv],
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=child_env(**env),
                start_new_session=True,
                preexec_fn=_take_tty if ctty else None,  # one ioctl: safe after fork
            )
        finally:
            os.close(slave)
        self.pid = self.proc.pid
        self.diag = diag
        self.pidfd = os.pidfd_open(self.pid)
        self.drawn = 0  # bytes after the alternate screen was entered
        self._head: bytes | None = b""  # the tail read before the alternate screen was entered
        self.tasks_at_exit: list[tuple[str, str, str, int]] = []

    def _read(self) -> None:
        if self.master < 0:
            return
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO once the app has closed its side
            return
        if self._head is not None:
            self._head += data
            at = self._head.find(ALT_SCREEN)
            if at >= 0:
                self.drawn = len(self._head) - at
                self._head = None
            else:
                self._head = self._head[-len(ALT_SCREEN) :]
        else:
            self.drawn += len(data)

    def exited(self) -> bool:
        """True once every thread of the app has ended (it may not be reaped yet)."""
        return bool(select.select([self.pidfd], [], [], 0)[0])

    def pump(self, until: float, *others: Writer) -> None:
        """Read the terminal (and others) until something happened or the deadline passed."""
        fds: list[int | Writer] = [self.pidfd, *others]
        if self.master >= 0:
            fds.append(self.master)
        ready, _, _ = select.select(fds, [], [], max(0.0, until - time.monotonic()))
        if self.master in ready:
            self._read()
        for other in others:
            if other in ready:
                other.read()

    def wait_drawn(self, writer: Writer | None = None, rounds: int = 3) -> None:
        """Wait until the app has drawn its screen and, if busy, the writer went round since."""
        deadline = time.monotonic() + START_S
        while self.drawn < DRAWN:
            if self.exited():
                raise RuntimeError(f"the app exited before drawing ({self.proc.wait()})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app drew {self.drawn} bytes in {START_S:g} s")
            self.pump(deadline, *([writer] if writer else []))
        if writer is not None:
            goal = writer.rounds + rounds
            while writer.rounds < goal:
                if time.monotonic() > deadline:
                    raise RuntimeError("the writer stopped writing")
                self.pump(deadline, writer)

    def hang_up(self, way: str) -> float:
        """Take the terminal away (close) or signal (hup, term); returns when it was done."""
        started = time.monotonic()
        if way.startswith("close"):
            os.close(self.master)
            self.master = -1
        else:
            self.proc.send_signal(signal.SIGTERM if way == "term" else signal.SIGHUP)
        return started

    def wait_gone(self, started: float, bound: float) -> float | None:
        """Seconds from started until the app exited, or None past the bound."""
        deadline = started + bound
        while not self.exited():
            if time.monotonic() > deadline:
                return None
            self.pump(deadline)
        gone = time.monotonic() - started
        self.tasks_at_exit = task_states(self.pid)  # the zombie's own entry at most
        return gone

    def diagnose(self) -> str:
        """What every thread of a live app is doing: /proc states and a stack dump of each."""
        lines = [f"pid {self.pid} threads (tid, name, state, ticks): {task_states(self.pid)}"]
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGUSR1)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not os.path.getsize(self.diag):
                select.select([self.pidfd], [], [], 0.05)
        with open(self.diag, encoding="utf-8", errors="replace") as fh:
            lines.append(fh.read())
        return "\n".join(lines)

    def close(self) -> None:
        """Kill the app if it is still there; release the descriptors."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
        os.close(self.pidfd)


@dataclass
class Run:
    """One app, taken away one way."""

    way: str
    busy: bool
    seconds: float | None = None  # to exit; None: still there past the bound
    code: int | None = None
    problems: list[str] = field(default_factory=list)


def run_once(
    sprint: Sprint | None,
    way: str,
    base: str | Path,
    *,
    writer: Writer | None = None,
    bound: float = BOUND_S,
) -> Run:
    """Start the app (on sprint, or --demo with sprint None), take its terminal away, check."""
    demo = sprint is None
    tmp = tempfile.mkdtemp(prefix="run-", dir=base)
    if demo:
        argv, ctty, env = ["--demo"], True, {"TMPDIR": tmp}
    else:
        assert sprint is not None
        argv = ["--store", sprint.store, "--project", sprint.project]
        ctty, env = way != "close-no-ctty", {}
    env["HOME"] = tmp  # no skill roots from the caller's home
    run = Run(way=way, busy=writer is not None)
    app = AppOnPty(argv, ctty=ctty, diag=os.path.join(tmp, "stacks.txt"), **env)
    try:
        app.wait_drawn(writer)
        roots = [os.path.join(tmp, n) for n in os.listdir(tmp) if n.startswith("conductor-demo-")]
        if demo and not roots:
            raise RuntimeError("the demo made no directory")
        started = app.hang_up(way.removeprefix("demo-"))
        run.seconds = app.wait_gone(started, bound)
        if run.seconds is None:
            run.problems.append(f"still running {bound:g} s after {way}:\n{app.diagnose()}")
            return run
        if len(app.tasks_at_exit) > 1:
            run.problems.append(f"threads left: {app.tasks_at_exit}")
        run.code = app.proc.wait()
        if run.code != EXIT_CODES[way]:
            run.problems.append(f"exit code {run.code}, not {EXIT_CODES[way]}")
        if left := session_members(app.pid):
            run.problems.append(f"processes left in the app's session: {left}")
        for root in roots:
            deadline = time.monotonic() + bound
            while (agents := processes_naming(root)) and time.monotonic() < deadline:
                select.select([], [], [], 0.02)  # an agent SIGKILLed a moment ago
            if agents:
                run.problems.append(f"demo agents left: {agents}")
            if os.path.exists(root):
                run.problems.append(f"the demo's directory was left: {root}")
        return run
    finally:
        app.close()


def ways() -> Iterator[tuple[str, bool]]:
    """Every way, busy and idle, then the demo."""
    for busy in (True, False):
        for way in WAYS:
            yield way, busy
    yield "demo-hup", False


def main(argv: list[str] | None = None) -> int:
    """Command line: run every way --runs times and print the medians."""
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["writer"]:
        return writer_main(argv[1], argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bound", type=float, default=BOUND_S, help="seconds: gone within")
    a = ap.parse_args(argv)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="conductor-exit-") as base:
        busy = make_sprint(os.path.join(base, "busy"), PHASES)
        idle = make_sprint(os.path.join(base, "idle"), 0)
        writer = Writer(busy)
        try:
            print(f"{'way':<15} {'store':<12} {'median s':>9} {'min':>6} {'max':>6}  codes")
            for way, is_busy in ways():
                sprint = None if way.startswith("demo") else busy if is_busy else idle
                runs = [
                    run_once(sprint, way, base, writer=writer if is_busy else None, bound=a.bound)
                    for _ in range(a.runs)
                ]
                times = [r.seconds for r in runs if r.seconds is not None]
                for r in runs:
                    for problem in r.problems:
                        failed += 1
                        print(f"  FAILED {way}: {problem}")
                store = "demo" if sprint is None else f"{PHASES} busy" if is_busy else "7 idle"
                codes = sorted({r.code for r in runs if r.code is not None})
                if times:
                    print(
                        f"{way:<15} {store:<12} {statistics.median(times):9.3f} "
                        f"{min(times):6.3f} {max(times):6.3f}  {codes}"
                    )
        finally:
            writer.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
