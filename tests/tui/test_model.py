"""The loader's incremental reading, on real store directories with real store operations.

A load told which paths changed re-reads only the phase directories under them and derives every
view again from all the readings it keeps; it must always equal a full read of the same disk at
the same instant (invariant 9: a view comes from one reading of each phase). Every comparison
below is against a fresh Loader's full read, with the store's clock frozen so both judge at the
same now.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core import audit
from conductor_tui.core.layout import SENTINEL
from conductor_tui.core.limits import SENTINEL_GRACE_S
from conductor_tui.core.models import AuditEvent
from conductor_tui.core.store import Store
from conductor_tui.tui.model import TICK, Loader, Snapshot
from conductor_tui.watch import ChangeBridge
from tests.conftest import T0, FakeClock

AGENT = "codex-7b21e0aa"
WIDE = [{"name": f"p{i}", "depends_on": []} for i in range(6)] + [
    {"name": "join", "depends_on": [f"p{i}" for i in range(6)]}
]


class World:
    """A store with one sprint, a frozen clock, and the loader under test."""

    def __init__(self, root: Path, phases: list[dict[str, Any]] | None = None) -> None:
        self.clock = FakeClock(T0)
        self.project = str(root / "project")
        os.makedirs(self.project, exist_ok=True)
        self.store = Store(str(root / "store"), clock=self.clock)
        self.sprint = self.store.start(self.project, agent="supervisor", phases=phases)
        # no sweep: the tests count exactly the phases each load reads (the sweep has its own)
        self.loader = Loader(self.store, self.project, full_every_s=1e9)

    def path(self, phase: str, *rest: str) -> str:
        """A path inside a phase directory of the current sprint."""
        return os.path.join(self.sprint.path, phase, *rest)

    def claim(self, phase: str) -> str:
        """Claim a phase for AGENT with this process as its live holder; the token."""
        return self.sprint.claim(phase, agent=AGENT, holder_pid=os.getpid()).token

    def complete(self, phase: str) -> None:
        """Claim and complete a phase."""
        self.sprint.complete(phase, agent=AGENT, token=self.claim(phase))

    def full(self) -> Snapshot:
        """What a loader that keeps nothing reads now."""
        return Loader(self.store, self.project).load()


@pytest.fixture
def world(quiet_env: None, tmp_path: Path) -> World:
    return World(tmp_path, WIDE)


def assert_same(got: Snapshot, want: Snapshot) -> None:
    """Two snapshots show the same thing: every view, the plan, the attention list, the log."""
    assert got.error == want.error
    assert got.view is not None and want.view is not None
    assert got.view.model_dump() == want.view.model_dump()
    assert got.order == want.order
    assert got.layers == want.layers
    assert [(lane.batch, [p.name for p in lane.phases]) for lane in got.lanes] == [
        (lane.batch, [p.name for p in lane.phases]) for lane in want.lanes
    ]
    assert [lane.phases for lane in got.lanes] == [lane.phases for lane in want.lanes]
    assert got.attention == want.attention
    assert got.events == want.events
    assert got.next_expiry_in == want.next_expiry_in


def status(snap: Snapshot, phase: str) -> str:
    pv = snap.phase(phase)
    assert pv is not None
    return pv.status


def plant_malformed_done(path: str) -> None:
    """A done record that is not JSON (a crashed writer, a hand edit)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('{"agent": "claude-1a2b3c4d", "completed_at": ')


# ---------------------------------------------------------------------- equal to a full read


def test_an_incremental_load_after_one_claim_equals_a_full_load(world: World) -> None:
    w = world
    first = w.loader.load()
    assert first.changed is None  # nothing to compare with: anything may have changed
    token = w.claim("p2")
    snap = w.loader.load(frozenset({w.path("p2", "lock"), w.store.audit_path}))
    assert_same(snap, w.full())
    pv = snap.phase("p2")
    assert pv is not None and pv.status == "held" and pv.lock is not None
    assert pv.lock.token == token
    assert snap.changed == frozenset({"p2"})
    assert w.loader.phase_reads == len(w.sprint.defs) + 1


def test_incremental_loads_follow_a_whole_sprint_and_stay_equal_to_full_loads(
    world: World,
) -> None:
    """Completions unblock dependents: blocked_by, ready, the counts and the plan all follow."""
    w = world
    w.loader.load()
    for i in range(6):
        w.complete(f"p{i}")
        w.clock.advance(5)
        snap = w.loader.load(frozenset({w.path(f"p{i}", "done")}))
        assert_same(snap, w.full())
        assert snap.changed is not None and f"p{i}" in snap.changed
    assert status(snap, "join") == "ready"
    assert snap.changed == frozenset({"p5", "join"})  # join's blocked_by emptied with p5
    assert snap.view is not None and snap.view.count("done") == 6
    assert [lane.batch.phases for lane in snap.lanes] == [["join"]]
    assert w.loader.phase_reads == len(w.sprint.defs) + 6


def test_changed_names_only_the_phases_whose_view_differs(world: World) -> None:
    w = world
    w.loader.load()
    again = w.loader.load(frozenset({w.path("p1", "lock")}))  # reported, but nothing changed
    assert again.changed == frozenset()
    w.claim("p1")
    snap = w.loader.load(frozenset({w.path("p1", "lock")}))
    assert snap.changed == frozenset({"p1"})
    w.clock.advance(1)  # a held lock's lease counts down: its view differs at every instant
    snap = w.loader.load(frozenset({w.path("p3", "lock")}))
    assert snap.changed == frozenset({"p1"})


def test_the_paths_the_real_watcher_reports_are_enough(world: World) -> None:
    """The real bridge, the real operations: each delivery re-reads only what it names, and the
    screen's reading equals a full read after every one."""
    w = world
    deliveries: list[frozenset[str]] = []
    arrived = threading.Condition()

    def on_change(paths: frozenset[str]) -> None:
        with arrived:
            deliveries.append(paths)
            arrived.notify_all()

    def settle() -> frozenset[str]:
        """Every path delivered until the bridge has been quiet for 0.3 s."""
        with arrived:
            arrived.wait_for(lambda: bool(deliveries), timeout=5.0)
            while True:
                count = len(deliveries)
                arrived.wait(0.3)
                if len(deliveries) == count:
                    break
            paths: frozenset[str] = frozenset().union(*deliveries)
            deliveries.clear()
            return paths

    w.loader.load()
    bridge = ChangeBridge(w.store.root, w.sprint.path, on_change, rescan_s=None)
    bridge.start()
    try:
        token = w.claim("p0")
        paths = settle()
        before = w.loader.phase_reads
        snap = w.loader.load(paths)
        assert w.loader.phase_reads - before == 1, sorted(paths)
        assert status(snap, "p0") == "held"
        assert_same(snap, w.full())
        w.sprint.complete("p0", agent=AGENT, token=token)
        w.claim("p1")
        w.sprint.abort("p1", agent=AGENT)
        paths = settle()
        before = w.loader.phase_reads
        snap = w.loader.load(paths)
        assert w.loader.phase_reads - before == 2, sorted(paths)
        assert (status(snap, "p0"), status(snap, "p1")) == ("done", "ready")
        assert_same(snap, w.full())
    finally:
        bridge.stop()


# ---------------------------------------------------------------------- only what was reported


def test_a_reload_that_reports_one_phase_reads_only_that_phase(world: World) -> None:
    """A corrupt done record planted in another phase is not seen until a full read."""
    w = world
    w.loader.load()
    plant_malformed_done(w.path("p4", "done"))
    w.claim("p1")
    snap = w.loader.load(frozenset({w.path("p1", "lock")}))
    assert status(snap, "p1") == "held"
    assert status(snap, "p4") == "ready"  # p4 was not read again: its planted record unseen
    assert w.loader.phase_reads == len(w.sprint.defs) + 1
    rescan = w.loader.load(frozenset())  # the bridge's periodic rescan: everything is read
    assert status(rescan, "p4") == "malformed"
    assert rescan.changed == frozenset({"p4"})
    assert_same(rescan, w.full())


def test_reporting_the_planted_phase_reads_it(world: World) -> None:
    w = world
    w.loader.load()
    plant_malformed_done(w.path("p4", "done"))
    snap = w.loader.load(frozenset({w.path("p4", "done")}))
    assert status(snap, "p4") == "malformed"
    assert_same(snap, w.full())


@pytest.mark.parametrize(
    "where",
    [
        "sprint.json",
        "sprint-dir",
        "conductor-dir",
        "config.json",
        "skills",
        "store-root",
        "not-a-phase",
        "elsewhere",
    ],
)
def test_a_path_outside_the_phase_directories_means_a_full_read(world: World, where: str) -> None:
    w = world
    w.loader.load()
    plant_malformed_done(w.path("p4", "done"))
    path = {
        "sprint.json": os.path.join(w.sprint.path, "sprint.json"),
        "sprint-dir": w.sprint.path,
        "conductor-dir": w.store.conductor_dir,
        "config.json": os.path.join(w.store.root, "config.json"),
        "skills": os.path.join(w.store.root, "skills", "p1", "SKILL.md"),
        "store-root": w.store.root,
        "not-a-phase": os.path.join(w.sprint.path, "notes.txt"),
        "elsewhere": "/somewhere/else",
    }[where]
    snap = w.loader.load(frozenset({w.path("p1", "lock"), path}))
    assert status(snap, "p4") == "malformed"
    assert w.loader.phase_reads == 2 * len(w.sprint.defs)


def test_no_reading_is_kept_longer_than_full_every_s(quiet_env: None, tmp_path: Path) -> None:
    """Whatever the paths say, a loader reads everything again once full_every_s has passed:
    an event the watcher missed is repaired within that bound."""
    w = World(tmp_path, WIDE)
    loader = Loader(w.store, w.project, full_every_s=0.0)
    loader.load()
    plant_malformed_done(w.path("p4", "done"))
    snap = loader.load(frozenset({w.path("p1", "lock")}))
    assert status(snap, "p4") == "malformed"


def test_the_audit_log_alone_reads_no_phase(world: World) -> None:
    w = world
    w.loader.load()
    w.store.log("doctor", "", "someone", sprint=w.sprint.sprint_id)
    snap = w.loader.load(frozenset({w.store.audit_path}))
    assert w.loader.phase_reads == len(w.sprint.defs)
    last = snap.events[-1]
    assert isinstance(last, AuditEvent) and last.event == "sprint_doctor"
    assert_same(snap, w.full())


# ---------------------------------------------------------------------- judged again with time


def test_a_tick_rejudges_the_kept_readings_without_reading_a_phase(world: World) -> None:
    """A lease runs out with no file changing: rejudge() derives the verdict again at the new
    now from the readings it keeps, and equals a full read at that instant."""
    w = world
    w.sprint.claim("p1", agent=AGENT, ttl=60, holder_pid=os.getpid())
    first = w.loader.load()
    assert status(first, "p1") == "held"
    reads = w.loader.phase_reads
    w.clock.advance(120)  # past the lease; the holder (this process) is alive: suspect
    snap = w.loader.rejudge()
    assert w.loader.phase_reads == reads
    assert status(snap, "p1") == "suspect"
    assert snap.changed == frozenset({"p1"})
    assert_same(snap, w.full())


def test_a_tick_among_the_paths_rejudges_and_reads_only_the_real_paths(world: World) -> None:
    """How the app's tick asks for a re-judgement through its set of changed paths: TICK names
    no file, adds up with the watcher's paths, and a full read still wins over it."""
    w = world
    w.sprint.claim("p1", agent=AGENT, ttl=60, holder_pid=os.getpid())
    w.loader.load()
    w.clock.advance(120)
    snap = w.loader.load(frozenset({TICK}))
    assert w.loader.phase_reads == len(w.sprint.defs)
    assert status(snap, "p1") == "suspect"
    assert_same(snap, w.full())
    w.claim("p2")
    snap = w.loader.load(frozenset({TICK, w.path("p2", "lock")}))
    assert w.loader.phase_reads == len(w.sprint.defs) + 1
    assert_same(snap, w.full())
    plant_malformed_done(w.path("p4", "done"))
    snap = w.loader.load(frozenset({TICK, w.store.root}))  # something else: a full read
    assert status(snap, "p4") == "malformed"


def test_what_ages_in_a_kept_reading_is_judged_at_the_new_now(world: World) -> None:
    """An orphan lock.d is judged by its age: a reading kept from before the grace must show the
    note once the grace is over, as a fresh reading would."""
    w = world
    sentinel = w.path("p3", SENTINEL)
    os.mkdir(sentinel)
    os.utime(sentinel, (w.clock.now, w.clock.now))
    first = w.loader.load()
    pv = first.phase("p3")
    assert pv is not None and not pv.orphan_sentinel
    w.clock.advance(SENTINEL_GRACE_S + 1)
    snap = w.loader.rejudge()
    pv = snap.phase("p3")
    assert pv is not None and pv.orphan_sentinel and pv.notes
    assert snap.changed == frozenset({"p3"})
    assert_same(snap, w.full())


def test_rejudge_with_nothing_kept_reads_everything(world: World) -> None:
    w = world
    snap = w.loader.rejudge()
    assert w.loader.phase_reads == len(w.sprint.defs)
    assert_same(snap, w.full())


def test_views_that_cannot_change_are_kept_as_they_are(world: World) -> None:
    """A phase with no lock and no lock.d whose reading and dependencies are unchanged keeps its
    very view object; a held phase is judged again (its lease counts down)."""
    w = world
    w.claim("p0")
    first = w.loader.load()
    w.clock.advance(3)
    snap = w.loader.load(frozenset({w.path("p5", "lock")}))
    assert snap.phase("p2") is first.phase("p2")
    assert snap.phase("p0") is not first.phase("p0")
    assert_same(snap, w.full())


# ---------------------------------------------------------------------- sprint.json and the graph


def test_the_derived_graph_is_kept_until_sprint_json_changes(world: World) -> None:
    w = world
    first = w.loader.load()
    graph, sprint, plan = w.loader.graph, w.loader.sprint, first.lanes[0].batch
    w.claim("p0")
    again = w.loader.load(frozenset({w.path("p0", "lock")}))
    rescan = w.loader.load(frozenset())  # a full read: sprint.json is the same file
    assert w.loader.graph is graph and w.loader.sprint is sprint
    assert again.order is first.order and rescan.layers is first.layers
    assert again.lanes[0].batch is plan  # nothing done changed: the plan was not made again
    # the same record written again is another file (atomic rename): everything derives afresh
    sj = os.path.join(w.sprint.path, "sprint.json")
    raw = json.loads(Path(sj).read_text())
    tmp = sj + ".new"
    Path(tmp).write_text(json.dumps(raw))
    os.rename(tmp, sj)
    snap = w.loader.load(frozenset({sj}))
    assert w.loader.graph is not graph and w.loader.sprint is not sprint
    assert snap.order == first.order and snap.order is not first.order
    assert snap.changed is None
    assert_same(snap, w.full())


def test_a_new_sprint_is_picked_up_from_the_old_sprint_json(world: World) -> None:
    """`conductor start` archives the old sprint (its sprint.json changes) and publishes a new
    one: a load told about the old sprint.json finds the new sprint and drops every cache."""
    w = world
    w.loader.load()
    old = w.sprint
    w.clock.advance(60)
    new = w.store.start(w.project, agent="supervisor", phases=[{"name": "solo"}])
    snap = w.loader.load(frozenset({os.path.join(old.path, "sprint.json")}))
    assert snap.view is not None and snap.view.sprint_id == new.sprint_id
    assert [pv.name for pv in snap.view.phases] == ["solo"]
    assert snap.order == ["solo"] and snap.changed is None
    assert w.loader.sprint is not None and w.loader.sprint.path == new.path
    w.sprint = new
    assert_same(snap, w.full())


def test_a_new_sprint_is_found_by_the_periodic_rescan(world: World) -> None:
    w = world
    w.loader.load()
    w.clock.advance(60)
    new = w.store.start(w.project, agent="supervisor", phases=[{"name": "solo"}])
    snap = w.loader.load()
    assert snap.view is not None and snap.view.sprint_id == new.sprint_id


def test_a_sprint_shown_by_id_keeps_its_record_until_it_changes(
    quiet_env: None, tmp_path: Path
) -> None:
    w = World(tmp_path, WIDE)
    loader = Loader(w.store, w.project, sprint_id=w.sprint.sprint_id)
    loader.load()
    sprint = loader.sprint
    loader.load()
    assert loader.sprint is sprint
    w.sprint.archive()  # sprint.json rewritten: read again, and shown as archived
    snap = loader.load()
    assert loader.sprint is not sprint
    assert snap.view is not None and snap.view.status == "archived"


def test_waiting_for_a_sprint_then_finding_it(quiet_env: None, tmp_path: Path) -> None:
    clock = FakeClock(T0)
    project = tmp_path / "project"
    project.mkdir()
    store = Store(str(tmp_path / "store"), clock=clock)
    loader = Loader(store, str(project))
    assert loader.load().view is None
    assert loader.load(frozenset({store.conductor_dir})).view is None
    sprint = store.start(str(project), agent="supervisor", phases=WIDE)
    snap = loader.load(frozenset({os.path.join(sprint.path, "p0")}))  # no sprint yet: full
    assert snap.view is not None and snap.view.sprint_id == sprint.sprint_id


def test_a_change_to_config_json_resolves_the_classes_again(world: World) -> None:
    w = world
    skills = Path(w.store.root, "elsewhere", "p1")
    skills.mkdir(parents=True)
    (skills / "SKILL.md").write_text("---\nconcurrency: exclusive\n---\n")
    first = w.loader.load()
    pv = first.phase("p1")
    assert pv is not None and pv.concurrency == "write"  # no class found: write, with a warning
    Path(w.store.root, "config.json").write_text(json.dumps({"skill_roots": [str(skills.parent)]}))
    snap = w.loader.load(frozenset({os.path.join(w.store.root, "config.json")}))
    pv = snap.phase("p1")
    assert pv is not None and pv.concurrency == "exclusive"
    assert w.loader.classes["p1"] == "exclusive"
    assert_same(snap, w.full())


# ---------------------------------------------------------------------- the audit log


def append_raw(path: str, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def test_a_new_audit_line_is_read_incrementally(world: World) -> None:
    w = world
    tail = audit.Tail(w.store.audit_path, keep=50)
    before = tail.read()
    assert before and tail.rereads == 1
    w.store.log("doctor", "", "someone", sprint=w.sprint.sprint_id)
    after = tail.read()
    assert tail.rereads == 1  # only the new line was read
    assert after[:-1] == before
    assert isinstance(after[-1], AuditEvent) and after[-1].event == "sprint_doctor"
    assert after == list(audit.read(w.store.audit_path, tail=50))


def test_a_truncated_or_replaced_audit_log_is_read_again(world: World) -> None:
    w = world
    log = w.store.audit_path
    tail = audit.Tail(log, keep=50)
    tail.read()
    w.store.log("doctor", "", "someone", sprint=w.sprint.sprint_id)
    w.store.log("doctor", "", "another", sprint=w.sprint.sprint_id)
    tail.read()
    assert tail.rereads == 1
    # truncated (logrotate's copytruncate): shorter than what was read
    with open(log, "r+b") as fh:
        fh.truncate(0)
    assert tail.read() == []
    w.store.log("claim", "p0", "fresh", sprint=w.sprint.sprint_id)
    events = tail.read()
    assert [e.agent for e in events if isinstance(e, AuditEvent)] == ["fresh"]
    # replaced by another file (rotated): read from its start
    tmp = log + ".new"
    Path(tmp).write_bytes(Path(log).read_bytes() * 3)
    os.rename(tmp, log)
    assert tail.read() == list(audit.read(log, tail=50))
    # rewritten in place, longer than before: the last line read no longer ends where it did
    rereads = tail.rereads
    data = Path(log).read_bytes()
    with open(log, "r+b") as fh:
        fh.write(b"x" + data)
    events = tail.read()
    assert tail.rereads == rereads + 1
    assert events == list(audit.read(log, tail=50))


def test_a_torn_last_line_is_shown_then_read_again_whole(world: World) -> None:
    w = world
    log = w.store.audit_path
    tail = audit.Tail(log, keep=50)
    tail.read()
    append_raw(log, b'{"at": "2026-01-01T00:00:00Z", "event": "sprint_cl')
    torn = tail.read()
    assert isinstance(torn[-1], str) and "malformed" in torn[-1]
    assert sum(isinstance(e, str) for e in torn) == sum(
        isinstance(e, str) for e in audit.read(log, tail=50)
    )
    append_raw(log, b'aim", "resource": "p0"}\n')
    whole = tail.read()
    assert isinstance(whole[-1], AuditEvent) and whole[-1].resource == "p0"
    assert not any(isinstance(e, str) for e in whole)


def test_the_audit_tail_keeps_the_last_events_only(world: World) -> None:
    w = world
    tail = audit.Tail(w.store.audit_path, keep=5)
    for i in range(12):
        w.store.log("doctor", "", f"agent-{i}", sprint=w.sprint.sprint_id)
        if i % 4 == 0:
            tail.read()
    events = tail.read()
    assert [e.agent for e in events if isinstance(e, AuditEvent)] == [
        f"agent-{i}" for i in range(7, 12)
    ]
    assert events == list(audit.read(w.store.audit_path, tail=5))


def test_an_audit_log_that_becomes_unreadable_is_said_and_then_read_again(world: World) -> None:
    w = world
    log = w.store.audit_path
    tail = audit.Tail(log, keep=50)
    tail.read()
    os.rename(log, log + ".aside")
    os.mkdir(log)
    assert tail.read() == ["audit.log is not a regular file"]
    os.rmdir(log)
    os.rename(log + ".aside", log)
    assert tail.read() == list(audit.read(log, tail=50))


# ---------------------------------------------------------------------- the core's view_from


def test_view_from_fresh_readings_is_view(world: World) -> None:
    w, sprint = world, world.sprint
    w.complete("p0")
    w.claim("p1")
    now = w.clock.now
    assert sprint.view_from(sprint.read_all(now), now).model_dump() == sprint.view().model_dump()


def test_view_from_refuses_a_missing_reading(world: World) -> None:
    sprint, now = world.sprint, world.clock.now
    readings = sprint.read_all(now)
    del readings["p3"]
    with pytest.raises(ValueError, match="p3"):
        sprint.view_from(readings, now)


class Ticker:
    """A monotonic clock moved by hand (the sweep's pace)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_sweep_rereads_every_phase_once_a_period_a_little_at_each_load(
    quiet_env: None, tmp_path: Path
) -> None:
    """A change the watcher never reported is still shown within full_every_s: each load reads
    a share of the other phases in turn (a tenth of them for a load a tenth of the period after
    the last), never all of them at once while loads keep coming."""
    w = World(tmp_path, WIDE)
    n = len(w.sprint.defs)
    tick = Ticker()
    loader = Loader(w.store, w.project, full_every_s=float(n), monotonic=tick)
    loader.load()
    plant_malformed_done(w.path("p4", "done"))  # nobody says so
    seen_at = None
    for step in range(1, n + 1):
        tick.now += 1.0  # one phase's worth of the period
        before = loader.phase_reads
        snap = loader.load(frozenset({w.path("p1", "lock")}))
        assert loader.phase_reads - before == len({"p1"} | {f"p{(step - 1) % n}"}), step
        if seen_at is None and status(snap, "p4") == "malformed":
            seen_at = step
    assert seen_at == 5  # p0, p1, p2, p3, then p4: in turn, one a load
    assert loader.swept == n
    assert_same(snap, w.full())


def test_after_a_quiet_spell_longer_than_the_period_a_load_reads_everything(
    quiet_env: None, tmp_path: Path
) -> None:
    w = World(tmp_path, WIDE)
    tick = Ticker()
    loader = Loader(w.store, w.project, full_every_s=15.0, monotonic=tick)
    loader.load()
    plant_malformed_done(w.path("p4", "done"))
    tick.now += 15.0
    before = loader.phase_reads
    snap = loader.load(frozenset({w.path("p1", "lock")}))
    assert loader.phase_reads - before == len(w.sprint.defs)
    assert status(snap, "p4") == "malformed"


def test_a_reading_says_whether_time_alone_changes_what_it_shows(world: World) -> None:
    """Nothing locked, nothing timed: no refresh is owed to the clock. A claim (its age, its
    lease) and an orphan lock directory (its note) make the reading timed; a completion, once
    its lock is gone, untimed again."""
    w = world
    assert not w.loader.load().timed
    token = w.claim("p1")
    assert w.loader.load(frozenset({w.path("p1", "lock.d")})).timed
    w.sprint.complete("p1", agent=AGENT, token=token)
    assert not w.loader.load(frozenset({w.path("p1")})).timed
    os.mkdir(w.path("p2", "lock.d"))  # what a crash of upstream's claim leaves behind
    assert w.loader.load(frozenset({w.path("p2", "lock.d")})).timed


def test_a_phase_the_sweep_finds_as_it_was_keeps_its_reading_and_view(
    quiet_env: None, tmp_path: Path
) -> None:
    """The sweep re-reads phases nobody reported: one found as it was keeps its reading and view
    objects (nothing for the screen to redraw, `changed` empty); one that changed unreported, or
    one whose reading tells time (a held lock), is read and judged anew."""
    w = World(tmp_path, WIDE)
    n = len(w.sprint.defs)
    tick = Ticker()
    loader = Loader(w.store, w.project, full_every_s=float(n), monotonic=tick)
    w.claim("p0")
    w.complete("p1")
    first = loader.load()
    assert first.view is not None
    before = {pv.name: pv for pv in first.view.phases}
    tick.now += n - 1  # every phase but one is due: a partial round, no full read
    w.clock.advance(n - 1)
    snap = loader.load(frozenset({TICK}))
    assert loader.swept == n - 1
    assert snap.view is not None
    kept = [pv.name for pv in snap.view.phases if pv is before[pv.name]]
    assert set(kept) == set(w.sprint.defs) - {"p0"}  # the held lock's age is judged again
    assert snap.changed == frozenset({"p0"})
    plant_malformed_done(w.path("p2", "done"))  # unreported
    tick.now += n
    snap = loader.load(frozenset({TICK}))
    assert status(snap, "p2") == "malformed"
    assert snap.changed is not None and "p2" in snap.changed
    assert_same(snap, w.full())
