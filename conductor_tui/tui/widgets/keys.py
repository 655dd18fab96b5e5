"""The key hints at the foot of a screen: one line of text, redrawn, never recomposed.

Textual's Footer rebuilds a widget per key whenever the screen's bindings are refreshed, which
the overview does whenever the selected phase changes state (20-30 ms each, and the old keys stay
referenced from their data_bind watchers: Textualize/textual#6666). This widget shows the same
hints as one `Text` and repaints only when they change. A click on a hint presses its key.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen

from .quiet import QuietStatic

GAP = "  "


class KeyHints(QuietStatic):
    """`c Claim  a Abort …` for the screen's shown bindings; the ones that cannot act now are
    left out (check_action False) or dimmed (None); the command palette's key on the right."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"keyhints--key"}
    DEFAULT_CSS = """
    KeyHints {
        dock: bottom; height: 1; padding: 0 1;
        background: $footer-background; color: $footer-description-foreground;
        text-wrap: nowrap; text-overflow: ellipsis;
        & > .keyhints--key { color: $footer-key-foreground; text-style: bold; }
    }
    """

    FIXED_HEIGHT = True  # one line: a change repaints it alone

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hits: list[tuple[int, int, str]] = []  # (first cell, after last, key) per hint
        self._described: list[str] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._changed)
        self._changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self) -> None:
        self._changed(self.screen)

    def _changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen or not self.is_attached:
            return
        key_style = self.get_component_rich_style("keyhints--key", partial=True)
        line = Text()
        hits: list[tuple[int, int, str]] = []
        described: list[str] = []
        actions: set[str] = set()
        palette: tuple[Binding, bool] | None = None
        for _node, binding, enabled, _tip in screen.active_bindings.values():
            if binding.key == self.app.COMMAND_PALETTE_BINDING:
                palette = (binding, enabled)
                continue
            if not binding.show or binding.action in actions:
                continue  # one hint per action, its first key (as Textual's Footer)
            actions.add(binding.action)
            start = line.cell_len + (len(GAP) if line else 0)
            if line:
                line.append(GAP)
            hint = Text.assemble((self.app.get_key_display(binding), key_style))
            hint.append(f" {binding.description}")
            if not enabled:
                hint.stylize("dim")
            line.append_text(hint)
            hits.append((start, line.cell_len, binding.key))
            described.append(binding.description)
        if palette is not None and self.app.ENABLE_COMMAND_PALETTE:
            binding, enabled = palette
            hint = Text.assemble((self.app.get_key_display(binding), key_style))
            hint.append(f" {binding.description}")
            room = (self.size.width or 80) - 2 - line.cell_len - hint.cell_len
            if room >= len(GAP):  # on the right, when it fits
                line.append(" " * room)
                start = line.cell_len
                line.append_text(hint)
                hits.append((start, line.cell_len, binding.key))
        self._hits, self._described = hits, described
        self.show_text(line)

    def descriptions(self) -> list[str]:
        """The descriptions of the hints shown, in order (the palette's aside)."""
        return list(self._described)

    def on_click(self, event: events.Click) -> None:
        x = event.x - 1  # the left padding
        for start, end, key in self._hits:
            if start <= x < end:
                event.stop()
                self.app.simulate_key(key)
                return
