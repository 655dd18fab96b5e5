"""A confirmation that names the target and the consequence; Cancel is the default."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    """Ask before a mutation. With `type_to_confirm`, the user must type that word first."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 68; max-width: 96%; height: auto; max-height: 100%; border: thick $warning;
        background: $surface; padding: 0 1;
    }
    ConfirmScreen #title { text-style: bold; }
    ConfirmScreen #message { margin-bottom: 1; }
    ConfirmScreen #hint { color: $text-muted; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; }
    ConfirmScreen Button { margin-left: 2; }
    """

    def __init__(
        self, title: str, body: Text, action: str, type_to_confirm: str | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.action_label = action
        self.type_to_confirm = type_to_confirm

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text), id="title")
            yield Static(self.body, id="message")  # not "body": the overview's pane is
            if self.type_to_confirm:
                yield Label(Text(f"Type {self.type_to_confirm!r} to confirm:"), id="hint")
                yield Input(placeholder="the phase name", id="typed")
            with Horizontal():
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(
                    Text(self.action_label),
                    id="confirm",
                    variant="error",
                    disabled=bool(self.type_to_confirm),
                )

    def on_mount(self) -> None:
        target = "#typed" if self.type_to_confirm else "#cancel"
        self.query_one(target).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value != self.type_to_confirm

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value == self.type_to_confirm:
            self.dismiss(True)
        else:
            hint = Text(f"Type exactly {self.type_to_confirm!r} (or Esc to cancel):", style="bold")
            self.query_one("#hint", Label).update(hint)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        """Close without acting."""
        self.dismiss(False)
