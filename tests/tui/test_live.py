"""The app with its real watcher and tick: changes made by other processes reach the screen.

No fixed sleeps: each test polls the screen in a bounded loop and asserts on what it shows.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Any

from conductor_tui.core.liveness import proc_info
from conductor_tui.core.store import Store
from conductor_tui.tui.app import ConductorApp
from conductor_tui.tui.model import Loader

from .conftest import loaded, screen_text, settle
from .test_app import async_test, tree

SIZE = (80, 24)


def real_store(tmp_path: Any) -> tuple[Store, str]:
    """A store with the real clock, host and /proc, and a sprint whose think phase is done."""
    project = tmp_path / "project"
    project.mkdir()
    store = Store(str(tmp_path / "store"))
    sprint = store.start(str(project), agent="tester")
    owner = sprint.claim("think", agent="tester", holder_pid=os.getpid())
    sprint.complete("think", agent="tester", token=owner.token)
    return store, str(project)


def live_app(store: Store, project: str) -> ConductorApp:
    """The app as `conductor-tui` runs it: watcher on, one tick a second."""
    app = ConductorApp(Loader(store, project), agent="human-dev", watch=True, tick_s=1.0)
    app.animation_level = "none"
    return app


@async_test
async def test_a_claim_by_another_process_reaches_the_screen(
    quiet_env: None, tmp_path: Any
) -> None:
    store, project = real_store(tmp_path)
    app = live_app(store, project)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert app.bridge is not None
        assert app.snapshot.phase("plan").status == "ready"  # type: ignore[union-attr]
        reloads = app.reloads
        cmd = [sys.executable, "-m", "conductor_tui.cli", "--store", store.root]
        cmd += ["--project", project, "--agent", "other", "claim", "plan"]
        done = await asyncio.to_thread(
            subprocess.run, cmd, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr

        def shown() -> bool:
            pv = app.snapshot.phase("plan")
            return pv is not None and pv.agent == "other" and "other" in screen_text(app)

        for _ in range(200):
            await pilot.pause(0.05)
            if shown():
                break
        assert shown(), f"the claim never reached the screen:\n{screen_text(app)}"
        assert app.reloads > reloads
        assert app.snapshot.phase("plan").status == "held"  # type: ignore[union-attr]
        graph = screen_text(app)
        assert "● plan" in graph and "other" in graph
        await pilot.press("2")
        await settle(pilot)
        rows = [line for line in screen_text(app).splitlines() if line.lstrip().startswith("plan")]
        assert rows and "other" in rows[0] and "held" in rows[0], screen_text(app)


@async_test
async def test_a_dead_holder_turns_stale_without_any_file_change(
    quiet_env: None, tmp_path: Any
) -> None:
    store, project = real_store(tmp_path)
    holder = subprocess.Popen(["sleep", "60"])
    try:
        info = proc_info(holder.pid)
        assert info is not None
        sprint = store.find_active(project)
        assert sprint is not None
        sprint.claim("plan", agent="sleeper", holder_pid=holder.pid, holder_start=info.start)
        app = live_app(store, project)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            assert app.snapshot.phase("plan").status == "held"  # type: ignore[union-attr]
            before = tree(store.root)
            holder.kill()
            await asyncio.to_thread(holder.wait, 10)

            def stale_on_screen() -> bool:
                # the graph, and the attention list with the evidence (it may be painted a
                # frame after the graph: it grows, and is laid out again first)
                pv = app.snapshot.phase("plan")
                text = screen_text(app)
                return (
                    pv is not None
                    and pv.status == "stale"
                    and "✗ plan" in text
                    and "stale lock of sleeper" in text
                )

            # the 1 s tick finds it; the bound is only for a machine loaded by other suites
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not stale_on_screen():
                await pilot.pause(0.05)
            assert stale_on_screen(), f"plan never turned stale:\n{screen_text(app)}"
            assert tree(store.root) == before, "the store changed: this was not the tick"
            text = screen_text(app)
            assert "stale lock of sleeper" in text and f"holder pid {holder.pid} is gone" in text
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
