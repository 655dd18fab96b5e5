"""What judging holder processes costs: the app's 1 s tick and `conductor status`, many holders.

    python bench/bench_liveness.py                  # 1,000 phases, 50 live holders, 200 ticks
    python bench/bench_liveness.py --holders 50 --phases 1000 --ticks 500 --runs 21

The sprint is p0000.. in layers of 50 (each phase needs the one 50 before it), so layer 0 is 50
ready phases; each is claimed by its own live process (`sleep`), recorded with the pid and start
time that `holder_process(pid)` gives, as `conductor claim --pid` records them. Measured:

1. probes: one probe of each distinct holder (`store.probe`, what the tick calls), per tick.
2. tick: the app's `_tick` loop over the kept view (1,000 phases, one probe per distinct pid,
   each compared with the verdict on screen), copied from `tui/app.py` so that no Textual app
   is needed; the figure is per tick.
3. re-judge: `Sprint.view_from` over the readings kept (what a tick's reload does when a verdict
   changed): every lock judged again, one probe per pid.
4. `conductor status` and `status --json` at that size, whole processes (median, min, p90 of
   --runs), and `python -c pass` and `python -c "import psutil"` beside them.

Before and after a change, on the same machine: check the old tree out somewhere and run this
same script with PYTHONPATH pointing at it (`git worktree add /tmp/before HEAD~3`, then
`PYTHONPATH=/tmp/before python bench/bench_liveness.py`); the `conductor` processes inherit it.

It prints figures only; it never asserts on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAYER = 50


def make_world(
    base: Path, phases: int, holders: int
) -> tuple[str, str, list[subprocess.Popen[bytes]]]:
    """A store with one sprint of `phases` phases, `holders` of them held by live processes."""
    from conductor_tui.core.liveness import holder_process
    from conductor_tui.core.store import Store

    project = base / "project"
    project.mkdir()
    graph = [
        {"name": f"p{i:04d}", "depends_on": [f"p{i - LAYER:04d}"] if i >= LAYER else []}
        for i in range(phases)
    ]
    store = Store(str(base / "store"))
    sprint = store.start(str(project), agent="bench-lead", phases=graph)
    procs = [subprocess.Popen(["sleep", "3600"]) for _ in range(holders)]
    ready = sprint.next_ready()
    if len(ready) < holders:
        raise SystemExit(f"only {len(ready)} ready phases for {holders} holders")
    for phase, proc in zip(ready, procs, strict=False):
        pid, start = holder_process(proc.pid)
        sprint.claim(phase, agent=f"holder-{pid}", holder_pid=pid, holder_start=start)
    return str(base / "store"), str(project), procs


def tick_loop(view: object, probe: object) -> bool:
    """The app's _tick after its expiry check (tui/app.py): True when a reload would be asked."""
    seen: dict[int, bool] = {}
    for pv in view.phases:  # type: ignore[attr-defined]
        lock = pv.lock
        if lock is None or not lock.holder_pid or pv.status == "done" or lock.holder_alive is None:
            continue
        if lock.holder_pid not in seen:
            info = probe(lock.holder_pid)  # type: ignore[operator]
            seen[lock.holder_pid] = info is not None and info.state != "Z"
        if seen[lock.holder_pid] != lock.holder_alive:
            return True
    return False


def timed(fn: object, n: int) -> list[float]:
    """n wall times of fn(), in ms."""
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - started) * 1000.0)
    return out


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[max(0, int(0.9 * len(ordered) + 0.5) - 1)]
    return f"median {statistics.median(times):7.3f} ms  min {ordered[0]:7.3f}  p90 {p90:7.3f}"


def in_process(store_root: str, project: str, ticks: int) -> None:
    from conductor_tui.core.store import Store

    store = Store(store_root)
    sprint = store.find_active(project)
    assert sprint is not None
    now = store.clock()
    readings = sprint.read_all(now)
    view = sprint.view_from(readings, now)
    held = [pv for pv in view.phases if pv.lock is not None]
    pids = sorted({pv.lock.holder_pid for pv in held if pv.lock and pv.lock.holder_pid})
    verdicts: dict[str, int] = {}
    for pv in held:
        verdicts[pv.status] = verdicts.get(pv.status, 0) + 1
    print(f"  held locks: {len(held)} ({verdicts}), distinct holder pids: {len(pids)}")
    if held:
        print(f"  evidence of one: {held[0].lock.evidence if held[0].lock else None}")
    assert not tick_loop(view, store.probe), "a tick would reload: a holder is judged dead"

    def probes() -> None:
        for pid in pids:
            store.probe(pid)

    timed(probes, 20)  # warm: psutil imported, caches filled
    print(f"  1. probes of {len(pids)} holders   {summary(timed(probes, ticks))}")
    tick = timed(lambda: tick_loop(view, store.probe), ticks)
    print(f"  2. tick loop ({len(view.phases)} phases) {summary(tick)}")
    rejudge = timed(lambda: sprint.view_from(readings, store.clock()), max(20, ticks // 10))
    print(f"  3. re-judge (view_from)   {summary(rejudge)}")


LAUNCH = "import sys; from conductor_tui.cli import main; sys.exit(main(sys.argv[1:]))"


def whole_process(store_root: str, project: str, runs: int, base: Path) -> None:
    """Whole `conductor` processes (the console script's two lines, run with -c so that
    PYTHONPATH=TREE measures another checkout), and bare interpreters beside them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NANOSTACK_", "CONDUCTOR_"))}
    env["HOME"] = str(base)
    rows: list[tuple[str, list[str]]] = [
        (f"conductor {' '.join(argv)}", [sys.executable, "-c", LAUNCH, *argv])
        for argv in (
            ["--store", store_root, "--project", project, "status"],
            ["--store", store_root, "--project", project, "status", "--json"],
        )
    ]
    rows += [(f"python -c {code!r}", [sys.executable, "-c", code]) for code in BARE]
    for label, cmd in rows:
        if subprocess.run(cmd, env=env, cwd=base, capture_output=True).returncode != 0:
            print(f"  {label}: fails")
            continue
        for _ in range(2):  # warm the page cache and the bytecode
            subprocess.run(cmd, env=env, cwd=base, capture_output=True)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(cmd, env=env, cwd=base, capture_output=True, check=True)
            times.append((time.perf_counter() - started) * 1000.0)
        label = label.replace(f" --store {store_root} --project {project}", "")
        print(f"  4. {label:28s} {summary(times)}")


BARE = ("pass", "import psutil")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--phases", type=int, default=1000)
    ap.add_argument("--holders", type=int, default=50)
    ap.add_argument("--ticks", type=int, default=200)
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    try:
        import psutil

        has_psutil = f"psutil {psutil.__version__}"
    except ImportError:
        has_psutil = "no psutil"
    print(
        f"bench_liveness: {args.phases} phases, {args.holders} live holders; python "
        f"{platform.python_version()} on {platform.system()} {platform.release()}, "
        f"{os.cpu_count()} CPUs, {has_psutil}"
    )
    base = Path(tempfile.mkdtemp(prefix="bench-liveness-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        store_root, project, procs = make_world(base, args.phases, args.holders)
        in_process(store_root, project, args.ticks)
        whole_process(store_root, project, args.runs, base)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
