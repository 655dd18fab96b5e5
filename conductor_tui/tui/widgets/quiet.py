"""Widgets that redraw only what changed.

Textual's `Static.update` repaints the widget and lays the screen out again (a layout pass
renders every auto-height widget to learn its height). Under a steady stream of store changes
most updates bring the same text: `QuietStatic` drops those. `QuietLines` goes further for long
lists: one line of text per row through the line API, so only the rows that changed are drawn
again, and only the rows in view are drawn at all. `QuietScroll` is QuietLines that scrolls
itself, for a list that keeps growing in a pane of fixed height (the log): a longer list does not
lay the screen out again (`set_scroll_size`, which the locks table uses too).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

# a line as drawn: the line, the width and the widget's style it was drawn for, and its strip
Drawn = tuple[Text, int, Style, Strip]


class QuietStatic(Static):
    """A Static fed whole `Text`s: a text equal to the one shown is dropped (no repaint, no
    layout); a different one is shown as Static shows it. A subclass whose height is fixed in
    its CSS to one line (a header, the key hints) sets FIXED_HEIGHT: a change repaints it alone,
    without laying the screen out again (which repaints every widget), and its line is drawn
    as QuietLines draws a line, not through Static's visual (measured at 120x40: 0.3 ms a
    change rather than 0.7, which a header redrawn at every reading pays each time)."""

    FIXED_HEIGHT = False

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text: Text | None = None
        self._strips: dict[int, Drawn] = {}  # the fixed line, as drawn (see _strip)
        self._style = Style()  # the widget's own style, as of the current drawing pass
        self.updates = 0  # texts that changed the widget (for tests and benchmarks)

    def show_text(self, text: Text) -> None:
        """Show text, if it differs from what is shown."""
        last = self._text
        if last is not None and last == text and last.style == text.style:
            return
        self._text = text
        self.updates += 1
        if self.FIXED_HEIGHT:
            self._strips = {}
            self.refresh()
        else:
            self.update(text)

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.FIXED_HEIGHT:
            self._style = self.rich_style  # once a pass: Textual walks the ancestors for it
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if not self.FIXED_HEIGHT:
            return super().render_line(y)
        lines = [] if self._text is None else [self._text]
        return _strip(self, self._style, lines, self._strips, y, self.content_size.width)


class _Lines(Widget):
    """What QuietLines and QuietScroll share: the lines shown, each one's strip kept with the
    line itself (by identity), and the widget's style worked out once a drawing pass."""

    # more changed rows than this repaint the widget as one region (one clip, not hundreds)
    MANY = 8

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[Text] = []
        self._strips: dict[int, Drawn] = {}  # id(line) -> how it was drawn
        self._style = Style()  # the widget's own style, as of the current drawing pass
        self.updates = 0  # line sets that changed the widget (for tests and benchmarks)

    @property
    def lines(self) -> list[Text]:
        """The lines shown."""
        return list(self._lines)

    def _adopt(self, lines: list[Text]) -> list[Text]:
        """lines, with every one equal to the line shown on its row replaced by that line (so
        that its strip is kept); the strips of lines no longer shown are let go."""
        old = self._lines
        lines = [a if y < len(old) and _same(a := old[y], b) else b for y, b in enumerate(lines)]
        kept = {id(line) for line in lines}
        self._strips = {k: v for k, v in self._strips.items() if k in kept}
        return lines

    def _repaint(self, rows: list[int], top: int = 0) -> None:
        """Repaint these rows (of the lines; top is the first one in view)."""
        if len(rows) > self.MANY:
            self.refresh()
            return
        width = self.size.width
        self.refresh(*(Region(0, y - top, width, 1) for y in rows))

    def render_lines(self, crop: Region) -> list[Strip]:
        self._style = self.rich_style  # once a pass: Textual walks the ancestors for it
        return super().render_lines(crop)


class QuietLines(_Lines):
    """Lines of text drawn through the line API: only the lines that changed are redrawn, and
    only the ones in view are drawn at all (inside a scrolling pane, the rest are never turned
    into strips). The height is the number of lines; lines never wrap (they are cut).

    A line's strip is kept with the line itself (by identity), not with its row: a list that
    grows at the top (the newest event first) moves every row down, and the lines it already
    drew are drawn again from their strips rather than rendered again."""

    DEFAULT_CSS = """
    QuietLines { height: auto; }
    """

    def show_text(self, text: Text) -> None:
        """Show text (its lines); repaint the lines that differ, lay out when the count does."""
        self.show_lines(list(text.split("\n", allow_blank=True)) if text.plain else [text])

    def show_lines(self, lines: list[Text]) -> None:
        """Show these lines (each one line of text)."""
        old, lines = self._lines, self._adopt(lines)
        if len(lines) != len(old):
            self._lines = lines
            self.updates += 1
            self.refresh(layout=True)
            return
        changed = [y for y, (a, b) in enumerate(zip(old, lines, strict=True)) if a is not b]
        if not changed:
            return
        self._lines = lines
        self.updates += 1
        self._repaint(changed)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self._lines))

    def render_line(self, y: int) -> Strip:
        return _strip(self, self._style, self._lines, self._strips, y, self.content_size.width)


class QuietScroll(_Lines, ScrollView):
    """QuietLines in a pane of its own height that scrolls itself. Its scrollable height is its
    number of lines (the pane's height while they fit), set through `set_scroll_size`: a list
    that grows by a line at a time past the pane's height lays nothing out again."""

    DEFAULT_CSS = """
    QuietScroll { height: 1fr; overflow-x: hidden; overflow-y: auto; }
    """

    def show_lines(self, lines: list[Text]) -> None:
        """Show these lines (each one line of text); repaint the rows in view that differ."""
        old, lines = self._lines, self._adopt(lines)
        if len(lines) == len(old) and all(a is b for a, b in zip(old, lines, strict=True)):
            return
        top = round(self.scroll_offset.y)
        changed = [
            y
            for y in range(top, top + self.size.height)
            if (y < len(old)) != (y < len(lines)) or (y < len(old) and old[y] is not lines[y])
        ]
        self._lines = lines
        self.updates += 1
        self._resize()
        self._repaint(changed, top)

    def _resize(self) -> None:
        set_scroll_size(self, Size(self.size.width, max(self.size.height, len(self._lines))))

    def on_resize(self) -> None:
        self._resize()

    def render_line(self, y: int) -> Strip:
        top = round(self.scroll_offset.y)
        return _strip(
            self, self._style, self._lines, self._strips, y + top, self.content_size.width
        )


def set_scroll_size(view: ScrollView, size: Size) -> None:
    """Set a scroll view's scrollable size. Setting it lays the whole screen out again, which
    repaints every scrolling pane's scrollbars (half the work of a frame); when only the height
    changes and it is past the pane's both before and after, the view keeps its place and its
    scrollbars, and only the vertical scrollbar is told the new length."""
    before = view.virtual_size
    if size == before:
        return
    if (
        size.width == before.width
        and view.show_vertical_scrollbar
        and min(size.height, before.height) > view.container_size.height
    ):
        view.set_reactive(Widget.virtual_size, size)
        view.vertical_scrollbar.window_virtual_size = size.height
        view.scroll_y = view.validate_scroll_y(view.scroll_y)
        return
    view.virtual_size = size


def _strip(
    widget: Widget,
    base: Style,
    lines: list[Text],
    strips: dict[int, Drawn],
    y: int,
    width: int,
) -> Strip:
    """Line y of lines as a strip `width` cells wide, cut with an ellipsis; kept in strips by the
    line's identity, so a line that moves to another row is not rendered again."""
    if y >= len(lines):
        return Strip.blank(width, base)
    line = lines[y]
    cached = strips.get(id(line))
    if cached is not None and cached[0] is line and cached[1] == width and cached[2] == base:
        return cached[3]
    shown = line.copy()
    shown.truncate(width, overflow="ellipsis")
    console = widget.app.console
    style = base
    if shown.style:  # Text.render leaves the base style out: under the spans, over ours
        style = base + console.get_style(shown.style)
    strip = Strip(list(shown.render(console))).apply_style(style)
    strip = strip.crop_extend(0, width, style)
    # kept under the widget's style it was drawn for (which the next pass compares), not the
    # line's own on top of it: a styled line kept under that would never be found again
    strips[id(line)] = (line, width, base, strip)
    return strip


def _same(a: Text, b: Text) -> bool:
    """Two lines that look the same (Text's == leaves out the base style)."""
    return a is b or (a == b and a.style == b.style)
