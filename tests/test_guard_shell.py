"""The guard's reading of shell commands: each way to write that issue 10 found, and the reads.

Commands are read against a real project directory (tmp) with its store inside (.nanostack), the
agent in the project's top directory, and a home outside it: as the hook reads them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from conductor_tui.guard import is_mutating_command
from conductor_tui.guard.lexer import (
    DYN,
    MAX_DEPTH,
    Compound,
    ShellSyntaxError,
    Simple,
    TooDeep,
    parse,
)

# the heart of a virtualenv's bin/activate, which agents source before running tests
ACTIVATE = """
deactivate () {
    if [ -n "${_OLD_VIRTUAL_PATH:-}" ] ; then
        PATH="${_OLD_VIRTUAL_PATH:-}"
        export PATH
        unset _OLD_VIRTUAL_PATH
    fi
    hash -r 2> /dev/null
    if [ ! "${1:-}" = "nondestructive" ] ; then
        unset -f deactivate
    fi
}
deactivate nondestructive
VIRTUAL_ENV="/home/dev/shop/.venv"
export VIRTUAL_ENV
_OLD_VIRTUAL_PATH="$PATH"
PATH="$VIRTUAL_ENV/bin:$PATH"
export PATH
if [ -z "${VIRTUAL_ENV_DISABLE_PROMPT:-}" ] ; then
    PS1="(.venv) ${PS1:-}"
    export PS1
fi
hash -r 2> /dev/null
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A project with sources, a store, and a scratch directory and a home outside it."""
    project = tmp_path / "shop"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text("print(1)\n")
    (project / ".nanostack").mkdir()
    (tmp_path / "scratch").mkdir()
    (tmp_path / "home").mkdir()
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "activate").write_text(ACTIVATE)
    return project


def fill(command: str, tree: Path) -> str:
    """A command with {project} and {scratch} replaced by the real directories."""
    scratch = str(tree.parent / "scratch")
    return command.replace("{project}", str(tree)).replace("{scratch}", scratch)


def writes(tree: Path, command: str, cwd: Path | None = None) -> str | None:
    """The guard's reason for a command run from cwd (default: the project), or None."""
    env = {"HOME": str(tree.parent / "home")}
    return is_mutating_command(
        command,
        cwd=str(cwd or tree),
        project=str(tree),
        allow_under=[str(tree / ".nanostack")],
        env=env,
    )


# ---------------------------------------------------------------- the issue's classes

# Each class of issue 10, with the ways it was attacked and a few more of the same kind.
ISSUE_CLASSES: dict[str, list[str]] = {
    "ANSI-C quoting hides a redirection or a name": [
        "echo $'it\\'s' > src/app.py",
        "bash -c $'rm\\x20src/app.py'",
        "$'\\x72\\x6d' src/app.py",
        "$'\\162m' -f src/app.py",
        "eval $'echo x \\x3e src/app.py'",
        'echo $"x" > src/app.py',
    ],
    "<< inside (( )) is no here-document": [
        "(( x = 1 << 2 ))\nrm src/app.py\n2",
        "echo $(( 1 << 2 )); touch src/new.py",
        "for (( i = 0; i << 1; i++ )); do echo > src/app.py; done",
    ],
    "clustered or abbreviated flags": [
        "curl -sSo src/app.py https://example.com",
        "curl -sSosrc/app.py https://example.com",
        "curl --out src/app.py https://example.com",
        "curl --output=src/app.py https://example.com",
        "curl -sSO https://example.com/app.py",
        "python3 -Sc \"open('src/app.py', 'w').write('x')\"",
        "python3 -Ic 'import os; os.remove(\"src/app.py\")'",
        "perl -lpi -e 's/a/b/' src/app.py",
        "perl -pi.bak -e 's/a/b/' src/app.py",
        "sed --i s/a/b/ src/app.py",
        "sed --in-place=.bak s/a/b/ src/app.py",
        "sed -ni p src/app.py",
        "sed -ie s/a/b/ src/app.py",
        "sed s/a/b/ -i src/app.py",
        "sort --outp=src/app.py src/app.py",
        "sort -uo src/app.py src/app.py",
        "wget -qO src/app.py https://example.com",
        "wget -q https://example.com/app.py",
    ],
    "read-write and other redirections": [
        "echo x 1<>src/app.py",
        "echo x <>src/app.py",
        "exec 3<>src/app.py",
        "echo x {fd}>src/app.py",
        "echo x >|src/app.py",
        "echo x &>>src/app.py",
        "echo x >&src/app.py",
        "echo x 2>src/err.log",
        "{ echo x; } > src/app.py",
        "(echo x) >> src/app.py",
        "while read l; do :; done > src/app.py",
        "cat <<EOF > src/app.py\nx\nEOF",
    ],
    "wrappers are looked through": [
        "time -p rm src/app.py",
        "setsid rm src/app.py",
        "setsid -f rm src/app.py",
        "script -c 'rm src/app.py' /dev/null",
        "script -qc 'rm src/app.py' /dev/null",
        "nice -n 5 rm src/app.py",
        "nice -5 rm src/app.py",
        "nohup rm src/app.py &",
        "timeout -s KILL 5 rm src/app.py",
        "timeout 5s rm src/app.py",
        "stdbuf -o0 rm src/app.py",
        "stdbuf --output=L rm src/app.py",
        "ls | xargs -0 -n1 rm -f",
        "xargs -I{} cp {} src/ < list",
        "env -i PATH=/bin rm src/app.py",
        "env -S 'rm -f' src/app.py",
        "env --split-string='rm -f src/app.py'",
        "command rm src/app.py",
        "builtin eval 'rm src/app.py'",
        "exec rm src/app.py",
        "sudo -u bob rm src/app.py",
        "doas rm src/app.py",
        "ionice -c3 rm src/app.py",
        "taskset 0x1 rm src/app.py",
        "chronic rm src/app.py",
        "flock /tmp/lock rm src/app.py",
        "flock /tmp/lock -c 'rm src/app.py'",
        "watch -n1 rm src/app.py",
        "watch 'rm src/app.py'",
        "parallel rm ::: src/app.py",
        "parallel ::: 'rm src/app.py'",
        "find . -name app.py -exec rm {} \\;",
        "find . -name '*.py' -delete",
        "find src -fprint src/list.txt",
        "busybox rm src/app.py",
        "npx rimraf src",
        "uv run rm src/app.py",
        "poetry run python -c \"open('src/app.py','w')\"",
        "! rm src/app.py",
        "/usr/bin/time -o src/timing.txt ls",
        "strace -o src/trace.txt ls",
    ],
    "interpreters that write files": [
        "node -e \"require('fs').writeFileSync('src/app.py', '')\"",
        "node --eval \"require('child_process').execSync('rm src/app.py')\"",
        "node -p \"require('fs').rmSync('src', {recursive: true})\"",
        "python -c \"import os; os.system('rm src/app.py')\"",
        "python -c \"import subprocess; subprocess.run(['rm', 'src/app.py'])\"",
        "python -c \"from pathlib import Path; Path('src/app.py').open('w')\"",
        "python -c \"import pathlib; pathlib.Path('src/app.py').write_text('')\"",
        "python -c \"import shutil; shutil.rmtree('src')\"",
        "python -c \"o = open; o('src/app.py', 'w')\"",
        "python -c \"open('src/app.py', mode)\"",
        "python -c \"exec('op'+'en')\"",
        "python - <<'EOF'\nopen('src/app.py', 'w').write('x')\nEOF",
        "echo \"open('src/app.py','w')\" | python3",
        'awk \'BEGIN { print "x" > "src/app.py" }\'',
        "awk '{ print $0 >> \"src/app.py\" }' src/app.py",
        "awk 'BEGIN { system(\"rm src/app.py\") }'",
        "awk '{ print | \"sh\" }' cmds",
        "gawk -i inplace '{ print }' src/app.py",
        "sed 'w src/copy.py' src/app.py",
        "sed -n 's/a/b/w src/copy.py' src/app.py",
        "sed '1e rm src/app.py' src/app.py",
        "sed 's/.*/rm src\\/app.py/e' list",
        "sort -o src/app.py src/app.py",
        'ruby -e \'File.write("src/app.py", "")\'',
        "ruby -pi -e 'gsub(/a/, \"b\")' src/app.py",
        'php -r \'file_put_contents("src/app.py", "");\'',
        "perl -e 'unlink \"src/app.py\"'",
        'perl -MFile::Copy -e \'copy("a", "src/app.py")\'',
        "lua -e 'os.remove(\"src/app.py\")'",
        "Rscript -e 'file.remove(\"src/app.py\")'",
        "deno eval 'Deno.removeSync(\"src/app.py\")'",
        'bun -e \'Bun.write("src/app.py", "")\'',
    ],
    "git plumbing and configuration": [
        "git checkout-index -a -f",
        "git checkout-index --prefix=/tmp/x/ -a",
        "git read-tree -u -m HEAD",
        "git read-tree HEAD",
        "git merge-file src/app.py base other",
        "git -c alias.x='!rm src/app.py' x",
        "git -c alias.x='!f() { rm src/app.py; }; f' x",
        "git -c core.pager='rm src/app.py' log",
        "git -c core.fsmonitor='rm src/app.py' status",
        "git -c include.path=/tmp/cfg status",
        "GIT_PAGER='rm src/app.py' git log",
        "HOME=/tmp/h git status",
        "git update-index --assume-unchanged src/app.py",
        "git write-tree",
        "git hash-object -w src/app.py",
        "git commit -m x",
        "git add .",
        "git stash",
        "git restore src/app.py",
        "git switch -c topic",
        "git checkout -- src/app.py",
        "git apply fix.diff",
        "git am < mail",
        "git clean -fdx",
        "git reset --hard",
        "git -C src commit -m x",
        "git --git-dir=/tmp/x/.git --work-tree=. checkout .",
        "git config user.name me",
        "git config --global alias.st '!rm src/app.py'",
        "git branch topic",
        "git tag v1",
        "git submodule foreach 'rm -f app.py'",
        "git diff --output=src/out.diff",
        "git format-patch -1",
        "git fetch origin main:main",
        "git difftool",
        "git grep -Ovim TODO",
        "git worktree add ../wt",
    ],
    "a cd that may not happen is not followed": [
        "cd /nonexistent-dir; echo x > app.py",
        "false && cd /tmp; echo x > app.py",
        "cd /tmp || echo x > app.py",
        "cd /tmp | true; echo x > app.py",
        "(cd /tmp); echo x > app.py",
        "cd /tmp & echo x > app.py",
        "if false; then cd /tmp; fi; echo x > app.py",
        "cd $DIR && echo x > app.py",
        "cd - && echo x > app.py",
        "cd && echo x > app.py",
        "f() { cd /tmp; }; f; echo x > app.py",
        "CDPATH=/tmp cd src && echo x > app.py",
        "rm -rf /tmp/gone-$$; cd /tmp/gone; echo x > app.py",
    ],
    "paths through /proc and /dev/fd": [
        "echo x > /proc/self/cwd/src/app.py",
        "echo x > /proc/thread-self/cwd/src/app.py",
        "echo x > /proc/1/cwd/app.py",
        "echo x > /proc/$$/cwd/src/app.py",
        "echo x > /dev/fd/3",
        "echo x > /dev/fd/3/../app.py",
        "cp x /dev/fd/5",
        "exec 3<src/app.py; echo x > /dev/fd/3",
        "echo x > /dev/stdin",
        "echo x >/dev/stdout 1<src/app.py",
        "tee /proc/self/fd/4 < x",
        "cd /tmp && echo x > /proc/self/cwd/../../{project}/src/app.py",
    ],
    "a link made earlier in the same command": [
        "ln -s {project}/src /tmp/link-$$; echo x > /tmp/link-$$/app.py",
        "ln -s {project}/src {scratch}/l && echo x > {scratch}/l/app.py",
        "ln -s {project}/src {scratch}/l && cd {scratch}/l && echo x > app.py",
        "cd {scratch} && ln -s ../shop/src l && echo x > l/app.py",
        "ln {project}/src/app.py {scratch}/hard",
        "cp -l src/app.py {scratch}/hard",
        "cp -a src {scratch}/copy && echo x >> {scratch}/copy/app.py",
        "mv {scratch}/a {scratch}/b && echo x > {scratch}/b/app.py",
    ],
    "nesting of every kind stops at the limit": [
        "eval " * 1000 + "ls",
        "echo " + "$(" * 1000 + "ls" + ")" * 1000,
        "echo " + "`" * 1 + "echo \\`" * 1 + "rm src/app.py\\``",
        "sudo " * 40 + "ls",
        "env " * 40 + "ls",
        "( " * 40 + "ls" + " )" * 40,
        "{ " * 40 + "ls; " + "} " * 40,
        "nice " * 40 + "ls",
    ],
    "aliases, functions and traps the command defines": [
        "alias x='rm'\nx src/app.py",
        "alias x='rm src/app.py'",
        "f() { rm src/app.py; }",
        "function g { echo x > src/app.py; }",
        "trap 'rm src/app.py' EXIT",
        "PROMPT_COMMAND='rm src/app.py' bash -i",
        "export PAGER='rm src/app.py'",
        "x='a[$(rm src/app.py)]'; (( x ))",
        "mapfile -C 'rm src/app.py' -c 1 < list",
    ],
    "conductor writes only its store": [
        "conductor artifact new review --out src/review.json",
        "conductor --store src start",
        "NANOSTACK_STORE=src conductor claim review",
        "conductor run review -- rm src/app.py",
        "conductor sandbox --allow-unsandboxed -- rm src/app.py",
        "python -m conductor_tui.cli artifact new review --out src/r.json",
    ],
    "commands the guard cannot read": [
        "rm 'unterminated",
        "echo 'unterminated > src/app.py",
        "echo $(ls",
        "if true; then ls",
        "case x in",
        "echo )",
        "$cmd src/app.py",
        '"$(which rm)" src/app.py',
        "*.sh",
        "ls " + "a" * (300 * 1024),
        "source missing.sh && ls",
        ". $SCRIPT",
    ],
}
ISSUE_CASES = [(cls, cmd) for cls, cmds in ISSUE_CLASSES.items() for cmd in cmds]


@pytest.mark.parametrize(
    ("cls", "command"), ISSUE_CASES, ids=[f"{c}: {m[:50]}" for c, m in ISSUE_CASES]
)
def test_each_way_to_write_is_seen(tree: Path, cls: str, command: str) -> None:
    command = fill(command, tree)
    reason = writes(tree, command)
    assert reason, f"{command!r} ({cls}) should be read as a write"
    assert "\n" not in reason and len(reason) < 400


# ---------------------------------------------------------------- reads stay allowed

READS = [
    "[[ 5 > 3 ]]",
    "[[ $a < $b && -f x ]] && echo yes",
    "[[ $x =~ ^(a|b)>c$ ]]",
    "(( x > 0 ))",
    "(( x >= 0 )) && echo y",
    "echo $(( 1 > 0 ))",
    "let 'x = 2 > 1'",
    "wget -qO- https://example.com",
    "wget -O - https://example.com",
    "wget --output-document=- https://example.com",
    "wget -O /dev/null https://example.com",
    "wget --spider https://example.com",
    "curl -s https://example.com",
    "curl -sSL https://example.com | jq .",
    "curl -o /dev/null -w '%{http_code}' https://example.com",
    "cat src/app.py",
    "grep -rn TODO src",
    "rg 'fn main' -g '*.rs'",
    "git status",
    "git log --oneline -20",
    "git diff HEAD~1",
    "git show HEAD:src/app.py",
    "git blame src/app.py",
    "git branch -a",
    "git stash list",
    "git fetch",
    "git -c color.ui=always log",
    "git -c core.pager=cat log",
    "pytest -q",
    "python -m pytest -x tests/",
    "python -c 'print(1)'",
    "python -c 'import json,sys; print(json.load(sys.stdin))' < data.json",
    "python3 -c \"print(open('src/app.py').read())\"",
    "python -c \"with open('src/app.py', 'rb') as f: print(f.read())\"",
    "node -e 'console.log(1)'",
    "node -p 'process.version'",
    "perl -ne 'print if /x/' src/app.py",
    "ruby -e 'puts 1'",
    "awk '{ print $1 }' src/app.py",
    "awk -F: '$3 > 100 { print $1 }' /etc/passwd",
    "awk '{ print > \"/dev/stderr\" }' src/app.py",
    "sed -n '1,20p' src/app.py",
    "sed 's/a/b/' src/app.py | head",
    "sed -n 'w /dev/stdout' src/app.py",
    "sort -u src/app.py",
    "ls > /tmp/listing.txt",
    "ls > {scratch}/listing.txt",
    "echo hi > /dev/null",
    "echo hi >/dev/null 2>&1",
    "ls 2>&1 | head",
    "ls 2>/dev/null",
    "echo x >&2",
    "echo x > /dev/stderr",
    "echo x | tee /dev/null",
    "cat < src/app.py",
    "wc -l <<< 'a > b'",
    "cat <<'EOF'\nrm -rf src\nEOF",
    "cat <<EOF\n$HOME > x\nEOF",
    "echo '> src/app.py'",
    'echo "rm -rf src"',
    "echo rm",
    "ls # rm -rf src",
    "command -v rm",
    "type rm",
    "which rm",
    "find . -name '*.py'",
    "find . -name '*.py' -exec grep -l TODO {} +",
    "ls | xargs cat",
    "ls | xargs -I{} wc -l {}",
    "bash -c 'git status'",
    "sh -c 'ls -la'",
    "bash -n script.sh",
    "source .venv/bin/activate && pytest -q",
    ". .venv/bin/activate; python -m pytest",
    "cd src && ls",
    "cd /tmp && echo x > notes.txt",
    "cd /tmp; echo x > notes.txt",
    "cd {scratch} && touch a && mkdir b && cp a b/ && rm a",
    "pushd /tmp && echo x > notes && popd",
    "mkdir -p {scratch}/out && echo x > {scratch}/out/f",
    "mktemp",
    "mktemp -d",
    "tar tzf a.tgz",
    "tar -czf /tmp/a.tgz src",
    "unzip -l a.zip",
    "gzip -c src/app.py > /tmp/app.gz",
    "zcat a.gz",
    "dd if=src/app.py of=/dev/null",
    "rm /tmp/notes.txt",
    "rm -rf {scratch}/tmp",
    "echo x > .nanostack/review/notes.md",
    "conductor status",
    "conductor next",
    "conductor complete review --token 3-0123456789abcdef --artifact .nanostack/r.json",
    "conductor heartbeat review",
    "conductor claim review",
    "conductor artifact new review",
    "conductor artifact new review --out /tmp/r.json",
    "conductor sandbox -- rm src/app.py",
    "NANOSTACK_AGENT=codex-7b21e0aa conductor complete review",
    "python -m conductor_tui.cli status",
    "make test",
    "make -n",
    "npm test",
    "npm run lint",
    "cargo test",
    "cargo check",
    "go test ./...",
    "go vet ./...",
    "mypy src",
    "ruff check .",
    "ruff format --check .",
    "black --check .",
    "eslint .",
    "git -C {scratch} status",
    "tmux capture-pane -p",
    "docker ps",
    "docker run --rm alpine ls",
    "docker run -v {project}:/src:ro alpine ls /src",
    "true",
    "",
    "   ",
]


@pytest.mark.parametrize("command", READS)
def test_reads_are_allowed(tree: Path, command: str) -> None:
    assert writes(tree, fill(command, tree)) is None


def test_a_sourced_script_is_read_like_the_command_line(tree: Path) -> None:
    (tree / "env.sh").write_text("cd /tmp\nexport X=1\n")
    assert writes(tree, "source env.sh && echo x > out.txt") is None  # it moved to /tmp
    (tree / "bad.sh").write_text("rm -rf src\n")
    assert writes(tree, ". ./bad.sh") == "`rm` deletes src"


def test_scripts_and_unknown_programs_are_not_read(tree: Path) -> None:
    # the documented gap: the hook reads command lines, not programs (the sandbox is for these)
    for command in ("./build.sh", "bash build.sh", "python tool.py", "node x.js", "my-tool -w x"):
        assert writes(tree, command) is None, command


def test_writes_outside_the_project_and_into_the_store_are_allowed(tree: Path) -> None:
    scratch = tree.parent / "scratch"
    assert writes(tree, f"echo x > {scratch}/a") is None
    assert writes(tree, "echo x > .nanostack/review/r.json") is None
    assert writes(tree, f"cp src/app.py {scratch}/") is None
    assert writes(tree, f"git -C {scratch} init") is None
    # the store inside the project exempts only what is really in the store
    assert writes(tree, "echo x > .nanostack/../src/app.py") == "redirects output into src/app.py"
    (tree / ".nanostack" / "src-link").symlink_to(tree / "src")
    assert writes(tree, "echo x > .nanostack/src-link/app.py") == (
        "redirects output into src/app.py"
    )


def test_a_hard_link_outside_may_be_a_file_of_the_project(tree: Path) -> None:
    outside = tree.parent / "scratch" / "app-link.py"
    os.link(tree / "src" / "app.py", outside)
    reason = writes(tree, f"echo x >> {outside}")
    assert reason is not None and "hard links" in reason


def test_reasons_name_the_program_and_the_file(tree: Path) -> None:
    assert writes(tree, "ls && rm -rf src") == "`rm` deletes src"
    assert writes(tree, "echo hi > src/out.txt") == "redirects output into src/out.txt"
    assert writes(tree, "git commit -m x") == "`git commit` changes the repository"
    assert writes(tree, "sed -i s/a/b/ src/app.py") == "`sed -i` edits src/app.py"
    assert writes(tree, "curl -sSo src/x https://e.org") == "`curl` writes src/x"
    assert writes(tree, "eval " * 100 + "ls") == "the command is nested too deeply to read"
    reason = writes(tree, "rm 'x")
    assert reason is not None and reason.startswith("the command cannot be read as shell")


def test_the_agent_directory_is_where_relative_paths_start(tree: Path) -> None:
    scratch = tree.parent / "scratch"
    assert writes(tree, "echo x > app.py", cwd=scratch) is None
    assert writes(tree, "echo x > ../shop/src/app.py", cwd=scratch) == (
        "redirects output into src/app.py"
    )
    assert writes(tree, "echo x > app.py", cwd=tree / "src") == "redirects output into src/app.py"


def test_the_classifier_is_fast_on_large_input(tree: Path) -> None:
    start = time.perf_counter()
    assert writes(tree, "git status && " * 10_000 + "ls") is None
    assert writes(tree, "x $(( " * 40_000) is not None  # unclosed arithmetic, in linear time
    assert time.perf_counter() - start < 5.0


# ---------------------------------------------------------------- the lexer itself


def _only(text: str) -> Simple:
    script = parse(text)
    command = script.items[0].first.commands[0]
    assert isinstance(command, Simple)
    return command


def test_words_keep_what_the_text_fixes() -> None:
    cmd = _only("r\"m\" $'\\x2d'rf 'a b' \"$HOME/x\" ~/y *.py {a,b} \\>")
    assert [w.value for w in cmd.words] == ["rm", "-rf", "a b", None, None, None, None, ">"]
    assert cmd.words[3].text == DYN + "/x"
    assert cmd.words[4].tilde and cmd.words[5].glob and cmd.words[6].glob


def test_redirections_keep_their_descriptor() -> None:
    cmd = _only("cmd 2>err 1<>rw {fd}>f >&2 &>all <<<here")
    assert [(r.fd, r.op, r.target.value if r.target else None) for r in cmd.redirects] == [
        ("2", ">", "err"),
        ("1", "<>", "rw"),
        ("{fd}", ">", "f"),
        (None, ">&", "2"),
        (None, "&>", "all"),
        (None, "<<<", "here"),
    ]


def test_comparisons_in_double_brackets_and_arithmetic_redirect_nothing() -> None:
    for text in ("[[ 5 > 3 ]]", "(( x > 0 ))", "(( y = 1 << 2 ))"):
        command = parse(text).items[0].first.commands[0]
        assert isinstance(command, Compound) and not command.redirects, text


def test_here_documents_quoted_and_not() -> None:
    cmd = _only("cat <<'A' <<-B\n$(rm x)\nA\n\t$(ls)\n\tB")
    first, second = cmd.redirects
    assert (first.body, first.quoted, first.subs) == ("$(rm x)\n", True, [])
    assert second.body == "$(ls)\n" and len(second.subs) == 1


def test_substitutions_are_parsed_where_they_are() -> None:
    cmd = _only('echo "a$(b)" `c` <(d) >(e) ${x:-$(f)} $((1 + $(g)))')
    kinds = [s.kind for w in cmd.words for s in w.subs]
    assert kinds == ["cmd", "cmd", "in", "out", "cmd", "cmd"]


@pytest.mark.parametrize(
    "text", ["echo 'x", 'echo "x', "echo $(x", "echo `x", "if x; then y", "a |", "echo )", "(a"]
)
def test_unreadable_text_is_a_syntax_error(text: str) -> None:
    with pytest.raises(ShellSyntaxError):
        parse(text)


def test_nesting_is_bounded() -> None:
    parse("$(" * MAX_DEPTH + ")" * MAX_DEPTH)
    with pytest.raises(TooDeep):
        parse("$(" * (MAX_DEPTH + 1) + ")" * (MAX_DEPTH + 1))
    with pytest.raises(TooDeep):
        parse("( " * 10_000)
    with pytest.raises((TooDeep, ShellSyntaxError)):  # `((` is tried as arithmetic first
        parse("(" * 10_000)
