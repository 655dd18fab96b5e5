"""Alerts: a lock that turns stale, a double grant's kind of trouble and a fenced completion
ring the terminal bell once and show a toast; `--no-bell` keeps the toast and drops the bell.

Real stores in known states (the `built` fixture: a frozen clock and injected process facts,
pid 5151 dead); the app is the real one under Pilot.
"""

from __future__ import annotations

from typing import Any

import pytest

from conductor_tui.core.errors import Fenced
from conductor_tui.tui.app import ConductorApp

from .conftest import DEAD_PID, Built, loaded
from .test_timing_widgets import async_test


def toasts(app: ConductorApp) -> list[tuple[str, str]]:
    """(title, plain message) of every toast shown."""
    return [(n.title, str(n.message)) for n in app._notifications]


async def reload(pilot: Any, app: ConductorApp) -> None:
    before = app.reloads
    app.request_reload(now=True)
    await loaded(pilot, before + 1)


@async_test
async def test_a_lock_turning_stale_rings_once_and_shows_a_toast(built: Any) -> None:
    b: Built = built("mid")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert app.rings == 0 and toasts(app) == []  # nothing happened while watching
        b.sprint.claim("security", agent="cursor-31f0b6d2", holder_pid=DEAD_PID, holder_start=5)
        await reload(pilot, app)
        assert app.rings == 1
        ((title, text),) = toasts(app)
        assert title == "stale lock" and text.startswith("security:")
        assert "cursor-31f0b6d2" in text
        await reload(pilot, app)  # still stale: no second bell, no second toast
        b.clock.advance(120)  # its evidence text changes with time; it is the same alarm
        await reload(pilot, app)
        assert app.rings == 1 and len(toasts(app)) == 1


@async_test
async def test_what_the_first_reading_shows_rings_nothing(built: Any) -> None:
    b: Built = built("stale")  # security is stale before the app starts
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await reload(pilot, app)
        assert app.rings == 0 and toasts(app) == []


@async_test
async def test_no_bell_keeps_the_toast(built: Any) -> None:
    b: Built = built("mid")
    app = b.app(bell=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        b.sprint.claim("security", agent="cursor-31f0b6d2", holder_pid=DEAD_PID, holder_start=5)
        await reload(pilot, app)
        assert app.rings == 0
        assert [title for title, _ in toasts(app)] == ["stale lock"]


@async_test
async def test_a_new_stale_claim_on_the_same_phase_rings_again(built: Any) -> None:
    b: Built = built("mid")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        b.sprint.claim("security", agent="cursor-31f0b6d2", holder_pid=DEAD_PID, holder_start=5)
        await reload(pilot, app)
        assert app.rings == 1
        b.sprint.reclaim("security", agent="human-dev")  # the stale lock is recovered
        await reload(pilot, app)
        assert app.rings == 1
        # a new claim by another dead holder is a new alarm, even on the same phase
        b.sprint.claim("security", agent="opencode-00000001", holder_pid=DEAD_PID, holder_start=6)
        await reload(pilot, app)
        assert app.rings == 2
        assert toasts(app)[-1][0] == "stale lock" and "opencode-00000001" in toasts(app)[-1][1]


@async_test
async def test_a_fenced_completion_rings_and_shows_a_toast(built: Any) -> None:
    b: Built = built("mid")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        owner = b.sprint.claim(
            "security", agent="cursor-31f0b6d2", holder_pid=DEAD_PID, holder_start=5
        )
        b.sprint.reclaim("security", agent="human-dev")  # recovered before the app looked
        with pytest.raises(Fenced):  # the old holder comes back and tries to complete
            b.sprint.complete("security", agent="cursor-31f0b6d2", token=owner.token)
        await reload(pilot, app)
        assert app.rings == 1
        ((title, text),) = toasts(app)
        assert title == "fenced completion" and "cursor-31f0b6d2 was fenced" in text
        await reload(pilot, app)
        assert app.rings == 1  # the same event: no second bell
