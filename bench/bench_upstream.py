"""Our `conductor` against upstream nanostack's `conductor/bin/sprint.sh`, side by side.

    python bench/bench_upstream.py --upstream /tmp/nanostack/conductor/bin/sprint.sh
    python bench/bench_upstream.py --upstream PATH --runs 11 --phases 7,200 --out up.json

Upstream's script is never part of this repository: --upstream names a sprint.sh inside a
nanostack checkout made at bench time (its bin/lib/ must sit two levels above it, as in the
repository), for example from `git archive` of github.com/garagon/nanostack. It needs bash and jq.

For each sprint size (7 is the built-in default sprint; other sizes are bench_cli's generated
graphs) there are two stores and two projects, one for each tool, each holding the same sprint
started by `conductor start` (upstream's own `start` refuses phase names outside nanostack's
registry, and a sprint.json is read alike by both). Then, run after run, each command is timed
once for us and once for upstream, alternating which goes first, so that load from anything
else on the machine falls on both; `python -c pass` (this interpreter, same environment) is
timed in the same rounds as the floor every Python command pays.

Measured (whole processes, wall time, median over the runs):
  status        ours `status --json` / upstream `status` (both print JSON); ours `status` too
  next          `next`
  claim+abort   `claim P` then `abort P` (two processes, summed), P a ready phase
  complete      `complete P`, after an untimed claim of the next ready phase on both sides
  sprint-sh     ours `sprint-sh status` / upstream `status`, when `conductor sprint-sh` exists
A command whose first upstream run takes more than --slow-s seconds (status at 1,000 phases
takes upstream about 16 s) gets --slow-runs rounds in all instead of --runs.

It prints figures and the issue's targets beside them; it never asserts on time. Exit status 1
only when a command failed (listed at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_cli import (
    STRIP_ENV_PREFIXES,
    ReadyModel,
    default_graph,
    generate_graph,
    parse_sizes,
)

AGENT = "bench"
# The targets: upstream time / ours at least this; ours / floor at most FLOOR_TARGET.
RATIO_TARGETS = {"status": 4.0, "next": 2.0, "claim+abort": 1.5, "complete": 1.5}
FLOOR_TARGET = 2.5
LARGE_TARGET_MS = 150.0  # every command at 1,000 phases


@dataclass
class Row:
    """One command at one size: our times, upstream's and the floor's from the same rounds."""

    command: str
    phases: int
    ours: list[float] = field(default_factory=list)
    upstream: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)

    def med(self, times: list[float]) -> float | None:
        """Median in milliseconds."""
        return statistics.median(times) * 1000.0 if times else None


@dataclass
class Failure:
    """A command that did not do what the bench needed."""

    side: str
    phases: int
    argv: list[str]
    code: int
    out: str
    err: str


class Side:
    """One tool's store and project for one sprint size."""

    def __init__(self, root: Path, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.project = root / name / "project"
        self.store = root / name / "store"
        self.home = root / name / "home"
        for path in (self.project, self.store, self.home):
            path.mkdir(parents=True)
        self.argv = argv
        self.env = dict(env)
        self.env.update(
            HOME=str(self.home),
            PWD=str(self.project),
            NANOSTACK_STORE=str(self.store),
            NANOSTACK_AGENT=AGENT,
        )

    def run(self, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
        """Wall time of one whole process, and the process."""
        start = time.perf_counter()
        proc = subprocess.run(
            [*self.argv, *args], cwd=self.project, env=self.env, capture_output=True, text=True
        )
        return time.perf_counter() - start, proc


def base_env(pycache: Path | None) -> dict[str, str]:
    """Our environment minus every store and agent variable; bytecode cached privately."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(STRIP_ENV_PREFIXES)}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


class SizeBench:
    """Both tools on one sprint size."""

    def __init__(
        self,
        root: Path,
        phases: int,
        conductor: list[str],
        upstream: Path,
        env: dict[str, str],
        failures: list[Failure],
        *,
        sprint_sh: bool,
    ) -> None:
        self.phases = phases
        self.graph = default_graph() if phases == 7 else generate_graph(phases)
        self.graph_file = root / "graph.json"
        root.mkdir(parents=True)
        self.graph_file.write_text(json.dumps(self.graph))
        self.ours = Side(root, "ours", conductor, env)
        self.theirs = Side(root, "upstream", ["bash", str(upstream)], env)
        # upstream's sprint is made by our start too: same sprint.json, read alike by both
        self.starter = Side(root, "starter", conductor, env)
        self.floor = Side(root, "floor", [sys.executable, "-c", "pass"], env)
        self.failures = failures
        self.sprint_sh = sprint_sh
        self.ready = ReadyModel(self.graph)
        self.parts: dict[str, tuple[float, float]] = {}  # the last claim+abort's two halves

    def check(self, side: Side, args: Sequence[str], proc: Any, ok: Callable[[Any], bool]) -> None:
        if not ok(proc):
            self.failures.append(
                Failure(
                    side.name, self.phases, list(args), proc.returncode, proc.stdout, proc.stderr
                )
            )

    def start(self) -> None:
        """A fresh sprint on both sides (untimed); the previous one is archived."""
        for side in (self.ours, self.theirs):
            args = ["--store", str(side.store), "--project", str(side.project), "start", "--force"]
            if self.phases != 7:
                args += ["--phases", str(self.graph_file)]
            _, proc = self.starter.run(*args)
            self.check(side, args, proc, lambda p: p.returncode == 0)
        self.ready = ReadyModel(self.graph)

    def phase(self) -> str:
        """A phase that is claimable now on both sides, starting a new sprint when none is."""
        name = self.ready.next_ready()
        if name is None:
            self.start()
            name = self.ready.next_ready()
        assert name is not None
        return name

    def timed(self, side: Side, *args: str, ok: Callable[[Any], bool] | None = None) -> float:
        took, proc = side.run(*args)
        self.check(side, args, proc, ok or (lambda p: p.returncode == 0))
        return took

    def pair(
        self, row: Row, first_ours: bool, ours: Callable[[], float], theirs: Callable[[], float]
    ) -> None:
        """One round: ours and upstream's, in the given order, and the floor between them."""
        if first_ours:
            row.ours.append(ours())
            row.floor.append(self.timed(self.floor))
            row.upstream.append(theirs())
        else:
            row.upstream.append(theirs())
            row.floor.append(self.timed(self.floor))
            row.ours.append(ours())

    def claim_abort(self, side: Side, phase: str, upstream: bool) -> float:
        up_ok = (lambda p: p.returncode == 0 and p.stdout.startswith("OK")) if upstream else None
        claim = self.timed(side, "claim", phase, ok=up_ok)
        abort = self.timed(side, "abort", phase, ok=up_ok)
        self.parts[side.name] = (claim, abort)
        return claim + abort

    def complete(self, side: Side, phase: str, upstream: bool) -> float:
        ok = (lambda p: p.returncode == 0 and p.stdout.startswith("OK")) if upstream else None
        _, proc = side.run("claim", phase)  # untimed
        self.check(side, ["claim", phase], proc, ok or (lambda p: p.returncode == 0))
        return self.timed(side, "complete", phase, ok=ok)

    def calls(self, name: str) -> tuple[Callable[[], float], Callable[[], float]]:
        """Our timed call and upstream's for one command in one round."""
        ours, theirs = self.ours, self.theirs
        mine = {
            "status": ["status", "--json"],
            "status (table)": ["status"],
            "sprint-sh status": ["sprint-sh", "status"],
            "next": ["next"],
        }
        if name in mine:
            upstream = "next" if name == "next" else "status"
            return (
                lambda: self.timed(ours, *mine[name]),
                lambda: self.timed(theirs, upstream),
            )
        phase = self.phase()
        if name == "claim+abort":
            return (
                lambda: self.claim_abort(ours, phase, False),
                lambda: self.claim_abort(theirs, phase, True),
            )
        self.ready.done.add(phase)  # completed by both calls
        return (
            lambda: self.complete(ours, phase, False),
            lambda: self.complete(theirs, phase, True),
        )

    def run(self, runs: int, slow_runs: int, slow_s: float, quiet: bool) -> list[Row]:
        self.start()
        names = ["status", "status (table)", "next", "claim+abort", "complete"]
        if self.sprint_sh:
            names.append("sprint-sh status")
        rows = {name: Row(name, self.phases) for name in names}
        halves = {half: Row(f"  {half}", self.phases) for half in ("claim", "abort")}
        limit = {name: runs for name in names}
        for i in range(runs):
            first = i % 2 == 0
            for name in names:
                if i >= limit[name]:
                    continue
                row = rows[name]
                ours_call, theirs_call = self.calls(name)
                self.pair(row, first, ours_call, theirs_call)
                if name == "claim+abort":  # each half on its own, against the same floor
                    for index, half in enumerate(halves.values()):
                        half.ours.append(self.parts["ours"][index])
                        half.upstream.append(self.parts["upstream"][index])
                        half.floor.append(row.floor[-1])
                if i == 0 and row.upstream[0] > slow_s:
                    limit[name] = min(runs, slow_runs)
            if not quiet:
                print(f"  [{self.phases} phases] round {i + 1}/{runs}", file=sys.stderr, flush=True)
        ordered = []
        for name, row in rows.items():
            ordered.append(row)
            if name == "claim+abort":
                ordered += halves.values()
        return ordered


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report(rows: Sequence[Row]) -> tuple[str, list[dict[str, Any]]]:
    """The table, and the same figures as data."""
    head = (
        f"{'command':<17} {'phases':>6} {'runs':>4} {'ours ms':>9} {'upstream ms':>12} "
        f"{'upstream/ours':>13} {'floor ms':>9} {'ours/floor':>10}  targets"
    )
    lines = [head, "-" * len(head)]
    data = []
    for r in rows:
        ours, up, floor = r.med(r.ours), r.med(r.upstream), r.med(r.floor)
        ratio = up / ours if ours and up else None
        per_floor = ours / floor if ours and floor else None
        notes = []
        key = "status" if r.command.startswith(("status", "sprint-sh")) else r.command.strip()
        target = RATIO_TARGETS.get(key)
        if target is not None and ratio is not None:
            notes.append(f"x{target:g} {'met' if ratio >= target else 'MISSED'}")
        if per_floor is not None and r.command != "claim+abort":
            # claim+abort is two processes: each is within the floor target when half is
            notes.append(
                f"floor<={FLOOR_TARGET:g} {'met' if per_floor <= FLOOR_TARGET else 'MISSED'}"
            )
        elif per_floor is not None:
            half = per_floor / 2
            notes.append(
                f"each<={FLOOR_TARGET:g}x floor {'met' if half <= FLOOR_TARGET else 'MISSED'}"
            )
        if r.phases >= 1000 and ours is not None:
            each = ours / 2 if r.command == "claim+abort" else ours
            notes.append(f"<{LARGE_TARGET_MS:g} ms {'met' if each < LARGE_TARGET_MS else 'MISSED'}")
        lines.append(
            f"{r.command:<17} {r.phases:>6} {len(r.ours):>4} {fmt(ours):>9} {fmt(up):>12} "
            f"{fmt(ratio, 2):>13} {fmt(floor):>9} {fmt(per_floor, 2):>10}  {', '.join(notes)}"
        )
        data.append(
            {
                "command": r.command,
                "phases": r.phases,
                "runs": len(r.ours),
                "ours_ms": ours,
                "upstream_ms": up,
                "upstream_over_ours": ratio,
                "floor_ms": floor,
                "ours_over_floor": per_floor,
                "ours_s": r.ours,
                "upstream_s": r.upstream,
                "floor_s": r.floor,
            }
        )
    return "\n".join(lines), data


def has_sprint_sh(conductor: list[str], env: dict[str, str]) -> bool:
    """Whether this conductor has `sprint-sh` (it was built alongside this bench)."""
    with tempfile.TemporaryDirectory() as tmp:
        probe_env = dict(env, NANOSTACK_STORE=tmp, HOME=tmp, PWD=tmp)
        proc = subprocess.run(
            [*conductor, "sprint-sh", "status"],
            cwd=tmp,
            env=probe_env,
            capture_output=True,
            text=True,
        )
    return proc.returncode == 0 and proc.stdout.strip().startswith("{")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--upstream", required=True, type=Path, help="upstream's conductor/bin/sprint.sh"
    )
    parser.add_argument("--runs", type=int, default=11, help="rounds per command (default 11)")
    parser.add_argument(
        "--phases", type=parse_sizes, default=[7, 200, 1000], help="sizes (default 7,200,1000)"
    )
    parser.add_argument("--slow-s", type=float, default=2.0, help="see --slow-runs (default 2)")
    parser.add_argument(
        "--slow-runs",
        type=int,
        default=3,
        help="rounds of a command whose first upstream run took over --slow-s (default 3)",
    )
    parser.add_argument("--out", help="also write the figures as JSON to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    upstream = args.upstream.resolve()
    if not upstream.is_file():
        parser.error(f"--upstream {upstream}: no such file")
    if not (upstream.parent.parent.parent / "bin" / "lib" / "store-path.sh").is_file():
        parser.error(f"--upstream {upstream}: not inside a nanostack checkout (no bin/lib/)")
    if shutil.which("jq") is None:
        parser.error("upstream's sprint.sh needs jq on PATH")

    script = Path(sys.executable).with_name("conductor")
    conductor = [str(script)] if script.is_file() else [sys.executable, "-m", "conductor_tui.cli"]
    root = Path(tempfile.mkdtemp(prefix="conductor-vs-upstream-"))
    env = base_env(root / "pycache")
    # warm the bytecode cache so that no timed call compiles
    subprocess.run([*conductor, "--help"], env=env, capture_output=True)
    sprint_sh = has_sprint_sh(conductor, env)
    failures: list[Failure] = []
    rows: list[Row] = []
    started = time.perf_counter()
    load = os.getloadavg()
    try:
        for n in args.phases:
            bench = SizeBench(
                root / f"size-{n}", n, conductor, upstream, env, failures, sprint_sh=sprint_sh
            )
            rows += bench.run(args.runs, args.slow_runs, args.slow_s, args.quiet)
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    took = time.perf_counter() - started
    text, data = report(rows)
    print(
        f"conductor ({' '.join(conductor)}) against upstream {upstream}\n"
        f"python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end; "
        f"bench took {took:.0f} s; medians of alternating rounds; floor = python -c pass"
    )
    if not sprint_sh:
        print("sprint-sh: skipped (this conductor has no `sprint-sh` command)")
    print()
    print(text)
    print()
    print(
        "Targets (printed, never asserted): upstream/ours >= x4 status, x2 next, x1.5 "
        f"claim+abort and complete; each command <= {FLOOR_TARGET:g}x the floor "
        f"(claim+abort is two commands); every command < {LARGE_TARGET_MS:g} ms at 1,000 phases."
    )
    if failures:
        print(f"\nFAILED calls: {len(failures)}")
        for f in failures[:20]:
            print(f"  [{f.side}, {f.phases} phases] exit {f.code}: {' '.join(f.argv)}")
            for line in (f.err + f.out).splitlines()[:5]:
                print(f"      {line}")
    if args.out:
        Path(args.out).write_text(
            json.dumps({"rows": data, "sprint_sh": sprint_sh, "upstream": str(upstream)}, indent=1)
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
