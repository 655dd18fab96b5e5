"""The conductor-tui app: thin glue between the widgets, the loader thread and the store."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from ..core.artifacts import check_artifact
from ..core.errors import ConductorError
from ..core.liveness import holder_process
from ..core.models import PhaseView
from ..core.paths import clean_name
from ..core.store import Sprint
from ..text import safe
from .model import Loader, Snapshot
from .screens.confirm import ConfirmScreen
from .screens.details import DetailsScreen, PhaseDetails
from .screens.help import HelpScreen
from .widgets.attention import AttentionList
from .widgets.events import EventLog
from .widgets.graph import PhaseGraph
from .widgets.header import SprintHeader
from .widgets.lanes import BatchLanes
from .widgets.locks import LocksTable

if TYPE_CHECKING:
    from ..watch import ChangeBridge  # imported for real only when the watcher starts

MIN_WIDTH, MIN_HEIGHT = 40, 12
MUTATIONS = ("claim", "abort", "reclaim")
OVERVIEW_ACTIONS = (*MUTATIONS, "details", "filter", "clear_filter", "tab")


class StoreChanged(Message):
    """Posted by the watch bridge (from its thread) when files under the store changed."""

    def __init__(self, paths: frozenset[str]) -> None:
        super().__init__()
        self.paths = paths


class ConductorApp(App[None]):
    """Watch a sprint live and recover its locks from the keyboard."""

    CSS_PATH = "app.tcss"
    TITLE = "conductor-tui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "claim", "Claim"),
        Binding("a", "abort", "Abort"),
        Binding("r", "reclaim", "Reclaim"),
        Binding("enter", "details", "Details"),
        Binding("slash", "filter", "Filter"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("1", "tab('overview')", "Overview tab", show=False),
        Binding("2", "tab('locks')", "Locks tab", show=False),
        Binding("3", "tab('lanes')", "Lanes tab", show=False),
        Binding("4", "tab('log')", "Log tab", show=False),
        Binding("m", "toggle_mouse", "Release/capture the mouse", show=False),
    ]

    def __init__(
        self,
        loader: Loader,
        *,
        agent: str,
        read_only: bool = False,
        watch: bool = True,
        poll: bool = False,
        tick_s: float | None = 1.0,
        on_exit: Callable[[], None] | None = None,
        initial: Snapshot | None = None,
    ) -> None:
        super().__init__()
        self.loader = loader
        self.agent = agent
        self.read_only = read_only
        self.watch_enabled = watch
        self.poll = poll
        self.tick_s = tick_s
        self.on_exit_callback = on_exit
        self.snapshot: Snapshot = Snapshot(view=None, error="reading the store…")
        self.snapshot_at = time.monotonic()
        self.selected: str | None = None
        self.filter_text = ""
        self.bridge: ChangeBridge | None = None
        self._loading = False
        self._dirty = False
        self._mouse = True
        self.reloads = 0
        self._bindings_key: tuple[object, ...] | None = None
        self.initial = initial
        self.reload_cost = 0.0  # seconds of the last reload, to pace the idle refreshes
        self.applied: list[
            tuple[float, Snapshot]
        ] = []  # (monotonic time, snapshot): for benchmarks
        self.keep_applied = False

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield SprintHeader(self.read_only, id="header")
        with TabbedContent(initial="overview", id="tabs"):
            with TabPane("Overview", id="overview"):
                with VerticalScroll(id="graph-scroll"):
                    yield PhaseGraph(id="graph")
                yield BatchLanes(id="overview-lanes", limit=4)
                yield AttentionList(id="attention")
            with TabPane("Locks", id="locks"):
                yield LocksTable(id="locks-table")
            with TabPane("Lanes", id="lanes"):
                with VerticalScroll():
                    yield BatchLanes(id="lanes-view")
            with TabPane("Log", id="log"):
                with VerticalScroll(id="log-scroll"):
                    yield EventLog(id="events")
        yield Input(
            placeholder="filter phases, agents, states… (Enter keeps, Esc clears)", id="filter"
        )
        yield Static(id="too-small")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter").display = False
        self.query_one(PhaseGraph).focus()
        self._check_size(self.size.width, self.size.height)
        if self.initial is not None:
            self.apply(self.initial)  # main() has just read the store: show that at once
        else:
            self.request_reload()
        if self.watch_enabled:
            self._start_bridge()
        if self.tick_s:
            self.set_interval(self.tick_s, self._tick)

    def _start_bridge(self) -> None:
        from ..watch import ChangeBridge

        def changed(paths: frozenset[str]) -> None:
            self.post_message(StoreChanged(paths))  # thread-safe; never blocks the watcher

        sprint = self.loader.sprint
        self.bridge = ChangeBridge(
            self.loader.store.root,
            sprint.path if sprint is not None else None,
            changed,
            poll=self.poll,
        )
        self.bridge.start()

    def on_unmount(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()
        if self.on_exit_callback is not None:
            self.on_exit_callback()

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.screen.set_class(small, "too-small")
        if small:
            self.query_one("#too-small", Static).update(
                Text(
                    f"Terminal too small: {width}x{height}.\n"
                    f"conductor-tui needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
                    "Enlarge the pane, or use `conductor status`.",
                    style="bold",
                )
            )

    # ---------------------------------------------------------------- loading

    def request_reload(self) -> None:
        """Re-read the store soon; bursts of requests collapse into one read in flight."""
        if self._loading:
            self._dirty = True
            return
        self._loading = True
        self._dirty = False
        self._load()

    @work(thread=True, exit_on_error=False, group="load")
    def _load(self) -> Snapshot:
        """Read a snapshot off the UI thread; the result arrives as a worker state change."""
        return self.loader.load()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        group = event.worker.group
        if group == "load" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._loading = False
            if event.state == WorkerState.SUCCESS:
                self.apply(event.worker.result)  # type: ignore[arg-type]
            else:
                self.apply(
                    Snapshot(view=None, error=f"cannot read the store: {event.worker.error}")
                )
            if self._dirty:
                self.request_reload()
        elif group == "act" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            if event.state == WorkerState.SUCCESS:
                ok, message = event.worker.result  # type: ignore[misc]
            else:
                ok, message = False, f"unexpected error: {event.worker.error}"
            self.notify(
                safe(message, 400),  # plain text: markup=False, and safe() shows escapes
                severity="information" if ok else "error",
                timeout=6 if ok else 10,
                markup=False,
            )
            self.request_reload()

    def on_store_changed(self, message: StoreChanged) -> None:
        if not message.paths and time.monotonic() - self.snapshot_at < self._idle_period():
            return  # the bridge's periodic rescan, and we read the store recently enough
        self.request_reload()

    def _idle_period(self) -> float:
        """How often to re-read with nothing changing: cheap sprints often, costly ones less."""
        return max(10.0, 50 * self.reload_cost)

    def _tick(self) -> None:
        """Time passes even when no file changes: re-read when a verdict may have changed."""
        snap = self.snapshot
        if snap.view is None:
            if self.loader.sprint is None:
                self.request_reload()  # waiting for a sprint to appear
            return
        elapsed = time.monotonic() - self.snapshot_at
        if snap.next_expiry_in is not None and elapsed >= snap.next_expiry_in:
            self.request_reload()
            return
        seen: dict[int, bool] = {}
        for pv in snap.view.phases:
            lock = pv.lock
            if (
                lock is None
                or not lock.holder_pid
                or pv.status == "done"
                or lock.holder_alive is None
            ):
                continue
            if lock.holder_pid not in seen:  # one /proc read per process, not per lock
                info = self.loader.store.probe(lock.holder_pid)
                seen[lock.holder_pid] = info is not None and info.state != "Z"
            if seen[lock.holder_pid] != lock.holder_alive:
                self.request_reload()
                return
        # ages on screen drift: refresh them now and then, less often for big sprints
        if elapsed >= self._idle_period():
            self.request_reload()

    def apply(self, snap: Snapshot) -> None:
        """Show a new snapshot in every pane."""
        if not self.is_running or not self.screen_stack:
            return  # a reading that arrives while the app shuts down
        started = time.perf_counter()
        self.snapshot = snap
        self.snapshot_at = time.monotonic()
        self.reloads += 1
        if self.bridge is not None and self.loader.sprint is not None:
            self.bridge.watch_sprint(self.loader.sprint.path)
        self.query_one(SprintHeader).show(snap)
        graph = self.query_one(PhaseGraph)
        graph.update_snapshot(snap)
        self.query_one(AttentionList).show(snap.attention, self.filter_text)
        self.query_one(LocksTable).show(snap, self.filter_text)
        all_done = snap.view is not None and snap.view.count("done") == len(snap.view.phases)
        for lanes in self.query(BatchLanes):
            lanes.show(snap.lanes, all_done)
        self.query_one(EventLog).show(snap.events, self.filter_text)
        self._refresh_bindings_if_changed()
        if isinstance(self.screen, DetailsScreen):
            self.screen.reload()
        if self.keep_applied:
            self.applied.append((time.monotonic(), snap))
        self.reload_cost = snap.load_s + (time.perf_counter() - started)

    # ---------------------------------------------------------------- selection

    @on(PhaseGraph.Selected)
    def _graph_selected(self, event: PhaseGraph.Selected) -> None:
        self.selected = event.phase
        self._refresh_bindings_if_changed()

    def _refresh_bindings_if_changed(self) -> None:
        """Rebuild the footer only when what check_action looks at has changed: rebuilding it
        costs tens of milliseconds, and a busy sprint reloads many times a second."""
        if not self.is_running or not self.screen_stack:
            return
        pv = self.selected_view()
        target = self._reclaim_target()
        key = (
            self.selected,
            pv.status if pv else None,
            pv.lock is not None if pv else None,
            target.name if target else None,
            len(self.screen_stack),
        )
        if key != self._bindings_key:
            self._bindings_key = key
            self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#locks-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Only a user moving through the table moves the cursor: rows added by a live update
        # highlight themselves too, and must not steal the selection.
        if not event.data_table.has_focus:
            return
        if event.row_key.value:
            self.query_one(PhaseGraph).selected = str(event.row_key.value)

    @on(DataTable.RowSelected, "#locks-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.selected = str(event.row_key.value)
            self.action_details()

    def selected_view(self) -> PhaseView | None:
        """The view of the phase under the cursor."""
        return self.snapshot.phase(self.selected)

    def _reclaim_target(self) -> PhaseView | None:
        """The cursor's phase if it is locked, else the most urgent lock in the attention list."""
        pv = self.selected_view()
        if pv is not None and _reclaimable(pv):
            return pv
        for item in self.snapshot.attention:
            if item.key == "r":
                target = self.snapshot.phase(item.phase)
                if target is not None and _reclaimable(target):
                    return target
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide mutations in read-only mode; dim what cannot apply to the selected phase."""
        if len(self.screen_stack) > 1 and action in OVERVIEW_ACTIONS:
            return False  # a details or dialog screen is on top: the overview's keys rest
        if action in MUTATIONS:
            if self.read_only:
                return False
            pv = self.selected_view()
            if pv is None:
                return None
            if action == "claim":
                return True if pv.status == "ready" else None
            if action == "abort":
                return True if pv.lock is not None and pv.status != "done" else None
            if action == "reclaim":
                return True if self._reclaim_target() is not None else None
        if action == "details":
            return True if self.selected_view() is not None else None
        return True

    # ---------------------------------------------------------------- actions

    def action_tab(self, tab: str) -> None:
        """Switch to a tab."""
        self.query_one(TabbedContent).active = tab

    def action_help(self) -> None:
        """Show every key, generated from the bindings."""
        groups = [
            ("Overview", [b for b in self.BINDINGS if isinstance(b, Binding)]),
            ("Phase graph", [b for b in PhaseGraph.BINDINGS if isinstance(b, Binding)]),
        ]
        off = set(MUTATIONS) if self.read_only else set()
        self.push_screen(HelpScreen(groups, off))

    def action_filter(self) -> None:
        """Open the filter box."""
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        """Clear the filter."""
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self._set_filter("")
        self.query_one(PhaseGraph).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        box = self.query_one("#filter", Input)
        box.display = bool(event.value)
        self.query_one(PhaseGraph).focus()

    def _set_filter(self, value: str) -> None:
        self.filter_text = value
        self.query_one(PhaseGraph).filter = value
        snap = self.snapshot
        self.query_one(AttentionList).show(snap.attention, value)
        self.query_one(LocksTable).show(snap, value)
        self.query_one(EventLog).show(snap.events, value)

    def action_details(self) -> None:
        """Open the selected phase's details."""
        if self.selected_view() is not None and self.selected:
            self.push_screen(DetailsScreen(self.selected))

    def read_details(self, phase: str) -> PhaseDetails | str:
        """Read a phase's details (called from the details screen's worker thread)."""
        try:
            found = self.loader.details(phase)
        except ConductorError as exc:
            return exc.message
        if isinstance(found, str):
            return found
        pv, status, reasons = found
        artifact = check_artifact(pv.done) if pv.done is not None else None
        return PhaseDetails(pv, status, reasons, artifact, self.snapshot.view)

    def action_toggle_mouse(self) -> None:
        """Release the mouse (so tmux copy mode works) or capture it again."""
        driver = self._driver
        if driver is None:
            return
        self._mouse = not self._mouse
        toggle = "_enable_mouse_support" if self._mouse else "_disable_mouse_support"
        if hasattr(driver, toggle):
            getattr(driver, toggle)()
        self.notify("mouse captured" if self._mouse else "mouse released: tmux copy mode works")

    def _refuse_read_only(self) -> bool:
        if self.read_only:
            self.notify("read-only mode: no key changes the store", severity="warning")
            return True
        return False

    def action_claim(self) -> None:
        """Claim the selected phase as --agent, after confirmation."""
        pv = self.selected_view()
        if self._refuse_read_only() or pv is None:
            return
        body = Text()
        body.append(f"Claim {pv.name!r} as {self.agent}.\n\n")
        body.append(
            "You will hold it under a 1 h lease; every other agent is refused until you "
            "complete or abort it (conductor complete / abort)."
        )
        self._confirm(f"Claim {pv.name}?", body, "Claim", None, lambda: self._claim(pv.name))

    def action_abort(self) -> None:
        """Abort the claim on the selected phase, after confirmation."""
        pv = self.selected_view()
        if self._refuse_read_only() or pv is None or pv.lock is None:
            return
        lock = pv.lock
        mine = lock.agent == self.agent
        body = Text()
        if mine:
            body.append(f"Release your claim on {pv.name!r}.\n\n")
            body.append("The phase becomes claimable again; work not completed is not recorded.")
            typed = None
        else:
            body.append(f"Abort {safe(lock.agent)}'s claim on {pv.name!r} ({lock.verdict}).\n\n")
            body.append(
                f"{safe(lock.agent)} will be fenced: its heartbeat and complete are "
                "refused from now on, and its work on this phase is not recorded."
            )
            typed = pv.name if lock.verdict != "stale" else None
        self._confirm(
            f"Abort {pv.name}?",
            body,
            "Abort claim",
            typed,
            lambda: self._abort(pv.name, force=not mine),
        )

    def action_reclaim(self) -> None:
        """Reclaim the selected phase's lock: stale at once, healthy only by typing its name."""
        pv = self._reclaim_target()
        if self._refuse_read_only() or pv is None:
            return
        self.query_one(PhaseGraph).selected = pv.name
        lock = pv.lock
        if lock is None:  # nobody holds it: an orphan lock.d keeps upstream agents out
            body = Text(f"Clear the orphan lock.d of {pv.name!r}.\n")
            body.append(
                "Nobody holds the phase; upstream sprint.sh agents are refused it until the "
                "lock.d is gone.",
                style="dim",
            )
            self._confirm(
                f"Clear {pv.name}?", body, "Clear", None, lambda: self._reclaim(pv.name, False)
            )
            return
        body = Text()
        holder = safe(lock.agent) or "an unknown holder"
        body.append(f"Reclaim {pv.name!r} from {holder} ({lock.verdict}).\n")
        for ev in lock.evidence[:3]:
            body.append(f"• {safe(ev, 120)}\n", style="dim")
        body.append(
            "The lock is freed and the phase becomes claimable; a returning holder is fenced."
        )
        typed = None
        if lock.verdict != "stale":
            body.append(
                "\nThe holder may still be working: this is a forced reclaim.", style="bold red"
            )
            typed = pv.name
        self._confirm(
            f"Reclaim {pv.name}?",
            body,
            "Reclaim",
            typed,
            lambda: self._reclaim(pv.name, force=lock.verdict != "stale"),
        )

    def _confirm(
        self, title: str, body: Text, label: str, typed: str | None, then: Callable[[], object]
    ) -> None:
        def done(ok: bool | None) -> None:
            if ok:
                then()

        self.push_screen(ConfirmScreen(title, body, label, typed), done)

    def _sprint(self) -> Sprint:
        sprint = self.loader.sprint
        if sprint is None:
            raise ConductorError("no sprint is open")
        return sprint

    @work(thread=True, exit_on_error=False, group="act")
    def _claim(self, phase: str) -> tuple[bool, str]:
        try:
            pid, start = holder_process()
            owner = self._sprint().claim(
                phase, agent=self.agent, holder_pid=pid, holder_start=start
            )
        except ConductorError as exc:
            return False, str(exc)
        return True, f"OK: claimed {phase!r} as {self.agent} (token {owner.token})"

    @work(thread=True, exit_on_error=False, group="act")
    def _abort(self, phase: str, force: bool) -> tuple[bool, str]:
        try:
            holder = self._sprint().abort(phase, agent=self.agent, force=force)
        except ConductorError as exc:
            return False, str(exc)
        return True, f"OK: {phase!r} released (was held by {holder!r})"

    @work(thread=True, exit_on_error=False, group="act")
    def _reclaim(self, phase: str, force: bool) -> tuple[bool, str]:
        try:
            lock = self._sprint().reclaim(phase, agent=self.agent, force=force)
        except ConductorError as exc:
            return False, str(exc)
        if not lock.agent and lock.evidence:
            return True, f"OK: {phase!r}: {lock.evidence[0]}"
        return True, f"OK: reclaimed {phase!r} from {lock.agent!r}"


def _reclaimable(pv: PhaseView) -> bool:
    """A phase `r` acts on: locked and not done, or with an orphan lock.d to clear."""
    return (pv.lock is not None and pv.status != "done") or pv.orphan_sentinel


def default_agent() -> str:
    """The TUI's own identity: human-<user>."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or "user"
    return f"human-{clean_name(user, 'user')[:32]}"
