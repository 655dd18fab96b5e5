"""What the installed hooks run, fed the hosts' payloads in real processes on a real store:
PostToolUse renews the right agent's lease and is throttled, SessionStart primes (the held claim
and the checkpoints before it), Stop reminds once, PreToolUse is the guard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conductor_tui.agents.renew import RENEW_EVERY_S, state_path
from conductor_tui.core.store import Sprint, Store
from tests.agent_samples import (
    CLAUDE_AGENT,
    CODEX_AGENT,
    CURSOR_AGENT,
    claude,
    clean_env,
    codex,
    cursor,
    run_hook,
    run_module,
)

GRAPH = [
    {"name": "think", "depends_on": []},
    {"name": "plan", "depends_on": ["think"]},
    {"name": "build", "depends_on": ["plan"]},
    {"name": "docs", "depends_on": []},
    {"name": "web", "depends_on": []},
]


@pytest.fixture
def world(tmp_path: Path) -> tuple[str, str, Sprint]:
    """A git project with its store at <project>/.nanostack and a started sprint."""
    project = tmp_path / "shop"
    project.mkdir()
    (project / ".git").mkdir()
    store = Store(str(project / ".nanostack"))
    sprint = store.start(str(project), agent="tester", phases=GRAPH)
    return str(project), store.root, sprint


def heartbeats(store: str, agent: str) -> int:
    with open(os.path.join(store, "audit.log")) as f:
        events = [json.loads(line) for line in f]
    return sum(1 for e in events if e["event"] == "sprint_heartbeat" and e.get("agent") == agent)


def settle(store: str, agent: str, count: int) -> None:
    """Wait (bounded) until the agent has count heartbeats: the hook renews in a detached child
    after the host's call has returned."""
    deadline = time.monotonic() + 30
    while heartbeats(store, agent) < count:
        assert time.monotonic() < deadline, f"{agent} never reached {count} heartbeats"
        time.sleep(0.02)


def holder() -> int:
    return os.getpid()


def test_post_tool_use_renews_the_calling_agents_lease_and_is_throttled(world) -> None:  # type: ignore[no-untyped-def]
    project, store, sprint = world
    mine = sprint.claim("think", agent=CLAUDE_AGENT, ttl=600, holder_pid=holder())
    theirs = sprint.claim("docs", agent=CODEX_AGENT, ttl=600, holder_pid=holder())
    payload = claude("PostToolUse", project)

    done = run_hook("post-tool-use", "claude", payload, cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    settle(store, CLAUDE_AGENT, 1)
    assert heartbeats(store, CODEX_AGENT) == 0
    view = sprint.view()
    think, docs = view.phase("think"), view.phase("docs")
    assert think is not None and think.lock is not None and think.lock.token == mine.token
    assert think.lock.heartbeat_at is not None and think.lock.heartbeat_at > mine.heartbeat_at
    assert docs is not None and docs.lock is not None
    assert docs.lock.heartbeat_at == theirs.heartbeat_at

    for _ in range(3):  # within 30 s: throttled, the store is not even opened
        assert run_hook("post-tool-use", "claude", payload, cwd=project).returncode == 0
    assert heartbeats(store, CLAUDE_AGENT) == 1

    state = state_path(store, CLAUDE_AGENT)
    last = float(Path(state).read_text())
    Path(state).write_text(f"{last - RENEW_EVERY_S - 1}\n")  # as if 31 s had passed
    in_process = clean_env(CONDUCTOR_HOOK_NO_FORK="1")  # renewed before the hook returns
    assert run_hook("post-tool-use", "claude", payload, cwd=project, env=in_process).returncode == 0
    assert heartbeats(store, CLAUDE_AGENT) == 2


@pytest.mark.parametrize(
    ("host", "make", "agent"),
    [("codex", codex, CODEX_AGENT), ("cursor", cursor, CURSOR_AGENT)],
)
def test_codex_and_cursor_payloads_name_their_agent(world, host, make, agent) -> None:  # type: ignore[no-untyped-def]
    project, store, sprint = world
    sprint.claim("web", agent=agent, ttl=600, holder_pid=holder())
    event = "PostToolUse" if host == "codex" else "postToolUse"
    done = run_hook("post-tool-use", host, make(event, project), cwd=str(Path(project).parent))
    assert done.returncode == 0 and done.stdout == ""
    settle(store, agent, 1)  # found from the payload's cwd / workspace root


def test_nanostack_agent_wins_over_the_payload(world) -> None:  # type: ignore[no-untyped-def]
    project, store, sprint = world
    sprint.claim("think", agent="alice", ttl=600, holder_pid=holder())
    env = clean_env(NANOSTACK_AGENT="alice")
    done = run_hook("post-tool-use", "claude", claude("PostToolUse", project), cwd=project, env=env)
    assert done.returncode == 0
    settle(store, "alice", 1)


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[]", b'{"session_id": 5}', b'{"session_id": "../../etc"}', b"\xff" * 10],
)
def test_post_tool_use_always_exits_0_silently(world, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    project, _store, _sprint = world
    done = run_hook("post-tool-use", "claude", raw, cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_post_tool_use_with_a_broken_store_or_none(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _store, sprint = world
    Path(sprint.sprint_json).write_text("{broken")
    done = run_hook("post-tool-use", "claude", claude("PostToolUse", project), cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    bare = tmp_path / "bare"
    bare.mkdir()
    done = run_hook(
        "post-tool-use",
        "claude",
        claude("PostToolUse", str(bare)),
        cwd=str(bare),
        env=clean_env(HOME=str(tmp_path / "nohome")),
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not (tmp_path / "nohome").exists()


def test_the_throttled_path_does_not_import_the_store(world) -> None:  # type: ignore[no-untyped-def]
    project, store, _sprint = world
    payload = json.dumps(claude("PostToolUse", project)).encode()
    os.makedirs(os.path.dirname(state_path(store, CLAUDE_AGENT)))
    Path(state_path(store, CLAUDE_AGENT)).write_text(f"{time.time()}\n")  # renewed just now
    code = (
        "import io, sys\n"
        "sys.stdin = io.TextIOWrapper(io.BytesIO(sys.argv[1].encode()))\n"
        "from conductor_tui.agents.hooks import main\n"
        "assert main(['run', 'post-tool-use', '--for', 'claude']) == 0\n"
        "heavy = [m for m in ('conductor_tui.core.store', 'conductor_tui.core.models', "
        "'pydantic', 'argparse', 'textual', 'conductor_tui.guard') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, payload.decode()],
        capture_output=True,
        text=True,
        cwd=project,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ---------------------------------------------------------------------- prime and SessionStart


def checkpoint_artifact(project: str, phase: str, summary: str) -> str:
    path = os.path.join(project, f"{phase}.json")
    with open(path, "w") as f:
        json.dump(
            {
                "phase": phase,
                "context_checkpoint": {
                    "summary": summary,
                    "key_files": [f"src/{phase}.py"],
                    "decisions_made": [f"decided in {phase}"],
                    "open_questions": [f"asked in {phase}?"],
                },
            },
            f,
        )
    return path


@pytest.fixture
def mid(world):  # type: ignore[no-untyped-def]
    """think and plan completed by codex with checkpoints; build claimed by claude."""
    project, store, sprint = world
    for phase, summary in (("think", "Carts drop on expiry."), ("plan", "Refresh the session.")):
        owner = sprint.claim(phase, agent=CODEX_AGENT, holder_pid=holder())
        sprint.complete(
            phase,
            agent=CODEX_AGENT,
            token=owner.token,
            artifact=checkpoint_artifact(project, phase, summary),
        )
    build = sprint.claim("build", agent=CLAUDE_AGENT, ttl=1800, holder_pid=holder())
    return project, store, sprint, build.token


def test_prime_restores_the_held_claim_and_the_checkpoints_before_it(mid) -> None:  # type: ignore[no-untyped-def]
    project, _store, _sprint, token = mid
    done = run_module("prime", "--agent", CLAUDE_AGENT, "--project", project, cwd=project)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"HOLDING: build (held) token {token}" in out
    assert "lease 30 min left" in out
    assert f"conductor complete build --token {token} --artifact FILE" in out
    assert f"conductor abort build --token {token}" in out
    assert out.index("## think") < out.index("## plan")
    for text in (
        "Carts drop on expiry.",
        "Refresh the session.",
        "src/plan.py",
        "decided in think",
        "asked in plan?",
    ):
        assert text in out
    assert "## docs" not in out

    as_json = run_module(
        "prime", "--agent", CLAUDE_AGENT, "--project", project, "--json", cwd=project
    )
    reply = json.loads(as_json.stdout)
    assert reply["ok"] is True and reply["word"] == "HOLDING"
    assert reply["holding"][0]["token"] == token
    assert [c["phase"] for c in reply["checkpoints"]] == ["think", "plan"]


def test_prime_without_a_claim_says_what_to_claim(mid) -> None:  # type: ignore[no-untyped-def]
    project, _store, _sprint, _token = mid
    done = run_module("prime", "--agent", "nobody", "--project", project, cwd=project)
    assert done.returncode == 0
    assert "READY: you hold nothing; claimable now: docs web" in done.stdout
    none = run_module(
        "prime",
        "--agent",
        "x",
        "--project",
        str(Path(project).parent),
        "--store",
        str(Path(project).parent / "nostore"),
        "--json",
        cwd=project,
    )
    assert none.returncode == 2 and json.loads(none.stdout)["ok"] is False


def test_session_start_primes_and_hands_the_name_to_the_shell(mid, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _store, _sprint, token = mid
    env_file = tmp_path / "claude-env"
    env = clean_env(CLAUDE_ENV_FILE=str(env_file))
    done = run_hook(
        "session-start", "claude", claude("SessionStart", project), cwd=project, env=env
    )
    assert done.returncode == 0, done.stderr
    assert f"HOLDING: build (held) token {token}" in done.stdout
    assert "Carts drop on expiry." in done.stdout
    assert env_file.read_text() == f"export NANOSTACK_AGENT={CLAUDE_AGENT}\n"

    env_file.unlink()
    named = run_hook(
        "session-start",
        "claude",
        claude("SessionStart", project),
        cwd=project,
        env=clean_env(CLAUDE_ENV_FILE=str(env_file), NANOSTACK_AGENT=CLAUDE_AGENT),
    )
    assert "HOLDING: build" in named.stdout
    assert not env_file.exists()


def test_codex_and_cursor_session_start(mid, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _store, sprint, _token = mid
    env_file = tmp_path / "codex-env"
    done = run_hook(
        "session-start",
        "codex",
        codex("SessionStart", project),
        cwd=project,
        env=clean_env(CODEX_ENV_FILE=str(env_file)),
    )
    assert done.returncode == 0
    assert "READY: you hold nothing" in done.stdout  # codex-7b21e0aa holds nothing now
    assert env_file.read_text() == f"export NANOSTACK_AGENT={CODEX_AGENT}\n"

    sprint.claim("docs", agent=CURSOR_AGENT, holder_pid=holder())
    cur = run_hook("session-start", "cursor", cursor("sessionStart", project), cwd=project)
    assert cur.returncode == 0, cur.stderr
    reply = json.loads(cur.stdout)
    assert "HOLDING: docs" in reply["additional_context"]
    assert reply["env"] == {"NANOSTACK_AGENT": CURSOR_AGENT}


def test_session_start_without_a_sprint_is_silent(tmp_path: Path) -> None:
    done = run_hook(
        "session-start",
        "claude",
        claude("SessionStart", str(tmp_path)),
        cwd=str(tmp_path),
        env=clean_env(HOME=str(tmp_path)),
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


# ---------------------------------------------------------------------- Stop


def test_stop_reminds_once_while_a_claim_is_held(mid) -> None:  # type: ignore[no-untyped-def]
    project, _store, sprint, token = mid
    done = run_hook("stop", "claude", claude("Stop", project), cwd=project)
    assert done.returncode == 0
    reply = json.loads(done.stdout)
    assert reply["decision"] == "block"
    assert f"you still hold build (token {token})" in reply["reason"]
    assert (
        "conductor complete build" in reply["reason"] and "conductor abort build" in reply["reason"]
    )
    assert "\n" not in reply["reason"]

    again = run_hook("stop", "claude", claude("Stop", project, stop_hook_active=True), cwd=project)
    assert (again.returncode, again.stdout) == (0, "")

    sprint.abort("build", agent=CLAUDE_AGENT, token=token)
    free = run_hook("stop", "claude", claude("Stop", project), cwd=project)
    assert (free.returncode, free.stdout) == (0, "")


def test_codex_and_cursor_stop(mid) -> None:  # type: ignore[no-untyped-def]
    project, _store, sprint, _token = mid
    sprint.claim("docs", agent=CODEX_AGENT, holder_pid=holder())
    sprint.claim("web", agent=CURSOR_AGENT, holder_pid=holder())
    cdx = run_hook("stop", "codex", codex("Stop", project), cwd=project)
    assert json.loads(cdx.stdout)["decision"] == "block"
    active = run_hook("stop", "codex", codex("Stop", project, stop_hook_active=True), cwd=project)
    assert active.stdout == ""
    cur = run_hook("stop", "cursor", cursor("stop", project), cwd=project)
    assert "you still hold web" in json.loads(cur.stdout)["followup_message"]
    looped = run_hook("stop", "cursor", cursor("stop", project, loop_count=1), cwd=project)
    assert (looped.returncode, looped.stdout) == (0, "")


# ---------------------------------------------------------------------- PreToolUse


def test_pre_tool_use_is_the_guard(world) -> None:  # type: ignore[no-untyped-def]
    project, _store, sprint = world
    owner = sprint.claim("think", agent=CLAUDE_AGENT, holder_pid=holder())  # a read phase
    blocked = run_hook("pre-tool-use", "claude", claude("PreToolUse", project), cwd=project)
    assert blocked.returncode == 2
    assert "holds only read phases (think)" in blocked.stderr
    assert len(blocked.stderr.strip().splitlines()) == 1
    sprint.abort("think", agent=CLAUDE_AGENT, token=owner.token)
    allowed = run_hook("pre-tool-use", "claude", claude("PreToolUse", project), cwd=project)
    assert (allowed.returncode, allowed.stderr) == (0, "")


def test_hooks_run_usage_errors() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "conductor_tui.agents.hooks", "run", "nope"],
        input=b"{}",
        capture_output=True,
        env=clean_env(),
    )
    assert bad.returncode == 0 and b"expected one of" in bad.stderr
    guard = subprocess.run(
        [sys.executable, "-m", "conductor_tui.agents.hooks", "run", "pre-tool-use", "--bogus"],
        input=b"{}",
        capture_output=True,
        env=clean_env(),
    )
    assert guard.returncode == 2
