"""The one-line header: mode, progress, lock counts, the critical path and its ETA, the sprint."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.text import Text

from ...core.estimate import Estimate, Timing
from ...text import age, safe
from ..model import Snapshot
from .quiet import QuietStatic

GAP = "  "


class SprintHeader(QuietStatic):
    """Mode, done/total and lock counts, critical path and ETA, then sprint id and project.

    One line at every width. What gives way when it is narrow, first to last: the project, the
    long wording of the estimate, the sprint id, the middle names of the critical path, the
    estimate's count of past phases; the mode and the counts always stay.
    """

    FIXED_HEIGHT = True  # one line: a change repaints it alone

    DEFAULT_CSS = """
    SprintHeader { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, read_only: bool, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.read_only = read_only
        self._made: tuple[tuple[object, ...], list[Text]] | None = None  # the last forms

    _last: tuple[Snapshot, str, Timing | None] | None = None

    def _forms(self, timing: Timing) -> list[Text]:
        """timing_forms(), made again only when the path or the estimate changed."""
        key = _forms_key(timing)
        if self._made is None or self._made[0] != key:
            self._made = (key, timing_forms(timing))
        return self._made[1]

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)

    def show(self, snap: Snapshot, note: str = "", timing: Timing | None = None) -> None:
        """Render the header for a snapshot (and its timing, when the loader computed one)."""
        self._last = (snap, note, timing)
        mode = Text(" READ-ONLY " if self.read_only else " ACT ", style="reverse bold")
        if snap.view is None:
            line = Text("conductor · ", style="bold")
            line.append(safe(snap.error or "no sprint", 300))
            self.show_text(Text.assemble(mode, " ", line))
            return
        v = snap.view
        counts = Text()
        counts.append(f"{v.count('done')}/{len(v.phases)} done", style="bold")
        shown = 0
        for status, style in (
            ("stale", "bold red"),
            ("contested", "bold magenta"),
            ("malformed", "magenta"),
            ("suspect", "yellow"),
            ("held", "cyan"),
        ):
            n = v.count(status)
            if n:
                counts.append(" · ")
                counts.append(f"{n} {status}", style=style)
                shown += 1
        if not shown:
            counts.append(" · nobody holding", style="dim")
        width = max(20, (self.size.width or 120) - 2)
        ident = safe(v.sprint_id, 80) + ("" if v.status == "active" else f" ({safe(v.status, 20)})")
        # what matters most comes first; the id and then the project give way when narrow
        line = Text.assemble(mode, " ", counts)
        if timing is not None:
            room = width - line.cell_len - (len(GAP + note) if note else 0)
            forms = self._forms(timing)
            # the whole sprint id stays when the whole path and a labelled estimate leave room
            whole = forms[:2] if timing.estimate else forms[:1]
            with_id = [f for f in whole if f.cell_len + len(GAP + ident) <= room]
            fitting = with_id or [f for f in forms if f.cell_len <= room]
            if fitting:
                line.append_text(fitting[0])
        room = width - line.cell_len - 2 - (len(GAP + note) if note else 0)  # the note stays
        if room >= len(ident):
            line.append(GAP + ident, style="bold")
            room -= len(ident) + 2
            if room > 8:
                project = safe(v.project, 300)
                if len(project) > room - 1:
                    project = "…" + project[-(room - 2) :]
                line.append(" " + project, style="dim")
        elif room > 8:
            line.append(GAP + ident[: room - 1] + "…", style="bold")
        if note:
            line.append(GAP + note, style="italic")
        line.truncate(width, overflow="ellipsis")
        self.show_text(line)


def _forms_key(timing: Timing) -> tuple[object, ...]:
    """What timing_forms() reads of a timing."""
    return (tuple(timing.critical), repr(timing.estimate))


def timing_forms(timing: Timing) -> list[Text]:
    """The critical path and the estimate (each after a gap), from the fullest form to the
    leanest: the estimate's label shortens first, then the path loses its middle names, then
    the estimate its count of past phases."""
    paths: list[Text | None] = [*critical_forms(timing.critical)] or [None]
    est = timing.estimate
    labelled: list[Text | None] = (
        [estimate_text(est, "long"), estimate_text(est, "short")] if est else [None]
    )
    bare = estimate_text(est, "bare") if est else None
    combos = [(p, e) for p in paths for e in labelled]
    if bare is not None:
        combos += [(p, bare) for p in paths] + [(None, bare)]
    forms: list[Text] = []
    for path, eta in combos:
        out = Text()
        for part in (path, eta):
            if part is not None:
                out.append(GAP)
                out.append_text(part)
        forms.append(out)
    return forms


MOST_NAMES = 16  # the most names of the critical path a header line can show


def critical_forms(names: Sequence[str]) -> Iterator[Text]:
    """`critical: a → b → c`, then shorter forms: middle names elided, then the first alone."""
    shown = [safe(name, 64) for name in names]
    if not shown:
        return
    if len(shown) <= MOST_NAMES:
        yield _critical(shown)
    # keep the first `head` names and the last; a one-line header never holds more than a few
    # dozen names, so a path of a thousand phases is not turned into a thousand forms
    for head in range(min(len(shown) - 2, MOST_NAMES), 0, -1):
        yield _critical([*shown[:head], "…", shown[-1]])
    if len(shown) > 1:
        yield _critical([shown[0], "…"])


def _critical(names: Sequence[str]) -> Text:
    out = Text("critical: ", style="dim")
    for i, name in enumerate(names):
        if i:
            out.append(" → ", style="dim")
        out.append(name, style="dim" if name == "…" else "bold")
    return out


def estimate_text(est: Estimate, form: str) -> Text:
    """`≈ 1.1h left (estimate from 6 past phases)`; short: `(est. from 6)`; bare: no label.

    A `+` after the figure says that some phases of the path have no history and are not in it.
    """
    more = "+" if est.partial else ""
    out = Text(f"≈ {age(est.seconds)}{more} left", style="bold")
    n, unknown = est.samples, len(est.unknown)
    if form == "long":
        label = f" (estimate from {n} past phase{'s' if n != 1 else ''}"
        if unknown:
            label += f"; {unknown} phase{'s' if unknown != 1 else ''} without history"
        out.append(label + ")", style="dim")
    elif form == "short":
        out.append(f" (est. from {n}" + (f"; {unknown} unknown)" if unknown else ")"), style="dim")
    return out
