"""PostgreSQL store vs file store, measured in one run: claim and complete latency, a `status`
view of 1,000 phases, and NOTIFY delivery (claim committed in another process -> heard by a
listener). Prints figures (median and p99, in ms); asserts nothing about time.

    .venv/bin/python bench/bench_pg.py [--url postgresql://...] [--n 200] [--notify 200]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from conductor_tui.core.store import Store

ME = os.getpid()


def figures(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"median {statistics.median(ms):7.2f} ms   p99 {p99:7.2f} ms   (n={len(ms)})"


def timed(call: Callable[[], Any]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def lifecycle(store: Any, project: str, n: int) -> tuple[list[float], list[float]]:
    graph = [{"name": f"p{i}", "depends_on": []} for i in range(n)]
    sprint = store.start(project, agent="bench", phases=graph, force=True)
    claims, completes = [], []
    for i in range(n):
        phase = f"p{i}"
        began = time.perf_counter()
        owner = sprint.claim(phase, agent="a", holder_pid=ME)
        claims.append(time.perf_counter() - began)
        began = time.perf_counter()
        sprint.complete(phase, agent="a", token=owner.token)
        completes.append(time.perf_counter() - began)
    return claims, completes


def big_status(store: Any, project: str, phases: int, rounds: int) -> list[float]:
    graph = [
        {"name": f"p{i}", "depends_on": [f"p{i - 10}"] if i >= 10 else []} for i in range(phases)
    ]
    sprint = store.start(project, agent="bench", phases=graph, force=True)
    for i in range(100):  # some history: done, then held
        owner = sprint.claim(f"p{i}", agent="a", holder_pid=ME)
        if i < 90:
            sprint.complete(f"p{i}", agent="a", token=owner.token)
    return [timed(lambda: sprint.view()) for _ in range(rounds)]


def _claimer(url: str, sprint_id: str, n: int, out: Any, go: Any) -> None:
    from conductor_tui.pg.store import PgStore

    sprint = PgStore(url).open_sprint(sprint_id)
    go.wait()
    for i in range(n):
        sprint.claim(f"p{i}", agent="a", holder_pid=ME)
        out.put((f"p{i}", time.time()))  # just after the commit
        time.sleep(0.01)


def notify_latency(url: str, project: str, n: int) -> list[float]:
    from conductor_tui.pg.listen import Listener
    from conductor_tui.pg.store import PgStore

    store = PgStore(url)
    graph = [{"name": f"p{i}", "depends_on": []} for i in range(n)]
    sprint = store.start(project, agent="bench", phases=graph, force=True)
    ctx = mp.get_context("fork")
    out, go = ctx.Queue(), ctx.Event()
    heard: dict[str, float] = {}
    with Listener(url) as listener:
        child = ctx.Process(target=_claimer, args=(url, sprint.sprint_id, n, out, go))
        child.start()
        go.set()
        deadline = time.time() + 60
        while len(heard) < n and time.time() < deadline:
            for change in listener.poll(1.0).changes:
                heard.setdefault(change.phase, time.time())
        child.join()
    sent = dict(out.get() for _ in range(n))
    store.close()
    return [max(0.0, heard[p] - sent[p]) for p in sent if p in heard]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--n", type=int, default=200, help="claims and completes per backend")
    ap.add_argument("--phases", type=int, default=1000, help="phases of the status sprint")
    ap.add_argument("--rounds", type=int, default=30, help="status views per backend")
    ap.add_argument("--notify", type=int, default=200, help="claims heard through NOTIFY")
    args = ap.parse_args()
    import psycopg
    from psycopg import sql

    from conductor_tui.pg.store import PgStore
    from conductor_tui.pg.url import redact

    schema = f"bench_{os.urandom(6).hex()}"
    url = f"{args.url}{'&' if '?' in args.url else '?'}schema={schema}"
    tmp = tempfile.mkdtemp(prefix="bench-pg-")
    project = os.path.join(tmp, "project")
    os.makedirs(project)
    print(f"PostgreSQL: {redact(args.url)} (schema {schema}); files: {tmp}")
    try:
        stores: dict[str, Any] = {
            "files": Store(os.path.join(tmp, "store")),
            "postgresql": PgStore(url),
        }
        for name, store in stores.items():
            claims, completes = lifecycle(store, project, args.n)
            print(f"{name:<11} claim     {figures(claims)}")
            print(f"{name:<11} complete  {figures(completes)}")
        for name, store in stores.items():
            views = big_status(store, project, args.phases, args.rounds)
            print(f"{name:<11} status of {args.phases} phases  {figures(views)}")
        stores["postgresql"].close()
        delays = notify_latency(url, project, args.notify)
        print(f"postgresql  NOTIFY claim committed -> heard  {figures(delays)}")
        print("files       (the app hears the file store through inotify: bench/bench_tui.py)")
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
