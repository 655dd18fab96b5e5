"""Programs that change the files they are given: rm, mv, cp, ln, tee, dd, chmod, editors..."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..calls import Call, Mutation, Result
from ..lexer import DYN, Word
from ..opts import Options, spec
from ..tables import (
    CHATTR_MODE,
    CHMOD_SPEC,
    CHOWN_SPEC,
    CP_SPEC,
    CSPLIT_SPEC,
    ICONV_SPEC,
    INSTALL_SPEC,
    LN_SPEC,
    MODE,
    MV_SPEC,
    PATCH_SPEC,
    REMOVERS,
    RMDIR_SPEC,
    RSYNC_SPEC,
    SCP_SPEC,
    SETFACL_SPEC,
    SETFATTR_SPEC,
    SHUF_SPEC,
    SORT_SPEC,
    SPLIT_SPEC,
    TEE_SPEC,
    UNIQ_SPEC,
    XXD_SPEC,
    words,
)
from .base import (
    after,
    handles,
    join,
    opts_of,
    positionals,
    unsure,
)

if TYPE_CHECKING:
    from ..classify import Classifier


_DELETERS = words("rm unlink shred srm wipe trash trash-put")


@handles(*REMOVERS)
def h_files(c: Classifier, call: Call) -> Result:
    name = call.name.lower()
    how, verb = REMOVERS[name]
    opts = opts_of(call, how)
    operands = opts.operands
    if name in ("rename", "prename", "file-rename"):
        operands = operands[1:]
    elif name == "mknod":
        operands = operands[:1]
    elif name == "gio":
        if not operands or operands[0].value not in (
            "copy",
            "move",
            "remove",
            "rename",
            "save",
            "set",
            "trash",
            "mkdir",
            "mount",
        ):
            return None
        operands = operands[1:]
    for w in operands:
        c.check(w, call.cwds, f"`{call.name}` {verb}", rooted=call.rooted)
    if name in _DELETERS:
        c.removed = True
    return None


@handles("rmdir")
def h_rmdir(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, RMDIR_SPEC)
    for w in opts.operands:
        c.check(w, call.cwds, "`rmdir` deletes", rooted=call.rooted)
        if opts.has("-p", "--parents") and w.value:
            parts = w.value.rstrip("/").split("/")
            for k in range(1, len(parts)):
                prefix = "/".join(parts[:k]) or "/"
                c.check(Word.lit(prefix), call.cwds, "`rmdir -p` deletes", rooted=call.rooted)
    c.removed = True
    return None


@handles("chmod", "chown", "chgrp", "lchown", "chattr", "setfacl", "setfattr")
def h_modes(c: Classifier, call: Call) -> Result:
    name = call.name.lower()
    how = {"chmod": CHMOD_SPEC, "chattr": spec("vp"), "setfacl": SETFACL_SPEC}.get(
        name, SETFATTR_SPEC if name == "setfattr" else CHOWN_SPEC
    )
    opts = opts_of(call, how)
    operands = opts.operands
    if opts.has("--restore"):
        raise Mutation(f"`{call.name} --restore` changes the files its input names")
    if name == "chattr":
        operands = [w for w in operands if not (w.value and CHATTR_MODE.fullmatch(w.value))]
    elif name == "chmod" and not opts.has("--reference") and operands:
        first = operands[0]
        if first.value is None or MODE.fullmatch(first.value):
            operands = operands[1:]
    elif name in ("chown", "chgrp", "lchown") and not opts.has("--reference"):
        operands = operands[1:]
    for w in operands:
        c.check(w, call.cwds, f"`{call.name}` changes", rooted=call.rooted)
    return None


@handles("mv")
def h_mv(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, MV_SPEC)
    into = opts.values("-t", "--target-directory")
    for w in [*opts.operands, *into]:
        c.check(w, call.cwds, "`mv` moves", rooted=call.rooted)
    for w in into or opts.operands[-1:]:
        c.check(w, call.cwds, "`mv` moves", rooted=call.rooted, link=True)
    c.removed = True
    return None


def _destination(opts: Options) -> tuple[list[Word], list[Word]]:
    """Destination and sources of a cp-like command (the last operand, or -t DIR)."""
    into = opts.values("-t", "--target-directory")
    if into:
        return into, opts.operands
    if len(opts.operands) >= 2:
        return opts.operands[-1:], opts.operands[:-1]
    return [], opts.operands


@handles("cp", "gcp")
def h_cp(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, CP_SPEC)
    dest, sources = _destination(opts)
    if opts.has("-l", "--link"):
        for w in sources:
            if c.inside(w, call.cwds, rooted=call.rooted):
                raise Mutation("`cp -l` hard-links a file of the project")
    tree = opts.has(
        "-a",
        "--archive",
        "-r",
        "-R",
        "--recursive",
        "-d",
        "-P",
        "--no-dereference",
        "-s",
        "--symbolic-link",
    )
    for w in dest:
        c.check(w, call.cwds, "`cp` writes", rooted=call.rooted, link=tree)
    return None


@handles("install", "ginstall")
def h_install(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, INSTALL_SPEC)
    dest = opts.operands if opts.has("-d", "--directory") else _destination(opts)[0]
    for w in dest:
        c.check(w, call.cwds, "`install` writes", rooted=call.rooted)
    return None


@handles("ln", "gln", "link")
def h_ln(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, LN_SPEC if call.name.lower() != "link" else spec())
    symbolic = opts.has("-s", "--symbolic")
    dest, sources = _destination(opts)
    if not dest and len(sources) == 1:  # `ln -s TARGET`: a link named after it, here
        base = (sources[0].value or "").rstrip("/").rsplit("/", 1)[-1]
        dest = [Word.lit(base) if base else Word.unknown(sources[0].raw)]
    if not symbolic:
        for w in sources:
            if c.inside(w, call.cwds, rooted=call.rooted):
                raise Mutation("`ln` hard-links a file of the project")
    for w in dest:
        c.check(w, call.cwds, "`ln` makes a link at", rooted=call.rooted, link=True)
    return None


@handles("tee")
def h_tee(c: Classifier, call: Call) -> Result:
    for w in opts_of(call, TEE_SPEC).operands:
        c.check(w, call.cwds, "`tee` writes", rooted=call.rooted)
    return None


@handles("dd")
def h_dd(c: Classifier, call: Call) -> Result:
    for w in call.args:
        if w.text.startswith("of="):
            c.check(after(w, 3), call.cwds, "`dd` writes", rooted=call.rooted)
        elif w.text.startswith(DYN):
            raise unsure(call)
    return None


@handles("split", "csplit", "gsplit")
def h_split(c: Classifier, call: Call) -> Result:
    if call.name.lower() == "csplit":
        opts = opts_of(call, CSPLIT_SPEC)
        prefix = (opts.values("-f", "--prefix") or [Word.lit("xx")])[-1]
    else:
        opts = opts_of(call, SPLIT_SPEC)
        prefix = opts.operands[1] if len(opts.operands) > 1 else Word.lit("x")
        for command in opts.values("--filter"):
            c.shell_string(command, call, "`split --filter`")
            return None
    c.check(prefix, call.cwds, f"`{call.name}` writes files named", rooted=call.rooted)
    return None


@handles("patch", "gpatch")
def h_patch(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, PATCH_SPEC)
    if opts.has("--dry-run"):
        return None
    for w in opts.values("-r", "--reject-file"):
        c.check(w, call.cwds, "`patch` writes rejects to", rooted=call.rooted)
    outputs = opts.values("-o", "--output")
    if outputs:
        for w in outputs:
            if w.value != "-":
                c.check(w, call.cwds, "`patch -o` writes", rooted=call.rooted)
        return None
    if len(opts.operands) >= 1 and not opts.has("-i", "--input") and opts.operands[0].value:
        c.check(opts.operands[0], call.cwds, "`patch` changes", rooted=call.rooted)
        return None
    where = (opts.values("-d", "--directory") or [Word.lit(".")])[-1]
    c.check(where, call.cwds, "`patch` changes files under", rooted=call.rooted)
    return None


_REMOTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|[^/:]+:)")


@handles("rsync")
def h_rsync(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, RSYNC_SPEC)
    for command in opts.values("-e", "--rsh"):
        c.shell_string(command, call, "`rsync -e`")
    if opts.has("-n", "--dry-run", "--list-only"):
        return None
    for w in opts.values("--log-file", "--write-batch", "--only-write-batch"):
        c.check(w, call.cwds, "`rsync` writes", rooted=call.rooted)
    if len(opts.operands) < 2:
        return None
    dest, sources = opts.operands[-1], opts.operands[:-1]
    if opts.has("--remove-source-files"):
        for w in sources:
            c.check(w, call.cwds, "`rsync --remove-source-files` deletes", rooted=call.rooted)
    if dest.value is not None and _REMOTE.match(dest.value):
        return None
    c.check(dest, call.cwds, "`rsync` writes", rooted=call.rooted, link=True)
    return None


@handles("scp")
def h_scp(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, SCP_SPEC)
    if len(opts.operands) < 2:
        return None
    dest = opts.operands[-1]
    if dest.value is not None and _REMOTE.match(dest.value):
        return None
    c.check(dest, call.cwds, "`scp` writes", rooted=call.rooted, link=True)
    return None


@handles("sort", "gsort")
def h_sort(c: Classifier, call: Call) -> Result:
    for w in opts_of(call, SORT_SPEC).values("-o", "--output"):
        c.check(w, call.cwds, "`sort -o` writes", rooted=call.rooted)
    return None


@handles("uniq", "xxd")
def h_second_operand(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, UNIQ_SPEC if call.name.lower() == "uniq" else XXD_SPEC)
    if len(opts.operands) > 1 and opts.operands[1].value != "-":
        c.check(opts.operands[1], call.cwds, f"`{call.name}` writes", rooted=call.rooted)
    return None


@handles("shuf", "iconv")
def h_output_option(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, SHUF_SPEC if call.name.lower() == "shuf" else ICONV_SPEC)
    for w in opts.values("-o", "--output"):
        c.check(w, call.cwds, f"`{call.name} -o` writes", rooted=call.rooted)
    return None


@handles("mktemp")
def h_mktemp(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, spec("p", "directory dry-run quiet suffix= tmpdir? tmpdir= "))
    if opts.has("-u", "--dry-run"):
        return None
    bases = [w for w in opts.values("-p", "--tmpdir") if w.text]
    base: Word | None = bases[-1] if bases else None
    template = opts.operands[-1] if opts.operands else Word.lit("tmp.XXXXXXXXXX")
    in_tmp = not opts.operands or opts.has("-t", "--tmpdir", "-p")
    if in_tmp and base is None:
        if "TMPDIR" in c.touched:
            raise Mutation("`mktemp` under a TMPDIR the command sets")
        base = Word.lit(c.env.get("TMPDIR") or "/tmp")
    target = join(base, template.value or "x") if in_tmp else template
    c.check(target, call.cwds, "`mktemp` creates", rooted=call.rooted)
    return None


_EDITORS = words(
    "vi vim nvim gvim ex view vimdiff nano pico emacs emacsclient ed red micro kak hx helix joe "
    "jed mcedit ne gedit kate mg zile"
)


@handles(*_EDITORS)
def h_editor(c: Classifier, call: Call) -> Result:
    if call.args and all(w.value in ("--version", "--help", "-h") for w in call.args):
        return None
    raise Mutation(f"`{call.name}` edits files")


@handles("mount", "umount", "losetup", "swapon", "mkfs", "fsck")
def h_mount(c: Classifier, call: Call) -> Result:
    if call.name.lower() == "mount" and not positionals(call.args):
        return None  # lists the mounts
    raise Mutation(f"`{call.name}` changes what the file system shows")
