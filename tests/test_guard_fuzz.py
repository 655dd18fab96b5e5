"""Fuzzing the guard: no text makes it raise, and the hook answers only 0 or 2 with one line.

Two kinds of input: arbitrary text (weighted towards the characters shells care about), and
shell-like text built from a grammar of words, quotes, substitutions, redirections, operators,
compound commands and the programs the guard knows. Derandomized, so a run is repeatable.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conductor_tui.core.store import Store
from conductor_tui.guard import is_mutating_command, parse_hook
from conductor_tui.guard.hook import run_hook
from conductor_tui.guard.inline import awk_effects, python_writes, sed_effects
from conductor_tui.guard.lexer import ShellSyntaxError, TooDeep, parse

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SHELLISH = "abcrmx/._-~*?[]{}()<>|&;$`'\"\\ \t\n=#!%+:@0123456789"

# ---------------------------------------------------------------- a grammar of shell text

plain = st.sampled_from(
    [
        "ls",
        "rm",
        "x",
        "src/app.py",
        "-rf",
        "-i",
        "-sSo",
        "--out",
        "a b",
        "*.py",
        "~",
        "..",
        "/dev/null",
        "/dev/fd/3",
        "/proc/self/cwd",
        "{a,b}",
        "'",
        "\\",
        "$",
        "-",
        "--",
        "=",
        "1",
    ]
)
programs = st.sampled_from(
    [
        "echo",
        "cat",
        "rm",
        "cp",
        "mv",
        "ln -s",
        "tee",
        "sed -i",
        "sed -n",
        "awk",
        "perl -pi -e",
        "python3 -c",
        "node -e",
        "git",
        "git -c alias.x=!ls",
        "curl -o",
        "wget -qO-",
        "tar -xf",
        "find . -exec",
        "xargs",
        "env -S",
        "sudo",
        "nice -n 5",
        "timeout 5",
        "time -p",
        "bash -c",
        "sh",
        "eval",
        "source",
        "cd",
        "conductor",
        "make",
        "npm run",
        "docker run -v",
        "dd of=x",
        "sort -o",
        "script -c",
        "setsid",
        "flock x",
        "watch",
        "parallel",
        "exec",
        "command",
        "trap",
        "alias a=",
        "export PAGER=",
        "mapfile -C",
        "tar xzf",
        "7z x",
        "cpio -i",
        "ar x",
        "unzip",
        "zip -m",
        "rsync -a",
        "scp",
        "chmod",
        "chown",
        "rmdir -p",
        "mktemp",
        "patch -o",
        "split",
        "csplit",
        "ssh host",
        "docker compose",
        "docker cp",
        "docker run",
        "git clone",
        "git worktree add",
        "git config",
        "git format-patch",
        "go build -o",
        "cargo fmt",
        "yarn",
        "uv tool run",
        "make -f",
        "gcc -o",
        "sqlite3",
        "ctags -f",
        "pandoc -o",
        "less",
        "man -P",
        "tmux",
        "gdb -ex",
        "ruff",
        "prettier --write",
        "pre-commit run",
        "pytest --junitxml",
        "coverage html",
        "tsc",
        "perl -M",
        "ruby -e",
        "php -r",
        "lua -e",
        "deno eval",
        "bun -e",
        "busybox",
        "coreutils --coreutils-prog=rm",
        "su -c",
        "runuser -u",
        "sudo -s",
        "env -C",
        "xargs -I{}",
        "watch -x",
        "script -q",
        "crontab",
        "vim",
        "gzip",
        "install -d",
        "ln",
        "sponge",
        "rename",
        "truncate -s",
        "wget -O",
        "curl -T",
        "uniq",
        "xxd",
        "shuf -o",
    ]
)


def _quoted(s: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        s,
        s.map(lambda w: f"'{w}'"),
        s.map(lambda w: f'"{w}"'),
        s.map(lambda w: f"$'{w}'"),
        s.map(lambda w: "\\" + w),
    )


def _script(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    word = st.one_of(
        _quoted(plain),
        children.map(lambda c: f"$({c})"),
        children.map(lambda c: f"`{c}`"),
        children.map(lambda c: f"<({c})"),
        children.map(lambda c: f">({c})"),
        children.map(lambda c: f"${{x:-$({c})}}"),
        plain.map(lambda w: f"$(( {w} << 2 ))"),
    )
    redirect = st.tuples(
        st.sampled_from([">", ">>", "2>", "&>", "<>", "1<>", ">&", ">|", "<", "<<<", "{fd}>"]),
        word,
    ).map(lambda t: f"{t[0]}{t[1]}")
    heredoc = st.tuples(st.sampled_from(["<<E", "<<'E'", "<<-E"]), children).map(
        lambda t: f"{t[0]}\n{t[1]}\nE\n"
    )
    simple = st.tuples(programs, st.lists(st.one_of(word, redirect), max_size=4)).map(
        lambda t: " ".join([t[0], *t[1]])
    )
    compound = st.one_of(
        children.map(lambda c: f"( {c} )"),
        children.map(lambda c: f"{{ {c}; }}"),
        children.map(lambda c: f"if {c}; then {c}; fi"),
        children.map(lambda c: f"while {c}; do {c}; done"),
        children.map(lambda c: f"for i in a b; do {c}; done"),
        children.map(lambda c: f"case $x in a|b) {c};; *) {c};; esac"),
        word.map(lambda w: f"[[ {w} > 3 && -f {w} ]]"),
        word.map(lambda w: f"(( {w} > 0 ))"),
        children.map(lambda c: f"f() {{ {c}; }}; f"),
        st.tuples(programs, heredoc).map(lambda t: f"{t[0]} {t[1]}"),
    )
    operator = st.sampled_from([" ; ", " && ", " || ", " | ", " & ", "\n", " |& "])
    return st.one_of(
        simple,
        compound,
        st.tuples(children, operator, children).map(lambda t: "".join(t)),
        st.tuples(st.sampled_from(["bash -c ", "eval ", "sh -c ", "env -S "]), children).map(
            lambda t: t[0] + "'" + t[1].replace("'", "'\\''") + "'"
        ),
    )


shell_text = st.recursive(st.one_of(plain, programs), _script, max_leaves=12)
any_text = st.text(alphabet=st.sampled_from(SHELLISH) | st.characters(), max_size=200)


# ---------------------------------------------------------------- the properties


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "shop"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("x\n")
    (root / ".git").mkdir()
    return root


def _classify(text: str, project: Path) -> None:
    reason = is_mutating_command(
        text, cwd=str(project), project=str(project), allow_under=[str(project / ".nanostack")]
    )
    assert reason is None or (isinstance(reason, str) and "\n" not in reason and reason)
    with contextlib.suppress(ShellSyntaxError, TooDeep):  # the only two it may raise
        parse(text)


@FUZZ
@given(text=any_text)
def test_arbitrary_text_never_raises(project: Path, text: str) -> None:
    _classify(text, project)


@FUZZ
@given(text=shell_text)
def test_shell_like_text_never_raises(project: Path, text: str) -> None:
    _classify(text, project)


@settings(FUZZ, max_examples=150)
@given(text=st.text(max_size=120))
def test_inline_scanners_never_raise(text: str) -> None:
    sed_effects(text)
    awk_effects(text)
    python_writes(text)


@pytest.fixture(scope="module")
def hooked(project: Path) -> dict[str, Any]:
    """A sprint in which the agent holds only a read phase, so writes are blocked."""
    store = Store(str(project / ".nanostack"))
    sprint = store.start(str(project), agent="lead", phases=[{"name": "review", "depends_on": []}])
    sprint.claim("review", agent="fuzz", holder_pid=os.getpid())
    return {"NANOSTACK_AGENT": "fuzz", "HOME": str(project.parent)}


def _hook(raw: bytes, project: Path, env: dict[str, Any]) -> tuple[int, str]:
    code, message = run_hook(raw, store=None, project=None, agent=None, cwd=str(project), env=env)
    assert code in (0, 2)
    assert "\n" not in message and "\r" not in message
    message.encode("utf-8")  # printable to any UTF-8 stderr
    assert (code == 0) == (message == "")
    assert "Traceback" not in message
    return code, message


@settings(FUZZ, max_examples=200)
@given(text=st.one_of(shell_text, any_text))
def test_the_hook_answers_0_or_2_with_one_line(
    project: Path, hooked: dict[str, Any], text: str
) -> None:
    payload = {
        "hook_event_name": "PreToolUse",
        "cwd": str(project),
        "tool_name": "Bash",
        "tool_input": {"command": text},
    }
    code, _ = _hook(json.dumps(payload).encode(), project, hooked)
    if is_mutating_command(
        text, cwd=str(project), project=str(project), allow_under=[str(project / ".nanostack")]
    ):
        assert code == 2


@settings(FUZZ, max_examples=150)
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_payload_gets_0_or_2(project: Path, hooked: dict[str, Any], raw: bytes) -> None:
    _hook(raw, project, hooked)
    assert parse_hook(raw) is not None


def _known_programs() -> list[str]:
    from conductor_tui.guard.classify import Classifier
    from conductor_tui.guard.commands.base import _HANDLERS
    from conductor_tui.guard.where import Scope

    own = Classifier(Scope((), (), ()), None, {}).own
    return sorted({*_HANDLERS, *own, "python3.12", "pypy3"})


argument = st.one_of(
    plain,
    st.sampled_from(
        [
            "-o",
            "-O",
            "-i",
            "-c",
            "-e",
            "-f",
            "-t",
            "-C",
            "-m",
            "-d",
            "-x",
            "-S",
            "-p",
            "-",
            "--",
            "--output",
            "--out=x",
            "--in-place",
            "--exec",
            "-sSo",
            "-lpi",
            "-pe",
            "-Sc",
            "x=1",
            "of=x",
            "{}",
            ";",
            "+",
            ":::",
            "run",
            "exec",
            "install",
            "build",
            "test",
            "commit",
            "-c",
            "alias.x=!ls",
            "core.pager=ls",
            "new",
            "--store",
            "/tmp",
            "-o-",
            "-qO-",
        ]
    ),
    st.text(alphabet=SHELLISH, max_size=8),
)


@settings(FUZZ, max_examples=300)
@given(program=st.sampled_from(_known_programs()), args=st.lists(argument, max_size=6))
def test_every_known_program_reads_any_arguments(
    project: Path, program: str, args: list[str]
) -> None:
    import shlex

    _classify(shlex.join([program, *args]), project)
