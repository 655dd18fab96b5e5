"""The phase graph drawn as text, left to right: layers, fewer crossings, every edge routed.

Standard library only: the app and the `conductor graph` command share this one drawing.

How an edge is drawn, and why a reader cannot follow a line into a false edge:

* Layers by longest path; an edge that skips layers passes each layer it crosses on a row of
  its own (a dummy point), never through a node. A source's long edges share their dummy
  points (one trunk, branching where each edge turns to its target), never another source's.
* Between two layers lies a channel: a departure column, vertical tracks on every other column
  (so a crossing `│` always has `─` on both sides), a spacer, then the arrowhead column.
* A source with several edges in the channel gets a FORK track: its row joins the track from
  the left, and each edge leaves the track rightward on a row of its own. A target with several
  edges gets a COLLECTOR track: each edge arrives from the left on a row of its own, and the
  target's row leaves it rightward to the arrowhead. A fork has a left arm only on its source's
  row and a collector a right arm only on its target's row, so a line that enters a collector
  can only reach that target, and a fork can only be entered from its source.
* Horizontal segments on one row never share a cell unless they are one line (a source's row
  running on as one of its branches, an input on the target's own row); a vertical track never
  shares a cell with a horizontal one except where they cross straight through each other, and
  a crossing is drawn `│`. Forks stand left of the collectors their edges reach.
"""

from __future__ import annotations

import bisect
import codecs
import heapq
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

ARROW = "▶"
UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
BOX: dict[int, str] = {
    LEFT | RIGHT: "─",
    LEFT: "─",
    RIGHT: "─",
    UP | DOWN: "│",
    UP: "│",
    DOWN: "│",
    RIGHT | DOWN: "┌",
    LEFT | DOWN: "┐",
    UP | RIGHT: "└",
    UP | LEFT: "┘",
    UP | DOWN | RIGHT: "├",
    UP | DOWN | LEFT: "┤",
    LEFT | RIGHT | DOWN: "┬",
    LEFT | RIGHT | UP: "┴",
    UP | DOWN | LEFT | RIGHT: "┼",
}
SWEEPS = 4  # rounds of barycentre sweeps (up then down) in the crossing reduction
PLACEMENTS = 3  # passes of row placement (left to right, right to left, left to right)
# Above this many elements plus pieces, a graph gets one round of sweeps and no count of
# crossings, so that a graph of 1,000 phases and thousands of dummy points stays fast.
LARGE = 12_000

# How an edge crosses a channel (see the module docstring).
STRAIGHT, FORKED, COLLECTED, BOTH = "straight", "fork", "collector", "fork+collector"


@dataclass(frozen=True)
class NodePos:
    """Where a phase's label sits: its layer, its row, its first column and its width."""

    name: str
    layer: int
    row: int
    col: int
    width: int


@dataclass(frozen=True)
class RoutedEdge:
    """One declared edge (src is a dependency of dst) and the path of its line.

    points are the path's ends and corners; cells lists every cell, from just right of src's
    label to dst's arrowhead (computed when asked: a large graph has millions).
    """

    src: str
    dst: str
    points: tuple[tuple[int, int], ...]

    @property
    def cells(self) -> list[tuple[int, int]]:
        """Every cell of the line, in order from the source to the target's arrowhead."""
        return _cells(self.points)


@dataclass(frozen=True)
class GraphLayout:
    """A drawn phase graph: where each label goes and the line art around them."""

    width: int
    height: int
    layers: list[list[str]]  # phase names per layer, top to bottom
    nodes: dict[str, NodePos]
    edges: list[RoutedEdge]  # every declared edge, in declaration order
    canvas: tuple[str, ...]  # the lines and arrowheads only; spaces where labels go

    @cached_property
    def _links(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        deps: dict[str, list[str]] = {name: [] for name in self.nodes}
        dependents: dict[str, list[str]] = {name: [] for name in self.nodes}
        for edge in self.edges:
            deps[edge.dst].append(edge.src)
            dependents[edge.src].append(edge.dst)
        return deps, dependents

    def neighbours(self, name: str) -> dict[str, str | None]:
        """Where the arrow keys go from a phase: a dependency, a dependent, the next in its layer.

        'left' and 'right' take the one nearest in rows (the upper one on a tie); 'up' and
        'down' the next phase above or below in the same layer.
        """
        node = self.nodes[name]
        deps, dependents = self._links

        def nearest(names: list[str]) -> str | None:
            if not names:
                return None
            return min(names, key=lambda n: (abs(self.nodes[n].row - node.row), self.nodes[n].row))

        column = self.layers[node.layer]
        i = column.index(name)
        return {
            "left": nearest(deps[name]),
            "right": nearest(dependents[name]),
            "up": column[i - 1] if i > 0 else None,
            "down": column[i + 1] if i + 1 < len(column) else None,
        }


def render(layout: GraphLayout, labels: Mapping[str, str]) -> list[str]:
    """The drawing as text lines: the canvas with each phase's label written at its place.

    A label shorter than its node's width is followed by `─` up to the edge's departure when
    the phase has dependents, so the line always leaves just right of the label's text.
    """
    lines = list(layout.canvas)
    by_row: dict[int, list[NodePos]] = {}
    for node in layout.nodes.values():
        by_row.setdefault(node.row, []).append(node)
    for row, nodes in by_row.items():
        cells = list(lines[row])
        for node in nodes:
            text = labels.get(node.name, "")[: node.width]
            end = node.col + node.width
            departs = end < layout.width and cells[end] != " "
            if departs:
                text = text.rstrip(" ")
                text += "─" * (node.width - len(text))
            cells[node.col : node.col + len(text)] = list(text)
        lines[row] = "".join(cells)
    return lines


def critical_path(phases: Sequence[tuple[str, Sequence[str]]], remaining: set[str]) -> list[str]:
    """The longest chain (by count of phases) of remaining phases, in order.

    Each phase of the chain depends on the one before it; ties go to the chain whose phases come
    first in the list (as graph.critical_path, which takes the done set and PhaseDef models).
    """
    names, deps = _parse(phases)
    order = _topological(deps)
    best: dict[int, tuple[int, ...]] = {}
    for v in order:
        if names[v] not in remaining:
            continue
        chain: tuple[int, ...] = ()
        for u in deps[v]:
            candidate = best.get(u)
            if candidate is not None and (
                len(candidate) > len(chain) or (len(candidate) == len(chain) and candidate < chain)
            ):
                chain = candidate
        best[v] = (*chain, v)
    if not best:
        return []
    winner = min(best.values(), key=lambda chain: (-len(chain), chain))
    return [names[v] for v in winner]


# ---------------------------------------------------------------- the graph


def _parse(phases: Sequence[tuple[str, Sequence[str]]]) -> tuple[list[str], list[list[int]]]:
    """Names in list order and each phase's dependencies as indices; ValueError when unusable."""
    names: list[str] = []
    index: dict[str, int] = {}
    for name, _ in phases:
        if name in index:
            raise ValueError(f"duplicate phase {name!r}")
        index[name] = len(names)
        names.append(name)
    deps: list[list[int]] = []
    for name, listed in phases:
        own: list[int] = []
        seen: set[int] = set()
        for dep in listed:
            if dep not in index:
                raise ValueError(f"{name!r} depends on unknown phase {dep!r}")
            j = index[dep]
            if dep == name:
                raise ValueError(f"{name!r} depends on itself")
            if j not in seen:
                seen.add(j)
                own.append(j)
        deps.append(own)
    return names, deps


def _topological(deps: list[list[int]]) -> list[int]:
    """A topological order (Kahn's algorithm, ready phases taken depth first); ValueError on a
    cycle. Layers and critical paths do not depend on which order it is."""
    children: list[list[int]] = [[] for _ in deps]
    missing = [len(own) for own in deps]
    for v, own in enumerate(deps):
        for u in own:
            children[u].append(v)
    ready = [v for v, count in enumerate(missing) if count == 0]
    ready.reverse()
    order: list[int] = []
    while ready:
        v = ready.pop()
        order.append(v)
        for child in reversed(children[v]):
            missing[child] -= 1
            if missing[child] == 0:
                ready.append(child)
    if len(order) != len(deps):
        raise ValueError("the phase graph has a cycle")
    return order


def longest_path_layers(deps: list[list[int]]) -> list[int]:
    """Each phase's layer: 0 for a phase without dependencies, else 1 + its deepest one's."""
    layer = [0] * len(deps)
    for v in _topological(deps):
        if deps[v]:
            layer[v] = 1 + max(layer[u] for u in deps[v])
    return layer


# ---------------------------------------------------------------- order within the layers


def _median(values: list[int]) -> int:
    values = sorted(values)
    return values[(len(values) - 1) // 2]


def _sweep(
    by_layer: list[list[int]], pos: list[int], nbrs: list[list[int]], layer_order: range
) -> None:
    """One barycentre sweep: sort each layer by the mean position of its neighbours.

    Elements without neighbours on that side keep their places; ties keep the current order.
    """
    for index in layer_order:
        layer = by_layer[index]
        if len(layer) < 2:
            continue
        lists = [nbrs[e] for e in layer]
        keys = [
            pos[ns[0]] if len(ns) == 1 else sum([pos[x] for x in ns]) / len(ns) if ns else 0.0
            for ns in lists
        ]
        if all(lists):
            order = sorted(range(len(layer)), key=keys.__getitem__)
        else:
            movable = [i for i, ns in enumerate(lists) if ns]
            order = list(range(len(layer)))
            for slot, i in zip(movable, sorted(movable, key=keys.__getitem__), strict=True):
                order[slot] = i
        if order == list(range(len(layer))):
            continue
        layer[:] = [layer[i] for i in order]
        for i, e in enumerate(layer):
            pos[e] = i


def _crossings(by_layer: list[list[int]], pos: list[int], downs: list[list[int]]) -> int:
    """The number of pairs of channel pieces that cross, over every pair of adjacent layers."""
    total = 0
    for layer in by_layer[:-1]:
        seen: list[int] = []
        for a in layer:
            ends = downs[a]
            for b in sorted([pos[x] for x in ends]) if len(ends) > 1 else [pos[x] for x in ends]:
                total += len(seen) - bisect.bisect_right(seen, b)
                bisect.insort(seen, b)
    return total


def _order(by_layer: list[list[int]], ups: list[list[int]], downs: list[list[int]]) -> None:
    """Reorder the layers in place to cross fewer edges (deterministic).

    A large graph gets fewer rounds, and no count of crossings to keep the best round, so that
    its layout stays fast; the effort depends only on the graph's size.
    """
    pos = [0] * len(ups)
    for layer in by_layer:
        for i, e in enumerate(layer):
            pos[e] = i
    depth = len(by_layer)
    size = len(ups) + sum(len(ds) for ds in downs)
    _sweep(by_layer, pos, ups, range(1, depth))
    if size > LARGE:
        _sweep(by_layer, pos, downs, range(depth - 2, -1, -1))
        _sweep(by_layer, pos, ups, range(1, depth))
        return
    best = [list(layer) for layer in by_layer]
    fewest = _crossings(by_layer, pos, downs)
    for _ in range(SWEEPS):
        if fewest == 0:
            break
        _sweep(by_layer, pos, downs, range(depth - 2, -1, -1))
        _sweep(by_layer, pos, ups, range(1, depth))
        count = _crossings(by_layer, pos, downs)
        if count < fewest:
            fewest, best = count, [list(layer) for layer in by_layer]
    by_layer[:] = best


# ---------------------------------------------------------------- rows


def _isotonic(targets: list[int]) -> list[int]:
    """Rows as near as possible to targets (least total distance), each below the one before.

    Pool-adjacent-violators on t_i - i with block medians (L1 isotonic regression); a block
    keeps its values sorted, so pooling costs a merge, not a sort.
    """
    shifted = [t - i for i, t in enumerate(targets)]
    if shifted == sorted(shifted):
        return targets
    starts: list[int] = []  # the blocks: where each starts, its sorted values, its median
    values: list[list[int] | None] = []  # None for a block of one value (its median)
    medians: list[int] = []
    for i, value in enumerate(shifted):
        if not medians or medians[-1] <= value:
            starts.append(i)
            values.append(None)
            medians.append(value)
            continue
        start, pooled, median = i, [value], value
        while medians and medians[-1] > median:
            start = starts.pop()
            previous = values.pop()
            single = medians.pop()
            if previous is None:
                previous = [single]
            if len(pooled) == 1:
                bisect.insort(previous, pooled[0])
            else:
                previous.extend(pooled)
                previous.sort()  # two sorted runs: a linear merge
            pooled = previous
            median = pooled[(len(pooled) - 1) // 2]
        starts.append(start)
        values.append(pooled)
        medians.append(median)
    out: list[int] = []
    for start, end, median in zip(starts, [*starts[1:], len(shifted)], medians, strict=True):
        out.extend(range(median + start, median + end))
    return out


def _place_rows(
    by_layer: list[list[int]], ups: list[list[int]], downs: list[list[int]]
) -> list[int]:
    """Each element's row: in layer order, as level as possible with its neighbours."""
    rows = [0] * len(ups)
    for layer in by_layer:
        for i, e in enumerate(layer):
            rows[e] = i
    depth = len(by_layer)
    for round_ in range(PLACEMENTS):
        if round_ % 2 == 0:
            layer_order, nbrs = range(1, depth), ups
        else:
            layer_order, nbrs = range(depth - 2, -1, -1), downs
        for index in layer_order:
            layer = by_layer[index]
            targets = [
                rows[ns[0]] if len(ns) == 1 else _median([rows[x] for x in ns]) if ns else rows[e]
                for e, ns in zip(layer, map(nbrs.__getitem__, layer), strict=True)
            ]
            for e, row in zip(layer, _isotonic(targets), strict=True):
                rows[e] = row
    low = min(rows, default=0)
    return [row - low for row in rows]


# ---------------------------------------------------------------- channels


@dataclass
class _Channel:
    """The routing between layer `index` and the next one."""

    index: int
    pieces: list[tuple[int, int]]  # (element in this layer, element in the next)
    kinds: list[str]  # per piece: STRAIGHT, FORKED, COLLECTED or BOTH
    forks: set[int]
    collectors: set[int]
    branch: dict[int, tuple[int, int]]  # BOTH piece -> (element row, -1) or (gap, slot in it)
    fork_slot: dict[int, int]
    collector_slot: dict[int, int]
    slots: int = 0


def _classify(
    index: int,
    by_layer: list[list[int]],
    ups: list[list[int]],
    downs: list[list[int]],
    rows: list[int],
    departs: list[dict[int, int]],
    row_maps: list[dict[int, int]],
) -> _Channel:
    """Decide how each piece crosses the channel: straight, via a fork, a collector, or both.

    departs maps a layer's rows to the elements with edges leaving them, row_maps to all.
    """
    at_left, at_right = departs[index], row_maps[index + 1]
    pieces = [(a, b) for a in by_layer[index] for b in downs[a]]
    forks = {a for a in by_layer[index] if len(downs[a]) >= 2}
    collectors = {b for b in by_layer[index + 1] if len(ups[b]) >= 2}
    kinds: list[str] = []
    for a, b in pieces:
        ra, rb = rows[a], rows[b]
        forked, collected = a in forks, b in collectors
        if ra == rb and not forked and not collected:
            kinds.append(STRAIGHT)  # the common case first: a level line
            continue
        # A branch may land on the target's own row only when no other source departs there;
        # an input may join on the source's own row only when no other target arrives there.
        # Otherwise the piece takes a row of its own between a fork and a collector.
        if forked and not collected:
            if at_left.get(rb, a) == a:
                kinds.append(FORKED)
            else:
                collectors.add(b)
                kinds.append(BOTH)
        elif collected and not forked:
            if at_right.get(ra, b) == b:
                kinds.append(COLLECTED)
            else:
                forks.add(a)
                kinds.append(BOTH)
        elif not forked:
            if ra == rb:
                kinds.append(STRAIGHT)
            elif rb not in at_left:
                forks.add(a)
                kinds.append(FORKED)
            elif ra not in at_right:
                collectors.add(b)
                kinds.append(COLLECTED)
            else:
                forks.add(a)
                collectors.add(b)
                kinds.append(BOTH)
        else:
            kinds.append(BOTH)
    return _Channel(index, pieces, kinds, forks, collectors, {}, {}, {})


def _branch_rows(
    channel: _Channel,
    rows: list[int],
    departs: list[dict[int, int]],
    row_maps: list[dict[int, int]],
    gaps: list[int],
) -> None:
    """A row for each fork-to-collector piece: the source's or target's own row when free, an
    empty row between them, or a slot in a gap between two element rows (gaps grows)."""
    at_left, at_right = departs[channel.index], row_maps[channel.index + 1]
    taken: set[int] = set()
    used: dict[int, int] = {}
    both = [i for i, kind in enumerate(channel.kinds) if kind == BOTH]
    pieces = channel.pieces

    def extent(i: int) -> tuple[int, int]:
        ra, rb = rows[pieces[i][0]], rows[pieces[i][1]]
        return (ra, rb) if ra <= rb else (rb, ra)

    both.sort(key=extent)
    for i in both:
        a, b = pieces[i]
        ra, rb = rows[a], rows[b]
        if ra == rb or (ra not in taken and at_right.get(ra, b) == b):
            taken.add(ra)
            channel.branch[i] = (ra, -1)
            continue
        if rb not in taken and at_left.get(rb, a) == a:
            taken.add(rb)
            channel.branch[i] = (rb, -1)
            continue
        step = 1 if rb > ra else -1
        choice: tuple[int, int] | None = None
        row = ra
        while row != rb:
            gap = row if step == 1 else row - 1
            if used.get(gap, 0) < gaps[gap]:
                choice = (gap, used.get(gap, 0))
                used[gap] = choice[1] + 1
                break
            row += step
            if row != rb and row not in taken and row not in at_left and row not in at_right:
                taken.add(row)
                choice = (row, -1)
                break
        if choice is None:
            gap = ra if step == 1 else ra - 1
            choice = (gap, used.get(gap, 0))
            used[gap] = choice[1] + 1
            gaps[gap] = max(gaps[gap], used[gap])
        channel.branch[i] = choice


Arms = dict[int, dict[int, int]]  # track owner -> row -> arms joined there


def _assign_slots(
    channel: _Channel,
    final: list[int],
    branch_row: dict[int, int],
    rows: list[int],
    row_maps: list[dict[int, int]],
) -> tuple[Arms, Arms]:
    """Give each track a slot (a column); returns the arms of each fork's and collector's rows.

    Tracks of one slot are a row apart at least. A collector stands right of every fork that
    feeds it and of every fork whose source departs on its target's row.
    """
    fork_arms: Arms = {a: {final[a]: LEFT} for a in channel.forks}
    coll_arms: Arms = {b: {final[b]: RIGHT} for b in channel.collectors}
    before: dict[int, list[int]] = {b: [] for b in channel.collectors}
    for i, kind in enumerate(channel.kinds):
        if kind == STRAIGHT:
            continue
        a, b = channel.pieces[i]
        if kind == FORKED:
            arms = fork_arms[a]
            arms[final[b]] = arms.get(final[b], 0) | RIGHT
        elif kind == COLLECTED:
            arms = coll_arms[b]
            arms[final[a]] = arms.get(final[a], 0) | LEFT
        elif kind == BOTH:
            row = branch_row[i]
            arms = fork_arms[a]
            arms[row] = arms.get(row, 0) | RIGHT
            arms = coll_arms[b]
            arms[row] = arms.get(row, 0) | LEFT
            before[b].append(a)
    at_right = row_maps[channel.index + 1]
    for a in channel.forks:
        target = at_right.get(rows[a])
        if target is not None and target in channel.collectors:
            before[target].append(a)  # a's departure, target's arrival share a row: fork first

    bottoms: list[int] = []  # the lowest row used in each slot so far

    def pack(spans: list[tuple[int, int, int, int]], lowest: list[int]) -> list[int]:
        """Slots for spans sorted by top: the leftmost slot at or after each one's lowest that
        is free (its tracks end more than a row above); slots are only ever filled downwards."""
        busy = [(bottom, s) for s, bottom in enumerate(bottoms)]
        heapq.heapify(busy)
        free: list[int] = []
        out: list[int] = []
        for (top, bottom, _, _), low in zip(spans, lowest, strict=True):
            while busy and busy[0][0] < top - 1:
                bisect.insort(free, heapq.heappop(busy)[1])
            i = bisect.bisect_left(free, low)
            if i < len(free):
                slot = free.pop(i)
            else:
                while len(bottoms) < low:  # slots skipped now stay free for later tracks
                    bisect.insort(free, len(bottoms))
                    bottoms.append(-2)
                slot = len(bottoms)
                bottoms.append(bottom)
            bottoms[slot] = bottom
            heapq.heappush(busy, (bottom, slot))
            out.append(slot)
        return out

    spans = sorted((min(arms), max(arms), final[a], a) for a, arms in fork_arms.items())
    for span, slot in zip(spans, pack(spans, [0] * len(spans)), strict=True):
        channel.fork_slot[span[3]] = slot
    spans = sorted((min(arms), max(arms), final[b], b) for b, arms in coll_arms.items())
    lowest = [
        1 + max([channel.fork_slot[a] for a in before[span[3]]], default=-1) for span in spans
    ]
    for span, slot in zip(spans, pack(spans, lowest), strict=True):
        channel.collector_slot[span[3]] = slot
    channel.slots = len(bottoms)
    return fork_arms, coll_arms


# ---------------------------------------------------------------- the canvas

# The canvas is drawn in bytes, one per cell, and decoded to box characters at the end.
_SPACE, _DASH, _BAR, _HEAD = 0x20, 0x2D, 0x7C, 0x3E
_DECODE = "".join(
    {_DASH: "─", _BAR: "│", _HEAD: ARROW}.get(i, BOX.get(i - 0x80, " ") if i >= 0x80 else chr(i))
    for i in range(256)
)


# ---------------------------------------------------------------- the layout


def least_width(phases: Sequence[tuple[str, Sequence[str]]], widths: Mapping[str, int]) -> int:
    """A lower bound of layout_graph(phases, widths).width, found without laying it out: every
    layer is as wide as its widest label, and each channel between two layers takes at least 3
    columns. A caller choosing among label widths skips the layouts that cannot fit."""
    names, deps = _parse(phases)
    if not names:
        return 0
    layer_of = longest_path_layers(deps)
    depth = max(layer_of) + 1
    layer_width = [1] * depth
    for i, name in enumerate(names):
        layer = layer_of[i]
        layer_width[layer] = max(layer_width[layer], int(widths.get(name, len(name))))
    return sum(layer_width) + 3 * (depth - 1)


def layout_graph(
    phases: Sequence[tuple[str, Sequence[str]]], widths: Mapping[str, int]
) -> GraphLayout:
    """Lay out the phase graph left to right; widths gives each label's width in cells.

    phases is a list of (name, names of its dependencies); ValueError on a duplicate name, an
    unknown dependency or a cycle.
    """
    names, deps = _parse(phases)
    n = len(names)
    if n == 0:
        return GraphLayout(0, 0, [], {}, [], ())
    width_of = [max(0, int(widths.get(name, len(name)))) for name in names]
    layer_of = longest_path_layers(deps)
    depth = max(layer_of) + 1

    # Elements: the phases, then dummy points where edges skip layers. A source's long edges
    # share one trunk of dummy points, one a layer, each edge branching off it in the layer
    # before its target's: a dummy point has one input, so it may fork but never merge, and
    # the trunk adds no way from one source's edges into another's.
    ups: list[list[int]] = [[] for _ in range(n)]
    downs: list[list[int]] = [[] for _ in range(n)]
    declared = [(u, v) for v in range(n) for u in deps[v]]
    reach = list(layer_of)
    for u, v in declared:
        reach[u] = max(reach[u], layer_of[v])
    trunks: list[list[int]] = [[] for _ in range(n)]
    for u in range(n):
        previous = u
        for layer in range(layer_of[u] + 1, reach[u]):
            dummy = len(layer_of)
            layer_of.append(layer)
            ups.append([previous])
            downs.append([])
            downs[previous].append(dummy)
            trunks[u].append(dummy)
            previous = dummy
    chains: list[list[int]] = []
    for u, v in declared:
        skipped = trunks[u][: layer_of[v] - layer_of[u] - 1]
        last = skipped[-1] if skipped else u
        downs[last].append(v)
        ups[v].append(last)
        chains.append([u, *skipped, v])
    by_layer: list[list[int]] = [[] for _ in range(depth)]
    for e, layer in enumerate(layer_of):
        by_layer[layer].append(e)

    _order(by_layer, ups, downs)
    rows = _place_rows(by_layer, ups, downs)
    height0 = max(rows) + 1
    row_maps = [{rows[e]: e for e in layer} for layer in by_layer]
    departs = [{rows[e]: e for e in layer if downs[e]} for layer in by_layer]

    # Route each channel in element rows, growing the gaps between rows where needed.
    gaps = [0] * height0
    channels = [
        _classify(i, by_layer, ups, downs, rows, departs, row_maps) for i in range(depth - 1)
    ]
    for channel in channels:
        _branch_rows(channel, rows, departs, row_maps, gaps)
    # Final rows: a row no element and no branch uses is dropped; gap rows follow their row.
    used = set(rows)
    for channel in channels:
        used.update(row for row, k in channel.branch.values() if k < 0)
    row_at = [0] * height0
    gap_at = [0] * height0
    height = 0
    for r in range(height0):
        if r in used:
            row_at[r] = height
            height += 1
        gap_at[r] = height
        height += gaps[r]
    final = [row_at[r] for r in rows]

    # Columns: each layer as wide as its widest label, each channel as wide as its tracks need.
    layer_width = [max([1, *(width_of[e] for e in layer if e < n)]) for layer in by_layer]
    branch_rows: list[dict[int, int]] = []
    arms: list[tuple[Arms, Arms]] = []
    for channel in channels:
        branch_row = {
            i: row_at[row] if k < 0 else gap_at[row] + k for i, (row, k) in channel.branch.items()
        }
        branch_rows.append(branch_row)
        arms.append(_assign_slots(channel, final, branch_row, rows, row_maps))
    x_of = [0] * depth
    channel_width = [3 if c.slots == 0 else 2 * c.slots + 2 for c in channels]
    for i in range(1, depth):
        x_of[i] = x_of[i - 1] + layer_width[i - 1] + channel_width[i - 1]
    width = x_of[-1] + layer_width[-1]

    # One buffer for the whole canvas, a newline ending each row: a vertical line is then one
    # strided slice assignment, and the text one decoding.
    stride = width + 1
    ink_from = width_of + [0] * (len(layer_of) - n)  # where a departure starts in its layer
    canvas = bytearray(b" ") * (stride * height)
    canvas[width::stride] = b"\n" * height
    dashes = b"-" * width
    bars = b"|" * height
    route: dict[tuple[int, int], tuple[tuple[int, int], ...]] = {}  # corners of bent pieces
    for channel, branch_row, (fork_arms, coll_arms) in zip(
        channels, branch_rows, arms, strict=True
    ):
        i = channel.index
        c0 = x_of[i] + layer_width[i]
        arrow = c0 + channel_width[i] - 1
        fork_col = {a: c0 + 1 + 2 * s for a, s in channel.fork_slot.items()}
        coll_col = {b: c0 + 1 + 2 * s for b, s in channel.collector_slot.items()}
        # a departure starts just right of the label (a dummy's at the layer's left edge)
        for a, col in fork_col.items():
            start, at = x_of[i] + ink_from[a], final[a] * stride
            canvas[at + start : at + col + 1] = dashes[: col + 1 - start]
        for p, ((a, b), kind) in enumerate(zip(channel.pieces, channel.kinds, strict=True)):
            if kind == STRAIGHT:
                start, at = x_of[i] + ink_from[a], final[a] * stride
                canvas[at + start : at + arrow + 1] = dashes[: arrow + 1 - start]
                continue
            ra, rb = final[a], final[b]
            if kind == FORKED:
                fc = fork_col[a]
                canvas[rb * stride + fc : rb * stride + arrow + 1] = dashes[: arrow + 1 - fc]
                route[a, b] = ((ra, fc), (rb, fc))
            elif kind == COLLECTED:  # the source's only piece: its departure runs to the track
                cc = coll_col[b]
                start, at = x_of[i] + ink_from[a], ra * stride
                canvas[at + start : at + cc + 1] = dashes[: cc + 1 - start]
                route[a, b] = ((ra, cc), (rb, cc))
            else:
                fc, cc, rho = fork_col[a], coll_col[b], branch_row[p]
                canvas[rho * stride + fc : rho * stride + cc + 1] = dashes[: cc + 1 - fc]
                route[a, b] = ((ra, fc), (rho, fc), (rho, cc), (rb, cc))
        for b, cc in coll_col.items():
            canvas[final[b] * stride + cc : final[b] * stride + arrow + 1] = dashes[
                : arrow + 1 - cc
            ]
        tracks = [(fork_col[a], track) for a, track in fork_arms.items()]
        tracks += [(coll_col[b], track) for b, track in coll_arms.items()]
        for col, track in tracks:
            top, bottom = min(track), max(track)
            if bottom - top > 1:  # a crossing is `│`, as is the track alone
                canvas[(top + 1) * stride + col : bottom * stride + col : stride] = bars[
                    : bottom - top - 1
                ]
            for row, joined in track.items():
                if row > top:
                    joined |= UP
                if row < bottom:
                    joined |= DOWN
                canvas[row * stride + col] = 0x80 | joined
        for b in by_layer[i + 1]:
            if b < n:
                canvas[final[b] * stride + arrow] = _HEAD

    edges: list[RoutedEdge] = []
    for (u, v), chain in zip(declared, chains, strict=True):
        points = [(final[u], x_of[layer_of[u]] + width_of[u])]
        for a, b in itertools.pairwise(chain):
            corners = route.get((a, b))
            if corners is not None:
                points.extend(corners)
        points.append((final[v], x_of[layer_of[v]] - 1))
        edges.append(RoutedEdge(names[u], names[v], tuple(points)))

    nodes = {
        names[v]: NodePos(names[v], layer_of[v], final[v], x_of[layer_of[v]], width_of[v])
        for v in range(n)
    }
    layers = [
        [names[e] for e in sorted((e for e in layer if e < n), key=final.__getitem__)]
        for layer in by_layer
    ]
    return GraphLayout(
        width=width,
        height=height,
        layers=layers,
        nodes=nodes,
        edges=edges,
        canvas=tuple(codecs.charmap_decode(canvas, "strict", _DECODE)[0].split("\n")[:height]),
    )


def _cells(points: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Every cell of a path given by its waypoints (each step is along a row or a column)."""
    cells = [points[0]]
    for row, col in points[1:]:
        r, c = cells[-1]
        if row == r:
            cells.extend((r, x) for x in range(c + 1, col + 1))
        else:
            step = 1 if row > r else -1
            cells.extend((y, c) for y in range(r + step, row + step, step))
    return cells
