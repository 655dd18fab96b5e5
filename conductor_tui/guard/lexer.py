"""A POSIX-ish shell parser for the guard: the words as bash would see them, and the structure.

It parses; it runs nothing and expands nothing it cannot know. A word keeps its value where the
text fixes it (quotes removed, `$'…'` decoded, backslashes applied) and marks with `DYN` the
parts only the running shell knows (`$x`, `$(…)`, `$((…))`); globs and brace expansions make a
word's value unknown too. The tree holds lists, and-or chains, pipelines, simple commands with
their assignments and redirections, compound commands (subshells, groups, `if`, loops, `case`,
`(( ))`, `[[ ]]`, functions, `coproc`), command and process substitutions, and here-documents.

Inside `[[ ]]` and `(( ))`, `<` and `>` compare; they redirect nothing. Every kind of nesting counts
against one limit, MAX_DEPTH, so a hostile command cannot make the parser recurse without bound.
`parse` raises only `ShellSyntaxError` (text bash would refuse, or that we cannot read) and
`TooDeep`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

MAX_DEPTH = 16  # nesting of every kind: substitutions, compounds, eval, bash -c, wrappers...
DYN = "\x00"  # stands for a part of a word that only the running shell knows


class ShellSyntaxError(ValueError):
    """The text cannot be read as shell: an unterminated quote, a stray `)`, a missing `fi`."""


class TooDeep(ValueError):
    """The text nests deeper than MAX_DEPTH."""


SubKind = Literal["cmd", "in", "out"]


@dataclass
class Sub:
    """A command run to make a word: `$( )` and backticks (cmd), `<( )` (in) and `>( )` (out)."""

    kind: SubKind
    script: Script


@dataclass
class Word:
    """One shell word: its value where the text fixes it, and the commands it runs."""

    text: str = ""  # quotes removed; DYN for every part the running shell decides
    raw: str = ""  # the source text
    quoted: bool = False  # any quoting or escaping was used (a quoted `if` is no keyword)
    glob: bool = False  # an unquoted glob or brace expansion: the value is not fixed
    tilde: bool = False  # starts with an unquoted `~`
    subs: list[Sub] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)  # quoted text holding `$(` or a backtick

    @property
    def value(self) -> str | None:
        """The word's value when the text alone fixes it, else None."""
        if self.glob or DYN in self.text or self.tilde:
            return None
        return self.text

    @property
    def keyword(self) -> str | None:
        """The word as an unquoted literal (a reserved word candidate), else None."""
        if self.quoted or self.glob or self.tilde or DYN in self.text:
            return None
        return self.text

    @property
    def dynamic(self) -> bool:
        """Whether the running shell decides any part of the word."""
        return self.glob or DYN in self.text

    @classmethod
    def lit(cls, text: str) -> Word:
        """A word whose value is `text`."""
        return cls(text=text, raw=text, quoted=True)

    @classmethod
    def unknown(cls, raw: str = "…") -> Word:
        """A word whose value only the running shell knows."""
        return cls(text=DYN, raw=raw)


@dataclass
class Redirect:
    """A redirection: `2>file`, `&>>log`, `1<>f`, `{fd}>f`, `>&2`, `<<EOF` (with its body)."""

    op: str
    fd: str | None = None  # the explicit descriptor: digits or `{name}`
    target: Word | None = None  # None for a here-document
    body: str | None = None  # a here-document's text
    quoted: bool = False  # the here-document's delimiter was quoted: its body is literal
    subs: list[Sub] = field(default_factory=list)  # substitutions in an unquoted body


@dataclass
class Simple:
    """A simple command: words (assignments first) and redirections."""

    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)


CompoundKind = Literal[
    "subshell", "group", "if", "while", "for", "case", "arith", "cond", "function", "coproc"
]


@dataclass
class Compound:
    """A compound command: the lists it runs, the words it expands, its redirections."""

    kind: CompoundKind
    bodies: list[Script] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    name: str = ""  # a function's name


Command = Simple | Compound


@dataclass
class Pipeline:
    """Commands joined by `|`; `!` negates the status."""

    commands: list[Command]
    negated: bool = False


@dataclass
class AndOr:
    """Pipelines joined by `&&` and `||`, perhaps run in the background."""

    first: Pipeline
    rest: list[tuple[str, Pipeline]] = field(default_factory=list)
    background: bool = False


@dataclass
class Script:
    """A list of and-or chains, run one after the other."""

    items: list[AndOr] = field(default_factory=list)


# ---------------------------------------------------------------- tables

_OPERATORS = (
    ";;&",
    ";;",
    ";&",
    ";",
    "&&",
    "&>>",
    "&>",
    "&",
    "||",
    "|&",
    "|",
    "(",
    ")",
    "\n",
    "<<<",
    "<<-",
    "<<",
    "<>",
    "<&",
    "<",
    ">>",
    ">|",
    ">&",
    ">",
)
_OPS_BY_START = {c: tuple(o for o in _OPERATORS if o[0] == c) for c in {o[0] for o in _OPERATORS}}
REDIRECT_OPS = frozenset({"<<<", "<<-", "<<", "<>", "<&", "<", ">>", ">|", ">&", ">", "&>>", "&>"})
_CASE_ENDS = frozenset({";;", ";&", ";;&"})
_DELIM = r"(?=[ \t\n;&|()<>]|$)"
_RESERVED = re.compile(
    r"(?:if|then|elif|else|fi|do|done|case|esac|while|until|for|select|function|coproc|in|time"
    r"|\{|\}|!|\[\[)" + _DELIM
)
_TIME_P = re.compile(r"-p" + _DELIM)
_COND_END = re.compile(r"\]\]" + _DELIM)
_CLOSERS = frozenset({"then", "elif", "else", "fi", "do", "done", "esac", "}"})
_PLAIN = re.compile(r"[^ \t\n;&|()<>\\'\"$`]+")
_DQ_PLAIN = re.compile(r"[^\"\\$`]+")
_BODY_PLAIN = re.compile(r"[^\\$`]+")
_FD_OP = re.compile(r"([0-9]+|\{[A-Za-z_][A-Za-z0-9_]*\})(?=[<>])")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FUNC_NAME = re.compile(r"[^ \t\n;&|()<>\\'\"$`]+")
_GLOB = re.compile(r"[*?]|\[[^\]]*\]|\{[^{}]*(?:,|\.\.)[^{}]*\}")
_HIDDEN = re.compile(r"\$\(|`")
_ANSI = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_QUOTED = "\x01"  # stands for quoted text in the unquoted shadow of a word (glob detection)


# ---------------------------------------------------------------- the parser


class _Parser:
    """Recursive descent over one string; nesting is bounded by MAX_DEPTH."""

    def __init__(self, text: str, depth: int) -> None:
        self.s = text
        self.n = len(text)
        self.i = 0
        self.depth = depth
        # here-documents whose bodies start after the next newline: (redirect, delimiter, tabs)
        self.heredocs: list[tuple[Redirect, str, bool]] = []
        # characters arith_end may scan in all, so that many unclosed `((` take linear time
        self.budget = 4 * len(text) + 4096
        if depth > MAX_DEPTH:
            raise TooDeep("nested too deeply")

    # -- helpers

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TooDeep("nested too deeply")

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < self.n else ""

    def at(self, text: str) -> bool:
        return self.s.startswith(text, self.i)

    def fail(self, what: str) -> ShellSyntaxError:
        return ShellSyntaxError(f"{what} at character {self.i + 1}")

    def blanks(self) -> None:
        """Skip spaces, tabs, line continuations and a comment (never the newline)."""
        s, n = self.s, self.n
        while self.i < n:
            c = s[self.i]
            if c in " \t":
                self.i += 1
            elif c == "\\" and self.i + 1 < n and s[self.i + 1] == "\n":
                self.i += 2
            elif c == "#":
                j = s.find("\n", self.i)
                self.i = n if j < 0 else j
            else:
                return

    def newline(self) -> None:
        """Consume a newline, then the bodies of the here-documents it ends."""
        self.i += 1
        if self.heredocs:
            self.read_heredocs()

    def linebreak(self) -> None:
        """Skip blanks, comments and newlines."""
        while True:
            self.blanks()
            if self.peek() != "\n":
                return
            self.newline()

    def op(self) -> str | None:
        """The operator at the cursor, if any (`<(` and `>(` start words, not operators)."""
        c = self.peek()
        ops = _OPS_BY_START.get(c)
        if not ops:
            return None
        if c in "<>" and self.peek(1) == "(":
            return None
        for candidate in ops:
            if self.s.startswith(candidate, self.i):
                return candidate
        return None  # pragma: no cover - every first character has a one-character operator

    def reserved(self) -> str | None:
        """The reserved word at the cursor, if any (meaningful only in command position)."""
        m = _RESERVED.match(self.s, self.i)
        return m.group() if m else None

    def expect(self, word: str) -> None:
        self.linebreak()
        if self.reserved() != word:
            raise self.fail(f"expected `{word}`")
        self.i += len(word)

    # -- lists

    def script(
        self, *, close: bool = False, stops: frozenset[str] = frozenset(), case: bool = False
    ) -> Script:
        """A list of and-or chains up to the end, a `)` (close), a stop word or a `;;` (case)."""
        out = Script()
        while True:
            self.linebreak()
            if self.i >= self.n:
                return out
            o = self.op()
            if o == ")":
                if close:
                    return out
                raise self.fail("unexpected `)`")
            if o in _CASE_ENDS:
                if case:
                    return out
                raise self.fail(f"unexpected `{o}`")
            word = self.reserved()
            if word in stops:
                return out
            if word in _CLOSERS:
                raise self.fail(f"unexpected `{word}`")
            item = self.and_or()
            if item is None:
                raise self.fail("expected a command")
            out.items.append(item)
            self.blanks()
            o = self.op()
            if o == ";":
                self.i += 1
            elif o == "&":
                self.i += 1
                item.background = True
            elif o == "\n":
                self.newline()
            elif self.i < self.n and o not in (")", *_CASE_ENDS) and self.reserved() not in stops:
                raise self.fail("unexpected text after a command")

    def and_or(self) -> AndOr | None:
        first = self.pipeline()
        if first is None:
            return None
        item = AndOr(first)
        while True:
            self.blanks()
            o = self.op()
            if o not in ("&&", "||"):
                return item
            self.i += 2
            self.linebreak()
            nxt = self.pipeline()
            if nxt is None:
                raise self.fail(f"`{o}` without a command")
            item.rest.append((o, nxt))

    def pipeline(self) -> Pipeline | None:
        negated = timed = False
        while True:
            self.blanks()
            word = self.reserved()
            if word == "!":
                self.i += 1
                negated = not negated
            elif word == "time":
                self.i += 4
                timed = True
                self.blanks()
                if _TIME_P.match(self.s, self.i):
                    self.i += 2
            else:
                break
        first = self.command()
        if first is None:
            if negated or timed:
                return Pipeline([Simple()], negated)
            return None
        commands = [first]
        while True:
            self.blanks()
            o = self.op()
            if o not in ("|", "|&"):
                return Pipeline(commands, negated)
            self.i += len(o)
            self.linebreak()
            nxt = self.command()
            if nxt is None:
                raise self.fail("`|` without a command")
            commands.append(nxt)

    # -- commands

    def command(self) -> Command | None:
        self.blanks()
        if self.at("(("):
            arith = self.arith_command()
            if arith is not None:
                return self.tail(arith)
        if self.at("("):
            self.i += 1
            self.enter()
            body = self.script(close=True)
            if self.peek() != ")":
                raise self.fail("`(` without `)`")
            self.i += 1
            self.depth -= 1
            return self.tail(Compound("subshell", [body]))
        word = self.reserved()
        if word is None or word in ("!", "time", "in"):
            return self.simple()
        if word in _CLOSERS:
            return None
        self.i += len(word)
        self.enter()
        try:
            return self.tail(self.compound(word))
        finally:
            self.depth -= 1

    def compound(self, word: str) -> Compound:
        if word == "{":
            body = self.script(stops=frozenset({"}"}))
            self.expect("}")
            return Compound("group", [body])
        if word == "if":
            return self.if_clause()
        if word in ("while", "until"):
            test = self.script(stops=frozenset({"do"}))
            self.expect("do")
            body = self.script(stops=frozenset({"done"}))
            self.expect("done")
            return Compound("while", [test, body])
        if word in ("for", "select"):
            return self.for_clause()
        if word == "case":
            return self.case_clause()
        if word == "[[":
            return self.cond()
        if word == "function":
            self.blanks()
            name = self.word()
            if name is None:
                raise self.fail("`function` without a name")
            self.blanks()
            if self.at("("):
                self.i += 1
                self.blanks()
                if self.peek() != ")":
                    raise self.fail("expected `)`")
                self.i += 1
            return self.function_body(name.text)
        if word == "coproc":
            return self.coproc()
        raise self.fail(f"unexpected `{word}`")  # pragma: no cover - the callers filter words

    def if_clause(self) -> Compound:
        c = Compound("if")
        while True:
            c.bodies.append(self.script(stops=frozenset({"then"})))
            self.expect("then")
            c.bodies.append(self.script(stops=frozenset({"elif", "else", "fi"})))
            self.linebreak()
            word = self.reserved()
            if word == "elif":
                self.i += 4
                continue
            if word == "else":
                self.i += 4
                c.bodies.append(self.script(stops=frozenset({"fi"})))
            self.expect("fi")
            return c

    def for_clause(self) -> Compound:
        c = Compound("for")
        self.blanks()
        if self.at("(("):
            end = self.arith_end(self.i + 2)
            if end < 0:
                raise self.fail("`for ((` without `))`")
            c.words.append(self.arith_word(self.i + 2, end - 2))
            self.i = end
        else:
            name = self.word()
            if name is None:
                raise self.fail("`for` without a name")
            self.linebreak()
            if self.reserved() == "in":
                self.i += 2
                while True:
                    self.blanks()
                    o = self.op()
                    if o is not None or self.i >= self.n:
                        break
                    w = self.word()
                    if w is None:  # pragma: no cover - a non-operator always starts a word
                        raise self.fail("expected a word")
                    c.words.append(w)
        self.blanks()
        if self.op() == ";":
            self.i += 1
        self.linebreak()
        word = self.reserved()
        if word == "do":
            self.i += 2
            c.bodies.append(self.script(stops=frozenset({"done"})))
            self.expect("done")
        elif word == "{":
            self.i += 1
            c.bodies.append(self.script(stops=frozenset({"}"})))
            self.expect("}")
        else:
            raise self.fail("`for` without `do`")
        return c

    def case_clause(self) -> Compound:
        c = Compound("case")
        self.blanks()
        subject = self.word()
        if subject is None:
            raise self.fail("`case` without a word")
        c.words.append(subject)
        self.expect("in")
        while True:
            self.linebreak()
            if self.reserved() == "esac":
                self.i += 4
                return c
            if self.i >= self.n:
                raise self.fail("`case` without `esac`")
            if self.peek() == "(":
                self.i += 1
            while True:
                self.blanks()
                pattern = self.word()
                if pattern is None:
                    raise self.fail("expected a pattern")
                c.words.append(pattern)
                self.blanks()
                o = self.op()
                if o == "|":
                    self.i += 1
                    continue
                if o == ")":
                    self.i += 1
                    break
                raise self.fail("expected `)` after a pattern")
            c.bodies.append(self.script(stops=frozenset({"esac"}), case=True))
            o = self.op()
            if o in _CASE_ENDS:
                self.i += len(o)
            elif self.reserved() != "esac":
                raise self.fail("`case` without `esac`")

    def cond(self) -> Compound:
        """`[[ … ]]`: words and operators; `<` and `>` compare, they do not redirect."""
        c = Compound("cond")
        regex_next = False
        while True:
            self.linebreak()
            if self.i >= self.n:
                raise self.fail("`[[` without `]]`")
            if _COND_END.match(self.s, self.i):
                self.i += 2
                return c
            if self.at("&&") or self.at("||"):
                self.i += 2
                regex_next = False
                continue
            ch = self.peek()
            if ch in "()<>!" and not (ch in "<>" and self.peek(1) == "("):
                self.i += 1
                continue
            if ch in ";&|":
                raise self.fail(f"unexpected `{ch}` in `[[ ]]`")
            if regex_next:
                c.words.extend(self.regex_words())
                regex_next = False
                continue
            w = self.word()
            if w is None:  # pragma: no cover - the characters above are all handled
                raise self.fail("unexpected text in `[[ ]]`")
            c.words.append(w)
            regex_next = w.keyword == "=~"

    def regex_words(self) -> list[Word]:
        """The right side of `=~`: words, parentheses and bars, up to a blank."""
        out: list[Word] = []
        depth = 0
        while self.i < self.n:
            ch = self.peek()
            if ch in " \t\n" and depth <= 0:
                break
            if ch in "()|<>&;":
                depth += 1 if ch == "(" else -1 if ch == ")" else 0
                self.i += 1
                continue
            w = self.word()
            if w is None:
                break  # pragma: no cover - a blank or an operator character comes first
            out.append(w)
        return out

    def function_body(self, name: str) -> Compound:
        self.linebreak()
        body = self.command()
        if not isinstance(body, Compound):
            raise self.fail("a function body must be a compound command")
        return Compound("function", [Script([AndOr(Pipeline([body]))])], name=name)

    def coproc(self) -> Compound:
        self.blanks()
        start = self.i
        m = _NAME.match(self.s, self.i)
        if m:
            self.i = m.end()
            self.blanks()
            if not (
                self.at("(") or self.reserved() in ("{", "if", "while", "until", "for", "case")
            ):
                self.i = start  # not a name: the coprocess is a simple command
        body = self.command()
        if body is None:
            raise self.fail("`coproc` without a command")
        return Compound("coproc", [Script([AndOr(Pipeline([body]))])])

    def arith_command(self) -> Compound | None:
        """`(( … ))`, or None when the parentheses are two subshells."""
        end = self.arith_end(self.i + 2)
        if end < 0:
            return None
        word = self.arith_word(self.i + 2, end - 2)
        self.i = end
        return Compound("arith", words=[word])

    def tail(self, c: Compound) -> Compound:
        """The redirections after a compound command."""
        while True:
            self.blanks()
            fd = None
            m = _FD_OP.match(self.s, self.i)
            if m and self.s[m.end() + 1 : m.end() + 2] != "(":
                fd = m.group(1)
                self.i = m.end()
            o = self.op()
            if o not in REDIRECT_OPS:
                if fd is not None:  # pragma: no cover - _FD_OP only matches before < or >
                    raise self.fail("a descriptor without a redirection")
                return c
            c.redirects.append(self.redirect(o, fd))

    def simple(self) -> Command | None:
        cmd = Simple()
        while True:
            self.blanks()
            if self.i >= self.n:
                break
            m = _FD_OP.match(self.s, self.i)
            if m and self.s[m.end() + 1 : m.end() + 2] != "(":
                self.i = m.end()
                o = self.op()
                if o not in REDIRECT_OPS:  # pragma: no cover - _FD_OP only matches before < or >
                    raise self.fail("a descriptor without a redirection")
                cmd.redirects.append(self.redirect(o, m.group(1)))
                continue
            o = self.op()
            if o is not None:
                if o in REDIRECT_OPS:
                    cmd.redirects.append(self.redirect(o, None))
                    continue
                if o == "(" and len(cmd.words) == 1 and not cmd.redirects:
                    fn = self.function_def(cmd.words[0])
                    if fn is not None:
                        return fn
                break
            w = self.word()
            if w is None:  # pragma: no cover - a non-operator character always starts a word
                raise self.fail("unexpected character")
            cmd.words.append(w)
        if not cmd.words and not cmd.redirects:
            return None
        return cmd

    def function_def(self, name: Word) -> Compound | None:
        """`name ( )` followed by a compound command, or None if the `(` is something else."""
        start = self.i
        self.i += 1
        self.blanks()
        if self.peek() != ")" or name.keyword is None or not _FUNC_NAME.fullmatch(name.text):
            self.i = start
            return None
        self.i += 1
        self.enter()
        try:
            return self.function_body(name.text)
        finally:
            self.depth -= 1

    def redirect(self, op: str, fd: str | None) -> Redirect:
        self.i += len(op)
        self.blanks()
        w = self.word()
        if w is None:
            raise self.fail(f"`{op}` without a target")
        if op in ("<<", "<<-"):
            r = Redirect(op, fd, quoted=w.quoted)
            delimiter = re.sub(r"\\(.)|['\"]", lambda m: m.group(1) or "", w.raw, flags=re.S)
            self.heredocs.append((r, delimiter, op == "<<-"))
            return r
        return Redirect(op, fd, w)

    def read_heredocs(self) -> None:
        pending, self.heredocs = self.heredocs, []
        for r, delimiter, tabs in pending:
            lines: list[str] = []
            while self.i < self.n:
                j = self.s.find("\n", self.i)
                end = self.n if j < 0 else j
                line = self.s[self.i : end]
                self.i = self.n if j < 0 else j + 1
                if tabs:
                    line = line.lstrip("\t")
                if line == delimiter:
                    break
                lines.append(line)
            r.body = "".join(line + "\n" for line in lines)
            if not r.quoted and r.body:
                sub = _Parser(r.body, self.depth)
                w = Word()
                sub.dq_text(w, [], [], end=None)
                r.subs = w.subs

    # -- words

    def word(self) -> Word | None:
        """One word at the cursor (None if an operator or the end is there)."""
        start = self.i
        w = Word()
        text: list[str] = []
        shadow: list[str] = []  # the unquoted characters, quoted parts as _QUOTED
        s, n = self.s, self.n
        while self.i < n:
            m = _PLAIN.match(s, self.i)
            if m:
                text.append(m.group())
                shadow.append(m.group())
                self.i = m.end()
                continue
            c = s[self.i]
            if c in "<>":
                if self.peek(1) != "(":
                    break
                self.i += 2
                w.subs.append(Sub("in" if c == "<" else "out", self.nested()))
                text.append(DYN)
                shadow.append(_QUOTED)
            elif c == "(":
                if not shadow or shadow[-1][-1:] not in ("@", "!", "+", "*", "?"):
                    break
                self.extglob()
                w.glob = True
                text.append(DYN)
                shadow.append(_QUOTED)
            elif c in " \t\n;&|)":
                break
            elif c == "\\":
                nxt = s[self.i + 1 : self.i + 2]
                if nxt == "\n":
                    self.i += 2
                    continue
                text.append(nxt or "\\")
                shadow.append(_QUOTED)
                w.quoted = True
                self.i += 2 if nxt else 1
            elif c == "'":
                j = s.find("'", self.i + 1)
                if j < 0:
                    raise self.fail("unterminated '")
                part = s[self.i + 1 : j]
                text.append(part)
                shadow.append(_QUOTED)
                w.quoted = True
                if _HIDDEN.search(part):
                    w.hidden.append(part)
                self.i = j + 1
            elif c == '"':
                self.i += 1
                w.quoted = True
                self.dq_text(w, text, shadow, end='"')
            elif c == "$":
                self.dollar(w, text, shadow, in_dq=False)
            else:  # a backtick
                self.backtick(w, text, shadow, in_dq=False)
        if self.i == start:
            return None
        w.text = "".join(text)
        w.raw = s[start : self.i]
        unquoted = "".join(shadow)
        w.glob = w.glob or bool(_GLOB.search(unquoted))
        w.tilde = unquoted.startswith("~")
        return w

    def extglob(self) -> None:
        """Skip an extended glob's `( … )`, quotes and nested parentheses included."""
        depth = 0
        s, n = self.s, self.n
        while self.i < n:
            c = s[self.i]
            if c == "\\":
                self.i += 2
                continue
            if c == "'":
                j = s.find("'", self.i + 1)
                if j < 0:
                    raise self.fail("unterminated '")
                self.i = j + 1
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    self.i += 1
                    return
            elif c in " \t\n":
                break
            self.i += 1
        raise self.fail("unterminated extended glob")

    def dq_text(self, w: Word, text: list[str], shadow: list[str], *, end: str | None) -> None:
        """Double-quoted text (or a here-document body when end is None) up to its end."""
        s, n = self.s, self.n
        shadow.append(_QUOTED)
        plain = _DQ_PLAIN if end else _BODY_PLAIN
        while True:
            if self.i >= n:
                if end is None:
                    return
                raise self.fail('unterminated "')
            c = s[self.i]
            if c == end:
                self.i += 1
                return
            if c == "\\":
                nxt = s[self.i + 1 : self.i + 2]
                if nxt == "\n":
                    self.i += 2
                elif nxt in ("$", "`", "\\") or (nxt == '"' and end):
                    text.append(nxt)
                    self.i += 2
                else:
                    text.append("\\")
                    self.i += 1
                continue
            if c == "$":
                self.dollar(w, text, shadow, in_dq=True)
                continue
            if c == "`":
                self.backtick(w, text, shadow, in_dq=True)
                continue
            m = plain.match(s, self.i)
            if m is None:  # pragma: no cover - the special characters are handled above
                raise self.fail("unexpected character")
            part = m.group()
            text.append(part)
            if _HIDDEN.search(part):
                w.hidden.append(part)
            self.i = m.end()

    def dollar(self, w: Word, text: list[str], shadow: list[str], *, in_dq: bool) -> None:
        """A `$` expansion at the cursor."""
        nxt = self.peek(1)
        if nxt == "(":
            if self.peek(2) == "(":
                end = self.arith_end(self.i + 3)
                if end >= 0:
                    arith = self.arith_word(self.i + 3, end - 2)
                    w.subs.extend(arith.subs)
                    w.hidden.extend(arith.hidden)
                    self.i = end
                    text.append(DYN)
                    return
            self.i += 2
            w.subs.append(Sub("cmd", self.nested()))
            text.append(DYN)
        elif nxt == "{":
            self.i += 2
            self.parameter(w)
            text.append(DYN)
        elif nxt == "'" and not in_dq:
            self.i += 2
            decoded = self.ansi_c()
            text.append(decoded)
            shadow.append(_QUOTED)
            w.quoted = True
            if _HIDDEN.search(decoded):
                w.hidden.append(decoded)
        elif nxt == '"' and not in_dq:
            self.i += 2
            w.quoted = True
            self.dq_text(w, text, shadow, end='"')
        elif nxt and (nxt.isalnum() or nxt == "_"):
            m = _NAME.match(self.s, self.i + 1)
            self.i = m.end() if m and not nxt.isdigit() else self.i + 2
            text.append(DYN)
            shadow.append(_QUOTED)
        elif nxt and nxt in "@*#?-$!":
            self.i += 2
            text.append(DYN)
            shadow.append(_QUOTED)
        else:
            text.append("$")
            shadow.append("$")
            self.i += 1

    def nested(self) -> Script:
        """The script of `$( … )`, `<( … )` or `>( … )`, the cursor just after the `(`."""
        self.enter()
        body = self.script(close=True)
        if self.peek() != ")":
            raise self.fail("unterminated `$(`")
        self.i += 1
        self.depth -= 1
        return body

    def parameter(self, w: Word) -> None:
        """`${ … }`, the cursor after `${`: substitutions inside run too."""
        self.enter()
        s, n = self.s, self.n
        while True:
            if self.i >= n:
                raise self.fail("unterminated `${`")
            c = s[self.i]
            if c == "}":
                self.i += 1
                self.depth -= 1
                return
            if c == "\\":
                self.i += 2
            elif c == "'":
                j = s.find("'", self.i + 1)
                if j < 0:
                    raise self.fail("unterminated '")
                part = s[self.i + 1 : j]
                if _HIDDEN.search(part):
                    w.hidden.append(part)
                self.i = j + 1
            elif c == '"':
                self.i += 1
                self.dq_text(w, [], [], end='"')
            elif c == "$":
                self.dollar(w, [], [], in_dq=True)
            elif c == "`":
                self.backtick(w, [], [], in_dq=True)
            else:
                self.i += 1

    def backtick(self, w: Word, text: list[str], shadow: list[str], *, in_dq: bool) -> None:
        """A backtick substitution at the cursor: unescape its text and parse it."""
        s, n = self.s, self.n
        j = self.i + 1
        out: list[str] = []
        while True:
            if j >= n:
                raise self.fail("unterminated `")
            c = s[j]
            if c == "\\" and j + 1 < n and (s[j + 1] in "$`\\" or (in_dq and s[j + 1] == '"')):
                out.append(s[j + 1])
                j += 2
                continue
            if c == "`":
                break
            out.append(c)
            j += 1
        self.i = j + 1
        self.enter()
        w.subs.append(Sub("cmd", parse("".join(out), self.depth)))
        self.depth -= 1
        text.append(DYN)
        shadow.append(_QUOTED)

    def ansi_c(self) -> str:
        """A `$'…'` string, the cursor after `$'`: escapes decoded, cut at a NUL as bash does."""
        s, n = self.s, self.n
        out: list[str] = []
        while True:
            if self.i >= n:
                raise self.fail("unterminated $'")
            c = s[self.i]
            if c == "'":
                self.i += 1
                return "".join(out).split("\0", 1)[0]
            if c != "\\" or self.i + 1 >= n:
                out.append(c)
                self.i += 1
                continue
            e = s[self.i + 1]
            self.i += 2
            if e in _ANSI:
                out.append(_ANSI[e])
            elif e in "01234567":
                m = re.match(r"[0-7]{0,2}", s[self.i : self.i + 2])
                digits = e + (m.group() if m else "")
                self.i += len(digits) - 1
                out.append(chr(int(digits, 8) & 0xFF))
            elif e in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[e]
                m = re.match(rf"[0-9A-Fa-f]{{1,{width}}}", s[self.i : self.i + width])
                if not m:
                    out.append("\\" + e)
                    continue
                self.i += len(m.group())
                code = int(m.group(), 16)
                out.append(chr(code) if code < 0x110000 else "\ufffd")
            elif e == "c" and self.i < n:
                out.append(chr(ord(s[self.i]) & 0x1F))
                self.i += 1
            else:
                out.append("\\" + e)

    def arith_end(self, j: int) -> int:
        """Index just after the `))` closing arithmetic whose text starts at j, or -1.

        Every call scans on from j, so a text of many unclosed `$((` would take quadratic time:
        the scans share a budget of a few times the text's length, and exceeding it is an error.
        """
        s, n = self.s, self.n
        depth = 0
        start = j
        end = -1
        while j < n:
            c = s[j]
            if c == "\\":
                j += 2
                continue
            if c == "'":
                k = s.find("'", j + 1)
                if k < 0:
                    break
                j = k + 1
                continue
            if c == '"':
                k = j + 1
                while k < n and s[k] != '"':
                    k += 2 if s[k] == "\\" else 1
                j = k + 1
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    end = j + 2 if s[j + 1 : j + 2] == ")" else -1
                    break
                depth -= 1
            j += 1
        self.budget -= j - start
        if self.budget < 0:
            raise self.fail("too many unclosed `((` to read")
        return end

    def arith_word(self, start: int, end: int) -> Word:
        """The text of arithmetic, as a word whose substitutions are parsed (nothing redirects)."""
        w = Word(raw=self.s[start:end])
        self.enter()
        sub = _Parser(self.s[start:end], self.depth)
        sub.dq_text(w, [], [], end=None)
        self.depth -= 1
        w.text = DYN
        return w


def parse(text: str, depth: int = 0) -> Script:
    """Parse a shell command line. Raises ShellSyntaxError or TooDeep, nothing else."""
    p = _Parser(text, depth)
    script = p.script()
    if p.i < p.n:  # pragma: no cover - script() reads to the end or raises
        raise p.fail("unexpected text")
    for r, _, _ in p.heredocs:  # bodies cut off by the end of the text are empty, as in bash
        r.body = ""
    return script


def parse_text(text: str, depth: int = 0) -> list[Sub]:
    """The substitutions in text read as a here-document body (for quoted text that may run)."""
    p = _Parser(text, depth)
    w = Word()
    p.dq_text(w, [], [], end=None)
    return w.subs
