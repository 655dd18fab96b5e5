"""Stress harness: many processes claim, hold, end and reclaim phases while faults are injected,
then a checker proves from their logs and from the store's disk that nobody ever shared a phase.

Issue 4: "The upstream tool tells two agents that they both own a phase. Ours must never, and must
be able to show it with numbers anyone can reproduce."

Run it from the repository with the interpreter that has conductor-tui installed:

    python bench/stress.py                                  # 8 workers, 4 phases, 300 attempts
    python bench/stress.py --phases 256 --attempts 500 --json stress.json
    python bench/stress.py --broken                         # negative control: must be caught
    python bench/stress.py --check DIR                      # re-check the logs of a kept run
    python bench/stress.py --store 'postgresql://postgres@127.0.0.1/test?schema=stress_1'

The workload. A supervisor starts a sprint of P independent phases in a fresh store and forks W
worker processes. Each worker makes its attempts: pick a random phase and claim it (holder pid =
the worker itself, a short ttl), hold it for a few milliseconds while sometimes heartbeating, then
abort it or, rarely, complete it with a small JSON artifact inside the store; or reclaim a phase
(never with force, so only stale claims can go). A phase completes at most once, so when every
phase of the sprint is done the supervisor starts a fresh sprint and the claims go on.

The faults, all fired by the harness on its own children, by pid:
- SIGKILL of a worker holding a phase (its claim goes stale; another worker must reclaim it);
- SIGKILL of a random worker, preferably in the middle of a store call;
- crash points: some workers are forked with CONDUCTOR_CRASH_AT=<point> (the store's own crash
  hook, see docs/PROTOCOL-NOTES.md) and die between two steps of an operation;
- stalls: SIGSTOP of a holder past its lease; an operator (the supervisor) then force-reclaims the
  now "suspect" claim, waits until someone else claims the phase, and sends SIGCONT: the old
  holder's next heartbeat, complete or abort must be fenced;
- pauses: a worker stops itself inside a store call (claim.staged, heartbeat.owner and
  complete.staged: after the checks, before the commit rename) and is resumed the same way, which
  tests the fencing rename itself rather than the up-front ownership check.
Every spawned process is reaped; every dead worker is replaced by a new one with what is left of
its slot's attempts. At the end the supervisor reclaims every leftover (stale) claim, runs
`doctor`, then the checker runs.

The logs. Every process writes JSON Lines (one os.write per record, so SIGKILL never tears one)
with time.monotonic() (CLOCK_MONOTONIC: one clock for every process of the machine). A claim that
succeeded logs `acquired_after` (taken just after claim returned) and `claim_before`; an ending
that succeeded logs `ended_before` (taken just before the call) and `ended_after`. Each call logs a
"try" record first, so a process killed inside a call leaves its pending call behind.

The checker (also run alone with --check). A hold interval is [acquired_after of the claim,
ended_before of the call that ended the token] - whoever made that call: the holder (complete,
abort), a worker (reclaim), the operator or the sweeper. A token ended by a process that died
inside the call is bounded by that call's start. Every bound is on the safe side (the measured
interval lies inside the real one), so an overlap found is a real double grant. It checks:
 1. no two hold intervals of one phase overlap; epochs grow with claim order; never two tokens
    under one lock;
 2. a token ends at most once: at most one history entry per token and at most one caller told OK
    for ending it; every OK ending is in the history as what the caller did; a fenced caller's
    token really was ended; no claim reported OK is superseded or lost; no heartbeat is accepted
    after its token's ending returned;
 3. at most one done per phase; no claim reported OK with a later epoch than the done, or begun
    after the completion returned; the done file is the completed token's;
 4. every reclaim had evidence (non-empty, saying stale/gone/lease...); a reclaim without force
    was judged "stale" and never ended the claim of a holder that was provably alive;
 5. the audit log agrees (one sprint_claim per claim reported OK, at most one completion).
And on both stores: a completion told "fenced" is never the done record nor a sprint_complete.
A run fails (exit 1) on any violation and (exit 2) when a fault did not fire: no reclaim, no
fenced refusal, no SIGKILL of a holder, no crash point hit, no stall.

The negative control. --broken [end-lock|publish-into] runs the same harness with a store broken
inside the worker processes only (monkeypatched here, never in conductor_tui/): `end-lock` ends a
claim by renaming the whole `lock` instead of `lock/<token>`; `publish-into` publishes a claim by
moving it into an existing lock, as upstream's `mv lock.d lock` does. The checker must catch it:
the run prints "negative control caught N violations" and exits 1 (exit 3 if nothing was caught).

PostgreSQL (--store URL, on a schema of its own: one that holds other projects' sprints is
refused, and the schema is left for --check; drop it after). The same workload and faults run on
PgStore, each worker on a connection of its own opened after the fork. An operation is one
transaction there, so its crash points are `<op>.in-tx` (the process dies after the statements,
before COMMIT: the server rolls back when the connection drops) and `<op>.committed` (after COMMIT,
before the caller hears), for claim, heartbeat, complete, abort and reclaim; the file store's
intermediate steps (staged, renamed, published, the mirror) have no counterpart and are not armed.
A worker stops itself just before the transaction of a claim, heartbeat or completion (stopping
inside one would hold the phase's row lock: every caller, the operator too, would wait for it, by
design, and nothing would be fenced); a holder SIGSTOPped inside a transaction is still possible,
so the operator's connection has a lock timeout (its reclaim is then refused, counted, and the
worker resumed). The checker reads the truth from the database: the phases table (live tokens),
done, claims (every ended claim: the file store's history) and events (the audit log, in commit
order for each phase, so it also checks that nothing was written under a token after the event
that ended it). Any database error in a worker is a problem of the run. The negative control
there is `--broken claim-held`: the claim's UPDATE grants a held phase.

--seed fixes every random choice (phases, hold times, which worker gets which fault); the
interleavings still depend on the machine, which is the point: run it often, on many machines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from conductor_tui.core import ending as ending_mod
from conductor_tui.core import fs as fs_mod
from conductor_tui.core import store as store_mod
from conductor_tui.core.errors import ConductorError, Fenced
from conductor_tui.core.layout import PhasePaths, parse_history
from conductor_tui.core.liveness import proc_info
from conductor_tui.core.store import Sprint, Store

CTX = multiprocessing.get_context("fork")

CRASH_POINTS = (
    "claim.staged",
    "claim.published",
    "heartbeat.owner",
    "complete.staged",
    "complete.committed",
    "complete.published",
    "done.renamed",
    "aborted.renamed",
    "abort.committed",
    "reclaimed.renamed",
    "reclaim.committed",
    "superseded.renamed",
    "release.mirror",
)
# Where a worker may stop itself (relative weights of --pause-prob): complete.staged is after
# complete's ownership check and before its commit rename, the classic "GC pause" of fencing.
PAUSE_POINTS = {"claim.staged": 0.5, "heartbeat.owner": 1.0, "complete.staged": 6.0}
PAUSE_CODES = {name: i + 1 for i, name in enumerate(PAUSE_POINTS)}
# On PostgreSQL every operation is one transaction: a process can die inside it (the server rolls
# it back when the connection drops) or after its COMMIT and before the caller hears (the
# transition stands, its caller never learnt it). The file store's intermediate steps (staged,
# renamed, published, the mirror) have no counterpart there and are not armed.
PG_CRASH_POINTS = tuple(
    f"{op}.{where}"
    for op in ("claim", "heartbeat", "complete", "abort", "reclaim")
    for where in ("in-tx", "committed")
)
# A worker stops itself just before the transaction of a claim, a heartbeat or a completion: its
# token is decided, the check and the change are still to come (in one statement). Stopping
# inside a transaction would hold the phase's row lock, so every other caller would wait for the
# stopped one (by design: the transaction is the critical section) and nothing would be fenced.
PG_PAUSE_POINTS = {"claim.before-tx": 0.5, "heartbeat.before-tx": 1.0, "complete.before-tx": 6.0}
# what PgStore.tx's `doing` starts with, for each operation
PG_OPS = {
    "claiming": "claim",
    "extending": "heartbeat",
    "completing": "complete",
    "aborting": "abort",
    "reclaiming": "reclaim",
}
OPERATOR_LOCK_TIMEOUT_MS = 3000  # the operator never waits forever behind a stopped worker
CRASH_EXIT = 86  # what faults.crash exits with
EVIDENCE_RE = re.compile(r"stale|gone|zombie|lease ran out|another process|interrupted", re.I)
TOKEN_IN_TEXT = re.compile(r"\b([0-9]{1,12}-[0-9a-f]{16})\b")
FINISHED_RELEASE = "finished a release that was interrupted"

# shared per-slot state, 4 ints per slot
IDLE, HOLDING, IN_CALL, PAUSED = 0, 1, 2, 3
ST_STATE, ST_PHASE, ST_ROUND, ST_POINT = range(4)
NSTATE = 4


def mono() -> float:
    """CLOCK_MONOTONIC: one clock for every process of this machine."""
    return time.monotonic()


# ---------------------------------------------------------------------- configuration


@dataclass
class Config:
    """One run's parameters (saved as config.json in the run directory)."""

    workers: int = 8
    phases: int = 4
    attempts: int = 300
    ttl: float = 0.3
    seed: int = 1
    kill_rate: float = 4.0  # SIGKILLs per second (half holders, half random workers)
    stall_rate: float = 1.0  # SIGSTOPs of holders per second
    crash_rate: float = 0.3  # fraction of spawned workers armed with a CONDUCTOR_CRASH_AT point
    pause_prob: float = 0.04  # chance per pass through a pause point that a worker stops itself
    done_prob: float = 0.1  # chance that a holder completes rather than aborts
    reclaim_rate: float = 0.12  # chance that an attempt is a reclaim rather than a claim
    hold_max: float = 0.03  # seconds a holder holds at most (plus its heartbeats)
    hb_prob: float = 0.5  # chance of a heartbeat between two slices of a hold
    force_prob: float = 0.9  # chance that the operator force-reclaims a stalled holder
    broken: str = ""  # "", "end-lock" or "publish-into" (files), "claim-held" (PostgreSQL)
    max_seconds: float = 900.0  # give up (and fail) after this long
    store: str = ""  # "" (a file store in the run directory) or a postgresql:// URL


# ---------------------------------------------------------------------- logs


class JsonlLog:
    """Append-only JSON Lines: one os.write per record on an O_APPEND descriptor."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.seq = 0

    def write(self, **rec: Any) -> int:
        """Write one record; returns its sequence number (a try and its result share it)."""
        if "n" not in rec:
            self.seq += 1
            rec["n"] = self.seq
        os.write(self.fd, (json.dumps(rec, separators=(",", ":")) + "\n").encode())
        return rec["n"]

    def close(self) -> None:
        """Close the descriptor."""
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _write_atomic(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def _err_fields(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, ConductorError):
        msg = exc.message
        out: dict[str, Any] = {"kind": exc.kind, "cls": type(exc).__name__, "msg": msg[:300]}
    else:
        out = {
            "kind": "exception",
            "cls": type(exc).__name__,
            "msg": traceback.format_exc()[-1500:],
        }
    if isinstance(exc, Fenced):
        m = TOKEN_IN_TEXT.search(exc.message)
        if m:
            out["fenced_tok"] = m.group(1)
    return out


# ---------------------------------------------------------------------- the negative control


def _break_end_lock() -> None:
    """Ending a claim renames the whole `lock` instead of `lock/<token>`."""

    def end_token(
        sprint: Sprint,
        paths: PhasePaths,
        phase: str,
        token: str,
        *,
        how: str,
        by: str,
        reason: str,
        nonce: str,
    ) -> None:
        src = paths.lock  # the bug: whatever claim the lock holds now goes
        dest = paths.ended_as(token, how, nonce)
        try:
            os.rename(src, dest)
        except FileNotFoundError:
            raise Fenced(f"fenced: token {token} of {phase!r} was already ended") from None
        with contextlib.suppress(OSError):
            ending_mod.write_end(dest, how, by, sprint.store.clock(), reason)

    ending_mod.end_token = end_token  # type: ignore[assignment]
    store_mod.end_token = end_token  # type: ignore[assignment]


class _IntoLockOS:
    """The os module, except that publishing a staged claim onto an existing lock moves it
    *into* that lock (upstream's `mv lock.d lock` double grant) instead of failing."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def rename(src: str, dst: str, *args: Any, **kwargs: Any) -> None:
        if (
            os.path.basename(dst) == "lock"
            and os.path.basename(src).startswith(".claim-")
            and os.path.isdir(dst)
        ):
            for entry in os.listdir(src):
                os.rename(os.path.join(src, entry), os.path.join(dst, entry))
            os.rmdir(src)
            return
        os.rename(src, dst, *args, **kwargs)


def _break_publish_into() -> None:
    fs_mod.os = _IntoLockOS()  # type: ignore[assignment]


def _break_claim_held() -> None:
    """PostgreSQL: the claim's conditional UPDATE grants a phase that is held (any state but
    done), replacing the holder's token, as a check-then-act claim on a row would."""
    from conductor_tui.pg import store as pg_store

    held = pg_store._CLAIM.replace("AND p.state = 'pending'", "AND p.state <> 'done'")
    assert held != pg_store._CLAIM, "the claim statement changed: update the negative control"
    pg_store._CLAIM = held


BROKEN: dict[str, Callable[[], None]] = {
    "end-lock": _break_end_lock,
    "publish-into": _break_publish_into,
    "claim-held": _break_claim_held,
}
PG_BROKEN = {"claim-held"}  # the others break the file store's renames


# ---------------------------------------------------------------------- backends


def is_pg(spec: str) -> bool:
    """Whether a --store spec names a PostgreSQL store."""
    return spec.lower().startswith(("postgresql://", "postgres://"))


class FileBackend:
    """The file store in <run>/store: the harness's original target."""

    kind = "files"
    crash_points = CRASH_POINTS
    pause_points = PAUSE_POINTS
    first_crash = "claim.published"  # reached at once: every run has a crash-point death

    def __init__(self, cfg: Config, run_dir: str) -> None:
        self.cfg = cfg
        self.root = os.path.join(run_dir, "store")
        self.artifacts = os.path.join(self.root, "artifacts")

    def shown(self) -> str:
        """The store as the figures table names it."""
        return "files"

    def worker_store(self, hook: Callable[[str], None]) -> Store:
        """A worker's store: the store's own crash points, each passing through hook first."""
        store = Store(self.root)  # reads CONDUCTOR_CRASH_AT
        crash = store.crash
        store.crash = lambda point: (hook(point), crash(point))  # type: ignore
        return store

    def operator_store(self) -> Store:
        """The supervisor's store (the operator and the sweeper): never crashes."""
        store = Store(self.root)
        store.crash = lambda point: None  # type: ignore[assignment]
        return store

    def before_fork(self, store: Any) -> None:
        """Nothing to let go of before forking a worker."""

    def done(self, sprint: Any, phase: str) -> bool:
        """Whether a phase is done (one stat)."""
        return os.path.exists(os.path.join(sprint.path, phase, "done"))

    def locked(self, sprint: Any, phases: list[str]) -> list[str]:
        """The phases with anything at their lock."""
        return [p for p in phases if os.path.lexists(os.path.join(sprint.path, p, "lock"))]

    def scan(self, sprint_ids: list[str]) -> Disk:
        """The store's truth after the run: its directories and audit.log."""
        return scan_store(self.root)

    def close(self) -> None:
        """Nothing to close."""


class PgBackend:
    """A PostgreSQL store (`--store postgresql://...?schema=NAME`): the workers run PgStore; the
    truth is the database's (phases, done, claims holds every ended claim, events the audit)."""

    kind = "postgresql"
    crash_points = PG_CRASH_POINTS
    pause_points = PG_PAUSE_POINTS
    first_crash = "claim.committed"  # reached at once: every run has a crash-point death

    def __init__(self, cfg: Config, run_dir: str) -> None:
        from conductor_tui.pg.url import parse

        self.cfg = cfg
        self.url = cfg.store
        self.parsed = parse(cfg.store)
        # a PgStore has no directory: artifacts must lie inside the project
        self.artifacts = os.path.join(run_dir, "project", "artifacts")
        self._reader: Any = None

    def shown(self) -> str:
        """The store as the figures table names it (never a password)."""
        return f"PostgreSQL {self.parsed.shown}"

    def worker_store(self, hook: Callable[[str], None]) -> Any:
        """A worker's PgStore (its own connection, opened after the fork), whose transactions
        pass through hook before they begin, before they commit and after they commit, and
        die there when CONDUCTOR_CRASH_AT names that point (the file store's exit code)."""
        from conductor_tui.core import faults
        from conductor_tui.pg.store import PgStore

        store = PgStore(self.url)
        plain = store.tx

        def at(point: str) -> None:
            hook(point)
            faults.crash(point)

        @contextlib.contextmanager
        def tx(doing: str) -> Any:
            op = PG_OPS.get(doing.split(" ", 1)[0])
            if op:
                at(f"{op}.before-tx")
            with plain(doing) as conn:
                yield conn
                if op:
                    at(f"{op}.in-tx")
            if op:
                at(f"{op}.committed")

        store.tx = tx  # type: ignore[method-assign]
        return store

    def operator_store(self) -> Any:
        """The supervisor's PgStore, with a lock timeout: a holder stopped inside a transaction
        holds its row lock, and the operator must not wait for it forever (its reclaim is then
        refused and the stalled worker resumed)."""
        from conductor_tui.pg.store import PgStore

        sep = "&" if "?" in self.url else "?"
        opts = urllib.parse.quote(f"-c lock_timeout={OPERATOR_LOCK_TIMEOUT_MS}")
        return PgStore(f"{self.url}{sep}options={opts}")

    def before_fork(self, store: Any) -> None:
        """Close the supervisor's connection: a forked child must never share its socket."""
        store.close()

    def check_fresh(self, store: Any, project: str) -> None:
        """Refuse a schema that holds other sprints: the run would mix its records with
        theirs (and ring a team's app); a stress run gets a schema of its own."""
        row = store.conn.execute(
            "SELECT count(*) FROM sprints WHERE project <> %s", (os.path.abspath(project),)
        ).fetchone()
        if row and row[0]:
            raise SystemExit(
                f"{self.parsed.shown}: schema {self.parsed.schema!r} already holds {row[0]} "
                "sprints of other projects; give the stress run a fresh ?schema=NAME"
            )

    def _conn(self) -> Any:
        if self._reader is None:
            from conductor_tui.pg.store import PgStore

            self._reader = PgStore(self.url)
        return self._reader.conn

    def done(self, sprint: Any, phase: str) -> bool:
        """Whether a phase is done (one indexed read)."""
        row = sprint.store.conn.execute(
            "SELECT state = 'done' FROM phases WHERE sprint_id = %s AND name = %s",
            (sprint.sprint_id, phase),
        ).fetchone()
        return bool(row and row[0])

    def locked(self, sprint: Any, phases: list[str]) -> list[str]:
        """The phases held now."""
        held = set(sprint.locked_phases())
        return [p for p in phases if p in held]

    def scan(self, sprint_ids: list[str]) -> Disk:
        """The database's truth about the run's sprints: each phase's live token, done records,
        every ended claim (the claims table: the file store's history) and the events table
        (the audit log, in commit order of each phase's transitions)."""
        disk = Disk()
        conn = self._conn()
        for sid, name, token in conn.execute(
            "SELECT sprint_id, name, token FROM phases WHERE sprint_id = ANY (%s)", (sprint_ids,)
        ).fetchall():
            disk.phases[(sid, name)] = PhaseDisk(
                lock_tokens=[token] if token else [], lock_exists=token is not None
            )
        for sid, phase, agent, token, epoch in conn.execute(
            "SELECT sprint_id, phase, agent, token, epoch FROM done WHERE sprint_id = ANY (%s)",
            (sprint_ids,),
        ).fetchall():
            pd = disk.phases.setdefault((sid, phase), PhaseDisk())
            pd.done = {"agent": agent, "token": token, "epoch": epoch}
        for sid, phase, token, how, nonce, by, reason in conn.execute(
            "SELECT sprint_id, phase, token, how, nonce, by_agent, reason FROM claims "
            "WHERE sprint_id = ANY (%s) ORDER BY ended_at, token",
            (sprint_ids,),
        ).fetchall():
            pd = disk.phases.setdefault((sid, phase), PhaseDisk())
            pd.history.append(HistEntry(token, how, nonce, by, reason))
        for eid, event, resource, detail, sprint, agent, token, epoch in conn.execute(
            "SELECT id, event, resource, detail, sprint, agent, token, epoch FROM events "
            "WHERE sprint = ANY (%s) ORDER BY id",
            (sprint_ids,),
        ).fetchall():
            disk.audit.append(
                {
                    "id": eid,
                    "event": event,
                    "resource": resource,
                    "detail": detail,
                    "sprint": sprint,
                    "agent": agent,
                    "token": token,
                    "epoch": epoch,
                }
            )
        disk.ordered_audit = True
        return disk

    def close(self) -> None:
        """Close the checker's connection."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None


Backend = FileBackend | PgBackend


def backend_of(cfg: Config, run_dir: str) -> Backend:
    """The backend a run's config names."""
    return PgBackend(cfg, run_dir) if cfg.store else FileBackend(cfg, run_dir)


# ---------------------------------------------------------------------- workers


def _phase_names(n: int) -> list[str]:
    width = len(str(max(n - 1, 0)))
    return [f"p{i:0{width}d}" for i in range(n)]


class Worker:
    """One worker process: its attempts, its log, its slot in the shared state."""

    def __init__(
        self,
        cfg: Config,
        run_dir: str,
        slot: int,
        gen: int,
        inst: str,
        budget: int,
        crash_at: str | None,
        shared: Any,
    ) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self.backend = backend_of(cfg, run_dir)
        self.pause_points = self.backend.pause_points
        self.pause_codes = {name: i + 1 for i, name in enumerate(self.pause_points)}
        self.slot = slot
        self.gen = gen
        self.budget = budget
        self.shared = shared
        self.pid = os.getpid()
        info = proc_info(self.pid)
        self.start = info.start if info else None
        self.agent = f"w{slot}g{gen}-{self.pid}"
        self.rng = random.Random(f"{cfg.seed}:{slot}:{gen}")
        self.phases = _phase_names(cfg.phases)
        self.log = JsonlLog(os.path.join(run_dir, "logs", f"{inst}.jsonl"))
        if crash_at:
            os.environ["CONDUCTOR_CRASH_AT"] = crash_at
        else:
            os.environ.pop("CONDUCTOR_CRASH_AT", None)
        if cfg.broken:
            BROKEN[cfg.broken]()
        self.store = self.backend.worker_store(self._maybe_pause)
        self.sprints: dict[str, Sprint] = {}
        self.round = -1
        self.sprint: Sprint | None = None
        self.token: str | None = None
        self.log.write(
            op="start",
            t=mono(),
            pid=self.pid,
            agent=self.agent,
            slot=slot,
            gen=gen,
            budget=budget,
            crash_at=crash_at,
            broken=cfg.broken,
        )

    # shared state
    def _set(self, state: int, phase: str | None = None) -> None:
        base = self.slot * NSTATE
        if phase is not None:
            self.shared[base + ST_PHASE] = self.phases.index(phase)
            self.shared[base + ST_ROUND] = self.round
        self.shared[base + ST_STATE] = state

    def _maybe_pause(self, point: str) -> None:
        weight = self.pause_points.get(point)
        if not weight or self.rng.random() >= self.cfg.pause_prob * weight:
            return
        base = self.slot * NSTATE
        self.shared[base + ST_POINT] = self.pause_codes[point]
        self.log.write(op="pause", t=mono(), point=point, tok=self.token)
        self.shared[base + ST_STATE] = PAUSED
        os.kill(self.pid, signal.SIGSTOP)  # the supervisor sends SIGCONT
        self.log.write(op="resume", t=mono(), point=point, tok=self.token)

    def _current(self) -> tuple[int, Sprint]:
        with open(os.path.join(self.run_dir, "current.json"), encoding="utf-8") as fh:
            cur = json.load(fh)
        sid = cur["sprint_id"]
        if sid not in self.sprints:
            self.sprints[sid] = self.store.open_sprint(sid)
        return cur["round"], self.sprints[sid]

    def run(self) -> None:
        """Make the attempts, then exit."""
        for _ in range(self.budget):
            self.round, self.sprint = self._current()
            if self.rng.random() < self.cfg.reclaim_rate:
                self._reclaim(self._reclaim_target(), attempt=True)
            else:
                self._claim_cycle(self._claim_target())
        self._set(IDLE)
        self.log.write(op="finish", t=mono())
        self.log.close()

    def _claim_target(self) -> str:
        """A random phase; one that is done is picked again once (so a few claims still meet
        a done phase, most meet a live one)."""
        assert self.sprint is not None
        phase = self.rng.choice(self.phases)
        if self.backend.done(self.sprint, phase):
            phase = self.rng.choice(self.phases)
        return phase

    def _reclaim_target(self) -> str:
        if self.rng.random() < 0.5:
            return self.rng.choice(self.phases)
        assert self.sprint is not None
        locked = self.backend.locked(self.sprint, self.phases)
        return self.rng.choice(locked or self.phases)

    def _claim_cycle(self, phase: str) -> None:
        sprint = self.sprint
        assert sprint is not None
        sp = sprint.sprint_id
        self._set(IN_CALL, phase)
        t0 = mono()
        n = self.log.write(op="claim", res="try", a=1, sp=sp, ph=phase, t=t0)
        try:
            owner = sprint.claim(
                phase,
                agent=self.agent,
                ttl=self.cfg.ttl,
                holder_pid=self.pid,
                holder_start=self.start,
            )
        except Exception as exc:
            t1 = mono()
            self._set(IDLE)
            err = _err_fields(exc)
            self.log.write(op="claim", res="err", n=n, sp=sp, ph=phase, t0=t0, t=t1, **err)
            if err["kind"] == "held" and "(stale)" in err["msg"] and self.rng.random() < 0.9:
                self._reclaim(phase, attempt=False)
            elif err["kind"] in ("held", "done"):
                time.sleep(self.rng.uniform(0.0, self.cfg.hold_max / 2))  # back off, as agents do
            return
        t1 = mono()
        self._set(HOLDING, phase)
        tok = self.token = owner.token
        self.log.write(
            op="claim",
            res="ok",
            n=n,
            sp=sp,
            ph=phase,
            tok=tok,
            ep=owner.epoch,
            claim_before=t0,
            acquired_after=t1,
            t0=t0,
            t=t1,
        )
        try:
            for _ in range(self.rng.randint(1, 4)):
                time.sleep(self.rng.uniform(0.0, self.cfg.hold_max / 2))
                if self.rng.random() < self.cfg.hb_prob and not self._heartbeat(sprint, phase, tok):
                    return  # fenced: the claim was ended by someone else
            self._end(sprint, phase, tok)
        finally:
            self.token = None
            self._set(IDLE)

    def _heartbeat(self, sprint: Sprint, phase: str, tok: str) -> bool:
        sp = sprint.sprint_id
        self._set(IN_CALL)
        t0 = mono()
        n = self.log.write(op="heartbeat", res="try", sp=sp, ph=phase, tok=tok, t=t0)
        try:
            sprint.heartbeat(phase, agent=self.agent, token=tok)
        except Exception as exc:
            err = _err_fields(exc)
            self.log.write(
                op="heartbeat", res="err", n=n, sp=sp, ph=phase, tok=tok, t0=t0, t=mono(), **err
            )
            return err["kind"] != "fenced"
        finally:
            self._set(HOLDING)
        self.log.write(op="heartbeat", res="ok", n=n, sp=sp, ph=phase, tok=tok, t0=t0, t=mono())
        return True

    def _end(self, sprint: Sprint, phase: str, tok: str) -> None:
        sp = sprint.sprint_id
        op = "complete" if self.rng.random() < self.cfg.done_prob else "abort"
        artifact = None
        if op == "complete":
            artifact = os.path.join(self.backend.artifacts, f"{tok}.json")
            with open(artifact, "w", encoding="utf-8") as fh:
                json.dump({"phase": phase, "token": tok, "by": self.agent}, fh)
        self._set(IN_CALL)
        t0 = mono()
        n = self.log.write(op=op, res="try", sp=sp, ph=phase, tok=tok, t=t0)
        try:
            if op == "complete":
                sprint.complete(phase, agent=self.agent, token=tok, artifact=artifact)
            else:
                sprint.abort(phase, agent=self.agent, token=tok)
        except Exception as exc:
            self.log.write(
                op=op, res="err", n=n, sp=sp, ph=phase, tok=tok, t0=t0, t=mono(), **_err_fields(exc)
            )
            return
        t1 = mono()
        self.log.write(
            op=op,
            res="ok",
            n=n,
            sp=sp,
            ph=phase,
            tok=tok,
            ended_before=t0,
            ended_after=t1,
            t0=t0,
            t=t1,
        )

    def _reclaim(self, phase: str, *, attempt: bool) -> None:
        assert self.sprint is not None
        reclaim(
            self.sprint,
            phase,
            self.agent,
            self.log,
            force=False,
            attempt=attempt,
            before=lambda: self._set(IN_CALL, phase),
            after=lambda: self._set(IDLE),
        )


def reclaim(
    sprint: Sprint,
    phase: str,
    agent: str,
    log: JsonlLog,
    *,
    force: bool,
    attempt: bool = False,
    before: Callable[[], None] | None = None,
    after: Callable[[], None] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One logged reclaim; returns its result record."""
    sp = sprint.sprint_id
    if before:
        before()
    t0 = mono()
    n = log.write(
        op="reclaim",
        res="try",
        a=int(attempt),
        sp=sp,
        ph=phase,
        force=force,
        agent=agent,
        t=t0,
        **extra,
    )
    try:
        lv = sprint.reclaim(phase, agent=agent, force=force)
    except Exception as exc:
        rec = {
            "op": "reclaim",
            "res": "err",
            "n": n,
            "sp": sp,
            "ph": phase,
            "force": force,
            "agent": agent,
            "t0": t0,
            "t": mono(),
            **_err_fields(exc),
            **extra,
        }
        log.write(**rec)
        return rec
    finally:
        if after:
            after()
    t1 = mono()
    rec = {
        "op": "reclaim",
        "res": "ok",
        "n": n,
        "sp": sp,
        "ph": phase,
        "force": force,
        "agent": agent,
        "tok": lv.token,
        "ep": lv.epoch,
        "verdict": lv.verdict,
        "evidence": list(lv.evidence),
        "holder_pid": lv.holder_pid,
        "finished_release": bool(lv.evidence and lv.evidence[0] == FINISHED_RELEASE),
        "ended_before": t0,
        "ended_after": t1,
        "t0": t0,
        "t": t1,
        **extra,
    }
    log.write(**rec)
    return rec


def _worker_entry(
    cfg: Config,
    run_dir: str,
    slot: int,
    gen: int,
    inst: str,
    budget: int,
    crash_at: str | None,
    shared: Any,
) -> None:
    try:
        Worker(cfg, run_dir, slot, gen, inst, budget, crash_at, shared).run()
    except Exception:
        with open(os.path.join(run_dir, "logs", f"{inst}.crash.txt"), "w") as fh:
            fh.write(traceback.format_exc())
        os._exit(1)


# ---------------------------------------------------------------------- supervisor


@dataclass
class Slot:
    """A worker slot: its budget of attempts and the process filling it now."""

    index: int
    budget: int
    gen: int = -1
    proc: Any = None
    inst: str = ""
    finished: bool = False


@dataclass
class Stall:
    """A stopped worker that the supervisor will resume."""

    slot: int
    pid: int
    kind: str  # "sigstop" or the pause point
    t_stop: float
    phase: str
    round: int
    stage: str = "confirm"  # confirm -> lease -> claimed -> (cont)
    deadline: float = 0.0
    resume_at: float = 0.0


class Supervisor:
    """Starts sprints and workers, fires the faults, reaps and respawns, then sweeps."""

    def __init__(self, cfg: Config, run_dir: str, *, quiet: bool = True) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self.quiet = quiet
        self.backend = backend_of(cfg, run_dir)
        self.project = os.path.join(run_dir, "project")
        for d in (
            self.project,
            os.path.join(run_dir, "logs"),
            self.backend.artifacts,
        ):
            os.makedirs(d, exist_ok=True)
        # the real store: the operator and the sweeper use it
        self.store: Any = self.backend.operator_store()
        if isinstance(self.backend, PgBackend):
            self.backend.check_fresh(self.store, self.project)
        self.log = JsonlLog(os.path.join(run_dir, "logs", "supervisor.jsonl"))
        self.rng = random.Random(f"{cfg.seed}:supervisor")
        self.phases = _phase_names(cfg.phases)
        self.shared = CTX.Array("i", cfg.workers * NSTATE, lock=False)
        self.slots = [Slot(i, cfg.attempts) for i in range(cfg.workers)]
        self.sprints: list[Sprint] = []
        self.stalls: dict[int, Stall] = {}
        self.spawned = 0
        points = list(self.backend.crash_points)
        self.rng.shuffle(points)
        self.crash_cycle = points
        self.timed_out = False

    def say(self, text: str) -> None:
        """Progress on stderr unless quiet."""
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    # ---- sprints

    def new_sprint(self) -> None:
        """Start the next round's sprint and point the workers at it."""
        graph = [{"name": p, "depends_on": []} for p in self.phases]
        sprint = self.store.start(self.project, agent="supervisor", phases=graph, force=True)
        self.sprints.append(sprint)
        rnd = len(self.sprints) - 1
        _write_atomic(
            os.path.join(self.run_dir, "current.json"),
            {"round": rnd, "sprint_id": sprint.sprint_id},
        )
        self.log.write(op="sprint", round=rnd, sprint_id=sprint.sprint_id, t=mono())

    def mostly_done(self) -> bool:
        """Whether half the phases of the current sprint are done (time for a fresh one)."""
        sprint = self.sprints[-1]
        done = sum(self.backend.done(sprint, p) for p in self.phases)
        return done >= max(1, (len(self.phases) + 1) // 2)

    # ---- workers

    def spawn(self, slot: Slot) -> None:
        """Fork a worker into the slot, with what is left of the slot's attempts."""
        slot.gen += 1
        crash_at = None
        armed = self.cfg.crash_rate > 0 and (
            self.rng.random() < self.cfg.crash_rate
            or (slot.gen == 0 and slot.index == self.cfg.workers - 1)
        )
        if armed and slot.gen == 0 and slot.index == self.cfg.workers - 1:
            crash_at = self.backend.first_crash  # reached at once: every run has a crash death
        elif armed:
            crash_at = self.crash_cycle[self.spawned % len(self.crash_cycle)]
        self.spawned += 1
        base = slot.index * NSTATE
        for k in range(NSTATE):
            self.shared[base + k] = 0
        slot.inst = f"w{slot.index:02d}-g{slot.gen:03d}"
        self.backend.before_fork(self.store)
        slot.proc = CTX.Process(
            target=_worker_entry,
            args=(
                self.cfg,
                self.run_dir,
                slot.index,
                slot.gen,
                slot.inst,
                slot.budget,
                crash_at,
                self.shared,
            ),
        )
        slot.proc.start()
        self.log.write(
            op="spawn",
            slot=slot.index,
            gen=slot.gen,
            inst=slot.inst,
            pid=slot.proc.pid,
            budget=slot.budget,
            crash_at=crash_at,
            t=mono(),
        )

    def reap(self) -> None:
        """Record every worker that exited; respawn it while its slot has attempts left."""
        for slot in self.slots:
            proc = slot.proc
            if slot.finished or proc is None or proc.is_alive():
                continue
            code = proc.exitcode
            proc.join()
            self.log.write(
                op="exit", slot=slot.index, inst=slot.inst, pid=proc.pid, code=code, t=mono()
            )
            self.stalls.pop(slot.index, None)
            used = _count_attempts(os.path.join(self.run_dir, "logs", f"{slot.inst}.jsonl"))
            slot.budget = max(0, slot.budget - used)
            slot.proc = None
            if code == 0 or slot.budget == 0:
                slot.finished = True
            else:
                self.spawn(slot)

    def live(self) -> list[Slot]:
        """Slots whose worker is running (not stalled)."""
        return [
            s
            for s in self.slots
            if s.proc is not None and s.proc.is_alive() and s.index not in self.stalls
        ]

    def state(self, slot: Slot, field_: int = ST_STATE) -> int:
        """One int of a slot's shared state."""
        return self.shared[slot.index * NSTATE + field_]

    # ---- faults

    def kill(self, why: str) -> bool:
        """SIGKILL a holder, or a random worker (preferably inside a store call)."""
        live = self.live()
        if why == "holder":
            cands = [s for s in live if self.state(s) == HOLDING]
        else:
            busy = [s for s in live if self.state(s) == IN_CALL]
            cands = busy if busy and self.rng.random() < 0.7 else live
        if not cands:
            return False
        slot = self.rng.choice(cands)
        state = self.state(slot)
        slot.proc.kill()  # SIGKILL, our own child, by handle
        self.log.write(
            op="sigkill",
            why=why,
            slot=slot.index,
            inst=slot.inst,
            pid=slot.proc.pid,
            state=state,
            t=mono(),
        )
        return True

    def stop(self) -> bool:
        """SIGSTOP a holder; it is resumed once its lease has run out (see tend_stalls)."""
        cands = [s for s in self.live() if self.state(s) == HOLDING]
        if not cands:
            return False
        slot = self.rng.choice(cands)
        pid = slot.proc.pid
        os.kill(pid, signal.SIGSTOP)
        now = mono()
        self.stalls[slot.index] = Stall(
            slot.index,
            pid,
            "sigstop",
            now,
            self.phases[self.state(slot, ST_PHASE)],
            self.state(slot, ST_ROUND),
        )
        self.log.write(op="sigstop", slot=slot.index, inst=slot.inst, pid=pid, t=now)
        return True

    def notice_pauses(self) -> None:
        """Register workers that stopped themselves at a pause point."""
        for slot in self.slots:
            if slot.proc is None or slot.index in self.stalls or self.state(slot) != PAUSED:
                continue
            point = list(self.backend.pause_points)[self.state(slot, ST_POINT) - 1]
            st = Stall(
                slot.index,
                slot.proc.pid,
                point,
                mono(),
                self.phases[self.state(slot, ST_PHASE)],
                self.state(slot, ST_ROUND),
            )
            if point.startswith("claim."):  # nothing held yet: a short sleep
                st.stage, st.resume_at = "sleep", st.t_stop + self.rng.uniform(0.02, 0.3)
            self.stalls[slot.index] = st
            self.log.write(
                op="paused", slot=slot.index, inst=slot.inst, pid=st.pid, point=point, t=st.t_stop
            )

    def tend_stalls(self) -> None:
        """Move every stall along: wait for the lease, force-reclaim, wait for a new claim, CONT."""
        now = mono()
        for idx, st in list(self.stalls.items()):
            slot = self.slots[idx]
            info = proc_info(st.pid)
            if info is None or slot.proc is None:
                self.stalls.pop(idx)
                continue
            if info.state not in ("T", "t"):
                if now - st.t_stop > 5.0:  # never stopped (it exited?): let it go
                    self.resume(st, "not stopped")
                continue  # the stop is not effective yet
            if st.stage == "sleep":
                if now >= st.resume_at:
                    self.resume(st, "slept")
                continue
            if st.stage == "confirm":
                st.stage, st.deadline = "lease", st.t_stop + self.cfg.ttl + 3.0
            sprint = self.sprints[st.round]
            if st.stage == "lease" and now >= st.t_stop + self.cfg.ttl:
                pv = sprint.phase_view(st.phase)
                lock = pv.lock
                if lock is None or lock.holder_pid != st.pid:
                    self.resume(st, "not holding")
                elif lock.verdict == "suspect":
                    if self.rng.random() < self.cfg.force_prob:
                        rec = reclaim(
                            sprint,
                            st.phase,
                            "operator",
                            self.log,
                            force=True,
                            judged_tok=lock.token,
                            stalled_pid=st.pid,
                        )
                        st.stage, st.deadline = "claimed", now + 0.4
                        if rec["res"] != "ok":
                            self.resume(st, "reclaim refused")
                    else:
                        self.resume(st, "left suspect")
                elif now > st.deadline:
                    self.resume(st, f"still {lock.verdict}")
            elif st.stage == "claimed":
                lock = sprint.phase_view(st.phase).lock
                if (lock is not None and lock.holder_pid != st.pid) or now > st.deadline:
                    self.resume(st, "claimed by another" if lock else "nobody claimed it")

    def resume(self, st: Stall, why: str) -> None:
        """SIGCONT a stalled worker."""
        base = st.slot * NSTATE  # the worker is stopped: nobody else writes its state now
        if st.kind != "sigstop" or self.shared[base + ST_STATE] == PAUSED:
            self.shared[base + ST_STATE] = IN_CALL
        self.stalls.pop(st.slot, None)
        with contextlib.suppress(ProcessLookupError):
            os.kill(st.pid, signal.SIGCONT)
        self.log.write(op="sigcont", slot=st.slot, pid=st.pid, kind=st.kind, why=why, t=mono())

    # ---- the run

    def run(self) -> None:
        """The whole workload; returns when every slot has used its attempts."""
        cfg = self.cfg
        self.new_sprint()
        t_start = mono()
        for slot in self.slots:
            self.spawn(slot)
        rate_k = cfg.kill_rate
        next_kill = t_start + 0.15 if rate_k > 0 else math.inf
        next_stall = t_start + 0.25 if cfg.stall_rate > 0 else math.inf
        kill_kinds = ["holder", "random"]
        first_holder_kill = True
        last_done_check = 0.0
        last_say = t_start
        while not all(s.finished for s in self.slots):
            now = mono()
            if now - t_start > cfg.max_seconds:
                self.timed_out = True
                break
            self.reap()
            self.notice_pauses()
            self.tend_stalls()
            if now - last_done_check > 0.02:
                last_done_check = now
                if self.mostly_done():
                    self.new_sprint()
            if now >= next_kill:
                why = "holder" if first_holder_kill else self.rng.choice(kill_kinds)
                if self.kill(why):
                    first_holder_kill = first_holder_kill and why != "holder"
                    next_kill = now + self.rng.expovariate(rate_k)
            if now >= next_stall and self.stop():
                next_stall = now + self.rng.expovariate(cfg.stall_rate)
            if not self.quiet and now - last_say > 5:
                last_say = now
                left = sum(s.budget for s in self.slots if not s.finished)
                self.say(
                    f"  {now - t_start:5.1f} s: sprint {len(self.sprints)}, "
                    f"{self.spawned} processes, ~{left} attempts left in respawnable budgets"
                )
            time.sleep(0.004)
        if self.timed_out:
            for st in list(self.stalls.values()):
                self.resume(st, "timeout")
            for slot in self.slots:
                if slot.proc is not None and slot.proc.is_alive():
                    slot.proc.kill()
                    slot.proc.join()
                    self.log.write(
                        op="exit",
                        slot=slot.index,
                        inst=slot.inst,
                        pid=slot.proc.pid,
                        code=slot.proc.exitcode,
                        t=mono(),
                        timeout=True,
                    )
        self.log.write(
            op="workload-end", t=mono(), seconds=mono() - t_start, timed_out=self.timed_out
        )
        self.sweep()

    def sweep(self) -> None:
        """Every worker has exited: reclaim every leftover claim, then run doctor."""
        for sprint in self.sprints:
            for phase in self.backend.locked(sprint, self.phases):
                rec = reclaim(sprint, phase, "sweeper", self.log, force=False)
                if rec["res"] == "err" and rec["kind"] not in ("refused",):
                    # malformed (only the negative control makes one): clear it with force
                    reclaim(sprint, phase, "sweeper", self.log, force=True)
        findings = []
        for sprint in self.sprints:
            for f in sprint.doctor(fix=True, grace_s=0.0):
                findings.append({"sprint": sprint.sprint_id, **f.as_json()})
        self.log.write(op="doctor", t=mono(), findings=findings)
        self.log.close()
        self.backend.before_fork(self.store)  # done with the store: let its connection go


def _count_attempts(path: str) -> int:
    n = 0
    with contextlib.suppress(OSError), open(path, encoding="utf-8") as fh:
        for line in fh:
            if '"a":1' in line and '"res":"try"' in line:
                n += 1
    return n


# ---------------------------------------------------------------------- the store on disk


@dataclass
class HistEntry:
    """One history/<token>@<how>-<nonce> entry and its end.json (None when it was lost)."""

    token: str
    how: str
    nonce: str
    by: str | None = None
    reason: str | None = None


@dataclass
class PhaseDisk:
    """What the disk says of one phase of one sprint after the run."""

    history: list[HistEntry] = field(default_factory=list)
    done: dict[str, Any] | None = None
    lock_tokens: list[str] = field(default_factory=list)
    lock_exists: bool = False


@dataclass
class Disk:
    """The store after the run: phases by (sprint id, phase), and the audit log."""

    phases: dict[tuple[str, str], PhaseDisk] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)
    audit_bad: int = 0
    # the audit is in commit order for each phase (PostgreSQL: an event is inserted under its
    # phase's row lock); the file store's audit.log is appended after the transition, unordered
    ordered_audit: bool = False


def scan_store(root: str) -> Disk:
    """Read every sprint's history, done records and locks, and the audit log."""
    disk = Disk()
    cdir = os.path.join(root, "conductor")
    for sid in sorted(os.listdir(cdir)) if os.path.isdir(cdir) else []:
        spath = os.path.join(cdir, sid)
        if sid.startswith(".") or not os.path.isdir(spath):
            continue
        for phase in sorted(os.listdir(spath)):
            pdir = os.path.join(spath, phase)
            if not os.path.isdir(pdir):
                continue
            pd = PhaseDisk()
            hdir = os.path.join(pdir, "history")
            for name in sorted(os.listdir(hdir)) if os.path.isdir(hdir) else []:
                parsed = parse_history(name)
                if parsed is None:
                    continue
                token, how, nonce = parsed
                entry = HistEntry(token, how, nonce)
                with contextlib.suppress(OSError, ValueError):
                    with open(os.path.join(hdir, name, "end.json"), encoding="utf-8") as fh:
                        end = json.load(fh)
                    entry.by, entry.reason = end.get("by"), end.get("reason")
                pd.history.append(entry)
            with contextlib.suppress(OSError, ValueError), open(os.path.join(pdir, "done")) as fh:
                pd.done = json.load(fh)
            lock = os.path.join(pdir, "lock")
            pd.lock_exists = os.path.lexists(lock)
            if os.path.isdir(lock):
                pd.lock_tokens = sorted(e for e in os.listdir(lock) if TOKEN_IN_TEXT.fullmatch(e))
            disk.phases[(sid, phase)] = pd
    with contextlib.suppress(OSError), open(os.path.join(root, "audit.log"), "rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue  # JSON Lines: a blank line is not a record (concurrent appends add some)
            try:
                disk.audit.append(json.loads(raw))
            except ValueError:
                disk.audit_bad += 1
    return disk


# ---------------------------------------------------------------------- the checker


@dataclass
class Violation:
    """One broken invariant, with the records that show it."""

    check: str
    where: str
    message: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class Interval:
    """A hold interval: [acquired_after, bound of the ending] of one token."""

    sp: str
    ph: str
    tok: str
    ep: int
    start: float
    end: float
    holder: str
    how: str
    src: str
    end_src: str


@dataclass
class CheckResult:
    """Figures and violations of one run."""

    figures: dict[str, Any]
    violations: list[Violation]
    faults_missing: list[str]
    problems: list[str]  # harness problems (a worker raised something unexpected, a timeout)

    @property
    def ok(self) -> bool:
        """Zero violations, every fault fired, no harness problem."""
        return not self.violations and not self.faults_missing and not self.problems


def load_logs(log_dir: str) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Every *.jsonl of a run's logs/ by instance name, each record tagged with file:line."""
    logs: dict[str, list[dict[str, Any]]] = {}
    bad = 0
    for name in sorted(os.listdir(log_dir)):
        if not name.endswith(".jsonl"):
            continue
        inst = name[: -len(".jsonl")]
        recs = []
        with open(os.path.join(log_dir, name), encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                try:
                    rec = json.loads(line)
                except ValueError:
                    if not line.endswith("\n"):
                        continue  # the torn last line of a worker killed mid-write: expected
                    bad += 1
                    continue
                rec["_src"] = f"{name}:{lineno}"
                rec["_inst"] = inst
                recs.append(rec)
        logs[inst] = recs
    return logs, bad


def _show(rec: dict[str, Any]) -> str:
    keep = {k: v for k, v in rec.items() if not k.startswith("_") and k not in ("msg", "n")}
    msg = rec.get("msg")
    text = json.dumps(keep, separators=(",", ":"))
    if msg:
        text += f" msg={msg.splitlines()[0][:140]!r}"
    return f"{rec.get('_src', '?')} {text}"


def _times(rec: dict[str, Any]) -> Iterable[float]:
    for key in ("t", "t0", "acquired_after", "ended_after"):
        v = rec.get(key)
        if isinstance(v, (int, float)):
            yield float(v)


def check_run(
    logs: dict[str, list[dict[str, Any]]], disk: Disk, *, disk_checks: bool = True
) -> CheckResult:
    """Check the invariants on a run's logs (by instance) and the store's final state."""
    vio: list[Violation] = []

    def add(check: str, where: str, message: str, evidence: Iterable[str] = ()) -> None:
        vio.append(Violation(check, where, message, list(evidence)))

    problems: list[str] = []
    sup = logs.get("supervisor", [])
    exits = {r["inst"]: r for r in sup if r.get("op") == "exit"}

    # ---- pair every try with its result; what each instance left pending when it died
    claims: list[dict[str, Any]] = []
    ends_ok: dict[str, list[dict[str, Any]]] = defaultdict(list)
    reclaims_ok: list[dict[str, Any]] = []
    fenced: list[dict[str, Any]] = []
    hb_ok: list[dict[str, Any]] = []
    holder_end_err: dict[str, dict[str, Any]] = {}
    pending: dict[str, dict[str, Any]] = {}  # inst -> its last try without a result
    alive_until: dict[str, float] = {}
    agent_of: dict[str, str] = {}
    death: dict[str, str] = {}
    c: Counter[str] = Counter()
    for inst, recs in logs.items():
        open_try: dict[int, dict[str, Any]] = {}
        holding: str | None = None
        last_t = -math.inf
        for r in recs:
            for t in _times(r):
                last_t = max(last_t, t)
            op, res = r.get("op"), r.get("res")
            if op == "start":
                agent_of[inst] = r.get("agent", inst)
                c["processes"] += 1
                continue
            if op == "pause":
                c[f"pauses at {r.get('point')}"] += 1
                continue
            if res == "try":
                open_try[r["n"]] = r
                if r.get("a") == 1:
                    c["attempts"] += 1
                continue
            if res not in ("ok", "err"):
                continue
            open_try.pop(r["n"], None)
            who = r.get("agent") or agent_of.get(inst, inst)
            if res == "err":
                kind = r.get("kind", "")
                c[f"{op} refused: {kind}"] += 1
                if kind == "exception":
                    problems.append(f"unexpected exception in {op}: {_show(r)}")
                if kind in ("store", "unreachable", "schema"):
                    if inst == "supervisor" and "lock timeout" in r.get("msg", ""):
                        c["operator reclaims that timed out behind a stopped worker's lock"] += 1
                    else:
                        problems.append(f"the database failed a {op}: {_show(r)}")
                if kind == "fenced":
                    c["fenced refusals"] += 1
                    fenced.append(r)
                if op in ("complete", "abort") and kind != "fenced":
                    holder_end_err[r["tok"]] = r
                if (
                    op in ("complete", "abort", "heartbeat")
                    and r.get("tok") == holding
                    and (kind == "fenced" or op != "heartbeat")
                ):
                    holding = None
                continue
            if op == "claim":
                c["claims"] += 1
                claims.append(r)
                holding = r["tok"]
            elif op in ("complete", "abort"):
                c[f"{op}s"] += 1
                ends_ok[r["tok"]].append(r)
                holding = None
            elif op == "heartbeat":
                c["heartbeats"] += 1
                hb_ok.append(r)
            elif op == "reclaim":
                if r.get("finished_release"):
                    c["reclaims that finished an interrupted release"] += 1
                    continue
                if inst == "supervisor":
                    c[f"reclaims by the {who}" + (" (forced)" if r.get("force") else "")] += 1
                else:
                    c["reclaims by workers"] += 1
                reclaims_ok.append(r)
                if r.get("tok"):
                    ends_ok[r["tok"]].append(r)
        alive_until[inst] = last_t
        if inst == "supervisor":
            continue
        ex = exits.get(inst)
        finished = any(r.get("op") == "finish" for r in recs)
        if finished:
            continue
        code = ex.get("code") if ex else None
        if open_try:
            last = max(open_try.values(), key=lambda r: r["n"])
            pending[inst] = last
            death[inst] = f"inside {last['op']}"
        elif holding:
            death[inst] = "holding"
        else:
            death[inst] = "idle"
        cause = "crash point" if code == CRASH_EXIT else ("SIGKILL" if code == -9 else code)
        c[f"deaths: {cause}, {death[inst]}"] += 1

    # ---- where each token ended, and a safe bound on when
    hist_by_tok: dict[str, list[tuple[str, str, HistEntry]]] = defaultdict(list)
    for (sp, ph), pd in disk.phases.items():
        for e in pd.history:
            hist_by_tok[e.token].append((sp, ph, e))
    live_tokens = {t: key for key, pd in disk.phases.items() for t in pd.lock_tokens}
    claimed = {r["tok"]: r for r in claims}
    how_of = {"complete": "done", "abort": "aborted", "reclaim": "reclaimed"}

    def ender_bound(tok: str, sp: str, ph: str, entry: HistEntry) -> dict[str, Any] | None:
        """The pending call (of a process that died in it) that made this ending."""
        holder = claimed.get(tok, {}).get("_inst")
        cands = []
        for inst, p in pending.items():
            if entry.how in ("done", "aborted"):
                if inst == holder and p["op"] in ("complete", "abort") and p.get("tok") == tok:
                    cands.append(p)
            elif (
                entry.how == "reclaimed"
                and p["op"] == "reclaim"
                and (p["sp"], p["ph"]) == (sp, ph)
                and (entry.by is None or entry.by == agent_of.get(inst))
            ):
                cands.append(p)
        return min(cands, key=lambda p: p["t"]) if cands else None

    intervals: list[Interval] = []
    unbounded = 0
    for r in claims:
        tok, sp, ph = r["tok"], r["sp"], r["ph"]
        where = f"{sp}/{ph}"
        start = r["acquired_after"]
        hist = hist_by_tok.get(tok, [])
        superseded = [e for _, _, e in hist if e.how == "superseded"]
        if superseded:
            add(
                "2 token ends once",
                where,
                f"claim {tok} was reported OK, then superseded",
                [_show(r), f"history {tok}@superseded-{superseded[0].nonce}"],
            )
        oks = ends_ok.get(tok, [])
        if oks:
            first = min(oks, key=lambda e: e["ended_before"])
            end, how, end_src = first["ended_before"], first["op"], _show(first)
        elif hist:
            sp_h, ph_h, entry = hist[0]
            p = ender_bound(tok, sp_h, ph_h, entry)
            if p is None:
                unbounded += 1
                continue
            end, how, end_src = p["t"], f"{entry.how} (ender died in the call)", _show(p)
        elif tok in live_tokens:
            end, how, end_src = math.inf, "still held at the end", "lock on disk"
        else:
            err = holder_end_err.get(tok)
            add(
                "2 token ends once",
                where,
                f"claim {tok} was reported OK but has no history entry and no lock: lost",
                [_show(r)] + ([_show(err)] if err else []),
            )
            if not disk_checks or err is None:
                continue
            end, how, end_src = err["t0"], "lost (holder's belief)", _show(err)
        if end < start:
            c["empty intervals (ended while the holder was not yet back)"] += 1
            continue
        intervals.append(
            Interval(sp, ph, tok, r["ep"], start, end, r["_inst"], how, _show(r), end_src)
        )
    c["hold intervals checked"] = len(intervals)
    c["claims with an unknown ender (not checked for overlap)"] += unbounded

    # ---- 1. no overlap; epochs grow with claim order
    by_phase: dict[tuple[str, str], list[Interval]] = defaultdict(list)
    for iv in intervals:
        by_phase[(iv.sp, iv.ph)].append(iv)
    for (sp, ph), ivs in by_phase.items():
        ivs.sort(key=lambda iv: iv.start)
        widest: Interval | None = None
        for iv in ivs:
            if widest is not None and iv.start < widest.end:
                add(
                    "1 no overlap",
                    f"{sp}/{ph}",
                    f"{iv.tok} (held by {iv.holder}) was acquired at {iv.start:.6f}, while "
                    f"{widest.tok} (held by {widest.holder}) was held until at least "
                    f"{widest.end:.6f} ({widest.how})",
                    [widest.src, widest.end_src, iv.src],
                )
            if widest is None or iv.end > widest.end:
                widest = iv
    claims_by_phase: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in claims:
        claims_by_phase[(r["sp"], r["ph"])].append(r)
    for (sp, ph), rs in claims_by_phase.items():
        seen: dict[int, dict[str, Any]] = {}
        for r in rs:
            if r["ep"] in seen:
                add(
                    "1 no overlap",
                    f"{sp}/{ph}",
                    f"two claims reported OK with epoch {r['ep']}",
                    [_show(seen[r["ep"]]), _show(r)],
                )
            seen[r["ep"]] = r
        by_acq = sorted(rs, key=lambda r: r["acquired_after"])
        by_before = sorted(rs, key=lambda r: r["claim_before"])
        i, best = 0, None
        for r in by_before:
            while i < len(by_acq) and by_acq[i]["acquired_after"] < r["claim_before"]:
                if best is None or by_acq[i]["ep"] > best["ep"]:
                    best = by_acq[i]
                i += 1
            if best is not None and best["ep"] >= r["ep"]:
                add(
                    "1 no overlap",
                    f"{sp}/{ph}",
                    f"epoch {r['ep']} claimed after epoch {best['ep']} had been acquired",
                    [_show(best), _show(r)],
                )
    if disk_checks:
        for (sp, ph), pd in disk.phases.items():
            if len(pd.lock_tokens) > 1:
                add(
                    "1 no overlap",
                    f"{sp}/{ph}",
                    f"{len(pd.lock_tokens)} tokens under one lock at the end",
                    list(pd.lock_tokens),
                )

    # ---- 2. a token ends at most once
    for tok, hist in hist_by_tok.items():
        if len(hist) > 1:
            sp, ph, _ = hist[0]
            add(
                "2 token ends once",
                f"{sp}/{ph}",
                f"{tok} has {len(hist)} history entries",
                [f"history {e.token}@{e.how}-{e.nonce} by {e.by}" for _, _, e in hist],
            )
    for tok, oks in ends_ok.items():
        r0 = oks[0]
        where = f"{r0['sp']}/{r0['ph']}"
        if len(oks) > 1:
            add(
                "2 token ends once",
                where,
                f"{len(oks)} callers were told OK for ending {tok}",
                [_show(r) for r in oks],
            )
        if disk_checks:
            hows = [e.how for _, _, e in hist_by_tok.get(tok, [])]
            for r in oks:
                if how_of[r["op"]] not in hows:
                    add(
                        "2 token ends once",
                        where,
                        f"{r['op']} of {tok} was told OK but history says {hows}",
                        [_show(r)],
                    )
    for r in fenced:
        tok = r.get("tok") or r.get("fenced_tok")
        if tok and disk_checks and tok not in hist_by_tok:
            add(
                "2 token ends once",
                f"{r['sp']}/{r['ph']}",
                f"{r['op']} was fenced but {tok} never ended",
                [_show(r)],
            )
    for r in hb_ok:
        for e in ends_ok.get(r["tok"], []):
            if e["_inst"] != r["_inst"] and r["t0"] > e["ended_after"]:
                add(
                    "2 token ends once",
                    f"{r['sp']}/{r['ph']}",
                    f"heartbeat of {r['tok']} accepted after its end returned",
                    [_show(e), _show(r)],
                )

    # ---- 3. done is terminal
    completes_by_phase: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for oks in ends_ok.values():
        for r in oks:
            if r["op"] == "complete":
                completes_by_phase[(r["sp"], r["ph"])].append(r)
    for key, rs in completes_by_phase.items():
        where = "/".join(key)
        if len(rs) > 1:
            add(
                "3 done is terminal",
                where,
                f"{len(rs)} completions reported OK",
                [_show(r) for r in rs],
            )
        for done in rs:
            d_ep = claimed.get(done["tok"], {}).get("ep")
            for r in claims_by_phase.get(key, []):
                late = r["claim_before"] > done["ended_after"]
                if r["tok"] != done["tok"] and (late or (d_ep is not None and r["ep"] > d_ep)):
                    why = "began after the completion returned" if late else "has a later epoch"
                    add(
                        "3 done is terminal",
                        where,
                        f"claim {r['tok']} reported OK after done: it {why}",
                        [_show(done), _show(r)],
                    )
    if disk_checks:
        for (sp, ph), pd in disk.phases.items():
            where = f"{sp}/{ph}"
            dones = [e for e in pd.history if e.how == "done"]
            if len(dones) > 1:
                add(
                    "3 done is terminal",
                    where,
                    f"{len(dones)} completions in the history",
                    [f"{e.token}@done-{e.nonce}" for e in dones],
                )
            if (
                pd.done is not None
                and dones
                and pd.done.get("token") not in {e.token for e in dones}
            ):
                add(
                    "3 done is terminal",
                    where,
                    "the done record is not the completed token's",
                    [json.dumps(pd.done), *(e.token for e in dones)],
                )
            if pd.done is not None and not dones:
                add(
                    "3 done is terminal",
                    where,
                    "a done record without a completion in the history",
                    [json.dumps(pd.done)],
                )
            if dones and pd.done is None:
                add(
                    "3 done is terminal",
                    where,
                    "a completion in the history but no done record",
                    [f"{dones[0].token}@done-{dones[0].nonce}"],
                )
            if pd.done is not None and pd.lock_tokens:
                add(
                    "3 done is terminal",
                    where,
                    "a live claim beside the done record",
                    pd.lock_tokens,
                )

    # ---- 2b. a write told "fenced" is never recorded
    fenced_completes = {r["tok"] for r in fenced if r["op"] == "complete" and r.get("tok")}
    if disk_checks:
        for (sp, ph), pd in disk.phases.items():
            if pd.done is not None and pd.done.get("token") in fenced_completes:
                add(
                    "2 token ends once",
                    f"{sp}/{ph}",
                    "a completion told fenced is the done record",
                    [json.dumps(pd.done)]
                    + [_show(r) for r in fenced if r.get("tok") == pd.done.get("token")],
                )
        for a in disk.audit:
            if a.get("event") == "sprint_complete" and a.get("token") in fenced_completes:
                add(
                    "2 token ends once",
                    f"{a.get('sprint')}/{a.get('resource')}",
                    f"a completion of {a.get('token')} told fenced is in the audit log",
                    [json.dumps(a)],
                )
    if disk_checks and disk.ordered_audit:
        # in commit order: nothing is written under a token after the event that ended it
        ended_by: dict[str, dict[str, Any]] = {}
        for a in disk.audit:
            tok, event = a.get("token"), a.get("event")
            if not tok:
                continue
            if tok in ended_by and event != "sprint_fenced":
                add(
                    "2 token ends once",
                    f"{a.get('sprint')}/{a.get('resource')}",
                    f"{event} of {tok} recorded after the token ended",
                    [json.dumps(ended_by[tok]), json.dumps(a)],
                )
            if event in ("sprint_complete", "sprint_abort", "sprint_unstuck"):
                ended_by.setdefault(tok, a)

    # ---- 4. reclaims had evidence, and never took a live holder's claim without force
    for r in reclaims_ok:
        where = f"{r['sp']}/{r['ph']}"
        evidence = r.get("evidence") or []
        if not evidence or not any(EVIDENCE_RE.search(x) for x in evidence):
            add("4 reclaim evidence", where, "a reclaim without evidence", [_show(r)])
        if not r.get("force"):
            if r.get("verdict") != "stale":
                add(
                    "4 reclaim evidence",
                    where,
                    f"reclaimed without force a {r.get('verdict')} claim",
                    [_show(r)],
                )
            holder = claimed.get(r.get("tok") or "", {}).get("_inst")
            if holder and alive_until.get(holder, -math.inf) > r["ended_after"]:
                later = next(
                    (x for x in logs[holder] if any(t > r["ended_after"] for t in _times(x))),
                    None,
                )
                add(
                    "4 reclaim evidence",
                    where,
                    f"reclaimed {r['tok']} without force while its holder "
                    f"{holder} was alive (it logged after the reclaim returned)",
                    [_show(r)] + ([_show(later)] if later else []),
                )
        else:
            c["forced reclaims of a suspect (stalled) holder"] += r.get("verdict") == "suspect"
    if disk_checks:
        told = {r["tok"] for r in reclaims_ok if r.get("tok")}
        for tok, hist in hist_by_tok.items():
            for sp, ph, e in hist:
                if e.how != "reclaimed":
                    continue
                if e.reason is None:
                    if tok in told:
                        add(
                            "4 reclaim evidence",
                            f"{sp}/{ph}",
                            f"{tok} was reclaimed (caller told OK) with no end record",
                            [f"{tok}@reclaimed-{e.nonce}"],
                        )
                    else:
                        c["reclaim end records lost to a crash point"] += 1
                elif not EVIDENCE_RE.search(e.reason):
                    add(
                        "4 reclaim evidence",
                        f"{sp}/{ph}",
                        f"{tok} reclaimed with reason {e.reason!r}",
                        [f"{tok}@reclaimed-{e.nonce}"],
                    )

    # ---- 5. the audit log agrees
    if disk_checks:
        audit_claims = Counter(
            a.get("token") for a in disk.audit if a.get("event") == "sprint_claim"
        )
        for tok, n in audit_claims.items():
            if tok and n > 1:
                add("5 audit", "", f"{n} sprint_claim events for {tok}", [])
        for r in claims:
            if r["tok"] not in audit_claims:
                add(
                    "5 audit",
                    f"{r['sp']}/{r['ph']}",
                    f"claim {r['tok']} reported OK but not in the audit log",
                    [_show(r)],
                )
        audit_ends = Counter(
            a.get("token")
            for a in disk.audit
            if a.get("event") in ("sprint_complete", "sprint_abort")
        )
        for tok, n in audit_ends.items():
            if tok and n > 1:
                add("5 audit", "", f"{n} complete/abort events for {tok}", [])
        audit_done = Counter(
            (a.get("sprint"), a.get("resource"))
            for a in disk.audit
            if a.get("event") == "sprint_complete"
        )
        for key, n in audit_done.items():
            if n > 1:
                add("5 audit", f"{key[0]}/{key[1]}", f"{n} sprint_complete events", [])
        c["audit events"] = len(disk.audit)
        c["audit: sprint_fenced events"] = sum(
            1 for a in disk.audit if a.get("event") == "sprint_fenced"
        )
        if disk.audit_bad:
            problems.append(f"{disk.audit_bad} unreadable audit lines")

    # ---- figures
    hist_how = Counter(e.how for pd in disk.phases.values() for e in pd.history)
    sig = Counter(r.get("why") for r in sup if r.get("op") == "sigkill")
    figures: dict[str, Any] = {
        "processes": c["processes"],
        "sprints": sum(1 for r in sup if r.get("op") == "sprint"),
        "attempts": c["attempts"],
        "claims": c["claims"],
        "completes": c["completes"],
        "aborts": c["aborts"],
        "heartbeats": c["heartbeats"],
        "reclaims": c["reclaims by workers"],
        "fenced refusals": c["fenced refusals"],
        "kills: SIGKILL of a holder": sig["holder"],
        "kills: SIGKILL at random": sig["random"],
        "kills: crash points (CONDUCTOR_CRASH_AT)": sum(
            1 for r in sup if r.get("op") == "exit" and r.get("code") == CRASH_EXIT
        ),
        "stalls: SIGSTOP of a holder": sum(1 for r in sup if r.get("op") == "sigstop"),
        "stalls: self-stop inside a store call": sum(1 for r in sup if r.get("op") == "paused"),
        "deaths seen holding a claim": sum(1 for d in death.values() if d == "holding"),
        "deaths seen inside a store call": sum(1 for d in death.values() if d.startswith("inside")),
        "violations": len(vio),
    }
    details = {k: v for k, v in sorted(c.items()) if k not in figures}
    details.update({f"history: {k}": v for k, v in sorted(hist_how.items())})
    details["done records"] = sum(1 for pd in disk.phases.values() if pd.done is not None)
    doctor = next((r for r in sup if r.get("op") == "doctor"), None)
    if doctor is not None:
        found = Counter(
            re.sub(r"\s+\S*[0-9a-f]{8,}\S*", "", f.get("problem", ""))
            for f in doctor.get("findings", [])
        )
        for problem, n in sorted(found.items()):
            details[f"doctor (crash leftovers): {problem}"] = n
    end = next((r for r in sup if r.get("op") == "workload-end"), None)
    if end is not None:
        figures["seconds"] = round(end.get("seconds", 0.0), 2)
        if end.get("timed_out"):
            problems.append("the workload timed out")
    figures["details"] = details
    return CheckResult(figures, vio, [], problems)


def faults_missing(figures: dict[str, Any], cfg: Config) -> list[str]:
    """The faults that should have fired and did not (the run then proves nothing)."""
    need = [
        ("reclaims", True),
        ("fenced refusals", True),
        ("kills: SIGKILL of a holder", cfg.kill_rate > 0),
        ("kills: crash points (CONDUCTOR_CRASH_AT)", cfg.crash_rate > 0),
        ("stalls: SIGSTOP of a holder", cfg.stall_rate > 0),
    ]
    return [name for name, wanted in need if wanted and not figures.get(name)]


def check_dir(run_dir: str, cfg: Config | None = None) -> CheckResult:
    """Check a finished run directory."""
    if cfg is None:
        with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as fh:
            cfg = Config(**json.load(fh))
    logs, bad = load_logs(os.path.join(run_dir, "logs"))
    sprint_ids = [r["sprint_id"] for r in logs.get("supervisor", []) if r.get("op") == "sprint"]
    backend = backend_of(cfg, run_dir)
    try:
        disk = backend.scan(sprint_ids)
    finally:
        backend.close()
    result = check_run(logs, disk)
    if bad:
        result.problems.append(f"{bad} unreadable log lines")
    crashes = sorted(n for n in os.listdir(os.path.join(run_dir, "logs")) if n.endswith(".txt"))
    for name in crashes:
        with open(os.path.join(run_dir, "logs", name), encoding="utf-8") as fh:
            result.problems.append(f"worker crashed: {name}: {fh.read()[-600:]}")
    result.faults_missing = faults_missing(result.figures, cfg)
    return result


# ---------------------------------------------------------------------- running and reporting


def run(cfg: Config, run_dir: str, *, quiet: bool = True) -> CheckResult:
    """Run the workload in run_dir (created, must be empty), then check it."""
    os.makedirs(run_dir, exist_ok=True)
    if os.listdir(run_dir):
        raise SystemExit(f"{run_dir} is not empty")
    with open(os.path.join(run_dir, "config.json"), "w", encoding="utf-8") as fh:
        json.dump(asdict(cfg), fh, indent=1)
    sup = Supervisor(cfg, run_dir, quiet=quiet)
    try:
        sup.run()
    finally:
        for slot in sup.slots:  # only on an error in the supervisor itself
            if slot.proc is not None and slot.proc.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.proc.pid, signal.SIGCONT)
                slot.proc.kill()
                slot.proc.join()
    return check_dir(run_dir, cfg)


def table(result: CheckResult, cfg: Config) -> str:
    """The figures as a plain-text table."""
    f = result.figures
    lines = [
        f"stress: {cfg.workers} workers, {cfg.phases} phases, {cfg.attempts} attempts each, "
        f"ttl {cfg.ttl:g} s, seed {cfg.seed}"
        + (f", BROKEN store: {cfg.broken}" if cfg.broken else ""),
    ]
    if cfg.store:
        lines.append(f"store: {PgBackend(cfg, '').shown()}")
    lines.append("")
    width = max(len(k) for k in list(f) + list(f["details"]))
    for k, v in f.items():
        if k != "details":
            lines.append(f"  {k:<{width}}  {v:>8}")
    lines.append("  details:")
    for k, v in f["details"].items():
        lines.append(f"    {k:<{width - 2}}  {v:>8}")
    return "\n".join(lines)


def describe(result: CheckResult, limit: int = 20) -> str:
    """The violations, faults missing and problems, with their evidence."""
    out = []
    for v in result.violations[:limit]:
        out.append(f"VIOLATION [{v.check}] {v.where}: {v.message}")
        out.extend(f"    {e}" for e in v.evidence)
    if len(result.violations) > limit:
        out.append(f"... and {len(result.violations) - limit} more (see --json)")
    by_check = Counter(v.check for v in result.violations)
    if by_check:
        out.append(
            "violations by check: " + ", ".join(f"{k}: {n}" for k, n in sorted(by_check.items()))
        )
    for name in result.faults_missing:
        out.append(f"FAULT DID NOT FIRE: {name} = 0 (the run proves nothing about it)")
    out.extend(f"PROBLEM: {p}" for p in result.problems[:10])
    return "\n".join(out)


def verdict(result: CheckResult, cfg: Config) -> tuple[int, str]:
    """Exit status and the last line."""
    n = len(result.violations)
    if cfg.broken:
        if n:
            return 1, f"negative control caught {n} violations (store broken: {cfg.broken})"
        return 3, f"NEGATIVE CONTROL FAILED: the broken store ({cfg.broken}) was not caught"
    if n:
        return 1, f"FAILED: {n} violations of the protocol's invariants"
    if result.faults_missing or result.problems:
        return 2, "INCONCLUSIVE: " + "; ".join(
            [f"{m} = 0" for m in result.faults_missing] + result.problems[:3]
        )
    return 0, "OK: zero violations, and every fault fired"


def to_json(result: CheckResult, cfg: Config, run_dir: str, status: int, last: str) -> dict:
    """The --json document."""
    config = asdict(cfg)
    if cfg.store:
        from conductor_tui.pg.url import redact

        config["store"] = redact(cfg.store)
    return {
        "config": config,
        "run_dir": run_dir,
        "figures": result.figures,
        "violations": [asdict(v) for v in result.violations],
        "faults_missing": result.faults_missing,
        "problems": result.problems,
        "exit_status": status,
        "verdict": last,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    d = Config()
    ap.add_argument("--workers", type=int, default=d.workers)
    ap.add_argument("--phases", type=int, default=d.phases)
    ap.add_argument("--attempts", type=int, default=d.attempts, help="per worker slot")
    ap.add_argument("--ttl", type=float, default=d.ttl, help="lease of every claim, seconds")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--kill-rate", type=float, default=d.kill_rate, help="SIGKILLs per second")
    ap.add_argument("--stall-rate", type=float, default=d.stall_rate, help="SIGSTOPs per second")
    ap.add_argument(
        "--crash-rate",
        type=float,
        default=d.crash_rate,
        help="fraction of spawned workers armed with a crash point",
    )
    ap.add_argument(
        "--pause-prob",
        type=float,
        default=d.pause_prob,
        help="chance a worker stops itself at a pause point",
    )
    ap.add_argument("--done-prob", type=float, default=d.done_prob)
    ap.add_argument("--reclaim-rate", type=float, default=d.reclaim_rate)
    ap.add_argument("--hold-max", type=float, default=d.hold_max)
    ap.add_argument("--max-seconds", type=float, default=d.max_seconds)
    ap.add_argument(
        "--broken",
        nargs="?",
        const="auto",
        default="",
        metavar="{" + ",".join(sorted(BROKEN)) + "}",
        help="negative control: break the store in the workers (default end-lock on files, "
        "claim-held on PostgreSQL)",
    )
    ap.add_argument(
        "--store",
        metavar="URL",
        default="",
        help="run the workload on PostgreSQL (postgresql://...?schema=NAME, a schema of its own) "
        "instead of a file store in the run directory",
    )
    ap.add_argument("--json", metavar="FILE", help="write the figures and violations as JSON")
    ap.add_argument("--dir", metavar="DIR", help="run directory (kept); default a temporary one")
    ap.add_argument("--keep", action="store_true", help="keep the temporary run directory")
    ap.add_argument("--check", metavar="DIR", help="only re-check a kept run directory")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.check:
        with open(os.path.join(a.check, "config.json"), encoding="utf-8") as fh:
            cfg = Config(**json.load(fh))
        run_dir, result = a.check, check_dir(a.check, cfg)
    else:
        if a.workers < 1 or a.phases < 1 or a.attempts < 1 or a.ttl <= 0:
            ap.error("--workers, --phases, --attempts and --ttl must be positive")
        if a.store and not is_pg(a.store):
            ap.error("--store takes a postgresql:// URL (the file store is always a fresh one)")
        if a.broken == "auto":
            a.broken = "claim-held" if a.store else "end-lock"
        if a.broken and a.broken not in BROKEN:
            ap.error(f"--broken: choose from {', '.join(sorted(BROKEN))}")
        if a.broken and (a.broken in PG_BROKEN) != bool(a.store):
            where = "PostgreSQL (--store URL)" if a.broken in PG_BROKEN else "the file store"
            ap.error(f"--broken {a.broken} breaks {where} only")
        cfg = Config(
            workers=a.workers,
            phases=a.phases,
            attempts=a.attempts,
            ttl=a.ttl,
            seed=a.seed,
            kill_rate=a.kill_rate,
            stall_rate=a.stall_rate,
            crash_rate=a.crash_rate,
            pause_prob=a.pause_prob,
            done_prob=a.done_prob,
            reclaim_rate=a.reclaim_rate,
            hold_max=a.hold_max,
            broken=a.broken or "",
            max_seconds=a.max_seconds,
            store=a.store,
        )
        run_dir = a.dir or tempfile.mkdtemp(prefix="conductor-stress-")
        if not a.quiet:
            print(f"run directory: {run_dir}", file=sys.stderr)
            if a.store:
                print(f"store: {PgBackend(cfg, run_dir).shown()}", file=sys.stderr)
        result = run(cfg, run_dir, quiet=a.quiet)
    status, last = verdict(result, cfg)
    print(table(result, cfg))
    text = describe(result)
    if text:
        print()
        print(text)
    print()
    print(last)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(to_json(result, cfg, run_dir, status, last), fh, indent=1)
    if not a.check and not a.dir:
        if a.keep or (status != 0 and not cfg.broken):
            print(f"run directory kept: {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
