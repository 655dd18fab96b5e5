"""Issue 4, the app under load: with the stress harness running against its store, the app stays
responsive and never shows one phase as both held and done, nor two holders.

One run of bench/app_under_load.py per module (about 12 s of workload): bench/stress.py, as its
own process tree, hammers a store (claims, heartbeats, completes, aborts, reclaims; SIGKILLs,
crash points, SIGSTOPs) while the real app (watcher on, tick 1 s) shows it headless. Every
snapshot the app applied is checked, the screen is read from the compositor twice a second, keys
are timed until the cursor has moved, a 50 ms timer measures the event loop, and at the end the
screen must equal a fresh reading of the disk. Each test below asserts one part of that, with the
run's figures as the message.

So that a clean run means something, the checks are first shown to catch what they look for:
hand-made snapshots (done and held, two tokens, a mixed-up agent, done going back), a screen that
lags its snapshot, a blocked event loop, and, end to end, the harness's broken store (publish
into an existing lock) that must be caught as two holders. No assertion depends on a sleep: the
workload sleeps, the checks poll conditions with generous bounds (2 s: a frozen UI, not a slow
one).

What the runs found is pinned down at the end, one race at a time, made deterministic with the
store's crash hook: a claim published beside a completion is shown done only, a completion in
flight raises no alarm, a verdict that grows is shown whole, and a sprint started mid-scan is
still found. Each was a defect when these tests were written; each is fixed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core.errors import AlreadyDone
from conductor_tui.core.models import PhaseView, SprintView
from conductor_tui.core.store import Sprint, Store
from conductor_tui.tui.app import ConductorApp
from conductor_tui.tui.model import Loader, Snapshot, attention
from tests.conftest import T0, FakeClock

from .test_app import async_test

BENCH = Path(__file__).resolve().parents[2] / "bench" / "app_under_load.py"
MAX_LATE_S = 2.0  # liveness, not speed: a UI frozen this long is broken on any machine
MAX_STALE_S = 5.0  # a reading this old on screen while the store changes all the time


def _load_bench() -> Any:
    spec = importlib.util.spec_from_file_location("conductor_app_under_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def _run_load(base: Path, **overrides: Any) -> Any:
    """One run of the bench in a clean environment (no caller's HOME, colours or store)."""
    home = base / "home"
    home.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        # watchdog warns (RuntimeWarning) each time a recycled inotify descriptor is re-added
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"watchdog\.")
        mp.setenv("HOME", str(home))
        mp.setenv("TEXTUAL_ANIMATIONS", "none")
        for name in list(os.environ):
            if name.startswith("CONDUCTOR_") or name in ("NO_COLOR", "NANOSTACK_STORE"):
                mp.delenv(name)
        return asyncio.run(bench.run(base / "run", bench.Load(**overrides)))


@pytest.fixture(scope="module")
def loaded_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app under the stress harness: 6 workers on 6 phases for 12 s."""
    return _run_load(tmp_path_factory.mktemp("under-load"), seconds=12.0, seed=4)


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The same, with the harness's negative control: claims published into existing locks."""
    return _run_load(
        tmp_path_factory.mktemp("under-load-broken"), seconds=6.0, seed=3, broken="publish-into"
    )


def kinds(fig: Any, *names: str) -> dict[str, int]:
    """The violations of the given kinds, by kind."""
    return {k: n for k, n in fig.violation_kinds.items() if k in names}


# ---------------------------------------------------------------------- the run


def test_the_load_ran_and_the_app_followed_it(loaded_run: Any) -> None:
    f, report = loaded_run, bench.report(loaded_run)
    # the harness did its work (it ends by its own time limit, so it reports a timeout) ...
    assert f.harness_status == 2 and "timed out" in f.harness_verdict, report
    assert f.harness_violations == 0, report
    h = f.harness_figures
    assert h["claims"] > 50 and h["completes"] > 0 and h["reclaims"] > 0, report
    assert h["kills: SIGKILL of a holder"] > 0 and h["stalls: SIGSTOP of a holder"] > 0, report
    # ... and the app followed it: many readings, held and done among them, every one checked
    # the app re-reads at least once a second however busy (tui/pacing.py: MAX_WAIT_S), and
    # under this load its CPU budget keeps it near that: ten readings checked at the least
    assert f.snapshots_applied >= 10 and f.reloads >= f.snapshots_applied, report
    assert f.statuses_seen.get("held", 0) > 0 and f.statuses_seen.get("done", 0) > 0, report
    assert f.phase_readings == sum(f.statuses_seen.values()), report
    assert f.keys >= 10 and f.screen_checks >= 5 and f.locks_tab_checks >= 1, report
    assert f.bridge_bursts > 0, report  # the watcher delivered changes, not only the tick


def test_no_phase_is_ever_shown_held_and_done(loaded_run: Any) -> None:
    """No reading has a done phase whose own claim is still live, a done phase shown otherwise
    later, or a status that disagrees with its lock; the screen checks (below) add that no done
    phase is ever on screen as held.

    Known, rare under load: a claim that passed its checks before a completion is published just
    after it, and superseded by the store a moment later; a reading taken in between has the
    phase done *and* that claim held (see test_a_claim_published_beside_a_done_record_*). The
    screen shows the phase done only. Reported as xfail when that is all that was seen."""
    f, report = loaded_run, bench.report(loaded_run)
    found = kinds(f, "held and done", "done reverted", "inconsistent", "counts")
    assert found == {}, report
    if f.violation_kinds.get("done beside a live claim"):
        pytest.xfail("known store race: a reading had a done phase beside a newer live claim")


def test_no_phase_is_ever_shown_with_two_holders(loaded_run: Any) -> None:
    found = kinds(loaded_run, "two holders", "agent", "duplicate", "fatal")
    assert found == {}, bench.report(loaded_run)


def test_the_screen_shows_what_the_app_read(loaded_run: Any) -> None:
    found = kinds(loaded_run, "screen header", "screen graph", "screen locks")
    assert found == {}, bench.report(loaded_run)


def test_the_app_stays_responsive(loaded_run: Any) -> None:
    f, report = loaded_run, bench.report(loaded_run)
    assert kinds(f, "frozen", "key lost", "harness") == {}, report
    assert f.loop_ticks >= 20, report
    assert f.loop_late_max_s < MAX_LATE_S, report
    assert f.key_max_s < MAX_LATE_S, report


def test_the_screen_keeps_up_with_the_store(loaded_run: Any) -> None:
    """While the workers run the store changes every few milliseconds: the reading on screen
    is never old (the watcher triggers a reload per burst; the tick alone would leave it up to
    10 s old), even when watchdog's inotify reader dies and the bridge has to replace it."""
    f, report = loaded_run, bench.report(loaded_run)
    assert f.screen_checks >= 5 and not math.isnan(f.shown_age_max_s), report
    assert f.shown_age_max_s < MAX_STALE_S, report


def test_the_screen_converges_to_the_disk(loaded_run: Any) -> None:
    f, report = loaded_run, bench.report(loaded_run)
    assert f.self_converged_s is not None, report
    assert f.final_mismatches == [], report


WATCHDOG_KEYERROR = "KeyError: b'"  # watchdog's inotify reader: _remove_watch_internally


def _only_known_deaths(fig: Any) -> bool:
    """Whether every thread that died is watchdog's inotify reader with its known KeyError."""
    return all(WATCHDOG_KEYERROR in d for d in fig.thread_deaths)


def test_every_thread_of_the_app_survives_the_load(loaded_run: Any) -> None:
    """A thread that dies of an exception (the watcher's inotify reader, the loader) leaves the
    app showing an old reading while the store moves on.

    In some runs watchdog's inotify reader thread dies of a KeyError
    (InotifyWatchGroup._remove_watch_internally) when `lock` directories come and go quickly; the
    bridge checks its reader every second and replaces it, so reloads must go on afterwards. Any
    other death fails."""
    f, report = loaded_run, bench.report(loaded_run)
    assert _only_known_deaths(f), report
    if f.thread_deaths:
        # watchdog's reader may die (its bug); the bridge must replace it and keep the app fed
        assert f.reload_rate_after_death > 1.0, (
            f"the watcher did not recover from {f.thread_deaths[0]}: reloads/s under load "
            f"{f.reload_rate_before_death:.1f} before, {f.reload_rate_after_death:.1f} after\n"
            + report
        )


def test_the_app_never_loses_the_sprint_under_load(loaded_run: Any) -> None:
    """Once it has shown the sprint, the app never shows "no sprint" while sprints rotate.

    Known defect, in some runs: Store.find_active lists the sprint folders, then reads each
    sprint.json; a sprint started in between (the old one archived, the new one not listed)
    makes it return None, and the app shows "no active sprint … (waiting: start one …)" for one
    reading (see test_find_active_during_a_rotation below). Reported as xfail; any other error
    fails."""
    f, report = loaded_run, bench.report(loaded_run)
    others = [e for e in f.errors if "no active sprint for" not in e]
    assert others == [], report
    if f.error_snapshots:
        pytest.xfail(f"known defect: {f.error_snapshots} readings without the sprint: {f.errors}")


def test_the_broken_store_is_caught_as_two_holders(broken_run: Any) -> None:
    f, report = broken_run, bench.report(broken_run)
    assert f.snapshots_applied > 0, report
    # (the harness's own checker usually catches it too, but one short run may not interleave)
    assert f.violation_kinds.get("two holders", 0) > 0, report
    assert bench.failures(f, MAX_LATE_S), report


# ---------------------------------------------------------------------- the checks catch


def six_phases(tmp_path: Path) -> tuple[Store, Sprint, str]:
    """A real store with a sprint of six independent phases, as the harness starts them."""
    project = tmp_path / "project"
    project.mkdir()
    store = Store(str(tmp_path / "store"))
    phases = [{"name": f"p{i}", "depends_on": []} for i in range(6)]
    return store, store.start(str(project), agent="supervisor", phases=phases), str(project)


def worker(n: int) -> str:
    """An agent named as the harness names its workers (this process is the holder)."""
    return f"w{n}g0-{os.getpid()}"


def with_phases(view: SprintView, *phases: PhaseView) -> Snapshot:
    """A snapshot of view with some phases replaced."""
    by_name = {p.name: p for p in phases}
    rows = [by_name.get(p.name, p).model_dump() for p in view.phases]
    return Snapshot(view=SprintView.model_validate({**view.model_dump(), "phases": rows}))


def test_the_snapshot_checks_catch_each_defect(quiet_env: None, tmp_path: Path) -> None:
    _, sprint, _ = six_phases(tmp_path)
    sprint.claim("p1", agent=worker(1), holder_pid=os.getpid())
    tok = sprint.claim("p2", agent=worker(2), holder_pid=os.getpid()).token
    sprint.complete("p2", agent=worker(2), token=tok)
    view = sprint.view()
    held, done = view.phase("p1"), view.phase("p2")
    assert held is not None and held.lock is not None and done is not None
    assert (held.status, done.status) == ("held", "done")

    clean = bench.Checker()
    clean.snapshot(1.0, Snapshot(view=view))
    assert clean.violations == [] and clean.readings == 6

    def caught(*snaps: Snapshot) -> set[str]:
        check = bench.Checker()
        for i, snap in enumerate(snaps):
            check.snapshot(float(i), snap)
        return set(check.kinds)

    assert done.done is not None and held.lock.token != done.done.token
    beside = done.model_copy(update={"lock": held.lock})  # another, newer claim beside done
    assert caught(with_phases(view, beside)) == {"done beside a live claim"}
    own = held.lock.model_copy(update={"token": done.done.token})  # the completed claim itself
    assert "held and done" in caught(with_phases(view, done.model_copy(update={"lock": own})))
    reverted = done.model_copy(update={"status": "ready", "done": None})
    assert "done reverted" in caught(Snapshot(view=view), with_phases(view, reverted))
    nested = held.model_copy(update={"lock": held.lock.model_copy(update={"double_grant": True})})
    assert "two holders" in caught(with_phases(view, nested))
    contested = held.model_copy(update={"status": "contested"})
    assert "two holders" in caught(with_phases(view, contested))
    two_tokens = held.model_copy(
        update={"status": "malformed", "problems": ["2 tokens under one lock"], "lock": None}
    )
    assert "two holders" in caught(with_phases(view, two_tokens))
    two_names = held.model_copy(
        update={"lock": held.lock.model_copy(update={"agent": f"{worker(1)}, {worker(3)}"})}
    )
    assert "agent" in caught(with_phases(view, two_names))
    other_pid = held.model_copy(
        update={"lock": held.lock.model_copy(update={"holder_pid": os.getpid() + 1})}
    )
    assert "agent" in caught(with_phases(view, other_pid))
    assert "fatal" in caught(Snapshot(view=None, error="unreadable", fatal=True))


@async_test
async def test_the_screen_checks_catch_a_screen_that_lags(quiet_env: None, tmp_path: Path) -> None:
    store, sprint, project = six_phases(tmp_path)
    sprint.claim("p1", agent=worker(1), holder_pid=os.getpid())
    loader = Loader(store, project)
    app = ConductorApp(loader, agent="human-dev", watch=False, tick_s=None)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)):
        before = loader.load()
        app.apply(before)
        tok = sprint.claim("p3", agent=worker(3), holder_pid=os.getpid()).token
        sprint.complete("p3", agent=worker(3), token=tok)
        sprint.claim("p4", agent=worker(4), holder_pid=os.getpid())
        after = loader.load()  # read, not applied: the screen still shows `before`

        check = bench.Checker()
        assert await bench._refreshed(app, 10.0, lambda: check.screen(app, before.view, "test"))
        assert check.violations == [], check.violations
        assert await bench._refreshed(app, 10.0, lambda: check.screen(app, after.view, "test"))
        assert {"screen header", "screen graph"} <= set(check.kinds), check.violations

        assert await bench._locks_tab(app, check, before.view, "test", 10.0)
        assert check.lock_tabs == 1 and "screen locks" not in check.kinds, check.violations
        assert await bench._locks_tab(app, check, after.view, "test", 10.0)
        assert "screen locks" in check.kinds, check.violations

        assert bench.disagreements(before, after.view) != []
        assert bench.disagreements(after, after.view) == []


@async_test
async def test_the_loop_probe_sees_a_blocked_event_loop(quiet_env: None, tmp_path: Path) -> None:
    store, _, project = six_phases(tmp_path)
    app = ConductorApp(Loader(store, project), agent="human-dev", watch=False, tick_s=None)
    app.animation_level = "none"
    probe = bench.LoopProbe()
    async with app.run_test(size=(120, 40)):
        probe.attach(app)
        assert await bench._until(lambda: len(probe.ticks) >= 2, 10.0)
        time.sleep(0.5)  # the workload: a handler that keeps the event loop for 0.5 s
        n = len(probe.ticks)
        assert await bench._until(lambda: len(probe.ticks) >= n + 2, 10.0)
    assert max(probe.lateness()) >= 0.4, probe.lateness()


@async_test
async def test_the_key_probe_times_a_key_until_it_was_handled(
    quiet_env: None, tmp_path: Path
) -> None:
    store, _, project = six_phases(tmp_path)
    app = ConductorApp(Loader(store, project), agent="human-dev", watch=False, tick_s=None)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)):
        assert await bench._until(lambda: app.reloads > 0 and not app._loading, 10.0)
        graph = app.query_one(bench.PhaseGraph)
        probe = bench.KeyProbe(app)
        check = bench.Checker()
        keys: list[float] = []
        assert await bench._key(probe, graph, 1, keys, 10.0, check), check.violations
        assert graph.user_moved and graph.selected == "p1" and len(keys) == 1
        assert await bench._key(probe, graph, 1, keys, 10.0, check), check.violations
        assert graph.selected == "p2" and check.violations == []
        # a key that waits behind a blocked event loop is timed from when it was posted
        pressed = asyncio.create_task(probe.press("k", 10.0))
        await asyncio.sleep(0)  # the key and the marker are posted ...
        time.sleep(0.3)  # ... and the loop is kept from them (the workload)
        took = await pressed
        assert took is not None and took >= 0.3 and graph.selected == "p1"


def test_the_bench_module_is_its_own_command() -> None:
    """`python bench/app_under_load.py --help` works (it imports nothing from the tests)."""
    done = subprocess.run(
        [sys.executable, str(BENCH), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "--seconds" in done.stdout and "--broken" in done.stdout


# ---------------------------------------------------------------------- races, one at a time


def claim_beside_done(tmp_path: Path) -> tuple[Loader, Snapshot]:
    """The store race the harness hits now and then, made deterministic with the store's crash
    hook: claimer A passes its checks and stages its claim; B claims and completes the phase;
    A publishes its claim, and the reading is taken there, before A sees done and supersedes
    its own claim. Returns the loader and that reading."""
    project = tmp_path / "project"
    project.mkdir()
    store_b = Store(str(tmp_path / "store"))
    phases = [{"name": f"p{i}", "depends_on": []} for i in range(3)]
    sprint_b = store_b.start(str(project), agent="supervisor", phases=phases)
    store_a = Store(str(tmp_path / "store"))
    sprint_a = store_a.open_sprint(sprint_b.sprint_id)
    loader = Loader(store_b, str(project))
    readings: list[Snapshot] = []

    def hook(point: str) -> None:
        if point == "claim.staged":
            tok = sprint_b.claim("p0", agent=worker(2), holder_pid=os.getpid()).token
            sprint_b.complete("p0", agent=worker(2), token=tok)
        elif point == "claim.published":
            readings.append(loader.load())

    store_a.crash = hook  # type: ignore[method-assign]
    with pytest.raises(AlreadyDone):
        sprint_a.claim("p0", agent=worker(1), holder_pid=os.getpid())
    assert len(readings) == 1
    pv = sprint_b.view().phase("p0")
    assert pv is not None and pv.status == "done" and pv.lock is None  # superseded since
    return loader, readings[0]


@async_test
async def test_a_claim_published_beside_a_done_record_is_shown_done_only(
    quiet_env: None, tmp_path: Path
) -> None:
    """What issue 4 is about, on screen: that reading is shown as done, never as held."""
    loader, reading = claim_beside_done(tmp_path)
    pv = reading.phase("p0")
    # the model itself now reads it as done with nobody holding (it used to keep the lock)
    assert pv is not None and pv.status == "done" and pv.lock is None
    app = ConductorApp(loader, agent="human-dev", watch=False, tick_s=None, initial=reading)
    app.animation_level = "none"
    async with app.run_test(size=(120, 30)):
        check = bench.Checker()
        assert await bench._refreshed(app, 10.0, lambda: check.screen(app, reading.view, "race"))
        text = "\n".join(bench.screen_lines(app))
        assert "✓ p0" in text and "● p0" not in text and worker(1) not in text, text
        assert "nobody holding" in text, text
        assert await bench._locks_tab(app, check, reading.view, "race", 10.0)
        assert check.violations == [], check.violations


# ---------------------------------------------------------------------- defects found


def test_a_claim_published_beside_a_done_record_is_not_read_as_held(
    quiet_env: None, tmp_path: Path
) -> None:
    _, reading = claim_beside_done(tmp_path)
    check = bench.Checker()
    check.snapshot(0.0, reading)
    assert check.violations == [], check.violations


def test_a_completion_in_flight_raises_no_alarm(tmp_path: Path) -> None:
    _, sprint, _ = six_phases(tmp_path)
    seen: list[tuple[str, list[str], list[str]]] = []

    def hook(point: str) -> None:
        if point == "release.mirror":  # inside complete: the mirror is aside, the lock not gone
            view = sprint.view()
            pv = view.phase("p0")
            assert pv is not None
            seen.append((pv.status, pv.problems, [a.text for a in attention(view, [])]))

    sprint.store.crash = hook  # type: ignore[method-assign]
    tok = sprint.claim("p0", agent=worker(1), holder_pid=os.getpid()).token
    sprint.complete("p0", agent=worker(1), token=tok)
    assert seen == [("done", [], [])]


@async_test
async def test_a_lock_that_turns_suspect_shows_its_whole_verdict(
    quiet_env: None, tmp_path: Path
) -> None:
    clock = FakeClock(T0)
    project = tmp_path / "project"
    project.mkdir()
    store = Store(str(tmp_path / "store"), clock=clock)
    phases = [{"name": f"p{i}", "depends_on": []} for i in range(3)]
    sprint = store.start(str(project), agent="supervisor", phases=phases)
    loader = Loader(store, str(project))
    app = ConductorApp(loader, agent="human-dev", watch=False, tick_s=None)
    app.animation_level = "none"
    async with app.run_test(size=(120, 30)):
        assert await bench._until(lambda: app.reloads > 0 and not app._loading, 10.0)
        sprint.claim("p1", agent=worker(1), ttl=60, holder_pid=os.getpid())
        app.apply(loader.load())
        check = bench.Checker()
        assert await bench._locks_tab(app, check, app.snapshot.view, "held", 10.0)
        assert check.violations == [], check.violations
        clock.advance(120)  # the lease ran out; the holder (this process) is alive: suspect
        app.apply(loader.load())
        assert app.snapshot.phase("p1").status == "suspect"  # type: ignore[union-attr]
        assert await bench._locks_tab(app, check, app.snapshot.view, "suspect", 10.0)
        assert check.violations == [], check.violations


def test_find_active_during_a_rotation(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    store = Store(str(tmp_path / "store"))
    phases = [{"name": "p0", "depends_on": []}]
    store.start(str(project), agent="supervisor", phases=phases)
    listing = store._sprint_dirs

    def list_then_rotate() -> list[str]:  # the interleaving the harness hits now and then
        names = listing()
        store._sprint_dirs = listing  # type: ignore[method-assign]
        store.start(str(project), agent="supervisor", phases=phases, force=True)
        return names

    store._sprint_dirs = list_then_rotate  # type: ignore[method-assign]
    assert store.find_active(str(project)) is not None
