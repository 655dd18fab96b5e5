"""Archivers and compressors: what they extract, create or replace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..calls import Call, Mutation, Result
from ..lexer import Word
from ..opts import read, spec
from ..tables import (
    ARCHIVE_READ,
    COMPRESSORS,
    NO_FILE_OUTPUT,
    TAR_LONG_MODES,
    TAR_MODES,
    TAR_SHORT_VALUE,
    TAR_SPEC,
    UNZIP_SPEC,
    ZIP_SPEC,
)
from .base import (
    after,
    handles,
    opts_of,
    positionals,
    unsure,
)

if TYPE_CHECKING:
    from ..classify import Classifier


@handles(*COMPRESSORS)
def h_compress(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, COMPRESSORS[call.name.lower()])
    if opts.has(*NO_FILE_OUTPUT) and not opts.has("-o", "--output"):
        return None
    for w in [*opts.values("-o", "--output"), *opts.values("--output-dir-flat")]:
        c.check(w, call.cwds, f"`{call.name}` writes", rooted=call.rooted)
    for w in opts.operands:
        if w.value != "-":
            c.check(w, call.cwds, f"`{call.name}` replaces", rooted=call.rooted)
    return None


@handles("zip")
def h_zip(c: Classifier, call: Call) -> Result:
    if any(w.value in ("-sf", "--show-files") for w in call.args):
        return None
    opts = opts_of(call, ZIP_SPEC)
    for w in [*opts.operands[:1], *opts.values("-O", "--out")]:
        c.check(w, call.cwds, "`zip` writes", rooted=call.rooted)
    if opts.has("-m", "--move"):
        for w in opts.operands[1:]:
            c.check(w, call.cwds, "`zip -m` deletes", rooted=call.rooted)
    return None


@handles("unzip")
def h_unzip(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, UNZIP_SPEC)
    if opts.has(*ARCHIVE_READ):
        return None
    where = (opts.values("-d") or [Word.lit(".")])[-1]
    c.check(where, call.cwds, "`unzip` extracts into", rooted=call.rooted, link=True)
    return None


@handles("7z", "7za", "7zr", "7zz", "unrar", "rar")
def h_7z(c: Classifier, call: Call) -> Result:
    ops = positionals(call.args)
    if not ops:
        return None
    if ops[0].value is None:
        raise unsure(call)
    sub = ops[0].value.lower()
    if sub in ("l", "t", "i", "h", "b", "lt", "lb", "v", "vt", "vb", "p"):
        return None
    if sub in ("x", "e"):
        out = [w for w in call.args if w.text.startswith("-o")]
        dests = [after(w, 2) for w in out] or (
            ops[2:3] if call.name.lower() in ("unrar", "rar") and len(ops) > 2 else [Word.lit(".")]
        )
        for w in dests:
            c.check(
                w, call.cwds, f"`{call.name} {sub}` extracts into", rooted=call.rooted, link=True
            )
        return None
    if len(ops) > 1:
        c.check(ops[1], call.cwds, f"`{call.name} {sub}` writes", rooted=call.rooted)
    return None


@handles("cpio")
def h_cpio(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, spec("DFOIEHRMC", "directory= file= extract create pass-through list"))
    if opts.has("-t", "--list"):
        return None
    if opts.has("-i", "--extract"):
        where = (opts.values("-D", "--directory") or [Word.lit(".")])[-1]
        c.check(where, call.cwds, "`cpio -i` extracts into", rooted=call.rooted, link=True)
    if opts.has("-p", "--pass-through"):
        for w in opts.operands[:1]:
            c.check(w, call.cwds, "`cpio -p` copies into", rooted=call.rooted, link=True)
    if opts.has("-o", "--create"):
        for w in opts.values("-O", "-F", "--file"):
            c.check(w, call.cwds, "`cpio -o` writes", rooted=call.rooted)
    return None


@handles("ar")
def h_ar(c: Classifier, call: Call) -> Result:
    ops = positionals(call.args)
    if not ops:
        return None
    if ops[0].value is None:
        raise unsure(call)
    keys = ops[0].value.lstrip("-")
    if set(keys) <= set("tpvOPTU"):
        return None
    if "x" in keys:
        c.check(Word.lit("."), call.cwds, "`ar x` extracts into", rooted=call.rooted)
    elif len(ops) > 1:
        c.check(ops[1], call.cwds, "`ar` writes", rooted=call.rooted)
    return None


@handles("tar", "gtar", "bsdtar")
def h_tar(c: Classifier, call: Call) -> Result:
    args = list(call.args)
    env = call.env.get("TAR_OPTIONS")
    if env is not None or "TAR_OPTIONS" in c.touched:
        if env is None or env.value is None:
            raise Mutation("`tar` with TAR_OPTIONS the guard cannot read")
        args = [Word.lit(v) for v in env.value.split()] + args
    if args and args[0].value and not args[0].value.startswith("-"):
        args = _tar_old_style(args)  # `tar xzf a.tgz` is `tar -x -z -f a.tgz`
    found = read(args, TAR_SPEC)
    if found.unsure:
        raise unsure(call)
    modes = {TAR_MODES[n[1]] for n, _ in found.seen if len(n) == 2 and n[1] in TAR_MODES}
    modes |= {TAR_LONG_MODES[n] for n, _ in found.seen if n in TAR_LONG_MODES}
    if found.has(
        "--to-command",
        "--checkpoint-action",
        "--info-script",
        "--new-volume-script",
        "--use-compress-program",
        "-I",
        "-F",
        "--rsh-command",
    ):
        raise Mutation("`tar` runs a command the guard does not read")
    if "extract" in modes and not found.has("-O", "--to-stdout"):
        if found.has("-P", "--absolute-names"):
            raise Mutation("`tar -P` extracts to the paths the archive names")
        where = (found.values("-C", "--directory") or [Word.lit(".")])[-1]
        c.check(where, call.cwds, "`tar` extracts into", rooted=call.rooted, link=True)
    if modes & {"create", "append", "update", "catenate", "delete"}:
        for w in found.values("-f", "--file"):
            if w.value != "-":
                c.check(w, call.cwds, "`tar` writes", rooted=call.rooted)
        if found.has("--remove-files"):
            for w in found.operands:
                c.check(w, call.cwds, "`tar --remove-files` deletes", rooted=call.rooted)
    for w in found.values("-g", "--listed-incremental", "--index-file", "--volno-file"):
        c.check(w, call.cwds, "`tar` writes", rooted=call.rooted)
    return None


def _tar_old_style(args: list[Word]) -> list[Word]:
    letters = args[0].value or ""
    out: list[Word] = []
    rest = args[1:]
    for ch in letters:
        out.append(Word.lit("-" + ch))
        if ch in TAR_SHORT_VALUE and rest:
            out.append(rest.pop(0))
    return out + rest
