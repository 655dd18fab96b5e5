"""Programs given inline: sed scripts, awk programs, and code for Python, Perl, Node and kin.

sed and awk are read closely, because their ordinary use only reads: a sed script writes with
`w`, `W` and the `w` flag of `s`, and runs commands with `e`; an awk program writes with
`print > file` and runs commands with `system()`, pipes and `|&`. Each scanner returns effects:
("write", file) with the file as the program names it ("" when it is computed), ("exec", command)
or ("pipe", command) when the program's output feeds it ("" when unknown), or ("unknown", why)
for text it cannot read, which counts as a write.

Code for general-purpose interpreters cannot be read that closely: it counts as a write when it
names a primitive that writes, runs a program, or reaches names indirectly (tables.py).
"""

from __future__ import annotations

import re

from .tables import (
    JS_WRITES,
    LUA_WRITES,
    PERL_WRITES,
    PHP_WRITES,
    PY_OPEN,
    PY_WRITES,
    R_WRITES,
    RUBY_WRITES,
    TCL_WRITES,
)

Effect = tuple[str, str]  # ("write", file), ("exec", command), ("pipe", command), ("unknown", why)

# ---------------------------------------------------------------- sed

_SED_SIMPLE = set("dDgGhHlLnNpPxz=F{}")


def sed_effects(script: str) -> list[Effect]:
    """What a sed script writes or runs (see the module docstring)."""
    out: list[Effect] = []
    s, n = script, len(script)
    i = 0

    def rest_of_line(j: int) -> tuple[str, int]:
        end = s.find("\n", j)
        end = n if end < 0 else end
        return s[j:end].strip(), end

    def delimited(j: int, delim: str) -> int:
        """Index after the closing delimiter of a regex or replacement starting at j, or -1."""
        while j < n:
            c = s[j]
            if c == "\\":
                j += 2
                continue
            if c == delim:
                return j + 1
            if c == "\n" and delim != "\n":
                return -1
            j += 1
        return -1

    def address(j: int) -> int:
        if j < n and (s[j] == "/" or s[j] == "\\"):
            if s[j] == "\\":
                j += 1
                if j >= n:
                    return -1
            end = delimited(j + 1, s[j])
            if end < 0:
                return -1
            j = end
            while j < n and s[j] in "IM":
                j += 1
            return j
        m = re.compile(r"\$|[0-9]+(?:~[0-9]+)?|[+~][0-9]+").match(s, j)
        return m.end() if m else j

    while i < n:
        while i < n and s[i] in " \t\n;":
            i += 1
        if i >= n:
            break
        if s[i] == "#":
            _, i = rest_of_line(i)
            continue
        i = address(i)
        if i < 0:
            return [("unknown", "an unterminated address")]
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] == ",":
            i = address(i + 1)
            if i < 0:
                return [("unknown", "an unterminated address")]
        while i < n and s[i] in " \t!":
            i += 1
        if i >= n:
            break
        c = s[i]
        i += 1
        if c in _SED_SIMPLE:
            continue
        if c in "qQlL":
            while i < n and s[i] in " \t0123456789":
                i += 1
            continue
        if c in ":btTv":
            while i < n and s[i] not in ";\n":
                i += 1
            continue
        if c in "aic":
            while i < n:  # to the end of the line, lines ending in a backslash continue
                end = s.find("\n", i)
                if end < 0:
                    i = n
                    break
                if end > i and s[end - 1] == "\\":
                    i = end + 1
                    continue
                i = end
                break
            continue
        if c in "rR":
            _, i = rest_of_line(i)
            continue
        if c in "wW":
            name, i = rest_of_line(i)
            out.append(("write", name))
            continue
        if c == "e":
            command, i = rest_of_line(i)
            out.append(("exec", command))
            continue
        if c in "sy":
            if i >= n or s[i] in "\n\\":
                return [("unknown", f"a malformed `{c}` command")]
            delim = s[i]
            end = delimited(i + 1, delim)
            end = delimited(end, delim) if end >= 0 else -1
            if end < 0:
                return [("unknown", f"an unterminated `{c}` command")]
            i = end
            if c == "y":
                continue
            while i < n and s[i] not in ";\n}":
                flag = s[i]
                if flag == "w":
                    name, i = rest_of_line(i + 1)
                    out.append(("write", name))
                    break
                if flag == "e":
                    out.append(("exec", ""))
                elif flag not in "gpiImM0123456789 \t":
                    return [("unknown", f"an unknown `s` flag {flag!r}")]
                i += 1
            continue
        return [("unknown", f"an unknown sed command {c!r}")]
    return out


# ---------------------------------------------------------------- awk

_AWK_TOKEN = re.compile(
    r"""(?P<space>[ \t\r]+|\\\n)
      |(?P<comment>\#[^\n]*)
      |(?P<newline>\n)
      |(?P<string>"(?:[^"\\\n]|\\.)*")
      |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
      |(?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+)
      |(?P<op>\|&|\|\||&&|>>|>=|<=|==|!=|!~|\+\+|--|[-+*/%^]=|[-+*/%^!<>=~?:;,(){}\[\]|$@&])
    """,
    re.VERBOSE,
)
_OPERAND_END = {"name", "number", "string", "regex"}


def _awk_tokens(prog: str) -> list[tuple[str, str]] | None:
    """Tokens of an awk program, regex literals told apart from division; None if unreadable."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(prog)
    while i < n:
        prev = out[-1] if out else ("op", ";")
        if prog[i] == "/" and not (prev[0] in _OPERAND_END or prev[1] in (")", "]", "$")):
            j = i + 1
            while j < n and prog[j] != "/":
                if prog[j] == "\n":
                    return None
                j += 2 if prog[j] == "\\" else 1
            if j >= n:
                return None
            out.append(("regex", prog[i : j + 1]))
            i = j + 1
            continue
        m = _AWK_TOKEN.match(prog, i)
        if m is None:
            return None
        kind = m.lastgroup or "op"
        if kind not in ("space", "comment"):
            out.append((kind, m.group()))
        i = m.end()
    return out


def _unquote(token: str) -> str:
    return re.sub(
        r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), token[1:-1]
    )


def awk_effects(prog: str) -> list[Effect]:
    """What an awk program writes or runs (see the module docstring)."""
    tokens = _awk_tokens(prog)
    if tokens is None:
        return [("unknown", "an awk program the guard cannot read")]
    out: list[Effect] = []
    n = len(tokens)
    for k, (kind, text) in enumerate(tokens):
        nxt = tokens[k + 1] if k + 1 < n else ("", "")
        if kind == "op" and text == "@":
            return [("unknown", f"awk `@{nxt[1]}`")]
        if kind == "name" and text == "system" and nxt[1] == "(":
            arg = tokens[k + 2] if k + 2 < n else ("", "")
            close = tokens[k + 3] if k + 3 < n else ("", "")
            literal = arg[0] == "string" and close[1] == ")"
            out.append(("exec", _unquote(arg[1]) if literal else ""))
        elif kind == "op" and text == "|&":
            out.append(("exec", ""))
        elif kind == "op" and text == "|" and nxt[1] == "getline":
            prev = tokens[k - 1] if k else ("", "")
            literal = prev[0] == "string" and (k < 2 or tokens[k - 2][1] in (";", "{", "\n", "("))
            out.append(("exec", _unquote(prev[1]) if literal else ""))
        elif kind == "name" and text in ("print", "printf"):
            out.extend(_print_redirect(tokens, k + 1))
    return out


def _print_redirect(tokens: list[tuple[str, str]], k: int) -> list[Effect]:
    """The redirection of a print statement starting at token k, if it has one."""
    depth = 0
    n = len(tokens)
    while k < n:
        kind, text = tokens[k]
        if kind == "newline" or (depth == 0 and text in (";", "}")):
            return []
        if text in ("(", "["):
            depth += 1
        elif text in (")", "]"):
            depth -= 1
            if depth < 0:
                return []
        elif depth == 0 and kind == "op" and text in (">", ">>", "|"):
            target = tokens[k + 1] if k + 1 < n else ("", "")
            after = tokens[k + 2] if k + 2 < n else ("op", ";")
            literal = target[0] == "string" and (after[0] == "newline" or after[1] in (";", "}"))
            value = _unquote(target[1]) if literal else ""
            return [("pipe" if text == "|" else "write", value)]
        k += 1
    return []


# ---------------------------------------------------------------- general-purpose code

_MODULE_OPEN = re.compile(r"(?:tarfile|gzip|bz2|lzma|io|codecs|os|zipfile|shelve|dbm)\s*\.\s*$")


def _call_args(code: str, j: int) -> list[str] | None:
    """The top-level arguments of a call whose `(` is at j, or None if unbalanced."""
    depth = 0
    args: list[str] = []
    start = j + 1
    k = j
    n = len(code)
    while k < n:
        c = code[k]
        if c in "'\"":
            quote = code[k : k + 3] if code[k : k + 3] in ('"""', "'''") else c
            end = code.find(quote, k + len(quote))
            while end > 0 and code[end - 1] == "\\" and len(quote) == 1:
                end = code.find(quote, end + 1)
            if end < 0:
                return None
            k = end + len(quote)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(code[start:k])
                return [a.strip() for a in args if a.strip()]
        elif c == "," and depth == 1:
            args.append(code[start:k])
            start = k + 1
        k += 1
    return None


_STRING = re.compile(r"""[rbuRBU]{0,2}(?:'([^'\\]*)'|"([^"\\]*)")$""")


def python_writes(code: str) -> str | None:
    """What in Python code may write (a short phrase), or None when it only reads."""
    m = PY_WRITES.search(code)
    if m:
        return f"uses `{m.group().strip()}`"
    for m in PY_OPEN.finditer(code):
        j = m.end()
        while j < len(code) and code[j] in " \t":
            j += 1
        if j >= len(code) or code[j] != "(":
            return "uses `open` indirectly"
        args = _call_args(code, j)
        if args is None:
            return "calls `open(` with arguments the guard cannot read"
        method = m.group().startswith(".") and not _MODULE_OPEN.search(code[: m.start() + 1])
        mode: str | None = None
        positional = [a for a in args if not re.match(r"\w+\s*=", a)]
        for a in args:
            kw = re.match(r"(mode|flags)\s*=\s*(.*)$", a, re.S)
            if kw:
                mode = kw.group(2).strip()
        index = 0 if method else 1
        if mode is None and len(positional) > index:
            mode = positional[index]
        if mode is None:
            continue
        lit = _STRING.match(mode)
        if lit is None:
            return "calls `open(` with a mode the guard cannot read"
        text = lit.group(1) if lit.group(1) is not None else lit.group(2)
        if any(ch in text for ch in "wax+"):
            return f"opens a file with mode {text!r}"
    return None


_CODE_WRITES: dict[str, re.Pattern[str]] = {
    "perl": PERL_WRITES,
    "ruby": RUBY_WRITES,
    "node": JS_WRITES,
    "php": PHP_WRITES,
    "lua": LUA_WRITES,
    "r": R_WRITES,
    "tcl": TCL_WRITES,
}


def code_writes(lang: str, code: str) -> str | None:
    """What in a program of the language may write (a short phrase), or None."""
    if lang == "python":
        return python_writes(code)
    m = _CODE_WRITES[lang].search(code)
    return f"uses `{m.group().strip()}`" if m else None
