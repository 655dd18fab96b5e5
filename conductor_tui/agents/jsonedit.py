"""A JSON settings file edited in place: a member or an item added at the end of its container,
or one removed, with every other byte of the file left as it was.

Re-serialising a user's settings would reorder nothing but could change their indentation,
spacing, escapes and final newline; editing the text instead keeps the file theirs. An insertion
is written so that removing the same element gives back the very bytes the file had before it:
after the last element `,\\n<indent><element>`, or into an empty container
`\\n<indent><element>\\n<outer indent>` just after its opening bracket.

The text must be valid JSON (the caller checks it strictly first); this module only finds where
each value lies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WS = " \t\n\r"


@dataclass
class Node:
    """A JSON value and where it lies in the text: [start, end)."""

    kind: str  # "object", "array" or "scalar"
    start: int
    end: int = 0
    keys: list[str] = field(default_factory=list)  # object: member names, in order
    key_starts: list[int] = field(default_factory=list)  # object: where each member begins
    children: list[Node] = field(default_factory=list)  # object values, or array items

    def get(self, key: str) -> Node | None:
        """The value of an object's member."""
        for name, child in zip(self.keys, self.children, strict=True):
            if name == key:
                return child
        return None

    def index(self, key: str) -> int:
        """The position of an object's member."""
        return self.keys.index(key)

    def elem_start(self, i: int) -> int:
        """Where element i begins: its key for a member, the value for an item."""
        return self.key_starts[i] if self.kind == "object" else self.children[i].start

    def value(self, text: str) -> Any:
        """The value itself."""
        return json.loads(text[self.start : self.end])


def parse(text: str) -> Node:
    """Every value's place in a valid JSON text."""
    node, _pos = _value(text, _skip(text, 0))
    return node


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _string_end(text: str, pos: int) -> int:
    pos += 1
    while text[pos] != '"':
        pos += 2 if text[pos] == "\\" else 1
    return pos + 1


def _value(text: str, pos: int) -> tuple[Node, int]:
    ch = text[pos]
    if ch == "{":
        node = Node("object", pos)
        pos = _skip(text, pos + 1)
        while text[pos] != "}":
            key_end = _string_end(text, pos)
            node.key_starts.append(pos)
            node.keys.append(json.loads(text[pos:key_end]))
            pos = _skip(text, key_end)
            pos = _skip(text, pos + 1)  # the colon
            child, pos = _value(text, pos)
            node.children.append(child)
            pos = _skip(text, pos)
            if text[pos] == ",":
                pos = _skip(text, pos + 1)
        node.end = pos + 1
        return node, node.end
    if ch == "[":
        node = Node("array", pos)
        pos = _skip(text, pos + 1)
        while text[pos] != "]":
            child, pos = _value(text, pos)
            node.children.append(child)
            pos = _skip(text, pos)
            if text[pos] == ",":
                pos = _skip(text, pos + 1)
        node.end = pos + 1
        return node, node.end
    if ch == '"':
        end = _string_end(text, pos)
        return Node("scalar", pos, end), end
    for word in ("true", "false", "null"):
        if text.startswith(word, pos):
            return Node("scalar", pos, pos + len(word)), pos + len(word)
    m = _NUMBER.match(text, pos)
    if not m:
        raise ValueError(f"unexpected character at {pos}")
    return Node("scalar", pos, m.end()), m.end()


# ---------------------------------------------------------------------- layout


def indent_unit(text: str) -> str:
    """The file's unit of indentation: that of its first indented line, else two spaces."""
    m = re.search(r"\n([ \t]+)\S", text)
    return m.group(1) if m else "  "


def _line_indent(text: str, pos: int) -> str:
    line_start = text.rfind("\n", 0, pos) + 1
    m = re.match(r"[ \t]*", text[line_start:pos])
    return m.group(0) if m else ""


def render(value: Any, indent: str, unit: str, *, inline: bool = False) -> str:
    """A value as JSON text whose continuation lines start at indent."""
    if inline:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    text = json.dumps(value, ensure_ascii=False, indent=unit)
    return text.replace("\n", "\n" + indent)


def _element(key: str | None, value: Any, indent: str, unit: str, inline: bool) -> str:
    body = render(value, indent, unit, inline=inline)
    return body if key is None else f"{json.dumps(key, ensure_ascii=False)}: {body}"


def insert(text: str, container: Node, value: Any, key: str | None = None) -> str:
    """Add an item (array) or a member (object) at the end of container."""
    unit = indent_unit(text)
    if container.children:
        first = container.elem_start(0)
        last_end = container.children[-1].end
        multiline = "\n" in text[container.start : first]
        if multiline:
            indent = _line_indent(text, first)
            elem = _element(key, value, indent, unit, inline=False)
            return f"{text[:last_end]},\n{indent}{elem}{text[last_end:]}"
        elem = _element(key, value, "", unit, inline=True)
        return f"{text[:last_end]}, {elem}{text[last_end:]}"
    outer = _line_indent(text, container.start)
    indent = outer + unit
    elem = _element(key, value, indent, unit, inline=False)
    at = container.start + 1
    return f"{text[:at]}\n{indent}{elem}\n{outer}{text[at:]}"


def remove(text: str, container: Node, i: int) -> str:
    """Remove element i of container: the inverse of `insert` when it added that element."""
    n = len(container.children)
    start, end = container.elem_start(i), container.children[i].end
    if n > 1 and i > 0:
        return text[: container.children[i - 1].end] + text[end:]
    if n > 1:
        return text[:start] + text[container.elem_start(1) :]
    outer = _line_indent(text, container.start)
    at = container.start + 1
    tail = end
    if text.startswith("\n" + outer, tail) and text[at:start].startswith("\n"):
        tail += 1 + len(outer)
    return text[:at] + text[tail:]
