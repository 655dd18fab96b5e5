"""Sixteen processes race for each phase: exactly one claim wins a round, and exactly one of
sixteen ends of one token wins; the rest are told held or fenced. On PostgreSQL, and on the
file store with the same harness for comparison."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core.store import Store

from .pg_server import drop_schema, need_server, with_schema

PROCS = 16
ROUNDS = 6


def _open(spec: str) -> Any:
    from conductor_tui.pg import open_store

    return open_store(spec)


def _racer(spec: str, sprint_id: str, me: int, barrier: Any, out: Any) -> None:
    from conductor_tui.core.errors import ConductorError

    store = _open(spec)
    sprint = store.open_sprint(sprint_id)
    for round_ in range(ROUNDS):
        phase = f"p{round_}"
        barrier.wait(timeout=60)
        try:
            owner = sprint.claim(phase, agent=f"agent-{me}", holder_pid=os.getpid())
            out.put(("claim", round_, me, "won", owner.token))
        except ConductorError as exc:
            out.put(("claim", round_, me, exc.kind, ""))
        barrier.wait(timeout=60)
        # everyone tries to end the winner's claim with --force: one end wins
        try:
            sprint.abort(phase, agent=f"agent-{me}", force=True)
            out.put(("end", round_, me, "won", ""))
        except ConductorError as exc:
            out.put(("end", round_, me, exc.kind, ""))
    if hasattr(store, "close"):
        store.close()


def _race(spec: str) -> list[tuple[str, int, int, str, str]]:
    store = _open(spec)
    graph = [{"name": f"p{i}", "depends_on": []} for i in range(ROUNDS)]
    project = os.path.abspath(".")
    sprint = store.start(project, agent="tester", phases=graph, force=True)
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(PROCS)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_racer, args=(spec, sprint.sprint_id, i, barrier, out))
        for i in range(PROCS)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in range(PROCS * ROUNDS * 2)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    view = (
        sprint.view() if not hasattr(store, "close") else store.open_sprint(sprint.sprint_id).view()
    )
    assert {pv.status for pv in view.phases} == {"ready"}
    if hasattr(store, "close"):
        store.close()
    return results


def _check(results: list[tuple[str, int, int, str, str]]) -> None:
    for round_ in range(ROUNDS):
        claims = [r for r in results if r[0] == "claim" and r[1] == round_]
        ends = [r for r in results if r[0] == "end" and r[1] == round_]
        assert len(claims) == PROCS and len(ends) == PROCS
        assert [r[3] for r in claims].count("won") == 1, claims
        assert {r[3] for r in claims} <= {"won", "held"}, claims
        assert [r[3] for r in ends].count("won") == 1, ends
        # the losers of the end: fenced, or (later still) told the phase is not claimed
        assert {r[3] for r in ends} <= {"won", "fenced", "refused"}, ends


def test_sixteen_processes_one_winner_a_round_on_postgresql() -> None:
    need_server()
    schema = f"t_{os.urandom(8).hex()}"
    try:
        _check(_race(with_schema(schema)))
    finally:
        drop_schema(schema)


def test_sixteen_processes_one_winner_a_round_on_files(tmp_path: Path) -> None:
    _check(_race(str(tmp_path / "store")))


@pytest.mark.parametrize("procs", [8])
def test_first_use_creates_the_schema_once_under_a_crowd(procs: int) -> None:
    need_server()
    schema = f"t_{os.urandom(8).hex()}"
    ctx = mp.get_context("fork")
    out = ctx.Queue()

    def opener() -> None:
        store = _open(with_schema(schema))
        try:
            out.put(store.find_active("/nowhere") is None)
        except Exception as exc:  # reported, not raised: the parent asserts
            out.put(repr(exc))
        finally:
            store.close()

    try:
        ps = [ctx.Process(target=opener) for _ in range(procs)]
        for p in ps:
            p.start()
        got = [out.get(timeout=60) for _ in range(procs)]
        for p in ps:
            p.join(timeout=30)
        assert got == [True] * procs
        assert isinstance(_open(with_schema(schema)), object)
    finally:
        drop_schema(schema)


def test_open_store_picks_the_backend(tmp_path: Path) -> None:
    from conductor_tui.pg import open_store

    assert isinstance(open_store(str(tmp_path / "s")), Store)
    need_server()
    from conductor_tui.pg.store import PgStore

    pg = open_store(with_schema("t_unused"))
    assert isinstance(pg, PgStore)  # nothing is connected (or created) before first use
