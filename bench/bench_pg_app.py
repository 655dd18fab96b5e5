"""Claim to screen through LISTEN/NOTIFY: the real app (headless, 120x40) on a PostgreSQL store,
beside the same app on a file store (inotify), measured in one run.

Another thread of this process, on a connection (or store object) of its own, claims a phase and
aborts it again, spaced by a random 50-150 ms after the previous one reached the screen; the
latency of a claim is the time from the claim call's return to the first snapshot the app applied
that shows the phase held by that agent (`app.applied`). Prints median and p99; asserts nothing
about time. The schema it makes is dropped at the end.

    .venv/bin/python bench/bench_pg_app.py [--url postgresql://...] [--claims 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from conductor_tui.core.store import Store
from conductor_tui.tui.app import ConductorApp
from conductor_tui.tui.model import Loader


def figures(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"median {statistics.median(ms):7.1f} ms   p99 {p99:7.1f} ms   (n={len(ms)})"


def shows(app: ConductorApp, since: int, phase: str, agent: str) -> float | None:
    """When the first snapshot applied after index `since` showed phase held by agent."""
    for at, snap in app.applied[since:]:
        pv = snap.phase(phase)
        if pv is not None and pv.agent == agent and pv.status == "held":
            return at
    return None


async def measure(app: ConductorApp, writer: Any, claims: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    out: list[float] = []
    app.keep_applied = True
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            if app.reloads:
                break
            await pilot.pause(0.05)
        for i in range(claims):
            agent = f"bench-{i}"
            since = len(app.applied)
            done: list[float] = []

            def claim(agent: str = agent, done: list[float] = done) -> None:
                writer.claim("think", agent=agent, holder_pid=os.getpid())
                done.append(time.monotonic())

            t = threading.Thread(target=claim)
            t.start()
            while t.is_alive():
                await pilot.pause(0.001)
            seen = None
            for _ in range(3000):  # bounded: 3 s
                seen = shows(app, since, "think", agent)
                if seen is not None:
                    break
                await pilot.pause(0.001)
            if seen is not None:
                out.append(max(0.0, seen - done[0]))
            writer.abort("think", agent=agent)
            await pilot.pause(rng.uniform(0.05, 0.15))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--claims", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    from conductor_tui.pg import open_store
    from conductor_tui.tui.pgmodel import PgLoader

    base = tempfile.mkdtemp(prefix="bench-pg-app-")
    project = os.path.join(base, "project")
    os.makedirs(project)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    url = f"{a.url}{'&' if '?' in a.url else '?'}schema={schema}"
    try:
        pg = open_store(url)
        pg.start(project, agent="bench-lead")
        writer = open_store(url).find_active(project)  # its own connection
        app = ConductorApp(
            PgLoader(open_store(url), project), agent="human-bench", watch=True, tick_s=None
        )  # type: ignore[arg-type]
        on_pg = asyncio.run(measure(app, writer, a.claims, a.seed))

        files = Store(os.path.join(base, "store"))
        files.start(project, agent="bench-lead")
        fw = Store(files.root).find_active(project)
        app = ConductorApp(Loader(Store(files.root), project), agent="human-bench", watch=True)
        app.tick_s = None
        on_files = asyncio.run(measure(app, fw, a.claims, a.seed))
    finally:
        import psycopg
        from psycopg import sql

        with psycopg.connect(a.url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    print("claim returned -> screen, the real app headless at 120x40, one claim at a time")
    print(f"  PostgreSQL (LISTEN/NOTIFY): {figures(on_pg)}")
    print(f"  files (inotify):            {figures(on_files)}")
    lost_pg, lost_files = a.claims - len(on_pg), a.claims - len(on_files)
    print(f"  claims never shown within 3 s: pg {lost_pg}, files {lost_files}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
