"""Wall time of whole `conductor` processes, on the default sprint and on large generated ones.

Run it from the repository with the interpreter of the environment that has conductor-tui
installed (the bench starts every `conductor` with that same interpreter):

    python bench/bench_cli.py                      # 21 runs, sprints of 7, 200 and 1000 phases
    python bench/bench_cli.py --runs 11 --phases 7,200 --out bench.json

Size 7 is the built-in default sprint (think, plan, build, review, security, qa, ship); any
other size is a generated graph shaped like a real sprint (parallel lanes of build -> test ->
review/security/qa -> merge, with cross-lane joins and a final ship), passed with
`start --phases FILE`. Every size gets its own temporary store and project; every call passes
`--store`, `--project` and `--agent bench`, and runs with HOME pointing into the temporary tree
and no NANOSTACK_/CONDUCTOR_/agent-session variables, so nothing depends on the environment.

Measured per size (median and p90 over --runs): `status`, `status --json`, `next`, `batch`,
`start`, and, each run on a different ready phase, `claim --json` then `heartbeat` then
`complete --token`. Baselines: `python -c pass`, importing pydantic, and `conductor --version`.
The table also shows min (best of N), the figure least disturbed by other load on the machine.
By default every call reads and writes bytecode in a private PYTHONPYCACHEPREFIX, as an installed
package has its .pyc (an editable checkout under PYTHONDONTWRITEBYTECODE=1 would be compiled from
source on every call); `--bytecode inherit` measures the environment as it is.

It prints figures, the targets beside them and the upstream figures quoted in the issue; it never
asserts on time. The exit status is 1 only when a `conductor` command failed (listed at the end).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AGENT = "bench"
DEFAULT_SIZE = 7  # the built-in sprint: no --phases
LANES = 8  # parallel lanes in a generated sprint
STRIP_ENV_PREFIXES = ("NANOSTACK_", "CONDUCTOR_", "CLAUDE_", "CODEX_", "OPENCODE_")

# Quoted from the issue: upstream nanostack sprint.sh, measured by the CEO on this machine type.
# Seconds, keyed by (command, phases). Not measured by this script.
QUOTED_UPSTREAM_S: dict[tuple[str, int], float] = {
    ("status", 7): 0.32,
    ("status", 200): 5.5,
    ("start", 200): 94.0,
    ("batch", 200): 108.0,
}
TARGET_STATUS_7_MS = 100.0
TARGET_LARGE_MS = 150.0  # issue 11 (was 500)
TARGET_LARGE_PHASES = 1000


@dataclass
class Series:
    """The wall times of one command at one sprint size."""

    command: str
    phases: int | None  # None for the interpreter baselines
    times_s: list[float] = field(default_factory=list)
    note: str = ""

    def median_ms(self) -> float:
        """Median wall time in milliseconds."""
        return statistics.median(self.times_s) * 1000.0

    def p90_ms(self) -> float:
        """90th percentile (nearest rank) in milliseconds."""
        ordered = sorted(self.times_s)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)] * 1000.0

    def target_ms(self) -> float | None:
        """The stated target for this command and size, if there is one."""
        if self.phases == DEFAULT_SIZE and self.command == "status":
            return TARGET_STATUS_7_MS
        if self.phases == TARGET_LARGE_PHASES:
            return TARGET_LARGE_MS
        return None

    def verdict(self) -> str:
        """Target and whether median and p90 meet it (printed, never asserted)."""
        target = self.target_ms()
        if target is None or not self.times_s:
            return ""
        if self.p90_ms() < target:
            return f"<{target:g}: met"
        if self.median_ms() < target:
            return f"<{target:g}: median only"
        return f"<{target:g}: MISSED"

    def as_json(self) -> dict[str, Any]:
        """One result row for --out."""
        out: dict[str, Any] = {"command": self.command, "phases": self.phases, "runs": 0}
        if self.times_s:
            out.update(
                runs=len(self.times_s),
                median_ms=round(self.median_ms(), 2),
                p90_ms=round(self.p90_ms(), 2),
                min_ms=round(min(self.times_s) * 1000.0, 2),
                max_ms=round(max(self.times_s) * 1000.0, 2),
                target_ms=self.target_ms(),
                times_ms=[round(t * 1000.0, 2) for t in self.times_s],
            )
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Failure:
    """A `conductor` call that exited non-zero."""

    phases: int | None
    argv: list[str]
    exit_code: int
    stderr: str
    stdout: str


# ---------------------------------------------------------------------- sprint graphs


def phase_name(index: int, total: int) -> str:
    """The name of phase `index` (1-based): p0001, p0002, ..."""
    return f"p{index:0{max(4, len(str(total)))}d}"


def generate_graph(total: int) -> list[dict[str, Any]]:
    """A sprint of `total` phases shaped like real work, as `start --phases` takes it.

    think -> plan, then blocks of build(write) -> test(write) -> review/security/qa(read) ->
    merge(write) spread over LANES lanes (a block waits for the previous block of its lane, every
    fourth one also for the previous lane's), and a final exclusive ship that joins every sink.
    """
    if total < 3:
        raise ValueError("a generated sprint needs at least 3 phases")
    phases: list[dict[str, Any]] = []

    def add(deps: Sequence[str], kind: str) -> str | None:
        if len(phases) >= total - 1:  # the last slot is ship's
            return None
        name = phase_name(len(phases) + 1, total)
        phases.append({"name": name, "depends_on": list(deps), "concurrency": kind})
        return name

    think = add([], "read")
    plan = add([think], "read") if think else None
    merges: list[str] = []
    block = 0
    while plan is not None and len(phases) < total - 1:
        deps = [plan] if block < LANES else [merges[block - LANES]]
        if block >= LANES and block % 4 == 0:
            deps.append(merges[block - 1])
        build = add(deps, "write")
        test = add([build], "write") if build else None
        reads = [r for r in (add([test], "read") for _ in range(3)) if r] if test else []
        merge = add(reads, "write") if len(reads) == 3 else None
        if merge is None:
            break
        merges.append(merge)
        block += 1
    used = {dep for p in phases for dep in p["depends_on"]}
    sinks = [p["name"] for p in phases if p["name"] not in used]
    phases.append(
        {"name": phase_name(total, total), "depends_on": sinks, "concurrency": "exclusive"}
    )
    return phases


def default_graph() -> list[dict[str, Any]]:
    """The built-in default sprint, read from the package so it cannot drift."""
    from conductor_tui.core.store import DEFAULT_GRAPH

    return [dict(p) for p in DEFAULT_GRAPH]


class ReadyModel:
    """Which phases are claimable, tracked from our own completions (the bench's bookkeeping)."""

    def __init__(self, graph: Sequence[dict[str, Any]]) -> None:
        self.order = [str(p["name"]) for p in graph]
        self.deps = {str(p["name"]): list(p.get("depends_on", [])) for p in graph}
        self.done: set[str] = set()

    def next_ready(self) -> str | None:
        """The first phase, in sprint order, whose dependencies are all done."""
        for name in self.order:
            if name not in self.done and all(d in self.done for d in self.deps[name]):
                return name
        return None


# ---------------------------------------------------------------------- running


def conductor_argv(via: str) -> list[str]:
    """How to start `conductor` with the interpreter running this bench."""
    script = Path(sys.executable).with_name("conductor")
    if via == "script" or (via == "auto" and script.is_file() and os.access(script, os.X_OK)):
        return [str(script)]
    return [sys.executable, "-m", "conductor_tui.cli"]


def clean_env(home: Path, project: Path, pycache: Path | None) -> dict[str, str]:
    """The environment of every call: ours minus store/agent variables, HOME in the temp tree.

    With pycache, bytecode is written to and read from that private tree (PYTHONPYCACHEPREFIX),
    as an installed package would have it, even when PYTHONDONTWRITEBYTECODE is set around us
    or the package is an editable checkout; the source tree is never written to.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(STRIP_ENV_PREFIXES)}
    env["HOME"] = str(home)
    env["PWD"] = str(project)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def timed(argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, Any]:
    """Wall time of one whole process, and the finished process."""
    start = time.perf_counter()
    proc = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, proc


class SizeBench:
    """One sprint size in its own temporary store and project."""

    def __init__(
        self,
        root: Path,
        phases: int,
        base: list[str],
        failures: list[Failure],
        *,
        pycache: Path | None,
        quiet: bool,
    ) -> None:
        self.phases = phases
        self.base = base
        self.failures = failures
        self.quiet = quiet
        self.store = root / "store"
        self.project = root / "project"
        home = root / "home"
        for path in (self.store, self.project, home):
            path.mkdir(parents=True)
        self.env = clean_env(home, self.project, pycache)
        if phases == DEFAULT_SIZE:
            self.graph = default_graph()
            self.start_args: list[str] = ["start"]
        else:
            self.graph = generate_graph(phases)
            phases_file = root / "phases.json"
            phases_file.write_text(json.dumps(self.graph, indent=1) + "\n", encoding="utf-8")
            self.start_args = ["start", "--phases", str(phases_file)]
        self.model = ReadyModel(self.graph)
        self.sprints_started = 0

    def call(self, *args: str) -> tuple[float, Any]:
        """Run `conductor --store S --project P --agent bench ARGS`; record a failure."""
        argv = [
            *self.base,
            "--store",
            str(self.store),
            "--project",
            str(self.project),
            "--agent",
            AGENT,
            *args,
        ]
        elapsed, proc = timed(argv, self.env, self.project)
        if proc.returncode != 0:
            self.failures.append(
                Failure(
                    self.phases,
                    argv,
                    proc.returncode,
                    proc.stderr.strip()[-4000:],
                    proc.stdout.strip()[-2000:],
                )
            )
        return elapsed, proc

    def start(self) -> tuple[float, bool]:
        """Start (or restart) the sprint; resets the ready model."""
        elapsed, proc = self.call(*self.start_args)
        self.model = ReadyModel(self.graph)
        self.sprints_started += 1
        return elapsed, proc.returncode == 0

    def claim(self, phase: str) -> tuple[float, str | None]:
        """Claim a phase (--json, to read the token); the token, or None on failure."""
        elapsed, proc = self.call("claim", phase, "--json")
        if proc.returncode != 0:
            return elapsed, None
        try:
            return elapsed, str(json.loads(proc.stdout)["token"])
        except (ValueError, KeyError, TypeError):
            self.failures.append(
                Failure(self.phases, ["claim", phase, "--json"], 0, "unreadable JSON", proc.stdout)
            )
            return elapsed, None

    def ready_phase(self) -> str | None:
        """A phase claimable now; restarts the sprint (untimed) when every phase is done."""
        phase = self.model.next_ready()
        if phase is None:
            _, ok = self.start()
            phase = self.model.next_ready() if ok else None
        return phase

    def log(self, text: str) -> None:
        """Progress on stderr, so stdout stays the report."""
        if not self.quiet:
            print(f"  [{self.phases} phases] {text}", file=sys.stderr, flush=True)

    def warm_up(self) -> None:
        """Run every measured command once, untimed: page cache and bytecode are warm after."""
        phase = self.ready_phase()
        token = self.claim(phase)[1] if phase else None
        if phase and token:
            self.call("heartbeat", phase, "--token", token)
            self.call("complete", phase, "--token", token)
            self.model.done.add(phase)
        for args in (["status"], ["status", "--json"], ["next"], ["batch"]):
            self.call(*args)

    def run(self, runs: int) -> list[Series]:
        """Every measurement of this size."""
        series = {
            name: Series(name, self.phases)
            for name in (
                "status",
                "status --json",
                "next",
                "batch",
                "start",
                "claim",
                "heartbeat",
                "complete",
            )
        }
        self.log("starting the sprint")
        _, ok = self.start()
        if not ok:
            self.log("start failed; skipping this size")
            return list(series.values())
        self.warm_up()

        self.log(f"claim / heartbeat / complete x{runs}, each on a fresh ready phase")
        for _ in range(runs):
            phase = self.ready_phase()
            if phase is None:
                break
            elapsed, token = self.claim(phase)
            series["claim"].times_s.append(elapsed)
            if token is None:
                self.model.done.add(phase)  # do not retry a phase that failed
                continue
            elapsed, _ = self.call("heartbeat", phase, "--token", token)
            series["heartbeat"].times_s.append(elapsed)
            elapsed, _ = self.call("complete", phase, "--token", token)
            series["complete"].times_s.append(elapsed)
            self.model.done.add(phase)

        # Read the sprint mid-flight: what is done stays done, and one phase is held.
        held = self.ready_phase()
        held_token = self.claim(held)[1] if held else None
        done = len(self.model.done)
        state = f"{done} done, {1 if held_token else 0} held, of {self.phases}"
        for name in ("status", "status --json", "next", "batch"):
            series[name].note = state
        self.log(f"status / status --json / next / batch x{runs} ({state})")
        for _ in range(runs):
            series["status"].times_s.append(self.call("status")[0])
            series["status --json"].times_s.append(self.call("status", "--json")[0])
            series["next"].times_s.append(self.call("next")[0])
            series["batch"].times_s.append(self.call("batch")[0])
        if held and held_token:
            self.call("abort", held, "--token", held_token)

        before = self.sprints_started
        self.log(f"start x{runs} (each archives the previous sprint)")
        for _ in range(runs):
            series["start"].times_s.append(self.start()[0])
        if series["start"].times_s:
            first, last = series["start"].times_s[0], series["start"].times_s[-1]
            series["start"].note = (
                f"{before}->{before + runs - 1} sprints already in the store; "
                f"first {first * 1000:.0f} ms, last {last * 1000:.0f} ms"
            )
        series["claim"].note = "claim --json of a fresh ready phase each run"
        return list(series.values())


def baselines(
    runs: int, base: list[str], root: Path, *, pycache: Path | None, quiet: bool
) -> list[Series]:
    """The floor: the interpreter, pydantic's import, and conductor's own `--version`."""
    home = root / "home-baseline"
    home.mkdir(parents=True)
    env = clean_env(home, root, pycache)
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import pydantic; from pydantic import BaseModel'": [
            sys.executable,
            "-c",
            "import pydantic; from pydantic import BaseModel",
        ],
        "conductor --version": [*base, "--version"],
    }
    if not quiet:
        print(f"  [baseline] x{runs}", file=sys.stderr, flush=True)
    out = {name: Series(name, None) for name in cases}
    for argv in cases.values():
        timed(argv, env, root)  # warm-up
    for _ in range(runs):
        for name, argv in cases.items():
            out[name].times_s.append(timed(argv, env, root)[0])
    return list(out.values())


# ---------------------------------------------------------------------- report


def fmt_ms(value: float | None) -> str:
    """Milliseconds for the table."""
    return "-" if value is None else f"{value:,.1f}"


def table(rows: Sequence[Series]) -> str:
    """The main table: command, phases, median, p90 and min ms, runs, target."""
    header = (
        "command",
        "phases",
        "median ms",
        "p90 ms",
        "min ms",
        "runs",
        "target (printed only)",
        "note",
    )
    body = [
        (
            s.command,
            "-" if s.phases is None else str(s.phases),
            fmt_ms(s.median_ms() if s.times_s else None),
            fmt_ms(s.p90_ms() if s.times_s else None),
            fmt_ms(min(s.times_s) * 1000.0 if s.times_s else None),
            str(len(s.times_s)),
            s.verdict(),
            s.note,
        )
        for s in rows
    ]
    widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header) - 1)]
    right = {2, 3, 4, 5}

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells[:-1])
        ]
        return "  ".join([*parts, cells[-1]]).rstrip()

    rule = "  ".join("-" * w for w in widths) + "  ----"
    return "\n".join([line(header), rule, *(line(r) for r in body)])


def growth(rows: Sequence[Series]) -> tuple[str, list[dict[str, Any]]]:
    """Cost per phase above the smallest sprint's, per command: is it linear?

    The smallest size is the floor (start-up and imports); what a larger sprint costs beyond it,
    divided by the extra phases, should stay flat if the work is linear. Best-of-N (min) is the
    primary figure because it is the least disturbed by other load; the median is shown too.
    """
    by_cmd: dict[str, dict[int, Series]] = {}
    for s in rows:
        if s.phases is not None and s.times_s:
            by_cmd.setdefault(s.command, {})[s.phases] = s
    lines = [
        "Growth: extra ms per extra phase above the smallest sprint, min-based (median-based);",
        "flat from size to size = linear. 'noise' = the largest median-min spread involved.",
    ]
    data: list[dict[str, Any]] = []
    for cmd, sizes in by_cmd.items():
        ordered = sorted(sizes)
        if len(ordered) < 2:
            continue
        floor = sizes[ordered[0]]
        floor_min = min(floor.times_s) * 1000.0
        parts: list[str] = []
        per_phase: dict[int, float] = {}
        extra: dict[int, float] = {}
        for n in ordered[1:]:
            s = sizes[n]
            extra[n] = min(s.times_s) * 1000.0 - floor_min
            per_phase[n] = extra[n] / (n - ordered[0])
            med = (s.median_ms() - floor.median_ms()) / (n - ordered[0])
            parts.append(f"{n}: {extra[n]:+.0f} ms, {per_phase[n]:.3f} ({med:.3f}) ms/phase")
        noise = max(s.median_ms() - min(s.times_s) * 1000.0 for s in sizes.values())
        shape = ""
        if len(ordered) >= 3:
            a, b = ordered[-2], ordered[-1]
            if extra[a] <= noise or per_phase[a] <= 0:
                shape = f"cannot tell: {extra[a]:+.0f} ms at {a} is within noise ({noise:.0f} ms)"
            else:
                ratio = per_phase[b] / per_phase[a]
                word = (
                    "about linear"
                    if 0.67 <= ratio <= 1.5
                    else ("super-linear" if ratio > 1.5 else "sub-linear")
                )
                shape = f"{word} (per-phase {b}/{a} = {ratio:.2f})"
        lines.append(
            f"  {cmd:<14} floor {ordered[0]}: {floor_min:.0f} ms; {'; '.join(parts)}"
            f"; noise {noise:.0f} ms" + (f"  => {shape}" if shape else "")
        )
        data.append(
            {
                "command": cmd,
                "floor_phases": ordered[0],
                "floor_min_ms": round(floor_min, 2),
                "extra_min_ms": {n: round(v, 2) for n, v in extra.items()},
                "ms_per_extra_phase_min": {n: round(v, 4) for n, v in per_phase.items()},
                "noise_ms": round(noise, 2),
                "shape": shape,
            }
        )
    return "\n".join(lines), data


def quoted(rows: Sequence[Series]) -> tuple[str, list[dict[str, Any]]]:
    """Upstream's figures as quoted in the issue, beside ours, with the speed-up."""
    ours = {(s.command, s.phases): s for s in rows if s.times_s}
    lines = [
        "Comparison with upstream nanostack sprint.sh -- upstream figures are QUOTED from the",
        "issue (measured by the CEO on this machine type), NOT measured by this script",
        "(bench/bench_upstream.py measures both side by side, in one run):",
        f"  {'command':<8} {'phases':>6}  {'upstream (quoted)':>17}  {'ours median':>12}  speed-up",
    ]
    data: list[dict[str, Any]] = []
    for (cmd, n), ref_s in QUOTED_UPSTREAM_S.items():
        s = ours.get((cmd, n))
        if s is None:
            lines.append(f"  {cmd:<8} {n:>6}  {ref_s:>15.2f} s  {'not run':>12}")
            continue
        med = s.median_ms()
        factor = ref_s * 1000.0 / med
        lines.append(f"  {cmd:<8} {n:>6}  {ref_s:>15.2f} s  {med:>9.1f} ms  x{factor:,.0f}")
        data.append(
            {
                "command": cmd,
                "phases": n,
                "upstream_quoted_s": ref_s,
                "ours_median_ms": round(med, 2),
                "speedup": round(factor, 1),
            }
        )
    return "\n".join(lines), data


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews wall time."""
    if not hasattr(os, "getloadavg"):
        return "?"
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def parse_sizes(text: str) -> list[int]:
    """--phases 7,200,1000."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not sizes or any(n < 3 for n in sizes):
        raise argparse.ArgumentTypeError("sizes must be integers >= 3")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=21, help="runs per command (default 21)")
    parser.add_argument(
        "--phases",
        type=parse_sizes,
        default=[7, 200, 1000],
        help="sprint sizes, comma separated (default 7,200,1000; 7 is the built-in sprint)",
    )
    parser.add_argument(
        "--large-runs",
        type=int,
        default=None,
        help=f"runs for sizes >= {TARGET_LARGE_PHASES} (default: --runs)",
    )
    parser.add_argument("--out", help="also write the results as JSON to this file")
    parser.add_argument(
        "--via",
        choices=("auto", "script", "module"),
        default="auto",
        help="run the console script next to this interpreter, or `python -m` (default auto)",
    )
    parser.add_argument(
        "--bytecode",
        choices=("cached", "inherit"),
        default="cached",
        help="cached: a private PYTHONPYCACHEPREFIX, as an installed package has its .pyc "
        "(default); inherit: the environment's own setting (PYTHONDONTWRITEBYTECODE=1 makes "
        "every call compile an editable checkout from source)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    base = conductor_argv(args.via)
    root = Path(tempfile.mkdtemp(prefix="conductor-bench-"))
    pycache = root / "pycache" if args.bytecode == "cached" else None
    failures: list[Failure] = []
    rows: list[Series] = []
    started = time.perf_counter()
    load_before = load_average()
    try:
        rows += baselines(args.runs, base, root, pycache=pycache, quiet=args.quiet)
        for n in args.phases:
            runs = args.runs
            if n >= TARGET_LARGE_PHASES and args.large_runs:
                runs = args.large_runs
            size_started = time.perf_counter()
            bench = SizeBench(
                root / f"size-{n}", n, base, failures, pycache=pycache, quiet=args.quiet
            )
            rows += bench.run(runs)
            if not args.quiet:
                took = time.perf_counter() - size_started
                print(f"  [{n} phases] took {took:.1f} s", file=sys.stderr, flush=True)
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    total_s = time.perf_counter() - started
    load = f"{load_before} at start, {load_average()} at end"
    inherited = os.environ.get("PYTHONDONTWRITEBYTECODE")
    bytecode = (
        "cached in a private PYTHONPYCACHEPREFIX (warmed before timing)"
        if pycache is not None
        else "inherited from the environment"
    ) + (f"; the environment has PYTHONDONTWRITEBYTECODE={inherited}" if inherited else "")

    print(
        f"conductor CLI wall time: whole processes via {' '.join(base)}\n"
        f"python {platform.python_version()} ({sys.executable}), {platform.platform()}, "
        f"{os.cpu_count()} CPUs, load average {load}; bench took {total_s:.0f} s\n"
        f"bytecode: {bytecode}"
    )
    print()
    print(table(rows))
    print()
    growth_text, growth_data = growth(rows)
    print(growth_text)
    print()
    quoted_text, quoted_data = quoted(rows)
    print(quoted_text)
    print()
    print(
        f"Targets (printed, never asserted): status < {TARGET_STATUS_7_MS:g} ms for "
        f"{DEFAULT_SIZE} phases; every command < {TARGET_LARGE_MS:g} ms for "
        f"{TARGET_LARGE_PHASES} phases. 'met' = p90 under target, 'median only' = p90 over."
    )
    if failures:
        print()
        print(f"FAILED conductor calls: {len(failures)}")
        for f in failures:
            print(f"  [{f.phases} phases] exit {f.exit_code}: {' '.join(f.argv)}")
            for text in (f.stderr, f.stdout):
                for line in text.splitlines()[:20]:
                    print(f"      {line}")
    if args.out:
        report = {
            "python": platform.python_version(),
            "executable": sys.executable,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "conductor": base,
            "runs": args.runs,
            "bytecode": bytecode,
            "load_average": load,
            "sizes": args.phases,
            "results": [s.as_json() for s in rows],
            "growth": growth_data,
            "upstream_quoted_not_measured": quoted_data,
            "targets_ms": {
                f"status@{DEFAULT_SIZE}": TARGET_STATUS_7_MS,
                f"every command@{TARGET_LARGE_PHASES}": TARGET_LARGE_MS,
            },
            "failures": [f.__dict__ for f in failures],
        }
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
