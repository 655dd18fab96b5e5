"""The app on a real terminal under steady churn: CPU and memory over time, idle and busy.

    python bench/bench_churn.py                         # 7, 200, 1000 phases; 60 s busy each
    python bench/bench_churn.py --phases 1000 --seconds 600 --trace   # the 10-minute memory run

The app runs as a terminal (tmux) runs it: `conductor-tui --store S --project P` on a pty of
120x40 (bench/terminal_exit.py's harness), its output read and thrown away as a terminal would
read it. The sprint is the default one (7) or p0000.. in layers of 50. Measured from /proc:

- idle: no other process writes; the app's CPU (utime + stime of every thread) over --idle-s
  after it has drawn and settled. Idle work comes in steps (the watcher's rescan and the
  loader's sweep every 15 s), so the window is 60 s by default: a 20 s window holds one or two
  of them depending on where it falls, and at 1,000 phases read 0.18-0.55 % where 60 s windows
  read 0.18-0.20 %.
- busy: another process claims a layer-0 phase and aborts it again about ten times a second
  (terminal_exit.py's writer), the usage a user pane sees next to a busy team. CPU over --seconds,
  and resident memory (VmRSS) sampled every --every seconds: first, last, peak, and last/first.
- with --trace the app runs under tracemalloc and writes a snapshot at the first sample (or the
  first one --trace-after seconds into the window, past the caches' warm-up) and at the last;
  the biggest growths by line between them are printed ("find what grows").

What a user would run instead, `watch -n1 conductor status` (a process a second), is measured
the same way beside it: the CPU of one `conductor status` times one a second.
It prints figures and the targets beside them; it never asserts on time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import terminal_exit
from terminal_exit import AppOnPty, Sprint, Writer, child_env, make_sprint

TICKS = os.sysconf("SC_CLK_TCK")

# terminal_exit's entry, plus tracemalloc snapshots on SIGUSR2 when CHURN_TRACE names a prefix
ENTRY = """\
import faulthandler, os, signal, sys
faulthandler.register(signal.SIGUSR1, file=open(sys.argv.pop(1), "w"), all_threads=True)
prefix = os.environ.pop("CHURN_TRACE", "")
if prefix:
    import tracemalloc
    tracemalloc.start(8)
    shots = [0]
    def dump(_signum, _frame):
        shots[0] += 1
        tracemalloc.take_snapshot().dump(f"{prefix}.{shots[0]}")
        open(f"{prefix}.{shots[0]}.done", "w").close()
    signal.signal(signal.SIGUSR2, dump)
from conductor_tui.tui.main import main
sys.exit(main())
"""


def churn_writer(sprint: Sprint) -> Writer:
    """terminal_exit's writer process, claiming the sprint's own source phases in turn (so the
    default sprint's `think` too): a claim and an abort about ten times a second."""
    return Writer(sprint, script=os.path.abspath(__file__))


def writer_main(store_root: str, project: str) -> int:
    """The writer's side: terminal_exit's loop over the sprint's phases with no dependencies."""
    from conductor_tui.core.store import Store

    sprint = Store(store_root).find_active(project)
    if sprint is None:
        print("no active sprint", file=sys.stderr)
        return 2
    sources = [p.name for p in sprint.record.phases if not p.depends_on][:50]
    return terminal_exit.writer_main(store_root, project, sources)


def cpu_s(pid: int) -> float:
    """CPU seconds used so far by every thread of pid."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of pid, MB."""
    with open(f"/proc/{pid}/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pump_for(app: AppOnPty, seconds: float, writer: Writer | None = None) -> None:
    """Read the terminal (and the writer) for a while, as a terminal would."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if app.exited():
            raise RuntimeError(f"the app exited ({app.proc.wait()})")
        app.pump(until, *([writer] if writer else []))


def snapshot(app: AppOnPty, prefix: str, n: int) -> str:
    """Ask the app for tracemalloc snapshot n; wait for it (reading the terminal meanwhile)."""
    os.kill(app.pid, signal.SIGUSR2)
    done = f"{prefix}.{n}.done"
    deadline = time.monotonic() + 60
    while not os.path.exists(done):
        if time.monotonic() > deadline:
            raise RuntimeError("no tracemalloc snapshot within 60 s")
        app.pump(time.monotonic() + 0.05)
    return f"{prefix}.{n}"


def measure(phases: int, a: argparse.Namespace, base: str) -> dict[str, object]:
    """Idle, then busy, figures of one app on a sprint of `phases` (0: the default sprint)."""
    tmp = tempfile.mkdtemp(prefix=f"churn-{phases}-", dir=base)
    sprint = make_sprint(tmp, phases)
    trace = os.path.join(tmp, "trace") if a.trace else ""
    env = {"HOME": tmp, **({"CHURN_TRACE": trace} if trace else {})}
    argv = ["--store", sprint.store, "--project", sprint.project]
    out: dict[str, object] = {"phases": phases or 7}
    app = AppOnPty(argv, ctty=True, diag=os.path.join(tmp, "stacks.txt"), entry=ENTRY, **env)
    writer: Writer | None = None
    try:
        app.wait_drawn()
        pump_for(app, a.settle_s)
        c0 = cpu_s(app.pid)
        pump_for(app, a.idle_s)
        out["idle_pct"] = 100 * (cpu_s(app.pid) - c0) / a.idle_s
        writer = churn_writer(sprint)
        pump_for(app, a.settle_s, writer)
        rounds0 = writer.rounds
        c0, t0 = cpu_s(app.pid), time.monotonic()
        samples = [rss_mb(app.pid)]
        shots: list[str] = []
        while (elapsed := time.monotonic() - t0) < a.seconds:
            if trace and not shots and elapsed >= a.trace_after:
                shots.append(snapshot(app, trace, 1))
            pump_for(app, min(a.every, a.seconds - elapsed), writer)
            samples.append(rss_mb(app.pid))
        if trace:
            shots.append(snapshot(app, trace, 2))
        spent = time.monotonic() - t0
        out["busy_pct"] = 100 * (cpu_s(app.pid) - c0) / spent
        out["changes_per_s"] = 2 * (writer.rounds - rounds0) / spent  # a claim and an abort
        out["rss_first"], out["rss_last"], out["rss_peak"] = samples[0], samples[-1], max(samples)
        out["rss_samples"] = samples
        out["seconds"] = spent
        if shots:
            first = tracemalloc.Snapshot.load(shots[0])
            last = tracemalloc.Snapshot.load(shots[1])
            top = last.compare_to(first, "lineno")[: a.top]
            out["growth"] = [str(s) for s in top]
    finally:
        if writer is not None:
            writer.stop()
        app.close()
    return out


def status_cost(base: str, runs: int = 10) -> float:
    """CPU seconds of one `conductor status` on a 1,000-phase sprint (what `watch -n1` runs)."""
    sprint = make_sprint(tempfile.mkdtemp(prefix="status-", dir=base), 1000)
    exe = os.path.join(os.path.dirname(sys.executable), "conductor")
    argv = [exe, "--store", sprint.store, "--project", sprint.project, "status"]
    before = os.times()
    for _ in range(runs):
        subprocess.run(argv, stdout=subprocess.DEVNULL, env=child_env(), check=True)
    after = os.times()
    return (
        after.children_user + after.children_system - before.children_user - before.children_system
    ) / runs


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["writer"]:
        return writer_main(argv[1], argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--phases",
        type=int,
        nargs="*",
        default=[0, 200, 1000],
        help="sprint sizes (0: the default 7-phase sprint)",
    )
    ap.add_argument("--seconds", type=float, default=60.0, help="busy window")
    ap.add_argument(
        "--idle-s",
        type=float,
        default=60.0,
        help="idle window (a multiple of the watcher's 15 s rescan: the rate, not the phase)",
    )
    ap.add_argument("--settle-s", type=float, default=5.0, help="untimed warm-up of each window")
    ap.add_argument("--every", type=float, default=10.0, help="memory sample period, s")
    ap.add_argument("--trace", action="store_true", help="tracemalloc: what grows")
    ap.add_argument("--top", type=int, default=12, help="growths listed with --trace")
    ap.add_argument(
        "--trace-after",
        type=float,
        default=0.0,
        help="with --trace, seconds into the busy window of the first snapshot (past warm-up)",
    )
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="conductor-churn-") as base:
        watch_pct = 100 * status_cost(base)
        print(
            f"{'phases':>6} {'idle %':>7} {'busy %':>7} {'chg/s':>6} "
            f"{'RSS first':>9} {'last':>6} {'peak':>6} {'growth':>7}"
        )
        results = []
        for n in a.phases:
            r = measure(n, a, base)
            results.append(r)
            rss_first, rss_last = float(r["rss_first"]), float(r["rss_last"])  # type: ignore[arg-type]
            print(
                f"{r['phases']:>6} {r['idle_pct']:7.2f} {r['busy_pct']:7.1f} "
                f"{r['changes_per_s']:6.1f} {rss_first:9.1f} {rss_last:6.1f} "
                f"{r['rss_peak']:6.1f} {100 * (rss_last / rss_first - 1):+6.1f}%",
                flush=True,
            )
            series = " ".join(f"{mb:.1f}" for mb in r["rss_samples"])  # type: ignore[attr-defined]
            print(f"    RSS every {a.every:g} s, MB: {series}")
            for line in r.get("growth", []):  # type: ignore[union-attr]
                print(f"    {line}")
        print(
            f"\n`watch -n1 conductor status` at 1,000 phases: {watch_pct:.1f} % of a core "
            "(one status a second)."
        )
        print(
            "Targets: idle < 0.5 % of a core; busy (10 claims and aborts a second) < 10 % at "
            "1,000 phases; RSS < 120 MB at 1,000 phases and within 10 % over 10 minutes."
        )
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
