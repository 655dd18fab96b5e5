"""Assorted tools with file outputs or escape hatches: sqlite, ctags, pandoc, pagers, tmux..."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..calls import Call, Mutation, Result
from ..lexer import Word
from ..tables import (
    SQLITE,
    words,
)
from .base import (
    _has,
    after,
    handles,
    positionals,
)

if TYPE_CHECKING:
    from ..classify import Classifier


@handles(*SQLITE, "duckdb")
def h_sqlite(c: Classifier, call: Call) -> Result:
    texts = [w.value for w in call.args]
    if any(t is None for t in texts[1:]):
        raise Mutation(f"`{call.name}` runs SQL computed at run time")
    risky = re.compile(
        r"(?i)\.(?:shell|system|output|once|save|backup|excel|log|import|clone)\b"
        r"|\battach\b|\bvacuum\s+into\b|\bload_extension\b|\bcopy\b.*\bto\b"
    )
    if any(t and risky.search(t) for t in texts):
        raise Mutation(f"`{call.name}` runs a command that writes files or runs programs")
    if call.stdin is not None and (call.stdin.kind == "unknown" or risky.search(call.stdin.text)):
        raise Mutation(f"`{call.name}` reads SQL the guard cannot check")
    pos = positionals(
        call.args,
        words(
            "-cmd -separator -newline -nullvalue -init -vfs "
            "-maxsize -mmap -pagecache -lookaside -heap"
        ),
    )
    if pos and not _has(call, "-readonly", "--readonly") and pos[0].value not in (":memory:",):
        c.check(pos[0], call.cwds, f"`{call.name}` opens for writing", rooted=call.rooted)
    return None


@handles("ctags", "etags", "uctags", "exctags")
def h_ctags(c: Classifier, call: Call) -> Result:
    if _has(call, "-x", "--version", "--help", "--list-languages"):
        return None
    outs = [
        call.args[k + 1]
        for k, w in enumerate(call.args)
        if w.value in ("-f", "-o") and k + 1 < len(call.args)
    ]
    outs += [
        after(w, 2)
        for w in call.args
        if (w.value or "")[:2] in ("-f", "-o") and len(w.value or "") > 2
    ]
    default = "TAGS" if call.name.lower() == "etags" else "tags"
    for w in outs or [Word.lit(default)]:
        if w.value != "-":
            c.check(w, call.cwds, f"`{call.name}` writes", rooted=call.rooted)
    return None


@handles("pandoc", "gpg", "gpg2", "openssl", "ssh-keygen", "convert", "magick", "ffmpeg", "mogrify")
def h_outputs(c: Classifier, call: Call) -> Result:
    name = call.name.lower()
    args = call.args
    flags = {
        "pandoc": ("-o", "--output", "--extract-media"),
        "gpg": ("-o", "--output"),
        "gpg2": ("-o", "--output"),
        "openssl": ("-out", "-keyout", "-certout"),
        "ssh-keygen": ("-f",),
    }.get(name, ())
    for k, w in enumerate(args):
        v = w.value or ""
        option, eq, _ = v.partition("=")
        if option in flags:
            target = (
                after(w, len(option) + 1) if eq else (args[k + 1] if k + 1 < len(args) else None)
            )
            if target is not None and target.value != "-":
                if name == "ssh-keygen" and _has(call, "-l", "-y", "-F", "-H", "-R", "-Y", "-D"):
                    continue
                c.check(target, call.cwds, f"`{call.name}` writes", rooted=call.rooted)
    if name in ("gpg", "gpg2") and _has(call, "--decrypt-files", "--encrypt-files", "--sign-files"):
        raise Mutation(f"`{call.name}` writes files beside its input")
    if name in ("convert", "magick", "ffmpeg") and args:
        last = args[-1]
        if name == "magick" and args[0].value in ("identify", "compare", "display"):
            return None
        if (last.value or "x")[:1] != "-" and last.value not in ("pipe:", "pipe:1", "null"):
            c.check(last, call.cwds, f"`{call.name}` writes", rooted=call.rooted)
    if name == "mogrify":
        for w in positionals(args):
            c.check(w, call.cwds, "`mogrify` rewrites", rooted=call.rooted)
    return None


@handles("at", "batch", "crontab", "systemd-run")
def h_later(c: Classifier, call: Call) -> Result:
    if call.name.lower() == "crontab" and _has(call, "-l"):
        return None
    if call.name.lower() == "at" and _has(call, "-l", "-c", "-V"):
        return None
    raise Mutation(f"`{call.name}` runs commands later, out of the guard's sight")


@handles("tmux", "screen", "zellij")
def h_terminal(c: Classifier, call: Call) -> Result:
    pos = [w.value for w in positionals(call.args, words("-L -S -f -t -s -n -c -e -F -x -y -T"))]
    runs = words(
        "send-keys send run-shell run if-shell if pipe-pane pipep source-file source new-session "
        "new new-window neww split-window splitw respawn-pane respawnp respawn-window respawnw "
        "display-popup popup stuff exec run action"
    )
    if call.name.lower() == "screen" or any(v in runs for v in pos) or "-X" in pos:
        raise Mutation(f"`{call.name}` runs or types commands in another terminal")
    return None


@handles("gdb", "lldb")
def h_debugger(c: Classifier, call: Call) -> Result:
    if _has(
        call,
        "-batch",
        "--batch",
        "-ex",
        "--eval-command",
        "-x",
        "--command",
        "-o",
        "--one-line",
        "-s",
        "--source",
    ):
        raise Mutation(f"`{call.name}` runs debugger commands")
    return None


@handles("less", "more", "most", "man")
def h_pager(c: Classifier, call: Call) -> Result:
    args = call.args
    for k, w in enumerate(args):
        v = w.value
        if v is None:
            continue
        if call.name.lower() == "man" and v in ("-P", "--pager") and k + 1 < len(args):
            c.shell_string(args[k + 1], call, "`man -P`")
        elif call.name.lower() == "man" and v.startswith("--pager="):
            c.shell_string(after(w, 8), call, "`man -P`")
        elif call.name.lower() != "man" and v.startswith("+") and "!" in v:
            raise Mutation(f"`{call.name}` runs a command given as an initial command")
        elif v in ("-o", "-O") and k + 1 < len(args) and call.name.lower() == "less":
            c.check(args[k + 1], call.cwds, "`less -o` writes", rooted=call.rooted)
        elif v.startswith(("--log-file=", "--LOG-FILE=")):
            c.check(after(w, 11), call.cwds, "`less` writes", rooted=call.rooted)
    return None
