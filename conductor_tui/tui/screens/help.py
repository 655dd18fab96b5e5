"""Help generated from the bindings, so it cannot drift from the keys."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def bindings_table(
    groups: list[tuple[str, list[Binding]]],
    off: set[str],
    display: Callable[[Binding], str] = lambda b: b.key,
) -> Table:
    """A table of key -> description for each group of bindings; actions in `off` say so."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for title, bindings in groups:
        table.add_row(Text(title, style="underline"), "")
        seen: set[str] = set()
        for b in bindings:
            if not b.description or b.description in seen:
                continue
            seen.add(b.description)
            keys = ", ".join(
                display(Binding(k.strip(), b.action, b.description)) for k in b.key.split(",")
            )
            note = Text(b.description)
            if b.action.split("(")[0] in off:
                note.append("  (off in this mode)", style="dim")
            table.add_row(Text(keys), note)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    """Every key of the app with what it does."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 72; max-width: 95%; height: auto; max-height: 90%; border: thick $accent;
        background: $surface; padding: 0 1;
    }
    """

    def __init__(self, groups: list[tuple[str, list[Binding]]], off: set[str]) -> None:
        super().__init__()
        self.groups = groups
        # Not `disabled`: that is Textual's own flag, and a non-empty set would disable the screen.
        self.off_actions = off

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("conductor-tui keys", style="bold"))
            yield Static(bindings_table(self.groups, self.off_actions, self.app.get_key_display))
            yield Static(
                Text(
                    "States: ✓ done  ● held  ◐ suspect  ✗ stale  ‼ contested  "
                    "? malformed  ○ ready  · blocked",
                    style="dim",
                )
            )

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)
