"""Time of the graph drawing (conductor_tui/core/drawing.py) on the default sprint and on large
generated graphs, beside what it replaces.

    python bench/bench_layout.py                 # sizes 7, 200, 1000; 15 runs each
    python bench/bench_layout.py --runs 5 --sizes 200,1000

Graphs: size 7 is the built-in default sprint; every other size is measured in three shapes, all
with seeded randomness so every run draws the same graphs:
  random  each phase depends on 0 to 4 (2 on average) phases chosen uniformly among the earlier
          ones: long edges everywhere, the hardest case for a layered drawing;
  local   the same, chosen among the 30 phases before it: long chains, many layers;
  sprint  bench_cli.py's generated sprint (lanes of build -> test -> review/security/qa ->
          merge, cross-lane joins, one final ship).

Measured per graph (best and median over --runs, wall time, and process CPU time since a loaded
machine stretches the wall time): `layout_graph`, `render`, and for comparison graph.py's
`layers` (what the old widget computed before drawing) and, when Textual is importable, the old
widget's whole graph drawing (`PhaseGraph._render_graph` fed a stand-in snapshot, no app).
It also prints each drawing's size (columns x rows) and its number of dummy points (a source's
long edges share one trunk of them). It prints; it never asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from bench_cli import generate_graph  # noqa: E402

from conductor_tui.core.drawing import layout_graph, render  # noqa: E402
from conductor_tui.core.graph import layers as graph_layers  # noqa: E402
from conductor_tui.core.models import PhaseDef  # noqa: E402
from conductor_tui.core.store import DEFAULT_GRAPH  # noqa: E402

Phases = list[tuple[str, list[str]]]


def random_graph(n: int, seed: int, window: int | None) -> Phases:
    """n phases, each depending on 0..4 earlier ones (all earlier, or the last `window`)."""
    rng = random.Random(seed)
    names = [f"phase-{i:04d}" for i in range(n)]
    out: Phases = []
    for i in range(n):
        low = 0 if window is None else max(0, i - window)
        k = min(i - low, rng.randint(0, 4))
        out.append((names[i], [names[j] for j in rng.sample(range(low, i), k)]))
    return out


def graphs(sizes: Sequence[int]) -> list[tuple[str, Phases]]:
    out: list[tuple[str, Phases]] = []
    for size in sizes:
        if size == 7:
            out.append(("default 7", [(p["name"], list(p["depends_on"])) for p in DEFAULT_GRAPH]))
            continue
        out.append((f"random {size}", random_graph(size, 42, None)))
        out.append((f"local {size}", random_graph(size, 42, 30)))
        sprint = generate_graph(size)
        out.append((f"sprint {size}", [(p["name"], list(p["depends_on"])) for p in sprint]))
    return out


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, float, Any]:
    """(best wall, median wall, best CPU) in ms, and the last result."""
    walls: list[float] = []
    cpus: list[float] = []
    result: Any = None
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        cpus.append((time.process_time() - c) * 1000)
        walls.append((time.perf_counter() - w) * 1000)
    return min(walls), statistics.median(walls), min(cpus), result


def old_widget_module() -> Any:
    """The graph widget as it was before core.drawing (the last version in git history with
    `_render_graph`), loaded as a module without an app; None when that cannot be done."""
    path = "conductor_tui/tui/widgets/graph.py"
    root = os.path.dirname(HERE)
    try:
        commits = subprocess.run(
            ["git", "log", "--format=%H", "--", path],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for commit in commits:
            source = subprocess.run(
                ["git", "show", f"{commit}:{path}"],
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if "def _render_graph" in source:
                module = types.ModuleType("conductor_tui.tui.widgets._old_graph")
                module.__package__ = "conductor_tui.tui.widgets"
                exec(compile(source, f"{commit[:12]}:{path}", "exec"), module.__dict__)
                module.COMMIT = commit
                return module
    except (OSError, subprocess.CalledProcessError, ImportError) as exc:
        print(f"(no old widget to compare with: {exc!r})")
    return None


def old_drawing(module: Any, phases: Phases) -> Callable[[], Any] | None:
    """The old widget's whole graph drawing (layers, columns, bus, rich Text) for phases."""
    views = {
        name: SimpleNamespace(name=name, depends_on=deps, status="ready", agent="", lock=None)
        for name, deps in phases
    }
    models = [PhaseDef(name=name, depends_on=deps) for name, deps in phases]
    snapshot = SimpleNamespace(
        view=SimpleNamespace(phases=list(views.values())),
        layers=graph_layers(models),
        order=[name for name, _ in phases],
        phase=views.get,
    )
    try:
        widget = module.PhaseGraph()
        widget.snapshot = snapshot
        widths = widget._column_widths(10**6)  # as wide as it wants: no squeezing
        widget._render_graph(widths)
    except Exception as exc:
        print(f"  (the old widget cannot draw without the app: {exc!r})")
        return None
    return lambda: widget._render_graph(widths)


def reference_ms() -> float:
    """CPU time of a fixed pure-Python loop, to compare machines (and a loaded one with itself)."""
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        sum([i * i for i in range(10**6)])
        best = min(best, time.process_time() - start)
    return best * 1000


def measure(title: str, phases: Phases, runs: int, old: Any) -> None:
    """Print one graph's figures."""
    widths = {name: len(name) + 10 for name, _ in phases}  # "· name blocked"
    labels = {name: f"· {name} blocked" for name, _ in phases}
    models = [PhaseDef(name=name, depends_on=deps) for name, deps in phases]
    best, median, cpu, layout = timed(lambda: layout_graph(phases, widths), runs)
    edges = sum(len(deps) for _, deps in phases)
    depth = {name: i for i, layer in enumerate(layout.layers) for name in layer}
    reach = {name: depth[name] for name, _ in phases}  # the farthest layer a source's edges reach
    for name, deps in phases:
        for dep in deps:
            reach[dep] = max(reach[dep], depth[name])
    dummies = sum(max(0, reach[name] - depth[name] - 1) for name in reach)  # one trunk a source
    size = f"{layout.width}x{layout.height}"
    print(
        f"{title:<12} {edges:>5} {dummies:>7} {size:>11}  {'layout_graph':<24} "
        f"{best:>8.1f} {median:>8.1f} {cpu:>8.1f}"
    )
    rows: list[tuple[str, Callable[[], Any]]] = [
        ("render", lambda: render(layout, labels)),
        ("graph.layers", lambda: graph_layers(models)),
    ]
    if old is not None:
        drawing = old_drawing(old, phases)
        if drawing is not None:
            rows.append(("old widget _render_graph", drawing))
    for what, fn in rows:
        best, median, cpu, _ = timed(fn, runs)
        print(f"{'':<37}  {what:<24} {best:>8.1f} {median:>8.1f} {cpu:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sizes", default="7,200,1000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    old = old_widget_module()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}; reference loop {reference_ms():.0f} ms CPU "
        "(sum of squares of 1M ints in a list comprehension)"
    )
    if old is not None:
        print(f"old widget: {old.COMMIT[:12]} (bus drawing, rich Text; no app)")
    print(
        f"{'graph':<12} {'edges':>5} {'dummies':>7} {'drawing':>11}  {'what':<24} "
        f"{'best ms':>8} {'median':>8} {'cpu ms':>8}"
    )
    for title, phases in graphs(sizes):
        measure(title, phases, args.runs, old)


if __name__ == "__main__":
    main()
