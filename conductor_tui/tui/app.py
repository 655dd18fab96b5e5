"""The conductor-tui app: thin glue between the widgets, the loader thread and the store."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer

from ..core.artifacts import check_artifact
from ..core.errors import ConductorError
from ..core.liveness import holder_process
from ..core.paths import account_name, clean_name
from ..core.store import Sprint
from ..text import safe
from .model import TICK, Attention, Loader, Snapshot
from .pacing import QUIET_S, CpuBudget
from .screens.details import DetailsScreen, PhaseDetails
from .screens.help import HelpScreen
from .screens.overview import MUTATIONS, OverviewScreen
from .widgets.graph import PhaseGraph
from .widgets.locks import LocksTable

if TYPE_CHECKING:
    from ..watch import ChangeBridge  # imported for real only when the watcher starts


class StoreChanged(Message):
    """Posted by the watch bridge (from its thread) when files under the store changed."""

    def __init__(self, paths: frozenset[str]) -> None:
        super().__init__()
        self.paths = paths


class Loaded(Message):
    """The loader thread read a snapshot (using cpu_s of its thread's CPU time)."""

    def __init__(self, snapshot: Snapshot, cpu_s: float = 0.0) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.cpu_s = cpu_s


class Acted(Message):
    """A claim, abort or reclaim run off the UI thread finished: what to tell the user."""

    def __init__(self, ok: bool, text: str) -> None:
        super().__init__()
        self.ok = ok
        self.text = text


class ConductorApp(App[None]):
    """Watch a sprint live and recover its locks from the keyboard."""

    CSS_PATH = "app.tcss"
    TITLE = "conductor-tui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("m", "toggle_mouse", "Release/capture the mouse", show=False),
    ]

    # the current reading; the overview screen and the details screen watch it and update
    # their widgets, which repaint what changed (repaint=False: a new reading must not repaint
    # the whole screen, which a reactive of the app does by default)
    snapshot: reactive[Snapshot] = reactive(
        lambda: Snapshot(view=None, error="reading the store…"),
        always_update=True,
        init=False,
        repaint=False,
    )

    def __init__(
        self,
        loader: Loader,
        *,
        agent: str,
        read_only: bool = False,
        watch: bool = True,
        poll: bool = False,
        bell: bool = True,
        tick_s: float | None = 1.0,
        on_exit: Callable[[], None] | None = None,
        initial: Snapshot | None = None,
        freeze_gc: bool = False,
    ) -> None:
        super().__init__()
        self.loader = loader
        self.agent = agent
        self.read_only = read_only
        self.watch_enabled = watch
        self.poll = poll
        self.tick_s = tick_s
        self.on_exit_callback = on_exit
        self.snapshot_at = time.monotonic()
        self.bridge: ChangeBridge | None = None
        self._loading = False
        self._dirty = False
        self._pending: frozenset[str] | None = None  # what the pending reload reads; None: all
        self._paced: Timer | None = None  # a reload waiting for CPU credit
        self._quiet: Timer | None = None  # looks whether the changes have stopped meanwhile
        self._changed_at = 0.0  # when the last change was reported (monotonic)
        self._urgent = False  # the reload owed was asked for by the user: it does not wait
        self.budget = CpuBudget()
        self._ui_charged: float | None = None  # the UI thread's CPU when last charged
        self._mouse = True
        self.reloads = 0
        self.initial = initial
        # once the first reading is on screen, move everything allocated so far (Textual, the
        # widgets, the first reading) out of the cyclic collector's way: a full collection then
        # walks only what the app made since, not the whole start-up heap (the program does;
        # a test leaves it to its process)
        self._freeze_gc = freeze_gc
        self.reload_cost = 0.0  # seconds of the last reload, to pace the idle refreshes
        self.applied: list[
            tuple[float, Snapshot]
        ] = []  # (monotonic time, snapshot): for benchmarks
        self.keep_applied = False
        self.ring = bell  # ring the terminal bell with an alert's toast
        self.rings = 0  # bells rung (for tests)
        self._fallback_said = False
        self._alerted: frozenset[tuple[str, ...]] | None = None  # None: no reading seen yet

    # ---------------------------------------------------------------- screens

    def get_default_screen(self) -> Screen[None]:
        return OverviewScreen()

    @property
    def overview(self) -> OverviewScreen:
        """The overview screen (at the bottom of the stack)."""
        screen = self.screen_stack[0] if self.screen_stack else None
        assert isinstance(screen, OverviewScreen)
        return screen

    @property
    def selected(self) -> str | None:
        """The phase under the overview's cursor."""
        return self.overview.selected

    @property
    def filter_text(self) -> str:
        """The overview's filter."""
        return self.overview.filter_text

    def on_mount(self) -> None:
        if self.initial is not None:
            self.apply(self.initial)  # main() has just read the store: show that at once
            self.call_after_refresh(self._first_shown)
        else:
            self.request_reload(now=True)
        if self.watch_enabled:
            self._start_bridge()
        if self.tick_s:
            self.set_interval(self.tick_s, self._tick)

    def _start_bridge(self) -> None:
        def changed(paths: frozenset[str]) -> None:
            self.post_message(StoreChanged(paths))  # thread-safe; never blocks the watcher

        url = getattr(self.loader.store, "url", None)
        if url is not None:  # a PostgreSQL store: LISTEN/NOTIFY, not files
            from ..pg.bridge import ListenBridge

            listening = ListenBridge(url, changed)
            self.bridge = listening  # type: ignore[assignment]  # the same surface
            listening.start()
            return
        from ..watch import ChangeBridge

        sprint = self.loader.sprint
        self.bridge = ChangeBridge(
            self.loader.store.root,
            sprint.path if sprint is not None else None,
            changed,
            poll=self.poll,
        )
        self.bridge.start()
        self._say_fallback()

    def _say_fallback(self) -> None:
        """Say once that the watcher fell back to polling (at start, or when a watch failed)."""
        bridge = self.bridge
        if bridge is None or bridge.fallback is None or self._fallback_said:
            return
        self._fallback_said = True
        self.notify(
            f"no file events here ({safe(bridge.fallback, 200)}): polling the store",
            severity="warning",
            timeout=10,
            markup=False,
        )

    def on_unmount(self) -> None:
        if self._freeze_gc:  # left before the first reading showed: the collector back on
            gc.enable()
        if self.bridge is not None:
            self.bridge.stop()
        if self.on_exit_callback is not None:
            self.on_exit_callback()

    # ---------------------------------------------------------------- loading

    def request_reload(self, paths: frozenset[str] | None = None, *, now: bool = False) -> None:
        """Re-read the store soon; bursts of requests collapse into one read in flight, and the
        paths they bring add up. paths: what the watcher saw change (the loader re-reads only
        those phases); None or a rescan's empty set reads everything. The read starts at once
        while the CPU budget has credit (tui/pacing.py), else when it has again; now: at once
        regardless (the user's own action, start-up)."""
        pending = self._pending if self._dirty else frozenset()
        self._pending = None if not paths or pending is None else pending | paths
        self._dirty = True
        self._urgent = self._urgent or now
        if not now:
            self._changed_at = time.monotonic()
        if self._loading or (self._paced is not None and not now):
            return  # the read in flight, or the one already scheduled, takes these too
        delay = 0.0 if now else self.budget.wait()
        if delay > 0:
            self._paced = self.set_timer(delay, self._paced_reload, name="paced reload")
            if self._quiet is None:
                self._quiet = self.set_timer(QUIET_S, self._quiet_check, name="quiet check")
            return
        if self._paced is not None:
            self._paced.stop()
            self._paced = None
        self._loading = True
        self._dirty = self._urgent = False
        self._load(self._pending)

    def _paced_reload(self) -> None:
        self._paced = None
        if self._dirty and not self._loading:
            self.request_reload(self._pending, now=True)

    def _quiet_check(self) -> None:
        """A reload waits for credit: once no change has come for QUIET_S, the stream that
        used the credit up has stopped, and what it left is shown now, not when credit is back
        (a burst's last state is never held back by the budget)."""
        self._quiet = None
        if self._paced is None or self._loading or not self._dirty:
            return
        left = QUIET_S - (time.monotonic() - self._changed_at)
        if left > 0:  # changes still coming: look again when it may have gone quiet
            self._quiet = self.set_timer(left, self._quiet_check, name="quiet check")
            return
        self._paced.stop()
        self._paced = None
        self.request_reload(self._pending, now=True)

    @work(thread=True, exit_on_error=False, group="load")
    def _load(self, paths: frozenset[str] | None) -> None:
        """Read a snapshot off the UI thread; it arrives as a Loaded message."""
        started = time.thread_time()
        try:
            snap = self.loader.load(paths)
        except Exception as exc:  # a reader bug must not kill the app: say it on screen
            snap = Snapshot(view=None, error=f"cannot read the store: {safe(exc, 300)}")
        self.post_message(Loaded(snap, time.thread_time() - started))

    def _first_shown(self) -> None:
        """A reading is on screen; after the first one, the collector is set for the long run:
        main() starts with it off, so what start-up left in cycles is collected now (a frozen
        object never is), the rest is frozen, and the collector is on again."""
        if not self._freeze_gc:
            return
        self._freeze_gc = False
        if not gc.isenabled():  # with it on all along, start-up's cycles were collected already
            gc.collect()
        gc.freeze()
        gc.enable()

    def on_loaded(self, message: Loaded) -> None:
        self._loading = False
        started = time.thread_time()
        self.apply(message.snapshot)

        def painted() -> None:  # the reading is on screen: charge what it cost, read the next
            # The loader's CPU for this reading, and all the UI thread spent since the last
            # charge: applying and painting it, and the screen updates, timers, keys and
            # messages around it (what repaints after this callback, the next charge counts).
            # Start-up is not charged: the first charge counts from its reading's arrival.
            ui = time.thread_time()
            since = started if self._ui_charged is None else self._ui_charged
            self.budget.charge(message.cpu_s + ui - since)
            self._ui_charged = ui
            self._first_shown()
            if self._dirty and not self._loading and (self._paced is None or self._urgent):
                self.request_reload(self._pending, now=self._urgent)

        self.call_after_refresh(painted)

    def on_acted(self, message: Acted) -> None:
        self.notify(
            safe(message.text, 400),  # plain text: markup=False, and safe() shows escapes
            severity="information" if message.ok else "error",
            timeout=6 if message.ok else 10,
            markup=False,
        )
        self.request_reload(now=True)  # the user's own action shows at once

    def on_store_changed(self, message: StoreChanged) -> None:
        self._say_fallback()
        if message.paths:
            self.request_reload(message.paths)
            return
        # the bridge's periodic rescan (no event for a while)
        if time.monotonic() - self.snapshot_at < self._idle_period():
            return  # and we read the store recently enough
        # the loader's sweep re-reads what is due of the phases it keeps (a safety net spread
        # over time); with nothing kept yet, everything
        self.request_reload(frozenset({TICK}) if self.loader.sprint is not None else None)

    def connection_note(self) -> str:
        """The database connection's state for the header (nothing on a file store)."""
        state = getattr(self.bridge, "state", None)
        if not isinstance(state, str):
            return ""
        return "db ✓" if state == "connected" else f"db ✗ {state}"

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
        # only time passed: with the watcher reporting every change, judging the readings kept
        # again is enough (the loader still reads everything when its last full read is old)
        tick = frozenset({TICK}) if self.bridge is not None else None
        if snap.next_expiry_in is not None and elapsed >= snap.next_expiry_in:
            self.request_reload(tick)
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
                self.request_reload(tick)
                return
        # ages on screen drift: refresh them now and then, less often for big sprints; with
        # nothing on screen that time alone changes (no lock anywhere), nothing to refresh
        if snap.timed and elapsed >= self._idle_period():
            self.request_reload(tick)

    def apply(self, snap: Snapshot) -> None:
        """Make a new snapshot the current one: the screens watching it update themselves."""
        if not self.is_running or not self.screen_stack:
            return  # a reading that arrives while the app shuts down
        started = time.perf_counter()
        self.snapshot_at = time.monotonic()
        self.reloads += 1
        if self.bridge is not None and self.loader.sprint is not None:
            self.bridge.watch_sprint(self.loader.sprint.path)
        self.snapshot = snap
        self._alert(snap)
        if isinstance(self.screen, DetailsScreen):
            self.screen.reload()
        if self.keep_applied:
            self.applied.append((time.monotonic(), snap))
        self.reload_cost = snap.load_s + (time.perf_counter() - started)

    def _alert(self, snap: Snapshot) -> None:
        """A toast for each new alarm (a lock turned stale or suspect, a double grant, a fenced
        completion) and one bell for them all. What the first reading already shows is on the
        attention list and rings nothing: only what happens while the app watches does."""
        if snap.view is None:
            return
        now = alerts(snap)
        before, self._alerted = self._alerted, frozenset(now)
        if before is None:
            return
        new = [item for key, item in now.items() if key not in before]
        for item in new:
            self.notify(
                f"{item.phase}: {safe(item.text, 300)}",
                title=ALERT_TITLE[item.kind],
                severity="error" if item.kind in ("stale", "contested") else "warning",
                timeout=12,
                markup=False,
            )
        if new and self.ring:
            self.rings += 1
            self.bell()

    # ---------------------------------------------------------------- actions

    def action_help(self) -> None:
        """Show every key, generated from the bindings."""
        groups = [
            ("Overview", [b for b in OverviewScreen.BINDINGS if isinstance(b, Binding)]),
            ("Everywhere", [b for b in self.BINDINGS if isinstance(b, Binding)]),
            ("Phase graph", [b for b in PhaseGraph.BINDINGS if isinstance(b, Binding)]),
            ("Locks table", [b for b in LocksTable.BINDINGS if isinstance(b, Binding)]),
        ]
        off = set(MUTATIONS) if self.read_only else set()
        self.push_screen(HelpScreen(groups, off))

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

    def _sprint(self) -> Sprint:
        sprint = self.loader.sprint
        if sprint is None:
            raise ConductorError("no sprint is open")
        return sprint

    @work(thread=True, exit_on_error=False, group="act")
    def act(self, kind: str, phase: str, *, force: bool = False) -> None:
        """Claim, abort or reclaim off the UI thread; the outcome arrives as an Acted message."""
        try:
            ok, text = True, self._act(kind, phase, force)
        except ConductorError as exc:
            ok, text = False, str(exc)
        except Exception as exc:  # never a crash: say it
            ok, text = False, f"unexpected error: {exc}"
        self.post_message(Acted(ok, text))

    def _act(self, kind: str, phase: str, force: bool) -> str:
        sprint = self._sprint()
        if kind == "claim":
            pid, start = holder_process()
            owner = sprint.claim(phase, agent=self.agent, holder_pid=pid, holder_start=start)
            return f"OK: claimed {phase!r} as {self.agent} (token {owner.token})"
        if kind == "abort":
            holder = sprint.abort(phase, agent=self.agent, force=force)
            return f"OK: {phase!r} released (was held by {holder!r})"
        lock = sprint.reclaim(phase, agent=self.agent, force=force)
        if not lock.agent and lock.evidence:
            return f"OK: {phase!r}: {lock.evidence[0]}"
        return f"OK: reclaimed {phase!r} from {lock.agent!r}"


ALERT_TITLE = {
    "stale": "stale lock",
    "suspect": "lease ran out",
    "contested": "double grant",
    "fenced": "fenced completion",
}


def alerts(snap: Snapshot) -> dict[tuple[str, ...], Attention]:
    """The alarms in a reading, each keyed by what makes it the same alarm at the next reading:
    a lock's holder and epoch (its evidence text changes as time passes), a fenced event's text
    (which names its instant)."""
    out: dict[tuple[str, ...], Attention] = {}
    for item in snap.attention:
        if item.kind not in ALERT_TITLE:
            continue
        pv = snap.phase(item.phase)
        lock = pv.lock if pv is not None else None
        key: tuple[str, ...]
        if item.kind == "fenced" or lock is None:
            key = (item.kind, item.phase, item.text)
        else:
            key = (item.kind, item.phase, lock.agent, str(lock.epoch))
        out.setdefault(key, item)
    return out


def default_agent(account: str | None = None) -> str:
    """The TUI's own identity: human-<account>, with the system's name for the account (what
    `whoami` prints), never $USER, which containers and tmux often leave unset or stale."""
    name = account_name() if account is None else account
    return f"human-{clean_name(name, 'user')[:32]}"
