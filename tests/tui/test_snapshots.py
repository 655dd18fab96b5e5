"""SVG snapshots of the app at fixed sizes, on deterministic stores.

Regenerate with `pytest tests/tui/test_snapshots.py --snapshot-update`, then look at the SVGs.
Each run_before waits for the first reading of the store (a thread worker), so the pressed keys
and the screenshot never race it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from .conftest import Built, loaded, select, settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
ALL_SIZES = [*SIZES, pytest.param((200, 60), id="200x60")]
Snap = Callable[..., bool]
Factory = Callable[[str], Built]


def after_load(phase: str | None = None, *keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A run_before: wait for the store, move the cursor to phase, press keys, wait again."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        if phase is not None:
            await select(pilot, phase)
        if keys:
            await pilot.press(*keys)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", ALL_SIZES)
@pytest.mark.parametrize("state", ["fresh", "mid", "stale", "custom"])
def test_overview(
    snap_compare: Snap, snap_store: Factory, state: str, size: tuple[int, int]
) -> None:
    """The overview: graph, lanes, attention (and from 120x36 the locks and the log beside).
    fresh: one ready phase; mid: parallel lanes with two live holders; stale: a dead holder's
    lock in the attention list, plus a malformed done; custom: a graph that is not neatly
    layered, with an edge that skips layers."""
    app = snap_store(state).app()
    assert snap_compare(app, terminal_size=size, run_before=after_load())


@pytest.mark.parametrize("size", SIZES)
def test_reclaim_confirmation(
    snap_compare: Snap, snap_store: Factory, size: tuple[int, int]
) -> None:
    """r on the stale phase: the dialog names the phase, the holder and the evidence."""
    app = snap_store("stale").app()
    assert snap_compare(app, terminal_size=size, run_before=after_load("security"), press=["r"])


@pytest.mark.parametrize("size", SIZES)
def test_details_with_checkpoint(
    snap_compare: Snap, snap_store: Factory, size: tuple[int, int]
) -> None:
    """Enter on build: dependencies, the done record, the artifact check and its checkpoint."""
    app = snap_store("mid").app()
    assert snap_compare(app, terminal_size=size, run_before=after_load("build", "enter"))


@pytest.mark.parametrize("size", SIZES)
def test_locks_tab(snap_compare: Snap, snap_store: Factory, size: tuple[int, int]) -> None:
    """2: the Locks tab with a held, a stale and an upstream lock."""
    app = snap_store("stale").app()
    assert snap_compare(app, terminal_size=size, run_before=after_load(), press=["2"])


def test_help(snap_compare: Snap, snap_store: Factory) -> None:
    """?: every key, generated from the bindings."""
    app = snap_store("mid").app()
    assert snap_compare(app, terminal_size=(80, 24), run_before=after_load(), press=["?"])


def test_narrow_list(snap_compare: Snap, snap_store: Factory) -> None:
    """50 columns, a drawing wider than the pane: a stacked list naming each phase's needs."""
    app = snap_store("stale").app()
    assert snap_compare(app, terminal_size=(50, 24), run_before=after_load())


def test_too_small(snap_compare: Snap, snap_store: Factory) -> None:
    """30x10: a message instead of a broken layout."""
    app = snap_store("mid").app()
    assert snap_compare(app, terminal_size=(30, 10), run_before=after_load())


def test_read_only_header(snap_compare: Snap, snap_store: Factory) -> None:
    """--read-only: READ-ONLY in the header and no Claim/Abort/Reclaim in the footer."""
    app = snap_store("stale").app(read_only=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=after_load())
