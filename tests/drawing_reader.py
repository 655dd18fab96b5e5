"""A reader of graph drawings that works from the text alone, as a person reads one.

It finds each phase's label by scanning the lines for the phase's name, then follows the lines
from just right of each label: along the arms of box characters, never leftward, straight on
through a crossing, until an arrowhead `▶` directly followed by a label reads an edge. It knows
nothing of how the drawing was made, so it can be pointed at any drawing, right or wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
ARMS = {
    "─": LEFT | RIGHT,
    "│": UP | DOWN,
    "┌": RIGHT | DOWN,
    "┐": LEFT | DOWN,
    "└": UP | RIGHT,
    "┘": UP | LEFT,
    "├": UP | DOWN | RIGHT,
    "┤": UP | DOWN | LEFT,
    "┬": LEFT | RIGHT | DOWN,
    "┴": LEFT | RIGHT | UP,
    "┼": UP | DOWN | LEFT | RIGHT,
}
ARROW = "▶"
LINE = set(ARMS) | {ARROW}
STEP = {UP: (-1, 0), DOWN: (1, 0), LEFT: (0, -1), RIGHT: (0, 1)}
OPPOSITE = {UP: DOWN, DOWN: UP, LEFT: RIGHT, RIGHT: LEFT}
# after the name, the rest of a label: words separated by single spaces, no line characters
_WORD = re.compile(r"(?<![a-z0-9-])[a-z][a-z0-9-]*(?![a-z0-9-])")
_REST = re.compile(r"(?: [^\s─│┌┐└┘├┤┬┴┼▶]+)*")


class Unreadable(AssertionError):
    """The text does not show each name once, as `<glyph> <name>` labels."""


def find_labels(lines: Sequence[str], names: Iterable[str]) -> dict[str, tuple[int, int, int]]:
    """Each name's label as (row, first column, column just past its end)."""
    wanted = set(names)
    hits: dict[str, list[tuple[int, int]]] = {name: [] for name in wanted}
    for r, line in enumerate(lines):
        for m in _WORD.finditer(line):
            if m.group() in wanted:
                hits[m.group()].append((r, m.start()))
    out: dict[str, tuple[int, int, int]] = {}
    for name, found in hits.items():
        if len(found) != 1:
            raise Unreadable(f"{name!r} appears {len(found)} times")
        row, col = found[0]
        line = lines[row]
        # the glyph and a space before the name
        if col < 2 or line[col - 1] != " " or line[col - 2] in LINE or line[col - 2] == " ":
            raise Unreadable(f"{name!r} at row {row} is not preceded by a glyph and a space")
        rest = _REST.match(line, col + len(name))
        assert rest is not None
        out[name] = (row, col - 2, rest.end())
    return out


def read_edges(lines: Sequence[str], names: Iterable[str]) -> set[tuple[str, str]]:
    """Every (source, target) pair a reader finds by following the lines."""
    labels = find_labels(lines, names)
    starts = {(row, start): name for name, (row, start, _) in labels.items()}

    # a border of spaces all round, so that every step lands on a cell
    width = max((len(line) for line in lines), default=0)
    grid = [" " * (width + 3)] + [f" {line:<{width}}  " for line in lines] + [" " * (width + 3)]
    found: set[tuple[str, str]] = set()
    for source, (row, _, end) in labels.items():
        todo = [(row + 1, end + 1, RIGHT)]  # the cell just right of the label, moving right
        seen: set[tuple[int, int, int]] = set()
        while todo:
            state = todo.pop()
            if state in seen:
                continue
            seen.add(state)
            r, c, moving = state
            ch = grid[r][c]
            if ch == ARROW:
                if moving == RIGHT and (r - 1, c) in starts:
                    found.add((source, starts[r - 1, c]))
                continue
            arms = ARMS.get(ch)
            if arms is None:
                continue  # a space or text: the line ends
            if (moving == RIGHT and ch == "│") or (moving != RIGHT and ch == "─"):
                dr, dc = STEP[moving]  # a crossing: straight on
                todo.append((r + dr, c + dc, moving))
                continue
            came = OPPOSITE[moving]
            if not arms & came:
                continue  # the line does not connect into this character
            for arm in (UP, DOWN, RIGHT):  # never left
                if arms & arm and arm != came:
                    dr, dc = STEP[arm]
                    todo.append((r + dr, c + dc, arm))
    return found


def arm_faults(lines: Sequence[str]) -> list[str]:
    """Places where lines do not meet as box characters promise, from the text alone.

    Every arm must meet the opposite arm of its neighbour, except: a horizontal arm may meet a
    crossing `│`, a right arm an arrowhead, a left arm the end of a label's text. A crossing `│`
    must have `─` on both sides; an arrowhead must be entered by a right arm.
    """
    faults: list[str] = []
    width = max((len(line) for line in lines), default=0)
    grid = [" " * (width + 2)] + [f" {line:<{width}} " for line in lines] + [" " * (width + 2)]
    for r in range(1, len(grid) - 1):
        line, above, below = grid[r], grid[r - 1], grid[r + 1]
        for c, ch in enumerate(line):
            if ch == " ":
                continue
            left, right = line[c - 1], line[c + 1]
            if ch == ARROW:
                if not ARMS.get(left, 0) & RIGHT:
                    faults.append(f"arrowhead at {r - 1},{c - 1} is not entered from the left")
                continue
            arms = ARMS.get(ch, 0)
            if not arms:
                continue
            if (
                ch == "│"
                and (ARMS.get(left, 0) & RIGHT or ARMS.get(right, 0) & LEFT)
                and not (left == "─" and right == "─")
            ):
                faults.append(f"crossing at {r - 1},{c - 1} without ─ on both sides")
            for arm, other in ((UP, above[c]), (DOWN, below[c]), (LEFT, left), (RIGHT, right)):
                if not arms & arm or ARMS.get(other, 0) & OPPOSITE[arm]:
                    continue
                if arm in (LEFT, RIGHT) and other == "│":
                    continue  # crossing: checked above
                if arm == RIGHT and other == ARROW:
                    continue
                if arm == LEFT and other not in LINE and other != " ":
                    continue  # leaves a label
                faults.append(f"{ch!r} at {r - 1},{c - 1}: arm {arm} meets {other!r}")
    return faults
