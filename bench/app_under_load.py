"""The app under load (issue 4): the real app watches a store that bench/stress.py hammers.

"The app under load: with the stress harness running against its store, the app stays responsive
and never shows one phase as both held and done, nor two holders."

    python bench/app_under_load.py --seconds 60             # 6 workers, 6 phases
    python bench/app_under_load.py --seconds 60 --workers 8 --phases 8 --json load.json
    python bench/app_under_load.py --broken                 # negative control: must be caught

What runs. bench/stress.py runs as a child process (its own session) on a fresh run directory:
its supervisor forks the workers that claim, heartbeat, complete, abort and reclaim the phases of
one sprint while it SIGKILLs holders, arms crash points and SIGSTOPs holders past their lease; when
half the phases of the sprint are done it starts the next sprint. The workload is bounded by the
harness's own --max-seconds (its attempts are unbounded), after which it kills what is left of
its workers, sweeps the leftover claims, runs `doctor` and checks its logs. So its verdict is
"INCONCLUSIVE: the workload timed out" by design; what counts from it here is its violations.

The app is the real one (`ConductorApp`, watch on with the real watchdog bridge, tick 1 s),
headless through `run_test` at 120x40, in this process, on the harness's store and project (it
finds the active sprint itself, so it follows the harness from sprint to sprint). Meanwhile:

- Responsiveness. A 50 ms `set_interval` timer in the app records when it runs: its lateness (the
  gap between two runs, less 50 ms) is how long the event loop was kept from it. A key, `j` or `k`
  in turn, is posted to the app as the terminal driver posts one, followed by a marker key bound
  by the bench alone; when the marker's action runs, the key has been processed: its latency is
  that time, and the phase graph's cursor must have moved ("key lost" otherwise). The pilot's
  own `press` waits for the process to go idle, which a loaded app never is.
- Every snapshot the app applies (`app.applied`) is checked, then dropped: no phase read as
  done with a live (held or suspect) claim beside it ("held and done" when that claim is the one
  completed, "done beside a live claim" when it is a newer one the store is about to supersede);
  no phase contested, no lock with a nested lock.d or with two tokens (our store never makes
  either): "two holders"; every lock's agent is one worker's name and the holder pid it shows is
  that worker's, a claim's epoch is its token's ("agent"); the statuses add up to the number of
  phases; done is terminal (a phase once read done in a sprint is never read otherwise in it).
- What is on screen, read from the compositor just after a repaint, twice a second: the header's
  counts and sprint id are the snapshot's; each phase node visible in the graph has the glyph,
  status and agent of the snapshot, and appears once; every few checks the Locks tab is opened
  (with its key) and must have exactly one row per locked phase that is not done, with the
  snapshot's verdict and agent ("screen locks cut" when they are right but cut short).
- At the end (the harness has exited, so the disk is quiet) the app must converge by itself to a
  fresh `Sprint.view()` of the active sprint (status, agent and token of every phase); then after
  one more reload asked for here, the snapshot and the screen must equal the disk.

A thread of this process that dies of an exception is recorded with the rate of reloads before
and after (watchdog's inotify reader has been seen to die under this load; the app then lives on
its 1 s tick). Readings without a sprint are counted (the active sprint is briefly not found
while the harness starts the next one).

It prints the figures; the exit status is 1 on any violation, mismatch, dead thread or timeout.
It never asserts on speed beyond the liveness bound --max-late (2 s: a frozen UI, not a slow one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from textual import events

from conductor_tui.core.models import SprintView
from conductor_tui.core.store import Store
from conductor_tui.text import safe
from conductor_tui.tui.app import ConductorApp
from conductor_tui.tui.model import Loader, Snapshot
from conductor_tui.tui.widgets.graph import PhaseGraph

try:  # where the glyph of each state lives (it moved from the model to conductor_tui.text)
    from conductor_tui.text import GLYPH  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - an older tree
    from conductor_tui.tui.model import GLYPH  # type: ignore[attr-defined,no-redef]

STRESS = Path(__file__).resolve().parent / "stress.py"
APP_AGENT = "human-load"
TICK_S = 0.05
STATUSES = ("done", "held", "suspect", "stale", "contested", "malformed", "ready", "blocked")
HEADER_SHOWN = ("stale", "contested", "malformed", "suspect", "held")  # the header's counts
WORKER_AGENT = re.compile(r"w(\d+)g(\d+)-(\d+)")  # bench/stress.py: f"w{slot}g{gen}-{pid}"
GLYPHS = "".join(sorted(set(GLYPH.values())))
# a node's label: its glyph and name, and its state's word when the pane has room for it
NODE_LABEL = re.compile(rf"([{re.escape(GLYPHS)}]) ([a-z][a-z0-9-]*)(?: +([a-z]+))?")
# a run makes at least this many key presses and screen checks, past the workload if the machine
# is too loaded to make them while it runs (the checks count; how fast they came is a figure)
MIN_KEYS, MIN_SCREENS = 10, 5
CONVERGE_S = 30.0  # the app re-reads an idle store at least every 10 s, whatever the watcher does


@dataclass
class Load:
    """One run's parameters."""

    seconds: float = 12.0  # of workload (the harness's --max-seconds)
    workers: int = 6
    phases: int = 6
    seed: int = 1
    ttl: float = 0.3
    kill_rate: float = 4.0
    stall_rate: float = 1.0
    broken: str = ""  # bench/stress.py --broken: "" or "publish-into" (the negative control)
    size: tuple[int, int] = (120, 40)
    screen_every_s: float = 0.5
    locks_tab_every: int = 4  # every n-th screen check opens the Locks tab
    pace_s: float = 0.1  # between two keys
    key_timeout_s: float = 30.0  # a key not handled by then is a frozen UI (a violation)
    start_timeout_s: float = 60.0
    grace_s: float = 120.0  # after --seconds, for the harness's sweep, doctor and checker


@dataclass
class Figures:
    """What one run measured and found."""

    workload_s: float = 0.0
    snapshots_applied: int = 0
    reloads: int = 0
    sprints_seen: int = 0
    phase_readings: int = 0
    statuses_seen: dict[str, int] = field(default_factory=dict)
    error_snapshots: int = 0
    errors: list[str] = field(default_factory=list)
    notes: dict[str, int] = field(default_factory=dict)
    loop_ticks: int = 0
    loop_late_max_s: float = math.nan
    loop_late_p99_s: float = math.nan
    keys: int = 0
    key_max_s: float = math.nan
    key_p99_s: float = math.nan
    screen_checks: int = 0
    locks_tab_checks: int = 0
    self_converged_s: float | None = None
    final_mismatches: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    violation_kinds: dict[str, int] = field(default_factory=dict)
    harness_status: int | None = None
    harness_verdict: str = ""
    harness_violations: int | None = None
    harness_figures: dict[str, Any] = field(default_factory=dict)
    thread_deaths: list[str] = field(default_factory=list)
    reload_rate_before_death: float = math.nan  # reloads per second, while the load runs
    reload_rate_after_death: float = math.nan
    workload_end: float = 0.0  # monotonic
    bridge_events: int = 0
    bridge_bursts: int = 0
    shown_age_max_s: float = math.nan  # how old the reading on screen was (screen checks while
    # the workers run: the store changes every few milliseconds then)
    shown_age_p50_s: float = math.nan
    run_dir: str = ""


def pct(values: Sequence[float], q: float) -> float:
    """The q-quantile (nearest rank) of values, nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# ---------------------------------------------------------------------- the checks


class Checker:
    """Checks snapshots and screens; collects violations (kind, text) and figures."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self.violations: list[tuple[str, str]] = []
        self.kinds: Counter[str] = Counter()
        self.done_seen: set[tuple[str, str]] = set()
        self.sprints: set[str] = set()
        self.statuses: Counter[str] = Counter()
        self.notes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.snapshots = 0
        self.applied_at: list[float] = []
        self.readings = 0
        self.screens = 0
        self.lock_tabs = 0

    def bad(self, kind: str, text: str) -> None:
        """Record one violation (the first `limit` of them in full)."""
        self.kinds[kind] += 1
        if len(self.violations) < self.limit:
            self.violations.append((kind, text))

    # ---- snapshots

    def snapshot(self, t: float, snap: Snapshot) -> None:
        """Check one applied snapshot (t: when the app applied it, monotonic)."""
        self.snapshots += 1
        self.applied_at.append(t)
        v = snap.view
        if v is None:
            self.errors[snap.error or "no view"] += 1
            if snap.fatal:
                self.bad("fatal", f"@{t:.3f} the app showed a fatal error: {snap.error}")
            return
        self.sprints.add(v.sprint_id)
        counts = Counter(pv.status for pv in v.phases)
        if sum(v.count(s) for s in STATUSES) != len(v.phases) or sum(counts.values()) != len(
            v.phases
        ):
            self.bad("counts", f"@{t:.3f} statuses {dict(counts)} do not add up to {len(v.phases)}")
        names = [pv.name for pv in v.phases]
        if len(set(names)) != len(names):
            self.bad("duplicate", f"@{t:.3f} a phase shown twice: {sorted(names)}")
        for pv in v.phases:
            self.readings += 1
            self.statuses[pv.status] += 1
            self._phase(t, v, pv)

    def _phase(self, t: float, v: SprintView, pv: Any) -> None:
        where = f"@{t:.3f} {v.sprint_id}/{pv.name}"
        lock = pv.lock
        key = (v.sprint_id, pv.name)
        who = f"{lock.agent!r} ({lock.verdict}, token {lock.token})" if lock else ""
        if pv.status == "done":
            self.done_seen.add(key)
            if lock is not None and lock.verdict in ("held", "suspect"):
                text = (
                    f"{where}: read as done (by {pv.done.agent if pv.done else '?'!r}, token "
                    f"{pv.done.token if pv.done else '?'}) and held by {who}; "
                    f"problems: {pv.problems}"
                )
                if pv.done is not None and lock.token and lock.token != pv.done.token:
                    # another claim, published after the completion: the store's own re-check
                    # supersedes it a moment later (the screen shows the phase done, unheld)
                    self.bad("done beside a live claim", text)
                else:  # the completed claim itself still live: its ending did not end it
                    self.bad("held and done", text)
            elif lock is not None:
                self.notes[f"done, with a {lock.verdict} claim beside it"] += 1
        elif key in self.done_seen:
            self.bad("done reverted", f"{where}: shown {pv.status} after it was shown done")
        if pv.status in ("held", "suspect", "stale") and (
            lock is None or lock.verdict != pv.status
        ):
            self.bad("inconsistent", f"{where}: status {pv.status} but lock {who or None}")
        if pv.status == "contested" or (lock is not None and lock.double_grant):
            self.bad("two holders", f"{where}: contested / nested lock.d: {who}")
        for problem in set(pv.problems + (lock.evidence if lock is not None else [])):
            if "tokens under one lock" in problem:
                self.bad("two holders", f"{where}: {problem}")
        for problem in pv.problems:
            self.notes["problem: " + re.sub(r"\b\d+-[0-9a-f]{16}\b", "<token>", problem)] += 1
        if lock is not None and lock.form == "fenced" and lock.verdict != "malformed":
            m = WORKER_AGENT.fullmatch(lock.agent)
            if m is None:
                self.bad("agent", f"{where}: lock agent {lock.agent!r} is not one worker's name")
            elif lock.holder_pid is not None and int(m[3]) != lock.holder_pid:
                self.bad(
                    "agent",
                    f"{where}: lock of {lock.agent!r} shows holder pid {lock.holder_pid} "
                    "(the records of two claims mixed)",
                )
            if (
                lock.token
                and lock.epoch is not None
                and int(lock.token.split("-")[0]) != lock.epoch
            ):
                self.bad("agent", f"{where}: epoch {lock.epoch} is not token {lock.token}'s")
        if pv.done is not None and not WORKER_AGENT.fullmatch(pv.done.agent):
            self.bad("agent", f"{where}: done by {pv.done.agent!r}, not one worker's name")

    # ---- the screen

    def screen(self, app: ConductorApp, view: SprintView | None, label: str) -> None:
        """Check the overview on screen against a view (the app's snapshot, or the disk's)."""
        self.screens += 1
        lines = screen_lines(app)
        header = crop(lines, app.query_one("#header").region)
        head = header[0] if header else ""
        if view is None:
            return
        where = f"{label} {view.sprint_id}"
        m = re.search(r"(\d+)/(\d+) done", head)
        if m is None or (int(m[1]), int(m[2])) != (view.count("done"), len(view.phases)):
            self.bad(
                "screen header",
                f"{where}: header {head.strip()!r}, snapshot "
                f"{view.count('done')}/{len(view.phases)} done",
            )
        shown_total = int(m[1]) if m else 0
        for status in HEADER_SHOWN:
            n = re.search(rf"(\d+) {status}\b", head)
            shown = int(n[1]) if n else 0
            shown_total += shown
            if shown != view.count(status):
                self.bad(
                    "screen header",
                    f"{where}: header shows {shown} {status}, snapshot {view.count(status)}: "
                    f"{head.strip()!r}",
                )
        if shown_total + view.count("ready", "blocked") != len(view.phases):
            self.bad("screen header", f"{where}: header counts do not add up: {head.strip()!r}")
        if ("nobody holding" in head) != (view.count(*HEADER_SHOWN) == 0):
            self.bad("screen header", f"{where}: 'nobody holding' is wrong: {head.strip()!r}")
        if view.sprint_id not in head:
            self.bad("screen header", f"{where}: the header names another sprint: {head!r}")
        self._graph(app, view, where)

    def _graph(self, app: ConductorApp, view: SprintView, where: str) -> None:
        pane = app.query_one("#graph")
        rows = crop(screen_lines(app), pane.region)
        seen: Counter[str] = Counter()
        for row in rows:
            for m in NODE_LABEL.finditer(row):
                glyph, name, word = m[1], m[2], m[3]
                pv = view.phase(name)
                if pv is None:
                    continue
                seen[name] += 1
                if glyph != GLYPH[pv.status]:
                    self.bad(
                        "screen graph",
                        f"{where}: {name} shown {glyph!r}, snapshot {pv.status} "
                        f"({GLYPH[pv.status]})",
                    )
                if word in GLYPH and word != pv.status:
                    self.bad("screen graph", f"{where}: {name} shown {word!r}, not {pv.status}")
        if not seen and view.phases:
            self.bad("screen graph", f"{where}: no phase node visible in the graph pane")
        for name, n in seen.items():
            if n > 1:
                self.bad("screen graph", f"{where}: {name} shown {n} times in the graph")

    def locks_tab(self, app: ConductorApp, view: SprintView | None, label: str) -> None:
        """Check the Locks tab (which must be the active tab) against a view."""
        self.lock_tabs += 1
        if view is None:
            return
        table = app.query_one("#locks-table")
        lines = crop(screen_lines(app), table.region)
        head = lines[0] if lines else ""
        cols = [head.find(f" {c} ") + 1 for c in ("Phase", "Verdict", "Agent", "Held")]
        where = f"{label} {view.sprint_id}"
        shown: Counter[str] = Counter()
        if min(cols) <= 0 or cols != sorted(cols):
            self.bad("screen locks", f"{where}: no column header in {head!r}")
            return
        for row in lines[1:]:  # cells by the header's columns: an empty agent stays empty
            name = row[cols[0] : cols[1]].strip()
            cells = row[cols[1] : cols[2]].split()
            agent = row[cols[2] : cols[3]].strip()
            if not name or view.phase(name) is None:
                continue
            glyph, verdict = [*cells, "", ""][:2]
            shown[name] += 1
            pv = view.phase(name)
            assert pv is not None
            lock = pv.lock
            if lock is None or pv.status == "done":
                self.bad("screen locks", f"{where}: a row for {name}, which is {pv.status}")
                continue
            full = safe(lock.agent, 40)
            if glyph != GLYPH[pv.status] or not (
                _cut(verdict, pv.status) and (_same_agent(agent, full) or _cut(agent, full))
            ):
                self.bad(
                    "screen locks", f"{where}: row {row.strip()!r}, snapshot {pv.status} {who(pv)}"
                )
            elif verdict != pv.status or not _same_agent(agent, full):
                # the right phase, verdict and holder, but cut short by a column too narrow
                self.bad(
                    "screen locks cut",
                    f"{where}: row {row.strip()!r}, snapshot {pv.status} {who(pv)}",
                )
        want = {pv.name for pv in view.phases if pv.lock is not None and pv.status != "done"}
        if set(shown) != want or any(n > 1 for n in shown.values()):
            self.bad(
                "screen locks",
                f"{where}: rows {dict(shown)}, locked phases {sorted(want)}",
            )


def who(pv: Any) -> str:
    """A phase's holder as the checks print it."""
    lock = pv.lock
    return f"{lock.agent!r} {lock.verdict}" if lock is not None else "(no lock)"


def _same_agent(shown: str, agent: str) -> bool:
    if not agent:
        return shown == ""
    if shown == agent:
        return True
    if "…" in shown:  # cut in the middle (graph) or at the end (table)
        head, _, tail = shown.partition("…")
        return agent.startswith(head) and agent.endswith(tail)
    return False


def _cut(shown: str, full: str) -> bool:
    """Whether shown is full, or full cut short (a table cell narrower than its text)."""
    return bool(shown) and full.startswith(shown)


def screen_lines(app: ConductorApp) -> list[str]:
    """The plain text of the current screen, one line per terminal row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def crop(lines: list[str], region: Any) -> list[str]:
    """The part of the screen's lines inside a widget's region."""
    return [line[region.x : region.x + region.width] for line in lines[region.y : region.bottom]]


def disagreements(shown: Snapshot, disk: SprintView | None) -> list[str]:
    """Phases whose status, agent or claim token differ between the app and the disk."""
    view = shown.view
    if disk is None:
        return [] if view is None else [f"the app shows {view.sprint_id}, the disk has no sprint"]
    if view is None:
        return [f"the app shows no sprint ({shown.error}), the disk has {disk.sprint_id}"]
    if view.sprint_id != disk.sprint_id:
        return [f"the app shows sprint {view.sprint_id}, the disk's active one is {disk.sprint_id}"]
    out = []
    for pv in disk.phases:
        mine = view.phase(pv.name)
        a = (mine.status, mine.agent, mine.lock.token if mine.lock else None) if mine else None
        b = (pv.status, pv.agent, pv.lock.token if pv.lock else None)
        if a != b:
            out.append(f"{pv.name}: app {a}, disk {b}")
    return out


# ---------------------------------------------------------------------- the run


class LoopProbe:
    """A 50 ms timer in the app: the gaps between its runs, less 50 ms, are how long the event
    loop was kept from it (a blocked loop, or a message handler that does not return)."""

    def __init__(self, interval: float = TICK_S) -> None:
        self.interval = interval
        self.ticks: list[float] = []

    def attach(self, app: ConductorApp) -> None:
        """Start the timer in a running app."""
        app.set_interval(self.interval, lambda: self.ticks.append(time.monotonic()))

    def lateness(self) -> list[float]:
        """How late each run after the first was."""
        return [max(0.0, b - a - self.interval) for a, b in itertools.pairwise(self.ticks)]


class Harness:
    """bench/stress.py as a child process in its own session."""

    def __init__(self, base: Path, load: Load) -> None:
        self.dir = base / "stress"
        self.json = base / "stress.json"
        self.out = base / "stress.out"
        self.load = load
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the harness (the workload ends by itself after load.seconds)."""
        ld = self.load
        cmd = [sys.executable, str(STRESS), "--dir", str(self.dir), "--quiet"]
        cmd += ["--json", str(self.json), "--attempts", "100000000"]
        cmd += ["--max-seconds", f"{ld.seconds:g}", "--workers", str(ld.workers)]
        cmd += ["--phases", str(ld.phases), "--seed", str(ld.seed), "--ttl", f"{ld.ttl:g}"]
        cmd += ["--kill-rate", f"{ld.kill_rate:g}", "--stall-rate", f"{ld.stall_rate:g}"]
        if ld.broken:
            cmd += ["--broken", ld.broken]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONDUCTOR_")}
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    @property
    def running(self) -> bool:
        """Whether the harness has not exited yet."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Only when something went wrong: SIGKILL the harness's process group (ours)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # its session: the supervisor, workers
        self.proc.wait()

    def result(self, fig: Figures) -> None:
        """Read the harness's --json document into the figures."""
        fig.harness_status = self.proc.returncode if self.proc is not None else None
        with contextlib.suppress(OSError, ValueError):
            doc = json.loads(self.json.read_text())
            fig.harness_verdict = doc.get("verdict", "")
            fig.harness_violations = len(doc.get("violations", []))
            fig.harness_figures = {
                k: v for k, v in doc.get("figures", {}).items() if k != "details"
            }
        if not fig.harness_verdict:
            with contextlib.suppress(OSError):
                fig.harness_verdict = self.out.read_text(errors="replace")[-2000:]


async def _until(cond: Any, timeout: float, step: float = 0.01) -> bool:
    """Poll a condition (bounded); True when it held."""
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)


async def run(base: str | Path, load: Load | None = None) -> Figures:
    """Run the harness and the app together in base (created if needed); return the figures."""
    load = load or Load()
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    fig = Figures(run_dir=str(base))
    check = Checker()
    harness = Harness(base, load)
    deaths: list[str] = []
    died_at: list[float] = []
    previous_hook = threading.excepthook

    def hook(args: Any) -> None:  # a thread of this process died of an exception
        died_at.append(time.monotonic())
        deaths.append(
            f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}: "
            f"{args.exc_value!s:.300}"
        )
        previous_hook(args)

    threading.excepthook = hook
    harness.start()
    try:
        current = harness.dir / "current.json"
        await _until(lambda: current.exists() or not harness.running, load.start_timeout_s)
        if current.exists():
            await Session(harness, load, fig, check).run()
        else:
            check.bad("harness", "the harness started no sprint")
    finally:
        threading.excepthook = previous_hook
        harness.stop()
    harness.result(fig)
    fig.thread_deaths = deaths
    if died_at and check.applied_at:
        # how often the app re-read the store before and after the first death, under load
        t0, t1, t2 = check.applied_at[0], died_at[0], fig.workload_end
        before = sum(1 for t in check.applied_at if t < t1)
        after = sum(1 for t in check.applied_at if t1 <= t < t2)
        fig.reload_rate_before_death = before / max(t1 - t0, 1e-9)
        fig.reload_rate_after_death = after / max(t2 - t1, 1e-9) if t2 > t1 else math.nan
    fig.snapshots_applied = check.snapshots
    fig.sprints_seen = len(check.sprints)
    fig.phase_readings = check.readings
    fig.statuses_seen = dict(sorted(check.statuses.items()))
    fig.error_snapshots = sum(check.errors.values())
    fig.errors = [f"{n} x {e}" for e, n in check.errors.most_common(5)]
    fig.notes = dict(check.notes.most_common())
    fig.screen_checks = check.screens
    fig.locks_tab_checks = check.lock_tabs
    fig.violations = [f"[{k}] {t}" for k, t in check.violations]
    fig.violation_kinds = dict(check.kinds)
    return fig


class Session:
    """The app on the harness's store while the harness runs, then until it matches the disk."""

    def __init__(self, harness: Harness, load: Load, fig: Figures, check: Checker) -> None:
        self.harness, self.load, self.fig, self.check = harness, load, fig, check
        self.current = harness.dir / "current.json"
        self.store = Store(str(harness.dir / "store"))
        self.project = str(harness.dir / "project")
        # as conductor-tui runs it: the start-up heap frozen out of the cyclic collector's way
        # (here that heap is also every earlier test's, in a test run: over a million objects,
        # whose full collections stalled the loop for seconds on a loaded machine)
        self.app = ConductorApp(
            Loader(self.store, self.project),
            agent=APP_AGENT,
            watch=True,
            tick_s=1.0,
            freeze_gc=True,
        )
        self.app.animation_level = "none"
        self.app.keep_applied = True
        self.probe = LoopProbe()
        self.keys: list[float] = []
        self.ages: list[float] = []

    def drain(self) -> None:
        """Check the snapshots applied since the last call, then drop them."""
        batch = list(self.app.applied)
        self.app.applied.clear()
        for t, snap in batch:
            self.check.snapshot(t, snap)

    def disk(self) -> SprintView | None:
        """A fresh reading of the active sprint."""
        sprint = self.store.find_active(self.project)
        return sprint.view() if sprint is not None else None

    async def run(self) -> None:
        """The whole session; the figures are filled in even when it is cut short."""
        ld, fig, app = self.load, self.fig, self.app
        try:
            async with app.run_test(size=ld.size):
                try:
                    if await self._under_load():
                        await self._at_rest()
                finally:
                    fig.reloads = app.reloads
                    if app.bridge is not None:
                        fig.bridge_events, fig.bridge_bursts = app.bridge.events, app.bridge.bursts
                    self.drain()
        finally:
            lateness = self.probe.lateness()
            fig.loop_ticks = len(self.probe.ticks)
            fig.loop_late_max_s = max(lateness, default=math.nan)
            fig.loop_late_p99_s = pct(lateness, 0.99)
            fig.keys = len(self.keys)
            fig.key_max_s = max(self.keys, default=math.nan)
            fig.key_p99_s = pct(self.keys, 0.99)
            fig.shown_age_max_s = max(self.ages, default=math.nan)
            fig.shown_age_p50_s = pct(self.ages, 0.5)

    async def _under_load(self) -> bool:
        """Keys, screen checks and snapshot checks until the harness exits; False if cut short."""
        ld, check, app = self.load, self.check, self.app
        started = time.monotonic()
        shown = await _until(
            lambda: any(s.view is not None for _, s in app.applied) and app.bridge is not None,
            ld.start_timeout_s,
        )
        if not shown:
            check.bad("frozen", "the app never showed the sprint")
            return False
        self.probe.attach(app)
        graph = app.query_one(PhaseGraph)
        # Until a key moves it, the cursor follows what most needs a person (it moves with the
        # snapshots); the first key hands it to the user, and from then on only keys move it.
        graph.focus()
        if not await _until(lambda: app.focused is graph, ld.key_timeout_s):
            check.bad("frozen", "the phase graph never took the focus")
            return False
        self.keyprobe = KeyProbe(app)
        if not await _key(self.keyprobe, graph, 1, [], ld.key_timeout_s, check):
            return False
        last_screen, screens, step = 0.0, 0, 1
        workload_end = started + ld.seconds - 1.0  # then the harness sweeps and checks
        hard_end = started + ld.seconds + ld.grace_s

        def enough() -> bool:  # the checks a run must make, however slow a loaded machine is
            return (
                len(self.keys) >= MIN_KEYS and check.screens >= MIN_SCREENS and check.lock_tabs >= 1
            )

        while (self.harness.running or not enough()) and time.monotonic() < hard_end:
            self.drain()
            if not await _key(self.keyprobe, graph, step, self.keys, ld.key_timeout_s, check):
                return False
            step = -step
            if time.monotonic() - last_screen >= ld.screen_every_s:
                last_screen = time.monotonic()
                screens += 1

                def look() -> None:  # just after a repaint: the frame shows app.snapshot
                    if time.monotonic() < workload_end:  # the store changes all the time
                        self.ages.append(time.monotonic() - app.snapshot_at)
                    check.screen(app, app.snapshot.view, "during the load")

                if not await _refreshed(app, ld.key_timeout_s, look):
                    check.bad("frozen", f"no repaint in {ld.key_timeout_s:g} s")
                    return False
                if screens % ld.locks_tab_every == 0 and not await _locks_tab(
                    app, check, None, "during the load", ld.key_timeout_s
                ):
                    return False
            await asyncio.sleep(ld.pace_s)
        if self.harness.running:
            check.bad("harness", f"the harness was still running after {ld.grace_s} s of grace")
            return False
        self.fig.workload_s = time.monotonic() - started
        self.fig.workload_end = time.monotonic()
        return True

    async def _at_rest(self) -> None:
        """The disk is quiet: the app must get there by itself (watcher or idle re-read), then
        after one more reload asked for here, its snapshot and screen equal a fresh reading."""
        ld, fig, app = self.load, self.fig, self.app
        t_end = time.monotonic()
        disk_view = self.disk()

        def converged() -> bool:
            self.drain()
            return not app._loading and not disagreements(app.snapshot, disk_view)

        if await _until(converged, CONVERGE_S, 0.05):
            fig.self_converged_s = time.monotonic() - t_end
        else:
            fig.final_mismatches += [
                f"not converged after {CONVERGE_S:g} s: {d}"
                for d in disagreements(app.snapshot, disk_view)
            ]
        before = app.reloads
        app.request_reload()
        if not await _until(lambda: app.reloads > before and not app._loading, 30.0):
            self.check.bad("frozen", "the final reload was never applied")
        self.drain()
        disk_view = self.disk()
        fig.final_mismatches += disagreements(app.snapshot, disk_view)
        final = Checker()  # what it finds is a final mismatch, not a violation under load
        label = "final, vs the disk:"
        if not await _refreshed(app, ld.key_timeout_s, lambda: final.screen(app, disk_view, label)):
            final.bad("frozen", f"no repaint in {ld.key_timeout_s:g} s")
        await _locks_tab(app, final, disk_view, label, ld.key_timeout_s)
        fig.final_mismatches += [f"[{k}] {t}" for k, t in final.violations]
        with contextlib.suppress(OSError, ValueError):
            sid = json.loads(self.current.read_text())["sprint_id"]
            if disk_view is None or disk_view.sprint_id != sid:
                fig.final_mismatches.append(f"the active sprint is not the harness's last, {sid}")


def _post_key(app: ConductorApp, key: str) -> None:
    """Post a key to the app as the terminal driver does (the pilot's `press` would then wait
    for the process to go idle, which a loaded app never is)."""
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    app.post_message(event)


async def _refreshed(
    app: ConductorApp, timeout: float, then: Callable[[], None] | None = None
) -> bool:
    """Wait (bounded) until the screen has been repainted once more, and call `then` right
    after that repaint (before any other message is handled: what it reads is what was shown)."""
    done = asyncio.Event()

    def after() -> None:
        try:
            if then is not None:
                then()
        finally:
            done.set()

    app.call_after_refresh(after)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout)
    return done.is_set()


MARK_KEY = "f12"  # bound by the bench only: its action records when it ran


class KeyProbe:
    """Posts keys as the terminal driver does, each followed by a marker key that takes the same
    path (the app forwards both to the focused widget; they bubble back to the app's bindings
    in order), so when the marker's action runs the key before it has been handled or dropped.
    (The pilot's own `press` waits for the process to go idle, which a loaded app never is.)"""

    def __init__(self, app: ConductorApp) -> None:
        self.app = app
        self.marks: list[float] = []
        app.bind(MARK_KEY, "under_load_mark", show=False)
        app.action_under_load_mark = lambda: self.marks.append(time.monotonic())  # type: ignore[attr-defined]

    async def press(self, key: str, timeout: float) -> float | None:
        """Post key and the marker; seconds until the key was processed, None if never."""
        n = len(self.marks)
        t0 = time.monotonic()
        _post_key(self.app, key)
        _post_key(self.app, MARK_KEY)
        if not await _until(lambda: len(self.marks) > n, timeout, 0.002):
            return None
        return self.marks[n] - t0


async def _key(
    probe: KeyProbe, graph: PhaseGraph, step: int, keys: list[float], timeout: float, check: Any
) -> bool:
    """Press j (step 1) or k (step -1): the phase graph's cursor must have moved when the key has
    been processed; its latency is recorded.

    A key that lands while the app shows no sprint (a reading without a view: there is nothing
    to move through) is rightly ignored; it is pressed again once a sprint is shown."""
    app = probe.app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        order = graph.order()  # what j/k walk: the graph's columns, or the list when narrow
        if len(order) < 2:
            await asyncio.sleep(0.01)
            continue
        before = graph.selected
        index = order.index(before) if before in order else 0
        if not 0 <= index + step < len(order):
            step = -step  # at an end: go the other way
        want = order[index + step]
        key = "j" if step > 0 else "k"
        first = not graph.user_moved  # until then the cursor also follows the readings
        t0 = time.monotonic()
        took = await probe.press(key, deadline - t0)
        if took is None:
            check.bad("frozen", f"{key!r} was not processed in {timeout:g} s")
            return False
        if graph.user_moved and (first or graph.selected == want):
            keys.append(took)
            return True
        if not graph.order() or any(s.view is None for t, s in app.applied if t >= t0):
            check.notes["keys pressed again (the app showed no sprint when they landed)"] += 1
            await _until(lambda: len(graph.order()) >= 2, deadline - time.monotonic())
            continue
        check.bad(
            "key lost",
            f"{key!r} from {before!r} should have moved the cursor to {want!r}: it is on "
            f"{graph.selected!r} (user moved {graph.user_moved}, order {graph.order()}, "
            f"focused {app.focused!r}, screens {len(app.screen_stack)}, tab "
            f"{app.overview.active_tab!r})",
        )
        return False
    check.bad("frozen", f"no sprint to move through for {timeout:g} s")
    return False


async def _locks_tab(
    app: ConductorApp, check: Checker, view: SprintView | None, label: str, timeout: float
) -> bool:
    """Open the Locks tab with its key, check it against view (None: the app's snapshot as it
    is when the check runs), and come back to the overview, the graph focused."""
    tabs = app.overview
    _post_key(app, "2")

    def look() -> None:
        check.locks_tab(app, view if view is not None else app.snapshot.view, label)

    if not await _until(lambda: tabs.active_tab == "locks", timeout) or not await _refreshed(
        app, timeout, look
    ):
        check.bad("frozen", f"the Locks tab did not open in {timeout:g} s")
        return False
    _post_key(app, "1")
    if not await _until(lambda: tabs.active_tab == "overview", timeout) or not await _refreshed(
        app, timeout
    ):
        check.bad("frozen", f"the Overview tab did not come back in {timeout:g} s")
        return False
    graph = app.query_one(PhaseGraph)
    graph.focus()
    if not await _until(lambda: app.focused is graph, timeout):
        check.bad("frozen", "the phase graph did not take the focus back")
        return False
    return True


# ---------------------------------------------------------------------- the command


def failures(fig: Figures, max_late: float) -> list[str]:
    """Why a run failed (empty: it passed)."""
    out = []
    if fig.violations:
        out.append(f"{len(fig.violations)} violations on the app's snapshots or screen")
    if fig.final_mismatches:
        out.append(f"{len(fig.final_mismatches)} final mismatches between the screen and the disk")
    if not fig.loop_late_max_s <= max_late:
        out.append(f"event loop late by {fig.loop_late_max_s:.3f} s (bound {max_late:g} s)")
    if not fig.key_max_s <= max_late:
        out.append(f"a key took {fig.key_max_s:.3f} s (bound {max_late:g} s)")
    if fig.thread_deaths:
        out.append(f"{len(fig.thread_deaths)} threads died: {fig.thread_deaths[0]}")
    if fig.harness_violations:
        out.append(f"the stress harness found {fig.harness_violations} violations in the store")
    return out


def report(fig: Figures) -> str:
    """The figures as plain text."""
    ms = lambda s: "n/a" if s is None or math.isnan(s) else f"{s * 1000:.1f} ms"  # noqa: E731
    rows = [
        ("workload seen by the app", f"{fig.workload_s:.1f} s"),
        ("snapshots applied (checked)", fig.snapshots_applied),
        ("reloads", fig.reloads),
        ("sprints followed", fig.sprints_seen),
        ("phase readings checked", fig.phase_readings),
        ("snapshots without a sprint", fig.error_snapshots),
        ("event loop: 50 ms ticks", fig.loop_ticks),
        ("event loop: max lateness", ms(fig.loop_late_max_s)),
        ("event loop: p99 lateness", ms(fig.loop_late_p99_s)),
        ("keys (j/k) handled", fig.keys),
        ("key to cursor moved: max", ms(fig.key_max_s)),
        ("key to cursor moved: p99", ms(fig.key_p99_s)),
        ("age of the reading shown: p50", ms(fig.shown_age_p50_s)),
        ("age of the reading shown: max", ms(fig.shown_age_max_s)),
        ("watcher: raw events / bursts", f"{fig.bridge_events} / {fig.bridge_bursts}"),
        ("threads of the app that died", len(fig.thread_deaths)),
        ("screen checks (overview)", fig.screen_checks),
        ("screen checks (Locks tab)", fig.locks_tab_checks),
        (
            "converged to the disk by itself",
            "no" if fig.self_converged_s is None else f"after {fig.self_converged_s:.2f} s",
        ),
        ("final mismatches screen/disk", len(fig.final_mismatches)),
        ("violations", len(fig.violations)),
        ("stress harness: violations", fig.harness_violations),
    ]
    width = max(len(k) for k, _ in rows)
    out = [f"  {k:<{width}}  {v!s:>12}" for k, v in rows]
    out.append("  statuses seen: " + ", ".join(f"{k} {v}" for k, v in fig.statuses_seen.items()))
    for note, n in fig.notes.items():
        out.append(f"  note: {n} x {note}")
    for death in fig.thread_deaths:
        out.append(f"  THREAD DIED: {death}")
    if fig.thread_deaths:
        out.append(
            f"  reloads per second under load: {fig.reload_rate_before_death:.1f} before the "
            f"first death, {fig.reload_rate_after_death:.1f} after it"
        )
    for err in fig.errors:
        out.append(f"  no sprint shown: {err}")
    out.append(f"  stress harness: exit {fig.harness_status}: {fig.harness_verdict.strip()[-300:]}")
    if fig.harness_figures:
        out.append(
            "  stress harness figures: "
            + ", ".join(f"{k} {v}" for k, v in fig.harness_figures.items())
        )
    if fig.violation_kinds:
        out.append("  violations by kind: " + json.dumps(fig.violation_kinds))
    for v in fig.violations[:20]:
        out.append(f"  VIOLATION {v}")
    for m in fig.final_mismatches[:20]:
        out.append(f"  MISMATCH {m}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    d = Load()
    ap.add_argument("--seconds", type=float, default=d.seconds, help="of workload")
    ap.add_argument("--workers", type=int, default=d.workers)
    ap.add_argument("--phases", type=int, default=d.phases)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--ttl", type=float, default=d.ttl)
    ap.add_argument("--kill-rate", type=float, default=d.kill_rate)
    ap.add_argument("--stall-rate", type=float, default=d.stall_rate)
    ap.add_argument(
        "--broken",
        nargs="?",
        const="publish-into",
        default="",
        choices=["publish-into", "end-lock"],
        help="negative control: the harness's broken store (default publish-into)",
    )
    ap.add_argument("--max-late", type=float, default=2.0, help="liveness bound, seconds")
    ap.add_argument("--dir", help="run directory (kept); default a temporary one")
    ap.add_argument("--keep", action="store_true", help="keep the temporary run directory")
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    a = ap.parse_args(argv)
    if a.seconds <= 0 or a.workers < 1 or a.phases < 2:
        ap.error("--seconds and --workers must be positive, --phases at least 2")
    load = Load(
        seconds=a.seconds,
        workers=a.workers,
        phases=a.phases,
        seed=a.seed,
        ttl=a.ttl,
        kill_rate=a.kill_rate,
        stall_rate=a.stall_rate,
        broken=a.broken,
    )
    base = a.dir or tempfile.mkdtemp(prefix="conductor-app-load-")
    home = Path(base) / "home"  # no skill roots from the caller's home
    home.mkdir(parents=True, exist_ok=True)
    os.environ["HOME"] = str(home)
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    fig = asyncio.run(run(base, load))
    print(
        f"app under load: {load.workers} workers, {load.phases} phases, {load.seconds:g} s, "
        f"seed {load.seed}" + (f", BROKEN store: {load.broken}" if load.broken else "")
    )
    print(report(fig))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump({"load": asdict(load), "figures": asdict(fig)}, fh, indent=1)
    why = failures(fig, a.max_late)
    print()
    print("FAILED: " + "; ".join(why) if why else "OK: responsive, zero violations, screen = disk")
    if not a.dir:
        if a.keep or why:
            print(f"run directory kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 1 if why else 0


if __name__ == "__main__":
    sys.exit(main())
