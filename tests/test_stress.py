"""The stress harness (bench/stress.py), short: real processes, real faults, a real checker.

Each run forks worker processes that claim, hold, heartbeat, complete, abort and reclaim phases of
one store while the harness SIGKILLs holders, kills workers inside store calls, arms crash points
(CONDUCTOR_CRASH_AT) and stops holders past their lease; then the checker verifies, from every
process's log and from the store's disk, that no phase was ever held twice, that every token
ended once, that done stayed terminal and that every reclaim had evidence.

The checker itself is tested first, on hand-made logs, so that a clean run means something: it
must find an overlap, a double ending, a claim after done, a reclaim of a live holder, a lost
token. The negative control then runs the whole harness against a store broken on purpose (in the
worker processes only) and must be caught. No assertion here depends on timing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "stress.py"


def _load_stress() -> Any:
    spec = importlib.util.spec_from_file_location("conductor_stress_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


stress = _load_stress()
Disk, PhaseDisk, HistEntry = stress.Disk, stress.PhaseDisk, stress.HistEntry

SP, PH = "0123456789ab-20261121-100000", "p0"
T1, T2, T3 = "1-aaaaaaaaaaaaaaaa", "2-bbbbbbbbbbbbbbbb", "3-cccccccccccccccc"


# ---------------------------------------------------------------------- hand-made logs


class World:
    """Hand-made logs of a few processes and the disk they left, built one event at a time."""

    def __init__(self) -> None:
        self.logs: dict[str, list[dict[str, Any]]] = {"supervisor": []}
        self.history: list[HistEntry] = []
        self.done: dict[str, Any] | None = None
        self.lock_tokens: list[str] = []
        self.audit: list[dict[str, Any]] = []

    def _rec(self, inst: str, **rec: Any) -> dict[str, Any]:
        recs = self.logs.setdefault(inst, [])
        if inst != "supervisor" and not recs:
            recs.append(
                {
                    "op": "start",
                    "agent": f"agent-{inst}",
                    "t": 0.0,
                    "_src": f"{inst}:0",
                    "_inst": inst,
                }
            )
        rec.setdefault("n", len(recs) + 1)
        rec.update(_src=f"{inst}.jsonl:{len(recs) + 1}", _inst=inst, sp=SP, ph=PH)
        recs.append(rec)
        return rec

    def claim(self, inst: str, tok: str, before: float, after: float) -> None:
        self._rec(inst, op="claim", res="try", a=1, t=before)
        self._rec(
            inst,
            op="claim",
            res="ok",
            tok=tok,
            ep=int(tok.split("-")[0]),
            claim_before=before,
            acquired_after=after,
            t0=before,
            t=after,
        )
        self.audit.append({"event": "sprint_claim", "token": tok, "sprint": SP, "resource": PH})

    def end(self, inst: str, op: str, tok: str, before: float, after: float, **extra: Any) -> None:
        how = {"complete": "done", "abort": "aborted", "reclaim": "reclaimed"}[op]
        self._rec(
            inst,
            op=op,
            res="ok",
            tok=tok,
            ended_before=before,
            ended_after=after,
            t0=before,
            t=after,
            **extra,
        )
        by = extra.get("agent", f"agent-{inst}")
        reason = "; ".join(extra.get("evidence", [])) or how
        self.history.append(HistEntry(tok, how, f"n{len(self.history)}", by, reason))
        if op == "complete":
            self.done = {"token": tok, "epoch": int(tok.split("-")[0])}
            self.audit.append(
                {"event": "sprint_complete", "token": tok, "sprint": SP, "resource": PH}
            )

    def reclaim(
        self,
        inst: str,
        tok: str,
        before: float,
        after: float,
        *,
        force: bool = False,
        verdict: str = "stale",
        evidence: tuple[str, ...] = ("holder pid 1 is gone",),
    ) -> None:
        self.end(
            inst,
            "reclaim",
            tok,
            before,
            after,
            force=force,
            verdict=verdict,
            evidence=list(evidence),
            agent=f"agent-{inst}",
        )

    def fenced(self, inst: str, op: str, tok: str, at: float) -> None:
        self._rec(inst, op=op, res="err", kind="fenced", tok=tok, t0=at, t=at + 0.01)

    def heartbeat(self, inst: str, tok: str, before: float, after: float) -> None:
        self._rec(inst, op="heartbeat", res="ok", tok=tok, t0=before, t=after)

    def check(self) -> Any:
        pd = PhaseDisk(
            history=list(self.history),
            done=self.done,
            lock_tokens=list(self.lock_tokens),
            lock_exists=bool(self.lock_tokens),
        )
        return stress.check_run(self.logs, Disk(phases={(SP, PH): pd}, audit=list(self.audit)))


def _checks(result: Any) -> list[str]:
    return sorted({v.check for v in result.violations})


def test_checker_passes_a_clean_history() -> None:
    """Two holders one after the other, a killed holder reclaimed, a stalled holder fenced."""
    w = World()
    w.claim("a", T1, 1.0, 1.1)
    w.heartbeat("a", T1, 1.2, 1.3)
    w.end("a", "abort", T1, 1.5, 1.6)
    w.claim("b", T2, 1.7, 1.8)  # b then dies holding: w reclaims
    w.reclaim("c", T2, 2.5, 2.6)
    w.claim("d", T3, 2.7, 2.8)  # d is stopped; the operator force-reclaims; d is fenced later
    w.reclaim(
        "supervisor",
        T3,
        3.5,
        3.6,
        force=True,
        verdict="suspect",
        evidence=("lease ran out 1 s ago", "holder pid 9 is alive: it may be hung"),
    )
    w.fenced("d", "complete", T3, 4.0)
    result = w.check()
    assert result.violations == [], stress.describe(result)
    assert result.figures["claims"] == 3 and result.figures["fenced refusals"] == 1
    assert result.figures["details"]["hold intervals checked"] == 3


def test_checker_finds_overlapping_holds() -> None:
    w = World()
    w.claim("a", T1, 1.0, 1.1)
    w.claim("b", T2, 1.2, 1.3)  # acquired while a still holds T1
    w.end("a", "abort", T1, 1.5, 1.6)
    w.end("b", "abort", T2, 1.7, 1.8)
    result = w.check()
    assert "1 no overlap" in _checks(result), stress.describe(result)
    overlap = next(v for v in result.violations if "acquired at" in v.message)
    assert T1 in overlap.message and T2 in overlap.message
    assert any("b.jsonl" in e for e in overlap.evidence)


def test_checker_bounds_a_killed_holder_by_its_reclaimer() -> None:
    """A holder died holding T1; c reclaimed it at 3.0. A claim acquired at 2.0 overlaps it."""
    w = World()
    w.claim("a", T1, 1.0, 1.1)
    w.claim("b", T2, 1.9, 2.0)
    w.reclaim("c", T1, 3.0, 3.1)
    w.end("b", "abort", T2, 3.5, 3.6)
    result = w.check()
    assert "1 no overlap" in _checks(result), stress.describe(result)

    # and when the reclaimer died inside its call, the call's start bounds the interval
    w = World()
    w.claim("a", T1, 1.0, 1.1)
    w.claim("b", T2, 1.9, 2.0)
    w._rec("c", op="reclaim", res="try", a=1, force=False, t=3.0)  # no result: c died in it
    w.history.append(HistEntry(T1, "reclaimed", "x", None, None))  # crash before end.json
    w.end("b", "abort", T2, 3.5, 3.6)
    result = w.check()
    assert "1 no overlap" in _checks(result), stress.describe(result)


def test_checker_finds_a_token_ended_twice() -> None:
    w = World()
    w.claim("a", T1, 1.0, 1.1)
    w.reclaim(
        "supervisor",
        T1,
        2.0,
        2.1,
        force=True,
        verdict="suspect",
        evidence=("lease ran out 1 s ago",),
    )
    w.end("a", "complete", T1, 1.9, 2.2)  # told OK although the operator ended it first
    result = w.check()
    messages = [v.message for v in result.violations]
    assert any("2 callers were told OK" in m for m in messages), stress.describe(result)
    assert any("2 history entries" in m for m in messages), stress.describe(result)


def test_checker_finds_a_claim_after_done() -> None:
    w = World()
    w.claim("a", T1, 1.0, 1.1)
    w.end("a", "complete", T1, 1.5, 1.6)
    w.claim("b", T2, 2.0, 2.1)  # began after the completion returned, later epoch
    w.end("b", "abort", T2, 2.5, 2.6)
    result = w.check()
    assert "3 done is terminal" in _checks(result), stress.describe(result)
    assert any("after done" in v.message for v in result.violations)


def test_checker_finds_a_reclaim_of_a_live_holder_and_a_reclaim_without_evidence() -> None:
    w = World()
    w.claim("a", T1, 1.0, 1.1)
    w.reclaim("c", T1, 1.5, 1.6, evidence=())
    w.heartbeat("a", T1, 1.8, 1.9)  # a was alive after the reclaim returned
    result = w.check()
    messages = [v.message for v in result.violations]
    assert any("while its holder" in m for m in messages), stress.describe(result)
    assert any("without evidence" in m for m in messages), stress.describe(result)
    assert any("heartbeat" in m and "after its end" in m for m in messages)


def test_checker_finds_a_lost_token_and_a_false_fence() -> None:
    w = World()
    w.claim("a", T1, 1.0, 1.1)  # no history entry, no lock: the claim vanished
    w._rec("a", op="abort", res="err", kind="refused", tok=T1, t0=1.5, t=1.6)
    w.claim("b", T2, 2.0, 2.1)
    w.fenced("b", "abort", T2, 2.5)  # fenced, yet nobody ended T2: it is still in the lock
    w.lock_tokens = [T2]
    result = w.check()
    messages = [v.message for v in result.violations]
    assert any("lost" in m for m in messages), stress.describe(result)
    assert any("never ended" in m for m in messages), stress.describe(result)


# ---------------------------------------------------------------------- real runs


def _run(tmp_path: Path, **overrides: Any) -> Any:
    params: dict[str, Any] = {
        "workers": 8,
        "attempts": 60,
        "ttl": 0.3,
        "seed": 7,
        "kill_rate": 8.0,
        "stall_rate": 3.0,
        "pause_prob": 0.08,
        "max_seconds": 120.0,
    }
    cfg = stress.Config(**{**params, **overrides})
    return cfg, stress.run(cfg, str(tmp_path / "run"))


@pytest.mark.parametrize(
    ("phases", "attempts"), [(4, 60), (64, 30)], ids=["4-phases-contended", "64-phases"]
)
def test_stress_run_has_no_violations_and_every_fault_fired(tmp_path, phases, attempts) -> None:
    cfg, result = _run(tmp_path, phases=phases, attempts=attempts)
    report = stress.table(result, cfg) + "\n" + stress.describe(result)
    assert result.violations == [], report
    assert result.problems == [], report
    assert result.faults_missing == [], report
    f = result.figures
    assert f["processes"] > cfg.workers, report  # dead workers were replaced
    assert f["claims"] > 0 and f["reclaims"] > 0 and f["fenced refusals"] > 0, report
    assert f["kills: SIGKILL of a holder"] > 0, report
    assert f["kills: crash points (CONDUCTOR_CRASH_AT)"] > 0, report
    assert f["stalls: SIGSTOP of a holder"] > 0, report
    # every claim is checked for overlap, or provably held by nobody: ended (a forced reclaim of
    # a stalled holder) before its holder even returned from claiming, which a loaded machine does
    empty = f["details"].get("empty intervals (ended while the holder was not yet back)", 0)
    assert f["details"]["hold intervals checked"] + empty == f["claims"], report
    assert stress.verdict(result, cfg)[0] == 0


def test_negative_control_end_lock_is_caught(tmp_path) -> None:
    """Ending by renaming the whole lock: a stalled holder's complete takes the next claim.

    The broken store goes wrong only when a stalled holder and a new claim interleave, which a
    short run does not always produce; so it runs (at most four times) until it is caught. A
    checker that cannot see the defect fails all four."""
    for attempt in range(4):
        cfg, result = _run(
            tmp_path / str(attempt),
            phases=4,
            broken="end-lock",
            pause_prob=0.1,
            done_prob=0.3,
            seed=7 + attempt,
        )
        if result.violations:
            break
    assert result.violations, "the checker missed the broken store\n" + stress.table(result, cfg)
    status, last = stress.verdict(result, cfg)
    assert status == 1 and last.startswith("negative control caught")


def caught_by_the_command(tmp_path: Path, *args: str) -> dict[str, Any]:
    """bench/stress.py run as a user would, on a deliberately broken store (args say which, and
    where): it must exit 1, say the negative control was caught, and report overlapping holds.
    Returns its JSON figures."""
    out = tmp_path / "figures.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONDUCTOR_")}
    argv = [sys.executable, str(BENCH), *args, "--workers", "8", "--phases", "4", "--seed", "3"]
    argv += ["--quiet", "--dir", str(tmp_path / "run"), "--json", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "negative control caught" in proc.stdout, proc.stdout
    doc: dict[str, Any] = json.loads(out.read_text())
    assert doc["figures"]["violations"] == len(doc["violations"]) > 0
    assert any(v["check"] == "1 no overlap" for v in doc["violations"]), doc["violations"][:3]
    return doc


def test_negative_control_publish_into_is_caught_by_the_command(tmp_path) -> None:
    """Publishing into an existing lock (upstream's double grant), run as a user would."""
    caught_by_the_command(tmp_path, "--broken", "publish-into", "--attempts", "40")
