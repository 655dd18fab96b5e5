"""Tests of core/estimate.py on real store directories made by the real Store, with a frozen clock.

Durations are claim to complete as the store records them (the done record's completed_at and
the claim's owner.json, moved into history/ when the claim ends), so each test makes its past by
claiming and completing phases while the FakeClock advances.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from conductor_tui.core.estimate import (
    HISTORY_SPRINTS,
    Estimate,
    batches_run,
    estimate,
    project_history,
    sprint_timing,
    sprint_took,
)
from conductor_tui.core.graph import topo_order
from conductor_tui.core.store import Sprint, Store
from tests.conftest import FakeClock

MIN = 60.0
DEFAULT = ["think", "plan", "build", "review", "security", "qa", "ship"]


def work(
    sprint: Sprint,
    clock: FakeClock,
    took: Mapping[str, float],
    *,
    agent: str = "tester",
    pid: int | None = None,
) -> None:
    """Claim and complete the phases of `took` in graph order, each taking its seconds."""
    for name in topo_order(sprint.record.phases):
        if name in took:
            owner = sprint.claim(name, agent=agent, holder_pid=pid or os.getpid())
            clock.advance(took[name])
            sprint.complete(name, agent=agent, token=owner.token)


def past_sprint(
    store: Store,
    clock: FakeClock,
    project: str,
    took: Mapping[str, float],
    phases: Any = None,
) -> Sprint:
    """A whole earlier sprint of the project, then an hour's pause before the next one."""
    sprint = store.start(project, agent="tester", phases=phases)
    work(sprint, clock, took)
    clock.advance(3600)
    return sprint


def every(minutes: float, names: Sequence[str] = DEFAULT) -> dict[str, float]:
    return {name: minutes * MIN for name in names}


def timing_of(sprint: Sprint, history: Mapping[str, Sequence[float]]) -> Any:
    return sprint_timing(sprint.record.phases, sprint.view(), history)


# ---------------------------------------------------------------- no history


def test_no_history_gives_no_estimate(store: Store, project: str) -> None:
    sprint = store.start(project, agent="tester")
    history = project_history(store, project, sprint.sprint_id)
    assert history == {}
    timing = timing_of(sprint, history)
    assert timing.critical == ["think", "plan", "build", "review", "ship"]
    assert timing.estimate is None
    assert estimate(timing.critical, sprint.view().phases, {}, store.clock()) is None


def test_history_without_the_phases_of_the_path_gives_no_estimate(
    store: Store, clock: FakeClock, project: str
) -> None:
    past_sprint(store, clock, project, every(10, ["think", "plan"]))  # then abandoned
    sprint = store.start(project, agent="tester")
    work(sprint, clock, every(5, ["think", "plan"]))
    history = project_history(store, project, sprint.sprint_id)
    assert set(history) == {"think", "plan"}
    timing = timing_of(sprint, history)
    assert timing.critical == ["build", "review", "ship"]
    assert timing.estimate is None  # nothing on the path has a past: no number is made up


def test_a_store_without_a_conductor_directory_has_no_history(store: Store, project: str) -> None:
    assert project_history(store, project, None) == {}


# ---------------------------------------------------------------- history of earlier sprints


def test_two_earlier_sprints_give_the_median_and_the_count(
    store: Store, clock: FakeClock, project: str
) -> None:
    first = past_sprint(store, clock, project, every(10))
    second = past_sprint(store, clock, project, {**every(30), "ship": 50 * MIN})
    sprint = store.start(project, agent="tester")
    assert first.record.status == "active"  # the objects are stale; the disk says archived
    assert Store(store.root).open_sprint(first.sprint_id).record.status == "archived"
    assert Store(store.root).open_sprint(second.sprint_id).record.status == "archived"

    history = project_history(store, project, sprint.sprint_id)
    assert history == {
        **{name: [10 * MIN, 30 * MIN] for name in DEFAULT},
        "ship": [10 * MIN, 50 * MIN],  # oldest first
    }
    timing = timing_of(sprint, history)
    assert timing.critical == ["think", "plan", "build", "review", "ship"]
    # medians: 20 min for think, plan, build and review, 30 min for ship
    assert timing.estimate == Estimate(seconds=(4 * 20 + 30) * MIN, samples=10)

    # the current sprint's own completions are not history, and done phases leave the path
    work(sprint, clock, {"think": 2 * MIN, "plan": 3 * MIN})
    assert project_history(store, project, sprint.sprint_id) == history
    timing = timing_of(sprint, history)
    assert timing.critical == ["build", "review", "ship"]
    assert timing.estimate == Estimate(seconds=(20 + 20 + 30) * MIN, samples=6)
    assert timing.took == {"think": 2 * MIN, "plan": 3 * MIN}


def test_a_phase_in_progress_counts_its_median_less_its_elapsed_time(
    store: Store, clock: FakeClock, project: str
) -> None:
    past_sprint(store, clock, project, every(10))
    past_sprint(store, clock, project, every(30))
    sprint = store.start(project, agent="tester")
    work(sprint, clock, {"think": MIN, "plan": MIN})
    history = project_history(store, project, sprint.sprint_id)
    sprint.claim("build", agent="tester", holder_pid=os.getpid())
    clock.advance(5 * MIN)
    timing = timing_of(sprint, history)
    assert sprint.view().phase("build").status == "held"  # type: ignore[union-attr]
    assert timing.critical == ["build", "review", "ship"]
    assert timing.estimate == Estimate(seconds=(15 + 20 + 20) * MIN, samples=6)
    assert timing.took["build"] == 5 * MIN  # the running phase's time so far

    clock.advance(60 * MIN)  # far past build's median: it counts zero, never less
    timing = timing_of(sprint, history)
    assert timing.estimate == Estimate(seconds=(0 + 20 + 20) * MIN, samples=6)
    assert timing.took["build"] == 65 * MIN


def test_a_stale_claim_is_not_progress(
    store: Store, clock: FakeClock, project: str, dead_pid: tuple[int, int | None]
) -> None:
    past_sprint(store, clock, project, every(10))
    sprint = store.start(project, agent="tester")
    work(sprint, clock, {"think": MIN, "plan": MIN})
    history = project_history(store, project, sprint.sprint_id)
    sprint.claim("build", agent="gone", holder_pid=dead_pid[0], holder_start=dead_pid[1])
    clock.advance(5 * MIN)
    assert sprint.view().phase("build").status == "stale"  # type: ignore[union-attr]
    timing = timing_of(sprint, history)
    assert timing.estimate == Estimate(seconds=30 * MIN, samples=3)  # build's whole median
    assert timing.took["build"] == 5 * MIN  # but the time it has held the phase is shown


def test_phases_without_history_are_named_not_guessed(
    store: Store, clock: FakeClock, project: str
) -> None:
    graph = [
        {"name": "build", "depends_on": []},
        {"name": "review", "depends_on": ["build"]},
    ]
    past_sprint(store, clock, project, every(10, ["build", "review"]), graph)
    # the graph grew a phase since: it has no past
    grown = [*graph, {"name": "deploy", "depends_on": ["review"]}]
    sprint = store.start(project, agent="tester", phases=grown)
    history = project_history(store, project, sprint.sprint_id)
    timing = timing_of(sprint, history)
    assert timing.critical == ["build", "review", "deploy"]
    assert timing.estimate == Estimate(seconds=20 * MIN, samples=2, unknown=("deploy",))
    assert timing.estimate is not None and timing.estimate.partial


def test_history_is_capped_to_the_newest_earlier_sprints(
    store: Store, clock: FakeClock, project: str
) -> None:
    for minutes in (10, 20, 30):
        past_sprint(store, clock, project, every(minutes, ["think"]))
    sprint = store.start(project, agent="tester")
    assert project_history(store, project, sprint.sprint_id)["think"] == [600, 1200, 1800]
    assert project_history(store, project, sprint.sprint_id, sprints=2)["think"] == [1200, 1800]
    assert HISTORY_SPRINTS == 20


def test_history_reads_only_earlier_sprints_of_this_very_project(
    store: Store, clock: FakeClock, project: str, tmp_path: Any
) -> None:
    other = str(tmp_path / "other")
    os.mkdir(other)
    past_sprint(store, clock, other, every(99, ["think"]))
    old = past_sprint(store, clock, project, every(10, ["think"]))
    middle = past_sprint(store, clock, project, every(20, ["think"]))
    past_sprint(store, clock, project, every(40, ["think"]))
    # looking at an archived sprint: only what came before it is its past
    assert project_history(store, project, middle.sprint_id) == {"think": [600]}
    assert project_history(store, project, old.sprint_id) == {}
    # without an exclusion, every sprint of the project counts (the active one included)
    assert project_history(store, project, None) == {"think": [600, 1200, 2400]}
    assert project_history(store, other, None) == {"think": [99 * MIN]}


def test_records_that_give_no_duration_are_left_out(
    store: Store, clock: FakeClock, project: str
) -> None:
    past = past_sprint(store, clock, project, every(10, ["think", "plan", "build"]))
    # plan: completed by upstream sprint.sh, whose done record carries no token
    with open(os.path.join(past.path, "plan", "done"), "w", encoding="utf-8") as fh:
        json.dump({"agent": "upstream", "completed_at": "2026-01-01T00:00:00Z"}, fh)
    # build: its claim record is unreadable
    history_dir = os.path.join(past.path, "build", "history")
    (entry,) = os.listdir(history_dir)
    with open(os.path.join(history_dir, entry, "owner.json"), "w", encoding="utf-8") as fh:
        fh.write("{not json")
    # a hand-edited sprint.json naming a phase outside the sprint is never followed
    sj = os.path.join(past.path, "sprint.json")
    with open(sj, encoding="utf-8") as fh:
        record = json.load(fh)
    record["phases"].append({"name": "../../escape", "depends_on": []})
    with open(sj, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
    sprint = store.start(project, agent="tester")
    assert project_history(store, project, sprint.sprint_id) == {"think": [600]}


# ---------------------------------------------------------------- this sprint


def test_sprint_took_reads_a_done_phase_once(store: Store, clock: FakeClock, project: str) -> None:
    sprint = store.start(project, agent="tester")
    work(sprint, clock, {"think": 7 * MIN})
    cache: dict[tuple[str, str], float | None] = {}
    view = sprint.view()
    assert sprint_took(sprint.path, view.phases, view.now, cache) == {"think": 7 * MIN}
    # the done record is terminal: its duration comes from the cache, not from history/ again
    history_dir = os.path.join(sprint.path, "think", "history")
    for entry in os.listdir(history_dir):
        os.remove(os.path.join(history_dir, entry, "owner.json"))
    assert sprint_took(sprint.path, view.phases, view.now, cache) == {"think": 7 * MIN}
    assert sprint_took(sprint.path, view.phases, view.now) == {}


# ---------------------------------------------------------------- critical path and batches


def test_critical_path_on_the_default_graph(store: Store, clock: FakeClock, project: str) -> None:
    sprint = store.start(project, agent="tester")
    assert timing_of(sprint, {}).critical == ["think", "plan", "build", "review", "ship"]
    work(sprint, clock, every(1, ["think", "plan", "build", "review"]))
    # review is done: among the equally long chains left, the one first in sprint order
    assert timing_of(sprint, {}).critical == ["security", "ship"]
    work(sprint, clock, every(1, ["security", "qa", "ship"]))
    timing = timing_of(sprint, {})
    assert timing.critical == [] and timing.estimate is None


def test_critical_path_on_a_custom_graph(store: Store, clock: FakeClock, project: str) -> None:
    graph = [
        {"name": "docs", "depends_on": []},
        {"name": "schema", "depends_on": []},
        {"name": "api", "depends_on": ["schema"]},
        {"name": "ui", "depends_on": ["api"]},
        {"name": "e2e", "depends_on": ["ui", "docs"]},
        {"name": "cli", "depends_on": ["schema"]},
    ]
    past_sprint(store, clock, project, {"docs": MIN, "schema": 2 * MIN, "api": 4 * MIN}, graph)
    sprint = store.start(project, agent="tester", phases=graph)
    history = project_history(store, project, sprint.sprint_id)
    timing = timing_of(sprint, history)
    assert timing.critical == ["schema", "api", "ui", "e2e"]
    assert timing.estimate == Estimate(seconds=6 * MIN, samples=2, unknown=("ui", "e2e"))
    work(sprint, clock, {"schema": MIN, "api": MIN})
    # two chains of two are left, ui -> e2e and docs -> e2e: docs comes first in the sprint's
    # list, so the tie goes to its chain
    assert timing_of(sprint, history).critical == ["docs", "e2e"]


def test_batches_run_are_the_plan_of_the_done_phases(
    store: Store, clock: FakeClock, project: str
) -> None:
    sprint = store.start(project, agent="tester")
    classes, _, _ = sprint.concurrency()
    assert batches_run(sprint.record.phases, classes, set()) == []
    work(sprint, clock, every(1, ["think", "plan", "build", "review", "qa"]))
    done = {"think", "plan", "build", "review", "qa"}
    run = batches_run(sprint.record.phases, classes, done)
    assert [(b.type, b.phases) for b in run] == [
        ("read", ["think"]),
        ("read", ["plan"]),
        ("write", ["build"]),
        ("read", ["review", "qa"]),
    ]


@pytest.mark.parametrize("bad", [float("nan"), -1.0])
def test_unusable_past_durations_are_ignored(bad: float, store: Store, project: str) -> None:
    sprint = store.start(project, agent="tester")
    view = sprint.view()
    assert estimate(["think"], view.phases, {"think": [bad]}, view.now) is None
    assert estimate(["think"], view.phases, {"think": [bad, 60.0]}, view.now) == Estimate(60.0, 1)
