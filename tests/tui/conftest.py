"""Fixtures of the TUI tests: stores in known states, deterministic apps, and helpers for pilots.

Snapshot stores are fully deterministic: a frozen clock, a fixed host, injected process facts
(``fake_probe``), seeded fencing tokens and a fixed project path that need not exist. Only process
facts are faked; every store still lives on a real directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widget import Widget

from conductor_tui.core.liveness import ProcInfo, hostname, iso, proc_info
from conductor_tui.core.store import Sprint, Store
from conductor_tui.tui.app import ConductorApp
from conductor_tui.tui.model import Loader
from tests.conftest import T0, FakeClock

PROJECT = "/home/dev/shop"  # never created: Store.start only hashes and records it
HOST = "devbox"
APP_AGENT = "human-dev"
# The store of snapshot tests lives at a fixed path: the details screen shows the artifact's
# absolute path, which must be the same on every run and machine.
SNAP_BASE = "/tmp/conductor-tui-snapshots"

# pid -> what /proc would say; every other pid is gone.
ALIVE: dict[int, ProcInfo] = {
    4242: ProcInfo(pid=4242, ppid=1, start=777, state="S", comm="codex"),
    4343: ProcInfo(pid=4343, ppid=1, start=888, state="S", comm="opencode"),
}
DEAD_PID = 5151

MINUTE = 60.0
HOUR = 3600.0


def fake_probe(pid: int) -> ProcInfo | None:
    """The injected /proc: 4242 and 4343 alive, everything else (5151 included) gone."""
    return ALIVE.get(pid)


def mixed_probe(pid: int) -> ProcInfo | None:
    """The scenario's pids as fake_probe has them; any other pid (the app's own) from /proc."""
    if pid in ALIVE or pid == DEAD_PID:
        return ALIVE.get(pid)
    return proc_info(pid)


class SeededHex:
    """A token_hex stand-in: 00..01, 00..02, ... so fencing tokens are the same on every run."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, nbytes: int | None = 16) -> str:
        self.n += 1
        return f"{self.n:0{2 * (nbytes or 16)}x}"


CHECKPOINTS: dict[str, dict[str, Any]] = {
    "think": {
        "summary": "Checkout drops carts when the session expires mid-payment.",
        "key_files": ["docs/incident-0412.md"],
        "decisions_made": ["Fix the session refresh, not the cart"],
        "open_questions": [],
    },
    "plan": {
        "summary": "Refresh the session before payment; add a regression test.",
        "key_files": ["shop/session.py", "shop/checkout.py"],
        "decisions_made": ["Refresh at most once per request"],
        "open_questions": ["Do mobile clients retry on 401?"],
    },
    "build": {
        "summary": "Session refresh added before the payment call; 14 tests pass.",
        "key_files": ["shop/session.py", "shop/checkout.py", "tests/test_checkout.py"],
        "decisions_made": ["Refresh in middleware, not in the view", "Keep the 30 min TTL"],
        "open_questions": ["Should the refresh be logged?"],
    },
    "api": {
        "summary": "POST /checkout refreshes the session before charging.",
        "key_files": ["shop/api/checkout.py"],
        "decisions_made": ["One refresh per request"],
        "open_questions": [],
    },
}


@dataclass
class Built:
    """A store in a known state."""

    store: Store
    sprint: Sprint
    clock: FakeClock
    root: str

    def app(self, **kw: Any) -> ConductorApp:
        """A deterministic app on this store: no watcher, no tick, no animations."""
        return make_app(self.store, self.sprint.record.project, **kw)


def make_app(store: Store, project: str, **kw: Any) -> ConductorApp:
    """ConductorApp on a store with the watcher and the tick off unless asked for."""
    kw.setdefault("agent", APP_AGENT)
    kw.setdefault("watch", False)
    kw.setdefault("tick_s", None)
    sprint_id = kw.pop("sprint_id", None)
    app = ConductorApp(Loader(store, project, sprint_id), **kw)
    app.animation_level = "none"
    return app


def write_artifact(root: str, phase: str) -> str:
    """A JSON artifact with a context checkpoint, inside the store (the project is not real)."""
    folder = os.path.join(root, "artifacts")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{phase}.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"phase": phase, "context_checkpoint": CHECKPOINTS[phase]}, fh, indent=2)
    return path


def write_upstream_lock(
    sprint: Sprint, phase: str, *, agent: str, pid: int, claimed: float
) -> None:
    """A lock as upstream sprint.sh writes it: mkdir lock.d, meta.json in it, rename to lock."""
    pdir = os.path.join(sprint.path, phase)
    staging = os.path.join(pdir, "lock.d")
    os.mkdir(staging)
    meta = os.path.join(staging, "meta.json")
    with open(meta, "w", encoding="utf-8") as fh:
        json.dump({"agent": agent, "claimed_at": iso(claimed), "pid": pid}, fh)
    os.utime(meta, (claimed, claimed))  # upstream's rule judges the age by the file's mtime
    os.rename(staging, os.path.join(pdir, "lock"))


def write_malformed_done(sprint: Sprint, phase: str) -> None:
    """A done record that is not JSON (a crashed writer, a hand edit)."""
    with open(os.path.join(sprint.path, phase, "done"), "w", encoding="utf-8") as fh:
        fh.write('{"agent": "claude-1a2b3c4d", "completed_at": ')


def build_store(
    root: str,
    state: str = "mid",
    *,
    project: str = PROJECT,
    host: str = HOST,
    probe: Callable[[int], ProcInfo | None] = fake_probe,
) -> Built:
    """A store in one of the states the tests look at.

    fresh:  a new default sprint.
    mid:    think, plan and build done (artifacts with checkpoints); review held by
            codex-7b21e0aa (pid 4242, alive); qa held by opencode-9c44d1e8 through an upstream
            sprint.sh lock (pid 4343, alive, 8 min old); security ready; ship blocked.
    stale:  mid, plus security claimed by cursor-31f0b6d2 whose pid 5151 is gone (stale), and a
            malformed done record on ship.
    """
    clock = FakeClock(T0 - 3 * HOUR)
    store = Store(root, clock=clock, host=host, probe=probe, token_hex=SeededHex())
    if state == "custom":
        return _custom(store, clock, project, root)
    sprint = store.start(project, agent="claude-1a2b3c4d")
    if state == "fresh":
        clock.now = T0
        return Built(store, sprint, clock, root)
    for phase, agent, took in (
        ("think", "claude-1a2b3c4d", 20 * MINUTE),
        ("plan", "claude-1a2b3c4d", 40 * MINUTE),
        ("build", "codex-7b21e0aa", 80 * MINUTE),
    ):
        owner = sprint.claim(phase, agent=agent, holder_pid=4242, holder_start=777)
        clock.advance(took)
        sprint.complete(phase, agent=agent, token=owner.token, artifact=write_artifact(root, phase))
    clock.now = T0 - 25 * MINUTE
    sprint.claim("review", agent="codex-7b21e0aa", holder_pid=4242, holder_start=777)
    clock.now = T0 - 8 * MINUTE
    write_upstream_lock(sprint, "qa", agent="opencode-9c44d1e8", pid=4343, claimed=clock.now)
    if state == "stale":
        clock.now = T0 - 12 * MINUTE
        sprint.claim("security", agent="cursor-31f0b6d2", holder_pid=DEAD_PID, holder_start=555)
        write_malformed_done(sprint, "ship")
    elif state != "mid":
        raise ValueError(f"unknown state {state!r}")
    clock.now = T0
    return Built(store, sprint, clock, root)


# A sprint that is not neatly layered: two tracks that must not be drawn as feeding each other,
# and an edge (think -> ship) that skips every layer between.
CUSTOM_GRAPH = [
    {"name": "think", "depends_on": []},
    {"name": "api", "depends_on": ["think"]},
    {"name": "web", "depends_on": ["think"]},
    {"name": "api-tests", "depends_on": ["api"]},
    {"name": "web-tests", "depends_on": ["web"]},
    {"name": "ship", "depends_on": ["api-tests", "think"]},
]


def _custom(store: Store, clock: FakeClock, project: str, root: str) -> Built:
    """custom: think done; api done; api-tests held by codex (alive); web held by a dead holder
    (stale); web-tests blocked; ship blocked."""
    sprint = store.start(project, agent="claude-1a2b3c4d", phases=CUSTOM_GRAPH)
    for phase, agent, took in (
        ("think", "claude-1a2b3c4d", 20 * MINUTE),
        ("api", "codex-7b21e0aa", 50 * MINUTE),
    ):
        owner = sprint.claim(phase, agent=agent, holder_pid=4242, holder_start=777)
        clock.advance(took)
        sprint.complete(phase, agent=agent, token=owner.token, artifact=write_artifact(root, phase))
    clock.now = T0 - 30 * MINUTE
    sprint.claim("web", agent="cursor-31f0b6d2", holder_pid=DEAD_PID, holder_start=555)
    clock.now = T0 - 10 * MINUTE
    sprint.claim("api-tests", agent="codex-7b21e0aa", holder_pid=4242, holder_start=777)
    clock.now = T0
    return Built(store, sprint, clock, root)


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No SKILL.md from the real home, no NO_COLOR from the caller's terminal."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("NANOSTACK_STORE", raising=False)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture
def snap_store(quiet_env: None) -> Iterator[Callable[[str], Built]]:
    """Factory of deterministic stores at the fixed snapshot path (one test at a time)."""
    os.makedirs(os.path.dirname(SNAP_BASE), exist_ok=True)
    with open(SNAP_BASE + ".lock", "a") as guard:
        # Two pytest runs at once would share the fixed path: take turns.
        fcntl.flock(guard, fcntl.LOCK_EX)
        try:
            shutil.rmtree(SNAP_BASE, ignore_errors=True)
            os.makedirs(SNAP_BASE)
            used: list[int] = []

            def factory(state: str) -> Built:
                used.append(1)
                return build_store(os.path.join(SNAP_BASE, f"store{len(used)}"), state)

            yield factory
        finally:
            shutil.rmtree(SNAP_BASE, ignore_errors=True)
            fcntl.flock(guard, fcntl.LOCK_UN)


@pytest.fixture
def built(quiet_env: None, tmp_path: Any) -> Callable[[str], Built]:
    """Factory of stores in known states under tmp (for pilot tests).

    This machine's host name and /proc judge every pid but the scenario's, so that the claims
    the app makes for itself are judged as they would be for real.
    """
    counter = iter(range(1000))

    def factory(state: str) -> Built:
        root = str(tmp_path / f"store{next(counter)}")
        return build_store(root, state, host=hostname(), probe=mixed_probe)

    return factory


# ---------------------------------------------------------------------- pilot helpers


async def settle(pilot: Pilot[Any]) -> None:
    """Let every worker finish and every message it posted be handled, and the screen catch
    up: a layout or repaint it has queued runs on its own update timer, after the message
    queues are idle (a screenshot taken before it shows new text in the old layout)."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    for _ in range(200):  # bounded; the timer runs within a frame (1/60 s) when not starved
        screen = pilot.app.screen
        if not (screen._layout_required or screen._dirty_widgets or screen._repaint_required):
            return
        await pilot.pause(0.005)


async def loaded(pilot: Pilot[Any], reloads: int = 1) -> None:
    """Wait (bounded) until the app has applied at least `reloads` snapshots."""
    app = pilot.app
    for _ in range(200):
        await settle(pilot)
        if getattr(app, "reloads", 0) >= reloads and not getattr(app, "_loading", False):
            return
        await pilot.pause(0.01)
    raise AssertionError(f"the app applied {getattr(app, 'reloads', 0)} snapshots, not {reloads}")


async def select(pilot: Pilot[Any], phase: str) -> None:
    """Move the graph's cursor to a phase with j/k, as a user would."""
    app = pilot.app
    for _ in range(30):
        if app.selected == phase:
            return
        graph = app.query_one("#graph")
        order = graph.order()
        here = order.index(app.selected) if app.selected in order else 0
        await pilot.press("j" if order.index(phase) > here else "k")
        await pilot.pause()
    raise AssertionError(f"could not move the cursor to {phase!r} (it is on {app.selected!r})")


def drawn_lines(widget: Widget, *, scrolled: bool = False) -> list[int]:
    """A list that gets every line the widget draws from now on (its render_line's y; plus
    the widget's vertical scroll when scrolled, for a line of the content, not of the view)."""
    drawn: list[int] = []
    render_line = widget.render_line

    def counting(y: int) -> Strip:
        drawn.append(y + (round(widget.scroll_offset.y) if scrolled else 0))
        return render_line(y)

    widget.render_line = counting  # type: ignore[method-assign]
    return drawn


def screen_text(app: App[Any]) -> str:
    """The plain text of what the current screen shows, one line per terminal row."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def notifications(app: App[Any]) -> list[tuple[str, str]]:
    """(severity, plain message) of every notification the app has shown."""
    out = []
    for note in app._notifications:
        message = note.message
        with contextlib.suppress(AttributeError):
            message = message.plain  # type: ignore[union-attr]
        out.append((note.severity, str(message)))
    return out
