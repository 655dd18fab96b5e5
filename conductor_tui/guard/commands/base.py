"""The registry of program handlers, and what they share: reading options and operands."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..calls import Call, Mutation, Result
from ..lexer import Word
from ..opts import Options, Spec, read
from ..tables import READ_WORDS, WRITE_WORDS

if TYPE_CHECKING:
    from ..classify import Classifier


Handler = Callable[["Classifier", Call], Result]


_HANDLERS: dict[str, Handler] = {}
_PATTERNS: list[tuple[re.Pattern[str], Handler]] = []


def handles(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler for the programs it reads."""

    def register(fn: Handler) -> Handler:
        for name in names:
            _HANDLERS[name.lower()] = fn
        return fn

    return register


def handles_matching(pattern: re.Pattern[str]) -> Callable[[Handler], Handler]:
    """Register a handler for the programs whose names match a pattern (python3.12, pypy3)."""

    def register(fn: Handler) -> Handler:
        _PATTERNS.append((pattern, fn))
        return fn

    return register


def handler(key: str) -> Handler | None:
    """The handler for a program's name (lower case), or None for a program it does not know."""
    found = _HANDLERS.get(key)
    if found is None:
        found = next((fn for pattern, fn in _PATTERNS if pattern.fullmatch(key)), None)
    return found


def unsure(call: Call) -> Mutation:
    """The verdict for options only the running shell knows."""
    return Mutation(f"`{call.name}` with options or operands only known at run time")


def after(w: Word, k: int) -> Word:
    """The part of a word after its first k characters (`of=FILE` -> `FILE`)."""
    text = w.text[k:]
    return Word(text=text, raw=w.raw[k:], quoted=w.quoted, tilde=text.startswith("~"))


def join(base: Word | None, name: str) -> Word:
    """A path under a directory word (or a bare name when there is none)."""
    if base is None:
        return Word.lit(name)
    if base.value is None:
        return Word.unknown(base.raw + "/" + name)
    return Word.lit(os.path.join(base.value, name))


def values(ws: Sequence[Word]) -> list[str] | None:
    """The values of words, or None if any is computed at run time."""
    out = [w.value for w in ws]
    return None if any(v is None for v in out) else [v for v in out if v is not None]


def opts_of(call: Call, how: Spec) -> Options:
    """Read a command's options; options computed at run time write (fail closed)."""
    found = read(call.args, how)
    if found.unsure:
        raise unsure(call)
    return found


def read_text(c: Classifier, w: Word, call: Call, what: str) -> str:
    """The text of a program file a command reads its program from (sed -f, awk -f)."""
    found = c.resolve_word(w, call.cwds, rooted=call.rooted)
    if len(found) != 1 or found[0].path is None:
        raise Mutation(f"{what} reads a program from a file the guard cannot find")
    try:
        with open(found[0].path, "rb") as fh:
            data = fh.read(64 * 1024 + 1)
    except (OSError, ValueError):
        raise Mutation(f"{what} reads a program from a file the guard cannot read") from None
    if len(data) > 64 * 1024:
        raise Mutation(f"{what} reads a program too long to read")
    return data.decode("utf-8", "replace")


def build_target_writes(target: str) -> bool:
    """Whether a build-runner target (or npm script) is one that writes: unknown ones do."""
    parts = [p for p in re.split(r"[-_:./]", target.lower()) if p]
    if not parts or any(p in WRITE_WORDS for p in parts):
        return True
    return parts[0] not in READ_WORDS


def positionals(ws: Sequence[Word], value_opts: frozenset[str] = frozenset()) -> list[Word]:
    """Operands of a command whose option syntax is not modelled: words that are no option."""
    out: list[Word] = []
    skip = ended = False
    for w in ws:
        if skip:
            skip = False
            continue
        text = w.text
        if ended or not text.startswith("-") or text == "-":
            out.append(w)
        elif text == "--":
            ended = True
        elif text in value_opts:
            skip = True
    return out


def _raise(exc: Mutation) -> Result:
    raise exc


def _has(call: Call, *names: str) -> bool:
    return any(w.value in names or (w.value or "").split("=", 1)[0] in names for w in call.args)


def _short(call: Call, letter: str) -> bool:
    for w in call.args:
        v = w.value or ""
        if v == "--":
            return False
        if v.startswith("-") and not v.startswith("--") and letter in v[1:]:
            return True
    return False
