"""The overview: the graph, who holds what, what needs a person, the lanes and the log.

This screen owns the overview's keys (claim, abort, reclaim, details, filter, tabs), decides
what they may do (`check_action`), and shows the app's snapshot, which it watches. At 120x36 and
larger every pane is on screen at once; smaller, the panes are tabs (1-4). A pane that is not
shown is brought up to date when it is shown, not on every reload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, Static, Tab, Tabs

from ...core.errors import ConductorError
from ...core.models import PhaseView
from ...text import safe
from ..model import Snapshot
from ..widgets.attention import AttentionList
from ..widgets.events import EventLog
from ..widgets.graph import PhaseGraph
from ..widgets.header import SprintHeader
from ..widgets.keys import KeyHints
from ..widgets.lanes import BatchLanes
from ..widgets.locks import LocksTable
from .confirm import ConfirmScreen
from .details import DetailsScreen

if TYPE_CHECKING:
    from ..app import ConductorApp

MIN_WIDTH, MIN_HEIGHT = 40, 12
WIDE_WIDTH, WIDE_HEIGHT = 120, 36  # every pane at once from here on
MUTATIONS = ("claim", "abort", "reclaim")
LANES_SHOWN = 60  # the Lanes pane: the next 60 batches and how many more (a table of a thousand
# batches costs the event loop a second at each layout)
TABS = ("overview", "locks", "lanes", "log")
# the panes each tab shows (by id); when wide, all of WIDE_PANES
TAB_PANES = {
    "overview": ("graph", "overview-lanes", "attention"),
    "locks": ("locks-table",),
    "lanes": ("lanes-pane",),
    "log": ("log-pane",),
}
WIDE_PANES = ("graph", "attention", "locks-table", "lanes-pane", "log-pane")
ALL_PANES = ("graph", "overview-lanes", "attention", "locks-table", "lanes-pane", "log-pane")


def reclaimable(pv: PhaseView) -> bool:
    """A phase `r` acts on: locked and not done, or with an orphan lock.d to clear."""
    return (pv.lock is not None and pv.status != "done") or pv.orphan_sentinel


class OverviewScreen(Screen[None]):
    """The sprint at a glance, and the keys that act on it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "claim", "Claim"),
        Binding("a", "abort", "Abort"),
        Binding("r", "reclaim", "Reclaim"),
        Binding("enter", "details", "Details"),
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("1", "tab('overview')", "Overview tab", show=False),
        Binding("2", "tab('locks')", "Locks tab", show=False),
        Binding("3", "tab('lanes')", "Lanes tab", show=False),
        Binding("4", "tab('log')", "Log tab", show=False),
    ]

    # repaint=False: the widgets that show these repaint themselves (a screen reactive would
    # repaint the whole screen at every cursor move)
    selected: reactive[str | None] = reactive(None, repaint=False)
    filter_text: reactive[str] = reactive("", repaint=False)
    active_tab: reactive[str] = reactive("overview", repaint=False)
    wide: reactive[bool] = reactive(False, repaint=False)

    def __init__(self) -> None:
        super().__init__(id="overview-screen")
        self._bindings_key: tuple[object, ...] | None = None
        self._stale_panes: set[str] = set()  # hidden panes behind the last snapshot

    @property
    def conductor(self) -> ConductorApp:
        """The app, typed."""
        from ..app import ConductorApp

        app = self.app
        assert isinstance(app, ConductorApp)
        return app

    @property
    def snapshot(self) -> Snapshot:
        """The app's current reading."""
        return self.conductor.snapshot

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield SprintHeader(self.conductor.read_only, id="header")
        yield Tabs(*(Tab(t.capitalize(), id=t) for t in TABS), id="tabs")
        with Container(id="body"):
            yield PhaseGraph(id="graph")
            with Container(id="lower"):
                with Vertical(id="side-col"):
                    yield AttentionList(id="attention")
                    yield LocksTable(id="locks-table")
                with Vertical(id="extra-col"):
                    yield BatchLanes(id="overview-lanes", limit=4, brief=True)
                    with VerticalScroll(id="lanes-pane"):
                        yield BatchLanes(id="lanes-view", limit=LANES_SHOWN)
                    with Vertical(id="log-pane"):
                        yield EventLog(id="events")
        yield Input(
            placeholder="filter phases, agents, states… (Enter keeps, Esc clears)", id="filter"
        )
        yield Static(id="too-small")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one("#filter").display = False
        self.query_one(PhaseGraph).focus()
        self._fit(self.app.size.width, self.app.size.height)
        self.watch(self.conductor, "snapshot", self._show, init=False)
        self._show(self.snapshot)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(small, "too-small")
        if small:
            self.query_one("#too-small", Static).update(
                Text(
                    f"Terminal too small: {width}x{height}.\n"
                    f"conductor-tui needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
                    "Enlarge the pane, or use `conductor status`.",
                    style="bold",
                )
            )
        self.wide = width >= WIDE_WIDTH and height >= WIDE_HEIGHT

    def watch_wide(self, _wide: bool) -> None:
        self._arrange()

    def watch_active_tab(self, tab: str) -> None:
        tabs = self.query_one(Tabs)
        if tabs.active != tab:
            tabs.active = tab
        self._arrange()

    @on(Tabs.TabActivated, "#tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab.id and event.tab.id != self.active_tab:
            self.active_tab = event.tab.id

    def _shown_panes(self) -> tuple[str, ...]:
        return WIDE_PANES if self.wide else TAB_PANES[self.active_tab]

    def _arrange(self) -> None:
        """Show the panes of the layout (wide) or of the tab (narrow)."""
        self.set_class(self.wide, "wide")
        for tab in TABS:
            self.set_class(not self.wide and tab == self.active_tab, f"tab-{tab}")
        shown = self._shown_panes()
        for pane in ALL_PANES:
            self.query_one(f"#{pane}").display = pane in shown
        side = any(p in shown for p in ("attention", "locks-table"))
        extra = any(p in shown for p in ("overview-lanes", "lanes-pane", "log-pane"))
        self.query_one("#side-col").display = side
        self.query_one("#extra-col").display = extra
        self.query_one("#lower").display = side or extra
        if self._stale_panes & set(shown):
            self._update_panes(self.snapshot, set(shown))
        if "locks-table" in shown and not self.wide:
            self.query_one(LocksTable).focus()
        elif "graph" in shown:
            self.query_one(PhaseGraph).focus()

    # ---------------------------------------------------------------- showing

    def _show(self, snap: Snapshot) -> None:
        """A new reading: the header and the panes on screen now; the others when shown."""
        self.query_one(SprintHeader).show(
            snap, self.conductor.connection_note(), timing=snap.timing
        )
        shown = set(self._shown_panes())
        self._stale_panes = set(ALL_PANES) - shown
        self._update_panes(snap, shown)
        self._refresh_bindings_if_changed()

    def _update_panes(self, snap: Snapshot, panes: set[str]) -> None:
        text = self.filter_text
        all_done = snap.view is not None and snap.view.count("done") == len(snap.view.phases)
        if "graph" in panes:
            self.query_one(PhaseGraph).update_snapshot(snap)
        if "attention" in panes:
            self.query_one(AttentionList).show(snap.attention, text)
        if "locks-table" in panes:
            self.query_one(LocksTable).show(snap, text)
        if "overview-lanes" in panes:
            self.query_one("#overview-lanes", BatchLanes).show(
                snap.lanes, all_done, snap.done_lanes, snap.timing
            )
        if "lanes-pane" in panes:
            self.query_one("#lanes-view", BatchLanes).show(
                snap.lanes, all_done, snap.done_lanes, snap.timing
            )
        if "log-pane" in panes:
            self.query_one(EventLog).show(snap.events, text)
        self._stale_panes -= panes

    # ---------------------------------------------------------------- selection

    @on(PhaseGraph.Selected)
    def _graph_selected(self, event: PhaseGraph.Selected) -> None:
        self.selected = event.phase
        self._refresh_bindings_if_changed()

    def _refresh_bindings_if_changed(self) -> None:
        """Refresh the key hints only when what check_action looks at has changed."""
        pv = self.selected_view()
        target = self._reclaim_target()
        key = (
            self.selected,
            pv.status if pv else None,
            pv.lock is not None if pv else None,
            target.name if target else None,
        )
        if key != self._bindings_key:
            self._bindings_key = key
            self.refresh_bindings()

    @on(LocksTable.Highlighted)
    def _row_highlighted(self, event: LocksTable.Highlighted) -> None:
        # only a user moving through the table posts this: rows a live update adds or removes
        # never move the selection
        self.query_one(PhaseGraph).selected = event.phase

    @on(LocksTable.Selected)
    def _row_selected(self, event: LocksTable.Selected) -> None:
        self.selected = event.phase
        self.action_details()

    def selected_view(self) -> PhaseView | None:
        """The view of the phase under the cursor."""
        return self.snapshot.phase(self.selected)

    def _reclaim_target(self) -> PhaseView | None:
        """The cursor's phase if it is locked, else the most urgent lock in the attention list."""
        pv = self.selected_view()
        if pv is not None and reclaimable(pv):
            return pv
        for item in self.snapshot.attention:
            if item.key == "r":
                target = self.snapshot.phase(item.phase)
                if target is not None and reclaimable(target):
                    return target
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide mutations in read-only mode; dim what cannot apply to the selected phase."""
        if action in MUTATIONS:
            if self.conductor.read_only:
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
        """Switch to a tab; from 120x36 on, where every pane is on screen, focus its pane."""
        if tab not in TABS:
            return
        self.active_tab = tab
        if self.wide:
            target = {"overview": "#graph", "locks": "#locks-table"}.get(tab)
            if target:
                self.query_one(target).focus()

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
        self.filter_text = ""
        self.query_one(PhaseGraph).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#filter", Input).display = bool(event.value)
        self.query_one(PhaseGraph).focus()

    def watch_filter_text(self, value: str) -> None:
        self.query_one(PhaseGraph).filter = value
        shown = set(self._shown_panes()) - {"graph", "overview-lanes", "lanes-pane"}
        self._stale_panes |= {"attention", "locks-table", "log-pane"} - shown
        self._update_panes(self.snapshot, shown)

    def action_details(self) -> None:
        """Open the selected phase's details."""
        if self.selected_view() is not None and self.selected:
            self.app.push_screen(DetailsScreen(self.selected))

    def _refuse_read_only(self) -> bool:
        if self.conductor.read_only:
            self.notify("read-only mode: no key changes the store", severity="warning")
            return True
        return False

    def action_claim(self) -> None:
        """Claim the selected phase as --agent, after confirmation."""
        pv = self.selected_view()
        if self._refuse_read_only() or pv is None:
            return
        agent = self.conductor.agent
        body = Text()
        body.append(f"Claim {pv.name!r} as {agent}.\n\n")
        body.append(
            "You will hold it under a 1 h lease; every other agent is refused until you "
            "complete or abort it (conductor complete / abort)."
        )
        name = pv.name
        self._confirm(
            f"Claim {name}?", body, "Claim", None, lambda: self.conductor.act("claim", name)
        )

    def action_abort(self) -> None:
        """Abort the claim on the selected phase, after confirmation."""
        pv = self.selected_view()
        if self._refuse_read_only() or pv is None or pv.lock is None:
            return
        lock = pv.lock
        mine = lock.agent == self.conductor.agent
        body = Text()
        typed: str | None
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
        name = pv.name
        self._confirm(
            f"Abort {name}?",
            body,
            "Abort claim",
            typed,
            lambda: self.conductor.act("abort", name, force=not mine),
        )

    def action_reclaim(self) -> None:
        """Reclaim the selected phase's lock: stale at once, healthy only by typing its name."""
        pv = self._reclaim_target()
        if self._refuse_read_only() or pv is None:
            return
        self.query_one(PhaseGraph).selected = pv.name
        name = pv.name
        lock = pv.lock
        if lock is None:  # nobody holds it: an orphan lock.d keeps upstream agents out
            body = Text(f"Clear the orphan lock.d of {name!r}.\n")
            body.append(
                "Nobody holds the phase; upstream sprint.sh agents are refused it until the "
                "lock.d is gone.",
                style="dim",
            )
            self._confirm(
                f"Clear {name}?", body, "Clear", None, lambda: self.conductor.act("reclaim", name)
            )
            return
        body = Text()
        holder = safe(lock.agent) or "an unknown holder"
        body.append(f"Reclaim {name!r} from {holder} ({lock.verdict}).\n")
        for ev in lock.evidence[:3]:
            body.append(f"• {safe(ev, 120)}\n", style="dim")
        body.append(
            "The lock is freed and the phase becomes claimable; a returning holder is fenced."
        )
        typed = None
        force = lock.verdict != "stale"
        if force:
            body.append(
                "\nThe holder may still be working: this is a forced reclaim.", style="bold red"
            )
            typed = name
        self._confirm(
            f"Reclaim {name}?",
            body,
            "Reclaim",
            typed,
            lambda: self.conductor.act("reclaim", name, force=force),
        )

    def _confirm(
        self, title: str, body: Text, label: str, typed: str | None, then: Callable[[], object]
    ) -> None:
        def done(ok: bool | None) -> None:
            if ok:
                then()

        self.app.push_screen(ConfirmScreen(title, body, label, typed), done)


__all__ = ["ConductorError", "OverviewScreen", "reclaimable"]
