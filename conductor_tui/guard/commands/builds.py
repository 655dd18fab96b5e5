"""Package managers, task runners, formatters, test runners and compilers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..calls import Call, Mutation, Result
from ..lexer import Word
from ..opts import read
from ..tables import (
    BUILD_RUNNERS,
    CC,
    FORMATTERS_ALWAYS,
    MAKE_SPEC,
    PKG,
    PKG_ALIASES,
    PKG_VALUE_OPTS,
    RUN_SUBCOMMAND,
    RUNNER_SPEC,
    RUNNERS,
    words,
)
from .base import (
    _has,
    _short,
    after,
    build_target_writes,
    handles,
    opts_of,
    positionals,
)

if TYPE_CHECKING:
    from ..classify import Classifier


@handles(*RUNNERS)
def h_runner(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, RUNNER_SPEC)
    for w in opts.values("-c", "--call", "--shell"):
        c.shell_string(w, call, f"`{call.name} -c`")
    if opts.operands:
        c.run(call.then(opts.operands))
    return None


@handles(*PKG, *PKG_ALIASES, "rye", "pixi")
def h_package(c: Classifier, call: Call) -> Result:
    name = call.name.lower()
    pkg = PKG_ALIASES.get(name, name)
    if pkg == "npx":
        return h_runner(c, call)
    args = call.args
    pos = positionals(args, PKG_VALUE_OPTS)
    if any(w.value is None for w in pos[:2]):
        raise Mutation(f"`{call.name}` with a subcommand computed at run time")
    sub = (pos[0].value or "") if pos else ""
    if RUN_SUBCOMMAND.get(pkg) == sub or (pkg in ("yarn", "pnpm") and sub == "dlx"):
        after_sub = args[args.index(pos[0]) + 1 :]
        runner = read(after_sub, RUNNER_SPEC)
        for w in runner.values("-c", "--call"):
            c.shell_string(w, call, f"`{call.name} {sub} -c`")
        if runner.operands:
            c.run(call.then(runner.operands))
        return None
    if pkg in ("npm", "pnpm", "yarn", "bun"):
        script = _script_name(pkg, sub, pos)
        if script is not None:
            if build_target_writes(script):
                raise Mutation(f"`{call.name} {sub}` runs a script named like a build or fix")
            return None
    if pkg == "go":
        return _go(c, call, sub, pos, args)
    if pkg == "cargo" and sub in ("fmt", "clippy"):
        values = {w.value for w in args}
        if sub == "fmt" and "--check" not in values:
            raise Mutation("`cargo fmt` rewrites files")
        if sub == "clippy" and "--fix" in values:
            raise Mutation("`cargo clippy --fix` rewrites files")
        return None
    if pkg == "npm" and sub == "audit" and any(w.value == "fix" for w in pos):
        raise Mutation("`npm audit fix` changes dependencies")
    if pkg == "uv" and sub in ("pip", "tool", "python", "self"):
        action = (pos[1].value or "") if len(pos) > 1 else ""
        if sub == "tool" and action == "run":
            rest = read(args[args.index(pos[1]) + 1 :], RUNNER_SPEC)
            if rest.operands:
                c.run(call.then(rest.operands))
            return None
        if action in ("install", "uninstall", "sync", "compile", "upgrade", "update", "pin"):
            raise Mutation(f"`uv {sub} {action}` changes the environment")
        return None
    if pkg == "pip" and sub == "install" and any(w.value == "--dry-run" for w in args):
        return None
    if pkg in PKG and sub in PKG[pkg]:
        shown = f"{call.name} {sub}".strip()
        raise Mutation(f"`{shown}` changes installed packages, lock files or the tree")
    return None


_NPM_BUILTIN = words(
    "access adduser audit bugs cache ci completion config dedupe deprecate diff dist-tag docs "
    "doctor edit exec explain explore find-dupes fund get help help-search hook init install "
    "install-ci-test install-test link ll login logout ls org outdated owner pack ping pkg "
    "prefix profile prune publish query rebuild repo restart root run run-script sbom search "
    "set shrinkwrap star stars start stop team test token uninstall unpublish unstar update "
    "version view whoami i t tst add remove rm up upgrade why list info dlx create import "
    "patch node bin global licenses workspaces plugin constraints"
)


def _script_name(pkg: str, sub: str, pos: list[Word]) -> str | None:
    """The script an npm-like command runs by name (None when it runs none)."""
    if sub in ("run", "run-script", "rum", "urn"):
        return (pos[1].value or "") if len(pos) > 1 else None
    if sub in ("test", "t", "tst", "start", "stop", "restart"):
        return sub
    if pkg in ("yarn", "pnpm", "bun") and sub and sub not in _NPM_BUILTIN and sub not in PKG[pkg]:
        return sub  # `yarn build` runs the script named build
    return None


def _go(c: Classifier, call: Call, sub: str, pos: list[Word], args: list[Word]) -> Result:
    if sub == "mod":
        action = (pos[1].value or "") if len(pos) > 1 else ""
        if action in ("tidy", "init", "vendor", "edit", "download"):
            raise Mutation(f"`go mod {action}` changes go.mod")
        return None
    if sub in ("build", "test"):
        outs = [args[k + 1] for k, w in enumerate(args) if w.value == "-o" and k + 1 < len(args)]
        outs += [after(w, 3) for w in args if w.text.startswith("-o=")]
        if sub == "test" and not outs and not any(w.value == "-c" for w in args):
            return None
        for w in outs or [Word.lit(".")]:
            c.check(w, call.cwds, f"`go {sub}` writes", rooted=call.rooted)
        return None
    if sub in PKG["go"]:
        raise Mutation(f"`go {sub}` changes the module or writes files")
    return None


@handles(*BUILD_RUNNERS)
def h_build(c: Classifier, call: Call) -> Result:
    name = call.name
    values = [w.value for w in call.args]
    if values and all(v in ("--version", "-v", "--help", "-h", "-V") for v in values):
        return None
    if name.lower() in ("make", "gmake", "bmake"):
        opts = opts_of(call, MAKE_SPEC)
        if opts.has("--eval"):
            raise Mutation("`make --eval` runs rules the guard does not read")
        if opts.has("-t", "--touch"):
            raise Mutation("`make -t` touches files")
        if opts.has("-n", "--just-print", "--dry-run", "--recon", "-q", "--question"):
            return None
        targets = [w for w in opts.operands if "=" not in w.text]
    else:
        targets = [
            w
            for w in positionals(
                call.args,
                words(
                    "-C -f -j -D -t -p --project-dir "
                    "-b --build-file -s --settings-file "
                    "--config -c -l -k"
                ),
            )
            if "=" not in w.text
        ]
    if not targets:
        raise Mutation(f"`{name}` runs its default target (a build recipe, which may write)")
    for w in targets:
        if w.value is None:
            raise Mutation(f"`{name}` runs a target computed at run time")
        if build_target_writes(w.value):
            raise Mutation(f"`{name} {w.value}` runs a build recipe that may write")
    return None


@handles("black", "blue")
def h_black(c: Classifier, call: Call) -> Result:
    if _has(call, "--check", "--diff", "--version", "--help", "--code", "-c"):
        return None
    raise Mutation(f"`{call.name}` rewrites files")


@handles("isort")
def h_isort(c: Classifier, call: Call) -> Result:
    if _has(call, "--check", "--check-only", "-c", "--diff", "--version", "--help", "--show-files"):
        return None
    raise Mutation("`isort` rewrites files")


@handles("ruff")
def h_ruff(c: Classifier, call: Call) -> Result:
    pos = positionals(
        call.args,
        words(
            "--config --target-version --select --ignore "
            "--extend-select --output-format --line-length"
        ),
    )
    sub = (pos[0].value or "") if pos else ""
    for k, w in enumerate(call.args):
        if w.value in ("-o", "--output-file") and k + 1 < len(call.args):
            c.check(call.args[k + 1], call.cwds, "`ruff -o` writes", rooted=call.rooted)
        elif (w.value or "").startswith("--output-file="):
            c.check(after(w, 14), call.cwds, "`ruff -o` writes", rooted=call.rooted)
    if sub == "format" and not _has(call, "--check", "--diff"):
        raise Mutation("`ruff format` rewrites files")
    if _has(call, "--fix", "--unsafe-fixes", "--add-noqa") and not _has(call, "--no-fix"):
        raise Mutation("`ruff --fix` rewrites files")
    if sub == "clean":
        raise Mutation("`ruff clean` deletes caches in the tree")
    return None


@handles(
    "prettier",
    "biome",
    "dprint",
    "eslint",
    "stylelint",
    "standard",
    "rubocop",
    "standardrb",
    "swiftformat",
    "swiftlint",
    "ktlint",
    "shfmt",
    "terraform",
    "tofu",
    "stylua",
    "gofmt",
    "goimports",
    "gofumpt",
    "rustfmt",
    "clang-format",
    "autopep8",
    "yapf",
    "autoflake",
    "docformatter",
    "sqlfluff",
    "djlint",
    "taplo",
    "buf",
    "golangci-lint",
    "markdownlint",
    "mdformat",
    "nixfmt",
    "alejandra",
    "pre-commit",
    "prek",
    "lefthook",
    *FORMATTERS_ALWAYS,
)
def h_formatter(c: Classifier, call: Call) -> Result:
    name = call.name.lower()
    verdict = f"`{call.name}` rewrites files"
    if name in FORMATTERS_ALWAYS or name in ("mdformat", "nixfmt", "alejandra"):
        if _has(call, "--check", "--version", "--help"):
            return None
        raise Mutation(verdict)
    if name in ("pre-commit", "prek", "lefthook"):
        pos = positionals(call.args)
        if pos and pos[0].value in (
            "run",
            "install",
            "autoupdate",
            "try-repo",
            "migrate-config",
            "install-hooks",
            "clean",
            "gc",
            "uninstall",
        ):
            raise Mutation(f"`{call.name} {pos[0].value}` runs hooks or changes the hook setup")
        return None
    if name in ("prettier", "standard", "dprint"):
        if _has(call, "--write", "-w", "--fix") or (name == "dprint" and _has(call, "fmt")):
            raise Mutation(verdict)
        return None
    if name == "biome":
        if _has(call, "--write", "--apply", "--apply-unsafe", "--fix", "--unsafe"):
            raise Mutation(verdict)
        return None
    if name in (
        "eslint",
        "stylelint",
        "standardrb",
        "swiftlint",
        "sqlfluff",
        "golangci-lint",
        "markdownlint",
        "buf",
    ):
        for k, w in enumerate(call.args):
            if w.value in ("-o", "--output-file") and k + 1 < len(call.args):
                c.check(call.args[k + 1], call.cwds, f"`{call.name} -o` writes", rooted=call.rooted)
        if _has(call, "--fix", "--fix-dry-run") and not _has(call, "--fix-dry-run"):
            raise Mutation(verdict)
        if any(
            (w.value or "").startswith("--fix") for w in call.args if w.value != "--fix-dry-run"
        ):
            raise Mutation(verdict)
        if (
            name in ("sqlfluff", "buf")
            and positionals(call.args)[:1]
            and positionals(call.args)[0].value in ("fix", "format")
        ):
            raise Mutation(verdict)
        return None
    if name == "rubocop":
        if _has(
            call,
            "-a",
            "-A",
            "--auto-correct",
            "--autocorrect",
            "--autocorrect-all",
            "--auto-correct-all",
            "-x",
            "--fix-layout",
        ):
            raise Mutation(verdict)
        return None
    if name in ("swiftformat", "stylua", "rustfmt", "djlint", "taplo", "ktlint"):
        if (
            _has(call, "--check", "--lint", "--version", "--help", "--dryrun", "--dry-run")
            or (name == "djlint" and not _has(call, "--reformat"))
            or (name == "ktlint" and not _has(call, "-F", "--format"))
            or (name == "taplo" and not any(w.value in ("fmt", "format") for w in call.args))
        ):
            return None
        raise Mutation(verdict)
    if name == "shfmt":
        if _short(call, "w") or _has(call, "--write"):
            raise Mutation(verdict)
        return None
    if name in ("terraform", "tofu"):
        pos = positionals(call.args)
        sub = (pos[0].value or "") if pos else ""
        if sub == "fmt" and not _has(call, "-check", "-diff"):
            raise Mutation(f"`{call.name} fmt` rewrites files")
        if sub in ("init", "apply", "destroy", "import", "taint", "untaint", "get", "refresh"):
            raise Mutation(f"`{call.name} {sub}` writes state or modules")
        return None
    if name in ("gofmt", "goimports", "gofumpt"):
        if _short(call, "w"):
            raise Mutation(f"`{call.name} -w` rewrites files")
        return None
    if name in ("clang-format", "autopep8", "yapf", "autoflake", "docformatter"):
        if _short(call, "i") or _has(call, "--in-place"):
            raise Mutation(f"`{call.name} -i` rewrites files")
        return None
    return None


@handles("pytest", "py.test", "mypy", "coverage", "tsc", "rustc", "javac")
def h_reports(c: Classifier, call: Call) -> Result:
    """Test runners, type checkers and compilers: their caches are allowed, their outputs not."""
    name = call.name.lower()
    file_opts = words(
        "--junitxml --junit-xml --result-log --resultlog --html --report-log --basetemp "
        "--html-report --txt-report --xml-report --linecount-report --cobertura-xml-report "
        "--lineprecision-report --any-exprs-report --lcov -o --out-dir --outDir --outFile "
        "--data-file -d --directory --out"
    )
    args = call.args
    for k, w in enumerate(args):
        v = w.value or ""
        option, eq, _ = v.partition("=")
        if option in file_opts:
            if name in ("pytest", "py.test") and option in ("-o", "-d"):
                continue  # pytest's -o is an ini override; -d is xdist
            target = (
                after(w, len(option) + 1) if eq else (args[k + 1] if k + 1 < len(args) else None)
            )
            if target is not None:
                c.check(target, call.cwds, f"`{call.name} {option}` writes", rooted=call.rooted)
        elif option == "--cov-report" and eq and ":" in v:
            path = v.split(":", 1)[1]
            if path:
                c.check(Word.lit(path), call.cwds, "`--cov-report` writes", rooted=call.rooted)
    pos = positionals(args)
    if (
        name == "coverage"
        and pos
        and pos[0].value in ("html", "xml", "json", "lcov", "annotate", "erase", "combine")
        and not any(w.value in ("-o", "-d", "--directory") for w in args)
    ):
        c.check(
            Word.lit("."), call.cwds, f"`coverage {pos[0].value}` writes into", rooted=call.rooted
        )
    no_output = ("--noEmit", "-noEmit", "--help", "-h", "--version", "-v", "--showConfig")
    if name == "tsc" and not _has(call, *no_output, "--outDir", "--outFile", "--out"):
        c.check(Word.lit("."), call.cwds, "`tsc` writes JavaScript into", rooted=call.rooted)
    no_binary = ("--version", "-V", "--print", "--help", "-h", "-o", "--out-dir")
    if name == "rustc" and not _has(call, *no_binary):
        c.check(Word.lit("."), call.cwds, "`rustc` writes a binary into", rooted=call.rooted)
    if name == "javac" and not _has(call, "-d", "-version", "--version", "-help", "--help"):
        for w in pos:
            c.check(w, call.cwds, "`javac` writes classes beside", rooted=call.rooted)
    return None


@handles(*CC)
def h_cc(c: Classifier, call: Call) -> Result:
    args = call.args
    outputs: list[Word] = []
    silent = False
    for k, w in enumerate(args):
        v = w.value or ""
        if v == "-o" and k + 1 < len(args):
            outputs.append(args[k + 1])
        elif v.startswith("-o") and len(v) > 2:
            outputs.append(after(w, 2))
        elif v in ("-MF", "-MT", "-MQ") and k + 1 < len(args) and v == "-MF":
            outputs.append(args[k + 1])
        elif v in (
            "-fsyntax-only",
            "-E",
            "-M",
            "-MM",
            "--version",
            "-v",
            "-###",
            "-dumpversion",
            "-dumpmachine",
            "--help",
        ) or v.startswith("-print-"):
            silent = True
        elif v.startswith("-save-temps"):
            outputs.append(Word.lit("."))
    if silent and not outputs:
        return None
    for w in outputs or [Word.lit("a.out")]:
        if w.value != "-":
            c.check(w, call.cwds, f"`{call.name}` writes", rooted=call.rooted)
    return None
