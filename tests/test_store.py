"""Unit tests of the sprint store on real directories.

Start, discovery, claim, heartbeat, complete, abort, reclaim, liveness, upstream locks, malformed
records, doctor, audit and clean. Every test works on tmp directories and real processes: nothing
of the file system is mocked, time only moves through the injected FakeClock.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core import audit
from conductor_tui.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_REFUSED,
    AlreadyDone,
    BadInput,
    Blocked,
    ConductorError,
    Fenced,
    Held,
    NotOwner,
    NotStale,
    Refused,
)
from conductor_tui.core.liveness import iso, iso_ms, proc_info
from conductor_tui.core.paths import (
    TOKEN_RE,
    check_agent,
    check_phase,
    check_token,
    project_hash,
)
from conductor_tui.core.store import Sprint, Store
from tests.conftest import T0, FakeClock, complete_through

DEFAULT_NAMES = ["think", "plan", "build", "review", "security", "qa", "ship"]
DAY = 86400.0
HOUR = 3600.0

# The upstream claim, as sprint.sh does it: mkdir lock.d (refuse when that fails, naming the
# holder read from lock/meta.json), write lock.d/meta.json, mv lock.d lock.
UPSTREAM_CLAIM = r"""
set -u
cd "$1"
if ! mkdir lock.d 2>/dev/null; then
  echo "CLAIMED by $(jq -r .agent lock/meta.json)"
  exit 1
fi
printf '{\n  "agent": "%s",\n  "claimed_at": "%s",\n  "pid": %d\n}\n' "$2" "$3" "$$" \
  > lock.d/meta.json
mv lock.d lock
echo OK
"""


# ---------------------------------------------------------------------- helpers


def snapshot(root: str | Path) -> dict[str, tuple[int, bytes]]:
    """Every path under root with its type and, for regular files, its bytes."""
    out: dict[str, tuple[int, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            data = Path(path).read_bytes() if stat.S_ISREG(st.st_mode) else b""
            out[os.path.relpath(path, root)] = (stat.S_IFMT(st.st_mode), data)
    return out


def pdir(sprint: Sprint, phase: str) -> str:
    return os.path.join(sprint.path, phase)


def lock_path(sprint: Sprint, phase: str) -> str:
    return os.path.join(sprint.path, phase, "lock")


def history(sprint: Sprint, phase: str) -> list[str]:
    try:
        return sorted(os.listdir(os.path.join(sprint.path, phase, "history")))
    except FileNotFoundError:
        return []


def events(store: Store) -> list[Any]:
    return list(audit.read(store.audit_path))


def event_names(store: Store) -> list[str]:
    return [e.event for e in events(store) if not isinstance(e, str)]


def write_upstream_lock(
    phase_dir: str, *, agent: str, pid: int, mtime: float, claimed_at: float | None = None
) -> str:
    """An upstream lock exactly as sprint.sh makes it: mkdir lock.d, meta.json, rename."""
    staging = os.path.join(phase_dir, "lock.d")
    os.mkdir(staging)
    meta = {
        "agent": agent,
        "claimed_at": iso(mtime if claimed_at is None else claimed_at),
        "pid": pid,
    }
    Path(staging, "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    lock = os.path.join(phase_dir, "lock")
    os.rename(staging, lock)
    meta_path = os.path.join(lock, "meta.json")
    os.utime(meta_path, (mtime, mtime))
    return meta_path


def write_upstream_file_lock(phase_dir: str, *, agent: str, pid: int, mtime: float) -> str:
    """The older documented form: `lock` is a plain file holding the JSON."""
    lock = os.path.join(phase_dir, "lock")
    Path(lock).write_text(json.dumps({"agent": agent, "claimed_at": iso(mtime), "pid": pid}))
    os.utime(lock, (mtime, mtime))
    return lock


def upstream_claim(phase_dir: str, agent: str, at: str = "2026-11-18T11:00:00Z") -> tuple[int, str]:
    """Run upstream's claim with a real bash; (exit code, stdout)."""
    proc = subprocess.run(
        ["bash", "-c", UPSTREAM_CLAIM, "claim", phase_dir, agent, at],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc.returncode, proc.stdout.strip()


def outcome(fn: Callable[[], Any]) -> Any:
    """Call fn: its result, or the ConductorError it raised (any other exception fails the test)."""
    try:
        return fn()
    except ConductorError as exc:
        return exc


def remote(store: Store, clock: FakeClock, sprint: Sprint) -> Sprint:
    """The same sprint seen from another host (same directory, same clock)."""
    other = Store(store.root, clock=clock, host="far-away-host.example")
    return other.open_sprint(sprint.sprint_id)


def make_artifact(path: str | Path, text: str = '{"ok": true}') -> str:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)
    return str(path)


# ---------------------------------------------------------------------- start


def test_start_default_graph_writes_upstream_layout(store: Store, project: str) -> None:
    sprint = store.start(project, agent="tester")
    h = hashlib.sha256(project.encode()).hexdigest()[:12]
    expected_id = f"{h}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(T0))}"
    assert sprint.sprint_id == expected_id
    assert sprint.path == os.path.join(store.root, "conductor", expected_id)
    on_disk = json.loads(Path(sprint.path, "sprint.json").read_text())
    assert on_disk["sprint_id"] == expected_id
    assert on_disk["project"] == project
    assert on_disk["started_by"] == "tester"
    assert on_disk["started_at"] == iso(T0)
    assert on_disk["status"] == "active"
    assert [p["name"] for p in on_disk["phases"]] == DEFAULT_NAMES
    deps = {p["name"]: p["depends_on"] for p in on_disk["phases"]}
    assert deps == {
        "think": [],
        "plan": ["think"],
        "build": ["plan"],
        "review": ["build"],
        "security": ["build"],
        "qa": ["build"],
        "ship": ["review", "security", "qa"],
    }
    for name in DEFAULT_NAMES:
        assert os.path.isdir(pdir(sprint, name))
    # nothing left over from staging
    assert [n for n in os.listdir(store.conductor_dir) if n.startswith(".")] == []
    view = sprint.view()
    assert [pv.status for pv in view.phases] == ["ready"] + ["blocked"] * 6
    assert [pv.state for pv in view.phases] == ["pending"] * 7
    found = store.find_active(project)
    assert found is not None and found.sprint_id == expected_id
    assert "sprint_start" in event_names(store)


def test_start_with_inline_phases_keeps_extra_keys(store: Store, project: str) -> None:
    phases = [
        {"name": "design", "depends_on": [], "concurrency": "read", "owner_hint": "ux"},
        {"name": "code", "depends_on": ["design"]},
        {"name": "docs-1", "depends_on": ["design"], "concurrency": "exclusive"},
    ]
    sprint = store.start(project, agent="tester", phases=phases)
    on_disk = json.loads(Path(sprint.path, "sprint.json").read_text())
    assert [p["name"] for p in on_disk["phases"]] == ["design", "code", "docs-1"]
    assert on_disk["phases"][0]["owner_hint"] == "ux"
    assert on_disk["phases"][0]["concurrency"] == "read"
    assert on_disk["phases"][2]["concurrency"] == "exclusive"
    assert sorted(n for n in os.listdir(sprint.path) if n != "sprint.json") == [
        "code",
        "design",
        "docs-1",
    ]


def test_start_uses_config_phase_graph(store: Store, project: str) -> None:
    os.makedirs(store.root)
    graph = [{"name": "alpha", "depends_on": []}, {"name": "beta", "depends_on": ["alpha"]}]
    Path(store.root, "config.json").write_text(json.dumps({"phase_graph": graph}))
    sprint = store.start(project, agent="tester")
    assert [p.name for p in sprint.record.phases] == ["alpha", "beta"]
    # explicit phases win over the config
    clock_phases = [{"name": "solo", "depends_on": []}]
    second = store.start(project, agent="tester", phases=clock_phases)
    assert [p.name for p in second.record.phases] == ["solo"]


def test_start_with_malformed_config_is_refused_not_ignored(store: Store, project: str) -> None:
    os.makedirs(store.root)
    Path(store.root, "config.json").write_text('{"phase_graph": [}')
    with pytest.raises(BadInput, match=r"config\.json"):
        store.start(project, agent="tester")
    assert not os.path.exists(store.conductor_dir)


@pytest.mark.parametrize(
    ("phases", "reason"),
    [
        ([], "empty"),
        ({"name": "think"}, "array"),
        ("think", "array"),
        ([{"name": "A"}], "invalid"),
        ([{"name": "../x"}], "invalid"),
        ([{"name": "a/b"}], "invalid"),
        ([{"name": "x\n"}], "invalid"),
        ([{"name": "\x1b[31m"}], "invalid"),
        ([{"name": "a" * 65}], "too long"),
        ([{"depends_on": []}], "no name"),
        ([{"name": "a"}, {"name": "a"}], "duplicate"),
        ([{"name": "a", "depends_on": ["ghost"]}], "unknown"),
        ([{"name": "a", "depends_on": ["b"]}, {"name": "b", "depends_on": ["a"]}], "cycle"),
        ([{"name": "a", "depends_on": "b"}], "list"),
        ([{"name": "a", "concurrency": "parallel"}], "concurrency"),
    ],
)
def test_start_refuses_invalid_graph_and_creates_nothing(
    store: Store, project: str, tmp_path: Path, phases: Any, reason: str
) -> None:
    before = snapshot(tmp_path)
    with pytest.raises(BadInput) as info:
        store.start(project, agent="tester", phases=phases)
    assert reason in info.value.message
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert snapshot(tmp_path) == before


def test_invalid_graph_does_not_archive_the_active_sprint(sprint: Sprint, store: Store) -> None:
    before = Path(sprint.path, "sprint.json").read_bytes()
    with pytest.raises(BadInput):
        store.start(sprint.record.project, agent="tester", phases=[{"name": "Bad"}])
    assert Path(sprint.path, "sprint.json").read_bytes() == before
    assert os.listdir(store.conductor_dir) == [sprint.sprint_id]


def test_start_refuses_hostile_agent_and_creates_nothing(
    store: Store, project: str, tmp_path: Path
) -> None:
    before = snapshot(tmp_path)
    for agent in ("", "a/b", "../x", "x y", "\x1b[31m", "a" * 200):
        with pytest.raises(BadInput):
            store.start(project, agent=agent)
    assert snapshot(tmp_path) == before


def test_two_starts_in_the_same_second_get_different_ids(
    store: Store, project: str, clock: FakeClock
) -> None:
    first = store.start(project, agent="tester")
    second = store.start(project, agent="tester")
    assert clock.now == T0  # the clock never moved
    assert first.sprint_id != second.sprint_id
    h = project_hash(project)
    assert second.sprint_id == f"{h}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(T0 + 1))}"
    assert sorted(os.listdir(store.conductor_dir)) == sorted([first.sprint_id, second.sprint_id])
    assert json.loads(Path(first.path, "sprint.json").read_text())["status"] == "archived"
    assert json.loads(Path(second.path, "sprint.json").read_text())["status"] == "active"
    assert json.loads(Path(second.path, "sprint.json").read_text())["sprint_id"] == (
        second.sprint_id
    )
    active = store.find_active(project)
    assert active is not None and active.sprint_id == second.sprint_id


def test_start_refused_while_old_sprint_has_a_live_lock(
    sprint: Sprint, store: Store, live_pid: tuple[int, int | None]
) -> None:
    pid, start = live_pid
    sprint.claim("think", agent="worker", holder_pid=pid, holder_start=start)
    with pytest.raises(Refused) as info:
        store.start(sprint.record.project, agent="tester")
    assert not isinstance(info.value, BadInput)
    assert info.value.exit_code == EXIT_REFUSED
    assert "think" in info.value.message and "worker" in info.value.message
    assert os.listdir(store.conductor_dir) == [sprint.sprint_id]
    assert json.loads(Path(sprint.path, "sprint.json").read_text())["status"] == "active"

    new = store.start(sprint.record.project, agent="tester", force=True)
    assert new.sprint_id != sprint.sprint_id
    assert json.loads(Path(sprint.path, "sprint.json").read_text())["status"] == "archived"
    found = store.find_active(sprint.record.project)
    assert found is not None and found.sprint_id == new.sprint_id


def test_start_allowed_when_old_lock_is_stale(
    sprint: Sprint, store: Store, dead_pid: tuple[int, int | None]
) -> None:
    sprint.claim("think", agent="worker", holder_pid=dead_pid[0], holder_start=dead_pid[1])
    assert sprint.view().phase("think").status == "stale"
    new = store.start(sprint.record.project, agent="tester")
    assert new.sprint_id != sprint.sprint_id


def test_archive_keeps_unknown_keys(sprint: Sprint, store: Store) -> None:
    sj = Path(sprint.path, "sprint.json")
    raw = json.loads(sj.read_text())
    raw["x-team"] = {"owner": "ops", "tags": [1, 2]}
    raw["phases"][0]["x-note"] = "keep me"
    sj.write_text(json.dumps(raw))
    store.start(sprint.record.project, agent="tester")
    after = json.loads(sj.read_text())
    assert after["status"] == "archived"
    expected = dict(raw, status="archived")
    assert after == expected


# ---------------------------------------------------------------------- discovery


def test_find_active_from_a_subdirectory(sprint: Sprint, store: Store, project: str) -> None:
    deep = Path(project, "src", "pkg")
    deep.mkdir(parents=True)
    found = store.find_active(str(deep))
    assert found is not None and found.sprint_id == sprint.sprint_id


def test_find_active_through_a_symlinked_path(
    sprint: Sprint, store: Store, project: str, tmp_path: Path
) -> None:
    link = tmp_path / "link-to-project"
    link.symlink_to(project)
    (Path(project) / "sub").mkdir()
    for where in (link, link / "sub"):
        found = store.find_active(str(where))
        assert found is not None and found.sprint_id == sprint.sprint_id


def test_find_active_sprint_written_by_upstream(store: Store, project: str, tmp_path: Path) -> None:
    # upstream records `pwd`: the logical path, here a symlink to the project
    link = tmp_path / "work-link"
    link.symlink_to(project)
    logical = str(link)
    sprint_id = f"{project_hash(logical)}-20261118-093000"
    sdir = Path(store.root, "conductor", sprint_id)
    sdir.mkdir(parents=True)
    record = {
        "sprint_id": sprint_id,
        "project": logical,
        "started_by": "claude-5e1a90c2",
        "started_at": "2026-11-18T09:30:00Z",
        "status": "active",
        "phases": [
            {"name": "think", "depends_on": []},
            {"name": "plan", "depends_on": ["think"]},
        ],
    }
    (sdir / "sprint.json").write_text(json.dumps(record, indent=2) + "\n")
    for name in ("think", "plan"):
        (sdir / name).mkdir()
    found = store.find_active(logical)
    assert found is not None and found.sprint_id == sprint_id
    assert [pv.status for pv in found.view().phases] == ["ready", "blocked"]
    # no history/ folder upstream: claiming still works
    owner = found.claim("think", agent="tester", holder_pid=os.getpid())
    assert owner.epoch == 1
    assert found.view().phase("think").status == "held"


def test_archived_sprint_is_ignored(sprint: Sprint, store: Store, project: str) -> None:
    sprint.archive()
    assert store.find_active(project) is None


def test_other_project_does_not_see_the_sprint(
    sprint: Sprint, store: Store, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    assert store.find_active(str(other)) is None


@pytest.mark.parametrize("garbage", [b'{"sprint_id": ', b"\x00\xff\xfe binary \x89PNG"])
def test_malformed_newer_sprint_json_is_an_error(
    sprint: Sprint, store: Store, project: str, garbage: bytes
) -> None:
    newer = Path(store.conductor_dir, f"{project_hash(project)}-20991231-235959")
    newer.mkdir()
    (newer / "sprint.json").write_bytes(garbage)
    with pytest.raises(BadInput, match="malformed"):
        store.find_active(project)


# ---------------------------------------------------------------------- claim


def test_claim_token_epoch_and_records(sprint: Sprint, live_pid: tuple[int, int | None]) -> None:
    pid, start = live_pid
    owner = sprint.claim("think", agent="worker-1", ttl=120, holder_pid=pid, holder_start=start)
    assert TOKEN_RE.fullmatch(owner.token)
    assert owner.epoch == 1
    assert owner.token.split("-")[0] == "1"
    assert owner.agent == "worker-1"
    assert owner.ttl_s == 120.0
    assert owner.claimed_at == iso(T0) and owner.heartbeat_at == iso_ms(T0)
    lock = lock_path(sprint, "think")
    on_disk = json.loads(Path(lock, owner.token, "owner.json").read_text())
    assert on_disk["token"] == owner.token and on_disk["epoch"] == 1
    assert on_disk["agent"] == "worker-1"
    meta = json.loads(Path(lock, "meta.json").read_text())
    assert list(meta)[:3] == ["agent", "claimed_at", "pid"]
    assert meta["agent"] == "worker-1"
    assert meta["claimed_at"] == iso(T0)
    assert meta["pid"] == pid
    assert meta["token"] == owner.token and meta["epoch"] == 1
    assert sorted(os.listdir(lock)) == sorted(["meta.json", owner.token])
    assert os.path.isdir(os.path.join(pdir(sprint, "think"), "lock.d"))
    assert os.listdir(os.path.join(pdir(sprint, "think"), "lock.d")) == []
    assert [n for n in os.listdir(pdir(sprint, "think")) if n.startswith(".")] == []
    pv = sprint.view().phase("think")
    assert pv.status == "held" and pv.state == "running"
    assert pv.lock is not None and pv.lock.token == owner.token and pv.agent == "worker-1"


def test_epochs_strictly_increase_across_claims(
    sprint: Sprint, dead_pid: tuple[int, int | None]
) -> None:
    a = sprint.claim("think", agent="a", holder_pid=os.getpid())
    sprint.abort("think", agent="a", token=a.token)
    b = sprint.claim("think", agent="b", holder_pid=os.getpid())
    sprint.abort("think", agent="b")
    c = sprint.claim("think", agent="c", holder_pid=dead_pid[0], holder_start=dead_pid[1])
    sprint.reclaim("think", agent="d")
    d = sprint.claim("think", agent="d", holder_pid=os.getpid())
    tokens = [a.token, b.token, c.token, d.token]
    assert [o.epoch for o in (a, b, c, d)] == [1, 2, 3, 4]
    assert len(set(tokens)) == 4
    assert all(TOKEN_RE.fullmatch(t) for t in tokens)


def test_claim_refused_while_held(sprint: Sprint, live_pid: tuple[int, int | None]) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=live_pid[0], holder_start=live_pid[1])
    before = snapshot(sprint.path)
    with pytest.raises(Held) as info:
        sprint.claim("think", agent="b", holder_pid=os.getpid())
    assert info.value.word == "CLAIMED" and info.value.exit_code == EXIT_REFUSED
    assert "'a'" in info.value.message
    assert snapshot(sprint.path) == before
    assert sorted(os.listdir(lock_path(sprint, "think"))) == sorted(["meta.json", owner.token])


def test_same_agent_reclaim_of_its_own_phase_is_refused(sprint: Sprint) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    with pytest.raises(Held) as info:
        sprint.claim("think", agent="a", holder_pid=os.getpid())
    assert owner.token in info.value.message
    assert sorted(os.listdir(lock_path(sprint, "think"))) == sorted(["meta.json", owner.token])


def test_claim_blocked_until_dependencies_done(sprint: Sprint) -> None:
    before = snapshot(sprint.path)
    with pytest.raises(Blocked) as info:
        sprint.claim("plan", agent="a", holder_pid=os.getpid())
    assert info.value.word == "BLOCKED" and info.value.exit_code == EXIT_REFUSED
    assert "think" in info.value.message
    assert snapshot(sprint.path) == before
    complete_through(sprint, "think", "plan", "build", "review", "qa")
    with pytest.raises(Blocked, match="security"):
        sprint.claim("ship", agent="a", holder_pid=os.getpid())
    complete_through(sprint, "security")
    assert sprint.claim("ship", agent="a", holder_pid=os.getpid()).epoch == 1


def test_claim_of_done_phase_is_refused(sprint: Sprint) -> None:
    complete_through(sprint, "think")
    done_before = Path(pdir(sprint, "think"), "done").read_bytes()
    with pytest.raises(AlreadyDone) as info:
        sprint.claim("think", agent="other", holder_pid=os.getpid())
    assert info.value.word == "DONE" and info.value.exit_code == EXIT_REFUSED
    assert Path(pdir(sprint, "think"), "done").read_bytes() == done_before
    assert not os.path.lexists(lock_path(sprint, "think"))


HOSTILE_PHASES = [
    "../x",
    "a/b",
    "A",
    "x\n",
    "think\n",
    "\x1b[31m",
    "a" * 10240,
    "",
    ".",
    "..",
    "x y",
]


@pytest.mark.parametrize("name", HOSTILE_PHASES, ids=repr)
def test_hostile_phase_names_are_bad_input_and_touch_nothing(
    sprint: Sprint, tmp_path: Path, name: str
) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    before = snapshot(tmp_path)
    ops: list[Callable[[], Any]] = [
        lambda: sprint.claim(name, agent="a"),
        lambda: sprint.heartbeat(name, agent="a", token=owner.token),
        lambda: sprint.complete(name, agent="a", token=owner.token),
        lambda: sprint.abort(name, agent="a", token=owner.token),
        lambda: sprint.reclaim(name, agent="a", force=True),
        lambda: sprint.why(name),
        lambda: sprint.phase_dir(name),
    ]
    for op in ops:
        with pytest.raises(BadInput) as info:
            op()
        assert info.value.exit_code == EXIT_BAD_INPUT
        assert "\x1b" not in info.value.message and "\n" not in info.value.message
        assert len(info.value.message) < 500
    assert snapshot(tmp_path) == before


def test_unknown_but_well_formed_phase_is_bad_input(sprint: Sprint, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    with pytest.raises(BadInput, match="unknown phase"):
        sprint.claim("deploy", agent="a")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["x\n", "think\n"], ids=repr)
def test_check_phase_rejects_a_trailing_newline(name: str) -> None:
    with pytest.raises(BadInput):
        check_phase(name)


@pytest.mark.parametrize(
    "name", ["bob\n", "a/b", "../x", "\x1b[31m", "", "a" * 129, " a"], ids=repr
)
def test_check_agent_rejects_hostile_names(name: str) -> None:
    with pytest.raises(BadInput):
        check_agent(name)


@pytest.mark.parametrize(
    "token", ["1-0123456789abcdef\n", "1-0123456789ABCDEF", "01234567890123-0123456789abcdef"]
)
def test_check_token_rejects_malformed_tokens(token: str) -> None:
    with pytest.raises(BadInput):
        check_token(token)


@pytest.mark.parametrize("agent", ["bob\n", "a/b", "\x1b[31mx", "", "a" * 200])
def test_claim_with_hostile_agent_is_bad_input(sprint: Sprint, tmp_path: Path, agent: str) -> None:
    before = snapshot(tmp_path)
    with pytest.raises(BadInput):
        sprint.claim("think", agent=agent, holder_pid=os.getpid())
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), 7 * DAY + 1])
def test_claim_with_bad_ttl_is_bad_input(sprint: Sprint, tmp_path: Path, ttl: float) -> None:
    before = snapshot(tmp_path)
    with pytest.raises(BadInput, match="ttl"):
        sprint.claim("think", agent="a", ttl=ttl)
    assert snapshot(tmp_path) == before


def test_claim_in_archived_sprint_is_refused(sprint: Sprint, store: Store) -> None:
    store.start(sprint.record.project, agent="tester")
    old = store.open_sprint(sprint.sprint_id)
    with pytest.raises(Refused, match="archived"):
        old.claim("think", agent="a")
    assert not os.path.lexists(lock_path(old, "think"))


def test_claim_replaces_an_empty_lock_left_by_a_crash(sprint: Sprint) -> None:
    os.mkdir(lock_path(sprint, "think"))
    # An empty lock directory holds nobody (a release passes through it too): the phase is free,
    # and only a leftover older than the release grace is reported.
    pv = sprint.view().phase("think")
    assert pv.status == "ready" and pv.lock is None
    os.utime(lock_path(sprint, "think"), (sprint.store.clock() - 120,) * 2)
    later = sprint.view().phase("think")
    assert later.status == "ready" and any("empty lock directory" in n for n in later.notes)
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    assert sorted(os.listdir(lock_path(sprint, "think"))) == sorted(["meta.json", owner.token])


# ---------------------------------------------------------------------- heartbeat


def test_heartbeat_extends_the_lease(sprint: Sprint, store: Store, clock: FakeClock) -> None:
    far = remote(store, clock, sprint)
    owner = far.claim("think", agent="a", ttl=100, holder_pid=4242)
    clock.advance(80)
    beat = far.heartbeat("think", agent="a", token=owner.token)
    assert beat.heartbeat_at == iso_ms(T0 + 80)
    assert beat.token == owner.token and beat.epoch == owner.epoch
    on_disk = json.loads(Path(lock_path(sprint, "think"), owner.token, "owner.json").read_text())
    assert on_disk["heartbeat_at"] == iso_ms(T0 + 80)
    assert json.loads(Path(lock_path(sprint, "think"), "meta.json").read_text())[
        "heartbeat_at"
    ] == iso_ms(T0 + 80)
    clock.advance(80)  # 160 s after the claim, 80 s after the beat
    pv = sprint.view().phase("think")
    assert pv.status == "held"
    assert pv.lock is not None and pv.lock.lease_expires_in == pytest.approx(20)
    clock.advance(21)
    assert sprint.view().phase("think").status == "stale"


def test_heartbeat_can_change_the_ttl(sprint: Sprint, store: Store, clock: FakeClock) -> None:
    far = remote(store, clock, sprint)
    owner = far.claim("think", agent="a", ttl=60, holder_pid=4242)
    far.heartbeat("think", agent="a", token=owner.token, ttl=600)
    clock.advance(300)
    assert sprint.view().phase("think").status == "held"
    with pytest.raises(BadInput):
        far.heartbeat("think", agent="a", token=owner.token, ttl=-5)


def test_heartbeat_by_other_agent_is_refused(sprint: Sprint) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    with pytest.raises(NotOwner):
        sprint.heartbeat("think", agent="b")
    other_token = f"{owner.epoch}-{'0' * 16}"
    with pytest.raises(NotOwner):
        sprint.heartbeat("think", agent="a", token=other_token)


def test_heartbeat_fenced_after_reclaim(sprint: Sprint, store: Store, clock: FakeClock) -> None:
    far = remote(store, clock, sprint)
    owner = far.claim("think", agent="slow", ttl=60, holder_pid=4242)
    clock.advance(61)
    sprint.reclaim("think", agent="rescuer")
    with pytest.raises(Fenced) as info:
        far.heartbeat("think", agent="slow", token=owner.token)
    assert "fenced" in info.value.message
    assert info.value.exit_code == EXIT_REFUSED
    # the fenced heartbeat must not resurrect the lock
    assert not os.path.lexists(lock_path(sprint, "think"))
    new = sprint.claim("think", agent="rescuer", holder_pid=os.getpid())
    with pytest.raises(Fenced):
        far.heartbeat("think", agent="slow", token=owner.token)
    meta = json.loads(Path(lock_path(sprint, "think"), "meta.json").read_text())
    assert meta["token"] == new.token and meta["agent"] == "rescuer"


def test_a_heartbeat_that_loses_to_an_ending_leaves_no_orphan_lock_d(
    sprint: Sprint, store: Store, clock: FakeClock
) -> None:
    """A heartbeat puts the lock.d sentinel back after extending the lease. When the claim is
    ended (here: aborted by its holder from another process's store) right after the lease was
    extended, the ending removes lock.d, and the sentinel the heartbeat would put back is an
    orphan that keeps upstream's sprint.sh out of a phase nobody holds: it must not stay."""
    far = remote(store, clock, sprint)
    owner = far.claim("think", agent="a", holder_pid=os.getpid())
    ended: list[str] = []

    def crash(point: str) -> None:
        if point == "heartbeat.mirror" and not ended:
            ended.append(point)
            sprint.abort("think", agent="a", token=owner.token)  # a real ending, on disk

    far.store.crash = crash
    far.heartbeat("think", agent="a", token=owner.token)  # its lease was extended: no error
    assert ended
    phase = pdir(sprint, "think")
    assert not os.path.lexists(os.path.join(phase, "lock"))
    assert not os.path.lexists(os.path.join(phase, "lock.d")), "an orphan lock.d"
    # and a heartbeat of a claim that stands keeps (or puts back) its sentinel
    again = sprint.claim("think", agent="a", holder_pid=os.getpid())
    os.rmdir(os.path.join(phase, "lock.d"))
    sprint.heartbeat("think", agent="a", token=again.token)
    assert os.path.isdir(os.path.join(phase, "lock.d"))


# ---------------------------------------------------------------------- complete


def test_complete_records_artifact_sha_and_link(sprint: Sprint, project: str) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    art = make_artifact(Path(project, ".nanostack", "think", "out.json"), '{"ideas": [1, 2]}')
    record = sprint.complete("think", agent="a", token=owner.token, artifact=art)
    digest = hashlib.sha256(Path(art).read_bytes()).hexdigest()
    done = json.loads(Path(pdir(sprint, "think"), "done").read_text())
    assert done["agent"] == "a"
    assert done["completed_at"] == iso(T0)
    assert done["artifact"] == os.path.realpath(art)
    assert done["token"] == owner.token and done["epoch"] == 1
    assert done["sha256"] == digest == record.sha256
    link = os.path.join(pdir(sprint, "think"), "artifact.json")
    assert os.path.islink(link) and os.readlink(link) == os.path.realpath(art)
    assert not os.path.lexists(lock_path(sprint, "think"))
    assert not os.path.lexists(os.path.join(pdir(sprint, "think"), "lock.d"))
    assert [n for n in os.listdir(pdir(sprint, "think")) if n.startswith(".")] == []
    assert any(h.startswith(owner.token + "@done-") for h in history(sprint, "think"))
    pv = sprint.view().phase("think")
    assert pv.status == "done" and pv.state == "done" and pv.agent == "a"
    assert sprint.view().phase("plan").status == "ready"


def test_complete_without_artifact(sprint: Sprint) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    sprint.complete("think", agent="a", token=owner.token)
    done = json.loads(Path(pdir(sprint, "think"), "done").read_text())
    assert done["artifact"] == ""
    assert "sha256" not in done or done["sha256"] is None
    assert not os.path.lexists(os.path.join(pdir(sprint, "think"), "artifact.json"))


def test_complete_artifact_inside_the_store_is_accepted(sprint: Sprint, store: Store) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    art = make_artifact(Path(store.root, "think", "20261118.json"), "[1, 2, 3]")
    record = sprint.complete("think", agent="a", token=owner.token, artifact=art)
    assert record.artifact == os.path.realpath(art)
    assert os.readlink(os.path.join(pdir(sprint, "think"), "artifact.json")) == os.path.realpath(
        art
    )


def _bad_artifact(kind: str, project: str, tmp: Path) -> str:
    base = Path(project)
    if kind == "missing":
        return str(base / "nope.json")
    if kind == "symlink":
        target = make_artifact(base / "real.json")
        link = base / "link.json"
        link.symlink_to(target)
        return str(link)
    if kind == "fifo":
        path = base / "pipe.json"
        os.mkfifo(path)
        return str(path)
    if kind == "directory":
        path = base / "dir.json"
        path.mkdir()
        return str(path)
    if kind == "invalid":
        return make_artifact(base / "bad.json", '{"a": ')
    if kind == "empty":
        return make_artifact(base / "empty.json", "")
    if kind == "duplicate":
        return make_artifact(base / "dup.json", '{"a": 1, "a": 2}')
    if kind == "nan":
        return make_artifact(base / "nan.json", '{"a": NaN}')
    if kind == "infinity":
        return make_artifact(base / "inf.json", "[Infinity]")
    if kind == "binary":
        path = base / "bin.json"
        path.write_bytes(b"\xff\xfe\x00{")
        return str(path)
    if kind == "outside":
        return make_artifact(tmp / "elsewhere" / "out.json")
    if kind == "outside-via-dir-link":
        outside = Path(make_artifact(tmp / "elsewhere2" / "out.json")).parent
        (base / "linked").symlink_to(outside)
        return str(base / "linked" / "out.json")
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "symlink",
        "fifo",
        "directory",
        "invalid",
        "empty",
        "duplicate",
        "nan",
        "infinity",
        "binary",
        "outside",
        "outside-via-dir-link",
    ],
)
def test_complete_rejects_bad_artifacts_and_keeps_the_claim(
    sprint: Sprint, project: str, tmp_path: Path, kind: str
) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    art = _bad_artifact(kind, project, tmp_path)
    before = snapshot(sprint.path)
    with pytest.raises(BadInput) as info:
        sprint.complete("think", agent="a", token=owner.token, artifact=art)
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert snapshot(sprint.path) == before
    assert not os.path.lexists(os.path.join(pdir(sprint, "think"), "done"))
    assert sprint.view().phase("think").status == "held"
    # the claim is intact: the owner can still complete properly
    sprint.complete("think", agent="a", token=owner.token)


def test_done_is_terminal(sprint: Sprint) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    sprint.complete("think", agent="a", token=owner.token)
    done = Path(pdir(sprint, "think"), "done").read_bytes()
    attempts: list[Callable[[], Any]] = [
        lambda: sprint.claim("think", agent="b", holder_pid=os.getpid()),
        lambda: sprint.claim("think", agent="a", holder_pid=os.getpid()),
        lambda: sprint.complete("think", agent="a", token=owner.token),
        lambda: sprint.complete("think", agent="a"),
        lambda: sprint.complete("think", agent="b", force=True),
        lambda: sprint.abort("think", agent="a", token=owner.token),
        lambda: sprint.abort("think", agent="a", force=True),
        lambda: sprint.reclaim("think", agent="a", force=True),
        lambda: sprint.heartbeat("think", agent="a", token=owner.token),
    ]
    for attempt in attempts:
        result = outcome(attempt)
        assert isinstance(result, Refused), result
        assert Path(pdir(sprint, "think"), "done").read_bytes() == done
        assert not os.path.lexists(lock_path(sprint, "think"))
    assert isinstance(outcome(attempts[0]), AlreadyDone)
    assert sprint.view().phase("think").status == "done"


def test_complete_by_non_owner_is_refused(sprint: Sprint) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    before = snapshot(sprint.path)
    with pytest.raises(NotOwner) as info:
        sprint.complete("think", agent="b")
    assert info.value.word == "REFUSED" and info.value.exit_code == EXIT_REFUSED
    assert snapshot(sprint.path) == before
    with pytest.raises(NotOwner):
        sprint.complete("think", agent="b", token=f"9-{'a' * 16}")
    with pytest.raises(NotOwner):
        sprint.complete("think", agent="a", token=f"1-{'b' * 16}")
    assert snapshot(sprint.path) == before
    sprint.complete("think", agent="a", token=owner.token)


@pytest.mark.parametrize("token", ["nope", "1-XYZ", "../1-0000000000000000", "1-00\n", ""])
def test_complete_with_malformed_token_is_bad_input(sprint: Sprint, token: str) -> None:
    sprint.claim("think", agent="a", holder_pid=os.getpid())
    before = snapshot(sprint.path)
    result = outcome(lambda: sprint.complete("think", agent="a", token=token or None))
    if token:
        assert isinstance(result, BadInput)
        assert snapshot(sprint.path) == before
    else:  # an empty token means "no token": the owner may complete by name
        assert not isinstance(result, ConductorError)


def test_complete_force_by_another_agent(sprint: Sprint) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    record = sprint.complete("think", agent="lead", force=True)
    assert record.token == owner.token
    assert os.path.isfile(os.path.join(pdir(sprint, "think"), "done"))
    assert not os.path.lexists(lock_path(sprint, "think"))
    with pytest.raises(Fenced, match="fenced"):
        sprint.complete("think", agent="a", token=owner.token)


def test_complete_when_not_claimed_is_refused(sprint: Sprint) -> None:
    with pytest.raises(Refused, match="not claimed"):
        sprint.complete("think", agent="a")
    assert not os.path.lexists(os.path.join(pdir(sprint, "think"), "done"))


# ---------------------------------------------------------------------- abort


def test_abort_owner_only(sprint: Sprint) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    before = snapshot(sprint.path)
    with pytest.raises(NotOwner):
        sprint.abort("think", agent="b")
    assert snapshot(sprint.path) == before
    assert sprint.abort("think", agent="a", token=owner.token) == "a"
    assert not os.path.lexists(lock_path(sprint, "think"))
    assert not os.path.lexists(os.path.join(pdir(sprint, "think"), "lock.d"))
    assert not os.path.lexists(os.path.join(pdir(sprint, "think"), "done"))
    entries = [h for h in history(sprint, "think") if h.startswith(owner.token + "@aborted-")]
    assert len(entries) == 1
    end = json.loads(Path(pdir(sprint, "think"), "history", entries[0], "end.json").read_text())
    assert end["how"] == "aborted" and end["by"] == "a"
    assert sprint.view().phase("think").status == "ready"
    with pytest.raises(Fenced, match="fenced"):
        sprint.abort("think", agent="a", token=owner.token)


def test_abort_force_by_another_agent(sprint: Sprint) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    assert sprint.abort("think", agent="lead", force=True) == "a"
    assert not os.path.lexists(lock_path(sprint, "think"))
    with pytest.raises(Fenced, match="fenced"):
        sprint.complete("think", agent="a", token=owner.token)


def test_abort_when_not_claimed_is_refused(sprint: Sprint) -> None:
    with pytest.raises(Refused):
        sprint.abort("think", agent="a")


# ---------------------------------------------------------------------- reclaim and liveness


def test_reclaim_refused_while_held(sprint: Sprint, live_pid: tuple[int, int | None]) -> None:
    sprint.claim("think", agent="a", holder_pid=live_pid[0], holder_start=live_pid[1])
    before = snapshot(sprint.path)
    with pytest.raises(NotStale) as info:
        sprint.reclaim("think", agent="b")
    assert info.value.exit_code == EXIT_REFUSED
    assert snapshot(sprint.path) == before


def test_reclaim_of_unlocked_phase_is_refused(sprint: Sprint) -> None:
    with pytest.raises(Refused, match="not locked"):
        sprint.reclaim("think", agent="b", force=True)


def test_stale_after_the_holder_dies_then_fenced(
    sprint: Sprint, dead_pid: tuple[int, int | None]
) -> None:
    pid, start = dead_pid
    owner = sprint.claim("think", agent="gone", holder_pid=pid, holder_start=start)
    pv = sprint.view().phase("think")
    assert pv.status == "stale"
    assert pv.lock is not None and pv.lock.holder_alive is False
    assert any(f"holder pid {pid} is gone" in e for e in pv.lock.evidence)
    view = sprint.reclaim("think", agent="rescuer")
    assert view.agent == "gone" and view.verdict == "stale" and view.token == owner.token
    assert not os.path.lexists(lock_path(sprint, "think"))
    assert not os.path.lexists(os.path.join(pdir(sprint, "think"), "lock.d"))
    entries = [h for h in history(sprint, "think") if h.startswith(owner.token + "@reclaimed-")]
    assert len(entries) == 1
    end = json.loads(Path(pdir(sprint, "think"), "history", entries[0], "end.json").read_text())
    assert end["by"] == "rescuer" and end["how"] == "reclaimed"
    for op in (
        lambda: sprint.complete("think", agent="gone", token=owner.token),
        lambda: sprint.heartbeat("think", agent="gone", token=owner.token),
        lambda: sprint.abort("think", agent="gone", token=owner.token),
    ):
        with pytest.raises(Fenced) as info:
            op()
        assert "fenced" in info.value.message
    assert not os.path.exists(os.path.join(pdir(sprint, "think"), "done"))
    assert sprint.view().phase("think").status == "ready"


def test_fenced_holder_cannot_touch_the_new_claim(
    sprint: Sprint, dead_pid: tuple[int, int | None]
) -> None:
    old = sprint.claim("think", agent="gone", holder_pid=dead_pid[0], holder_start=dead_pid[1])
    sprint.reclaim("think", agent="b")
    new = sprint.claim("think", agent="b", holder_pid=os.getpid())
    before = snapshot(sprint.path)
    for op in (
        lambda: sprint.complete("think", agent="gone", token=old.token),
        lambda: sprint.heartbeat("think", agent="gone", token=old.token),
        lambda: sprint.abort("think", agent="gone", token=old.token),
    ):
        with pytest.raises(Fenced, match="fenced"):
            op()
    assert snapshot(sprint.path) == before
    assert sprint.view().phase("think").lock.token == new.token  # type: ignore[union-attr]


def test_stale_after_lease_expiry_when_holder_on_another_host(
    sprint: Sprint, store: Store, clock: FakeClock, dead_pid: tuple[int, int | None]
) -> None:
    far = remote(store, clock, sprint)
    # the pid means nothing here: the holder is on another host
    owner = far.claim("think", agent="far", ttl=300, holder_pid=dead_pid[0])
    pv = sprint.view().phase("think")
    assert pv.status == "held"
    assert pv.lock is not None and pv.lock.holder_alive is None
    with pytest.raises(NotStale):
        sprint.reclaim("think", agent="me")
    clock.advance(299)
    assert sprint.view().phase("think").status == "held"
    clock.advance(2)
    pv = sprint.view().phase("think")
    assert pv.status == "stale"
    sprint.reclaim("think", agent="me")
    with pytest.raises(Fenced, match="fenced"):
        far.complete("think", agent="far", token=owner.token)


def test_suspect_when_lease_expired_but_holder_alive(
    sprint: Sprint, clock: FakeClock, live_pid: tuple[int, int | None]
) -> None:
    owner = sprint.claim(
        "think", agent="busy", ttl=60, holder_pid=live_pid[0], holder_start=live_pid[1]
    )
    clock.advance(61)
    pv = sprint.view().phase("think")
    assert pv.status == "suspect"
    assert pv.lock is not None and pv.lock.holder_alive is True
    before = snapshot(sprint.path)
    with pytest.raises(NotStale):
        sprint.reclaim("think", agent="me")
    assert snapshot(sprint.path) == before
    with pytest.raises(Held):
        sprint.claim("think", agent="me", holder_pid=os.getpid())
    view = sprint.reclaim("think", agent="me", force=True)
    assert view.verdict == "suspect"
    with pytest.raises(Fenced, match="fenced"):
        sprint.heartbeat("think", agent="busy", token=owner.token)


def test_pid_reuse_is_stale(sprint: Sprint, live_pid: tuple[int, int | None]) -> None:
    pid, start = live_pid
    assert start is not None
    sprint.claim("think", agent="a", holder_pid=pid, holder_start=start + 12345)
    pv = sprint.view().phase("think")
    assert pv.status == "stale"
    assert any("another process" in e for e in pv.lock.evidence)  # type: ignore[union-attr]


def test_zombie_holder_is_stale(sprint: Sprint) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        info = proc_info(child.pid)
        assert info is not None
        # wait for the exit without reaping: the child stays a zombie
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        assert proc_info(child.pid).state == "Z"  # type: ignore[union-attr]
        sprint.claim("think", agent="z", holder_pid=child.pid, holder_start=info.start)
        pv = sprint.view().phase("think")
        assert pv.status == "stale"
        assert any("zombie" in e for e in pv.lock.evidence)  # type: ignore[union-attr]
    finally:
        child.wait()


def test_held_when_holder_alive_and_lease_running(
    sprint: Sprint, clock: FakeClock, live_pid: tuple[int, int | None]
) -> None:
    sprint.claim("think", agent="a", ttl=600, holder_pid=live_pid[0], holder_start=live_pid[1])
    clock.advance(599)
    pv = sprint.view().phase("think")
    assert pv.status == "held"
    assert pv.lock is not None and pv.lock.holder_alive is True
    assert pv.lock.lease_expires_in == pytest.approx(1)


# ---------------------------------------------------------------------- upstream locks


def test_upstream_lock_is_read_as_held(sprint: Sprint, clock: FakeClock) -> None:
    write_upstream_lock(pdir(sprint, "think"), agent="codex-7b21e0aa", pid=48211, mtime=T0 - 60)
    pv = sprint.view().phase("think")
    assert pv.status == "held" and pv.state == "running"
    assert pv.lock is not None and pv.lock.form == "upstream"
    assert pv.agent == "codex-7b21e0aa"
    before = snapshot(sprint.path)
    with pytest.raises(Held, match="codex-7b21e0aa"):
        sprint.claim("think", agent="me", holder_pid=os.getpid())
    with pytest.raises(NotStale):
        sprint.reclaim("think", agent="me")
    assert snapshot(sprint.path) == before


def test_upstream_lock_made_by_a_real_upstream_claim(sprint: Sprint) -> None:
    rc, out = upstream_claim(pdir(sprint, "think"), "codex-7b21e0aa")
    assert (rc, out) == (0, "OK")
    os.utime(os.path.join(lock_path(sprint, "think"), "meta.json"), (T0 - 30, T0 - 30))
    pv = sprint.view().phase("think")
    assert pv.status == "held" and pv.agent == "codex-7b21e0aa"
    with pytest.raises(Held):
        sprint.claim("think", agent="me", holder_pid=os.getpid())


@pytest.mark.parametrize(
    ("age", "alive", "verdict"),
    [
        (2 * HOUR, False, "stale"),
        (2 * HOUR, True, "held"),
        (HOUR - 60, False, "held"),
        (10, False, "held"),
    ],
)
@pytest.mark.parametrize("form", ["dir", "file"])
def test_upstream_lock_stale_only_after_an_hour_and_pid_gone(
    sprint: Sprint,
    live_pid: tuple[int, int | None],
    dead_pid: tuple[int, int | None],
    age: float,
    alive: bool,
    verdict: str,
    form: str,
) -> None:
    pid = live_pid[0] if alive else dead_pid[0]
    writer = write_upstream_lock if form == "dir" else write_upstream_file_lock
    writer(pdir(sprint, "think"), agent="old-agent", pid=pid, mtime=T0 - age)
    pv = sprint.view().phase("think")
    assert pv.status == verdict
    assert pv.state == "running"
    assert pv.lock is not None
    assert pv.lock.form == ("upstream" if form == "dir" else "upstream-file")
    result = outcome(lambda: sprint.reclaim("think", agent="me"))
    if verdict == "stale":
        assert not isinstance(result, ConductorError)
        assert not os.path.lexists(lock_path(sprint, "think"))
        owner = sprint.claim("think", agent="me", holder_pid=os.getpid())
        assert owner.epoch >= 1
        assert sprint.view().phase("think").status == "held"
        assert "sprint_unstuck" in event_names(sprint.store)
    else:
        assert isinstance(result, NotStale)
        assert os.path.lexists(lock_path(sprint, "think"))


def test_upstream_reclaim_keeps_the_evidence_in_history(
    sprint: Sprint, dead_pid: tuple[int, int | None]
) -> None:
    meta = write_upstream_lock(
        pdir(sprint, "think"), agent="old", pid=dead_pid[0], mtime=T0 - 2 * HOUR
    )
    content = Path(meta).read_bytes()
    sprint.reclaim("think", agent="me")
    kept = [
        Path(root, f).read_bytes()
        for root, _, files in os.walk(os.path.join(pdir(sprint, "think"), "history"))
        for f in files
        if f == "meta.json"
    ]
    assert content in kept


def test_nested_lock_d_is_contested(sprint: Sprint, dead_pid: tuple[int, int | None]) -> None:
    # upstream's double grant: the second `mv lock.d lock` moves lock.d into the lock
    think = pdir(sprint, "think")
    assert upstream_claim(think, "first") == (0, "OK")
    assert upstream_claim(think, "second") == (0, "OK")
    assert os.path.isfile(os.path.join(think, "lock", "lock.d", "meta.json"))
    os.utime(os.path.join(think, "lock", "meta.json"), (T0 - 2 * HOUR, T0 - 2 * HOUR))
    pv = sprint.view().phase("think")
    assert pv.status == "contested"
    assert pv.lock is not None and pv.lock.double_grant is True
    assert pv.lock.verdict == "contested"
    with pytest.raises(Held):
        sprint.claim("think", agent="me", holder_pid=os.getpid())
    with pytest.raises(NotStale):
        sprint.reclaim("think", agent="me")
    findings = sprint.doctor()
    assert any(f.phase == "think" and "lock.d" in f.problem for f in findings)
    sprint.reclaim("think", agent="me", force=True)
    assert not os.path.lexists(os.path.join(think, "lock"))
    assert sprint.claim("think", agent="me", holder_pid=os.getpid()).epoch >= 1


def test_upstream_holder_can_complete_and_abort_through_us(sprint: Sprint) -> None:
    think, plan = pdir(sprint, "think"), pdir(sprint, "plan")
    assert upstream_claim(think, "codex-1") == (0, "OK")
    with pytest.raises(NotOwner):
        sprint.complete("think", agent="codex-2")
    with pytest.raises(Refused, match="upstream"):
        sprint.heartbeat("think", agent="codex-1")
    record = sprint.complete("think", agent="codex-1")
    assert record.agent == "codex-1" and record.token is None
    assert json.loads(Path(think, "done").read_text())["agent"] == "codex-1"
    assert not os.path.lexists(os.path.join(think, "lock"))
    assert not os.path.lexists(os.path.join(think, "lock.d"))
    assert upstream_claim(plan, "codex-1") == (0, "OK")
    with pytest.raises(NotOwner):
        sprint.abort("plan", agent="codex-2")
    assert sprint.abort("plan", agent="codex-1") == "codex-1"
    assert not os.path.lexists(os.path.join(plan, "lock"))
    assert sprint.view().phase("plan").status == "ready"


@pytest.mark.parametrize("ending", ["complete", "abort", "reclaim"])
def test_lock_d_sentinel_while_we_hold_and_removed_after(
    sprint: Sprint, ending: str, dead_pid: tuple[int, int | None]
) -> None:
    sentinel = os.path.join(pdir(sprint, "think"), "lock.d")
    holder = dead_pid[0] if ending == "reclaim" else os.getpid()
    owner = sprint.claim("think", agent="a", holder_pid=holder)
    assert os.path.isdir(sentinel) and os.listdir(sentinel) == []
    if ending == "complete":
        sprint.heartbeat("think", agent="a", token=owner.token)
        assert os.path.isdir(sentinel)
        sprint.complete("think", agent="a", token=owner.token)
    elif ending == "abort":
        sprint.abort("think", agent="a", token=owner.token)
    else:
        sprint.reclaim("think", agent="b")
    assert not os.path.lexists(sentinel)
    assert not os.path.lexists(lock_path(sprint, "think"))


def test_upstream_claimer_cannot_mkdir_lock_d_while_we_hold(sprint: Sprint) -> None:
    think = pdir(sprint, "think")
    owner = sprint.claim("think", agent="ours", holder_pid=os.getpid())
    with pytest.raises(FileExistsError):
        os.mkdir(os.path.join(think, "lock.d"))
    proc = subprocess.run(["bash", "-c", 'mkdir "$1"', "mk", os.path.join(think, "lock.d")])
    assert proc.returncode != 0
    # the whole upstream claim refuses and names us, read from our meta.json
    assert upstream_claim(think, "codex-x") == (1, "CLAIMED by ours")
    assert sorted(os.listdir(lock_path(sprint, "think"))) == sorted(["meta.json", owner.token])
    assert os.listdir(os.path.join(think, "lock.d")) == []
    sprint.abort("think", agent="ours", token=owner.token)
    # released: upstream may claim again
    assert upstream_claim(think, "codex-x") == (0, "OK")
    os.utime(os.path.join(think, "lock", "meta.json"), (T0 - 5, T0 - 5))
    assert sprint.view().phase("think").agent == "codex-x"


def test_our_meta_json_is_readable_by_jq(sprint: Sprint, live_pid: tuple[int, int | None]) -> None:
    owner = sprint.claim("think", agent="claude-5e1a90c2", holder_pid=live_pid[0])
    meta = os.path.join(lock_path(sprint, "think"), "meta.json")

    def jq(expr: str) -> str:
        return subprocess.run(
            ["/usr/bin/jq", "-r", expr, meta], capture_output=True, text=True, check=True
        ).stdout.strip()

    assert jq(".agent") == "claude-5e1a90c2"
    assert jq(".claimed_at") == iso(T0)
    assert jq(".pid") == str(live_pid[0])
    assert jq(".token") == owner.token


# ---------------------------------------------------------------------- malformed records


def _every_op(sprint: Sprint, phase: str) -> list[Any]:
    ops: list[Callable[[], Any]] = [
        lambda: sprint.view(),
        lambda: sprint.why(phase),
        lambda: sprint.next_ready(),
        lambda: sprint.claim(phase, agent="x", holder_pid=os.getpid()),
        lambda: sprint.heartbeat(phase, agent="x"),
        lambda: sprint.complete(phase, agent="x"),
        lambda: sprint.abort(phase, agent="x"),
        lambda: sprint.reclaim(phase, agent="x"),
        lambda: sprint.doctor(),
    ]
    return [outcome(op) for op in ops]


@pytest.mark.parametrize(
    "content",
    [b'{"agent": "a", "completed_at": "2026-11-', b"", b"\x00\x01garbage", b"[1, 2]", b"null"],
    ids=["truncated", "empty", "binary", "array", "null"],
)
def test_malformed_done_record(sprint: Sprint, content: bytes) -> None:
    Path(pdir(sprint, "think"), "done").write_bytes(content)
    pv = sprint.view().phase("think")
    assert pv.status == "malformed"
    assert pv.problems
    results = _every_op(sprint, "think")
    claim = results[3]
    assert isinstance(claim, Refused)
    assert not isinstance(claim, AlreadyDone)
    assert not os.path.lexists(lock_path(sprint, "think"))
    assert any(f.phase == "think" for f in results[-1])
    assert Path(pdir(sprint, "think"), "done").read_bytes() == content


def test_done_that_is_a_directory_is_malformed(sprint: Sprint) -> None:
    os.mkdir(os.path.join(pdir(sprint, "think"), "done"))
    assert sprint.view().phase("think").status == "malformed"
    results = _every_op(sprint, "think")
    assert isinstance(results[3], Refused)


@pytest.mark.parametrize(
    "content",
    [b"\x00garbage\xff", b'{"agent": "a", "agent": "b"}', b'{"agent": ', b'{"pid": NaN}'],
    ids=["binary", "duplicate", "truncated", "nan"],
)
def test_garbage_meta_json_is_malformed(sprint: Sprint, content: bytes) -> None:
    think = pdir(sprint, "think")
    os.mkdir(os.path.join(think, "lock.d"))
    Path(think, "lock.d", "meta.json").write_bytes(content)
    os.rename(os.path.join(think, "lock.d"), os.path.join(think, "lock"))
    pv = sprint.view().phase("think")
    assert pv.status == "malformed"
    assert pv.state == "running"
    results = _every_op(sprint, "think")
    assert isinstance(results[3], Refused)  # never treated as free
    assert isinstance(results[7], NotStale)  # nor as stale
    assert Path(think, "lock", "meta.json").read_bytes() == content
    assert any(f.phase == "think" for f in results[-1])
    sprint.reclaim("think", agent="me", force=True)
    assert not os.path.lexists(os.path.join(think, "lock"))
    assert sprint.claim("think", agent="me", holder_pid=os.getpid()).epoch >= 1


def test_owner_json_missing_but_mirror_present(sprint: Sprint) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    os.unlink(os.path.join(lock_path(sprint, "think"), owner.token, "owner.json"))
    pv = sprint.view().phase("think")
    assert pv.status in ("held", "malformed")
    results = _every_op(sprint, "think")
    assert isinstance(results[3], Refused)  # another agent never gets it
    assert os.path.isdir(os.path.join(lock_path(sprint, "think"), owner.token))


def test_doctor_reports_a_missing_owner_record(sprint: Sprint) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    os.unlink(os.path.join(lock_path(sprint, "think"), owner.token, "owner.json"))
    findings = sprint.doctor()
    assert any(f.phase == "think" and "owner" in f.problem for f in findings), findings


def test_lock_that_is_a_symlink_is_malformed(sprint: Sprint, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    os.symlink(target, lock_path(sprint, "think"))
    assert sprint.view().phase("think").status == "malformed"
    results = _every_op(sprint, "think")
    assert isinstance(results[3], Refused)
    assert os.listdir(target) == []


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\x02\xff binary",
        b'{"sprint_id": "x", "sprint_id": "y", "project": "/p", "phases": []}',
        b'{"project": "/p"}',
        b'{"sprint_id": "x", "project": "/p", "phases": [{"name": "../../etc"}]}',
        b'{"sprint_id": "x", "project": "/p", "phases": [{"name": "a", "depends_on": ["a"]}]}',
        b"[]",
    ],
    ids=["binary", "duplicate", "schema", "hostile-phase", "self-cycle", "array"],
)
def test_malformed_sprint_json_is_bad_input(
    store: Store, project: str, tmp_path: Path, content: bytes
) -> None:
    sprint_id = f"{project_hash(project)}-20261118-093000"
    sdir = Path(store.root, "conductor", sprint_id)
    sdir.mkdir(parents=True)
    (sdir / "sprint.json").write_bytes(content)
    before = snapshot(tmp_path)
    for op in (
        lambda: store.find_active(project),
        lambda: store.open_sprint(sprint_id),
        lambda: store.load_sprint(str(sdir)),
    ):
        result = outcome(op)
        assert isinstance(result, BadInput) or result is None, result
    assert isinstance(outcome(lambda: store.open_sprint(sprint_id)), BadInput)
    assert snapshot(tmp_path) == before


def test_sprint_json_symlink_is_not_followed(store: Store, project: str, tmp_path: Path) -> None:
    real = store.start(project, agent="tester")
    sprint_id = f"{project_hash(project)}-20991231-000000"
    sdir = Path(store.root, "conductor", sprint_id)
    sdir.mkdir()
    (sdir / "sprint.json").symlink_to(Path(real.path, "sprint.json"))
    assert isinstance(outcome(lambda: store.open_sprint(sprint_id)), BadInput)


# ---------------------------------------------------------------------- doctor


def test_doctor_on_a_healthy_sprint(sprint: Sprint) -> None:
    complete_through(sprint, "think")
    sprint.claim("plan", agent="a", holder_pid=os.getpid())
    assert sprint.doctor() == []
    assert sprint.doctor(fix=True) == []


def _check_doctor(sprint: Sprint, phase: str, needle: str) -> None:
    before = snapshot(sprint.path)
    found = sprint.doctor()
    mine = [f for f in found if f.phase == phase and needle in f.problem]
    assert mine, found
    assert not any(f.fixed for f in found)
    assert snapshot(sprint.path) == before  # without --fix nothing changes
    fixed = sprint.doctor(fix=True)
    assert any(f.phase == phase and needle in f.problem and f.fixed for f in fixed), fixed
    assert sprint.doctor() == []


def test_doctor_removes_orphan_lock_d(sprint: Sprint) -> None:
    os.mkdir(os.path.join(pdir(sprint, "think"), "lock.d"))
    _check_doctor(sprint, "think", "orphan lock.d")
    assert not os.path.lexists(os.path.join(pdir(sprint, "think"), "lock.d"))
    assert sprint.claim("think", agent="a", holder_pid=os.getpid()).epoch == 1


def test_doctor_removes_an_empty_lock_dir(sprint: Sprint) -> None:
    os.mkdir(lock_path(sprint, "think"))
    _check_doctor(sprint, "think", "empty lock")
    assert not os.path.lexists(lock_path(sprint, "think"))
    assert sprint.view().phase("think").status == "ready"


def test_doctor_removes_a_stale_unpublished_claim(sprint: Sprint) -> None:
    token = f"1-{'c' * 16}"
    private = Path(pdir(sprint, "think"), f".claim-{token}")
    (private / token).mkdir(parents=True)
    (private / token / "owner.json").write_text('{"agent": "crashed"}')
    (private / "meta.json").write_text('{"agent": "crashed"}')
    for p in (private / token / "owner.json", private / "meta.json", private / token, private):
        os.utime(p, (T0 - HOUR, T0 - HOUR))
    _check_doctor(sprint, "think", ".claim-")
    assert not os.path.lexists(private)
    assert sprint.view().phase("think").status == "ready"


def test_doctor_fix_leaves_a_claim_in_progress_alone(sprint: Sprint, clock: FakeClock) -> None:
    # a .claim-* directory written a moment ago belongs to a claimer that is still running
    token = f"1-{'d' * 16}"
    private = Path(pdir(sprint, "think"), f".claim-{token}")
    (private / token).mkdir(parents=True)
    (private / "meta.json").write_text('{"agent": "busy"}')
    for p in (private / "meta.json", private / token, private):
        os.utime(p, (clock.now - 1, clock.now - 1))
    sprint.doctor(fix=True)
    assert private.is_dir() and (private / "meta.json").is_file()


def _interrupted_release(sprint: Sprint, phase: str) -> tuple[str, str]:
    """A complete interrupted right after its commit rename (done staged, not published)."""
    owner = sprint.claim(phase, agent="a", holder_pid=os.getpid())
    p = pdir(sprint, phase)
    nonce = "0badcafe"
    record = {
        "agent": "a",
        "completed_at": iso(T0),
        "artifact": "",
        "token": owner.token,
        "epoch": owner.epoch,
    }
    staged = os.path.join(p, f".done-{owner.token}-{nonce}")
    Path(staged).write_text(json.dumps(record))
    os.rename(
        os.path.join(p, "lock", owner.token),
        os.path.join(p, "history", f"{owner.token}@done-{nonce}"),
    )
    return owner.token, staged


def test_doctor_finishes_a_release_interrupted_after_the_commit(sprint: Sprint) -> None:
    token, staged = _interrupted_release(sprint, "think")
    p = pdir(sprint, "think")
    pv = sprint.view().phase("think")
    assert pv.status != "held"  # the claim has ended
    found = sprint.doctor()
    assert any(f.phase == "think" and not f.fixed for f in found)
    assert not os.path.lexists(os.path.join(p, "done"))
    sprint.doctor(fix=True)
    done = json.loads(Path(p, "done").read_text())
    assert done["token"] == token and done["agent"] == "a"
    assert not os.path.lexists(staged)
    assert not os.path.lexists(os.path.join(p, "lock"))
    assert not os.path.lexists(os.path.join(p, "lock.d"))
    assert sprint.view().phase("think").status == "done"
    assert sprint.view().phase("plan").status == "ready"
    assert sprint.doctor() == []
    with pytest.raises(AlreadyDone):
        sprint.claim("think", agent="b", holder_pid=os.getpid())


def test_claim_finishes_an_interrupted_release(sprint: Sprint) -> None:
    _interrupted_release(sprint, "think")
    with pytest.raises(AlreadyDone):
        sprint.claim("think", agent="b", holder_pid=os.getpid())
    assert os.path.isfile(os.path.join(pdir(sprint, "think"), "done"))
    assert not os.path.lexists(lock_path(sprint, "think"))


def test_interrupted_release_fences_the_old_token(sprint: Sprint) -> None:
    token, _ = _interrupted_release(sprint, "think")
    with pytest.raises(Fenced, match="fenced"):
        sprint.complete("think", agent="a", token=token)
    with pytest.raises(Fenced, match="fenced"):
        sprint.heartbeat("think", agent="a", token=token)


def test_doctor_fix_repairs_a_missing_mirror(sprint: Sprint) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=os.getpid())
    os.unlink(os.path.join(lock_path(sprint, "think"), "meta.json"))
    _check_doctor(sprint, "think", "mirror")
    meta = json.loads(Path(lock_path(sprint, "think"), "meta.json").read_text())
    assert meta["token"] == owner.token and meta["agent"] == "a"


# ---------------------------------------------------------------------- audit


def test_audit_log_records_every_transition(
    sprint: Sprint, store: Store, dead_pid: tuple[int, int | None]
) -> None:
    a = sprint.claim("think", agent="alice", holder_pid=os.getpid())
    sprint.heartbeat("think", agent="alice", token=a.token)
    sprint.complete("think", agent="alice", token=a.token)
    b = sprint.claim("plan", agent="bob", holder_pid=os.getpid())
    sprint.abort("plan", agent="bob", token=b.token)
    c = sprint.claim("plan", agent="carol", holder_pid=dead_pid[0], holder_start=dead_pid[1])
    sprint.reclaim("plan", agent="dave")
    evs = [e for e in events(store) if not isinstance(e, str)]
    assert [e.event for e in evs] == [
        "sprint_start",
        "sprint_claim",
        "sprint_heartbeat",
        "sprint_complete",
        "sprint_claim",
        "sprint_abort",
        "sprint_claim",
        "sprint_unstuck",
    ]
    claim = evs[1]
    assert (claim.resource, claim.detail, claim.agent) == ("think", "alice", "alice")
    assert claim.token == a.token and claim.epoch == 1 and claim.sprint == sprint.sprint_id
    assert claim.at == iso(T0)
    assert (evs[3].resource, evs[3].detail) == ("think", "alice")
    assert evs[5].resource == "plan" and evs[5].token == b.token
    unstuck = evs[7]
    assert unstuck.resource == "plan" and unstuck.token == c.token
    assert "carol" in unstuck.detail and unstuck.agent == "dave"
    # upstream's reader: every line is one JSON object with its four keys first
    for line in Path(store.audit_path).read_text().splitlines():
        obj = json.loads(line)
        assert list(obj)[:4] == ["at", "event", "resource", "detail"]


def test_audit_log_keeps_going_past_malformed_lines(sprint: Sprint, store: Store) -> None:
    with open(store.audit_path, "ab") as fh:
        fh.write(b"not json at all\n")
        fh.write(b'{"at": "x", "event": "e", "event": "dup"}\n')
        fh.write(b'{"at": "x", "event": NaN}\n')
        fh.write(b"\x00\xff\xfe\n")
        fh.write(b'{"event": "missing-at"}\n')
        fh.write(b'{"at": "2026-11-18T00:00:00Z", "event": "sprint_claim", "resource": "q"')
        fh.write(b"\n")
    sprint.claim("think", agent="a", holder_pid=os.getpid())
    items = events(store)
    bad = [i for i in items if isinstance(i, str)]
    good = [i for i in items if not isinstance(i, str)]
    assert len(bad) == 6
    assert all("malformed" in b for b in bad)
    assert [e.event for e in good] == ["sprint_start", "sprint_claim"]


# ---------------------------------------------------------------------- clean


def _set_mtime(sprint_path: str, when: float) -> None:
    os.utime(os.path.join(sprint_path, "sprint.json"), (when, when))


def test_clean_removes_only_old_archived_sprints_of_this_project(
    store: Store, project: str, tmp_path: Path, clock: FakeClock
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    old = store.start(project, agent="tester")
    recent = store.start(project, agent="tester")
    active = store.start(project, agent="tester")
    other_old = store.start(str(other), agent="tester")
    other_active = store.start(str(other), agent="tester")
    _set_mtime(old.path, T0 - 8 * DAY)
    _set_mtime(recent.path, T0 - 6 * DAY)
    _set_mtime(active.path, T0 - 30 * DAY)
    _set_mtime(other_old.path, T0 - 8 * DAY)
    _set_mtime(other_active.path, T0 - 30 * DAY)

    assert store.clean(project) == [old.sprint_id]
    left = sorted(os.listdir(store.conductor_dir))
    assert left == sorted(
        [recent.sprint_id, active.sprint_id, other_old.sprint_id, other_active.sprint_id]
    )
    assert store.clean(project) == []

    assert store.clean(None) == [other_old.sprint_id]
    assert sorted(os.listdir(store.conductor_dir)) == sorted(
        [recent.sprint_id, active.sprint_id, other_active.sprint_id]
    )
    clock.advance(2 * DAY)
    assert store.clean(None) == [recent.sprint_id]
    assert sorted(os.listdir(store.conductor_dir)) == sorted(
        [active.sprint_id, other_active.sprint_id]
    )
    active_found = store.find_active(project)
    assert active_found is not None and active_found.sprint_id == active.sprint_id


def test_clean_skips_malformed_sprints(store: Store, project: str) -> None:
    sdir = Path(store.conductor_dir, f"{project_hash(project)}-20200101-000000")
    sdir.mkdir(parents=True)
    (sdir / "sprint.json").write_bytes(b"\x00garbage")
    os.utime(sdir / "sprint.json", (T0 - 30 * DAY, T0 - 30 * DAY))
    assert store.clean(project) == []
    assert store.clean(None) == []
    assert sdir.is_dir()


def test_a_corrupt_config_is_an_error_or_a_stated_warning(sprint: Sprint, store: Store) -> None:
    """The CLI refuses a malformed config.json; the app keeps going but says what it ignored."""
    Path(store.root, "config.json").write_text('{"skill_roots": [')
    with pytest.raises(BadInput, match=r"config\.json is malformed"):
        sprint.concurrency()
    classes, _, warnings = sprint.concurrency(tolerate_config=True)
    assert classes["build"] == "write" and classes["review"] == "read"  # built-ins still apply
    assert any("config.json is malformed" in w and "ignored" in w for w in warnings)
