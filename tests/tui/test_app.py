"""Pilot tests of the app against real store directories: what the keys do to the store and screen.

Every assertion about a mutation reads the store back from disk (Sprint.view(), the history
folder, the audit log), never only the app's own idea of it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from rich.console import Console
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from conductor_tui.core import audit
from conductor_tui.core.models import AuditEvent
from conductor_tui.core.store import Sprint
from conductor_tui.tui.app import ConductorApp
from conductor_tui.tui.screens.confirm import ConfirmScreen
from conductor_tui.tui.screens.details import DetailsScreen
from conductor_tui.tui.screens.help import HelpScreen
from conductor_tui.tui.widgets.graph import PhaseGraph
from conductor_tui.tui.widgets.keys import KeyHints
from conductor_tui.tui.widgets.locks import LocksTable

from .conftest import (
    APP_AGENT,
    DEAD_PID,
    HOUR,
    Built,
    loaded,
    notifications,
    screen_text,
    select,
    settle,
    write_upstream_lock,
)

SIZE = (80, 24)
HOSTILE = "evil\x1b[31m[bold red]x[/]\nline2"


def async_test(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body in a fresh event loop (no pytest-asyncio needed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


def lock_agent(sprint: Sprint, phase: str) -> str | None:
    """Who holds a phase according to the disk, or None."""
    pv = sprint.view().phase(phase)
    assert pv is not None
    return pv.lock.agent if pv.lock is not None else None


def history(sprint: Sprint, phase: str) -> list[str]:
    """The names in a phase's history folder (how each claim ended)."""
    return sorted(os.listdir(os.path.join(sprint.path, phase, "history")))


def events(b: Built, name: str) -> list[AuditEvent]:
    """Audit events of one kind, oldest first."""
    return [
        e for e in audit.read(b.store.audit_path) if isinstance(e, AuditEvent) and e.event == name
    ]


def tree(path: str) -> list[tuple[str, bytes | None]]:
    """Every file and folder under path with the files' contents: a fingerprint of the store."""
    out: list[tuple[str, bytes | None]] = []
    for top, dirs, files in os.walk(path):
        dirs.sort()
        for d in dirs:
            out.append((os.path.relpath(os.path.join(top, d), path), None))
        for f in sorted(files):
            full = os.path.join(top, f)
            with open(full, "rb") as fh:
                out.append((os.path.relpath(full, path), fh.read()))
    return out


def confirm_screen(app: ConductorApp) -> ConfirmScreen:
    """The confirmation on top of the stack."""
    assert isinstance(app.screen, ConfirmScreen), f"expected a confirmation, got {app.screen!r}"
    return app.screen


def plain(renderable: Any, width: int = 120) -> str:
    """A Rich renderable as plain text."""
    console = Console(width=width, record=True, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.export_text()


# ---------------------------------------------------------------------- claim


@async_test
async def test_claim_asks_first_and_cancel_is_the_default(built: Callable[[str], Built]) -> None:
    b = built("mid")
    app = b.app()
    before = tree(b.sprint.path)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "security")
        await pilot.press("c")
        await settle(pilot)
        dialog = confirm_screen(app)
        assert "security" in dialog.title_text
        assert "security" in dialog.body.plain and APP_AGENT in dialog.body.plain
        assert app.focused is not None and app.focused.id == "cancel"
        assert not dialog.query("#typed"), "a claim of a ready phase needs no typing"
        # as tall as what it says, not the screen: its message once took the overview's
        # `#body` rule (height 1fr) and the dialog filled the terminal with blank lines
        box = dialog.query_one("Vertical").region
        message = dialog.query_one("#message").region
        assert message.height == len(dialog.body.wrap(Console(), message.width))
        assert box.height < app.size.height - 4
        await pilot.press("enter")  # on Cancel
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
    assert tree(b.sprint.path) == before
    assert lock_agent(b.sprint, "security") is None


@async_test
async def test_claim_confirmed_holds_the_phase_as_the_apps_agent(
    built: Callable[[str], Built],
) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "security")
        await pilot.press("c")
        await settle(pilot)
        confirm_screen(app)
        await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "confirm"
        await pilot.press("enter")
        await loaded(pilot, 2)
        pv = b.sprint.view().phase("security")
        assert pv is not None and pv.lock is not None
        assert pv.lock.agent == APP_AGENT
        assert pv.status == "held"  # the app's holder process is alive
        assert os.path.isdir(os.path.join(b.sprint.path, "security", "lock", pv.lock.token or "?"))
        assert [(s, m) for s, m in notifications(app) if "claimed 'security'" in m]
        # the screen follows the disk
        assert app.snapshot.phase("security").lock.agent == APP_AGENT  # type: ignore[union-attr]
        assert APP_AGENT in screen_text(app)
    assert [e.resource for e in events(b, "sprint_claim")][-1] == "security"


@async_test
async def test_claim_is_dimmed_on_a_phase_that_is_not_ready(built: Callable[[str], Built]) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "ship")
        assert app.screen.check_action("claim", ()) is None  # shown dimmed: blocked
        await pilot.press("c")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
    assert lock_agent(b.sprint, "ship") is None


# ---------------------------------------------------------------------- abort


@async_test
async def test_abort_of_own_claim_releases_it(built: Callable[[str], Built]) -> None:
    b = built("mid")
    b.sprint.claim("security", agent=APP_AGENT, holder_pid=os.getpid())
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "security")
        await pilot.press("a")
        await settle(pilot)
        dialog = confirm_screen(app)
        assert "Release your claim on 'security'" in dialog.body.plain
        assert not dialog.query("#typed"), "releasing your own claim needs no typing"
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("tab", "enter")
        await loaded(pilot, 2)
    pv = b.sprint.view().phase("security")
    assert pv is not None and pv.status == "ready" and pv.lock is None
    assert any("@aborted-" in name for name in history(b.sprint, "security"))
    aborts = events(b, "sprint_abort")
    assert aborts and aborts[-1].resource == "security" and aborts[-1].agent == APP_AGENT


@async_test
async def test_abort_of_a_live_claim_of_another_agent_needs_its_name_typed(
    built: Callable[[str], Built],
) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "review")
        await pilot.press("a")
        await settle(pilot)
        dialog = confirm_screen(app)
        assert "codex-7b21e0aa" in dialog.body.plain and "fenced" in dialog.body.plain
        confirm = dialog.query_one("#confirm", Button)
        typed = dialog.query_one("#typed", Input)
        assert app.focused is typed
        assert confirm.disabled
        await pilot.press(*"revie")
        await pilot.pause()
        assert confirm.disabled, "Confirm must stay disabled until the whole name is typed"
        await pilot.press("enter")  # a wrong name submitted does nothing
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert lock_agent(b.sprint, "review") == "codex-7b21e0aa"
        await pilot.press("w")
        await pilot.pause()
        assert not confirm.disabled
        await pilot.press("enter")
        await loaded(pilot, 2)
    pv = b.sprint.view().phase("review")
    assert pv is not None and pv.status == "ready"
    assert any("@aborted-" in name for name in history(b.sprint, "review"))
    assert events(b, "sprint_abort")[-1].agent == APP_AGENT


# ---------------------------------------------------------------------- reclaim


@async_test
async def test_reclaim_of_a_stale_lock_frees_the_phase(built: Callable[[str], Built]) -> None:
    b = built("stale")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert app.snapshot.phase("security").status == "stale"  # type: ignore[union-attr]
        await select(pilot, "security")
        await pilot.press("r")
        await settle(pilot)
        dialog = confirm_screen(app)
        assert "security" in dialog.title_text
        assert "cursor-31f0b6d2" in dialog.body.plain
        assert f"holder pid {DEAD_PID} is gone" in dialog.body.plain
        assert not dialog.query("#typed"), "a stale lock is reclaimed without typing"
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("tab", "enter")
        await loaded(pilot, 2)
        assert app.snapshot.phase("security").status == "ready"  # type: ignore[union-attr]
    pv = b.sprint.view().phase("security")
    assert pv is not None and pv.status == "ready" and pv.lock is None
    assert any("@reclaimed-" in name for name in history(b.sprint, "security"))
    unstuck = events(b, "sprint_unstuck")
    assert unstuck and unstuck[-1].resource == "security"
    assert unstuck[-1].agent == APP_AGENT
    assert "cursor-31f0b6d2 (stale" in unstuck[-1].detail


@async_test
async def test_reclaim_of_a_held_lock_needs_its_name_typed_and_forces(
    built: Callable[[str], Built],
) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "review")
        await pilot.press("r")
        await settle(pilot)
        dialog = confirm_screen(app)
        assert "forced reclaim" in dialog.body.plain
        assert dialog.query_one("#confirm", Button).disabled
        assert app.focused is dialog.query_one("#typed", Input)
        await pilot.press("enter")  # nothing typed yet: nothing happens
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert lock_agent(b.sprint, "review") == "codex-7b21e0aa"
        await pilot.press(*"review")
        await pilot.press("enter")
        await loaded(pilot, 2)
    pv = b.sprint.view().phase("review")
    assert pv is not None and pv.status == "ready"
    unstuck = events(b, "sprint_unstuck")
    assert unstuck[-1].resource == "review"
    assert unstuck[-1].detail == f"codex-7b21e0aa (held; by {APP_AGENT})"  # forced past "held"


# ---------------------------------------------------------------------- read-only


@async_test
async def test_read_only_mode_changes_nothing_and_hides_the_mutations(
    built: Callable[[str], Built],
) -> None:
    b = built("stale")
    app = b.app(read_only=True)
    before = tree(b.root)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert "READ-ONLY" in screen_text(app).splitlines()[0]
        for phase in ("security", "review", "ship"):
            await select(pilot, phase)
            for action in ("claim", "abort", "reclaim"):
                assert app.screen.check_action(action, ()) is False
            for key in ("c", "a", "r"):
                await pilot.press(key)
                await settle(pilot)
                assert not isinstance(app.screen, ConfirmScreen)
        shown = app.screen.query_one(KeyHints).descriptions()
        assert "Details" in shown
        assert not {"Claim", "Abort", "Reclaim"} & set(shown)
    assert tree(b.root) == before


# ---------------------------------------------------------------------- refusals


@async_test
async def test_a_refused_claim_shows_the_stores_reason_and_changes_nothing(
    built: Callable[[str], Built],
) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "security")
        assert app.snapshot.phase("security").status == "ready"  # type: ignore[union-attr]
        # another process claims it after the app read the store (the watcher is off)
        b.sprint.claim("security", agent="other-agent", holder_pid=4242, holder_start=777)
        before = tree(b.sprint.path)
        await pilot.press("c")
        await settle(pilot)
        confirm_screen(app)
        await pilot.press("tab", "enter")
        await loaded(pilot, 2)
        errors = [m for s, m in notifications(app) if s == "error"]
        assert errors, notifications(app)
        assert "locked by 'other-agent'" in errors[-1]
        assert tree(b.sprint.path) == before
        # and the screen now shows who holds it
        assert app.snapshot.phase("security").lock.agent == "other-agent"  # type: ignore[union-attr]
    assert lock_agent(b.sprint, "security") == "other-agent"


# ---------------------------------------------------------------------- filter


@async_test
async def test_filter_narrows_the_locks_and_dims_the_graph(built: Callable[[str], Built]) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:  # wide: the graph and the locks at once
        await loaded(pilot)
        table = app.query_one(LocksTable)
        graph = app.query_one(PhaseGraph)
        assert table.row_count == 2  # review and qa
        await pilot.press("slash")
        box = app.query_one("#filter", Input)
        assert box.display and app.focused is box
        await pilot.press(*"review")
        await settle(pilot)
        assert app.filter_text == "review"
        assert table.row_count == 1
        assert table.phases == ["review"]
        assert graph._matches("review") and not graph._matches("qa")
        await pilot.press("enter")  # keeps the filter, back to the graph
        await settle(pilot)
        assert app.focused is graph and table.row_count == 1
        await pilot.press("escape")
        await settle(pilot)
        assert app.filter_text == "" and table.row_count == 2 and not box.display


@async_test
async def test_typing_q_in_the_filter_does_not_quit(built: Callable[[str], Built]) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("slash", "q", "a")
        await settle(pilot)
        assert app.is_running
        assert app.filter_text == "qa"
        await pilot.press("enter", "2")  # keep the filter; the locks tab shows it applied
        await settle(pilot)
        assert app.query_one(LocksTable).phases == ["qa"]


# ---------------------------------------------------------------------- details


@async_test
async def test_details_show_dependencies_why_lock_and_checkpoint(
    built: Callable[[str], Built],
) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=(120, 60)) as pilot:
        await loaded(pilot)
        await select(pilot, "build")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailsScreen)
        text = screen_text(app)
        assert "depends on  plan" in text
        assert "needed by   review, security, qa" in text
        assert "Why: done" in text
        assert "Context checkpoint" in text
        assert "Session refresh added before the payment call" in text
        assert "Keep the 30 min TTL" in text
        assert "Should the refresh be logged?" in text
        assert "matches its recorded SHA-256" in text
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, DetailsScreen)
        assert app.focused is app.query_one(PhaseGraph)

        await select(pilot, "review")
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "Why: held" in text
        assert "locked by 'codex-7b21e0aa' (held)" in text
        assert "form" in text and "fenced" in text  # a fenced (token) claim
        assert "4242 (alive here)" in text
        await pilot.press("escape")
        await settle(pilot)

        await select(pilot, "ship")
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "Why: blocked" in text
        assert "requires 'review', which is held by 'codex-7b21e0aa'" in text
        assert "requires 'security', which is ready" in text
        await pilot.press("escape")
        await settle(pilot)
        assert len(app.screen_stack) == 1


@async_test
async def test_details_show_the_concurrency_class_the_lanes_use(
    built: Callable[[str], Built],
) -> None:
    """plan is a read phase (built-in class): the details must not call it write."""
    b = built("mid")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert app.snapshot.phase("plan").concurrency == "read"  # type: ignore[union-attr]
        await select(pilot, "plan")
        await pilot.press("enter")
        await settle(pilot)
        head = screen_text(app).splitlines()[0]
        assert "(read)" in head, head


@async_test
async def test_enter_on_the_details_screen_does_not_stack_another(
    built: Callable[[str], Built],
) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "build")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert len(app.screen_stack) == 2, app.screen_stack
        await pilot.press("escape")
        await settle(pilot)
        assert len(app.screen_stack) == 1, "one Escape must lead back to the overview"


@async_test
async def test_filter_key_on_the_details_screen_leaves_no_hidden_filter_behind(
    built: Callable[[str], Built],
) -> None:
    """The details footer offers '/ Filter'; it must not open the overview's box out of sight."""
    b = built("mid")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "build")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert len(app.screen_stack) == 1
        assert app.focused is app.query_one(PhaseGraph), app.focused
        assert not app.query_one("#filter", Input).display


@async_test
async def test_details_of_a_malformed_done_record_name_the_problem(
    built: Callable[[str], Built],
) -> None:
    b = built("stale")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await select(pilot, "ship")
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "? ship  malformed" in text
        assert "done record is malformed" in text


# ---------------------------------------------------------------------- untrusted text


@async_test
async def test_hostile_agent_names_are_shown_as_plain_text(built: Callable[[str], Built]) -> None:
    b = built("fresh")
    write_upstream_lock(
        b.sprint, "think", agent=HOSTILE, pid=DEAD_PID, claimed=b.clock.now - 2 * HOUR
    )
    app = b.app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        assert app.snapshot.phase("think").status == "stale"  # type: ignore[union-attr]
        screens = [screen_text(app)]
        await pilot.press("2")
        await settle(pilot)
        screens.append(screen_text(app))
        await pilot.press("1")
        await select(pilot, "think")
        await pilot.press("r")
        await settle(pilot)
        screens.append(screen_text(app))
        await pilot.press("escape", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailsScreen)
        screens.append(screen_text(app))
    for text in screens:
        assert "\x1b" not in text
    overview, locks, dialog, details = screens
    for name, text in (("locks", locks), ("dialog", dialog), ("details", details)):
        assert "[bold red]x[/]" in text, name
        assert "\\x1b[31m" in text, name  # the escape made visible
        shown = text.replace("\\x0aline2", "").replace("\\nline2", "")  # \x0a or repr's \n
        assert "line2" not in shown, f"{name}: the newline was kept"
    assert "[bold red]" in overview  # attention list and lanes


# ---------------------------------------------------------------------- size, help


@async_test
async def test_too_small_says_so(built: Callable[[str], Built]) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=(30, 10)) as pilot:
        await loaded(pilot)
        text = screen_text(app)
        assert "Terminal too small: 30x10" in text
        assert "40x12" in text
        assert "Overview" not in text and "Claim" not in text
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        text = screen_text(app)
        assert "too small" not in text
        assert "Overview" in text and "review" in text


@async_test
async def test_help_lists_every_binding(built: Callable[[str], Built]) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(plain(s.content) for s in app.screen.query(Static))
        for binding in ConductorApp.BINDINGS:
            assert binding.description in text, binding.description  # type: ignore[union-attr]
        for binding in [*PhaseGraph.BINDINGS, *LocksTable.BINDINGS]:
            assert binding.description in text, binding.description  # type: ignore[union-attr]
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, HelpScreen)


@async_test
async def test_help_shows_keys_as_the_footer_does(built: Callable[[str], Built]) -> None:
    """The footer says '/ Filter' and '? Help': the help must not say 'slash', 'question_mark'."""
    b = built("mid")
    app = b.app()
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = "\n".join(plain(s.content) for s in app.screen.query(Static))
        rows = {line.split()[-1]: line.split()[0] for line in text.splitlines() if line.split()}
        assert rows.get("Filter") == "/", text
        assert rows.get("Help") == "?", text


@async_test
async def test_help_scrolls_in_read_only_mode(built: Callable[[str], Built]) -> None:
    """Read-only marks the mutations "off"; that must not disable the help screen itself.

    The screen once kept that set in Textual's own `disabled` attribute: a non-empty set is
    truthy, so in --read-only the whole help screen was disabled and a short pane could not
    scroll to the keys below the fold.
    """
    b = built("mid")
    app = b.app(read_only=True)
    async with app.run_test(size=(80, 12)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert not help_screen.disabled
        text = "\n".join(plain(s.content) for s in help_screen.query(Static))
        assert "(off in this mode)" in text  # the mutations are still marked
        scroll = help_screen.query_one(VerticalScroll)
        assert scroll.max_scroll_y > 0, "at 80x12 the help must be taller than its box"
        assert "States:" not in screen_text(app)
        await pilot.press("pagedown")
        await settle(pilot)
        assert scroll.scroll_y > 0
        await pilot.press("end")
        await settle(pilot)
        assert scroll.scroll_y == scroll.max_scroll_y
        assert "States:" in screen_text(app)


# ---------------------------------------------------------------------- the cursor


@async_test
async def test_the_cursor_starts_on_the_stale_phase(built: Callable[[str], Built]) -> None:
    """The attention list says '[r]' for the stale lock: r must act on it without moving first."""
    b = built("stale")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert app.selected == "security"


@async_test
async def test_the_cursor_stays_when_another_agent_claims(built: Callable[[str], Built]) -> None:
    """A live update must never move the cursor: the next key would act on another phase."""
    b = built("mid")
    b.sprint.abort("review", agent="codex-7b21e0aa")
    b.sprint.reclaim("qa", agent="tester", force=True)  # no lock left: the Locks table is empty
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "plan")
        b.sprint.claim("security", agent="other-agent", holder_pid=4242, holder_start=777)
        app.request_reload()
        await loaded(pilot, 2)
        assert app.snapshot.phase("security").lock is not None  # type: ignore[union-attr]
        assert app.selected == "plan"


# ---------------------------------------------------------------------- layout at 80x24


@pytest.mark.parametrize("read_only", [False, True], ids=["act", "read-only"])
@async_test
async def test_header_keeps_every_nonzero_count_at_80_columns(
    built: Callable[[str], Built], read_only: bool
) -> None:
    """The counts are what a glance at the pane is for; the sprint id can give way first."""
    b = built("stale")
    app = b.app(read_only=read_only)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        header = screen_text(app).splitlines()[0]
        assert "1 stale" in header and "1 malformed" in header, header


@async_test
async def test_forced_reclaim_dialog_fits_80x24(built: Callable[[str], Built]) -> None:
    """The upstream lock on qa has two evidence lines, one of them long: the dialog must fit."""
    b = built("mid")
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "qa")
        await pilot.press("r")
        await settle(pilot)
        dialog = confirm_screen(app)
        box = dialog.query_one(Vertical)
        assert box.outer_size.height <= SIZE[1], f"the dialog is {box.outer_size.height} rows"
        assert dialog.query_one("#confirm", Button).region.bottom <= SIZE[1]


@async_test
async def test_graph_nodes_show_whole_state_words(built: Callable[[str], Built]) -> None:
    """At 120 columns there is room: 'malformed' must not be cut to 'malform…'."""
    b = built("stale")
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        text = screen_text(app)
        assert "malform…" not in text
        assert " malformed" in text


@async_test
async def test_log_tab_lists_the_sprints_events(built: Callable[[str], Built]) -> None:
    b = built("mid")
    app = b.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("4")
        await settle(pilot)
        text = screen_text(app)
        assert "claim" in text and "complete" in text and "review" in text
        assert "heartbeat" not in text


@async_test
async def test_a_changed_artifact_is_flagged_in_attention_and_details(
    built: Callable[[str], Built],
) -> None:
    b = built("mid")
    done = b.sprint.view().phase("build").done
    assert done is not None and done.artifact
    app = b.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert not any(a.kind == "changed" for a in app.snapshot.attention)
        with open(done.artifact, "a", encoding="utf-8") as fh:
            fh.write(" ")  # an edit after completion: same JSON, another SHA-256
        app.request_reload()
        await loaded(pilot, 2)
        changed = [a for a in app.snapshot.attention if a.kind == "changed"]
        assert [a.phase for a in changed] == ["build"]
        assert "SHA-256" in changed[0].text and "changed" in screen_text(app)
        await select(pilot, "build")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailsScreen)
        assert "changed after completion" in screen_text(app)


@async_test
async def test_an_orphan_lock_d_is_shown_and_r_clears_it(built: Callable[[str], Built]) -> None:
    """Upstream's abort of our claim leaves our lock.d: upstream agents are refused the phase.
    The attention list says so, and `r` (with a confirmation) clears it."""
    b = built("mid")
    owner = b.sprint.claim("security", agent="cursor-31f0b6d2", holder_pid=DEAD_PID)
    pdir = os.path.join(b.sprint.path, "security")
    shutil.rmtree(os.path.join(pdir, "lock"))  # upstream's abort removes lock, nothing else
    aged = b.clock.now - 60
    os.utime(os.path.join(pdir, "lock.d"), (aged, aged))
    app = b.app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        pv = app.snapshot.phase("security")
        assert pv is not None and pv.status == "ready" and pv.orphan_sentinel
        assert [(a.phase, a.key) for a in app.snapshot.attention if a.kind == "orphan"] == [
            ("security", "r")
        ]
        await select(pilot, "security")
        await pilot.press("r")
        await settle(pilot)
        dialog = confirm_screen(app)
        assert dialog.title_text == "Clear security?"
        assert "upstream" in dialog.body.plain
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("tab", "enter")
        await loaded(pilot, 2)
        pv = app.snapshot.phase("security")
        assert pv is not None and not pv.orphan_sentinel
    assert not os.path.lexists(os.path.join(pdir, "lock.d"))
    assert owner.token not in str(os.listdir(pdir))
