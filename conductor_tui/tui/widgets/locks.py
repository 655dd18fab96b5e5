"""The locks table: who holds what, since when, and the verdict with its evidence."""

from __future__ import annotations

from typing import Self

from rich.text import Text
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from ...text import GLYPH, age, safe
from ..model import Snapshot
from ..style import STATUS_STYLE

# the evidence right after who and how long: it is what explains a verdict
COLUMNS = ("Phase", "Verdict", "Agent", "Held", "Evidence", "Epoch", "Beat", "PID", "Alive")


class LocksTable(DataTable[Text]):
    """One row per locked phase, updated in place by row key (the cursor never jumps).

    A row added or removed changes the table's virtual size, which in Textual lays the whole
    screen out again and repaints every widget (30 ms at 120x40, at every claim of a busy team).
    The table's own size is set by the layout (1fr), so only its scrollbars depend on how many
    rows it has: they are updated here, and the screen is laid out again only when one of them
    comes or goes.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: dict[str, list[Text]] = {}  # each row's cells as last shown
        self._rows_only = False  # inside show(): DataTable's own layout requests repaint only

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        # add_row and remove_row ask for a layout; the table's size does not depend on its rows
        return super().refresh(
            *regions, repaint=repaint, layout=layout and not self._rows_only, recompose=recompose
        )

    def watch_virtual_size(self, _old: Size, new: Size) -> None:
        bars = (self.show_vertical_scrollbar, self.show_horizontal_scrollbar)
        self._scroll_update(new)
        if bars != (self.show_vertical_scrollbar, self.show_horizontal_scrollbar):
            self.refresh(layout=True)  # a scrollbar came or went: the content area changed

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for col in COLUMNS:
            self.add_column(col, key=col)

    def show(self, snap: Snapshot, filter_text: str = "") -> None:
        """Apply a snapshot: add, update and remove rows by key."""
        rows: dict[str, list[Text]] = {}
        view = snap.view
        for pv in view.phases if view else []:
            lock = pv.lock
            if lock is None or pv.status == "done":
                continue
            hay = f"{pv.name} {pv.status} {lock.agent}".lower()
            if filter_text and filter_text.lower() not in hay:
                continue
            style = STATUS_STYLE.get(pv.status, "")
            beat = ""
            if lock.heartbeat_at and view is not None and lock.lease_expires_in is not None:
                beat = lock.heartbeat_at[11:19]
            alive = {True: "yes", False: "no", None: "?"}[lock.holder_alive]
            rows[pv.name] = [
                Text(pv.name, style="bold"),
                Text(f"{GLYPH.get(pv.status, '?')} {pv.status}", style=style),
                Text(safe(lock.agent, 40)),
                Text(age(lock.age_s)),
                Text(safe("; ".join(lock.evidence), 200), style="dim"),
                Text(str(lock.epoch) if lock.epoch is not None else "—"),
                Text(beat),
                Text(str(lock.holder_pid) if lock.holder_pid else "—"),
                Text(alive, style="red" if lock.holder_alive is False else ""),
            ]
        self._rows_only = True
        try:
            self._apply(rows)
        finally:
            self._rows_only = False

    def _apply(self, rows: dict[str, list[Text]]) -> None:
        with self.app.batch_update():
            existing = {str(k.value) for k in self.rows}
            for key in existing - rows.keys():
                self.remove_row(key)
                self._shown.pop(key, None)
            for key, cells in rows.items():
                if key not in existing:
                    self.add_row(*cells, key=key)
                    self._shown[key] = cells
                    continue
                before = self._shown.get(key, [])
                for i, (col, cell) in enumerate(zip(COLUMNS, cells, strict=True)):
                    if i < len(before) and before[i] == cell:
                        continue  # unchanged: no update, no re-measure of the column
                    # a column is re-measured (every row of it) only when a cell outgrows it
                    wider = cell.cell_len > self.columns[ColumnKey(col)].content_width
                    self.update_cell(key, col, cell, update_width=wider)
                self._shown[key] = cells
