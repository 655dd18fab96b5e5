"""Programs that run a program: sed scripts, awk programs, and the interpreters."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..calls import Call, Mutation, Result
from ..inline import awk_effects, sed_effects
from ..lexer import DYN, Word
from ..opts import spec
from ..tables import (
    AWKS,
    LUAS,
    NODES,
    PERLS,
    PHPS,
    PKG,
    PYTHON,
    RS,
    RUBIES,
    SEDS,
    TCLS,
    words,
)
from .base import (
    build_target_writes,
    handles,
    handles_matching,
    opts_of,
    positionals,
    read_text,
    unsure,
)
from .builds import h_package
from .conductor import h_conductor

if TYPE_CHECKING:
    from ..classify import Classifier


SED_SPEC = spec(
    "efl",
    "expression= file= in-place? line-length= null-data zero-terminated quiet silent "
    "regexp-extended separate unbuffered posix sandbox debug follow-symlinks binary help version",
    optional="i",
)


AWK_SPEC = spec(
    "fvFEilWe",
    "file= assign= field-separator= exec= include= load= source= characters-as-bytes "
    "traditional copyright dump-variables? debug? gen-pot help lint? bignum use-lc-numeric "
    "non-decimal-data pretty-print? optimize profile? posix re-interval no-optimize sandbox "
    "lint-old version csv",
    optional="odpDL",
)


def _effects(c: Classifier, call: Call, effects: list[tuple[str, str]], what: str) -> None:
    for kind, arg in effects:
        if kind == "write":
            if not arg:
                raise Mutation(f"{what} writes to a file computed at run time")
            c.check(Word.lit(arg), call.cwds, f"{what} writes", rooted=call.rooted, streams=True)
        elif kind in ("exec", "pipe"):
            if not arg:
                raise Mutation(f"{what} runs a command computed at run time")
            # a pipe feeds the program's output to the command: unknown input, as from curl
            feed = "__program_output__ | " if kind == "pipe" else ""
            c.text(feed + arg, call.cwds, call.depth + 1)
        else:
            raise Mutation(f"{what}: {arg}")


@handles(*SEDS)
def h_sed(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, SED_SPEC)
    scripts = opts.values("-e", "--expression")
    files = opts.values("-f", "--file")
    operands = opts.operands
    if not scripts and not files and operands:
        scripts, operands = operands[:1], operands[1:]
    if opts.has("-i", "--in-place"):
        for w in operands:
            c.check(w, call.cwds, "`sed -i` edits", rooted=call.rooted)
    if opts.has("--sandbox"):
        return None  # sed itself refuses w, W, e and r
    texts = [w.value for w in scripts]
    if any(t is None for t in texts):
        raise Mutation("`sed` with a script computed at run time")
    texts += [read_text(c, w, call, "`sed -f`") for w in files]
    for text in texts:
        if text is not None:
            _effects(c, call, sed_effects(text), "`sed`")
    return None


@handles(*AWKS)
def h_awk(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, AWK_SPEC)
    name = call.name
    if opts.has("-i", "--include", "-l", "--load"):
        raise Mutation(f"`{name} -i` loads code the guard does not read (`-i inplace` edits)")
    for option, default in (
        ("-o", "awkprof.out"),
        ("--pretty-print", "awkprof.out"),
        ("-p", "awkprof.out"),
        ("--profile", "awkprof.out"),
        ("-d", "awkvars.out"),
        ("--dump-variables", "awkvars.out"),
    ):
        for value in [v for o, v in opts.seen if o == option]:
            target = value if value is not None and value.text else Word.lit(default)
            c.check(target, call.cwds, f"`{name} {option}` writes", rooted=call.rooted)
    files = opts.values("-f", "--file", "-E", "--exec")
    sources = opts.values("-e", "--source")
    operands = opts.operands
    if not files and not sources and operands:
        sources, operands = operands[:1], operands[1:]
    if opts.has("--sandbox", "-S"):
        return None  # gawk itself refuses system(), redirections and pipes
    texts = [w.value for w in sources]
    if any(t is None for t in texts):
        raise Mutation(f"`{name}` with a program computed at run time")
    texts += [read_text(c, w, call, f"`{name} -f`") for w in files]
    for text in texts:
        if text is not None:
            _effects(c, call, awk_effects(text), f"`{name}`")
    return None


def _code_word(c: Classifier, call: Call, lang: str, w: Word | None) -> None:
    if w is None:
        return
    if w.value is None:
        raise Mutation(f"`{call.name}` runs code computed at run time")
    c.code(call, lang, w.value)


@handles_matching(PYTHON)
def h_python(c: Classifier, call: Call) -> Result:
    args = call.args
    i = 0
    while i < len(args):
        w = args[i]
        v = w.value
        if v is None:
            if w.text.startswith(DYN):
                raise unsure(call)
            return None  # a script whose name is computed: not inspected
        if v == "-":
            c.program(call, "python", call.stdin)
            return None
        if v == "--":
            i += 1
            break
        if v.startswith("--"):
            if v in ("--version", "--help", "-V"):
                return None
            i += 2 if v == "--check-hash-based-pycs" else 1
            continue
        if not v.startswith("-") or len(v) == 1:
            break
        i += 1
        for j in range(1, len(v)):
            ch = v[j]
            if ch in "cm":
                given = v[j + 1 :]
                value = Word.lit(given) if given else (args[i] if i < len(args) else None)
                i += 0 if given else 1
                if ch == "c":
                    _code_word(c, call, "python", value)
                    return None
                return _python_module(c, call, value, list(args[i:]))
            if ch in "WXQ":
                i += 0 if v[j + 1 :] else 1
                break
            if ch in "hV":
                return None
    operands = args[i:]
    if operands:
        c.program_file(call, "python", operands[0])
    else:
        c.program(call, "python", call.stdin)
    return None


# `python -m MODULE` read as the command of the same name
_PY_MODULES = {
    "pip": "pip",
    "pytest": "pytest",
    "black": "black",
    "isort": "isort",
    "ruff": "ruff",
    "mypy": "mypy",
    "coverage": "coverage",
    "autopep8": "autopep8",
    "yapf": "yapf",
    "pre_commit": "pre-commit",
    "ensurepip": "pip",
    "poetry": "poetry",
    "pipx": "pipx",
    "uv": "uv",
    "build": "python-build",
    "twine": "twine",
    "flake8": "flake8",
    "pylint": "pylint",
    "unittest": "unittest",
    "venv": "virtualenv",
    "virtualenv": "virtualenv",
    "pydoc": "pydoc",
}


def _python_module(c: Classifier, call: Call, module: Word | None, rest: list[Word]) -> Result:
    if module is None:
        return None
    name = module.value
    if name is None:
        raise Mutation(f"`{call.name} -m` runs a module computed at run time")
    top = name.split(".")[0]
    if top == "conductor_tui":
        return h_conductor(c, call.then([Word.lit("conductor"), *rest]))
    if name in ("json.tool", "zipfile", "tarfile", "cProfile", "profile", "trace"):
        return _python_tool_module(c, call, name, rest)
    command = _PY_MODULES.get(name) or _PY_MODULES.get(top)
    if command is None:
        return None  # a module's code is not inspected (docs/GUARD.md)
    c.run(call.then([Word.lit(command), *rest]))
    return None


def _python_tool_module(c: Classifier, call: Call, name: str, rest: list[Word]) -> Result:
    ops = positionals(
        rest, words("--indent -o --outfile -s --sort -r --count --file -C --coverdir")
    )
    args = [w.value or "" for w in rest]
    if name == "json.tool":
        if len(ops) > 1:
            c.check(ops[1], call.cwds, "`python -m json.tool` writes", rooted=call.rooted)
        return None
    if name in ("zipfile", "tarfile"):
        if "-e" in args or "--extract" in args:
            c.check(
                ops[-1] if len(ops) > 1 else Word.lit("."),
                call.cwds,
                f"`python -m {name} -e` extracts into",
                rooted=call.rooted,
                link=True,
            )
        if "-c" in args or "--create" in args:
            c.check(
                ops[0] if ops else Word.unknown(),
                call.cwds,
                f"`python -m {name} -c` writes",
                rooted=call.rooted,
            )
        return None
    for k, a in enumerate(args):
        if a in ("-o", "--outfile", "--file", "-C", "--coverdir") and k + 1 < len(rest):
            c.check(rest[k + 1], call.cwds, f"`python -m {name}` writes", rooted=call.rooted)
    return None


@handles(*PERLS)
def h_perl(c: Classifier, call: Call) -> Result:
    args = call.args
    code: list[Word] = []
    modules: list[str] = []
    in_place = False
    i = 0
    while i < len(args):
        w = args[i]
        v = w.value
        if v is None:
            if w.text.startswith(DYN):
                raise unsure(call)
            break
        if v in ("-", "--") or not v.startswith("-") or v.startswith("--"):
            if v == "--":
                i += 1
            if v.startswith("--") and v != "--":
                i += 1
                continue
            break
        i += 1
        j = 1
        while j < len(v):
            ch = v[j]
            rest = v[j + 1 :]
            if ch == "i":
                in_place = True
                break
            if ch in "eE":
                code.append(Word.lit(rest) if rest else args[i] if i < len(args) else Word())
                i += 0 if rest or i >= len(args) else 1
                break
            if ch in "MmI":
                taken = rest or (args[i].value or "" if i < len(args) else "")
                i += 0 if rest else 1
                if ch in "Mm":
                    modules.append(taken)
                break
            if ch in "l0":
                m = re.match(r"x?[0-9A-Fa-f]*", rest)
                j += 1 + (len(m.group()) if m else 0)
                continue
            if ch in "CdDFVx":
                break
            j += 1
    operands = args[i:]
    if in_place:
        for f in operands if code else operands[1:]:
            c.check(f, call.cwds, "`perl -i` edits", rooted=call.rooted)
    if code:
        texts = [w.value for w in code]
        if any(t is None for t in texts):
            raise Mutation(f"`{call.name}` runs code computed at run time")
        program = "\n".join([*(f"use {m};" for m in modules), *(t or "" for t in texts)])
        c.code(call, "perl", program)
    elif operands:
        c.program_file(call, "perl", operands[0])
    else:
        c.program(call, "perl", call.stdin)
    return None


def _interpreter(
    c: Classifier,
    call: Call,
    lang: str,
    *,
    code_opts: str,
    value_opts: str,
    in_place: str = "",
    no_run: str = "",
) -> Result:
    """A generic interpreter: inline code options, options with values, then a script or stdin."""
    args = call.args
    code_set, value_set, no_run_set = words(code_opts), words(value_opts), words(no_run)
    i = 0
    found: list[Word] = []
    edits = False
    while i < len(args):
        w = args[i]
        v = w.value
        if v is None:
            if w.text.startswith(DYN):
                raise unsure(call)
            break
        if v == "--":
            i += 1
            break
        if v == "-" or not v.startswith("-"):
            break
        if v in no_run_set:
            return None
        name, eq, attached = v.partition("=")
        if name in code_set:
            found.append(Word.lit(attached) if eq else args[i + 1] if i + 1 < len(args) else Word())
            i += 1 if eq else 2
            continue
        short = v[:2]
        if in_place and not v.startswith("--") and in_place in v[1:]:
            edits = True
        if short in code_set and len(v) > 2 and not v.startswith("--"):
            found.append(Word.lit(v[2:]))
            i += 1
            continue
        if "-e" in code_set and not v.startswith("--") and v[-1] == "e" and v[1:].isalpha():
            found.append(args[i + 1] if i + 1 < len(args) else Word())  # `-ne CODE`, `-pe CODE`
            i += 2
            continue
        i += 2 if (name in value_set and not eq) else 1
    operands = args[i:]
    if edits:
        for f in operands if found else operands[1:]:
            c.check(f, call.cwds, f"`{call.name} -i` edits", rooted=call.rooted)
    if found:
        for w in found:
            _code_word(c, call, lang, w)
    elif operands:
        c.program_file(call, lang, operands[0])
    else:
        c.program(call, lang, call.stdin)
    return None


@handles(*NODES)
def h_node(c: Classifier, call: Call) -> Result:
    return _interpreter(
        c,
        call,
        "node",
        code_opts="-e --eval -p --print -pe -ep",
        value_opts="-r --require --import --loader --experimental-loader -C --conditions "
        "--input-type --env-file --inspect-port --title --stack-size --test-reporter",
        no_run="-c --check -v --version -h --help",
    )


@handles(*RUBIES)
def h_ruby(c: Classifier, call: Call) -> Result:
    return _interpreter(
        c,
        call,
        "ruby",
        code_opts="-e",
        value_opts="-r -I -C -E -F -x -K -T -W --encoding --external-encoding --internal-encoding",
        in_place="i",
        no_run="-c -v --version -h --help",
    )


@handles(*PHPS)
def h_php(c: Classifier, call: Call) -> Result:
    return _interpreter(
        c,
        call,
        "php",
        code_opts="-r -B -R -E --run --process-begin --process-code --process-end",
        value_opts="-c -d -z -t -F -f --php-ini --define --zend-extension --docroot",
        no_run="-l --syntax-check -v --version -h --help -i --info -m --modules -s -S",
    )


@handles(*LUAS)
def h_lua(c: Classifier, call: Call) -> Result:
    return _interpreter(c, call, "lua", code_opts="-e", value_opts="-l", no_run="-v")


@handles(*RS, "rscript", "r")
def h_r(c: Classifier, call: Call) -> Result:
    if call.name == "R" and call.args and call.args[0].value == "CMD":
        raise Mutation("`R CMD` builds or installs packages")
    return _interpreter(
        c, call, "r", code_opts="-e --expr", value_opts="--file -f", no_run="--version"
    )


@handles(*TCLS)
def h_tcl(c: Classifier, call: Call) -> Result:
    return _interpreter(c, call, "tcl", code_opts="-c", value_opts="-f -b", no_run="-v")


@handles("deno")
def h_deno(c: Classifier, call: Call) -> Result:
    ops = positionals(call.args)
    sub = (ops[0].value or "") if ops else ""
    if sub == "eval":
        rest = positionals(call.args[call.args.index(ops[0]) + 1 :])
        _code_word(c, call, "node", rest[0] if rest else None)
        return None
    flags = {w.value for w in call.args}
    if (sub == "fmt" or (sub == "lint" and "--fix" in flags)) and not {"--check", "--help"} & flags:
        raise Mutation(f"`deno {sub}` rewrites files")
    if sub == "task" and len(ops) > 1:
        if build_target_writes(ops[1].value or ""):
            raise Mutation(f"`deno task {ops[1].raw}` runs a task that may write")
        return None
    if sub in PKG["deno"]:
        raise Mutation(f"`deno {sub}` writes files or dependencies")
    return None


@handles("bun")
def h_bun(c: Classifier, call: Call) -> Result:
    args = call.args
    for k, w in enumerate(args):
        if w.value in ("-e", "--eval", "-p", "--print"):
            _code_word(c, call, "node", args[k + 1] if k + 1 < len(args) else None)
            return None
    return h_package(c, call)
