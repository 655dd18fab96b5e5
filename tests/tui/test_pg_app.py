"""The app on a PostgreSQL store: the same screens, fed by LISTEN/NOTIFY. A claim made by the
command line in another process shows on the screen (and in the header's connection state)
without any file changing; bounded waits, a real server (skipped, or failed under
CONDUCTOR_PG_REQUIRED=1, when there is none)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conductor_tui.tui.app import ConductorApp

from ..pg_server import fresh_url
from .conftest import screen_text
from .test_timing_widgets import async_test

CONDUCTOR = str(Path(sys.executable).with_name("conductor"))


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from fresh_url()


def cli(url: str, project: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NANOSTACK_AGENT", "NANOSTACK_STORE")}
    proc = subprocess.run(
        [CONDUCTOR, "--store", url, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc


def app_on(url: str, project: Path) -> ConductorApp:
    from conductor_tui.pg import open_store
    from conductor_tui.tui.pgmodel import PgLoader

    loader = PgLoader(open_store(url), str(project))
    app = ConductorApp(loader, agent="human-dev", watch=True, tick_s=None)  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


async def until(pilot: object, cond: object, what: str) -> None:
    for _ in range(400):  # bounded: 20 s of 50 ms pauses
        if cond():  # type: ignore[operator]
            return
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    raise AssertionError(f"not seen within 20 s: {what}")


@async_test
async def test_a_claim_by_another_process_shows_through_notify(pg_url: str, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    cli(pg_url, project, "start", "--agent", "lead")
    app = app_on(pg_url, project)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "think ready" in screen_text(app), "the sprint")
        await until(pilot, lambda: "db ✓" in screen_text(app), "the connection state")
        reloads = app.reloads
        cli(pg_url, project, "claim", "think", "--agent", "remote-7b21e0aa")
        await until(pilot, lambda: "think held" in screen_text(app), "the claim")
        assert "remote-7b21e0aa" in screen_text(app)
        assert app.reloads > reloads and app.bridge is not None
        assert app.bridge.bursts >= 1  # type: ignore[attr-defined]  # NOTIFY, not a tick
        cli(pg_url, project, "abort", "think", "--agent", "remote-7b21e0aa")
        await until(pilot, lambda: "think ready" in screen_text(app), "the abort")
