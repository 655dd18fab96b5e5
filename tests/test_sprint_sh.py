"""`conductor sprint-sh`: nanostack's sprint.sh, reply for reply, over our store.

Every expected output here was taken from running upstream's script (conductor/bin/sprint.sh
with bash and jq) on the same steps; the tests hold those replies, never upstream's code. Each
runs the real command in its own process (`python -m conductor_tui.nanostack.sprint_sh`) in a
real project directory with a real store. Where we differ on purpose (docs/NANOSTACK.md lists
each difference and why), the test says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core.store import Store
from conductor_tui.nanostack import upstream
from conductor_tui.nanostack.session import mirrored, render

USAGE = "Usage: sprint.sh <start|claim|complete|abort|status|batch|clean|next|unstuck>\n"
BAD_GRAPH = (
    "ERROR: invalid phase graph (cycle, duplicate name, dangling depends_on, or unknown name)\n"
    "       Fix --phases / .nanostack/config.json:phase_graph or omit both to use the default.\n"
)
HOLD_HINT = "Pass --force only if you are sure that process is no longer doing useful work.\n"
IDENTITY = ("NANOSTACK_AGENT", "CLAUDE_SESSION_ID", "CLAUDE_CODE", "CLAUDECODE")
IDENTITY += ("CODEX_SESSION_ID", "OPENCODE_SESSION_ID", "NANOSTACK_ROOT", "CONDUCTOR_CRASH_AT")


@dataclass
class Out:
    """One run: exit code, stdout, stderr."""

    rc: int
    out: str
    err: str


@dataclass
class Sandbox:
    """A project, its store and a home of its own; `sh` runs sprint-sh there."""

    tmp: Path
    project: str
    store: str
    home: str

    def env(self, agent: str | None = "alice", **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in IDENTITY}
        env.update(NANOSTACK_STORE=self.store, HOME=self.home, PWD=self.project)
        if agent is not None:
            env["NANOSTACK_AGENT"] = agent
        env.update(extra)
        return env

    def sh(
        self, *args: str, agent: str | None = "alice", cwd: str | None = None, **extra: str
    ) -> Out:
        env = self.env(agent, **extra)
        if cwd is not None:
            env["PWD"] = cwd
        proc = subprocess.run(
            [sys.executable, "-m", "conductor_tui.nanostack.sprint_sh", *args],
            cwd=cwd or self.project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return Out(proc.returncode, proc.stdout, proc.stderr)

    def sprint_dir(self) -> str:
        found = Store(self.store).find_active(self.project)
        assert found is not None
        return found.path

    def phase(self, name: str) -> str:
        return os.path.join(self.sprint_dir(), name)

    def config(self, doc: dict[str, Any]) -> None:
        os.makedirs(self.store, exist_ok=True)
        Path(self.store, "config.json").write_text(json.dumps(doc))


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    project = tmp_path / "project"
    project.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    return Sandbox(tmp_path, str(project), str(tmp_path / "store"), str(home))


@pytest.fixture
def started(box: Sandbox) -> Sandbox:
    assert box.sh("start").rc == 0
    return box


def graph(*edges: tuple[str, list[str]]) -> str:
    return json.dumps([{"name": n, "depends_on": d} for n, d in edges])


def walk(box: Sandbox, *phases: str) -> None:
    for phase in phases:
        assert box.sh("claim", phase).out == "OK\n"
        assert box.sh("complete", phase).out == "OK\n"


# ---------------------------------------------------------------------- no sprint, usage


def test_without_a_sprint(box: Sandbox) -> None:
    status = box.sh("status")
    assert (status.rc, status.out, status.err) == (0, '{"status":"no_sprint"}\n', "")
    assert box.sh().out == '{"status":"no_sprint"}\n'  # no command is status
    for args in (["next"], ["claim", "think"], ["batch"], ["abort", "think"], ["unstuck", "x"]):
        r = box.sh(*args)
        assert (r.rc, r.out, r.err) == (1, "", "ERROR: no active sprint\n"), args
    clean = box.sh("clean")
    assert (clean.rc, clean.out) == (0, "OK: cleaned archived sprints older than 7 days\n")
    assert not os.path.exists(box.store)  # reading never creates the store


def test_unknown_command_prints_usage(box: Sandbox) -> None:
    for args in (["foo"], ["--help"], ["STATUS"]):
        r = box.sh(*args)
        assert (r.rc, r.out, r.err) == (1, "", USAGE)


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("claim", "claim <phase> [--agent <name>]"),
        ("complete", "complete <phase> [--artifact <path>]"),
        ("abort", "abort <phase>"),
        ("unstuck", "unstuck <phase> [--force]"),
    ],
)
def test_missing_phase_is_a_usage_error(started: Sandbox, command: str, usage: str) -> None:
    for args in ([command], [command, ""]):
        r = started.sh(*args)
        assert r.rc == 1 and r.out == ""
        assert r.err.endswith(f"Usage: sprint.sh {usage}\n")


@pytest.mark.parametrize("command", ["claim", "complete", "abort", "unstuck"])
@pytest.mark.parametrize("name", ["../../escaped", "-x", "a/b", "x..y"])
def test_path_like_phase_is_refused_before_anything(box: Sandbox, command: str, name: str) -> None:
    r = box.sh(command, name)  # even without a sprint: the name is checked first
    assert (r.rc, r.out) == (1, "")
    assert r.err == f"ERROR: invalid phase name '{name}' (expected a single phase segment)\n"


# ---------------------------------------------------------------------- start


def test_start_prints_only_the_path(box: Sandbox) -> None:
    r = box.sh("start")
    assert (r.rc, r.err) == (0, "")
    path = r.out.rstrip("\n")
    assert r.out == path + "\n"
    h = upstream_hash(box.project)
    assert os.path.dirname(path) == os.path.join(box.store, "conductor")
    assert os.path.basename(path).startswith(h + "-")
    record = json.loads(Path(path, "sprint.json").read_text())
    assert list(record)[:6] == [
        "sprint_id",
        "project",
        "started_by",
        "started_at",
        "status",
        "phases",
    ]
    assert record["project"] == box.project
    assert record["started_by"] == "alice"
    assert record["status"] == "active"
    assert [p["name"] for p in record["phases"]] == [
        "think",
        "plan",
        "build",
        "review",
        "security",
        "qa",
        "ship",
    ]
    assert sorted(e.name for e in Path(path).iterdir() if e.is_dir()) == sorted(
        ["think", "plan", "build", "review", "security", "qa", "ship"]
    )


def upstream_hash(project: str) -> str:
    import hashlib

    return hashlib.sha256(project.encode()).hexdigest()[:12]


def test_start_archives_the_previous_sprint(box: Sandbox) -> None:
    first = box.sh("start").out.strip()
    time.sleep(1.1)
    second = box.sh("start").out.strip()
    assert first != second
    assert json.loads(Path(first, "sprint.json").read_text())["status"] == "archived"
    assert box.sprint_dir() == second


def test_start_refuses_beside_a_live_claim_unless_forced(box: Sandbox) -> None:
    """Ours: upstream archives a sprint whose phases are being worked on; we refuse (exit 1)
    and say how to override (--force, which upstream ignores)."""
    box.sh("start")
    assert box.sh("claim", "think").out == "OK\n"
    r = box.sh("start")
    assert r.rc == 1 and r.err.startswith("REFUSED: ") and "live locks" in r.err
    assert box.sh("start", "--force").rc == 0


def test_start_with_phases_inline_and_from_a_file(box: Sandbox) -> None:
    box.config({"custom_phases": ["audit-licenses"]})
    g = graph(
        ("think", []),
        ("build", ["think"]),
        ("audit-licenses", ["build"]),
        ("ship", ["audit-licenses"]),
    )
    assert box.sh("start", "--phases", g).rc == 0
    status = json.loads(box.sh("status").out)
    assert list(status["phases"]) == ["think", "build", "audit-licenses", "ship"]
    file = Path(box.tmp, "g.json")
    file.write_text(
        graph(("think", []), ("plan", ["think"]), ("build", ["plan"]), ("ship", ["build"]))
    )
    time.sleep(1.1)
    assert box.sh("start", "--phases", str(file), "--ignored-flag").rc == 0
    assert len(json.loads(box.sh("status").out)["phases"]) == 4


def test_start_keeps_extra_keys_of_a_phase(box: Sandbox) -> None:
    g = json.dumps(
        [
            {"name": "think", "depends_on": [], "owner": "x"},
            {"name": "ship", "depends_on": ["think"]},
        ]
    )
    path = box.sh("start", "--phases", g).out.strip()
    assert json.loads(Path(path, "sprint.json").read_text())["phases"][0]["owner"] == "x"


def test_start_takes_the_config_graph(box: Sandbox) -> None:
    box.config(
        {
            "custom_phases": ["audit-licenses"],
            "phase_graph": json.loads(
                graph(("think", []), ("audit-licenses", ["think"]), ("ship", ["audit-licenses"]))
            ),
        }
    )
    assert box.sh("start").rc == 0
    assert list(json.loads(box.sh("status").out)["phases"]) == ["think", "audit-licenses", "ship"]


def test_start_falls_back_to_the_home_config(box: Sandbox) -> None:
    home_cfg = Path(box.home, ".nanostack", "config.json")
    home_cfg.parent.mkdir()
    home_cfg.write_text(
        json.dumps({"phase_graph": json.loads(graph(("think", []), ("ship", ["think"])))})
    )
    assert box.sh("start").rc == 0
    assert list(json.loads(box.sh("status").out)["phases"]) == ["think", "ship"]


@pytest.mark.parametrize(
    "phases",
    [
        graph(("think", ["plan"]), ("plan", ["think"])),  # cycle
        graph(("think", []), ("think", [])),  # duplicate
        graph(("think", []), ("zzz", [])),  # not in the registry
        graph(("think", []), ("plan", ["nope"])),  # dangling
        '[{"name":"think"}]',  # depends_on is required
        "[]",
        "nonsense",
        '{"name":"think"}',
        graph(("Think", [])),
    ],
)
def test_start_refuses_an_invalid_graph(box: Sandbox, phases: str) -> None:
    r = box.sh("start", "--phases", phases)
    assert (r.rc, r.out, r.err) == (2, "", BAD_GRAPH)
    assert not os.path.isdir(os.path.join(box.store, "conductor")) or not os.listdir(
        os.path.join(box.store, "conductor")
    )


def test_start_refuses_an_invalid_config_graph(box: Sandbox) -> None:
    box.config({"phase_graph": json.loads(graph(("think", ["plan"]), ("plan", ["think"])))})
    r = box.sh("start")
    cfg = os.path.join(box.store, "config.json")
    assert (r.rc, r.out) == (2, "")
    assert r.err == (
        f"ERROR: invalid phase_graph in {cfg} (cycle, duplicate name, dangling depends_on, "
        "or unknown name)\n       Fix the config or pass --phases on the command line.\n"
    )
    assert box.sh("status").out == '{"status":"no_sprint"}\n'


def test_start_phases_needs_a_value(box: Sandbox) -> None:
    for args in (["--phases"], ["--phases", ""]):
        r = box.sh("start", *args)
        assert (r.rc, r.err) == (
            2,
            "ERROR: --phases requires a JSON array or a path to a JSON file\n",
        )


def test_start_refuses_a_malformed_config(box: Sandbox) -> None:
    """Ours: upstream quietly starts the default graph when config.json is not JSON."""
    os.makedirs(box.store)
    Path(box.store, "config.json").write_text("{not json")
    r = box.sh("start")
    assert r.rc == 2 and r.err.startswith("ERROR: ") and "config.json" in r.err


# ---------------------------------------------------------------------- status and next


def test_status_is_upstreams_json(started: Sandbox) -> None:
    walk(started, "think")
    assert started.sh("claim", "plan", agent="bob").out == "OK\n"
    r = started.sh("status")
    doc = json.loads(r.out)
    think, plan = doc["phases"]["think"], doc["phases"]["plan"]
    assert (think["state"], think["agent"]) == ("done", "alice")
    assert (plan["state"], plan["agent"]) == ("running", "bob")
    for stamp in (think["at"], plan["at"]):
        assert time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    expected = {
        "sprint_id": os.path.basename(started.sprint_dir()),
        "project": started.project,
        "phases": {
            "think": think,
            "plan": plan,
            **{
                name: {"state": "pending", "agent": "", "at": ""}
                for name in ("build", "review", "security", "qa", "ship")
            },
        },
    }
    # jq's layout: two-space indents, keys in this order
    assert r.out == json.dumps(expected, indent=2) + "\n"
    assert r.out.startswith('{\n  "sprint_id": "')


def test_next(started: Sandbox) -> None:
    assert started.sh("next").out == "think\n"
    started.sh("claim", "think")
    r = started.sh("next")
    assert (r.rc, r.out, r.err) == (0, "", "")  # nothing claimable: empty output, exit 0
    started.sh("complete", "think")
    assert started.sh("next").out == "plan\n"
    walk(started, "plan", "build")
    started.sh("claim", "review", agent="bob")
    assert started.sh("next").out == "security\n"


# ---------------------------------------------------------------------- claim


def test_claim_replies(started: Sandbox) -> None:
    blocked = started.sh("claim", "plan")
    assert (blocked.rc, blocked.out, blocked.err) == (
        1,
        "",
        "BLOCKED: 'plan' requires 'think' to complete first\n",
    )
    ok = started.sh("claim", "think")
    assert (ok.rc, ok.out, ok.err) == (0, "OK\n", "")
    again = started.sh("claim", "think")  # the holder re-claims: already yours
    assert (again.rc, again.out) == (0, "OK\n")
    other = started.sh("claim", "think", agent="bob")
    assert (other.rc, other.out, other.err) == (1, "", "CLAIMED: 'think' is locked by 'alice'\n")
    unknown = started.sh("claim", "nope")
    assert (unknown.rc, unknown.err) == (1, "ERROR: unknown phase 'nope'\n")
    started.sh("complete", "think")
    done = started.sh("claim", "think")
    assert (done.rc, done.out, done.err) == (1, "", "DONE: 'think' is already completed\n")


def test_ship_blocked_names_its_first_missing_dependency(started: Sandbox) -> None:
    walk(started, "think", "plan", "build", "review")
    r = started.sh("claim", "ship")
    assert r.err == "BLOCKED: 'ship' requires 'security' to complete first\n"


def test_claim_agent_is_the_third_argument(started: Sandbox) -> None:
    assert started.sh("claim", "think", "--agent", "carol").out == "OK\n"
    meta = json.loads(Path(started.phase("think"), "lock", "meta.json").read_text())
    assert meta["agent"] == "carol"
    assert started.sh("complete", "think", agent="carol").out == "OK\n"


def test_a_second_claim_is_never_granted(started: Sandbox) -> None:
    """Upstream tells a second agent OK (its lock.d lands inside lock); we never do."""
    assert started.sh("claim", "think").out == "OK\n"
    for agent in ("bob", "carol", "dave"):
        r = started.sh("claim", "think", agent=agent)
        assert (r.rc, r.out) == (1, "") and r.err.startswith(
            "CLAIMED: 'think' is locked by 'alice'"
        )
    lock = Path(started.phase("think"), "lock")
    tokens = [e for e in lock.iterdir() if e.is_dir()]
    assert len(tokens) == 1 and not (lock / "lock.d").exists()
    assert Path(started.phase("think"), "lock.d").is_dir()  # the sentinel keeps upstream out


def test_claim_writes_upstreams_lock_record(started: Sandbox) -> None:
    started.sh("claim", "think")
    meta = json.loads(Path(started.phase("think"), "lock", "meta.json").read_text())
    assert list(meta)[:3] == ["agent", "claimed_at", "pid"]
    assert meta["agent"] == "alice" and isinstance(meta["pid"], int) and meta["pid"] > 0
    # the holder is the caller (here this test), not the short-lived command, as upstream has it
    assert meta["pid"] == os.getpid()
    log = [json.loads(line) for line in Path(started.store, "audit.log").read_text().splitlines()]
    assert any(
        e["event"] == "sprint_claim" and e["resource"] == "think" and e["detail"] == "alice"
        for e in log
    )


def test_claim_takes_over_a_dead_claim(started: Sandbox) -> None:
    """Upstream's claim frees a lock whose owner is gone (older than an hour, pid dead); ours
    frees one whose holder process is gone, on our evidence, and says OK."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store = Store(started.store)
    sprint = store.find_active(started.project)
    assert sprint is not None
    sprint.claim("think", agent="bob", holder_pid=dead.pid, holder_start=1)
    r = started.sh("claim", "think")
    assert (r.rc, r.out) == (0, "OK\n")
    meta = json.loads(Path(started.phase("think"), "lock", "meta.json").read_text())
    assert meta["agent"] == "alice"


def test_an_upstream_lock_is_honoured(started: Sandbox) -> None:
    """A lock written by upstream's script (lock/meta.json, no token) is someone's claim."""
    lock = Path(started.phase("think"), "lock")
    lock.mkdir()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (lock / "meta.json").write_text(json.dumps({"agent": "bob", "claimed_at": stamp, "pid": 1}))
    assert started.sh("claim", "think").err == "CLAIMED: 'think' is locked by 'bob'\n"
    assert started.sh("claim", "think", agent="bob").out == "OK\n"
    status = json.loads(started.sh("status").out)["phases"]["think"]
    assert status == {"state": "running", "agent": "bob", "at": stamp}
    assert started.sh("complete", "think", agent="bob").out == "OK\n"
    assert json.loads(started.sh("status").out)["phases"]["think"]["state"] == "done"


# ---------------------------------------------------------------------- complete


def test_complete_replies(started: Sandbox) -> None:
    r = started.sh("complete", "think")
    assert (r.rc, r.out, r.err) == (1, "", "ERROR: 'think' is not claimed\n")
    r = started.sh("complete", "nope")
    assert r.err == "ERROR: 'nope' is not claimed\n"
    started.sh("claim", "think")
    r = started.sh("complete", "think", agent="bob")
    assert (r.rc, r.err) == (1, "ERROR: 'think' is claimed by 'alice', not 'bob'\n")
    r = started.sh("complete", "think")
    assert (r.rc, r.out, r.err) == (0, "OK\n", "")
    done = json.loads(Path(started.phase("think"), "done").read_text())
    assert (done["agent"], done["artifact"]) == ("alice", "")
    assert time.strptime(done["completed_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert not Path(started.phase("think"), "lock").exists()
    assert started.sh("complete", "think").err == "ERROR: 'think' is not claimed\n"


def test_complete_checks_the_artifact_as_upstream(started: Sandbox) -> None:
    started.sh("claim", "think")
    p = Path(started.project)
    (p / "good.json").write_text('{"ok": true}')
    (p / "bad.json").write_text("not json")
    (p / "link.json").symlink_to(p / "good.json")
    outside = Path(started.tmp, "outside.json")
    outside.write_text('{"x": 1}')
    elsewhere = Path(started.tmp, "elsewhere")
    elsewhere.mkdir()
    (elsewhere / "x.json").write_text('{"x": 1}')
    (p / "linkdir").symlink_to(elsewhere)
    cases = {
        "link.json": "ERROR: --artifact must not be a symlink\n",
        "missing.json": "ERROR: --artifact 'missing.json' not found\n",
        "bad.json": "ERROR: --artifact 'bad.json' is not valid JSON\n",
        str(outside): "ERROR: --artifact must live under the nanostack store or the project\n",
        "linkdir/x.json": "ERROR: --artifact must live under the nanostack store or the project\n",
    }
    for artifact, said in cases.items():
        r = started.sh("complete", "think", "--artifact", artifact)
        assert (r.rc, r.out, r.err) == (1, "", said), artifact
        assert not Path(started.phase("think"), "done").exists()
    r = started.sh("complete", "think", "--artifact", "good.json")
    assert (r.rc, r.out) == (0, "OK\n")
    done = json.loads(Path(started.phase("think"), "done").read_text())
    assert done["artifact"] == str(p / "good.json")
    assert os.readlink(Path(started.phase("think"), "artifact.json")) == str(p / "good.json")


def test_complete_accepts_an_artifact_in_the_store(started: Sandbox) -> None:
    started.sh("claim", "think")
    art = Path(started.store, "think.json")
    art.write_text('{"ok": true}')
    assert started.sh("complete", "think", "--artifact", str(art)).out == "OK\n"


def test_complete_ownership_is_checked_before_the_artifact(started: Sandbox) -> None:
    started.sh("claim", "think", agent="bob")
    r = started.sh("complete", "think", "--artifact", "missing.json")
    assert r.err == "ERROR: 'think' is claimed by 'bob', not 'alice'\n"


# ---------------------------------------------------------------------- abort


def test_abort_replies(started: Sandbox) -> None:
    for phase in ("think", "review", "nope"):  # nobody holds it: released already
        r = started.sh("abort", phase)
        assert (r.rc, r.out, r.err) == (0, f"OK: '{phase}' released\n", "")
    started.sh("claim", "think")
    r = started.sh("abort", "think")
    assert (r.rc, r.out) == (0, "OK: 'think' released\n")
    assert not Path(started.phase("think"), "lock").exists()
    assert started.sh("claim", "think", agent="bob").out == "OK\n"


def test_abort_of_someone_elses_claim_is_refused(started: Sandbox) -> None:
    """Ours: upstream's abort removes anyone's lock without a word."""
    started.sh("claim", "think", agent="bob")
    r = started.sh("abort", "think")
    assert (r.rc, r.out, r.err) == (1, "", "ERROR: 'think' is claimed by 'bob', not 'alice'\n")
    assert Path(started.phase("think"), "lock").is_dir()


# ---------------------------------------------------------------------- unstuck


def test_unstuck_replies(started: Sandbox) -> None:
    for phase in ("think", "nope"):
        r = started.sh("unstuck", phase)
        assert (r.rc, r.out, r.err) == (0, f"OK: '{phase}' has no lock\n", "")
    store = Store(started.store)
    sprint = store.find_active(started.project)
    assert sprint is not None
    sprint.claim("think", agent="bob", holder_pid=os.getpid())  # alive: this test
    r = started.sh("unstuck", "think")
    assert (r.rc, r.out) == (1, "")
    assert r.err == f"REFUSED: 'think' is held by 'bob' (PID {os.getpid()} is alive)\n" + HOLD_HINT
    r = started.sh("unstuck", "think", "--force")
    assert (r.rc, r.out) == (0, "OK: released 'think' (was held by 'bob')\n")
    assert r.err == f"WARNING: forcing release of lock held by alive PID {os.getpid()} (bob)\n"
    assert not Path(started.phase("think"), "lock").exists()


def test_unstuck_frees_a_dead_claim_without_force(started: Sandbox) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    sprint = Store(started.store).find_active(started.project)
    assert sprint is not None
    sprint.claim("think", agent="bob", holder_pid=dead.pid, holder_start=1)
    r = started.sh("unstuck", "think")
    assert (r.rc, r.out, r.err) == (0, "OK: released 'think' (was held by 'bob')\n", "")
    log = Path(started.store, "audit.log").read_text()
    assert '"event": "sprint_unstuck"' in log or '"event":"sprint_unstuck"' in log


# ---------------------------------------------------------------------- batch


def test_batch_of_the_default_sprint(started: Sandbox) -> None:
    r = started.sh("batch")
    assert (r.rc, r.err) == (0, "")
    assert r.out == (
        '{"batch":1,"type":"read","phases":["think"]}\n'
        '{"batch":2,"type":"read","phases":["plan"]}\n'
        '{"batch":3,"type":"write","phases":["build"]}\n'
        '{"batch":4,"type":"read","phases":["review","security","qa"]}\n'
        '{"batch":5,"type":"exclusive","phases":["ship"]}\n'
    )
    walk(started, "think", "plan", "build")
    assert started.sh("batch").out == (
        '{"batch":1,"type":"read","phases":["review","security","qa"]}\n'
        '{"batch":2,"type":"exclusive","phases":["ship"]}\n'
    )


def test_batch_walks_the_graph_in_waves(box: Sandbox) -> None:
    """Upstream's order: every phase whose dependencies are placed, wave by wave, in graph
    order (think and review before plan here), not a depth-first order."""
    box.sh("start", "--phases", graph(("think", []), ("plan", ["think"]), ("review", [])))
    assert box.sh("batch").out == (
        '{"batch":1,"type":"read","phases":["think","review"]}\n'
        '{"batch":2,"type":"read","phases":["plan"]}\n'
    )


def test_batch_of_a_misordered_graph(box: Sandbox) -> None:
    g = graph(
        ("ship", ["qa"]), ("qa", ["build"]), ("build", ["plan"]), ("plan", ["think"]), ("think", [])
    )
    box.sh("start", "--phases", g)
    lines = [json.loads(line) for line in box.sh("batch").out.splitlines()]
    assert [b["phases"] for b in lines] == [["think"], ["plan"], ["build"], ["qa"], ["ship"]]


def test_batch_reads_a_custom_skill(box: Sandbox) -> None:
    box.config({"custom_phases": ["audit-licenses", "privacy"]})
    skill = Path(box.store, "skills", "audit-licenses", "SKILL.md")
    skill.parent.mkdir(parents=True)
    skill.write_text("---\nname: audit-licenses\nconcurrency: read\n---\nbody\n")
    g = graph(
        ("build", []),
        ("audit-licenses", ["build"]),
        ("privacy", ["build"]),
        ("ship", ["audit-licenses", "privacy"]),
    )
    box.sh("start", "--phases", g)
    r = box.sh("batch")
    assert r.out == (
        '{"batch":1,"type":"write","phases":["build"]}\n'
        '{"batch":2,"type":"read","phases":["audit-licenses"]}\n'
        '{"batch":3,"type":"write","phases":["privacy"]}\n'
        '{"batch":4,"type":"exclusive","phases":["ship"]}\n'
    )
    assert (
        r.err == "conductor: no SKILL.md found for phase 'privacy'; defaulting concurrency=write\n"
    )


def test_batch_reads_the_nanostack_checkout_skills(started: Sandbox) -> None:
    root = Path(started.tmp, "nanostack")
    for name, kind in (("think", "read"), ("plan", "write"), ("review", "read"), ("qa", "read")):
        (root / name).mkdir(parents=True)
        (root / name / "SKILL.md").write_text(f"---\nname: {name}\nconcurrency: {kind}\n---\n")
    r = started.sh("--nanostack-root", str(root), "batch")
    assert r.out == (
        '{"batch":1,"type":"read","phases":["think"]}\n'
        '{"batch":2,"type":"write","phases":["plan"]}\n'
        '{"batch":3,"type":"write","phases":["build"]}\n'
        '{"batch":4,"type":"read","phases":["review"]}\n'
        '{"batch":5,"type":"write","phases":["security"]}\n'
        '{"batch":6,"type":"read","phases":["qa"]}\n'
        '{"batch":7,"type":"write","phases":["ship"]}\n'
    )
    assert r.err == (
        "conductor: no SKILL.md found for phase 'security'; defaulting concurrency=write\n"
        "conductor: no SKILL.md found for phase 'ship'; defaulting concurrency=write\n"
    )


# ---------------------------------------------------------------------- clean


def test_clean_removes_archived_sprints_eight_days_old(box: Sandbox) -> None:
    old = box.sh("start").out.strip()
    time.sleep(1.1)
    recent = box.sh("start").out.strip()  # archives old
    time.sleep(1.1)
    box.sh("start")  # archives recent
    now = time.time()
    os.utime(Path(old, "sprint.json"), (now - 8.1 * 86400, now - 8.1 * 86400))
    os.utime(Path(recent, "sprint.json"), (now - 7.5 * 86400, now - 7.5 * 86400))
    r = box.sh("clean")
    assert (r.rc, r.out) == (0, "OK: cleaned archived sprints older than 7 days\n")
    assert not os.path.exists(old) and os.path.isdir(recent)


# ---------------------------------------------------------------------- session.json


SESSION = {
    "schema_version": "2",
    "session_id": "project-20261129-195254",
    "workspace": "/somewhere",
    "current_phase": None,
    "next_phase": "think",
    "ready_phases": ["think"],
    "phase_graph": json.loads(
        graph(
            ("think", []),
            ("plan", ["think"]),
            ("build", ["plan"]),
            ("review", ["build"]),
            ("security", ["build"]),
            ("qa", ["build"]),
            ("ship", ["review", "security", "qa"]),
        )
    ),
    "stop_conditions_met": [],
    "phase_log": [],
    "evidence": {"review": None, "security": None, "qa": None, "ship": None},
    "budget": {"max_usd": None, "spent_usd": 0},
    "started_at": "2026-11-29T19:52:54Z",
    "last_updated": "2026-11-29T19:52:54Z",
}


def write_session(box: Sandbox, doc: dict[str, Any]) -> Path:
    os.makedirs(box.store, exist_ok=True)
    path = Path(box.store, "session.json")
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def test_start_mirrors_the_graph_into_the_session(box: Sandbox) -> None:
    path = write_session(box, SESSION)
    g = graph(("think", []), ("build", ["think"]), ("ship", ["build"]))
    assert box.sh("start", "--phases", g).rc == 0
    after = json.loads(path.read_text())
    assert after["phase_graph"] == json.loads(g)
    assert (after["ready_phases"], after["next_phase"]) == (["think"], "think")
    assert list(after) == list(SESSION)  # every key kept, in its place
    assert {
        k: v for k, v in after.items() if k not in ("phase_graph", "ready_phases", "next_phase")
    } == {
        k: v for k, v in SESSION.items() if k not in ("phase_graph", "ready_phases", "next_phase")
    }
    assert path.read_text() == json.dumps(after, indent=2) + "\n"  # jq's layout
    assert not Path(box.store, "session.json.lockdir").exists()


def test_the_session_log_decides_what_is_ready(box: Sandbox) -> None:
    """As upstream: ready from the session's phase_log, `build` satisfied once its own
    dependencies are completed (it leaves no session record)."""
    doc = dict(SESSION, phase_log=[{"phase": "think", "status": "completed"}])
    path = write_session(box, doc)
    g = graph(("think", []), ("build", ["think"]), ("ship", ["build"]))
    box.sh("start", "--phases", g)
    after = json.loads(path.read_text())
    assert (after["ready_phases"], after["next_phase"]) == (["ship"], "ship")
    doc = dict(
        SESSION,
        phase_log=[
            {"phase": "think", "status": "completed"},
            {"phase": "build", "status": "in_progress"},
        ],
    )
    write_session(box, doc)
    time.sleep(1.1)
    box.sh("start", "--phases", g, "--force")
    after = json.loads(path.read_text())
    assert (after["ready_phases"], after["next_phase"]) == ([], None)


def test_no_session_no_mirror(box: Sandbox) -> None:
    box.sh("start")
    assert not Path(box.store, "session.json").exists()


def test_state_changes_keep_the_session_in_step(started: Sandbox) -> None:
    """Ours: a claim (or complete, abort, unstuck) puts the sprint's graph back when something
    else (a later `session.sh init`) replaced it; a session already in step is not rewritten."""
    path = write_session(started, dict(SESSION, phase_graph=[{"name": "think", "depends_on": []}]))
    assert started.sh("claim", "think").out == "OK\n"
    assert json.loads(path.read_text())["phase_graph"] == SESSION["phase_graph"]
    before = path.stat().st_ino
    started.sh("complete", "think")
    assert path.stat().st_ino == before


def test_a_held_session_lock_is_waited_for_then_left(started: Sandbox) -> None:
    path = write_session(started, dict(SESSION, phase_graph=[]))
    lockdir = Path(started.store, "session.json.lockdir")
    lockdir.mkdir()
    (lockdir / "owner").write_text(f"{os.getpid()}\n")  # a live writer
    r = started.sh("claim", "think")
    assert (r.rc, r.out) == (0, "OK\n")  # the claim stands
    assert r.err.startswith("warning: ") and "lock" in r.err
    assert json.loads(path.read_text())["phase_graph"] == []
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (lockdir / "owner").write_text(f"{dead.pid}\n")  # its writer is gone: taken over
    assert started.sh("abort", "think").err == ""
    assert json.loads(path.read_text())["phase_graph"] == SESSION["phase_graph"]
    assert not lockdir.exists()


def test_a_corrupt_session_is_left_alone(started: Sandbox) -> None:
    os.makedirs(started.store, exist_ok=True)
    path = Path(started.store, "session.json")
    path.write_text("{broken")
    r = started.sh("claim", "think")
    assert (r.rc, r.out) == (0, "OK\n") and r.err.startswith("warning: ")
    assert path.read_text() == "{broken"


def test_mirror_unit() -> None:
    g = json.loads(
        graph(("think", []), ("plan", ["think"]), ("build", ["plan"]), ("qa", ["build"]))
    )
    log = [{"phase": "think", "status": "completed"}, {"phase": "plan", "status": "completed"}]
    out = mirrored({"a": 1, "phase_log": log}, g)
    assert (out["ready_phases"], out["next_phase"], out["a"]) == (["qa"], "qa", 1)
    assert mirrored({"phase_log": "junk"}, g)["ready_phases"] == ["think"]
    assert mirrored({"phase_log": [1, {"phase": "think", "status": "completed"}]}, g)[
        "ready_phases"
    ] == ["think"]
    assert render({"x": []}) == b'{\n  "x": []\n}\n'


# ---------------------------------------------------------------------- identity


def test_default_agent_is_the_account_and_parent_pid(started: Sandbox) -> None:
    """agent-<account>-<ppid>, the account as `whoami` names it, whatever $USER says."""
    import pwd

    account = pwd.getpwuid(os.geteuid()).pw_name
    script = f"{sys.executable} -m conductor_tui.nanostack.sprint_sh claim think; echo $$"
    env = started.env(agent=None, USER="somebody-else", LOGNAME="x")
    proc = subprocess.run(
        ["bash", "-c", script],
        cwd=started.project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    ok, shell_pid = proc.stdout.split()
    assert ok == "OK"
    meta = json.loads(Path(started.phase("think"), "lock", "meta.json").read_text())
    assert meta["agent"] == f"agent-{account}-{shell_pid}"


def test_detect_agent_order() -> None:
    d = upstream.detect_agent
    assert d({"NANOSTACK_AGENT": "x", "CLAUDE_SESSION_ID": "abc"}, 7, "u") == "x"
    assert d({"CLAUDE_SESSION_ID": "0123456789ab"}, 7, "u") == "claude-01234567"
    assert d({"CLAUDE_CODE": "1"}, 7, "u") == "claude-7"
    assert d({"CODEX_SESSION_ID": "abcdefghij"}, 7, "u") == "codex-abcdefgh"
    assert d({"OPENCODE_SESSION_ID": "zyxwvutsrq"}, 7, "u") == "opencode-zyxwvuts"
    assert d({"USER": "nobody"}, 7, "root") == "agent-root-7"


# ---------------------------------------------------------------------- bad input


def test_hostile_agent_names_are_refused_cleanly(started: Sandbox) -> None:
    for name in ("a\x1b[31mb", "x/../y", "a b", "-x" * 100):
        r = started.sh("claim", "think", agent=name)
        assert r.rc == 1 and r.out == "" and r.err.startswith("ERROR: invalid agent name")
        assert "\x1b" not in r.err
    assert not Path(started.phase("think"), "lock").exists()


def test_hostile_phase_names(started: Sandbox) -> None:
    r = started.sh("claim", "x\x1b[2Jy\nz")
    assert r.rc == 1 and "\x1b" not in r.err and r.err.startswith("ERROR: unknown phase ")
    r = started.sh("complete", "Think")
    assert r.err == "ERROR: 'Think' is not claimed\n"


def test_corrupt_sprint_record(started: Sandbox) -> None:
    Path(started.sprint_dir(), "sprint.json").write_text("{truncated")
    for args in (["status"], ["claim", "think"], ["next"], ["batch"]):
        r = started.sh(*args)
        assert r.rc != 0 and r.err.startswith("ERROR: ") and "malformed" in r.err, args


def test_corrupt_lock_record(started: Sandbox) -> None:
    """Ours: upstream takes an unreadable lock for a dead one and frees it; we refuse until
    someone looks (unstuck --force)."""
    started.sh("claim", "think", agent="bob")
    Path(started.phase("think"), "lock", "meta.json").write_text("\x00garbage")
    for f in Path(started.phase("think"), "lock").iterdir():
        if f.is_dir():
            (f / "owner.json").write_text("{")
    r = started.sh("claim", "think")
    assert r.rc == 1 and r.out == ""
    assert started.sh("unstuck", "think", "--force").rc == 0
    assert started.sh("claim", "think").out == "OK\n"


def test_store_path_is_a_file(box: Sandbox) -> None:
    Path(box.store).write_text("not a directory")
    assert box.sh("status").out == '{"status":"no_sprint"}\n'
    r = box.sh("start")
    assert r.rc == 2 and r.err.startswith("ERROR: ")


# ---------------------------------------------------------------------- upstream's rules, unit


def test_graph_rules() -> None:
    ok = json.loads(graph(("think", []), ("plan", ["think"])))
    assert upstream.graph_is_valid(ok, [])
    assert not upstream.graph_is_valid(json.loads(graph(("think", []), ("mine", []))), [])
    assert upstream.graph_is_valid(json.loads(graph(("think", []), ("mine", []))), ["mine"])
    assert not upstream.graph_is_valid([{"name": "think", "depends_on": [1]}], [])
    assert upstream.wave_order(json.loads(graph(("a", ["b"]), ("b", [])))) == ["b", "a"]
    assert upstream.wave_order(json.loads(graph(("a", ["b"]), ("b", ["a"])))) is None
    assert upstream.custom_phases({"custom_phases": ["x", "think", "Bad", "x", 3, "y-1"]}) == [
        "x",
        "y-1",
    ]
    assert upstream.safe_segment("think") and not upstream.safe_segment("a..b")
