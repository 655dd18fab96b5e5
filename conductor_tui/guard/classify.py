"""Does a shell command line write into the tree? The walk over the parsed command.

The classifier follows a command as bash would run it: lists in order, `&&` and `||` with what
each branch may leave behind, pipelines (their parts run in subshells), substitutions,
redirections, compound commands, functions, `eval`, `source`, `bash -c` and the like. It tracks
the set of directories the shell may be in: a `cd` moves it only where the `cd` surely ran (after
`&&`, or to a directory that exists), and a relative path is outside only if it is outside from
every directory the shell may be in. An unknown directory makes a relative path inside.

What each known program writes is commands.py's business; this module handles the shell itself,
the wrappers that run another command, and programs that read their program text from their
input. Anything it cannot read counts as a write: it fails closed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

from ..text import safe
from . import commands
from .calls import Call, Cwds, Mutation, Result, Stdin
from .inline import code_writes
from .lexer import (
    DYN,
    MAX_DEPTH,
    AndOr,
    Command,
    Compound,
    Pipeline,
    Redirect,
    Script,
    ShellSyntaxError,
    Simple,
    TooDeep,
    Word,
    parse,
    parse_text,
)
from .opts import read
from .tables import (
    COMMAND_VARS,
    ENV_SPEC,
    GIT_CONFIG_VARS,
    GIT_PLACE_VARS,
    OPAQUE,
    OPTION_VARS,
    SHELLS,
    SU_SPEC,
    SUDO_SPEC,
    WRAPPERS,
    XARGS_SPEC,
)
from .where import Resolved, Scope, encodable, expand_tilde, resolve, within

MAX_COMMAND = 256 * 1024  # a longer command line is not read: it counts as a write
MAX_SCRIPT = 64 * 1024  # a longer script given to `source` is not read: it counts as a write
_STDIN_NAMES = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})

_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?\+?=")
_UPPER = re.compile(r"\b[A-Z_][A-Z0-9_]*\b")
# Names a command line may assign: `NAME=`, and the names after read, export, declare, for...
_ASSIGNED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[[^\]]*\])?\+?=")
_SETTERS = re.compile(
    r"\b(?:read|export|declare|typeset|local|readonly|mapfile|readarray|for|select|getopts"
    r"|printf\s+-v)\b([^;&|\n]*)"
)
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
# Descriptor games that could point /dev/stdout or /dev/stderr at a file: `1<file`, `>&3`, `{fd}>`
_STD_GAMES = re.compile(r"[12]\s*<|[<>]&(?!\s*[12-](?![0-9]))|\{[A-Za-z_]\w*\}\s*[<>]")
# Contexts where bash evaluates text as arithmetic, in which `a[$(cmd)]` runs cmd
_ARITH = re.compile(
    r"\(\(|\blet\b|\[\[|\b(?:declare|typeset|local|export|readonly)\s+-\w*i|\$\{[^}]*[\[:]"
)
_SENSITIVE = frozenset({"HOME", "CDPATH", "TMPDIR", "PWD", "OLDPWD"}) | OPTION_VARS
_SAME_SHELL = frozenset({"command", "builtin", "!", "noglob", "nocorrect"})
_DECLARE = frozenset({"declare", "typeset", "export", "local", "readonly"})
_NOTHING = frozenset(
    {"true", "false", ":", "echo", "printf", "test", "[", "read", "unset", "set", "shopt"}
)
Handler = Callable[[Call], Result]


def assignment(w: Word) -> tuple[str, Word] | None:
    """`NAME=value` (or `NAME+=`, `NAME[i]=`) as a name and a value word, else None."""
    m = _ASSIGN.match(w.raw)
    if not m:
        return None
    name = m.group(1)
    if m.group(2):  # an array element: where the value goes does not matter here
        return name, Word(text=DYN, raw=w.raw[m.end() :], subs=w.subs, hidden=w.hidden)
    prefix = m.group()
    value = w.text[len(prefix) :] if w.text.startswith(prefix) else DYN
    raw = w.raw[m.end() :]
    return name, Word(
        text=value,
        raw=raw,
        quoted=w.quoted,
        tilde=raw.startswith("~"),
        subs=w.subs,
        hidden=w.hidden,
    )


def union(a: Cwds, b: Cwds) -> Cwds:
    """The directories either of two outcomes may leave the shell in."""
    if a is None or b is None:
        return None
    return a | b


class Classifier:
    """One command line's reading, against a scope (the project and the store)."""

    def __init__(self, scope: Scope, cwd: str | None, env: Mapping[str, str] | None = None):
        self.scope = scope
        self.env: Mapping[str, str] = os.environ if env is None else env
        usable = cwd and os.path.isabs(cwd) and encodable(cwd)
        start = os.path.realpath(cwd) if usable and cwd else None
        self.start: Cwds = frozenset({start}) if start else None
        self.links: list[str] = []  # links (and trees that may hold links) the command makes
        self.exempted: list[str] = []  # writes found outside the tree, checked against links
        self.functions: set[str] = set()
        self.aliases: dict[str, str] = {}  # aliases the command line defines, by name
        self.removed = False  # something was deleted or moved: an existing directory may go
        self.std_ok = True  # /dev/stdout and /dev/stderr are still the agent's streams
        self.arith = False  # quoted `$(` may run, through arithmetic
        self.touched: set[str] = set()  # sensitive variables the command line mentions
        self.assigned: set[str] = set()  # variables the command line may assign
        home = self.env.get("HOME", "")
        self.home: str | None = home if os.path.isabs(home) else None
        self.cdpath = bool(self.env.get("CDPATH"))
        self.own: dict[str, Handler] = {
            "cd": self.h_cd,
            "pushd": self.h_cd,
            "popd": self.h_popd,
            "eval": self.h_eval,
            "source": self.h_source,
            ".": self.h_source,
            "alias": self.h_alias,
            "trap": self.h_trap,
            "mapfile": self.h_mapfile,
            "readarray": self.h_mapfile,
            "enable": self.h_refuse,
            "fc": self.h_refuse,
            "sudo": self.h_sudo,
            "sudoedit": self.h_sudo,
            "su": self.h_su,
            "runuser": self.h_su,
            "env": self.h_env,
            "xargs": self.h_xargs,
        }
        for name in _DECLARE:
            self.own[name] = self.h_declare
        for name in WRAPPERS:
            self.own[name] = self.h_wrapper
        for name in SHELLS:
            self.own[name] = self.h_shell
        for name in OPAQUE:
            self.own[name] = self.h_opaque

    # ------------------------------------------------------------ entry

    def command_line(self, text: str) -> str | None:
        """Why the command line writes into the tree, or None when it does not."""
        if len(text) > MAX_COMMAND:
            return f"the command is too long to read ({len(text)} characters)"
        try:
            self.text(text, self.start, 0)
            self.check_links()
        except Mutation as exc:
            return safe(exc.reason, 300)  # a reason may quote the command: one printable line
        except TooDeep:
            return "the command is nested too deeply to read"
        except ShellSyntaxError as exc:
            return f"the command cannot be read as shell ({exc})"
        return None

    def prescan(self, text: str) -> None:
        """What the whole text tells before any part runs: variables it may set, fd games."""
        self.touched |= _SENSITIVE.intersection(_UPPER.findall(text))
        self.touched |= GIT_PLACE_VARS.intersection(_UPPER.findall(text))
        self.touched |= GIT_CONFIG_VARS.intersection(_UPPER.findall(text))
        self.assigned |= set(_ASSIGNED.findall(text))
        for m in _SETTERS.finditer(text):
            self.assigned |= set(_IDENT.findall(m.group(1)))
        if "HOME" in self.touched:
            self.home = None
        if "CDPATH" in self.touched:
            self.cdpath = True
        self.std_ok = self.std_ok and not _STD_GAMES.search(text)
        self.arith = self.arith or bool(_ARITH.search(text))

    def text(self, text: str, cwds: Cwds, depth: int) -> Cwds:
        """Read shell text run by this shell (eval, source) or a child (pass the cwds, ignore)."""
        if depth > MAX_DEPTH:
            raise TooDeep("nested too deeply")
        self.prescan(text)
        return self.walk(parse(text, depth), cwds, depth)

    def shell_string(self, w: Word, call: Call, what: str) -> None:
        """A word that a shell runs as a command line (`bash -c`, `su -c`, `watch`)."""
        if w.value is None:
            raise Mutation(f"{what} runs a command computed at run time ({safe(w.raw, 40)})")
        if call.rooted:
            self.rooted_text(w.value, call)
            return
        self.text(w.value, call.cwds, call.depth + 1)

    def rooted_text(self, text: str, call: Call) -> None:
        """Shell text run where no path can be placed (another root, another machine)."""
        inner = Classifier(Scope((), (), ()), None, self.env)
        inner.touched = set(self.touched)
        try:
            inner.text(text, None, call.depth + 1)  # the same depth count: no fresh start
        except Mutation as exc:
            raise Mutation(f"{exc.reason} (in a place the guard cannot see)") from None

    def joined(self, words: list[Word], call: Call, what: str) -> None:
        """Operands a program joins with spaces and runs as a shell command line."""
        values = [w.value for w in words]
        if any(v is None for v in values):
            raise Mutation(f"{what} runs a command computed at run time")
        self.shell_string(Word.lit(" ".join(v for v in values if v is not None)), call, what)

    # ------------------------------------------------------------ the walk

    def walk(self, script: Script, cwds: Cwds, depth: int) -> Cwds:
        """Read a list; return the directories the shell may be in after it."""
        for item in script.items:
            after = self.and_or(item, cwds, depth)
            if not item.background:
                cwds = after
        return cwds

    def and_or(self, item: AndOr, cwds: Cwds, depth: int) -> Cwds:
        ok, failed = self.pipeline(item.first, cwds, depth)
        for op, pipeline in item.rest:
            entry = ok if op == "&&" else failed
            if entry is not None and not entry:
                entry = cwds  # a branch we think cannot run is read anyway, from the start
            ok2, failed2 = self.pipeline(pipeline, entry, depth)
            if op == "&&":
                ok, failed = ok2, union(failed, failed2)
            else:
                ok, failed = union(ok, ok2), failed2
        return union(ok, failed)

    def pipeline(self, p: Pipeline, cwds: Cwds, depth: int) -> tuple[Cwds, Cwds]:
        if len(p.commands) == 1:
            ok, failed = self.command(p.commands[0], cwds, depth, None)
        else:
            previous: Command | None = None
            for c in p.commands:  # each part runs in a subshell: no directory leaks out
                self.command(c, cwds, depth, previous)
                previous = c
            ok = failed = cwds
        return (failed, ok) if p.negated else (ok, failed)

    def command(
        self, c: Command, cwds: Cwds, depth: int, piped: Command | None
    ) -> tuple[Cwds, Cwds]:
        if isinstance(c, Compound):
            return self.compound(c, cwds, depth)
        return self.simple(c, cwds, depth, piped)

    def compound(self, c: Compound, cwds: Cwds, depth: int) -> tuple[Cwds, Cwds]:
        if depth + 1 > MAX_DEPTH:
            raise TooDeep("nested too deeply")
        for w in c.words:
            self.subs(w, cwds, depth)
        for r in c.redirects:
            self.redirect(r, cwds, depth)
        if c.kind in ("subshell", "coproc"):
            for body in c.bodies:
                self.walk(body, cwds, depth + 1)
            return cwds, cwds
        if c.kind == "group":
            after = self.walk(c.bodies[0], cwds, depth + 1)
            return after, after
        if c.kind == "function":
            # read the body now, from an unknown directory; calling it may move the shell
            name = c.name
            self.functions.add(name)
            self.walk(c.bodies[0], None, depth + 1)
            return cwds, cwds
        # if, loops, case: any part may run or not, loops again: gather every outcome
        acc = cwds
        for _ in range(2 if c.kind in ("while", "for") else 1):
            for body in c.bodies:
                acc = union(acc, self.walk(body, acc, depth + 1))
        return acc, acc

    def simple(self, c: Simple, cwds: Cwds, depth: int, piped: Command | None) -> tuple[Cwds, Cwds]:
        for w in c.words:
            self.subs(w, cwds, depth)
        for r in c.redirects:
            self.redirect(r, cwds, depth)
        words = list(c.words)
        env: dict[str, Word] = {}
        while words:
            found = assignment(words[0])
            if found is None:
                break
            env[found[0]] = found[1]
            words.pop(0)
        self.assignments(env, cwds, depth)
        if not words:
            return cwds, cwds
        stdin = self.stdin_of(c.redirects, piped)
        result = self.run(Call(words, cwds, depth, stdin, env))
        return result if result is not None else (cwds, cwds)

    def subs(self, w: Word, cwds: Cwds, depth: int) -> None:
        """Read the commands a word runs: substitutions, and quoted `$(` in arithmetic."""
        for sub in w.subs:
            self.walk(sub.script, cwds, depth + 1)
        if self.arith and w.hidden:
            for text in w.hidden:
                try:
                    hidden = parse_text(text, depth + 1)
                except ShellSyntaxError:
                    continue  # bash would fail on it too
                for sub in hidden:
                    self.walk(sub.script, cwds, depth + 1)

    def redirect(self, r: Redirect, cwds: Cwds, depth: int) -> None:
        for sub in r.subs:
            self.walk(sub.script, cwds, depth + 1)
        if r.target is None:
            return
        self.subs(r.target, cwds, depth)
        if r.op in ("<", "<<", "<<-", "<<<", "<&"):
            return
        t = r.target
        if (
            r.op == ">&"
            and t.value is not None
            and (t.value == "-" or t.value.rstrip("-").isdigit())
        ):
            return  # `>&2`, `2>&1`, `>&-`: descriptors, no file
        if any(s.kind == "out" for s in t.subs) and t.text == DYN:
            return  # `> >(cmd)`: a pipe into a command that is read on its own
        self.check(t, cwds, "redirects output into")

    def assignments(self, env: Mapping[str, Word], cwds: Cwds, depth: int) -> None:
        """Variables whose value is a command something will run."""
        for name, value in env.items():
            if name in COMMAND_VARS:
                text = value.value
                if text is None:
                    raise Mutation(f"sets {name} to a command computed at run time")
                if text.strip():
                    self.text(text.lstrip("|"), cwds, depth + 1)
            elif name in ("BASH_ENV", "ENV") and any(s.kind == "in" for s in value.subs):
                raise Mutation(f"sets {name} to a program read from a pipe")

    # ------------------------------------------------------------ standard input as a program

    def stdin_of(self, redirects: list[Redirect], piped: Command | None) -> Stdin | None:
        """Where a command's input comes from, as far as it could be a program."""
        found = self.produced(piped) if piped is not None else None
        for r in redirects:
            if r.fd not in (None, "0"):
                continue
            if r.op in ("<<", "<<-"):
                body = r.body or ""
                if r.quoted or ("$" not in body and "`" not in body):
                    found = Stdin("text", body)
                else:
                    found = Stdin("unknown", what="a here-document with expansions")
            elif r.op == "<<<" and r.target is not None:
                value = r.target.value
                found = (
                    Stdin("text", value + "\n")
                    if value is not None
                    else Stdin("unknown", what="a here-string with expansions")
                )
            elif r.op in ("<", "<>") and r.target is not None:
                found = self.from_word(r.target) or Stdin("file")
            elif r.op == "<&":
                found = Stdin("unknown", what="another descriptor")
        return found

    def from_word(self, w: Word) -> Stdin | None:
        """What a process substitution word produces, or None when the word is a file name."""
        feeds = [s for s in w.subs if s.kind == "in"]
        if not feeds or w.text != DYN:
            return None
        script = feeds[0].script
        if len(script.items) == 1 and not script.items[0].rest:
            pipeline = script.items[0].first
            if len(pipeline.commands) == 1:
                return self.produced(pipeline.commands[0])
        return Stdin("unknown", what="a process substitution")

    def produced(self, c: Command) -> Stdin:
        """What a command writes to its output, when that is plainly text or a file's content."""
        unknown = Stdin("unknown", what="a pipe")
        if not isinstance(c, Simple) or not c.words:
            return unknown
        values = [w.value for w in c.words]
        if any(v is None for v in values) or assignment(c.words[0]):
            return unknown
        name, args = os.path.basename(values[0] or ""), [v or "" for v in values[1:]]
        if any(r.fd in (None, "1") and r.op not in ("<", "<<", "<<-", "<<<") for r in c.redirects):
            return Stdin("text", "")  # its output goes elsewhere
        if name == "echo":
            newline = "\n"
            while args and re.fullmatch(r"-[neE]+", args[0]):
                if "e" in args[0] and any("\\" in a for a in args[1:]):
                    return unknown
                newline = "" if "n" in args[0] else newline
                args = args[1:]
            return Stdin("text", " ".join(args) + newline)
        if name == "printf" and args:
            fmt, rest = args[0], args[1:]
            if re.search(r"%[^s%]|\\", fmt):
                return unknown
            if "%s" not in fmt:
                return Stdin("text", fmt.replace("%%", "%"))
            out = []
            while True:
                chunk = re.sub(r"%s", lambda m: rest.pop(0) if rest else "", fmt)
                out.append(chunk.replace("%%", "%"))
                if not rest:
                    break
            return Stdin("text", "".join(out))
        if name == "cat":
            if args:
                return Stdin("file")
            inner = self.stdin_of(c.redirects, None)
            return inner or Stdin("text", "")
        return unknown

    def program(self, call: Call, lang: str, source: Stdin | None) -> None:
        """A program read from input or a pipe: text is read as code; an unknown one writes."""
        if source is None or source.kind == "file":
            return  # nothing, or a script file: not inspected (docs/GUARD.md)
        if source.kind == "unknown":
            raise Mutation(f"`{call.name}` runs a program it reads from {source.what}")
        self.code(call, lang, source.text)

    def code(self, call: Call, lang: str, text: str) -> None:
        """Program text for a language: shell is read as shell, other languages by pattern."""
        if lang == "shell":
            self.text(text, call.cwds, call.depth + 1)
            return
        reason = code_writes(lang, text)
        if reason:
            raise Mutation(f"`{call.name}` code {reason}")

    def program_file(self, call: Call, lang: str, w: Word) -> None:
        """A program named as a file: a pipe, a descriptor or standard input are programs too."""
        fed = self.from_word(w)
        if fed is not None:
            self.program(call, lang, fed)
            return
        value = w.value
        if value in _STDIN_NAMES:
            self.program(call, lang, call.stdin)
            return
        if value is not None and re.match(r"/(?:dev/fd|proc)/", os.path.normpath(value)):
            raise Mutation(f"`{call.name}` runs a program it reads from a descriptor")

    # ------------------------------------------------------------ running a command

    def run(self, call: Call) -> Result:
        """Read one command (after its assignments): dispatch on its name."""
        if call.depth > MAX_DEPTH:
            raise TooDeep("nested too deeply")
        name = self.command_name(call.words[0])
        call = Call(call.words, call.cwds, call.depth, call.stdin, call.env, call.rooted, name)
        key = name.lower()
        if name in self.functions:
            return None, None  # a function of this command line: read at its definition
        if name in self.aliases and not call.words[0].quoted:
            rest = [w.value for w in call.args]
            if any(v is None for v in rest):
                raise Mutation(f"the alias `{name}` runs with arguments computed at run time")
            text = " ".join([self.aliases.pop(name), *(v for v in rest if v is not None)])
            after = self.text(text, call.cwds, call.depth + 1)  # popped: an alias is not recursive
            return after, after
        if key in self.own:
            return self.own[key](call)
        handler = commands.handler(key)
        if handler is not None:
            return handler(self, call)
        return None

    def command_name(self, head: Word) -> str:
        """The name a command is known by; a name only the running shell knows writes."""
        if head.glob:
            raise Mutation(f"runs a command named by a pattern ({safe(head.raw, 40)})")
        base = head.text.rsplit("/", 1)[-1]
        if not base or DYN in base:
            raise Mutation(f"runs a command only known when it runs ({safe(head.raw, 40)})")
        return base

    # ------------------------------------------------------------ paths

    def resolve_word(self, w: Word, cwds: Cwds, *, rooted: bool = False) -> list[Resolved]:
        """Where a word naming a path lands, from each directory the shell may be in."""
        text = w.value
        if w.tilde and not w.glob and DYN not in w.text:
            text = expand_tilde(w.text, self.home)
        if rooted or text is None:
            why = "in a place the guard cannot see" if rooted else "a path computed at run time"
            return [Resolved(None, why=why)]
        if text.startswith("/") and (cwds is None or not text.startswith("/proc")):
            return [resolve(text, None, std_ok=self.std_ok)]
        if cwds is None:
            return [Resolved(None, why="a relative path from a directory the guard cannot know")]
        return [resolve(text, cwd, std_ok=self.std_ok) for cwd in sorted(cwds)]

    def check(
        self,
        w: Word,
        cwds: Cwds,
        verb: str,
        *,
        rooted: bool = False,
        link: bool = False,
        streams: bool = False,
    ) -> None:
        """Fail if a write to the path a word names lands in the tree (or cannot be placed).

        link: the path becomes a link or a tree that may hold links, so later writes through it
        count as inside. streams: the program treats /dev/stdout and /dev/stderr itself.
        """
        if streams and w.value in ("/dev/stdout", "/dev/stderr", "-"):
            return
        for where in self.resolve_word(w, cwds, rooted=rooted):
            if where.sink:
                continue
            if where.path is None:
                raise Mutation(f"{verb} {safe(w.raw, 60)} ({where.why})")
            if self.scope.place(where.path) == "project":
                raise Mutation(f"{verb} {self.scope.show(where.path)}")
            (self.links if link else self.exempted).append(where.path)

    def inside(self, w: Word, cwds: Cwds, *, rooted: bool = False) -> bool:
        """Whether a path a word names (read, not written) may be in the tree."""
        for where in self.resolve_word(w, cwds, rooted=rooted):
            if where.path is None or self.scope.place(where.path) == "project":
                return not where.sink
        return False

    def chdir(self, w: Word, cwds: Cwds) -> Cwds:
        """The directories after moving to the one a word names (None when unknown)."""
        found: set[str] = set()
        for where in self.resolve_word(w, cwds):
            if where.path is None:
                return None
            found.add(where.path)
        return frozenset(found)

    def check_links(self) -> None:
        """A write placed outside may land inside through a link this same command made."""
        for path in self.exempted:
            for link in self.links:
                if within(path, link):
                    raise Mutation(
                        f"writes {safe(path, 60)} through a link or a copied tree made by the "
                        "same command"
                    )

    # ------------------------------------------------------------ the shell's own commands

    def h_cd(self, call: Call) -> Result:
        args = call.args
        while args and args[0].value is not None and re.fullmatch(r"-[LPe@]+", args[0].value):
            args = args[1:]
        if args and args[0].value == "--":
            args = args[1:]
        if call.rooted or len(args) != 1 or args[0].value in ("-",) or args[0].text[:1] in "+-":
            return None, call.cwds
        w = args[0]
        text = w.value if not w.tilde else expand_tilde(w.text, self.home)
        if text is None:
            return None, call.cwds
        if not text.startswith(("/", "./", "../")) and text not in (".", "..") and self.cdpath:
            return None, call.cwds
        after = self.chdir(w if not w.tilde else Word.lit(text), call.cwds)
        if after is None:
            return None, call.cwds
        sure = not self.removed and all(os.path.isdir(p) and os.access(p, os.X_OK) for p in after)
        return after, (frozenset() if sure else call.cwds)

    def h_popd(self, call: Call) -> Result:
        return None, call.cwds

    def h_eval(self, call: Call) -> Result:
        values = [w.value for w in call.args]
        if any(v is None for v in values):
            raise Mutation("`eval` runs text computed at run time")
        after = self.text(" ".join(v for v in values if v is not None), call.cwds, call.depth + 1)
        return after, after

    def h_source(self, call: Call) -> Result:
        """`source FILE` / `. FILE` runs the file in this shell: its text is read like the
        command line's (a file the guard cannot read writes)."""
        if not call.args:
            return None
        w = call.args[0]
        if self.from_word(w) is not None or w.value in _STDIN_NAMES:
            self.program_file(call, "shell", w)
            return None, None
        found = self.resolve_word(w, call.cwds, rooted=call.rooted)
        if len(found) != 1 or found[0].path is None:
            raise Mutation(f"`{call.name}` runs a script the guard cannot find ({safe(w.raw, 40)})")
        try:
            with open(found[0].path, "rb") as fh:
                data = fh.read(MAX_SCRIPT + 1)
        except (OSError, ValueError):
            raise Mutation(f"`{call.name}` runs a script the guard cannot read") from None
        if len(data) > MAX_SCRIPT:
            raise Mutation(f"`{call.name}` runs a script too long to read")
        after = self.text(data.decode("utf-8", "replace"), call.cwds, call.depth + 1)
        return after, after

    def h_alias(self, call: Call) -> Result:
        for w in call.args:
            if w.value is not None and w.value.startswith("-"):
                continue
            if "=" not in w.text:
                continue
            name, value = w.text.split("=", 1)
            if DYN in value:
                raise Mutation("defines an alias computed at run time")
            self.text(value, call.cwds, call.depth + 1)
            self.aliases[name] = value
        return None

    def h_trap(self, call: Call) -> Result:
        operands = [w for w in call.args if not (w.value or "").startswith("-") or w.value == "-"]
        if len(operands) >= 2 and operands[0].value not in ("-", ""):
            self.shell_string(operands[0], call, "`trap`")
        return None

    def h_mapfile(self, call: Call) -> Result:
        args = call.args
        for k, w in enumerate(args):
            if w.value == "-C" and k + 1 < len(args):
                self.shell_string(args[k + 1], call, "`mapfile -C`")
            elif w.value is not None and w.value.startswith("-C") and len(w.value) > 2:
                self.shell_string(Word.lit(w.value[2:]), call, "`mapfile -C`")
        return None

    def h_declare(self, call: Call) -> Result:
        found: dict[str, Word] = {}
        for w in call.args:
            pair = assignment(w)
            if pair is not None:
                found[pair[0]] = pair[1]
        self.assignments(found, call.cwds, call.depth)
        return None

    def h_refuse(self, call: Call) -> Result:
        if call.name == "enable" and not any((w.value or "").startswith("-f") for w in call.args):
            return None
        raise Mutation(f"`{call.name}` runs code the guard cannot read")

    def h_opaque(self, call: Call) -> Result:
        if not call.args:
            return None
        raise Mutation(f"`{call.name}` runs a command in a place the guard cannot follow")

    # ------------------------------------------------------------ wrappers

    def h_wrapper(self, call: Call) -> Result:
        """`nice`, `timeout`, `nohup`, `time`, `setsid`, `stdbuf`, `chroot`...: what they run."""
        w = WRAPPERS[call.name.lower()]
        opts = read(call.args, w.spec)
        if opts.unsure:
            raise Mutation(f"`{call.name}` with options computed at run time")
        if opts.has(*w.no_command):
            return None
        cwds = call.cwds
        for option, value in opts.seen:
            if value is None:
                continue
            if option in w.targets:
                self.check(value, cwds, f"`{call.name} {option}` writes", rooted=call.rooted)
            elif option in w.strings:
                self.shell_string(value, call, f"`{call.name} {option}`")
            elif option in w.chdir:
                cwds = self.chdir(value, cwds)
        rest = opts.operands[w.skip :]
        if call.name == "sg" and rest and rest[0].value == "-c":
            rest = rest[1:]
        if not rest:
            return None
        rooted = call.rooted or w.rooted
        inner = call.then(rest, cwds=cwds, rooted=rooted)
        if w.joined or opts.has(*w.joined_by):
            self.joined(rest, inner, f"`{call.name}`")
            return None
        result = self.run(inner)
        return result if call.name.lower() in _SAME_SHELL else None

    def h_sudo(self, call: Call) -> Result:
        opts = read(call.args, SUDO_SPEC)
        if opts.unsure:
            raise Mutation(f"`{call.name}` with options computed at run time")
        if call.name == "sudoedit" or opts.has("-e", "--edit"):
            for w in opts.operands:
                self.check(w, call.cwds, "`sudo -e` edits", rooted=call.rooted)
            return None
        if not opts.operands:
            return None
        cwds = call.cwds
        for value in opts.values("-D", "--chdir"):
            cwds = self.chdir(value, cwds)
        rooted = call.rooted or opts.has("-R", "--chroot")
        inner = call.then(opts.operands, cwds=cwds, rooted=rooted)
        if opts.has("-s", "--shell", "-i", "--login"):
            self.joined(opts.operands, inner, f"`{call.name} -s`")
            return None
        self.run(inner)
        return None

    def h_su(self, call: Call) -> Result:
        opts = read(call.args, SU_SPEC)
        if opts.unsure:
            raise Mutation(f"`{call.name}` with options computed at run time")
        for value in opts.values("-c", "--command", "--session-command"):
            self.shell_string(value, call, f"`{call.name} -c`")
        if call.name == "runuser" and opts.has("-u", "--user") and opts.operands:
            self.run(call.then(opts.operands))
        return None

    def h_env(self, call: Call) -> Result:
        opts = read(call.args, ENV_SPEC)
        if opts.unsure:
            raise Mutation("`env` with options computed at run time")
        cwds = call.cwds
        for value in opts.values("-C", "--chdir"):
            cwds = self.chdir(value, cwds)
        rest = list(opts.operands)
        env = dict(call.env)
        found: dict[str, Word] = {}
        while rest and assignment(rest[0]) is not None:
            pair = assignment(rest.pop(0))
            if pair is not None:
                found[pair[0]] = pair[1]
        self.assignments(found, cwds, call.depth)
        env.update(found)
        split: list[Word] = []
        for value in opts.values("-S", "--split-string"):
            if value.value is None:
                raise Mutation("`env -S` runs a command computed at run time")
            script = parse(value.value, call.depth + 1)
            items = script.items
            if len(items) != 1 or items[0].rest or len(items[0].first.commands) != 1:
                raise Mutation("`env -S` with a string the guard cannot split")
            first = items[0].first.commands[0]
            if not isinstance(first, Simple) or first.redirects:
                raise Mutation("`env -S` with a string the guard cannot split")
            for w in first.words:
                self.subs(w, cwds, call.depth + 1)
            split.extend(first.words)  # the words take the place of the -S argument
        rest = [*split, *rest]
        if rest:
            self.run(call.then(rest, cwds=cwds, env=env))
        return None

    def h_xargs(self, call: Call) -> Result:
        opts = read(call.args, XARGS_SPEC)
        if opts.unsure:
            raise Mutation("`xargs` with options computed at run time")
        command = opts.operands or [Word.lit("echo")]
        marks = [v.value or "{}" for v in opts.values("-I", "--replace", "-i")]
        if opts.has("-I", "--replace", "-i"):
            marks = marks or ["{}"]
            command = [
                Word.unknown(w.raw) if any(m in w.text for m in marks) else w for w in command
            ]
        else:
            command = [*command, Word.unknown("(its input)")]
        self.run(call.then(command, stdin=None))
        return None

    # ------------------------------------------------------------ shells

    def h_shell(self, call: Call) -> Result:
        """`bash -c STRING`, `sh script`, `bash < file`, `bash <<EOF`, `curl … | sh`."""
        args = call.args
        fish = call.name.lower() == "fish"
        i = 0
        command = stdin = False
        while i < len(args):
            w = args[i]
            v = w.value
            if v is None:
                if w.text.startswith(DYN) and not command:
                    raise Mutation(f"`{call.name}` with options computed at run time")
                break
            if v in ("-", "--"):
                i += 1
                stdin = v == "-"
                break
            if v.startswith("--"):
                name, eq, value = v[2:].partition("=")
                if name in ("command", "init-command") and fish:
                    code = Word.lit(value) if eq else (args[i + 1] if i + 1 < len(args) else None)
                    if code is not None:
                        self.shell_string(code, call, f"`{call.name} --{name}`")
                    return None
                if name in ("no-execute",):
                    return None
                i += 2 if name in ("rcfile", "init-file", "profile") and not eq else 1
                continue
            if len(v) > 1 and v[0] in "-+":
                takes = sum(1 for ch in v[1:] if ch in "oO" or (fish and ch in "Cp"))
                if v[0] == "-" and "c" in v[1:]:
                    command = True
                if v[0] == "-" and "s" in v[1:]:
                    stdin = True
                if v[0] == "-" and "n" in v[1:] and not fish:
                    return None  # read the commands, run nothing
                i += 1 + takes
                continue
            break
        operands = args[i:]
        if command:
            if operands:
                self.shell_string(operands[0], call, f"`{call.name} -c`")
            return None
        if operands and not stdin:
            self.program_file(call, "shell", operands[0])
            return None
        self.program(call, "shell", call.stdin)
        return None
