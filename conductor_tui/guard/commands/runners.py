"""Programs that run other commands: find -exec, parallel, flock, script, busybox."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..calls import Call, Mutation, Result
from ..lexer import DYN, Word
from ..tables import (
    FIND_ACTIONS,
    FIND_WRITES,
    FLOCK_SPEC,
    SCRIPT_SPEC,
    words,
)
from .base import (
    after,
    handles,
    opts_of,
    values,
)

if TYPE_CHECKING:
    from ..classify import Classifier


_FIND_VALUE = words(
    "-name -iname -path -ipath -regex -iregex -type -xtype -user -group -perm -size -mtime "
    "-atime -ctime -mmin -amin -cmin -newer -anewer -cnewer -samefile -inum -links -maxdepth "
    "-mindepth -printf -lname -ilname -wholename -iwholename -fstype -uid -gid -used -context "
    "-files0-from -regextype"
)


@handles("find", "gfind", "bfs")
def h_find(c: Classifier, call: Call) -> Result:
    args = call.args
    follow = False
    i = 0
    while i < len(args) and (args[i].value or "")[:2] in ("-H", "-L", "-P", "-D", "-O"):
        option = args[i].value or ""
        follow = follow or option == "-L"
        i += 2 if option == "-D" else 1
    starts: list[Word] = []
    while i < len(args):
        v = args[i].value
        if v is not None and (v.startswith("-") or v in ("(", "!", ",", ")")):
            break
        starts.append(args[i])
        i += 1
    starts = starts or [Word.lit(".")]
    k = i
    while k < len(args):
        w = args[k]
        v = w.value
        if v is None:
            if w.text.startswith(DYN):
                raise Mutation("`find` with an expression computed at run time")
            k += 1
            continue
        if v in ("-L", "-follow"):
            follow = True
        if v == "-delete":
            for s in starts:
                c.check(s, call.cwds, "`find -delete` deletes under", rooted=call.rooted or follow)
            c.removed = True
        elif v in FIND_WRITES and k + 1 < len(args):
            c.check(args[k + 1], call.cwds, f"`find {v}` writes", rooted=call.rooted)
            k += 1
        elif v == "-fprintf" and k + 1 < len(args):
            c.check(args[k + 1], call.cwds, "`find -fprintf` writes", rooted=call.rooted)
            k += 2
        elif v in FIND_ACTIONS:
            command: list[Word] = []
            k += 1
            while k < len(args) and args[k].value not in (";", "+"):
                command.append(args[k])
                k += 1
            command = [Word.unknown(x.raw) if "{}" in x.text else x for x in command]
            if command:
                cwds = None if v in ("-execdir", "-okdir") else call.cwds
                c.run(call.then(command, cwds=cwds))
        elif v in _FIND_VALUE or re.fullmatch(r"-newer[aBcmt]{2}", v):
            k += 1
        k += 1
    return None


_PARALLEL_VALUE = words(
    "-j -P --jobs -S --sshlogin -a --arg-file -d --delimiter -E --eof -I --replace -n "
    "--max-args -N -L --max-lines -l -s --max-chars --colsep -C --delay --timeout --joblog "
    "--results --res --tmpdir --workdir --wd --tag-string --tagstring --retries --load "
    "--memfree --nice --halt --ssh --sshloginfile --slf --basefile --bf --return --env "
    "--template --shebang-wrap"
)


_SOURCES = words("::: :::: :::+ ::::+")


@handles("parallel", "sem")
def h_parallel(c: Classifier, call: Call) -> Result:
    args = call.args
    i = 0
    while i < len(args):
        v = args[i].value
        if v is None or not v.startswith("-") or v in _SOURCES:
            break
        option = v.split("=", 1)[0]
        if option in ("--joblog", "--results", "--res", "--template") and i + 1 < len(args):
            target = after(args[i], len(option) + 1) if "=" in v else args[i + 1]
            c.check(target, call.cwds, f"`parallel {option}` writes", rooted=call.rooted)
        i += 2 if (v in _PARALLEL_VALUE and "=" not in v) else 1
    command: list[Word] = []
    while i < len(args) and args[i].value not in _SOURCES:
        command.append(args[i])
        i += 1
    sources = args[i:]
    if command:
        text = values(command)
        if text is None:
            raise Mutation("`parallel` runs a command computed at run time")
        line = " ".join(text)
        placed = re.sub(r"\{[^}]*\}", '"$parallel_arg"', line)
        if placed == line:
            placed += ' "$parallel_arg"'  # arguments go at the end when no {} places them
        c.text(placed, call.cwds, call.depth + 1)
        return None
    if not sources or sources[0].value != ":::":
        raise Mutation("`parallel` runs commands it reads from its input or a file")
    for w in sources[1:]:
        if w.value in _SOURCES:
            break
        c.shell_string(w, call, "`parallel`")
    return None


@handles("flock")
def h_flock(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, FLOCK_SPEC)
    if not opts.operands:
        return None
    lock = opts.operands[0]
    if not (lock.value or "").isdigit():
        c.check(lock, call.cwds, "`flock` creates its lock file", rooted=call.rooted)
    for w in opts.values("-c", "--command"):
        c.shell_string(w, call, "`flock -c`")
        return None
    rest = opts.operands[1:]
    if rest and rest[0].value == "-c" and len(rest) > 1:
        c.shell_string(rest[1], call, "`flock -c`")
    elif rest:
        c.run(call.then(rest))
    return None


@handles("script")
def h_script(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, SCRIPT_SPEC)
    for w in opts.values("-c", "--command"):
        c.shell_string(w, call, "`script -c`")
    logs = [
        v
        for o, v in opts.seen
        if o
        in (
            "-T",
            "--log-timing",
            "-I",
            "--log-in",
            "-O",
            "--log-out",
            "-B",
            "--log-io",
            "-t",
            "--timing",
        )
        and v is not None
        and v.text
    ]
    for w in logs:
        c.check(w, call.cwds, "`script` writes", rooted=call.rooted)
    if opts.operands:
        c.check(
            opts.operands[0], call.cwds, "`script` writes its typescript to", rooted=call.rooted
        )
        if len(opts.operands) > 1:  # BSD: script FILE COMMAND...
            c.run(call.then(opts.operands[1:]))
    elif not logs:
        c.check(
            Word.lit("typescript"),
            call.cwds,
            "`script` writes its typescript to",
            rooted=call.rooted,
        )
    return None


@handles("busybox", "toybox")
def h_busybox(c: Classifier, call: Call) -> Result:
    if not call.args:
        return None
    if call.args[0].value in ("--install", "--list", "--help"):
        if call.args[0].value == "--install":
            raise Mutation(f"`{call.name} --install` makes links")
        return None
    return c.run(call.then(call.args))


@handles("coreutils")
def h_coreutils(c: Classifier, call: Call) -> Result:
    for k, w in enumerate(call.args):
        v = w.value or ""
        if v.startswith("--coreutils-prog="):
            return c.run(call.then([after(w, 17), *call.args[k + 1 :]]))
    return None
