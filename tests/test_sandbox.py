"""The kernel sandbox of read phases (conductor_tui/sandbox.py, docs/SANDBOX.md), for real.

Every write attempt is a real command run under `conductor sandbox` in a scratch git project; the
whole tree (paths, contents, modes, symlink targets, .git included) is hashed before and after.
The same command run without the sandbox changes the tree: each attempt is a real attack, not a
command that would have failed anyway. What Landlock does not cover (chmod, utime) is tested as
what it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conductor_tui import sandbox
from conductor_tui.core import audit
from tests.conftest import IDENTITY_VARS, Env, complete_through, conductor

try:
    ABI = sandbox.abi_version({})
except sandbox.Unavailable as exc:  # the real-kernel tests need Landlock; the rest run anyway
    ABI = 0
    NO_LANDLOCK = exc.message
else:
    NO_LANDLOCK = ""
needs_landlock = pytest.mark.skipif(ABI == 0, reason=f"no Landlock here: {NO_LANDLOCK}")

CLI = [sys.executable, "-m", "conductor_tui.cli"]
APP = "print('hello')\n"
TEST_FILE = "def test_one():\n    assert 1 + 1 == 2\n"


# ---------------------------------------------------------------------- a scratch project


@dataclass
class Scratch:
    """A git project with a store inside it (.nanostack) and one beside it, a home and a TMPDIR
    that are siblings of the project, and a directory outside it for symlink targets."""

    root: Path
    project: Path
    inner_store: Path
    outer_store: Path
    home: Path
    tmp: Path

    def env(self, **extra: str) -> dict[str, str]:
        out = {
            k: v
            for k, v in os.environ.items()
            if k not in (*IDENTITY_VARS, "NANOSTACK_STORE", sandbox.TEST_SWITCH)
            and not k.startswith(("GIT_", "XDG_"))
        }
        out.update(
            HOME=str(self.home),
            TMPDIR=str(self.tmp),
            PROJECT=str(self.project),
            PWD=str(self.project),
            PYTHONDONTWRITEBYTECODE="1",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME="t",
            GIT_AUTHOR_EMAIL="t@example.invalid",
            GIT_COMMITTER_NAME="t",
            GIT_COMMITTER_EMAIL="t@example.invalid",
        )
        out.update(extra)
        return out

    def store(self, kind: str) -> Path:
        return self.inner_store if kind == "inner" else self.outer_store

    def sandbox(
        self,
        script: str,
        *options: str,
        store: str = "inner",
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """`conductor sandbox --project P --store S [options] -- bash -c SCRIPT`."""
        argv = [*CLI, "sandbox", "--project", str(self.project), "--store", str(self.store(store))]
        return subprocess.run(
            [*argv, *options, "--", "bash", "-c", script],
            cwd=cwd or self.project,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def bash(self, script: str) -> subprocess.CompletedProcess[str]:
        """The same script without the sandbox: the control."""
        return subprocess.run(
            ["bash", "-c", script],
            cwd=self.project,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def scratch(tmp_path: Path) -> Scratch:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text(APP)
    (project / "src" / "util.py").write_text("X = 1\n")
    (project / "tests").mkdir()
    (project / "tests" / "test_tiny.py").write_text(TEST_FILE)
    (project / "README.md").write_text("# scratch\n")
    (project / ".gitignore").write_text(".nanostack/\n")
    s = Scratch(
        root=tmp_path,
        project=project,
        inner_store=project / ".nanostack",
        outer_store=tmp_path / "store",
        home=tmp_path / "home",
        tmp=tmp_path / "tmp",
    )
    env = s.env()
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)
    (project / "README.md").write_text("# scratch\nan uncommitted change\n")  # git has work
    (project / "empty").mkdir()
    for path in (s.inner_store / "conductor", s.outer_store / "conductor", s.home, s.tmp):
        path.mkdir(parents=True)
    return s


def fingerprint(
    root: Path, skip: tuple[str, ...] = (".nanostack",)
) -> dict[str, tuple[object, ...]]:
    """Every entry beneath root: kind, mode, and the content's hash or the link's target."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [
            d for d in dirnames if os.path.normpath(os.path.join(rel_dir, d)) not in skip
        ]
        filenames = [f for f in filenames if os.path.normpath(os.path.join(rel_dir, f)) not in skip]
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                out[rel] = ("file", st.st_mode, digest)
            else:
                out[rel] = ("other", st.st_mode)
    return out


# ---------------------------------------------------------------------- the write attempts


@dataclass(frozen=True)
class Attack:
    """A command that writes into the project; `done` names a file in $TMPDIR written when a
    detached process has had its go (the harness waits for it)."""

    name: str
    script: str
    needs: str = ""
    done: str = ""


PAYLOAD = 'echo pwned > "$TMPDIR/payload"; '
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git knows it without an object
ATTACKS = [
    Attack("redirect-truncate", "echo pwned > src/app.py"),
    Attack("redirect-append", "echo pwned >> src/app.py"),
    Attack("redirect-read-write", "echo pwned 1<> src/app.py"),
    Attack("redirect-new-file", "echo pwned > new.txt"),
    Attack("touch-new-file", "touch new.txt src/new.py"),
    Attack("rm", "rm -f src/app.py"),
    Attack("rm-recursive", "rm -rf src"),
    Attack("rmdir", "rmdir empty"),
    Attack("find-delete", "find . -name app.py -delete"),
    Attack("mv-within", "mv src/app.py src/moved.py"),
    Attack("cp-over", PAYLOAD + 'cp "$TMPDIR/payload" src/app.py'),
    Attack("cp-new", PAYLOAD + 'cp "$TMPDIR/payload" src/new.py'),
    Attack("cp-recursive", 'mkdir -p "$TMPDIR/d" && touch "$TMPDIR/d/f" && cp -r "$TMPDIR/d" src/'),
    Attack("install", PAYLOAD + 'install -m 644 "$TMPDIR/payload" src/app.py'),
    Attack(
        "tar-extract",
        PAYLOAD + 'tar -cf "$TMPDIR/t.tar" -C "$TMPDIR" payload && tar -xf "$TMPDIR/t.tar" -C src',
    ),
    Attack("mkdir", "mkdir newdir"),
    Attack("mkfifo", "mkfifo src/fifo"),
    Attack("ln-s", "ln -s /etc/hostname src/link"),
    Attack("truncate", "truncate -s 0 src/app.py"),
    Attack("sed-i", "sed -i s/hello/pwned/ src/app.py"),
    Attack("perl-pi", "perl -pi -e s/hello/pwned/ src/app.py", needs="perl"),
    Attack("python-open", f"{sys.executable} -c \"open('src/app.py', 'w').write('pwned')\""),
    Attack(
        "python-rename", f"{sys.executable} -c \"import os; os.rename('src/app.py', 'src/b.py')\""
    ),
    Attack("python-rmtree", f"{sys.executable} -c \"import shutil; shutil.rmtree('src')\""),
    Attack("node", "node -e \"require('fs').writeFileSync('src/app.py', 'pwned')\"", needs="node"),
    Attack("tee", "echo pwned | tee src/app.py"),
    Attack("dd", "dd if=/dev/zero of=src/app.py bs=1 count=4 conv=notrunc status=none"),
    Attack("sort-o", "sort -r -o src/app.py src/app.py README.md"),
    Attack("awk", 'awk \'BEGIN { print "pwned" > "src/app.py" }\''),
    Attack("curl-file-url", "curl -s -o src/app.py file:///etc/hostname", needs="curl"),
    Attack("git-checkout-index", "git checkout-index -f -a"),
    Attack("git-read-tree", f"git read-tree -u --reset {EMPTY_TREE}"),
    Attack("git-commit", "git commit -qam pwned"),
    Attack("git-stash", "git stash"),
    Attack("git-alias", "git -c alias.x='!echo pwned > src/app.py' x"),
    Attack("git-config", "git config user.name pwned"),
    Attack("write-into-git", "echo pwned > .git/HEAD"),
    Attack("proc-self-cwd", "echo pwned > /proc/self/cwd/src/app.py"),
    Attack("dev-fd-reopen", "exec 3<src/app.py; echo pwned > /dev/fd/3"),
    Attack("proc-fd-reopen", "exec 3<src/app.py; echo pwned > /proc/self/fd/3"),
    Attack(
        "symlink-from-tmp", 'ln -s "$PROJECT/src/app.py" "$TMPDIR/l" && echo pwned > "$TMPDIR/l"'
    ),
    Attack("hard-link-to-tmp", 'ln src/app.py "$TMPDIR/hl"; echo pwned > "$TMPDIR/hl"'),
    # the store inside the project is writable: a name made there must not reach the tree
    Attack("hard-link-into-store", "ln src/app.py .nanostack/hl; echo pwned > .nanostack/hl"),
    Attack("symlink-in-store", "ln -s ../src/app.py .nanostack/l; echo pwned > .nanostack/l"),
    Attack("rename-into-store", "mv src/app.py .nanostack/moved"),
    Attack(
        "rename-out-to-tmp",
        f"{sys.executable} -c \"import os; os.rename('src/app.py', os.environ['TMPDIR'] + '/m')\"",
    ),
    Attack("mv-out-to-tmp", 'mv src/app.py "$TMPDIR/moved"'),
    Attack("nested-shells", "bash -c 'bash -c \"echo pwned > src/app.py\"'"),
    Attack(
        "setsid-after-exit",
        "setsid sh -c 'sleep 0.3; echo pwned > src/app.py; touch \"$TMPDIR/bg-done\"' "
        "</dev/null >/dev/null 2>&1 &",
        needs="setsid",
        done="bg-done",
    ),
    Attack(
        "nohup-double-fork",
        "( nohup sh -c 'sleep 0.3; rm -f src/app.py; touch \"$TMPDIR/bg-done\"' "
        "</dev/null >/dev/null 2>&1 & )",
        needs="nohup",
        done="bg-done",
    ),
]
MARK = "ATTACK-RAN"


def have(tool: str) -> bool:
    return not tool or shutil.which(tool) is not None


def attempt(
    s: Scratch, attack: Attack, run: Callable[[str], subprocess.CompletedProcess[str]]
) -> str:
    """Run the attack, wait for what it left running, and return what it printed."""
    proc = run(f"{attack.script}\necho {MARK}")
    assert MARK in proc.stdout, proc  # the command itself ran
    if attack.done:
        deadline = time.monotonic() + 20
        while not (s.tmp / attack.done).exists():
            assert time.monotonic() < deadline, f"{attack.name}: the detached process never ran"
            time.sleep(0.05)
        time.sleep(0.1)
    return proc.stderr


@needs_landlock
@pytest.mark.parametrize("store", ["inner", "outer"])
@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_a_write_into_the_project_does_not_land(
    scratch: Scratch, attack: Attack, store: str
) -> None:
    if not have(attack.needs):
        pytest.skip(f"{attack.needs} is not installed")
    before = fingerprint(scratch.project)
    attempt(scratch, attack, lambda script: scratch.sandbox(script, store=store))
    assert fingerprint(scratch.project) == before, attack.name


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_the_same_write_lands_without_the_sandbox(scratch: Scratch, attack: Attack) -> None:
    # the control: every attempt above is one that really writes the project
    if not have(attack.needs):
        pytest.skip(f"{attack.needs} is not installed")
    before = fingerprint(scratch.project)
    attempt(scratch, attack, scratch.bash)
    assert fingerprint(scratch.project) != before, attack.name


@needs_landlock
def test_what_landlock_does_not_cover_metadata(scratch: Scratch) -> None:
    # Known limit (docs/SANDBOX.md): Landlock mediates no metadata change. chmod lands; touch of
    # an existing file cannot open it for writing but still sets its times (utimensat).
    app = scratch.project / "src" / "app.py"
    os.utime(app, (1_000_000_000, 1_000_000_000))
    before = fingerprint(scratch.project)
    proc = scratch.sandbox("chmod 600 src/app.py && touch src/app.py && echo metadata-ok")
    assert proc.returncode == 0 and "metadata-ok" in proc.stdout, proc
    after = fingerprint(scratch.project)
    assert stat.S_IMODE(os.stat(app).st_mode) == 0o600  # the mode changed
    assert os.stat(app).st_mtime > 1_000_000_000  # so did the times
    assert app.read_text() == APP  # never the content
    changed = {k for k in before if before[k] != after.get(k)} | (after.keys() - before.keys())
    assert changed == {"src/app.py"}


# ---------------------------------------------------------------------- harmless work


@needs_landlock
@pytest.mark.parametrize("store", ["inner", "outer"])
def test_reading_work_still_works(scratch: Scratch, store: str) -> None:
    before = fingerprint(scratch.project)
    checks = {
        "cat": ("cat src/app.py", "hello"),
        "grep": ("grep -rn hello .", "src/app.py:1:"),
        "git log": ("git log --oneline", "init"),
        "git diff": ("git diff", "+an uncommitted change"),
        "git status": ("git status", "modified:   README.md"),
        "pytest": (
            f"{sys.executable} -B -m pytest -q -p no:cacheprovider tests/test_tiny.py",
            "1 passed",
        ),
        "tmp": ('echo t > "$TMPDIR/t" && mktemp && cat "$TMPDIR/t"', "t"),
        "store": (f"echo s > {scratch.store(store)}/note && cat {scratch.store(store)}/note", "s"),
        "dev": ("echo x > /dev/null && head -c 4 /dev/urandom | wc -c", "4"),
        # /proc is not granted, but a pipe has no path for Landlock to check: writing the
        # caller's pipe again through /proc/self/fd or /dev/stdout works
        "pipe": ("echo one > /proc/self/fd/1 && echo two > /dev/stdout", "one\ntwo"),
        "home": ('echo h > "$HOME/.history" && cat "$HOME/.history"', "h"),
    }
    for what, (script, needle) in checks.items():
        proc = scratch.sandbox(script, store=store)
        assert proc.returncode == 0, (what, proc)
        assert needle in proc.stdout, (what, proc)
    assert fingerprint(scratch.project) == before
    assert (scratch.store(store) / "note").read_text() == "s\n"


@needs_landlock
def test_only_the_named_store_inside_the_project_is_writable(scratch: Scratch) -> None:
    # with the store outside, the project's own .nanostack is just part of the project
    proc = scratch.sandbox("echo s > .nanostack/note", store="outer")
    assert proc.returncode != 0 and "Permission denied" in proc.stderr, proc
    assert not (scratch.inner_store / "note").exists()


# ---------------------------------------------------------------------- exit codes and signals


@needs_landlock
def test_exit_codes_pass_through(scratch: Scratch) -> None:
    assert scratch.sandbox("exit 42").returncode == 42
    assert scratch.sandbox("true").returncode == 0


@needs_landlock
def test_the_command_is_the_process_so_its_death_by_signal_is_too(scratch: Scratch) -> None:
    # `conductor sandbox` execs the command: its pid is the command's, a death by SIGTERM shows as
    # one to the caller (-15 to Popen), and as 143 to a shell, as for the command run directly
    proc = scratch.sandbox('echo "$$"; kill -TERM $$')
    assert proc.returncode == -signal.SIGTERM, proc
    inner = " ".join(
        [*CLI, "sandbox", "--project", str(scratch.project), "--", "sh", "-c", "'kill -TERM $$'"]
    )
    shell = subprocess.run(
        ["bash", "-c", f"{inner}; echo status=$?"],
        cwd=scratch.project,
        env=scratch.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "status=143" in shell.stdout, shell


@needs_landlock
def test_sigterm_to_the_sandbox_reaches_the_command(scratch: Scratch) -> None:
    script = 'trap "echo got-term; exit 7" TERM; echo "ready $$"; while :; do sleep 0.05; done'
    argv = [*CLI, "sandbox", "--project", str(scratch.project), "--", "bash", "-c", script]
    proc = subprocess.Popen(
        argv, cwd=scratch.project, env=scratch.env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.split() == ["ready", str(proc.pid)]  # the same process, exec'd
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 7
        assert "got-term" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------- around the project


@needs_landlock
def test_a_project_inside_home_is_carved_out_of_it(scratch: Scratch) -> None:
    home = scratch.home
    project = home / "code" / "work" / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text(APP)
    (home / ".bashrc").write_text("# rc\n")
    (home / ".config").mkdir()
    (home / "code" / "other").mkdir()
    (home / "code" / "work" / "notes.txt").write_text("n\n")
    (home / "code" / "work" / "proj-sibling").mkdir()
    (home / "to-project").symlink_to(project)  # a symlink into the project grants nothing
    env = scratch.env(TMPDIR=str(scratch.tmp), PWD=str(project))
    argv = [*CLI, "sandbox", "--project", str(project), "--store", str(scratch.outer_store), "--"]

    def run(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*argv, "bash", "-c", script],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    before = fingerprint(project)
    for script in (
        'echo more >> "$HOME/.bashrc"',
        'echo c > "$HOME/.config/app.toml"',
        'mkdir -p "$HOME/.config/tool/cache" && echo c > "$HOME/.config/tool/cache/x"',
        'echo o > "$HOME/code/other/f"',
        'echo n >> "$HOME/code/work/notes.txt"',
        'mkdir "$HOME/code/work/proj-sibling/d"',
    ):
        proc = run(script)
        assert proc.returncode == 0, (script, proc)
    for script in (
        "echo pwned > src/app.py",
        'echo pwned > "$HOME/code/work/proj/src/app.py"',
        'echo pwned > "$HOME/to-project/src/app.py"',
        "touch src/new.py",
        'rm -rf "$HOME/code/work/proj"',
        'mv "$HOME/code/work/proj" "$HOME/code/work/moved"',
        'mv "$HOME/code/work" "$HOME/code/w2"',
    ):
        proc = run(script)
        assert proc.returncode != 0, (script, proc)
    assert fingerprint(project) == before
    assert (home / ".bashrc").read_text() == "# rc\nmore\n"
    assert (home / "code" / "work" / "proj-sibling" / "d").is_dir()
    # the documented cost: no new entry directly in a directory on the way to the project
    for script in ('echo x > "$HOME/.new-file"', 'mkdir "$HOME/code/new-dir"'):
        proc = run(script)
        assert proc.returncode != 0, (script, proc)


@needs_landlock
def test_allow_adds_a_path_and_refuses_the_project_or_above(scratch: Scratch) -> None:
    build = scratch.project / "build"
    build.mkdir()
    proc = scratch.sandbox("echo b > build/out && echo ok", "--allow", str(build))
    assert proc.returncode == 0 and "ok" in proc.stdout, proc
    assert (build / "out").read_text() == "b\n"
    missing = scratch.sandbox("echo ran", "--allow", str(scratch.root / "nope"))
    assert missing.returncode == 0 and "ran" in missing.stdout, missing  # skipped
    for path in (scratch.project, scratch.root, scratch.project / "src" / ".."):
        proc = scratch.sandbox(f"echo pwned > {scratch.project}/src/app.py", "--allow", str(path))
        assert proc.returncode == 2, proc
        assert "is the project or contains it" in proc.stderr and "Traceback" not in proc.stderr
        assert (scratch.project / "src" / "app.py").read_text() == APP


@needs_landlock
def test_the_default_project_is_the_git_work_tree_then_the_sprints(scratch: Scratch) -> None:
    # no --project: from a subdirectory, the git work tree around it is protected
    env = scratch.env(PWD=str(scratch.project / "src"), NANOSTACK_STORE=str(scratch.outer_store))
    argv = [*CLI, "sandbox", "--", "bash", "-c", "echo pwned > ../README.md"]
    proc = subprocess.run(
        argv, cwd=scratch.project / "src", env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0 and "Permission denied" in proc.stderr, proc
    # outside git, a sprint's project is protected from any directory beneath it
    plain = scratch.root / "plain"
    (plain / "sub").mkdir(parents=True)
    (plain / "file").write_text("f\n")
    env = scratch.env(
        PWD=str(plain / "sub"), NANOSTACK_STORE=str(scratch.outer_store), NANOSTACK_AGENT="a"
    )
    write = [*CLI, "sandbox", "--", "bash", "-c", "echo pwned > ../file"]
    run = lambda: subprocess.run(  # noqa: E731
        write, cwd=plain / "sub", env=env, capture_output=True, text=True, timeout=60
    )
    without_sprint = run()  # plain/sub alone is the project: its parent is writable
    assert without_sprint.returncode == 0, without_sprint
    (plain / "file").write_text("f\n")
    started = subprocess.run(
        [*CLI, "start"],
        cwd=plain,
        env={**env, "PWD": str(plain)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 0, started
    with_sprint = run()
    assert with_sprint.returncode != 0 and "Permission denied" in with_sprint.stderr, with_sprint
    assert (plain / "file").read_text() == "f\n"


# ---------------------------------------------------------------------- no Landlock, bad input


def test_missing_landlock_refuses_with_what_to_do(scratch: Scratch) -> None:
    env = scratch.env(**{sandbox.TEST_SWITCH: "off"})
    proc = scratch.sandbox('touch "$TMPDIR/ran"', env=env)
    assert proc.returncode == 2, proc
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1 and message.startswith("ERROR: ")
    for needle in (
        "Landlock",
        "Linux 5.13",
        "--sandbox read-only",  # Codex's own sandbox
        "Claude Code's sandbox settings",
        "--allow-unsandboxed",
    ):
        assert needle in message, message
    assert not (scratch.tmp / "ran").exists()
    as_json = subprocess.run(
        [*CLI, "--json", "sandbox", "--project", str(scratch.project), "--", "true"],
        cwd=scratch.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert as_json.returncode == 2
    obj = json.loads(as_json.stdout)
    assert (
        obj["ok"] is False
        and obj["error"] == "no_sandbox"
        and "--allow-unsandboxed" in obj["message"]
    )


@pytest.mark.parametrize("platform", ["darwin", "win32", "freebsd14"])
def test_off_linux_there_is_no_landlock_and_the_reason_says_so(
    platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On macOS, Windows or a BSD the sandbox is unavailable (no system call is tried), and the
    refusal names the platform; the advice names the hosts' own sandboxes."""
    monkeypatch.setattr(sandbox.sys, "platform", platform)
    with pytest.raises(sandbox.Unavailable) as caught:
        sandbox.abi_version({})
    assert platform in caught.value.message and "Linux feature" in caught.value.message
    advice = sandbox.advice("--allow-unsandboxed")
    assert "Codex `--sandbox read-only`" in advice and "Claude Code's sandbox settings" in advice


def test_allow_unsandboxed_warns_and_runs(scratch: Scratch) -> None:
    env = scratch.env(**{sandbox.TEST_SWITCH: "off"})
    proc = scratch.sandbox(
        "echo unconfined > src/app.py && echo ran", "--allow-unsandboxed", env=env
    )
    assert proc.returncode == 0 and proc.stdout == "ran\n", proc
    assert proc.stderr.startswith("warning: ") and "WITHOUT the sandbox" in proc.stderr
    assert (scratch.project / "src" / "app.py").read_text() == "unconfined\n"  # as it warned


@needs_landlock
def test_json_prints_nothing_of_its_own_on_success(scratch: Scratch) -> None:
    argv = [*CLI, "--json", "sandbox", "--project", str(scratch.project), "--", "echo", "hi"]
    proc = subprocess.run(
        argv, cwd=scratch.project, env=scratch.env(), capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hi\n", "")


@needs_landlock
def test_bad_input_is_a_message_never_a_traceback(scratch: Scratch) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args],
            cwd=scratch.project,
            env=scratch.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    cases = [
        (run("sandbox"), 2, "needs a command"),
        (run("sandbox", "--"), 2, "needs a command"),
        (run("sandbox", "--", "no-such-command-xyz"), 127, "command not found"),
        (run("sandbox", "--", str(scratch.project / "src")), 126, "cannot run it"),
        (
            run("sandbox", "--project", str(scratch.root / "gone"), "--", "true"),
            2,
            "not a directory",
        ),
        (run("status", "--", "true"), 2, "only for `conductor run` and `conductor sandbox`"),
    ]
    for proc, code, needle in cases:
        assert proc.returncode == code, proc
        assert "Traceback" not in proc.stderr and needle in proc.stderr, proc
    as_json = run("--json", "sandbox", "--", "no-such-command-xyz")
    assert as_json.returncode == 127 and json.loads(as_json.stdout)["error"] == "exec"


# ---------------------------------------------------------------------- the plan and the ABI


def test_rights_follow_the_kernel_abi() -> None:
    assert sandbox.handled_rights(1) == sandbox.ABI_1
    assert sandbox.handled_rights(2) == sandbox.ABI_1 | sandbox.REFER
    assert sandbox.handled_rights(4) == sandbox.ABI_1 | sandbox.REFER | sandbox.TRUNCATE
    assert sandbox.handled_rights(7) == sandbox.handled_rights(5) == (1 << 16) - 1
    assert sandbox.FILE_WRITE & ~(sandbox.WRITE_FILE | sandbox.TRUNCATE | sandbox.IOCTL_DEV) == 0


@needs_landlock
def test_the_kernel_reports_an_abi() -> None:
    assert ABI >= 1


def test_the_plan_never_grants_the_project_or_above_it(scratch: Scratch) -> None:
    project = os.path.realpath(scratch.project)
    cases = {
        "home contains it": {"HOME": str(scratch.root), "TMPDIR": str(scratch.tmp)},
        "tmpdir is its parent": {"HOME": str(scratch.home), "TMPDIR": str(scratch.root)},
        "tmpdir inside it": {"HOME": str(scratch.home), "TMPDIR": str(scratch.project / "tmp")},
        "home is it": {"HOME": str(scratch.project), "TMPDIR": str(scratch.tmp)},
        "home is /": {"HOME": "/", "TMPDIR": str(scratch.tmp)},
    }
    (scratch.project / "tmp").mkdir()
    (scratch.root / "link-to-project").symlink_to(scratch.project)
    for store in ("inner", "outer"):
        for what, env in cases.items():
            plan = sandbox.plan(str(scratch.project), store=str(scratch.store(store)), env=env)
            for grant in plan.grants:
                assert not sandbox._inside(project, grant), (what, grant)
                if sandbox._inside(grant, project):  # beneath it: only the store it was given
                    assert grant == os.path.realpath(scratch.store(store)), (what, grant)
                assert not os.path.islink(grant), (what, grant)
            assert os.path.realpath(scratch.tmp) in plan.grants or "tmpdir" in what
    plan = sandbox.plan(str(scratch.project), store=str(scratch.project), env={})
    assert all(not sandbox._inside(g, project) for g in plan.grants)  # a store that *is* it


# ---------------------------------------------------------------------- conductor run


@pytest.fixture
def review_ready(started: Env) -> Env:
    """A sprint whose build is done, so review (a read phase) is claimable; and a source file."""
    complete_through(started.sprint(), "think", "plan", "build")
    Path(started.project, "src").mkdir()
    Path(started.project, "src", "app.py").write_text(APP)
    return started


def events(env: Env, name: str) -> list[audit.AuditEvent]:
    path = os.path.join(env.store, "audit.log")
    return [e for e in audit.read(path) if not isinstance(e, str) and e.event == name]


@needs_landlock
def test_run_of_a_read_phase_cannot_write_and_aborts(review_ready: Env) -> None:
    app = Path(review_ready.project, "src", "app.py")
    result = conductor(review_ready, "run", "review", "--", "bash", "-c", "echo x > src/app.py")
    assert result.rc == 1, result
    assert "src/app.py: Permission denied" in result.err  # bash's own error
    lines = result.out.splitlines()
    assert "read-only under the sandbox (review is a read phase)" in lines[0]
    assert lines[-1].startswith("OK: aborted 'review': command exited 1")
    assert "it ran read-only under the sandbox" in lines[-1]
    assert app.read_text() == APP
    assert review_ready.sprint().view().phase("review").status == "ready"
    assert not events(review_ready, "sprint_unsandboxed")


@needs_landlock
def test_run_sandboxes_read_phases_only(review_ready: Env) -> None:
    ok = conductor(
        review_ready, "--json", "run", "review", "--", "bash", "-c", "cat src/app.py >/dev/null"
    )
    assert ok.rc == 0 and ok.json["sandboxed"] is True, ok
    for phase in ("security", "qa"):
        assert conductor(review_ready, "run", phase, "--", "true").rc == 0
    # ship is exclusive, not read: its command writes
    wrote = conductor(
        review_ready, "--json", "run", "ship", "--", "bash", "-c", "echo shipped > src/app.py"
    )
    assert wrote.rc == 0 and wrote.json["sandboxed"] is False, wrote
    assert Path(review_ready.project, "src", "app.py").read_text() == "shipped\n"


@needs_landlock
def test_run_no_sandbox_writes_and_is_audited(review_ready: Env) -> None:
    result = conductor(
        review_ready, "run", "review", "--no-sandbox", "--", "bash", "-c", "echo x > src/app.py"
    )
    assert result.rc == 0, result
    assert "WITHOUT the sandbox (--no-sandbox)" in result.out.splitlines()[0]
    assert Path(review_ready.project, "src", "app.py").read_text() == "x\n"
    [event] = events(review_ready, "sprint_unsandboxed")
    claim = [e for e in events(review_ready, "sprint_claim") if e.resource == "review"][-1]
    assert event.resource == "review" and event.agent == "agent-a"
    assert event.token == claim.token and event.sprint == claim.sprint
    assert event.detail == "--no-sandbox (command bash)"
    log = conductor(review_ready, "--json", "log")  # the log command reads it like any event
    assert any(e["event"] == "sprint_unsandboxed" for e in log.json["events"])


def test_run_without_landlock_refuses_before_claiming(review_ready: Env) -> None:
    off = {sandbox.TEST_SWITCH: "off"}
    before = fingerprint(Path(review_ready.store), skip=("audit.log",))
    result = conductor(review_ready, "run", "review", "--", "true", **off)
    assert result.rc == 2 and result.out == "", result
    assert "review is a read phase" in result.err and "--allow-unsandboxed" in result.err
    assert fingerprint(Path(review_ready.store), skip=("audit.log",)) == before  # no claim made
    allowed = conductor(review_ready, "run", "review", "--allow-unsandboxed", "--", "true", **off)
    assert allowed.rc == 0, allowed
    assert "warning: " in allowed.err and "WITHOUT the sandbox" in allowed.err
    [event] = events(review_ready, "sprint_unsandboxed")
    assert event.detail.startswith("--allow-unsandboxed: Landlock is switched off")


def test_run_refuses_an_allow_of_the_project_before_claiming(review_ready: Env) -> None:
    result = conductor(review_ready, "run", "review", "--allow", review_ready.project, "--", "true")
    assert result.rc == 2 and "is the project or contains it" in result.err, result
    assert review_ready.sprint().view().phase("review").status == "ready"
