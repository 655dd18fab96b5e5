"""A phase's details: its neighbours, why it cannot be claimed, its lock, its done record and the
artifact's checkpoint (checked against the recorded SHA-256)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from ...core.artifacts import ArtifactCheck
from ...core.models import PhaseView, SprintView
from ...text import GLYPH, age, safe
from ..style import STATUS_STYLE
from ..widgets.keys import KeyHints


@dataclass
class PhaseDetails:
    """Everything the details screen shows, read off the UI thread."""

    phase: PhaseView
    why_status: str
    reasons: list[str]
    artifact: ArtifactCheck | None
    sprint: SprintView | None = None


def _kv(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, value in rows:
        table.add_row(key, Text(safe(value, 400)))
    return table


def _holder(pid: int | None, alive: bool | None) -> str:
    if not pid:
        return "—"
    word = {True: "alive here", False: "not alive", None: "cannot be checked here"}[alive]
    return f"{pid} ({word})"


def _section(title: str) -> Text:
    return Text(f"\n{title}", style="bold underline")


def render_details(d: PhaseDetails) -> Group:
    """The details as Rich renderables (all untrusted text as plain Text)."""
    pv = d.phase
    parts: list[object] = []
    head = Text(
        f"{GLYPH.get(pv.status, '?')} {pv.name}", style=f"bold {STATUS_STYLE.get(pv.status, '')}"
    )
    head.append(f"  {pv.status}  ({pv.concurrency})", style="")
    parts.append(head)
    if d.sprint is not None:
        where = Text(f"sprint {safe(d.sprint.sprint_id, 80)}", style="dim")
        where.append(f"  {safe(d.sprint.project, 200)}", style="dim")
        parts.append(where)
    parts.append(
        _kv(
            [
                ("depends on", ", ".join(pv.depends_on) or "nothing"),
                ("needed by", ", ".join(pv.dependents) or "nothing"),
            ]
        )
    )
    parts.append(_section(f"Why: {d.why_status}"))
    for reason in d.reasons:
        parts.append(Text("  • " + safe(reason, 400)))
    if pv.lock is not None and pv.status != "done":
        lock = pv.lock
        parts.append(_section("Lock"))
        parts.append(
            _kv(
                [
                    ("agent", lock.agent or "?"),
                    ("verdict", lock.verdict),
                    ("form", lock.form),
                    ("token", lock.token or "—"),
                    ("epoch", str(lock.epoch) if lock.epoch is not None else "—"),
                    (
                        "claimed",
                        f"{lock.claimed_at} ({age(lock.age_s)} ago)" if lock.claimed_at else "?",
                    ),
                    ("heartbeat", lock.heartbeat_at or "—"),
                    ("lease", f"{lock.ttl_s:g} s" if lock.ttl_s else "—"),
                    ("host", lock.host or "—"),
                    ("holder pid", _holder(lock.holder_pid, lock.holder_alive)),
                ]
            )
        )
        for ev in lock.evidence:
            parts.append(Text("  • " + safe(ev, 400), style="dim"))
    if pv.done is not None:
        done = pv.done
        parts.append(_section("Done"))
        parts.append(
            _kv(
                [
                    ("by", done.agent),
                    ("at", done.completed_at),
                    ("epoch", str(done.epoch) if done.epoch is not None else "—"),
                    ("artifact", done.artifact or "none"),
                    ("sha256", done.sha256 or "—"),
                ]
            )
        )
    art = d.artifact
    if art is not None:
        if art.problem:
            parts.append(Text("  ⚠ " + safe(art.problem, 300), style="bold red"))
        elif art.recorded_sha256:
            parts.append(Text("  ✓ the artifact matches its recorded SHA-256", style="green"))
        cp = art.checkpoint
        parts.append(_section("Context checkpoint"))
        if cp is None:
            parts.append(Text("  " + safe(art.checkpoint_problem or "none", 300), style="yellow"))
        else:
            parts.append(Text(safe(cp.summary, 2000)))
            for title, items in (
                ("Key files", cp.key_files),
                ("Decisions made", cp.decisions_made),
                ("Open questions", cp.open_questions),
            ):
                parts.append(Text(f"{title}:", style="bold"))
                if not items:
                    parts.append(Text("  none", style="dim"))
                for item in items:
                    parts.append(Text("  • " + safe(item, 400)))
    if pv.problems:
        parts.append(_section("Problems"))
        for problem in pv.problems:
            parts.append(Text("  ? " + safe(problem, 400), style="magenta"))
    return Group(*parts)  # type: ignore[arg-type]


class DetailsScreen(Screen[None]):
    """Details of one phase; refreshed when the store changes."""

    BINDINGS = [Binding("escape,q", "back", "Back")]
    DEFAULT_CSS = """
    DetailsScreen VerticalScroll { padding: 0 1; }
    """

    def __init__(self, phase: str) -> None:
        super().__init__()
        self.phase = phase

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(f"reading {self.phase}…", style="dim"), id="details")
        yield KeyHints()

    def on_mount(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="details")
    def reload(self) -> PhaseDetails | str:
        """Read the phase's details off the UI thread (the result comes back as a state change)."""
        return self.app.read_details(self.phase)  # type: ignore[attr-defined,no-any-return]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "details":
            return
        if event.state == WorkerState.SUCCESS:
            self._show(event.worker.result)  # type: ignore[arg-type]
        elif event.state == WorkerState.ERROR:
            self._show(f"cannot read {self.phase}: {event.worker.error}")

    def _show(self, details: PhaseDetails | str) -> None:
        target = self.query_one("#details", Static)
        if isinstance(details, str):
            target.update(Text(safe(details, 500), style="bold red"))
        else:
            target.update(render_details(details))

    def action_back(self) -> None:
        """Back to the overview."""
        self.dismiss(None)
