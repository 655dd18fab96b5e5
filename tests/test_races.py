"""Real multi-process races on real store directories: claims, endings and fencing.

Every process opens its own Store on the same directory; racers are released together by a
multiprocessing.Barrier (no sleeps). Workers are top-level functions run in forked processes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import traceback
from typing import Any

import pytest

from conductor_tui.core import audit
from conductor_tui.core.errors import EXIT_REFUSED, ConductorError
from conductor_tui.core.liveness import proc_info
from conductor_tui.core.models import AuditEvent
from conductor_tui.core.paths import TOKEN_RE
from conductor_tui.core.store import Sprint, Store

CTX = multiprocessing.get_context("fork")
WAIT_S = 90.0  # a generous ceiling for a hung racer; never reached by a passing run

CLAIMERS = 16
CLAIM_ROUNDS = 50
ENDERS = 12
ENDING_ROUNDS = 20
FENCE_ROUNDS = 8

HOW = {"complete": "done", "abort": "aborted", "reclaim": "reclaimed"}


# ---------------------------------------------------------------------- child-side helpers


def _attempt(sprint: Sprint, op: str, phase: str, agent: str, token: str | None) -> tuple:
    """Run one operation; ("ok", token) or ("err", class, exit code, kind, message)."""
    try:
        if op == "claim":
            info = proc_info(os.getpid())
            owner = sprint.claim(
                phase,
                agent=agent,
                holder_pid=os.getpid(),
                holder_start=info.start if info else None,
            )
            return ("ok", owner.token)
        if op == "claim-for-parent":
            # the holder is the test process, alive for the whole test
            info = proc_info(os.getppid())
            owner = sprint.claim(
                phase,
                agent=agent,
                holder_pid=os.getppid(),
                holder_start=info.start if info else None,
            )
            return ("ok", owner.token)
        if op == "complete":
            return ("ok", sprint.complete(phase, agent=agent, token=token).token)
        if op == "abort":
            sprint.abort(phase, agent=agent, token=token)
            return ("ok", token)
        if op == "reclaim":
            return ("ok", sprint.reclaim(phase, agent=agent, force=True).token)
        if op == "reclaim-stale":
            return ("ok", sprint.reclaim(phase, agent=agent, force=False).token)
        if op == "heartbeat":
            return ("ok", sprint.heartbeat(phase, agent=agent, token=token).token)
        raise AssertionError(f"unknown op {op}")
    except ConductorError as exc:
        return ("err", type(exc).__name__, exc.exit_code, exc.kind, exc.message)
    except Exception:
        return ("crash", traceback.format_exc())


def _race_worker(
    root: str,
    sprint_id: str,
    index: int,
    barrier: Any,
    script: list[tuple[int, str, str, str | None]],
    results: Any,
) -> None:
    """Open the store here, then for each (round, op, phase, token): wait, act, report."""
    try:
        sprint = Store(root).open_sprint(sprint_id)
        agent = f"racer-{index}"
        for rnd, op, phase, token in script:
            try:
                barrier.wait(timeout=WAIT_S)
            except threading.BrokenBarrierError:
                results.put((rnd, index, op, ("crash", "barrier broken")))
                return
            results.put((rnd, index, op, _attempt(sprint, op, phase, agent, token)))
    except Exception:
        results.put((-1, index, "setup", ("crash", traceback.format_exc())))
        barrier.abort()


def _one_shot(
    root: str,
    sprint_id: str,
    op: str,
    phase: str,
    agent: str,
    token: str | None,
    barrier: Any,
    conn: Any,
) -> None:
    """One operation in its own process, optionally released by a barrier; reports on conn."""
    try:
        sprint = Store(root).open_sprint(sprint_id)
        if barrier is not None:
            barrier.wait(timeout=WAIT_S)
        conn.send(_attempt(sprint, op, phase, agent, token))
    except Exception:
        conn.send(("crash", traceback.format_exc()))
    finally:
        conn.close()


# ---------------------------------------------------------------------- parent-side helpers


def _run_script_workers(
    root: str, sprint_id: str, scripts: list[list[tuple[int, str, str, str | None]]]
) -> dict[int, dict[int, tuple[str, tuple]]]:
    """Run one long-lived worker per script; results by round, then by worker index."""
    barrier = CTX.Barrier(len(scripts))
    results = CTX.Queue()
    procs = [
        CTX.Process(target=_race_worker, args=(root, sprint_id, i, barrier, script, results))
        for i, script in enumerate(scripts)
    ]
    for p in procs:
        p.start()
    expected = sum(len(s) for s in scripts)
    by_round: dict[int, dict[int, tuple[str, tuple]]] = {}
    crashes = []
    try:
        for _ in range(expected):
            rnd, index, op, outcome = results.get(timeout=WAIT_S)
            if outcome[0] == "crash":
                crashes.append((rnd, index, op, outcome[1]))
                if rnd < 0 or outcome[1] == "barrier broken":
                    break
            by_round.setdefault(rnd, {})[index] = (op, outcome)
    finally:
        for p in procs:
            p.join(timeout=WAIT_S)
        for p in procs:
            if p.is_alive():  # only our own children, by handle
                p.kill()
                p.join()
    assert not crashes, f"a racer crashed: {crashes[0]}"
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return by_round


def _run_one_shots(
    root: str, sprint_id: str, calls: list[tuple[str, str, str, str | None]], *, together: bool
) -> list[tuple]:
    """Run each (op, phase, agent, token) in its own process; together = barrier-released."""
    barrier = CTX.Barrier(len(calls)) if together and len(calls) > 1 else None
    pipes, procs = [], []
    for op, phase, agent, token in calls:
        recv, send = CTX.Pipe(duplex=False)
        p = CTX.Process(
            target=_one_shot, args=(root, sprint_id, op, phase, agent, token, barrier, send)
        )
        p.start()
        send.close()
        pipes.append(recv)
        procs.append(p)
    out = []
    try:
        for recv in pipes:
            assert recv.poll(WAIT_S), "a racer never answered"
            out.append(recv.recv())
    finally:
        for p in procs:
            p.join(timeout=WAIT_S)
            if p.is_alive():
                p.kill()
                p.join()
    for outcome in out:
        assert outcome[0] != "crash", outcome[1]
    return out


def _start(root: str, project: str, names: list[str]) -> Sprint:
    store = Store(root)
    graph = [{"name": n, "depends_on": []} for n in names]
    return store.start(project, agent="starter", phases=graph)


def _lock_tokens(pdir: str) -> list[str]:
    try:
        return sorted(e for e in os.listdir(os.path.join(pdir, "lock")) if TOKEN_RE.match(e))
    except FileNotFoundError:
        return []


def _history(pdir: str) -> list[str]:
    try:
        return sorted(e for e in os.listdir(os.path.join(pdir, "history")) if "@" in e)
    except FileNotFoundError:
        return []


def _audit_events(root: str) -> list[AuditEvent]:
    events = list(audit.read(os.path.join(root, "audit.log")))
    bad = [e for e in events if isinstance(e, str)]
    assert not bad, bad
    return events  # type: ignore[return-value]


def _read(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


# ---------------------------------------------------------------------- claim races


def test_many_processes_claim_one_phase_exactly_one_wins(tmp_path, project) -> None:
    """16 processes per round claim the same fresh phase: one winner, every other one Held."""
    root = str(tmp_path / "store")
    names = [f"p{r}" for r in range(CLAIM_ROUNDS)]
    sprint = _start(root, project, names)
    scripts = [[(r, "claim", names[r], None) for r in range(CLAIM_ROUNDS)] for _ in range(CLAIMERS)]
    by_round = _run_script_workers(root, sprint.sprint_id, scripts)

    claims_logged: dict[str, list[str]] = {}
    for ev in _audit_events(root):
        if ev.event == "sprint_claim":
            claims_logged.setdefault(ev.resource, []).append(ev.token or "")

    for r, phase in enumerate(names):
        outcomes = by_round[r]
        assert len(outcomes) == CLAIMERS
        winners = {i: o for i, (_, o) in outcomes.items() if o[0] == "ok"}
        assert len(winners) == 1, f"round {r}: {len(winners)} winners: {outcomes}"
        (win_index, (_, token)), *_ = winners.items()
        for i, (_, o) in outcomes.items():
            if i == win_index:
                continue
            # every loser: Held (a Refused subclass), exit code 1
            assert o[0] == "err" and o[1] == "Held", f"round {r}, racer {i}: {o}"
            assert o[2] == EXIT_REFUSED and o[3] == "held"
        pdir = os.path.join(sprint.path, phase)
        assert _lock_tokens(pdir) == [token], f"round {r}: lock holds {_lock_tokens(pdir)}"
        owner = _read(os.path.join(pdir, "lock", token, "owner.json"))
        assert owner["agent"] == f"racer-{win_index}"
        assert owner["epoch"] == 1 and token.startswith("1-")
        meta = _read(os.path.join(pdir, "lock", "meta.json"))
        assert meta["token"] == token and meta["agent"] == owner["agent"]
        assert os.path.isdir(os.path.join(pdir, "lock.d")), "the upstream sentinel is missing"
        assert _history(pdir) == [], f"round {r}: a claim was published and retracted"
        assert not os.path.exists(os.path.join(pdir, "done"))
        assert claims_logged.get(phase) == [token]
        leftovers = [e for e in os.listdir(pdir) if e.startswith(".")]
        assert leftovers == [], f"round {r}: losers left {leftovers}"

    view = Store(root).open_sprint(sprint.sprint_id).view()
    assert all(pv.status in ("held", "stale") and pv.lock for pv in view.phases)
    assert Store(root).open_sprint(sprint.sprint_id).doctor() == []


# ---------------------------------------------------------------------- ending races


@pytest.mark.parametrize(
    "ops",
    [
        ("complete",),
        ("complete", "abort"),
        ("complete", "abort", "heartbeat"),
        ("reclaim",),
        ("complete", "abort", "reclaim"),
        ("complete", "abort", "reclaim", "heartbeat"),
    ],
    ids=lambda ops: "+".join(ops),
)
def test_concurrent_endings_of_one_token_exactly_one_wins(tmp_path, project, ops) -> None:
    """N processes end the same claim at once: one wins, the others are fenced.

    Refusals: a loser that passes the token (complete, abort, heartbeat after the end) must get
    Fenced (exit 1). reclaim --force passes no token: it must get Fenced when it loses the
    rename, or plain Refused ("not locked") once the claim is gone; it must never report success
    for a claim somebody else ended. A heartbeat is not an ending: it may succeed (before the
    end) or be Fenced (after it).
    """
    root = str(tmp_path / "store")
    names = [f"p{r}" for r in range(ENDING_ROUNDS)]
    sprint = _start(root, project, names)
    me = proc_info(os.getpid())
    tokens = [
        sprint.claim(
            n, agent="holder", holder_pid=os.getpid(), holder_start=me.start if me else None
        ).token
        for n in names
    ]
    scripts = [
        [(r, ops[(i + r) % len(ops)], names[r], tokens[r]) for r in range(ENDING_ROUNDS)]
        for i in range(ENDERS)
    ]
    by_round = _run_script_workers(root, sprint.sprint_id, scripts)

    problems: list[str] = []
    for r, phase in enumerate(names):
        token = tokens[r]
        outcomes = by_round[r]
        assert len(outcomes) == ENDERS
        winners = {i: op for i, (op, o) in outcomes.items() if o[0] == "ok" and op != "heartbeat"}
        if len(winners) != 1:
            problems.append(f"round {r}: {len(winners)} endings reported success: {winners}")
        pdir = os.path.join(sprint.path, phase)
        history = _history(pdir)
        mine = [h for h in history if h.startswith(f"{token}@")]
        if len(history) != 1 or len(mine) != 1:
            problems.append(f"round {r}: history {history}")
        how = mine[0].split("@", 1)[1].split("-", 1)[0] if mine else None
        if len(winners) == 1 and how != HOW[next(iter(winners.values()))]:
            problems.append(f"round {r}: winner {winners} but the history says {how}")
        for i, (op, o) in outcomes.items():
            if i in winners or (op == "heartbeat" and o[0] == "ok"):
                continue
            if o[0] == "ok":
                continue  # an extra success, reported above
            if o[2] != EXIT_REFUSED:
                problems.append(f"round {r}: {op} by racer {i}: exit code {o}")
            elif op == "reclaim" and o[1] == "Refused" and "not locked" in o[4]:
                continue
            elif o[1] != "Fenced":
                problems.append(f"round {r}: {op} by racer {i} got {o[1]}, not Fenced: {o[4]}")
        done = os.path.join(pdir, "done")
        if how == "done":
            record = _read(done)
            if record.get("token") != token or record.get("agent") != "holder":
                problems.append(f"round {r}: done record {record}")
        elif os.path.lexists(done):
            problems.append(f"round {r}: a done record after {how}")
        for left in ("lock", "lock.d"):
            if os.path.lexists(os.path.join(pdir, left)):
                problems.append(f"round {r}: {left} remains after the claim ended")
        leftovers = [e for e in os.listdir(pdir) if e.startswith(".")]
        if leftovers:
            problems.append(f"round {r}: leftovers {leftovers}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:12])

    reopened = Store(root).open_sprint(sprint.sprint_id)
    assert reopened.doctor() == []
    for pv in reopened.view().phases:
        assert pv.lock is None and pv.status in ("done", "ready")
    events = _audit_events(root)
    ends = [e.resource for e in events if e.event in ("sprint_complete", "sprint_abort")]
    ends += [e.resource for e in events if e.event == "sprint_unstuck"]
    assert sorted(ends) == sorted(names), "exactly one ending logged per claim"


def test_claims_racing_a_release_never_overlap(tmp_path, project) -> None:
    """One process aborts a held claim while others claim the phase: at most one new holder.

    Claimers that arrive while the old claim (or the new winner's) is visible get Held; the
    winner, if any, owns the lock alone (token, mirror and upstream sentinel) with a higher
    epoch, and the old token is ended exactly once.
    """
    root = str(tmp_path / "store")
    names = [f"p{r}" for r in range(ENDING_ROUNDS)]
    sprint = _start(root, project, names)
    me = proc_info(os.getpid())
    tokens = [
        sprint.claim(
            n, agent="holder", holder_pid=os.getpid(), holder_start=me.start if me else None
        ).token
        for n in names
    ]
    scripts = [
        [
            (r, "abort" if i == r % ENDERS else "claim", names[r], tokens[r])
            for r in range(ENDING_ROUNDS)
        ]
        for i in range(ENDERS)
    ]
    by_round = _run_script_workers(root, sprint.sprint_id, scripts)

    problems: list[str] = []
    new_holders = 0
    for r, phase in enumerate(names):
        old = tokens[r]
        outcomes = by_round[r]
        pdir = os.path.join(sprint.path, phase)
        aborts = [o for op, o in outcomes.values() if op == "abort"]
        if aborts != [("ok", old)]:
            problems.append(f"round {r}: abort of the held claim: {aborts}")
        won = [o[1] for op, o in outcomes.values() if op == "claim" and o[0] == "ok"]
        for i, (op, o) in outcomes.items():
            if op == "claim" and o[0] == "err" and (o[1] != "Held" or o[2] != EXIT_REFUSED):
                problems.append(f"round {r}: claimer {i} got {o[1]}: {o[4]}")
        history = _history(pdir)
        if sum(h.startswith(f"{old}@aborted-") for h in history) != 1:
            problems.append(f"round {r}: the old token's history {history}")
        ended_again = [h for h in history if not h.startswith(f"{old}@")]
        if any(not h.split("@", 1)[1].startswith("superseded-") for h in ended_again):
            problems.append(f"round {r}: unexpected history {history}")
        if len(won) > 1:
            problems.append(f"round {r}: {len(won)} claims won: {won}")
        elif won:
            new_holders += 1
            new = won[0]
            if _lock_tokens(pdir) != [new]:
                problems.append(f"round {r}: won {new} but the lock holds {_lock_tokens(pdir)}")
            try:
                mirror = _read(os.path.join(pdir, "lock", "meta.json")).get("token")
            except FileNotFoundError:
                mirror = None
            if mirror != new:
                problems.append(f"round {r}: the lock's meta.json mirror is {mirror}, not {new}")
            if not os.path.isdir(os.path.join(pdir, "lock.d")):
                problems.append(f"round {r}: the upstream sentinel lock.d is gone")
            if int(new.split("-")[0]) <= int(old.split("-")[0]):
                problems.append(f"round {r}: epoch did not grow: {old} -> {new}")
            if any(h.startswith(f"{new}@") for h in history):
                problems.append(f"round {r}: the winner's claim was ended: {history}")
        else:
            for left in ("lock", "lock.d"):
                if os.path.lexists(os.path.join(pdir, left)):
                    problems.append(f"round {r}: {left} remains with no holder")
        leftovers = [e for e in os.listdir(pdir) if e.startswith(".")]
        if leftovers:
            problems.append(f"round {r}: leftovers {leftovers}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:12])
    assert Store(root).open_sprint(sprint.sprint_id).doctor() == []


# ---------------------------------------------------------------------- fencing a reclaimed holder


def _claim_and_exit(root: str, sprint_id: str, phase: str, conn: Any) -> None:
    """Agent A: claim with itself as the holder, report the token, exit (the lock goes stale)."""
    try:
        sprint = Store(root).open_sprint(sprint_id)
        info = proc_info(os.getpid())
        owner = sprint.claim(
            phase,
            agent="agent-a",
            holder_pid=os.getpid(),
            holder_start=info.start if info else None,
        )
        conn.send(("ok", owner.token))
    except Exception:
        conn.send(("crash", traceback.format_exc()))
    finally:
        conn.close()


def test_reclaimed_holder_is_fenced(tmp_path, project) -> None:
    """A's holder dies, B reclaims, C claims: every use of A's token is fenced, C's is not."""
    root = str(tmp_path / "store")
    names = [f"p{r}" for r in range(FENCE_ROUNDS)]
    sprint = _start(root, project, names)
    sid = sprint.sprint_id
    for phase in names:
        pdir = os.path.join(sprint.path, phase)
        recv, send = CTX.Pipe(duplex=False)
        a = CTX.Process(target=_claim_and_exit, args=(root, sid, phase, send))
        a.start()
        send.close()
        assert recv.poll(WAIT_S)
        status, old = recv.recv()
        assert status == "ok", old
        a.join(timeout=WAIT_S)
        assert a.exitcode == 0  # A is gone and reaped: its lock is stale at once

        view = Store(root).open_sprint(sid).phase_view(phase)
        assert view.status == "stale", view.lock

        # B reclaims (no --force: the lock must be judged stale), then C claims.
        [(st, got)] = _run_one_shots(
            root, sid, [("reclaim-stale", phase, "agent-b", None)], together=False
        )
        assert st == "ok" and got == old, got
        [(st, new)] = _run_one_shots(
            root, sid, [("claim-for-parent", phase, "agent-c", None)], together=False
        )
        assert st == "ok", new
        assert new != old and int(new.split("-")[0]) > int(old.split("-")[0])

        # A's old token is fenced for every verb while C holds the phase; C's lock is untouched.
        stale_uses = [
            ("heartbeat", phase, "agent-a", old),
            ("abort", phase, "agent-a", old),
            ("complete", phase, "agent-a", old),
        ]
        for outcome in _run_one_shots(root, sid, stale_uses, together=True):
            assert outcome[0] == "err" and outcome[1] == "Fenced", outcome
            assert outcome[2] == EXIT_REFUSED
        assert _lock_tokens(pdir) == [new]
        assert _read(os.path.join(pdir, "lock", "meta.json"))["token"] == new
        assert not os.path.lexists(os.path.join(pdir, "done"))

        # A's complete races C's: A is fenced whichever runs first; done is C's alone.
        race = [("complete", phase, "agent-a", old), ("complete", phase, "agent-c", new)]
        a_out, c_out = _run_one_shots(root, sid, race, together=True)
        assert a_out[0] == "err" and a_out[1] == "Fenced", a_out
        assert c_out == ("ok", new), c_out
        done = _read(os.path.join(pdir, "done"))
        assert done["token"] == new and done["agent"] == "agent-c"
        assert done["epoch"] == int(new.split("-")[0])
        history = _history(pdir)
        assert len(history) == 2, history
        assert sum(h.startswith(f"{old}@reclaimed-") for h in history) == 1, history
        assert sum(h.startswith(f"{new}@done-") for h in history) == 1, history
        assert not os.path.lexists(os.path.join(pdir, "lock"))
        assert not os.path.lexists(os.path.join(pdir, "lock.d"))

        # after the end, A's token is still fenced (not "not claimed", not "already done")
        for outcome in _run_one_shots(root, sid, stale_uses, together=True):
            assert outcome[0] == "err" and outcome[1] == "Fenced", outcome

    reopened = Store(root).open_sprint(sid)
    assert reopened.doctor() == []
    assert all(pv.status == "done" for pv in reopened.view().phases)


# ---------------------------------------------------------------------- readers during a release


def _release_poller(
    root: str,
    sprint_id: str,
    index: int,
    barrier: Any,
    script: list[tuple[str, str]],
    results: Any,
) -> None:
    """Racer 0 ends each claim; every other racer reads the phase until the lock is gone."""
    try:
        sprint = Store(root).open_sprint(sprint_id)
        for rnd, (phase, token) in enumerate(script):
            barrier.wait(timeout=WAIT_S)
            if index == 0:
                results.put((rnd, index, _attempt(sprint, "abort", phase, "holder", token)))
                continue
            seen: dict[str, int] = {}
            why: dict[str, list[str]] = {}  # the first evidence given for each status
            while True:
                pv = sprint.phase_view(phase)
                seen[pv.status] = seen.get(pv.status, 0) + 1
                evidence = pv.problems + (pv.lock.evidence if pv.lock else [])
                why.setdefault(pv.status, evidence)
                if pv.lock is None:
                    break
            results.put((rnd, index, ("seen", seen, why)))
    except Exception:
        results.put((-1, index, ("crash", traceback.format_exc())))
        barrier.abort()


@pytest.fixture(scope="module")
def release_readings(tmp_path_factory) -> list[tuple[int, int, tuple]]:
    """Racer 0 aborts a held claim per round while 7 readers poll the phase until it is free."""
    base = tmp_path_factory.mktemp("release-readings")
    root, project = str(base / "store"), str(base / "project")
    os.mkdir(project)
    rounds = 30
    names = [f"p{r}" for r in range(rounds)]
    sprint = _start(root, project, names)
    me = proc_info(os.getpid())
    tokens = [
        sprint.claim(
            n, agent="holder", holder_pid=os.getpid(), holder_start=me.start if me else None
        ).token
        for n in names
    ]
    n = 8
    barrier = CTX.Barrier(n)
    results = CTX.Queue()
    script = list(zip(names, tokens, strict=True))
    procs = [
        CTX.Process(
            target=_release_poller, args=(root, sprint.sprint_id, i, barrier, script, results)
        )
        for i in range(n)
    ]
    for p in procs:
        p.start()
    outcomes = []
    try:
        for _ in range(n * rounds):
            item = results.get(timeout=WAIT_S)
            outcomes.append(item)
            if item[2][0] == "crash":
                break
    finally:
        for p in procs:
            p.join(timeout=WAIT_S)
            if p.is_alive():
                p.kill()
                p.join()
    crashes = [o for o in outcomes if o[2][0] == "crash"]
    assert not crashes, crashes[0]
    assert [o[2] for o in outcomes if o[1] == 0] == [("ok", t) for t in tokens]
    statuses = {status for _, _, (kind, *rest) in outcomes if kind == "seen" for status in rest[0]}
    assert statuses <= {"held", "stale", "malformed", "ready"}, statuses
    return outcomes


def _bad_readings(outcomes: list[tuple[int, int, tuple]], forbidden: str) -> list[str]:
    bad = []
    for rnd, index, (kind, *rest) in outcomes:
        if kind == "seen" and forbidden in rest[0]:
            seen, why = rest
            bad.append(f"round {rnd}, reader {index}: saw {seen}; {forbidden}: {why[forbidden]}")
    return bad


def test_readers_never_see_a_release_as_malformed(release_readings) -> None:
    """A release is a sequence of renames; a reader may catch it in between, but nothing in the
    lock is ever half-written or unparsable, so it must never be reported as malformed."""
    bad = _bad_readings(release_readings, "malformed")
    assert not bad, f"{len(bad)} readers saw a release as malformed:\n" + "\n".join(bad[:10])


def test_readers_never_see_a_normal_release_as_a_crash_leftover(release_readings) -> None:
    """The holder is alive with an hour of lease: a reader must see held, then ready. A lock
    caught mid-release must not be reported stale ("empty lock directory left by a crash")."""
    bad = _bad_readings(release_readings, "stale")
    assert not bad, f"{len(bad)} readers saw a normal release as stale:\n" + "\n".join(bad[:10])


# ---------------------------------------------------------------------- reclaim: judge what you end


class _PausingSprint(Sprint):
    """A Sprint whose next lock reading lets other processes act right after it has read the disk.

    This is a deterministic interleaving, not a mock: the other operations are real ones, run by
    other processes on the same directory, at the one moment a slow scheduler could pick.
    """

    def __init__(self, base: Sprint, meanwhile: Any) -> None:
        super().__init__(base.store, base.path, base.record)
        self.meanwhile = meanwhile

    def read(self, phase: str, now: float):  # the reading a reclaim judges and acts on
        reading = super().read(phase, now)
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return reading


def test_reclaim_without_force_never_ends_a_claim_it_did_not_judge_stale(tmp_path, project):
    """R1 and R2 both see a stale lock; R1 reclaims it and C claims with a live holder, all
    before R2 acts. R2's reclaim (no --force) must not end C's fresh, held claim: it must be
    refused (Fenced: the stale claim it judged is gone; or NotStale: C's claim is held)."""
    root = str(tmp_path / "store")
    sprint = _start(root, project, ["p0"])
    sid, phase = sprint.sprint_id, "p0"
    pdir = os.path.join(sprint.path, phase)
    recv, send = CTX.Pipe(duplex=False)
    a = CTX.Process(target=_claim_and_exit, args=(root, sid, phase, send))
    a.start()
    send.close()
    assert recv.poll(WAIT_S)
    status, old = recv.recv()
    assert status == "ok", old
    a.join(timeout=WAIT_S)

    fresh: list[str] = []

    def meanwhile() -> None:
        [(st, got)] = _run_one_shots(
            root, sid, [("reclaim-stale", phase, "agent-r1", None)], together=False
        )
        assert st == "ok" and got == old, got
        [(st, new)] = _run_one_shots(
            root, sid, [("claim-for-parent", phase, "agent-c", None)], together=False
        )
        assert st == "ok", new
        fresh.append(new)

    r2 = _PausingSprint(Store(root).open_sprint(sid), meanwhile)
    try:
        got = r2.reclaim(phase, agent="agent-r2", force=False)
        outcome: tuple = ("ok", got.token, got.verdict)
    except ConductorError as exc:
        outcome = ("err", type(exc).__name__, exc.message)
    [new] = fresh
    assert not any(h.startswith(f"{new}@") for h in _history(pdir)), (
        f"a reclaim without --force ended the live, held claim {new}: {_history(pdir)}; "
        f"R2 was told {outcome}"
    )
    assert outcome[0] == "err" and outcome[1] in ("Fenced", "NotStale"), outcome
    assert _lock_tokens(pdir) == [new]
    [(st, done_token)] = _run_one_shots(
        root, sid, [("complete", phase, "agent-c", new)], together=False
    )
    assert (st, done_token) == ("ok", new)


def test_a_completion_that_loses_after_its_check_is_fenced_not_refused(tmp_path, project) -> None:
    """The interleaving behind a rare loss of the race above, made to happen every time: two
    holders of one token complete at once; the loser's check passes while the claim is still
    current, then the winner ends it and publishes done before the loser looks for a done
    record. The loser's claim has ended: it must be told so (Fenced), as every late write of an
    ended claim is, not that a done record is in the way."""
    root = str(tmp_path / "store")
    sprint = _start(root, project, ["p0"])
    token = sprint.claim("p0", agent="holder", holder_pid=os.getpid()).token
    winner = Store(root).find_active(project)
    assert winner is not None
    authorize = sprint._authorize

    def then_the_winner_completes(*args: Any, **kwargs: Any) -> Any:
        ls = authorize(*args, **kwargs)
        winner.complete("p0", agent="holder", token=token)
        return ls

    sprint._authorize = then_the_winner_completes  # type: ignore[method-assign]
    with pytest.raises(ConductorError) as caught:
        sprint.complete("p0", agent="holder", token=token)
    assert type(caught.value).__name__ == "Fenced", caught.value
    done = _read(os.path.join(sprint.path, "p0", "done"))
    assert done["token"] == token  # the winner's record stands
