"""`conductor nanostack install|uninstall`: the swap, the backup, the refusals, and a nanostack
skill running through the wrapper into our store.

The tests never hold upstream's script: a stand-in with its shape (or registered as a known
version for the test) plays it, in a real directory laid out as a nanostack checkout and as an
installed skill that links to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conductor_tui.nanostack import install
from conductor_tui.nanostack.install import BACKUP_SUFFIX, KNOWN_UPSTREAM, kind_of, main

# A stand-in with upstream's shape: a bash script with its command functions and lock.d.
STAND_IN = (
    b"#!/usr/bin/env bash\n# a stand-in for nanostack's coordinator script\nset -e\n"
    b'cmd_claim() { mkdir "$1/lock.d"; }\ncmd_complete() { :; }\ncmd_abort() { :; }\n'
    b'cmd_status() { echo \'{"status":"no_sprint"}\'; }\ncmd_status "$@"\n'
)


def checkout(tmp: Path, content: bytes = STAND_IN) -> Path:
    root = tmp / "nanostack"
    bin_dir = root / "conductor" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "sprint.sh"
    script.write_bytes(content)
    script.chmod(0o755)
    os.utime(script, (1_700_000_000, 1_700_000_000))
    (root / "think").mkdir()
    (root / "think" / "SKILL.md").write_text("---\nname: think\nconcurrency: read\n---\n")
    return root


def shim(tmp: Path) -> Path:
    """A `conductor` that runs sprint-sh the way the real command's dispatch does."""
    path = tmp / "bin" / "conductor"
    path.parent.mkdir()
    path.write_text(
        "#!/bin/sh\n"
        '[ "$1" = sprint-sh ] || exit 64\nshift\n'
        f'exec {sys.executable} -m conductor_tui.nanostack.sprint_sh "$@"\n'
    )
    path.chmod(0o755)
    return path


def facts(path: Path) -> tuple[str, int, int, int]:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mode, st.st_mtime_ns, st.st_ino


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_install_then_uninstall_restores_byte_for_byte(tmp_path: Path, capsys) -> None:
    root = checkout(tmp_path)
    conductor = shim(tmp_path)
    script = root / "conductor" / "bin" / "sprint.sh"
    before = facts(script)
    rc, out, err = run("install", str(root), "--conductor", str(conductor), capsys=capsys)
    assert (rc, err) == (0, "") and out.startswith("OK: installed: ")
    text = script.read_text()
    assert text.count("\n") == 2 and text.startswith("#!/bin/sh\nexec ")
    assert f"{conductor} sprint-sh --nanostack-root {root}" in text and text.endswith('"$@"\n')
    assert os.access(script, os.X_OK)
    assert facts(Path(str(script) + BACKUP_SUFFIX)) == before
    # twice: nothing changes
    wrapper_facts = facts(script)
    rc, out, _ = run("install", str(root), "--conductor", str(conductor), capsys=capsys)
    assert rc == 0 and out.startswith("OK: already installed") and facts(script) == wrapper_facts
    rc, out, _ = run("uninstall", str(root), capsys=capsys)
    assert rc == 0 and out.startswith("OK: uninstalled")
    assert facts(script) == before  # bytes, mode, mtime, even the inode
    assert not Path(str(script) + BACKUP_SUFFIX).exists()
    rc, out, _ = run("uninstall", str(root), capsys=capsys)
    assert rc == 0 and out.startswith("OK: not installed") and facts(script) == before


def test_known_versions_are_recognised_by_hash(tmp_path: Path, monkeypatch) -> None:
    assert len(KNOWN_UPSTREAM) >= 13
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in KNOWN_UPSTREAM)
    odd = b"#!/usr/bin/env bash\necho a released version\n"
    assert kind_of(odd) == "other"
    monkeypatch.setitem(install.KNOWN_UPSTREAM, hashlib.sha256(odd).hexdigest(), "test")
    assert kind_of(odd) == "upstream"
    assert kind_of(STAND_IN) == "upstream-shape"
    assert kind_of(install.wrapper("/x/conductor", "/n s")) == "wrapper"


@pytest.mark.parametrize(
    "content",
    [b"#!/bin/sh\necho mine\n", b"", b"\x00\x01binary", b"#!/bin/sh\nexec conductor sprint-sh\n"],
)
def test_a_file_that_is_not_upstreams_is_refused(tmp_path: Path, capsys, content: bytes) -> None:
    root = checkout(tmp_path, content)
    script = root / "conductor" / "bin" / "sprint.sh"
    before = facts(script)
    rc, out, err = run("install", str(root), "--conductor", str(shim(tmp_path)), capsys=capsys)
    assert (rc, out) == (1, "") and err.startswith("REFUSED: ") and "not nanostack's" in err
    assert facts(script) == before and not Path(str(script) + BACKUP_SUFFIX).exists()
    rc, _, err = run("uninstall", str(root), capsys=capsys)
    assert rc == 1 and err.startswith("REFUSED: ") and facts(script) == before


def test_refusals_are_clear(tmp_path: Path, capsys) -> None:
    rc, _, err = run("install", str(tmp_path / "nowhere"), capsys=capsys)
    assert rc == 1 and err.startswith("REFUSED: no conductor/bin/sprint.sh")
    root = checkout(tmp_path)
    rc, _, err = run("install", str(root), "--conductor", str(tmp_path / "nope"), capsys=capsys)
    assert rc == 1 and "--conductor" in err
    assert run("frobnicate", capsys=capsys)[0] == 2
    assert run("install", "a", "b", capsys=capsys)[0] == 2
    assert run("install", "--conductor", capsys=capsys)[0] == 2


def test_uninstall_without_a_backup_is_refused(tmp_path: Path, capsys) -> None:
    root = checkout(tmp_path)
    run("install", str(root), "--conductor", str(shim(tmp_path)), capsys=capsys)
    script = root / "conductor" / "bin" / "sprint.sh"
    backup = Path(str(script) + BACKUP_SUFFIX)
    backup.write_bytes(b"#!/bin/sh\necho tampered\n")
    rc, _, err = run("uninstall", str(root), capsys=capsys)
    assert rc == 1 and "not nanostack's" in err
    backup.unlink()
    wrapper = script.read_bytes()
    rc, _, err = run("uninstall", str(root), capsys=capsys)
    assert rc == 1 and "missing" in err and script.read_bytes() == wrapper


def test_an_installed_skill_directory_leads_to_the_checkout(tmp_path: Path, capsys) -> None:
    """nanostack's setup links ~/.claude/skills/conductor/bin to the checkout's."""
    root = checkout(tmp_path)
    skill = tmp_path / "skills" / "conductor"
    skill.mkdir(parents=True)
    (skill / "bin").symlink_to(root / "conductor" / "bin")
    rc, out, _ = run("install", str(skill), "--conductor", str(shim(tmp_path)), capsys=capsys)
    assert rc == 0 and str(root / "conductor" / "bin" / "sprint.sh") in out
    assert kind_of((root / "conductor" / "bin" / "sprint.sh").read_bytes()) == "wrapper"


def test_a_skill_runs_through_the_wrapper(tmp_path: Path, capsys) -> None:
    """The skill calls sprint.sh as always; our store answers, under the caller's name."""
    import pwd

    root = checkout(tmp_path)
    run("install", str(root), "--conductor", str(shim(tmp_path)), capsys=capsys)
    project = tmp_path / "project"
    project.mkdir()
    store = tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if not k.endswith("SESSION_ID")}
    env.pop("NANOSTACK_AGENT", None)
    env.pop("CLAUDE_CODE", None)
    env.update(NANOSTACK_STORE=str(store), HOME=str(tmp_path), PWD=str(project))
    sprint_sh = root / "conductor" / "bin" / "sprint.sh"
    script = (
        f"{sprint_sh} start >/dev/null && {sprint_sh} claim think && {sprint_sh} claim plan; "
        f"{sprint_sh} batch | head -1; echo $$"
    )
    proc = subprocess.run(
        ["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )
    lines = proc.stdout.split()
    assert lines[0] == "OK" and lines[1] == '{"batch":1,"type":"read","phases":["think"]}'
    said = proc.stderr.splitlines()
    assert said[0] == "BLOCKED: 'plan' requires 'think' to complete first"
    # batch reads the checkout's skills (the wrapper names the checkout): only think has one
    assert said[1] == "conductor: no SKILL.md found for phase 'plan'; defaulting concurrency=write"
    shell = lines[2]
    [sprint_dir] = (store / "conductor").iterdir()
    meta = json.loads((sprint_dir / "think" / "lock" / "meta.json").read_text())
    assert meta["agent"] == f"agent-{pwd.getpwuid(os.geteuid()).pw_name}-{shell}"
    assert meta["token"]  # a fenced claim, in our store
