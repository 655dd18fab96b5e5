"""Live figures of the TUI: claim-to-screen latency, write bursts, first paint, idle CPU, memory.

Run it from the repository with the interpreter of the environment that has conductor-tui
installed (every helper process is started with that same interpreter):

    python bench/bench_tui.py                      # 200 claims per sprint, about 5 minutes
    python bench/bench_tui.py --quick              # 20 claims, short windows: a smoke run
    python bench/bench_tui.py --claims 500 --out tui.json

The app is the real one (`ConductorApp`, watch on, tick 1 s), headless through `run_test` at
120x40, with the real watchdog bridge; only the terminal is missing. Every sprint lives in its own
temporary store and project, with HOME pointing into the temporary tree.

1. Claim to screen. The app runs in this process; a writer process, driven through a pipe, claims
   one phase per request through the store and reports `time.monotonic()` just before its claim
   call and just after it returns (CLOCK_MONOTONIC is system-wide on Linux, so the two processes'
   clocks compare). The latency of a claim is the time from then to the screen's refresh after
   the first snapshot the app applied that shows the phase held by the writer under that
   claim's token (`app.applied`, and call_after_refresh at each apply).
   Two sprints: the default one (the writer claims `think` and aborts it again, N times) and a
   wide one of max(N, 200) independent phases (--wide; N claims, every one kept). Claims are
   spaced by a random 50-150 ms after the previous one reached the screen (--gap): about five
   a second, a stream that the app's CPU budget paces (tui/pacing.py). With `--gap 1 2` each
   claim comes after a quiet spell, as agents claim phases, and shows without waiting.
2. Burst. The same writer then makes 1,000 heartbeats back to back (each two atomic writes and an
   audit line), then 1,000 atomic writes of a file in a phase directory: reloads (`app.reloads`),
   bridge deliveries and raw watchdog events are counted, and "settled" is the time from the last
   write's return to the screen's refresh after the first snapshot showing the final heartbeat
   (for the plain writes, which the screen does not show, after the last snapshot applied).
   Then what one reload costs is taken apart: CPU of a whole reload, of apply() and the repaint
   it causes, of the footer rebuilt by refresh_bindings(), of the phase graph and of the lanes,
   each triggered alone through public calls and measured until the app is idle again.
3. First paint. A fresh process (`python -c`, a tiny script that reads the clock before anything
   is imported) runs `conductor-tui`'s start-up (imports, the pre-read its main() makes, the app)
   headless until its first reading is on the screen (applied, and the screen refreshed after
   it); measured from just before the spawn, with the stages the child reports. `conductor
   status` on the same store is timed beside it.
4. Idle CPU. A fresh process runs the app on a sprint with one held lock (its holder is this
   process, alive), waits 2 s, then measures `time.process_time()` over --idle-s of wall time;
   the default 30 s window holds what idle time does (the bridge's rescan every 15 s, the tick's
   refresh of the ages on screen every 10 s, the loader's sweep), so the figure is the measured
   share itself. Beside it, the CPU of one such refresh (`request_reload` of a clock tick).
5. Memory. The same processes report their peak RSS at first paint and after the idle window:
   VmHWM from /proc/self/status, and ru_maxrss beside it. On Linux ru_maxrss survives execve, so
   a child started by a process that was bigger (this bench, with the app loaded) reports the
   parent's peak; VmHWM belongs to the child's own address space.

Each fresh process reads and writes bytecode in a private PYTHONPYCACHEPREFIX, warmed by an
untimed run, as an installed package has its .pyc. It prints figures and the targets beside them;
it never asserts on time. The exit status is 1 only when a helper process failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

SCRIPT = os.path.abspath(__file__)
SIZE = (120, 40)
WRITER = "bench-writer"
APP_AGENT = "human-bench"
RESULT = "BENCH-RESULT "
STRIP_ENV_PREFIXES = ("NANOSTACK_", "CONDUCTOR_", "CLAUDE_", "CODEX_", "OPENCODE_")
LARGE = 1000  # phases of the large sprint (first paint, idle CPU, memory)
WIDE_MIN = 200  # phases of the wide sprint, at least
GAP_S = (0.05, 0.15)  # random pause between one claim on screen and the next claim (--gap)
GAP = GAP_S  # the pauses of this run
WAIT_S = 3.0  # how long one claim may take to show before it is counted late
TTL_BASE = 3600.0  # heartbeat i sets ttl TTL_BASE + i, so a snapshot says which one it shows

# the targets of issue 9, on this project's machines
TARGET_MEDIAN_MS = 50.0
TARGET_P99_MS = 150.0
TARGET_SETTLE_MS = 300.0
TARGET_PAINT_MS = 1000.0
TARGET_IDLE_PCT = 0.5


# ---------------------------------------------------------------------- figures


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Stats:
    """Median, p90, p99 and max of a series, in milliseconds."""

    n: int
    median: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Stats | None:
        """The stats of a series of durations in seconds (None when empty)."""
        if not seconds:
            return None
        ms = [s * 1000.0 for s in seconds]
        return cls(len(ms), statistics.median(ms), pct(ms, 0.9), pct(ms, 0.99), max(ms))


def fmt(value: float | None, digits: int = 1) -> str:
    """A number for the tables; '-' when missing."""
    return "-" if value is None else f"{value:,.{digits}f}"


def render(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """A plain text table: columns padded, numbers right-aligned, the last column free."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i])
            for i, c in enumerate(cells[:-1])
        ]
        return "  ".join([*parts, cells[-1]]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    rule += "  " + "-" * max(4, len(header[-1])) if header[-1] else ""
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def verdict(ok: bool | None) -> str:
    """Printed only: never an assertion."""
    return "-" if ok is None else ("met" if ok else "MISSED")


# ---------------------------------------------------------------------- stores


@dataclass
class Setup:
    """One sprint in its own temporary store and project."""

    label: str
    store: str
    project: str
    phases: list[str]
    held: str | None = None  # the phase this process holds a lock on, if any


def make_sprint(root: Path, label: str, graph: list[dict[str, Any]] | None) -> Setup:
    """Start a sprint (the built-in one when graph is None) in root/label."""
    from conductor_tui.core.store import Store

    store_dir, project = root / label / "store", root / label / "project"
    project.mkdir(parents=True)
    sprint = Store(str(store_dir)).start(str(project), agent="bench", phases=graph)
    return Setup(label, str(store_dir), str(project), [p.name for p in sprint.record.phases])


def hold_first_ready(setup: Setup) -> None:
    """Claim the first ready phase with this (long-lived) process as its holder: a live lock."""
    from conductor_tui.core.liveness import proc_info
    from conductor_tui.core.store import Store

    sprint = Store(setup.store).find_active(setup.project)
    assert sprint is not None  # just started
    phase = sprint.next_ready()[0]
    me = proc_info(os.getpid())
    sprint.claim(
        phase, agent="bench-holder", holder_pid=os.getpid(), holder_start=me.start if me else None
    )
    setup.held = phase


def wide_graph(size: int) -> list[dict[str, Any]]:
    """size independent phases: every one is ready at once."""
    return [{"name": f"c{i:04d}", "depends_on": [], "concurrency": "read"} for i in range(size)]


def large_graph(size: int) -> list[dict[str, Any]]:
    """bench_cli's sprint shaped like real work (lanes of build, test, reviews, merge)."""
    sys.path.insert(0, os.path.dirname(SCRIPT))
    from bench_cli import generate_graph

    return generate_graph(size)


def clean_env(home: Path, pycache: Path) -> dict[str, str]:
    """Our environment minus store/agent variables; HOME in the temp tree; private bytecode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(STRIP_ENV_PREFIXES)}
    env["HOME"] = str(home)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


# ---------------------------------------------------------------------- writer process


def writer_role(store_root: str, project: str) -> int:
    """The other process: serve claim / abort / heartbeats / writes requests, one JSON line each."""
    from conductor_tui.core.fs import atomic_write
    from conductor_tui.core.jsonio import dumps
    from conductor_tui.core.liveness import proc_info
    from conductor_tui.core.store import Store

    sprint = Store(store_root).find_active(project)
    if sprint is None:
        print(json.dumps({"error": "no active sprint"}), flush=True)
        return 2
    me = proc_info(os.getpid())
    start = me.start if me else None

    def serve(req: dict[str, Any]) -> dict[str, Any]:
        op, phase = req["op"], req.get("phase", "")
        if op == "claim":
            t0 = time.monotonic()
            owner = sprint.claim(phase, agent=WRITER, holder_pid=os.getpid(), holder_start=start)
            t1 = time.monotonic()
            return {"token": owner.token, "t0": t0, "t1": t1}
        if op == "abort":
            t0 = time.monotonic()
            sprint.abort(phase, agent=WRITER, token=req["token"])
            return {"t0": t0, "t1": time.monotonic()}
        if op == "heartbeats":
            count = int(req["count"])
            t0 = time.monotonic()
            for i in range(count):
                sprint.heartbeat(phase, agent=WRITER, token=req["token"], ttl=TTL_BASE + i)
            return {"t0": t0, "t1": time.monotonic(), "final_ttl": TTL_BASE + count - 1}
        if op == "writes":
            count = int(req["count"])
            target = os.path.join(sprint.path, phase, "bench-scratch.json")
            t0 = time.monotonic()
            for i in range(count):
                atomic_write(target, dumps({"i": i}))
            return {"t0": t0, "t1": time.monotonic()}
        if op == "quit":
            return {}
        raise ValueError(f"unknown op {op!r}")

    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            reply = serve(req)
        except Exception as exc:  # reported to the parent, which counts it as a failure
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)
        if req["op"] == "quit":
            break
    return 0


class Writer:
    """The parent's handle on the writer process (asyncio pipes: the app keeps running)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.errors: list[str] = []

    @classmethod
    async def start(cls, setup: Setup, env: dict[str, str]) -> Writer:
        """Start the writer and wait until it has opened the sprint."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            SCRIPT,
            "--role",
            "writer",
            "--store",
            setup.store,
            "--project",
            setup.project,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        writer = cls(proc)
        hello = await writer._read()
        if not hello.get("ready"):
            raise RuntimeError(f"the writer did not start: {hello}")
        return writer

    async def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            return {"error": f"the writer exited ({await self.proc.wait()})"}
        return dict(json.loads(line))

    async def call(self, **req: Any) -> dict[str, Any]:
        """Send one request and wait for its reply; errors are recorded and returned."""
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        await self.proc.stdin.drain()
        reply = await self._read()
        if "error" in reply:
            self.errors.append(f"{req.get('op')} {req.get('phase', '')}: {reply['error']}")
        return reply

    async def close(self) -> None:
        """Ask the writer to quit, then make sure it is gone."""
        if self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.call(op="quit"), 10)
                await asyncio.wait_for(self.proc.wait(), 10)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                self.proc.kill()
                await self.proc.wait()


# ---------------------------------------------------------------------- live sessions (in process)

Pred = Callable[[Any], bool]  # Snapshot -> bool


class Applied(list):  # type: ignore[type-arg]
    """app.applied that wakes whoever waits for the next entry, and notes when the screen had
    refreshed after each one (`painted`, by call_after_refresh: the snapshot on the screen). The
    app's CPU budget charges all of its UI thread's time, this bench's included: waiting on an
    event, not polling the list every few milliseconds, keeps the bench from spending it."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app
        self.grew = asyncio.Event()
        self.painted: list[float | None] = []

    def append(self, item: Any) -> None:  # in apply(), on the UI thread
        super().append(item)
        self.painted.append(None)
        self.app.call_after_refresh(partial(self._on_screen, len(self.painted) - 1))
        self.grew.set()

    def _on_screen(self, index: int) -> None:
        self.painted[index] = time.monotonic()
        self.grew.set()

    def shown_at(self, index: int) -> float:
        """When entry index was on the screen (when it was applied, if no refresh came yet)."""
        at = self.painted[index]
        return self[index][0] if at is None else at


def keep_applied(app: Any) -> None:
    """Have the app keep every snapshot it applies, in a list that can be waited on."""
    app.applied = Applied(app)
    app.keep_applied = True


async def on_screen(app: Any, index: int, wait_s: float) -> float | None:
    """When the snapshot app.applied[index] was on the screen (None: no refresh in wait_s)."""
    deadline = time.monotonic() + wait_s
    entries = app.applied
    while entries.painted[index] is None:
        entries.grew.clear()
        if entries.painted[index] is not None:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(entries.grew.wait(), left)
    return entries.painted[index]


async def first_applied(app: Any, start: int, pred: Pred, wait_s: float) -> int | None:
    """Index in app.applied of the first snapshot from `start` on that satisfies pred."""
    deadline = time.monotonic() + wait_s
    i = start
    entries = app.applied
    while True:
        entries.grew.clear()  # before the check: an entry landing after it still wakes us
        while i < len(entries):
            if pred(entries[i][1]):
                return i
            i += 1
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(entries.grew.wait(), left)


async def wait_quiet(app: Any, quiet_s: float, limit_s: float) -> None:
    """Until no snapshot was applied for quiet_s during which the event loop also ran freely.

    This coroutine shares the app's event loop: after the app blocked it (a long repaint), wall
    time alone would call the app quiet before it had a chance to apply what it had queued.
    """
    end = time.monotonic() + limit_s
    count = len(app.applied)
    calm_from = time.monotonic()
    while time.monotonic() < end:
        before = time.monotonic()
        await asyncio.sleep(0.05)  # not finer: the app's budget pays for this thread's wakeups
        now = time.monotonic()
        if len(app.applied) != count or now - before > 0.15:
            count, calm_from = len(app.applied), now
        elif now - calm_from >= quiet_s:
            return


def holds(phase: str, token: str) -> Pred:
    """A snapshot shows phase held by the writer under token."""

    def pred(snap: Any) -> bool:
        pv = snap.phase(phase)
        lock = pv.lock if pv is not None else None
        return (
            lock is not None
            and pv.status == "held"
            and lock.agent == WRITER
            and lock.token == token
        )

    return pred


def released(phase: str, token: str) -> Pred:
    """A snapshot no longer shows the claim token on phase."""

    def pred(snap: Any) -> bool:
        pv = snap.phase(phase)
        return pv is not None and (pv.lock is None or pv.lock.token != token)

    return pred


def shows_ttl(phase: str, ttl: float) -> Pred:
    """A snapshot shows the heartbeat that set this ttl."""

    def pred(snap: Any) -> bool:
        pv = snap.phase(phase)
        return pv is not None and pv.lock is not None and pv.lock.ttl_s == ttl

    return pred


@dataclass
class ClaimSample:
    """One claim: the writer's times, and when (and after how many reloads) the screen showed it."""

    phase: str
    token: str
    t0: float
    t1: float
    mark: int  # len(app.applied) when the request was sent
    shown_at: float | None = None
    reloads_to_show: int | None = None  # snapshots applied since the request, the showing one too
    load_s: float | None = None  # the loader's read time of the snapshot that showed it
    late: bool = False  # not on screen within WAIT_S


@dataclass
class BurstRun:
    """One burst of writes by the writer process."""

    kind: str
    count: int
    writer_s: float
    events: int
    bursts: int
    reloads: int
    reloads_during: int
    reloads_after: int
    settled_ms: float | None  # last write -> the snapshot showing the final state
    last_apply_ms: float | None  # last write -> the last snapshot applied, on the screen
    final_shown: bool | None  # None when the screen cannot show the writes
    app_cpu_s: float  # CPU of the app's process from the first write until quiet again


@dataclass
class LiveResult:
    """Everything measured on one sprint with the app in this process."""

    label: str
    phases: int
    mode: str
    claims: list[ClaimSample] = field(default_factory=list)
    releases: list[float] = field(default_factory=list)  # abort return -> screen, seconds
    bursts: list[BurstRun] = field(default_factory=list)
    load_ms: float = 0.0
    apply_ms: float = 0.0
    ui_ms: dict[str, float] = field(default_factory=dict)
    tick_probe_ms: float = 0.0
    tick_probes: int = 0
    screen_matches_disk: bool | None = None
    mismatches: list[str] = field(default_factory=list)
    writer_errors: list[str] = field(default_factory=list)


def resolve_late(app: Any, samples: Sequence[ClaimSample]) -> None:
    """Find, after the run, the snapshots that finally showed claims counted late."""
    for s in samples:
        if s.shown_at is not None:
            continue
        pred = holds(s.phase, s.token)
        for i in range(s.mark, len(app.applied)):
            if pred(app.applied[i][1]):
                s.shown_at = app.applied.shown_at(i)
                s.reloads_to_show = i - s.mark + 1
                s.load_s = app.applied[i][1].load_s
                break


async def claim_latency(
    app: Any, writer: Writer, result: LiveResult, phases: list[str], n: int, rng: random.Random
) -> tuple[str, str] | None:
    """N claims by the writer, each measured alone; returns a (phase, token) left held."""
    held: tuple[str, str] | None = None
    for i in range(n):
        await asyncio.sleep(rng.uniform(*GAP))
        phase = phases[0] if result.mode == "cycle" else phases[i]
        mark = len(app.applied)
        reply = await writer.call(op="claim", phase=phase)
        if "token" not in reply:
            continue
        sample = ClaimSample(phase, reply["token"], reply["t0"], reply["t1"], mark)
        result.claims.append(sample)
        idx = await first_applied(app, mark, holds(phase, sample.token), WAIT_S)
        shown = None if idx is None else await on_screen(app, idx, WAIT_S)
        if idx is None or shown is None:
            sample.late = True
        else:
            sample.shown_at = shown
            sample.reloads_to_show = idx - mark + 1
            sample.load_s = app.applied[idx][1].load_s
        if result.mode == "cycle":
            mark = len(app.applied)
            done = await writer.call(op="abort", phase=phase, token=sample.token)
            if "t1" in done:
                idx = await first_applied(app, mark, released(phase, sample.token), WAIT_S)
                shown = None if idx is None else await on_screen(app, idx, WAIT_S)
                if shown is not None:
                    result.releases.append(shown - done["t1"])
        else:
            held = (phase, sample.token)
    await wait_quiet(app, 1.0, 20.0)
    resolve_late(app, result.claims)
    if result.mode == "cycle":
        mark = len(app.applied)
        reply = await writer.call(op="claim", phase=phases[0])
        if "token" in reply:
            held = (phases[0], reply["token"])
            await first_applied(app, mark, holds(phases[0], held[1]), WAIT_S)
    return held


async def burst(
    app: Any, writer: Writer, kind: str, phase: str, token: str, count: int
) -> BurstRun | None:
    """count heartbeats (kind 'heartbeats') or atomic writes ('writes') by the writer."""
    await wait_quiet(app, 0.5, 10.0)
    bridge = app.bridge
    r0, b0, e0, mark = app.reloads, bridge.bursts, bridge.events, len(app.applied)
    cpu0 = time.process_time()
    reply = await writer.call(op=kind, phase=phase, token=token, count=count)
    if "t1" not in reply:
        return None
    t0, t1 = reply["t0"], reply["t1"]
    if kind == "heartbeats":  # past the bridge's 15 s rescan: "never" means never
        await first_applied(app, mark, shows_ttl(phase, reply["final_ttl"]), 20.0)
    await wait_quiet(app, 1.0, 30.0)
    app_cpu_s = time.process_time() - cpu0
    applied = app.applied
    # each snapshot's time on the screen (its apply's, for one whose refresh has not come)
    entries = [(applied.shown_at(i), applied[i][1]) for i in range(mark, len(applied))]
    times = [t for t, _ in entries]
    applied_at = [t for t, _ in applied[mark:]]
    settled_ms = final_shown = None
    if kind == "heartbeats":
        pred = shows_ttl(phase, reply["final_ttl"])
        hit = next((t for t, snap in entries if pred(snap)), None)
        final_shown = hit is not None
        if hit is not None:
            settled_ms = (hit - t1) * 1000.0
    after = [t for t in times if t > t1]
    last_ms = (max(after) - t1) * 1000.0 if after else None
    reloads_after = sum(1 for t in applied_at if t > t1)
    if kind == "writes":
        settled_ms = last_ms
    return BurstRun(
        kind=kind,
        count=count,
        writer_s=t1 - t0,
        events=bridge.events - e0,
        bursts=bridge.bursts - b0,
        reloads=app.reloads - r0,
        reloads_during=sum(1 for t in applied_at if t0 <= t <= t1),
        reloads_after=reloads_after,
        settled_ms=settled_ms,
        last_apply_ms=last_ms,
        final_shown=final_shown,
        app_cpu_s=app_cpu_s,
    )


def compare_with_disk(snap: Any, fresh: Any) -> list[str]:
    """Phases whose status or claim token differ between the screen's snapshot and the disk."""

    def state(s: Any) -> dict[str, tuple[str, str | None]]:
        if s.view is None:
            return {}
        return {pv.name: (pv.status, pv.lock.token if pv.lock else None) for pv in s.view.phases}

    a, b = state(snap), state(fresh)
    return [
        f"{k}: screen {a.get(k)} disk {b.get(k)}"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]


UI_PARTS = (
    ("reload", "whole reload: load + apply + repaint + footer"),
    ("apply", "app.apply() + the repaint it causes"),
    ("footer", "app.refresh_bindings(): the footer rebuilt"),
    ("graph", "phase graph refresh(layout=True)"),
    ("lanes", "overview lanes show()"),
)


async def ui_costs(app: Any, pilot: Any) -> dict[str, float]:
    """CPU ms (all threads of this process) of one reload and of its parts, median of 5.

    Only public calls: each part is triggered alone and measured until the app is idle again.
    """
    from conductor_tui.tui.model import TICK
    from conductor_tui.tui.widgets.graph import PhaseGraph
    from conductor_tui.tui.widgets.lanes import BatchLanes

    app.keep_applied = False
    snap = app.snapshot
    all_done = snap.view is not None and snap.view.count("done") == len(snap.view.phases)

    async def reload(paths: frozenset[str] | None = None) -> None:
        before = app.reloads
        app.request_reload(paths)
        while app.reloads == before:
            await asyncio.sleep(0.005)

    async def call(fn: Callable[[], Any]) -> None:
        fn()

    actions: dict[str, Callable[[], Any]] = {
        "reload": reload,
        # what idle time asks for: the clock ticked, nothing was reported (the sweep's due
        # phases are read, every view judged again at now)
        "tick": lambda: reload(frozenset({TICK})),
        "apply": lambda: call(lambda: app.apply(snap)),
        "footer": lambda: call(app.refresh_bindings),
        "graph": lambda: call(lambda: app.query_one(PhaseGraph).refresh(layout=True)),
        "lanes": lambda: call(
            lambda: app.query_one("#overview-lanes", BatchLanes).show(snap.lanes, all_done)
        ),
    }
    out: dict[str, float] = {}
    for name, action in actions.items():
        samples = []
        for _ in range(5):
            await pilot.pause()
            await asyncio.sleep(0.05)
            c0 = time.process_time()
            await action()
            await pilot.pause()
            await asyncio.sleep(0.1)  # a footer rebuild runs after the next refresh
            samples.append(time.process_time() - c0)
        out[name] = statistics.median(samples) * 1000.0
    return out


async def live_session(
    setup: Setup, mode: str, claims: int, burst_n: int, env: dict[str, str], seed: int
) -> LiveResult:
    """The app in this process, the writer in another: claims, then bursts, on one sprint."""
    from conductor_tui.core.store import Store
    from conductor_tui.tui.app import ConductorApp
    from conductor_tui.tui.model import Loader

    rng = random.Random(seed)
    result = LiveResult(setup.label, len(setup.phases), mode)
    writer = await Writer.start(setup, env)
    try:
        loader = Loader(Store(setup.store), setup.project)
        # as conductor-tui's main() runs it: the start-up heap frozen once the first reading shows
        app = ConductorApp(loader, agent=APP_AGENT, watch=True, tick_s=1.0, freeze_gc=True)
        keep_applied(app)
        async with app.run_test(size=SIZE) as pilot:
            while not app.applied or app.bridge is None:
                await asyncio.sleep(0.01)
            await wait_quiet(app, 0.5, 5.0)
            held = await claim_latency(app, writer, result, setup.phases, claims, rng)
            if held is not None:
                for kind in ("heartbeats", "writes"):
                    run = await burst(app, writer, kind, held[0], held[1], burst_n)
                    if run is not None:
                        result.bursts.append(run)
            await wait_quiet(app, 1.0, 20.0)
            fresh = Loader(Store(setup.store), setup.project).load()
            result.mismatches = compare_with_disk(app.snapshot, fresh)
            result.screen_matches_disk = not result.mismatches
            # The cost of one apply() (widget updates; the repaint follows later), on this state.
            app.keep_applied = False
            snap, costs = app.snapshot, []
            for _ in range(10):
                started = time.perf_counter()
                app.apply(snap)
                costs.append(time.perf_counter() - started)
                await asyncio.sleep(0.02)
            result.apply_ms = statistics.median(costs) * 1000.0
            result.ui_ms = await ui_costs(app, pilot)
            # What the 1 s tick does on the UI thread: one /proc read per held lock.
            pids = [
                pv.lock.holder_pid
                for pv in (snap.view.phases if snap.view else [])
                if pv.lock is not None and pv.lock.holder_pid and pv.status != "done"
            ]
            started = time.perf_counter()
            for pid in pids:
                loader.store.probe(pid)
            result.tick_probe_ms = (time.perf_counter() - started) * 1000.0
            result.tick_probes = len(pids)
        costs = []
        for _ in range(10):
            started = time.perf_counter()
            loader.load()
            costs.append(time.perf_counter() - started)
        result.load_ms = statistics.median(costs) * 1000.0
    finally:
        await writer.close()
        result.writer_errors = writer.errors
    return result


# ---------------------------------------------------------------------- fresh app processes


def vm_hwm_mb() -> float | None:
    """This process's peak resident set (VmHWM), in MiB; None where /proc has no such line."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        return None
    return None


# The fresh process is this tiny script: it reads the clock before anything else is imported,
# then imports this module (its bytecode cached, unlike a __main__ script's) for app_role.
CHILD_CODE = (
    "import time; t = time.monotonic(); import sys; sys.path.insert(0, {where!r}); "
    "import bench_tui; sys.exit(bench_tui.app_role(sys.argv[1:], t))"
)


def app_role(argv: Sequence[str], t_main: float) -> int:
    """A fresh process: conductor-tui's start-up, headless, until the first snapshot is applied.

    argv: store, project, mode (paint or idle), idle_s, settle_s. In idle mode it then waits
    settle_s and measures its own CPU over idle_s of wall time. The result is printed before the
    app is asked to quit (with its `q` key, as a user would).
    """
    store_root, project, mode = argv[0], argv[1], argv[2]
    idle_s, settle_s = float(argv[3]), float(argv[4])
    import gc

    gc.disable()  # as conductor-tui's main() starts: the app turns it on after its first paint
    from conductor_tui.core.store import Store
    from conductor_tui.tui.app import ConductorApp
    from conductor_tui.tui.model import Loader

    t_imported = time.monotonic()
    loader = Loader(Store(store_root), project)
    first = loader.load()  # conductor-tui's main() reads the store once before the screen
    t_preloaded = time.monotonic()
    # as main() makes it: that reading shown at mount, the start-up heap frozen after it
    app = ConductorApp(
        loader, agent=APP_AGENT, watch=True, tick_s=1.0, initial=first, freeze_gc=True
    )
    keep_applied(app)
    out: dict[str, Any] = {"t_main": t_main, "t_imported": t_imported, "t_preloaded": t_preloaded}

    def rss_mb() -> dict[str, float | None]:
        return {"hwm": vm_hwm_mb(), "ru": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    async def run(pilot: Any) -> None:
        out["t_running"] = time.monotonic()
        while not app.applied or app.applied.painted[0] is None:
            await asyncio.sleep(0.001)
        out["t_applied"] = app.applied[0][0]
        out["t_painted"] = app.applied.painted[0]
        out["load_s"] = app.applied[0][1].load_s
        out["cpu_to_paint_s"] = time.process_time()
        out["rss_first_mb"] = rss_mb()
        out["phases"] = len(app.snapshot.view.phases) if app.snapshot.view else 0
        if mode != "idle":
            return
        await asyncio.sleep(settle_s)
        bridge = app.bridge
        r0, b0, e0 = app.reloads, bridge.bursts, bridge.events
        c0, w0 = time.process_time(), time.monotonic()
        await asyncio.sleep(idle_s)
        c1, w1 = time.process_time(), time.monotonic()
        out.update(
            idle_wall_s=w1 - w0,
            idle_cpu_s=c1 - c0,
            idle_reloads=app.reloads - r0,
            idle_bursts=bridge.bursts - b0,
            idle_events=bridge.events - e0,
            rss_end_mb=rss_mb(),
        )
        out["ui_ms"] = await ui_costs(app, pilot)
        loads = []
        for _ in range(3):
            started = time.perf_counter()
            loader.load()
            loads.append(time.perf_counter() - started)
        out["load_ms"] = statistics.median(loads) * 1000.0

    async def run_and_quit() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await run(pilot)
            print(RESULT + json.dumps(out), flush=True)
            await pilot.press("q")

    asyncio.run(run_and_quit())
    return 0


@dataclass
class ChildRun:
    """One fresh app process, its times relative to the spawn."""

    spawn_to_main_ms: float
    imports_ms: float
    preload_ms: float
    app_ms: float  # app constructed -> first reading on screen (mount, watches, apply, paint)
    paint_ms: float  # spawn -> first reading on screen: the figure
    cpu_to_paint_ms: float
    rss_first_mb: float | None  # VmHWM
    ru_first_mb: float
    raw: dict[str, Any]


def run_app_child(
    setup: Setup, mode: str, env: dict[str, str], idle_s: float = 0.0, settle_s: float = 2.0
) -> ChildRun | str:
    """Spawn app_role through CHILD_CODE; the run, or the error text."""
    code = CHILD_CODE.format(where=os.path.dirname(SCRIPT))
    argv = [sys.executable, "-c", code, setup.store, setup.project, mode, str(idle_s)]
    argv.append(str(settle_s))
    t_spawn = time.monotonic()
    proc = subprocess.run(
        argv, env=env, cwd=setup.project, capture_output=True, text=True, timeout=120 + idle_s
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT)]
    if proc.returncode != 0 or not lines:
        return f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-2000:]}"
    r = json.loads(lines[-1][len(RESULT) :])

    def ms(a: float, b: float) -> float:
        return (b - a) * 1000.0

    return ChildRun(
        spawn_to_main_ms=ms(t_spawn, r["t_main"]),
        imports_ms=ms(r["t_main"], r["t_imported"]),
        preload_ms=ms(r["t_imported"], r["t_preloaded"]),
        app_ms=ms(r["t_preloaded"], r["t_painted"]),
        paint_ms=ms(t_spawn, r["t_painted"]),
        cpu_to_paint_ms=r["cpu_to_paint_s"] * 1000.0,
        rss_first_mb=r["rss_first_mb"]["hwm"],
        ru_first_mb=r["rss_first_mb"]["ru"],
        raw=r,
    )


def conductor_argv() -> list[str]:
    """`conductor` next to this interpreter, else `python -m conductor_tui.cli`."""
    script = Path(sys.executable).with_name("conductor")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "conductor_tui.cli"]


def time_status(setup: Setup, env: dict[str, str], runs: int) -> list[float] | str:
    """Wall times of `conductor status` on the sprint (after one untimed run)."""
    argv = [*conductor_argv(), "--store", setup.store, "--project", setup.project, "status"]
    times: list[float] = []
    for i in range(runs + 1):
        started = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=setup.project, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            return f"exit {proc.returncode}: {proc.stderr.strip()[-1000:]}"
        if i:
            times.append(elapsed)
    return times


def watch_start_ms(setup: Setup) -> float:
    """How long ChangeBridge.start() takes on this sprint (the app calls it in on_mount)."""
    from conductor_tui.core.store import Store
    from conductor_tui.watch import ChangeBridge

    sprint = Store(setup.store).find_active(setup.project)
    bridge = ChangeBridge(setup.store, sprint.path if sprint else None, lambda _paths: None)
    started = time.perf_counter()
    bridge.start()
    elapsed = time.perf_counter() - started
    bridge.stop()
    return elapsed * 1000.0


@dataclass
class FreshResult:
    """First paint, idle CPU and memory of one sprint, from fresh processes."""

    label: str
    phases: int
    paints: list[ChildRun] = field(default_factory=list)
    status_s: list[float] = field(default_factory=list)
    idle: dict[str, Any] = field(default_factory=dict)
    watch_start_ms: float = 0.0
    errors: list[str] = field(default_factory=list)


def fresh_runs(
    setup: Setup, env: dict[str, str], runs: int, idle_s: float, log: Callable[[str], None]
) -> FreshResult:
    """First paint (runs times, after a warm-up), `conductor status`, then one idle run."""
    out = FreshResult(setup.label, len(setup.phases))
    log(f"[{setup.label}] first paint x{runs} (+1 warm-up), conductor status x{runs}")
    for i in range(runs + 1):
        run = run_app_child(setup, "paint", env)
        if isinstance(run, str):
            out.errors.append(f"first paint: {run}")
            break
        if i:
            out.paints.append(run)
    status = time_status(setup, env, runs)
    if isinstance(status, str):
        out.errors.append(f"conductor status: {status}")
    else:
        out.status_s = status
    out.watch_start_ms = statistics.median(watch_start_ms(setup) for _ in range(3))
    log(f"[{setup.label}] idle for {idle_s:g} s (after 2 s to settle)")
    run = run_app_child(setup, "idle", env, idle_s=idle_s)
    if isinstance(run, str):
        out.errors.append(f"idle: {run}")
    else:
        out.idle = run.raw
    return out


# ---------------------------------------------------------------------- report


def claims_table(lives: Sequence[LiveResult]) -> str:
    """Section 1: claim to screen."""
    header = ("sprint", "measured", "n", "median", "p90", "p99", "max ms", "target", "verdict")
    rows: list[list[str]] = []
    for r in lives:
        shown = [s for s in r.claims if s.shown_at is not None]
        name = f"{r.label} ({r.phases})"
        series = [
            ("claim returned -> screen", [s.shown_at - s.t1 for s in shown if s.shown_at], True),
            ("claim called -> screen", [s.shown_at - s.t0 for s in shown if s.shown_at], False),
            ("claim call itself", [s.t1 - s.t0 for s in r.claims], False),
        ]
        if r.releases:
            series.append(("abort returned -> screen", r.releases, False))
        for what, values, targeted in series:
            st = Stats.of(values)
            target, ok = "", None
            if targeted:
                target = f"med<{TARGET_MEDIAN_MS:g} p99<{TARGET_P99_MS:g}"
                if st is not None:
                    ok = st.median < TARGET_MEDIAN_MS and st.p99 < TARGET_P99_MS
            rows.append(
                [
                    name,
                    what,
                    str(st.n if st else 0),
                    fmt(st.median if st else None),
                    fmt(st.p90 if st else None),
                    fmt(st.p99 if st else None),
                    fmt(st.max if st else None),
                    target,
                    verdict(ok) if targeted else "",
                ]
            )
            name = ""
    return render(header, rows, {2, 3, 4, 5, 6})


def claims_notes(lives: Sequence[LiveResult]) -> list[str]:
    """Late claims and how many reloads a claim needed."""
    lines: list[str] = []
    for r in lives:
        late = [s for s in r.claims if s.late]
        never = [s for s in r.claims if s.shown_at is None]
        reloads = [s.reloads_to_show for s in r.claims if s.reloads_to_show is not None]
        loads = [s.load_s * 1000.0 for s in r.claims if s.load_s is not None]
        dist = ", ".join(f"{k}: {reloads.count(k)}" for k in sorted(set(reloads)))
        load = fmt(statistics.median(loads)) if loads else "-"
        lines.append(
            f"  {r.label}: {len(r.claims)} claims; late (> {WAIT_S:g} s) {len(late)}, never "
            f"shown {len(never)}; snapshots applied until it showed (the showing one included) "
            f"-> claims: {dist or '-'}; loader read of the showing snapshot: median {load} ms"
        )
        lines.append(
            f"    loader.load() {fmt(r.load_ms)} ms, app.apply() {fmt(r.apply_ms)} ms (median of "
            f"10, final state); tick: {r.tick_probes} /proc reads = {fmt(r.tick_probe_ms, 2)} ms "
            f"a second on the UI thread; screen == disk at the end: "
            f"{'yes' if r.screen_matches_disk else 'NO'}"
        )
        for m in r.mismatches[:10]:
            lines.append(f"    mismatch {m}")
        for e in r.writer_errors[:10]:
            lines.append(f"    writer error: {e}")
    return lines


def burst_table(lives: Sequence[LiveResult]) -> str:
    """Section 2: bursts of writes."""
    header = (
        "sprint",
        "burst (by another process)",
        "writer s",
        "raw events",
        "bridge bursts",
        "reloads",
        "during/after",
        "app CPU s",
        "settled ms",
        "last on screen ms",
        "target",
        "verdict",
    )
    rows: list[list[str]] = []
    for r in lives:
        name = f"{r.label} ({r.phases})"
        for b in r.bursts:
            what = (
                f"{b.count} heartbeats (2 atomic writes + audit line each)"
                if b.kind == "heartbeats"
                else f"{b.count} atomic writes of one file in a phase dir"
            )
            ok = None if b.settled_ms is None else b.settled_ms < TARGET_SETTLE_MS
            if b.final_shown is False:
                ok = False
            settled = fmt(b.settled_ms) if b.final_shown is not False else "NEVER"
            rows.append(
                [
                    name,
                    what,
                    fmt(b.writer_s, 2),
                    f"{b.events:,}",
                    str(b.bursts),
                    str(b.reloads),
                    f"{b.reloads_during}/{b.reloads_after}",
                    fmt(b.app_cpu_s, 2),
                    settled,
                    fmt(b.last_apply_ms),
                    f"<{TARGET_SETTLE_MS:g}",
                    verdict(ok),
                ]
            )
            name = ""
    return render(header, rows, {2, 3, 4, 5, 6, 7, 8, 9})


def ui_table(lives: Sequence[LiveResult], fresh: Sequence[FreshResult]) -> str:
    """What one reload costs, and its parts (CPU ms of the app process, median of 5)."""
    header = ("sprint", "load (wall)", *(name for name, _ in UI_PARTS), "")
    rows: list[list[str]] = []
    sources: list[tuple[str, float | None, dict[str, float]]] = [
        (f"{r.label} ({r.phases}, {len(r.claims)} claimed)", r.load_ms, r.ui_ms) for r in lives
    ]
    sources += [
        (f"{f.label} ({f.phases})", f.idle.get("load_ms"), f.idle.get("ui_ms", {})) for f in fresh
    ]
    for name, load, ui in sources:
        rows.append([name, fmt(load), *(fmt(ui.get(part)) for part, _ in UI_PARTS), ""])
    return render(header, rows, set(range(1, 2 + len(UI_PARTS))))


def paint_table(fresh: Sequence[FreshResult]) -> str:
    """Section 3: first paint, with `conductor status` beside it."""
    header = (
        "sprint",
        "runs",
        "median ms",
        "min ms",
        "python start",
        "imports",
        "pre-read",
        "app -> on screen",
        "CPU ms",
        "conductor status ms",
        "target",
        "verdict",
    )
    rows: list[list[str]] = []
    for f in fresh:
        p = f.paints

        def med(get: Callable[[ChildRun], float], runs: list[ChildRun] = p) -> str:
            return fmt(statistics.median(get(r) for r in runs)) if runs else "-"

        paint = statistics.median(r.paint_ms for r in p) if p else None
        rows.append(
            [
                f"{f.label} ({f.phases})",
                str(len(p)),
                fmt(paint),
                fmt(min(r.paint_ms for r in p) if p else None),
                med(lambda r: r.spawn_to_main_ms),
                med(lambda r: r.imports_ms),
                med(lambda r: r.preload_ms),
                med(lambda r: r.app_ms),
                med(lambda r: r.cpu_to_paint_ms),
                fmt(statistics.median(f.status_s) * 1000.0 if f.status_s else None),
                f"<{TARGET_PAINT_MS:g}",
                verdict(None if paint is None else paint < TARGET_PAINT_MS),
            ]
        )
    return render(header, rows, set(range(1, 10)))


def idle_table(fresh: Sequence[FreshResult]) -> str:
    """Section 4: idle CPU."""
    header = (
        "sprint",
        "wall s",
        "CPU s",
        "% of one core",
        "reloads",
        "bridge bursts",
        "raw events",
        "target",
        "verdict",
        "CPU ms/reload",
        "CPU ms/tick refresh",
    )
    rows: list[list[str]] = []
    for f in fresh:
        i = f.idle
        if not i:
            rows.append(
                [f"{f.label} ({f.phases})", *(["-"] * 6), f"<{TARGET_IDLE_PCT:g}%", "-", "-", "-"]
            )
            continue
        share = 100.0 * i["idle_cpu_s"] / i["idle_wall_s"]
        rows.append(
            [
                f"{f.label} ({f.phases})",
                fmt(i["idle_wall_s"], 2),
                fmt(i["idle_cpu_s"], 3),
                fmt(share, 2),
                str(i["idle_reloads"]),
                str(i["idle_bursts"]),
                str(i["idle_events"]),
                f"<{TARGET_IDLE_PCT:g}%",
                verdict(share < TARGET_IDLE_PCT),
                fmt(i.get("ui_ms", {}).get("reload")),
                fmt(i.get("ui_ms", {}).get("tick")),
            ]
        )
    return render(header, rows, {1, 2, 3, 4, 5, 6, 9, 10})


def memory_table(fresh: Sequence[FreshResult]) -> str:
    """Section 5: peak RSS (VmHWM), ru_maxrss beside it."""
    header = (
        "sprint",
        "VmHWM at first paint MB",
        "VmHWM after idle MB",
        "vs the first sprint",
        "ru_maxrss first/after idle MB",
    )
    rows: list[list[str]] = []
    base: float | None = None
    for f in fresh:
        hwm = [r.rss_first_mb for r in f.paints if r.rss_first_mb is not None]
        first = statistics.median(hwm) if hwm else None
        end_rss = f.idle.get("rss_end_mb") or {}
        end = end_rss.get("hwm")
        ref = end if end is not None else first
        delta = "-" if base is None or ref is None else f"{ref - base:+.1f} MB"
        if base is None:
            base = ref
        ru_first = statistics.median(r.ru_first_mb for r in f.paints) if f.paints else None
        rows.append(
            [
                f"{f.label} ({f.phases})",
                fmt(first),
                fmt(end),
                delta,
                f"{fmt(ru_first)} / {fmt(end_rss.get('ru'))}",
            ]
        )
    return render(header, rows, {1, 2, 3})


def dominates(lives: Sequence[LiveResult], fresh: Sequence[FreshResult]) -> str:
    """A short paragraph, built from the figures, on where the time goes."""
    from conductor_tui.watch import SETTLE_S

    parts: list[str] = []
    costs = [(f"{r.label} ({r.phases})", r.ui_ms, r.load_ms) for r in lives]
    costs += [
        (f"{f.label} ({f.phases})", f.idle.get("ui_ms", {}), f.idle.get("load_ms")) for f in fresh
    ]
    for name, ui, load in costs:
        if not ui:
            continue
        pieces = {k: ui[k] for k in ("footer", "graph", "lanes") if k in ui}
        top = max(pieces, key=lambda k: pieces[k]) if pieces else "-"
        parts.append(
            f"{name}: a reload costs {ui.get('reload', 0):.0f} ms of CPU (load "
            f"{load or 0:.0f} ms wall, the rest on the UI thread); the largest part is the "
            f"{top} ({pieces.get(top, 0):.0f} ms)."
        )
    for r in lives:
        shown = [s for s in r.claims if s.shown_at is not None]
        if shown:
            lat = statistics.median((s.shown_at or 0.0) - s.t1 for s in shown) * 1000.0
            tail = pct([(s.shown_at or 0.0) - s.t1 for s in shown], 0.99) * 1000.0
            extra = sum(1 for s in shown if (s.reloads_to_show or 0) > 1)
            parts.append(
                f"Claims on {r.label} show in {lat:.0f} ms (median; p99 {tail:.0f}): the "
                f"bridge's {SETTLE_S * 1000:.0f} ms quiet window, one load and one apply when "
                f"all goes well; {extra} of {len(shown)} needed a second reload (the first began "
                f"before the claim's rename was delivered), and a claim that lands while the UI "
                f"thread is still repainting waits for it."
            )
        for b in r.bursts:
            parts.append(
                f"{b.count} {b.kind} on {r.label} ({b.events:,} raw events in {b.writer_s:.1f} s) "
                f"became {b.bursts} deliveries and {b.reloads} reloads, for which the app used "
                f"{b.app_cpu_s:.1f} s of CPU: at most one load runs at a time, so reloads are "
                f"bounded by what one costs, and on two cores the app and the writer compete."
            )
    for f in fresh:
        if f.paints:
            stages = {
                "interpreter start": [r.spawn_to_main_ms for r in f.paints],
                "importing textual and the app": [r.imports_ms for r in f.paints],
                "main()'s pre-read": [r.preload_ms for r in f.paints],
                "the app's start to its first reading on screen": [r.app_ms for r in f.paints],
            }
            med = {k: statistics.median(v) for k, v in stages.items()}
            top = max(med, key=lambda k: med[k])
            parts.append(
                f"First paint of {f.label}: the largest stage is {top} ({med[top]:.0f} ms); "
                f"starting the recursive watch takes {f.watch_start_ms:.0f} ms of it."
            )
        if f.idle:
            i = f.idle
            parts.append(
                f"Idle on {f.label}: {i['idle_reloads']} reload(s) in {i['idle_wall_s']:.0f} s "
                f"(each a clock tick's refresh, {fmt(i.get('ui_ms', {}).get('tick'))} ms of CPU): "
                f"{fmt(100.0 * i['idle_cpu_s'] / i['idle_wall_s'], 2)} % of a core."
            )
    return "\n".join(parts)


def load_average() -> str:
    """1, 5 and 15 minute load averages."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


# ---------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The bench's options, plus the hidden ones of its helper processes."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--claims", type=int, default=None, help="claims per sprint (default 200)")
    p.add_argument("--burst", type=int, default=None, help="writes per burst (default 1000)")
    p.add_argument("--paint-runs", type=int, default=None, help="first-paint runs (default 5)")
    p.add_argument("--idle-s", type=float, default=None, help="idle window, s (default 30)")
    p.add_argument("--quick", action="store_true", help="20 claims, 200 writes, 2 runs, 3 s idle")
    p.add_argument(
        "--gap",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        default=GAP_S,
        help=f"pause after a claim reached the screen, s (default {GAP_S[0]:g} {GAP_S[1]:g})",
    )
    p.add_argument(
        "--wide",
        type=int,
        default=None,
        help="phases of the wide sprint (default max(claims, 200))",
    )
    p.add_argument("--out", help="also write the results as JSON to this file")
    p.add_argument("--seed", type=int, default=1, help="seed of the pauses between claims")
    p.add_argument("--keep", action="store_true", help="keep the temporary stores")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    # helper processes (this same file)
    p.add_argument("--role", choices=("bench", "writer"), default="bench", help=argparse.SUPPRESS)
    p.add_argument("--store", help=argparse.SUPPRESS)
    p.add_argument("--project", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    quick = args.quick
    if args.claims is None:
        args.claims = 20 if quick else 200
    if args.burst is None:
        args.burst = 200 if quick else 1000
    if args.paint_runs is None:
        args.paint_runs = 2 if quick else 5
    if args.idle_s is None:
        args.idle_s = 3.0 if quick else 30.0
    if args.role == "bench" and (
        min(args.claims, args.burst, args.paint_runs) < 1 or args.idle_s <= 0
    ):
        p.error("--claims, --burst and --paint-runs must be >= 1, --idle-s > 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or one of its helper roles) and print the report."""
    global GAP
    args = parse_args(argv)
    if args.role == "writer":
        return writer_role(args.store, args.project)
    GAP = (args.gap[0], args.gap[1])

    def log(text: str) -> None:
        if not args.quiet:
            print(f"  {text}", file=sys.stderr, flush=True)

    root = Path(tempfile.mkdtemp(prefix="conductor-bench-tui-"))
    home = root / "home"
    home.mkdir()
    env = clean_env(home, root / "pycache")
    saved_home = os.environ.get("HOME")
    os.environ["HOME"] = str(home)  # the in-process app looks for SKILL.md under ~
    started = time.perf_counter()
    load_before = load_average()
    lives: list[LiveResult] = []
    fresh: list[FreshResult] = []
    try:
        default = make_sprint(root, "default", None)
        wide_n = args.wide or max(args.claims, WIDE_MIN)
        wide = make_sprint(root, "wide", wide_graph(wide_n))
        for setup, mode in ((default, "cycle"), (wide, "fresh")):
            log(
                f"[{setup.label}] {args.claims} claims by another process, then bursts of "
                f"{args.burst} (app in this process)"
            )
            lives.append(
                asyncio.run(live_session(setup, mode, args.claims, args.burst, env, args.seed))
            )
        small = make_sprint(root, "default-held", None)
        large = make_sprint(root, f"large-{LARGE}", large_graph(LARGE))
        for setup in (small, large):
            hold_first_ready(setup)
            fresh.append(fresh_runs(setup, env, args.paint_runs, args.idle_s, log))
    finally:
        if saved_home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = saved_home
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    total_s = time.perf_counter() - started

    print(
        f"conductor-tui live figures: the real app headless ({SIZE[0]}x{SIZE[1]}), real watchdog "
        f"bridge, tick 1 s\npython {platform.python_version()} ({sys.executable}), "
        f"{platform.platform()}, {os.cpu_count()} CPUs, load average {load_before} at start, "
        f"{load_average()} at end; bench took {total_s:.0f} s"
    )
    print()
    print("1. Claim -> screen: another process claims; time to the screen refreshed after the")
    print("   first snapshot showing the phase held by it (default: claim/abort cycles of `think`;")
    print(f"   wide: one claim per independent phase, all kept), ms; gaps {GAP[0]:g}-{GAP[1]:g} s.")
    print(claims_table(lives))
    for line in claims_notes(lives):
        print(line)
    print()
    print("2. Bursts by another process: raw events, bridge deliveries, reloads (during the")
    print("   writes / after the last one), and ms from the last write's return to the screen")
    print("   showing the final state (plain writes: to the last snapshot applied), each time to")
    print("   the screen refreshed after that snapshot.")
    print(burst_table(lives))
    print()
    print("2b. What one reload costs the app process: CPU ms (all its threads), median of 5,")
    print("    each part triggered alone through public calls; load is loader.load() wall ms.")
    for name, what in UI_PARTS:
        print(f"    {name}: {what}")
    print(ui_table(lives, fresh))
    print()
    print("3. First paint: spawn of a fresh process -> its first reading on screen (headless);")
    print("   stages are medians, ms: python start (spawn -> the script's first line), imports")
    print("   (textual, the app), main()'s pre-read of the store, the app's start -> the screen")
    print("   refreshed after that reading. `conductor status` is what a user would run instead.")
    print(paint_table(fresh))
    print()
    print("4. Idle CPU of a fresh app process (watch on, tick 1 s, one held lock), after 2 s")
    print("   to settle.")
    print(idle_table(fresh))
    print()
    print("5. Memory: peak RSS of the app process (VmHWM; ru_maxrss, which on Linux keeps the")
    print("   spawning process's peak across execve, is shown for reference).")
    print(memory_table(fresh))
    print()
    print("What dominates:")
    print(dominates(lives, fresh))
    print()
    print("Targets are printed, never asserted.")
    errors = [e for f in fresh for e in f.errors] + [e for r in lives for e in r.writer_errors]
    if errors:
        print()
        print(f"FAILED helper calls: {len(errors)}")
        for e in errors[:20]:
            print(f"  {e}")
    if args.out:
        report = {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "size": SIZE,
            "options": {k: v for k, v in vars(args).items() if k not in ("store", "project")},
            "live": [asdict(r) for r in lives],
            "fresh": [asdict(f) for f in fresh],
            "targets": {
                "claim_median_ms": TARGET_MEDIAN_MS,
                "claim_p99_ms": TARGET_P99_MS,
                "settle_ms": TARGET_SETTLE_MS,
                "first_paint_ms": TARGET_PAINT_MS,
                "idle_cpu_pct": TARGET_IDLE_PCT,
            },
            "errors": errors,
        }
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
