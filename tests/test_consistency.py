"""One reading, one truth; nothing reported OK is lost; upstream agents are not locked out.

Real `conductor` processes on real directories: crashed at every crash point, stopped with
SIGSTOP between staging and committing a completion, and an upstream abort done as sprint.sh does
it (it removes `lock` and nothing else) followed by upstream's own claim in bash.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core.store import Store
from conductor_tui.tui.model import Loader
from tests.conftest import Env, conductor, subprocess_env
from tests.test_cli import CRASHES, _crash
from tests.test_store import upstream_claim

GRAPH = {
    "think": [],
    "plan": ["think"],
    "build": ["plan"],
    "review": ["build"],
    "security": ["build"],
    "qa": ["build"],
    "ship": ["review", "security", "qa"],
}


def status(env: Env) -> dict[str, Any]:
    result = conductor(env, "status", "--json")
    assert result.rc == 0, result
    return json.loads(result.out)


def assert_self_consistent(env: Env) -> dict[str, Any]:
    """status --json and next --json agree with themselves and with each other."""
    st = status(env)
    phases = st["phases"]
    done = {name for name, p in phases.items() if p["status"] == "done"}
    assert st["done"] == len(done)
    for name, p in phases.items():
        # a phase is blocked by exactly its dependencies that are not done, in this same reading
        assert p["blocked_by"] == [d for d in GRAPH[name] if d not in done], (name, phases)
        if p["status"] == "ready":
            assert p["blocked_by"] == [] and p["lock"] is None, (name, p)
        if p["status"] == "blocked":
            assert p["blocked_by"], (name, p)
        if p["status"] == "done":
            assert p["done"] is not None and p["lock"] is None, (name, p)
    nxt = conductor(env, "next", "--json")
    assert nxt.rc == 0, nxt
    assert json.loads(nxt.out)["ready"] == [n for n, p in phases.items() if p["status"] == "ready"]
    return phases


def assert_healthy_after_fix(env: Env) -> None:
    fixed = conductor(env, "doctor", "--fix")
    assert fixed.rc == 0, fixed
    after = conductor(env, "doctor")
    assert after.rc == 0 and after.out.startswith("OK: sprint "), after


@pytest.mark.parametrize(("op", "point"), CRASHES)
def test_after_every_crash_point_status_agrees_and_the_next_command_recovers(
    started: Env, cli, dead_pid_cli: str, op: str, point: str
) -> None:
    token = _crash(started, cli, op, point, dead_pid_cli)
    phases = assert_self_consistent(started)
    think = phases["think"]["status"]
    # the app's reader agrees with `status`
    snap = Loader(Store(started.store), started.project).load()
    assert snap.view is not None and snap.error is None
    assert {pv.name: pv.status for pv in snap.view.phases} == {
        n: p["status"] for n, p in phases.items()
    }
    # the next command a user would type, with no doctor in between
    if think == "done":
        nxt = conductor(started, "claim", "plan", "--agent", "agent-b", "--pid", str(os.getpid()))
        assert nxt.rc == 0 and nxt.out.startswith("OK: claimed 'plan'"), nxt
        assert json.loads(Path(started.phase("think"), "done").read_text())["token"] == token
    elif think == "stale":
        nxt = conductor(started, "reclaim", "think", "--agent", "agent-b")
        assert nxt.rc == 0, nxt
        assert status(started)["phases"]["think"]["status"] == "ready"
    elif think == "held":  # the holder (this process) is alive: it simply goes on
        again = "heartbeat" if op == "heartbeat" else "complete"
        nxt = conductor(started, again, "think", "--token", token)
        assert nxt.rc == 0, nxt
    else:
        assert think == "ready", phases["think"]
        nxt = conductor(started, "claim", "think", "--agent", "agent-c", "--pid", str(os.getpid()))
        assert nxt.rc == 0, nxt
    assert_self_consistent(started)
    assert_healthy_after_fix(started)
    assert_self_consistent(started)


def test_a_stopped_completer_survives_doctor_past_the_grace(started: Env, cli) -> None:
    """A completer stopped between staging its done record and committing (SIGSTOP, a suspended
    laptop) keeps its record through `doctor --fix` run long after; resumed, it completes once
    and nobody else can claim the phase."""
    token = cli("claim", "think", "--pid", str(os.getpid()), "--json").json["token"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "conductor_tui.cli", "complete", "think", "--token", token],
        cwd=started.project,
        env=subprocess_env(started, CONDUCTOR_STOP_AT="complete.staged"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, state = os.waitpid(proc.pid, os.WUNTRACED)  # returns once it has stopped itself
        assert os.WIFSTOPPED(state), state
        pdir = started.phase("think")
        [staged] = [n for n in os.listdir(pdir) if n.startswith(".done-")]
        past = os.path.getmtime(os.path.join(pdir, staged)) - 600  # ten minutes stopped
        os.utime(os.path.join(pdir, staged), (past, past))
        fixed = conductor(started, "doctor", "--fix")
        assert "committed" not in fixed.out  # nothing to publish: the claim is still live
        assert os.path.exists(os.path.join(pdir, staged)), fixed  # never taken away
        assert status(started)["phases"]["think"]["status"] == "held"
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (out, err)
    assert out.startswith("OK: completed 'think'"), out
    done = json.loads(Path(started.phase("think"), "done").read_text())
    assert done["token"] == token
    assert [h for h in os.listdir(os.path.join(pdir, "history")) if "@done-" in h] != []
    again = conductor(started, "claim", "think", "--agent", "agent-b")
    assert again.rc == 1 and again.err.startswith("DONE:"), again
    assert_self_consistent(started)
    assert_healthy_after_fix(started)


def _upstream_abort(pdir: str) -> None:
    """What sprint.sh's abort does to any claim: it removes `lock` and nothing else."""
    subprocess.run(["bash", "-c", 'rm -rf "$1/lock"', "abort", pdir], check=True, timeout=30)


def _age_sentinel(pdir: str) -> None:
    """Past upstream's mkdir-to-rename window (milliseconds; our grace is 10 s)."""
    sentinel = os.path.join(pdir, "lock.d")
    past = os.path.getmtime(sentinel) - 60
    os.utime(sentinel, (past, past))


def test_upstream_abort_of_our_claim_then_upstream_claims_after_our_reclaim(
    started: Env, cli
) -> None:
    pdir = started.phase("think")
    assert cli("claim", "think", "--pid", str(os.getpid())).rc == 0
    _upstream_abort(pdir)
    _age_sentinel(pdir)
    # upstream agents are refused while our orphan sentinel stays...
    rc, _ = upstream_claim(pdir, "codex-up")
    assert rc == 1
    # ...and every face says so, with the command that clears it
    think = status(started)["phases"]["think"]
    assert think["status"] == "ready"
    assert any("lock.d" in n and "conductor reclaim think" in n for n in think["notes"]), think
    assert "lock.d" in conductor(started, "status").out
    why = conductor(started, "why", "think")
    assert "conductor reclaim think" in why.out, why
    found = conductor(started, "doctor")
    assert found.rc == 1 and "orphan lock.d" in found.out, found
    snap = Loader(Store(started.store), started.project).load()
    assert [(a.phase, a.kind, a.key) for a in snap.attention if a.kind == "orphan"] == [
        ("think", "orphan", "r")
    ]
    # one of our commands clears it, and upstream's claim then succeeds
    cleared = conductor(started, "reclaim", "think", "--agent", "agent-b")
    assert cleared.rc == 0 and "lock.d" in cleared.out, cleared
    assert upstream_claim(pdir, "codex-up") == (0, "OK")
    assert status(started)["phases"]["think"]["agent"] == "codex-up"


def test_upstream_abort_then_our_next_claim_and_abort_clear_the_sentinel(started: Env, cli) -> None:
    pdir = started.phase("think")
    assert cli("claim", "think", "--pid", str(os.getpid())).rc == 0
    _upstream_abort(pdir)
    _age_sentinel(pdir)
    assert upstream_claim(pdir, "codex-up")[0] == 1
    assert cli("claim", "think", "--pid", str(os.getpid())).rc == 0  # our next mutation
    assert cli("abort", "think").rc == 0
    assert not os.path.lexists(os.path.join(pdir, "lock.d"))
    assert upstream_claim(pdir, "codex-up") == (0, "OK")


def test_a_fresh_sentinel_is_not_called_an_orphan(started: Env, cli) -> None:
    """Upstream's claim is in the making for milliseconds: no alarm, and reclaim leaves it."""
    pdir = started.phase("think")
    os.mkdir(os.path.join(pdir, "lock.d"))
    assert status(started)["phases"]["think"]["notes"] == []
    kept = conductor(started, "reclaim", "think", "--agent", "agent-b")
    assert kept.rc == 1 and "try again" in kept.err, kept
    assert os.path.isdir(os.path.join(pdir, "lock.d"))


def test_a_symlinked_phase_directory_is_never_written_through(
    started: Env, cli, tmp_path: Path
) -> None:
    pdir = started.phase("think")
    elsewhere = tmp_path / "elsewhere"
    os.rename(pdir, elsewhere)
    os.symlink(elsewhere, pdir)
    before = sorted(os.listdir(elsewhere))
    result = conductor(started, "claim", "think")
    assert result.rc == 2 and "symlink" in result.err, result
    assert sorted(os.listdir(elsewhere)) == before
    assert status(started)["phases"]["think"]["status"] == "malformed"


def test_doctor_reports_a_completion_it_cannot_publish_and_goes_on(started: Env, cli) -> None:
    """A committed completion beside another claim's done record (only a broken tool makes
    one): doctor --fix says it refused, goes on with the other phases, and exits 1."""
    token = cli("claim", "think", "--pid", str(os.getpid()), "--json").json["token"]
    crashed = conductor(
        started, "complete", "think", "--token", token, CONDUCTOR_CRASH_AT="complete.committed"
    )
    assert crashed.rc == 86, crashed
    pdir = started.phase("think")
    other = {
        "agent": "someone-else",
        "completed_at": "2026-11-21T10:00:00Z",
        "artifact": "",
        "token": "9-00000000000000aa",
    }
    Path(pdir, "done").write_text(json.dumps(other))
    os.mkdir(os.path.join(started.phase("plan"), "lock"))  # an empty lock elsewhere: fixable
    fixed = conductor(started, "doctor", "--fix")
    assert fixed.rc == 1 and "Traceback" not in fixed.err + fixed.out, fixed
    assert "refused" in fixed.out and "another claim's done record" in fixed.out, fixed
    assert not os.path.lexists(os.path.join(started.phase("plan"), "lock"))
    assert json.loads(Path(pdir, "done").read_text())["token"] == other["token"]
