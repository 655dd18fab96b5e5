"""The stress harness (bench/stress.py) on PostgreSQL, short: real processes on PgStore, real
faults, and the checker reading the truth from the database.

The workers claim, heartbeat, complete, abort and reclaim on a schema of their own while the
harness SIGKILLs holders and workers inside transactions, arms the PostgreSQL crash points (inside a
transaction, before its COMMIT; after the COMMIT, before the caller hears) and stops holders past
their lease; the checker then reads the phases, done, claims (every ended claim) and events (the
audit log) tables and must find nothing. The negative control (a claim that grants a held phase)
must be caught. Skipped without a server, like every PostgreSQL test (failed under
CONDUCTOR_PG_REQUIRED=1). No assertion depends on timing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .pg_server import fresh_url
from .test_stress import BENCH, _run, caught_by_the_command, stress


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A store URL on a schema of its own, dropped after the test."""
    yield from fresh_url()


def test_pg_stress_run_has_no_violations_and_every_fault_fired(tmp_path: Path, pg_url: str) -> None:
    cfg, result = _run(tmp_path, phases=4, attempts=60, store=pg_url)
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
    details = f["details"]
    assert details["audit events"] > f["claims"], report  # the checker read the events table
    assert details["history: aborted"] > 0, report  # ... and the claims table
    empty = details.get("empty intervals (ended while the holder was not yet back)", 0)
    assert details["hold intervals checked"] + empty == f["claims"], report
    assert stress.verdict(result, cfg)[0] == 0
    # every ended claim is in the claims table; the checker found exactly those of the run
    ended = sum(v for k, v in details.items() if k.startswith("history: "))
    assert ended >= f["aborts"] + f["completes"] + f["reclaims"], report


def test_pg_negative_control_claim_held_is_caught_by_the_command(
    tmp_path: Path, pg_url: str
) -> None:
    """A claim that grants a held phase (a check-then-act claim), run as a user would."""
    doc = caught_by_the_command(tmp_path, "--store", pg_url, "--broken", "--attempts", "30")
    assert doc["config"]["broken"] == "claim-held"


def test_the_file_store_negative_controls_are_refused_on_postgresql(tmp_path: Path) -> None:
    """A control that breaks renames proves nothing about a database: refused, not run."""
    for argv in (
        ["--store", "postgresql://db/x?schema=s", "--broken", "end-lock"],
        ["--broken", "claim-held"],
        ["--store", str(tmp_path)],
    ):
        proc = subprocess.run(
            [sys.executable, str(BENCH), *argv, "--quiet"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2 and "error:" in proc.stderr, (argv, proc.stderr)


def test_a_schema_with_other_sprints_is_refused(tmp_path: Path, pg_url: str) -> None:
    """The harness never mixes its records with a real store's (nor rings a team's app)."""
    from conductor_tui.pg.store import PgStore

    other = tmp_path / "other"
    other.mkdir()
    with PgStore(pg_url) as store:
        store.start(str(other), agent="someone")
    with pytest.raises(SystemExit) as caught:
        _run(tmp_path, store=pg_url)
    assert "already holds 1 sprints of other projects" in str(caught.value)
