"""The locks table: who holds what, since when, and the verdict with its evidence."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from ...text import GLYPH, age, safe
from ..model import Snapshot
from ..style import STATUS_STYLE

# the evidence right after who and how long: it is what explains a verdict
COLUMNS = ("Phase", "Verdict", "Agent", "Held", "Evidence", "Epoch", "Beat", "PID", "Alive")


class LocksTable(DataTable[Text]):
    """One row per locked phase, updated in place by row key (the cursor never jumps)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: dict[str, list[Text]] = {}  # each row's cells as last shown

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
