"""What the kernel sandbox adds to starting a command: `conductor sandbox -- true` and baselines.

Run it from the repository with the interpreter of the environment that has conductor-tui
installed (every `conductor` is started with that same interpreter):

    python bench/bench_sandbox.py              # 50 runs of each
    python bench/bench_sandbox.py --runs 200

Measured, as whole processes, in turn so that the machine's load falls on each alike (median,
p90 and min over --runs, in milliseconds):

- `true` started directly: the floor;
- `conductor --version`: the interpreter and the command line's imports;
- `conductor sandbox --project . -- true` with Landlock switched off and `--allow-unsandboxed`:
  everything but the kernel's part (planning the grants, exec);
- `conductor sandbox --project . -- true`: the real thing, the project named;
- `conductor sandbox -- true`: the project found as the sprint's, which opens the store (and
  imports its models, as every store command does);
- `conductor run think -- false` without and with `--no-sandbox` (the command fails, so think is
  aborted and stays claimable for the next run): what the sandbox adds to a read phase's run.

And in-process: planning the grants and building the ruleset (median of --runs), with the number
of rules, which grows with the entries of the directories on the way down to the project (the
project here is in a fresh directory under the system temporary directory, as an agent's scratch
checkout would be). It prints figures and ratios and never asserts on time.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

CONDUCTOR = [sys.executable, "-m", "conductor_tui.cli"]


def quantiles(times: Sequence[float]) -> tuple[float, float, float]:
    """(median, p90 by nearest rank, min) in milliseconds."""
    ordered = sorted(times)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return statistics.median(ordered) * 1e3, p90 * 1e3, ordered[0] * 1e3


def once(argv: Sequence[str], env: dict[str, str], cwd: str, ok: int = 0) -> float:
    """The wall time of one run of argv; exits when it returns other than `ok`."""
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != ok:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
    return took


def in_process(project: str, store: str, env: dict[str, str], runs: int) -> tuple[list[float], int]:
    """Times of sandbox.plan + sandbox.build (the ruleset is closed, never entered)."""
    from conductor_tui import sandbox

    times: list[float] = []
    rules = 0
    for _ in range(runs):
        start = time.perf_counter()
        ruleset = sandbox.build(sandbox.plan(project, store=store, env=env), env)
        times.append(time.perf_counter() - start)
        rules = ruleset.rules
        ruleset.close()
    return times, rules


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs of each (default 50)")
    args = parser.parse_args(argv)
    runs = max(1, args.runs)
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        project = os.path.join(tmp, "project")
        store = os.path.join(tmp, "store")
        home = os.path.join(tmp, "home")
        for path in (project, store, home, os.path.join(tmp, "pycache")):
            os.makedirs(path)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("NANOSTACK_", "CONDUCTOR_", "CLAUDE", "CODEX_", "OPENCODE_"))
        }
        env.update(
            HOME=home,
            PWD=project,
            NANOSTACK_STORE=store,
            NANOSTACK_AGENT="bench",
            PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"),  # bytecode, as when installed
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        off = {**env, "CONDUCTOR_LANDLOCK": "off"}
        subprocess.run([*CONDUCTOR, "start"], env=env, cwd=project, check=True, capture_output=True)
        sandboxed = [*CONDUCTOR, "sandbox", "--", "true"]
        named = [*CONDUCTOR, "sandbox", "--project", ".", "--"]
        run = [*CONDUCTOR, "run", "think"]
        cases: dict[str, Callable[[], float]] = {
            "true": lambda: once(["true"], env, project),
            "conductor --version": lambda: once([*CONDUCTOR, "--version"], env, project),
            "sandbox, Landlock off": lambda: once(
                [*named[:-1], "--allow-unsandboxed", "--", "true"], off, project
            ),
            "sandbox --project . -- true": lambda: once([*named, "true"], env, project),
            "sandbox -- true (sprint)": lambda: once(sandboxed, env, project),
            "run think --no-sandbox": lambda: once(
                [*run, "--no-sandbox", "--", "false"], env, project, 1
            ),
            "run think (sandboxed)": lambda: once([*run, "--", "false"], env, project, 1),
        }
        for _ in range(3):  # warm the bytecode cache and the page cache
            once(sandboxed, env, project)
        # round robin: a change in the machine's load falls on every case alike
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(runs):
            for name, measure in cases.items():
                times[name].append(measure())
        results = {name: quantiles(series) for name, series in times.items()}
        build, rules = in_process(project, store, env, runs)

    print(f"conductor sandbox start-up, {runs} runs each (python {sys.version.split()[0]})")
    print(f"{'':28}{'median':>10}{'p90':>10}{'min':>10}   ms")
    for name, (median, p90, best) in results.items():
        print(f"{name:28}{median:10.1f}{p90:10.1f}{best:10.1f}")
    median, p90, best = quantiles(build)
    print(f"{'plan + build in-process':28}{median:10.2f}{p90:10.2f}{best:10.2f}   ({rules} rules)")
    base = results["conductor --version"][0]
    real = results["sandbox --project . -- true"][0]
    kernel = real - results["sandbox, Landlock off"][0]
    found = results["sandbox -- true (sprint)"][0]
    run_off, run_on = results["run think --no-sandbox"][0], results["run think (sandboxed)"][0]
    print()
    print(f"sandbox --project . vs true:              +{real - results['true'][0]:.1f} ms")
    print(f"sandbox --project . vs conductor --version: +{real - base:.1f} ms, x{real / base:.2f}")
    print(f"Landlock's own part (on vs off):          {kernel:+.1f} ms")
    print(f"finding the sprint's project:             {found - real:+.1f} ms")
    print(f"a read phase's run, sandboxed vs not:     {run_on - run_off:+.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
