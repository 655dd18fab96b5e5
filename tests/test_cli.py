"""Tests of the `conductor` command line: replies, --json, exit codes, run, hostile input, crashes.

Most tests call conductor_tui.cli.main in-process (capsys, environment and working directory set
with monkeypatch); a few run the real command in a subprocess, where exit codes, stderr and crash
injection (CONDUCTOR_CRASH_AT) are observed exactly as an agent sees them.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conductor_tui.core.errors import Fenced
from conductor_tui.core.liveness import iso
from conductor_tui.core.paths import TOKEN_RE, project_hash
from conductor_tui.core.store import Sprint, Store
from conductor_tui.tui.model import Loader
from tests.conftest import IDENTITY_VARS, Env, Result, conductor, subprocess_env

DEFAULT_NAMES = ["think", "plan", "build", "review", "security", "qa", "ship"]
ESC = "\x1b"
DAY = 86400.0

# A minimal valid hand-off: every artifact completed through the CLI must carry one (issue 5).
CHECKPOINT = {
    "summary": "Explored two designs; picked the session refresh.",
    "key_files": ["shop/session.py"],
    "decisions_made": ["refresh before payment"],
    "open_questions": [],
}


def assert_clean_error(result: Result, rc: int, needle: str = "") -> None:
    """A failure: the exact exit code, one clear line on stderr, no traceback, nothing on stdout."""
    assert result.rc == rc, result
    assert "Traceback" not in result.err and "Traceback" not in result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].split(":")[0] in ("ERROR", "REFUSED", "CLAIMED", "BLOCKED", "DONE")
    assert needle in lines[0]
    assert result.out == ""


def assert_usage_error(result: Result, needle: str = "") -> None:
    """An argparse usage error: exit 2, a last line `ERROR: ...`, no traceback."""
    assert result.rc == 2, result
    assert "Traceback" not in result.err
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("ERROR: ") and needle in last, result.err


def snapshot(root: str | Path) -> dict[str, tuple[int, bytes]]:
    out: dict[str, tuple[int, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            data = Path(path).read_bytes() if stat.S_ISREG(st.st_mode) else b""
            out[os.path.relpath(path, root)] = (stat.S_IFMT(st.st_mode), data)
    return out


# ---------------------------------------------------------------------- help and usage


def test_help_exits_zero_with_exit_codes(env: Env, cli) -> None:
    result = cli("--help")
    assert result.rc == 0
    assert result.out.startswith("usage: conductor")
    assert "Exit codes" in result.out
    for command in ("start", "claim", "reclaim", "unstuck", "status", "batch", "doctor", "run"):
        assert command in result.out


def test_unknown_command_is_exit_2(env: Env, cli) -> None:
    assert_usage_error(cli("frobnicate"), "invalid choice")


@pytest.mark.parametrize("ttl", ["0", "-5", "abc", "nan", "inf", "1e9", ""])
def test_bad_ttl_is_exit_2(started: Env, cli, ttl: str) -> None:
    assert_usage_error(cli("claim", "think", "--ttl", ttl), "--ttl")
    assert not os.path.lexists(os.path.join(started.phase("think"), "lock"))


def test_missing_phase_argument_is_exit_2(started: Env, cli) -> None:
    assert_usage_error(cli("claim"))


def test_no_command_means_status(started: Env, cli) -> None:
    result = cli()
    assert result.rc == 0
    assert result.out == cli("status").out


# ---------------------------------------------------------------------- errors with no sprint


def test_no_store_is_exit_2(env: Env, cli) -> None:
    for args in (("status",), ("claim", "think"), ("next",), ("why", "think")):
        result = cli(*args)
        assert_clean_error(result, 2, "no store")
        assert result.word == "ERROR"
    assert not os.path.exists(env.store)
    result = cli("status", "--json")
    assert result.rc == 2 and result.json["ok"] is False and result.json["word"] == "ERROR"


def test_no_active_sprint_is_exit_2(env: Env, cli) -> None:
    os.makedirs(os.path.join(env.store, "conductor"))
    result = cli("status")
    assert_clean_error(result, 2, "no active sprint")


def test_corrupt_sprint_json_is_exit_2(started: Env, cli) -> None:
    Path(started.sprint().path, "sprint.json").write_bytes(b'{"sprint_id": "x", "proj')
    for args in (("status",), ("claim", "think"), ("doctor",), ("log",)):
        result = cli(*args)
        assert_clean_error(result, 2, "malformed")


def test_binary_sprint_json_is_exit_2(started: Env, cli) -> None:
    Path(started.sprint().path, "sprint.json").write_bytes(b"\x00\xff\xfe\x9b[31m binary")
    result = cli("status")
    assert_clean_error(result, 2, "malformed")
    assert ESC not in result.err and "\x9b" not in result.err


def test_bad_sprint_and_project_options_are_exit_2(started: Env, cli) -> None:
    assert_clean_error(cli("status", "--sprint", "../../etc"), 2, "invalid sprint id")
    assert_clean_error(cli("status", "--sprint", "0123456789ab-20200101-000000"), 2, "no sprint")
    assert_clean_error(cli("status", "--project", str(started.tmp / "nowhere")), 2, "--project")


# ---------------------------------------------------------------------- start


def test_start_human_and_json(env: Env, cli) -> None:
    result = cli("start")
    assert result.rc == 0 and result.word == "OK"
    assert result.out.startswith("OK: started ")
    assert "7 phases" in result.out
    sprint = env.sprint()
    assert sprint.sprint_id in result.out
    assert sprint.record.project == env.project
    again = cli("start", "--json")
    assert again.rc == 0
    data = again.json
    assert data["ok"] is True and data["word"] == "OK"
    assert data["phases"] == DEFAULT_NAMES
    assert data["sprint_id"] != sprint.sprint_id
    assert os.path.isdir(data["path"])
    assert env.sprint().sprint_id == data["sprint_id"]


def test_start_with_inline_phases(env: Env, cli) -> None:
    spec = '[{"name": "alpha"}, {"name": "beta", "depends_on": ["alpha"]}]'
    result = cli("start", "--phases", spec, "--json")
    assert result.rc == 0
    assert result.json["phases"] == ["alpha", "beta"]
    assert [p.name for p in env.sprint().record.phases] == ["alpha", "beta"]


def test_start_with_phases_file(env: Env, cli) -> None:
    path = Path(env.tmp, "graph.json")
    path.write_text(json.dumps([{"name": "one"}, {"name": "two", "depends_on": ["one"]}]))
    result = cli("start", "--phases", str(path))
    assert result.rc == 0, result
    assert [p.name for p in env.sprint().record.phases] == ["one", "two"]


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("[]", "empty"),
        ('[{"name": "A"}]', "invalid"),
        ('[{"name": "a"}, {"name": "a"}]', "duplicate"),
        ('[{"name": "a", "depends_on": ["b"]}, {"name": "b", "depends_on": ["a"]}]', "cycle"),
        ('[{"name": "a", "depends_on": ["zz"]}]', "unknown"),
        ("[{", "not valid JSON"),
        ('[{"name": "a", "name": "b"}]', "not valid JSON"),
        ("missing-file.json", "no such file"),
    ],
)
def test_start_refuses_invalid_phases(env: Env, cli, spec: str, needle: str) -> None:
    before = snapshot(env.tmp)
    result = cli("start", "--phases", spec)
    assert_clean_error(result, 2, needle)
    assert snapshot(env.tmp) == before


def test_start_refused_while_live_lock_then_forced(started: Env, cli) -> None:
    old = started.sprint().sprint_id
    assert cli("claim", "think", "--pid", str(os.getpid())).rc == 0
    result = cli("start")
    assert_clean_error(result, 1, "live locks")
    assert result.word == "REFUSED"
    assert started.sprint().sprint_id == old
    forced = cli("start", "--force")
    assert forced.rc == 0
    assert started.sprint().sprint_id != old


# ---------------------------------------------------------------------- claim


def test_claim_human_and_json(started: Env, cli) -> None:
    result = cli("claim", "think")
    assert result.rc == 0 and result.word == "OK"
    assert result.out.startswith("OK: claimed 'think' as agent-a (token ")
    sprint = started.sprint()
    lock = sprint.view().phase("think").lock
    assert lock is not None and lock.token is not None and lock.token in result.out
    assert cli("abort", "think").rc == 0
    data = cli("claim", "think", "--json", "--ttl", "90").json
    assert data["ok"] is True and data["word"] == "OK"
    assert TOKEN_RE.fullmatch(data["token"]) and data["epoch"] == 2
    assert data["owner"]["agent"] == "agent-a" and data["owner"]["ttl_s"] == 90.0
    assert data["owner"]["phase"] == "think"


def test_claim_refusals_words_and_exit_codes(started: Env, cli) -> None:
    assert cli("claim", "think").rc == 0
    held = cli("claim", "think", "--agent", "agent-b")
    assert_clean_error(held, 1, "agent-a")
    assert held.word == "CLAIMED"
    held_json = cli("claim", "think", "--agent", "agent-b", "--json")
    assert held_json.rc == 1 and held_json.err == ""
    assert held_json.json == {
        "ok": False,
        "word": "CLAIMED",
        "error": "held",
        "message": held_json.json["message"],
    }
    blocked = cli("claim", "plan")
    assert_clean_error(blocked, 1, "think")
    assert blocked.word == "BLOCKED"
    assert cli("claim", "plan", "--json").json["error"] == "blocked"
    assert cli("complete", "think").rc == 0
    done = cli("claim", "think", "--agent", "agent-b")
    assert_clean_error(done, 1)
    assert done.word == "DONE"
    assert cli("claim", "think", "--json").json["error"] == "done"


@pytest.mark.parametrize("phase", ["../x", "a/b", "A", "x\n", "\x1b[31m", "a" * 10240, "deploy"])
def test_claim_hostile_phase_is_exit_2_and_touches_nothing(started: Env, cli, phase: str) -> None:
    before = snapshot(started.tmp)
    result = cli("claim", phase)
    assert_clean_error(result, 2)
    assert result.word == "ERROR"
    assert ESC not in result.err
    assert len(result.err) < 1000
    assert snapshot(started.tmp) == before


@pytest.mark.parametrize(
    "agent", ["../x", "a/b", "a b", "\x1b[31mred", "x" * 200, "bob\n", "-rf"], ids=repr
)
def test_hostile_agent_option_is_exit_2(started: Env, cli, agent: str) -> None:
    before = snapshot(started.tmp)
    result = cli("claim", "think", f"--agent={agent}")
    assert result.rc == 2, result
    assert "Traceback" not in result.err
    assert ESC not in result.err + result.out
    assert snapshot(started.tmp) == before


def test_empty_agent_option_is_refused_not_ignored(started: Env, cli) -> None:
    result = cli("claim", "think", "--agent=")
    assert result.rc == 2, result
    assert not os.path.lexists(os.path.join(started.phase("think"), "lock"))


@pytest.mark.parametrize("agent", ["\x1b[31mx", "a/b", "x y"])
def test_hostile_nanostack_agent_is_exit_2(
    started: Env, cli, monkeypatch: pytest.MonkeyPatch, agent: str
) -> None:
    monkeypatch.setenv("NANOSTACK_AGENT", agent)
    result = cli("claim", "think")
    assert_clean_error(result, 2, "invalid agent name")
    assert ESC not in result.err


# ---------------------------------------------------------------------- heartbeat, complete, abort


def test_heartbeat_human_and_json(started: Env, cli) -> None:
    token = cli("claim", "think", "--json").json["token"]
    result = cli("heartbeat", "think")
    assert result.rc == 0 and result.out.startswith("OK: lease of 'think' extended")
    data = cli("heartbeat", "think", "--token", token, "--ttl", "120", "--json").json
    assert data["ok"] is True and data["token"] == token and data["owner"]["ttl_s"] == 120.0
    other = cli("heartbeat", "think", "--agent", "agent-b")
    assert_clean_error(other, 1)
    assert other.word == "REFUSED"
    assert cli("heartbeat", "think", "--agent", "agent-b", "--json").json["error"] == "not_owner"


def test_complete_with_artifact_human_and_json(started: Env, cli) -> None:
    art = Path(started.project, "think.json")
    art.write_text(json.dumps({"ideas": ["a"], "context_checkpoint": CHECKPOINT}))
    token = cli("claim", "think", "--json").json["token"]
    result = cli("complete", "think", "--token", token, "--artifact", str(art))
    assert result.rc == 0, result
    assert result.out.startswith("OK: completed 'think' with ")
    assert "sha256" in result.out
    done = json.loads(Path(started.phase("think"), "done").read_text())
    assert done["artifact"] == str(art) and done["token"] == token
    cli("claim", "plan")
    data = cli("complete", "plan", "--json").json
    assert data["ok"] is True and data["done"]["agent"] == "agent-a"
    assert data["done"]["artifact"] == ""


def test_complete_refusals(started: Env, cli, tmp_path: Path) -> None:
    token = cli("claim", "think", "--json").json["token"]
    not_owner = cli("complete", "think", "--agent", "agent-b")
    assert_clean_error(not_owner, 1, "agent-a")
    assert not_owner.word == "REFUSED"
    wrong = cli("complete", "think", "--token", "1-" + "0" * 16)
    assert_clean_error(wrong, 1)
    assert_clean_error(cli("complete", "think", "--token", "garbage"), 2, "invalid token")
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    assert_clean_error(cli("complete", "think", "--artifact", str(outside)), 2, "outside")
    bad = Path(started.project, "bad.json")
    bad.write_text('{"a": NaN}')
    assert_clean_error(cli("complete", "think", "--artifact", str(bad)), 2, "not valid JSON")
    assert not os.path.exists(os.path.join(started.phase("think"), "done"))
    forced = cli("complete", "think", "--agent", "lead", "--force")
    assert forced.rc == 0
    assert json.loads(Path(started.phase("think"), "done").read_text())["token"] == token


def test_abort_human_json_owner_and_force(started: Env, cli) -> None:
    cli("claim", "think")
    other = cli("abort", "think", "--agent", "agent-b")
    assert_clean_error(other, 1, "agent-a")
    assert other.word == "REFUSED"
    result = cli("abort", "think")
    assert result.rc == 0 and result.out.startswith("OK: 'think' released (was held by 'agent-a')")
    cli("claim", "think")
    data = cli("abort", "think", "--agent", "agent-b", "--force", "--json").json
    assert data["ok"] is True and data["was"] == "agent-a"
    not_claimed = cli("abort", "think")
    assert_clean_error(not_claimed, 1, "not claimed")


# ---------------------------------------------------------------------- reclaim / unstuck


@pytest.mark.parametrize("verb", ["reclaim", "unstuck"])
def test_reclaim_stale_and_refused_when_held(
    started: Env, cli, dead_pid_cli: str, verb: str
) -> None:
    cli("claim", "think", "--pid", str(os.getpid()))
    held = cli(verb, "think", "--agent", "agent-b")
    assert_clean_error(held, 1, "not stale")
    assert held.word == "REFUSED"
    assert cli(verb, "think", "--agent", "agent-b", "--json").json["error"] == "not_stale"
    assert cli("abort", "think").rc == 0

    token = cli("claim", "think", "--pid", dead_pid_cli, "--json").json["token"]
    result = cli(verb, "think", "--agent", "agent-b")
    assert result.rc == 0, result
    assert result.out.startswith("OK: reclaimed 'think' from 'agent-a' (stale")
    fenced = cli("complete", "think", "--token", token)
    assert_clean_error(fenced, 1, "fenced")
    assert fenced.word == "REFUSED"
    assert cli("heartbeat", "think", "--token", token, "--json").json["error"] == "fenced"
    assert not os.path.exists(os.path.join(started.phase("think"), "done"))
    events = [
        json.loads(line) for line in Path(started.store, "audit.log").read_text().splitlines()
    ]
    assert any(e["event"] == "sprint_unstuck" and e["resource"] == "think" for e in events)


def test_reclaim_json_and_force(started: Env, cli) -> None:
    cli("claim", "think", "--pid", str(os.getpid()))
    data = cli("reclaim", "think", "--force", "--agent", "lead", "--json").json
    assert data["ok"] is True and data["was"]["agent"] == "agent-a"
    assert data["was"]["verdict"] == "held"
    assert_clean_error(cli("reclaim", "think"), 1, "not locked")


# ---------------------------------------------------------------------- status, next, why


def test_status_human(started: Env, cli) -> None:
    cli("claim", "think")
    result = cli("status")
    assert result.rc == 0
    lines = result.out.splitlines()
    sprint = started.sprint()
    assert lines[0].startswith(f"sprint {sprint.sprint_id}  {started.project}  (active)  0/7 done")
    rows = {line.split()[1]: line.split()[2] for line in lines[2:]}
    assert rows == {
        "think": "held",
        "plan": "blocked",
        "build": "blocked",
        "review": "blocked",
        "security": "blocked",
        "qa": "blocked",
        "ship": "blocked",
    }
    assert "agent-a" in lines[2]


def test_status_json_keeps_upstream_keys(started: Env, cli, dead_pid_cli: str) -> None:
    cli("claim", "think")
    cli("complete", "think")
    cli("claim", "plan", "--pid", dead_pid_cli)
    data = cli("status", "--json").json
    assert data["ok"] is True
    assert data["sprint_id"] == started.sprint().sprint_id
    assert data["done"] == 1 and data["total"] == 7
    assert list(data["phases"]) == DEFAULT_NAMES
    for phase in data["phases"].values():
        assert list(phase)[:3] == ["state", "agent", "at"]
    think, plan, build = (data["phases"][n] for n in ("think", "plan", "build"))
    assert (think["state"], think["agent"], think["status"]) == ("done", "agent-a", "done")
    assert think["at"] == think["done"]["completed_at"]
    assert (plan["state"], plan["agent"], plan["status"]) == ("running", "agent-a", "stale")
    assert plan["at"] == plan["lock"]["claimed_at"]
    assert (build["state"], build["agent"], build["at"], build["status"]) == (
        "pending",
        "",
        "",
        "blocked",
    )


def test_next_human_and_json(started: Env, cli) -> None:
    assert cli("next").out == "READY: think\n"
    cli("claim", "think")
    waiting = cli("next")
    assert waiting.rc == 0 and waiting.out.startswith("WAIT: ")
    data = cli("next", "--json").json
    assert data["message"].startswith("nothing is claimable now; in progress or blocked: ")
    assert data == {
        "ok": True,
        "word": "WAIT",
        "message": data["message"],
        "ready": [],
        "remaining": DEFAULT_NAMES,
    }
    cli("complete", "think")
    assert cli("next", "--json").json["ready"] == ["plan"]
    for phase in DEFAULT_NAMES[1:]:
        assert cli("claim", phase).rc == 0
        assert cli("complete", phase).rc == 0
    assert cli("next").out == "DONE: every phase is complete\n"


def test_why_human_and_json(started: Env, cli) -> None:
    ready = cli("why", "think")
    assert ready.rc == 0 and ready.out.splitlines()[0] == "READY: think"
    blocked = cli("why", "plan")
    assert blocked.out.splitlines()[0] == "BLOCKED: plan"
    assert "requires 'think'" in blocked.out
    cli("claim", "think")
    data = cli("why", "think", "--json").json
    assert data["ok"] is True and data["phase"] == "think" and data["status"] == "held"
    assert any("agent-a" in r for r in data["reasons"])
    assert_clean_error(cli("why", "../etc"), 2)


# ---------------------------------------------------------------------- batch, log, clean, doctor


def test_batch_human_is_upstream_json_lines(started: Env, cli) -> None:
    result = cli("batch")
    assert result.rc == 0
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert lines[0] == {"batch": 1, "type": "read", "phases": ["think"]}
    assert [b["batch"] for b in lines] == list(range(1, len(lines) + 1))
    flat = [p for b in lines for p in b["phases"]]
    assert sorted(flat) == sorted(DEFAULT_NAMES)
    assert flat.index("ship") == len(flat) - 1
    cli("claim", "think")
    cli("complete", "think")
    after = [json.loads(line) for line in cli("batch").out.splitlines()]
    assert "think" not in [p for b in after for p in b["phases"]]
    data = cli("batch", "--json").json
    assert data["ok"] is True and data["classes"]["build"] == "write"
    assert [b["phases"] for b in data["batches"]] == [b["phases"] for b in after]


def test_log_human_and_json(started: Env, cli) -> None:
    cli("claim", "think")
    cli("complete", "think")
    result = cli("log")
    assert result.rc == 0
    names = [line.split()[1] for line in result.out.splitlines()]
    assert names == ["sprint_start", "sprint_claim", "sprint_complete"]
    data = cli("log", "--json", "-n", "2").json
    assert [e["event"] for e in data["events"]] == ["sprint_claim", "sprint_complete"]
    assert data["events"][0]["resource"] == "think"
    assert data["events"][0]["detail"] == "agent-a"


def test_log_reports_malformed_lines(started: Env, cli) -> None:
    with open(os.path.join(started.store, "audit.log"), "ab") as fh:
        fh.write(b"this is not json\n\x00\xff\n")
    result = cli("log", "--all")
    assert result.rc == 0
    bad = [line for line in result.out.splitlines() if line.startswith("! ")]
    assert len(bad) == 2 and all("malformed" in line for line in bad)
    data = cli("log", "--all", "--json").json
    assert sum(isinstance(e, str) for e in data["events"]) == 2


def test_log_never_prints_escapes_from_the_audit_file(started: Env, cli) -> None:
    line = {
        "at": "\x1b[2J\x1b[H2026-11-18T00:00:00Z",
        "event": "\x1b[31msprint_claim",
        "resource": "\x1b]0;pwned\x07",
        "detail": "\x1b[5mblink",
    }
    with open(os.path.join(started.store, "audit.log"), "a") as fh:
        fh.write(json.dumps(line) + "\n")
    for args in (("log", "--all"), ("log",), ("log", "--json")):
        result = cli(*args)
        assert result.rc == 0
        assert ESC not in result.out and ESC not in result.err, args


def test_clean_human_json_and_all(started: Env, cli, tmp_path: Path) -> None:
    first = started.sprint()
    cli("start")  # archives first
    second = started.sprint()
    other = tmp_path / "other"
    other.mkdir()
    cli("start", "--project", str(other))
    cli("start", "--project", str(other))  # archives the other project's first sprint
    now = time.time()
    conductor_dir = os.path.join(started.store, "conductor")
    for name in os.listdir(conductor_dir):
        os.utime(os.path.join(conductor_dir, name, "sprint.json"), (now - 8 * DAY, now - 8 * DAY))
    result = cli("clean")
    assert result.rc == 0 and result.out == "OK: removed 1 archived sprint(s) older than 7 days\n"
    assert not os.path.exists(first.path) and os.path.exists(second.path)
    assert len(os.listdir(conductor_dir)) == 3
    data = cli("clean", "--all", "--json").json
    assert data["ok"] is True and len(data["removed"]) == 1
    assert data["removed"][0].startswith(project_hash(str(other)))
    assert sorted(os.listdir(conductor_dir)) == sorted(
        [second.sprint_id, Store(started.store).find_active(str(other)).sprint_id]  # type: ignore[union-attr]
    )
    assert cli("clean", "--all", "--json").json["removed"] == []


def test_doctor_human_json_and_fix(started: Env, cli) -> None:
    healthy = cli("doctor")
    assert healthy.rc == 0 and healthy.out.startswith("OK: sprint ")
    sentinel = os.path.join(started.phase("think"), "lock.d")
    os.mkdir(sentinel)
    found = cli("doctor")
    assert found.rc == 1
    assert "would fix" in found.out and "orphan lock.d" in found.out
    assert "doctor --fix" in found.err
    assert os.path.isdir(sentinel)
    data = cli("doctor", "--json").json
    assert data["ok"] is False
    assert data["findings"][0]["phase"] == "think" and data["findings"][0]["fixed"] is False
    fixed = cli("doctor", "--fix")
    assert fixed.rc == 0 and "fixed" in fixed.out
    assert not os.path.exists(sentinel)
    healthy = cli("doctor", "--json").json
    assert healthy == {
        "ok": True,
        "word": "OK",
        "message": healthy["message"],
        "findings": [],
    }
    assert healthy["message"].endswith(" is healthy")


def test_doctor_finishes_an_interrupted_release(started: Env, cli) -> None:
    token = cli("claim", "think", "--json").json["token"]
    think = started.phase("think")
    nonce = "5eed5eed"
    record = {"agent": "agent-a", "completed_at": iso(time.time()), "artifact": "", "token": token}
    Path(think, f".done-{token}-{nonce}").write_text(json.dumps(record))
    os.rename(
        os.path.join(think, "lock", token), os.path.join(think, "history", f"{token}@done-{nonce}")
    )
    assert cli("doctor").rc == 1
    assert cli("doctor", "--fix").rc == 0
    assert json.loads(Path(think, "done").read_text())["token"] == token
    assert cli("status", "--json").json["phases"]["think"]["state"] == "done"
    assert cli("doctor").rc == 0


# ---------------------------------------------------------------------- every command's --json


def test_every_command_json_is_one_object(started: Env, cli, dead_pid_cli: str) -> None:
    art = Path(started.project, "a.json")
    art.write_text(json.dumps({"context_checkpoint": CHECKPOINT}))
    token = cli("claim", "think", "--json").json["token"]
    commands = [
        ("heartbeat", "think", "--token", token),
        ("status",),
        ("next",),
        ("why", "think"),
        ("batch",),
        ("log",),
        ("doctor",),
        ("complete", "think", "--artifact", str(art)),
        ("claim", "plan", "--pid", dead_pid_cli),
        ("reclaim", "plan", "--agent", "agent-b"),
        ("claim", "plan"),
        ("abort", "plan"),
        ("clean",),
        ("claim", "plan", "--agent", "agent-b"),
        ("claim", "plan"),  # refused: held
        ("start",),  # refused: live lock
        ("start", "--force"),
    ]
    for args in commands:
        result = cli(*args, "--json")
        data = result.json
        assert data["ok"] is (result.rc == 0), (args, result)
        assert "Traceback" not in result.err


# ---------------------------------------------------------------------- untrusted text


def _write_hostile_records(env: Env) -> None:
    sprint = env.sprint()
    think = os.path.join(sprint.path, "think")
    os.mkdir(os.path.join(think, "lock.d"))
    meta = {
        "agent": "\x1b[31mevil\x1b[0m\x07\x9b2J",
        "claimed_at": "\x1b[2J2026",
        "pid": 1,
    }
    Path(think, "lock.d", "meta.json").write_text(json.dumps(meta))
    os.rename(os.path.join(think, "lock.d"), os.path.join(think, "lock"))
    sj = Path(sprint.path, "sprint.json")
    raw = json.loads(sj.read_text())
    raw["started_by"] = "\x1b]0;owned\x07"
    raw["x-note"] = "\x1b[8m"
    sj.write_text(json.dumps(raw))


def test_control_characters_from_disk_never_reach_the_terminal(started: Env, cli) -> None:
    _write_hostile_records(started)
    runs = [
        ("status",),
        ("status", "--json"),
        ("next",),
        ("next", "--json"),
        ("why", "think"),
        ("why", "think", "--json"),
        ("claim", "think"),
        ("claim", "think", "--json"),
        ("abort", "think"),
        ("heartbeat", "think"),
        ("doctor",),
        ("doctor", "--json"),
        ("batch",),
        ("log",),
        ("reclaim", "think"),
        ("reclaim", "think", "--force", "--json"),
    ]
    for args in runs:
        result = cli(*args)
        assert "Traceback" not in result.err, args
        assert ESC not in result.out and ESC not in result.err, (args, result)
        if "--json" not in args:
            assert "\x9b" not in result.out + result.err, (args, result)
            assert "\x07" not in result.out + result.err, (args, result)


def test_control_characters_in_the_project_path(env: Env, cli, monkeypatch) -> None:
    project = env.tmp / "proj\x1b[31m\x9bred"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("PWD", str(project))
    for args in (("status",), ("start",), ("status",), ("status", "--json"), ("why", "think")):
        result = cli(*args)
        assert ESC not in result.out + result.err, (args, result)
    assert cli("status").rc == 0


def test_control_characters_in_a_phase_name_on_disk(started: Env, cli) -> None:
    sj = Path(started.sprint().path, "sprint.json")
    raw = json.loads(sj.read_text())
    raw["phases"][0]["name"] = "\x1b[31mthink"
    sj.write_text(json.dumps(raw))
    result = cli("status")
    assert_clean_error(result, 2)
    assert ESC not in result.err


# ---------------------------------------------------------------------- identity


def test_unstable_identity_warning(started: Env, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in IDENTITY_VARS:
        monkeypatch.delenv(var, raising=False)
    result = cli("claim", "think")
    assert result.rc == 0, result
    assert result.err.startswith("warning: agent name 'agent-")
    assert "NANOSTACK_AGENT" in result.err and "--agent" in result.err
    assert result.out.startswith("OK: claimed")
    explicit = cli("heartbeat", "think", "--agent", started.sprint().view().phase("think").agent)
    assert explicit.rc == 0 and explicit.err == ""
    monkeypatch.setenv("NANOSTACK_AGENT", "stable-1")
    stable = cli("claim", "plan")
    assert "warning" not in stable.err


def test_session_ids_give_stable_names(started: Env, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NANOSTACK_AGENT")
    monkeypatch.setenv("CODEX_SESSION_ID", "7b21e0aa-ffff-4444")
    result = cli("claim", "think", "--json")
    assert result.rc == 0 and result.err == ""
    assert result.json["owner"]["agent"] == "codex-7b21e0aa"


# ---------------------------------------------------------------------- run (real subprocesses)


def test_run_failing_command_aborts_and_returns_its_code(started: Env) -> None:
    result = conductor(started, "run", "think", "--", "sh", "-c", "exit 3")
    assert result.rc == 3, result
    assert result.out.splitlines()[0].startswith("OK: claimed 'think'")
    # think is a read phase: its command ran under the kernel sandbox, and the message says so
    assert result.out.splitlines()[-1] == (
        "OK: aborted 'think': command exited 3; it ran read-only under the sandbox, which "
        f"refuses every write into {started.project} (docs/SANDBOX.md)"
    )
    think = started.phase("think")
    assert not os.path.exists(os.path.join(think, "done"))
    assert not os.path.lexists(os.path.join(think, "lock"))
    assert not os.path.lexists(os.path.join(think, "lock.d"))
    assert any("@aborted-" in h for h in os.listdir(os.path.join(think, "history")))
    assert started.sprint().view().phase("think").status == "ready"


def test_run_successful_command_completes(started: Env) -> None:
    result = conductor(started, "run", "think", "--", "true")
    assert result.rc == 0, result
    assert result.out.splitlines()[-1] == "OK: completed 'think'"
    done = json.loads(Path(started.phase("think"), "done").read_text())
    assert done["agent"] == "agent-a" and done["artifact"] == ""
    assert not os.path.lexists(os.path.join(started.phase("think"), "lock.d"))


def test_run_killed_command_reports_128_plus_signal(started: Env) -> None:
    result = conductor(started, "run", "think", "--", "sh", "-c", "kill -TERM $$")
    assert result.rc == 143, result
    assert started.sprint().view().phase("think").status == "ready"


def test_run_with_artifact_before_the_phase(started: Env) -> None:
    art = Path(started.project, "plan.json")
    art.write_text(json.dumps({"steps": 3, "context_checkpoint": CHECKPOINT}))
    result = conductor(started, "run", "--artifact", str(art), "think", "--", "true")
    assert result.rc == 0, result
    done = json.loads(Path(started.phase("think"), "done").read_text())
    assert done["artifact"] == str(art) and len(done["sha256"]) == 64
    assert os.readlink(os.path.join(started.phase("think"), "artifact.json")) == str(art)


def test_run_with_options_after_the_phase(started: Env) -> None:
    # `run PHASE --artifact F -- CMD`: the options belong to run, not to the command
    art = Path(started.project, "plan.json")
    art.write_text(json.dumps({"steps": 3, "context_checkpoint": CHECKPOINT}))
    result = conductor(started, "run", "think", "--artifact", str(art), "--", "true")
    assert result.rc == 0, result
    done = json.loads(Path(started.phase("think"), "done").read_text())
    assert done["artifact"] == str(art)


def test_run_with_a_bad_artifact_releases_the_claim(started: Env) -> None:
    bad = Path(started.project, "bad.json")
    bad.write_text("{nope")
    result = conductor(started, "run", "--artifact", str(bad), "think", "--", "true")
    assert result.rc == 2, result
    assert "Traceback" not in result.err and "ERROR:" in result.err
    assert not os.path.exists(os.path.join(started.phase("think"), "done"))
    assert started.sprint().view().phase("think").status == "ready"


def test_run_without_a_command_or_with_a_missing_one(started: Env) -> None:
    assert_clean_error(conductor(started, "run", "think"), 2, "needs a command")
    missing = conductor(started, "run", "think", "--", "/nonexistent/cmd-xyz")
    assert missing.rc == 2 and "Traceback" not in missing.err
    assert started.sprint().view().phase("think").status == "ready"
    blocked = conductor(started, "run", "plan", "--", "true")
    assert_clean_error(blocked, 1, "think")
    assert blocked.word == "BLOCKED"


def test_run_json_is_one_object(started: Env) -> None:
    result = conductor(started, "--json", "run", "think", "--", "true")
    assert result.rc == 0, result
    data = result.json  # exactly one JSON object on stdout
    assert data["ok"] is True


# ---------------------------------------------------------------------- real subprocess basics


def test_subprocess_exit_codes_and_streams(started: Env, dead_pid_cli: str) -> None:
    status = conductor(started, "status", "--json")
    assert status.rc == 0 and status.json["total"] == 7
    claim = conductor(started, "claim", "think", "--pid", str(os.getpid()))
    assert claim.rc == 0 and claim.out.startswith("OK: claimed 'think' as agent-a")
    refused = conductor(started, "claim", "think", "--agent", "agent-b")
    assert_clean_error(refused, 1, "agent-a")
    assert refused.word == "CLAIMED"
    usage = conductor(started, "no-such-command")
    assert_usage_error(usage, "invalid choice")
    bad_ttl = conductor(started, "claim", "plan", "--ttl", "-1")
    assert_usage_error(bad_ttl, "--ttl")
    Path(started.sprint().path, "sprint.json").write_text("{")
    corrupt = conductor(started, "status")
    assert_clean_error(corrupt, 2, "malformed")


def test_console_script_runs(started: Env) -> None:
    script = Path(sys.executable).with_name("conductor")
    if not script.exists():
        pytest.skip("console script not installed beside the interpreter")
    proc = subprocess.run(
        [str(script), "next"],
        cwd=started.project,
        env=subprocess_env(started),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout) == (0, "READY: think\n")


# ---------------------------------------------------------------------- crash points


CRASHES = [
    ("claim", "claim.staged"),
    ("claim", "claim.published"),
    ("heartbeat", "heartbeat.owner"),
    ("complete", "complete.staged"),
    ("complete", "done.renamed"),
    ("complete", "complete.committed"),
    ("complete", "complete.published"),
    ("complete", "release.mirror"),
    ("abort", "aborted.renamed"),
    ("abort", "abort.committed"),
    ("abort", "release.mirror"),
    ("reclaim", "reclaimed.renamed"),
    ("reclaim", "reclaim.committed"),
    ("reclaim", "release.mirror"),
]


def _crash(env: Env, cli, op: str, point: str, dead: str) -> str:
    """Set the phase up, run op in a subprocess that dies at point; the claim's token, or ''."""
    token = ""
    if op == "reclaim":
        token = cli("claim", "think", "--pid", dead, "--json").json["token"]
        args = ["reclaim", "think", "--agent", "agent-b"]
    elif op == "claim":
        args = ["claim", "think", "--pid", dead]
    else:
        token = cli("claim", "think", "--pid", str(os.getpid()), "--json").json["token"]
        args = [op, "think", "--token", token]
    result = conductor(env, *args, CONDUCTOR_CRASH_AT=point)
    assert result.rc == 86, (point, result)  # the crash point was reached
    return token


def _recover(sprint: Sprint, op: str, token: str) -> None:
    """What an operator or the next agent does: doctor --fix, reclaim a stale lock, retry."""
    sprint.doctor(fix=True)
    pv = sprint.view().phase("think")
    if pv.status == "stale":
        sprint.reclaim("think", agent="agent-b")
    elif op in ("complete", "heartbeat") and pv.status == "held":
        sprint.complete("think", agent="agent-a", token=token)
    sprint.doctor(fix=True)


@pytest.mark.parametrize(("op", "point"), CRASHES)
def test_every_crash_point_is_recoverable(
    started: Env, cli, dead_pid_cli: str, op: str, point: str
) -> None:
    token = _crash(started, cli, op, point, dead_pid_cli)
    sprint = Store(started.store).find_active(started.project)
    assert sprint is not None
    view = sprint.view()  # never an exception
    assert view.phase("think").status != "malformed"
    # what people look at shows the crashed state too: the app's reader and `conductor status`
    snap = Loader(Store(started.store), started.project).load()
    assert snap.view is not None and snap.error is None
    assert snap.view.phase("think").status == view.phase("think").status
    shown = cli("status")
    assert shown.rc == 0 and "think" in shown.out
    if op == "abort" or op == "reclaim" or op == "claim":
        assert view.phase("think").status != "done"
    _recover(sprint, op, token)
    assert sprint.doctor() == []
    think = sprint.phase_dir("think")
    if op in ("complete", "heartbeat"):
        assert sprint.view().phase("think").status == "done"
        assert json.loads(Path(think, "done").read_text())["token"] == token
    else:
        assert sprint.view().phase("think").status == "ready"
        owner = sprint.claim("think", agent="agent-c", holder_pid=os.getpid())
        assert owner.epoch >= 2 if token else owner.epoch >= 1
    assert [n for n in os.listdir(think) if n.startswith(".")] == []
    if token:
        with pytest.raises(Fenced, match="fenced"):
            sprint.heartbeat("think", agent="agent-a", token=token)


@pytest.mark.parametrize("op", ["complete", "abort", "reclaim"])
def test_one_doctor_fix_heals_a_crash_during_release(
    started: Env, cli, dead_pid_cli: str, op: str
) -> None:
    _crash(started, cli, op, "release.mirror", dead_pid_cli)
    fixed = cli("doctor", "--fix")
    assert fixed.rc == 0, fixed
    after = cli("doctor")
    assert after.rc == 0 and after.out.startswith("OK: sprint "), after
    assert not os.path.lexists(os.path.join(started.phase("think"), "lock.d"))


def test_sprint_sh_and_nanostack_get_their_arguments_untouched(started: Env, cli) -> None:
    """`conductor sprint-sh ...` and `conductor nanostack ...` are handed everything after their
    name (upstream's `claim PHASE --agent NAME` is positional), and are listed in --help."""
    status = cli("sprint-sh", "status")
    assert status.rc == 0, status
    assert json.loads(status.out)["phases"]["think"]["state"] == "pending"
    claimed = cli("sprint-sh", "claim", "think", "--agent", "agent-z")
    assert (claimed.rc, claimed.out) == (0, "OK\n")
    assert cli("--json", "status").json["phases"]["think"]["agent"] == "agent-z"
    assert cli("nanostack").rc == 2  # its own usage, not ours
    listed = cli("--help").out
    assert "sprint-sh" in listed and "nanostack" in listed
