"""A command's options read as getopt_long reads them: every spelling of the same option is one.

`-sSo out`, `-sSoout`, `--output out`, `--output=out` and `--out=out` (an unambiguous prefix) all
name `--output`'s value. An abbreviation that several long options share is taken as all of
them: the program refuses it, or it is one of them, so the guard assumes the worst of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .lexer import DYN, Word

FLAG, VALUE, OPTIONAL = 0, 1, 2


@dataclass(frozen=True)
class Spec:
    """How a command reads its options."""

    short: str = ""  # letters taking a value: attached (-ofile) or the next word (-o file)
    optional: str = ""  # letters whose value can only be attached (sed -i[SUFFIX])
    long: Mapping[str, int] = field(default_factory=dict)  # name (no dashes) -> FLAG/VALUE/OPTIONAL
    permute: bool = True  # options may follow operands (GNU); False: the first operand ends them
    abbrev: bool = True  # a long option may be any unambiguous prefix of its name
    numeric: bool = False  # `-5` is an option (nice's old form)
    single_dash_long: bool = False  # `-name value` long options (find, openssl)


@dataclass
class Options:
    """The options a command was given, its operands, and whether some word was unreadable."""

    seen: list[tuple[str, Word | None]] = field(default_factory=list)  # ("-o" | "--output", value)
    operands: list[Word] = field(default_factory=list)
    unsure: bool = False  # a word that could be an option is only known at run time

    def has(self, *names: str) -> bool:
        """Whether any of the options (`-o`, `--output`) was given."""
        return any(name in names for name, _ in self.seen)

    def values(self, *names: str) -> list[Word]:
        """The values given to any of the options, in order."""
        return [v for name, v in self.seen if name in names and v is not None]


def _may_be_option(w: Word) -> bool:
    """A word the running shell computes could turn out to start with a dash. (Globs are taken
    as operands: a file named like an option is a known gap, see docs/GUARD.md.)"""
    return w.text.startswith(DYN)


def read(words: Sequence[Word], spec: Spec) -> Options:
    """Read options and operands from a command's arguments."""
    out = Options()
    i = 0
    n = len(words)
    while i < n:
        w = words[i]
        i += 1
        text = w.text
        if w.value is None and not text.startswith("-"):
            out.unsure = out.unsure or _may_be_option(w)
            out.operands.append(w)
            if not spec.permute:
                out.operands.extend(words[i:])
                return out
            continue
        if text == "--":
            out.operands.extend(words[i:])
            return out
        if not text.startswith("-") or text == "-":
            out.operands.append(w)
            if not spec.permute:
                out.operands.extend(words[i:])
                return out
            continue
        if DYN in text:
            out.unsure = True  # `-$x`: options only the running shell knows
            continue
        if spec.numeric and text[1:].isdigit():
            out.seen.append((text, None))
            continue
        if text.startswith("--") or (spec.single_dash_long and len(text) > 2):
            i = _long(words, i, text.lstrip("-"), spec, out)
            continue
        i = _cluster(words, i, text, spec, out)
    return out


def _long(words: Sequence[Word], i: int, body: str, spec: Spec, out: Options) -> int:
    name, eq, attached = body.partition("=")
    if name in spec.long:
        names = [name]
    elif spec.abbrev and name:
        names = [k for k in spec.long if k.startswith(name)]
    else:
        names = []
    if not names:
        out.seen.append(("--" + name, Word.lit(attached) if eq else None))
        return i
    value: Word | None = Word.lit(attached) if eq else None
    if not eq and any(spec.long[k] == VALUE for k in names) and i < len(words):
        value = words[i]
        i += 1
    for k in names:
        out.seen.append(("--" + k, value if spec.long[k] != FLAG else None))
    return i


def _cluster(words: Sequence[Word], i: int, text: str, spec: Spec, out: Options) -> int:
    j = 1
    while j < len(text):
        ch = text[j]
        if ch in spec.short:
            rest = text[j + 1 :]
            if rest:
                out.seen.append(("-" + ch, Word.lit(rest)))
            elif i < len(words):
                out.seen.append(("-" + ch, words[i]))
                i += 1
            else:
                out.seen.append(("-" + ch, None))
            return i
        if ch in spec.optional:
            out.seen.append(("-" + ch, Word.lit(text[j + 1 :])))
            return i
        out.seen.append(("-" + ch, None))
        j += 1
    return i


def spec(
    short: str = "",
    long: str = "",
    *,
    optional: str = "",
    permute: bool = True,
    abbrev: bool = True,
    numeric: bool = False,
    single_dash_long: bool = False,
) -> Spec:
    """A Spec from a compact text: long names separated by spaces, `name=` takes a value and
    `name?` an optional attached one (`output= silent in-place?`)."""
    table: dict[str, int] = {}
    for item in long.split():
        if item.endswith("="):
            table[item[:-1]] = VALUE
        elif item.endswith("?"):
            table[item[:-1]] = OPTIONAL
        else:
            table[item] = FLAG
    return Spec(short, optional, table, permute, abbrev, numeric, single_dash_long)
