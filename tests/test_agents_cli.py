"""The agent plug-in commands through the real `conductor` entry point: `skill`, `hooks`,
`prime` and `watch` reach conductor_tui.agents with their arguments, and global options given
before the command name (`conductor --store S --json prime`) are handed to it too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.agent_samples import clean_env

CONDUCTOR = str(Path(sys.executable).with_name("conductor"))


def conductor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONDUCTOR, *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=60
    )


def test_prime_with_global_options_before_its_name(tmp_path: Path) -> None:
    project, store = tmp_path / "proj", tmp_path / "store"
    project.mkdir()
    started = conductor("--store", str(store), "start", "--agent", "lead", cwd=project)
    assert started.returncode == 0, started
    proc = conductor("--store", str(store), "--json", "prime", "--agent", "codex-1", cwd=project)
    assert proc.returncode == 0, proc
    reply = json.loads(proc.stdout)
    assert reply["ok"] is True and reply["ready"] == ["think"] and reply["agent"] == "codex-1"
    assert "Traceback" not in proc.stderr


def test_skill_and_hooks_install_and_uninstall_through_conductor(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    settings = project / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine = '{\n  "permissions": {"allow": ["Bash(ls)"]}\n}\n'
    settings.write_text(mine)
    assert (
        conductor("skill", "install", "--for", "claude", "--project", ".", cwd=project).returncode
        == 0
    )
    assert (project / ".claude" / "skills" / "conductor" / "SKILL.md").is_file()
    assert (
        conductor("hooks", "install", "--for", "claude", "--project", ".", cwd=project).returncode
        == 0
    )
    assert "hooks run post-tool-use" in settings.read_text()
    assert (
        conductor("hooks", "uninstall", "--for", "claude", "--project", ".", cwd=project).returncode
        == 0
    )
    assert (
        conductor("skill", "uninstall", "--for", "claude", "--project", ".", cwd=project).returncode
        == 0
    )
    assert settings.read_text() == mine  # the user's file as it was, byte for byte
    assert not (project / ".claude" / "skills").exists()


def test_watch_and_the_listing_of_commands(tmp_path: Path) -> None:
    helped = conductor("watch", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "--on-stale" in helped.stdout
    listed = conductor("--help", cwd=tmp_path).stdout
    for name in ("skill", "hooks", "prime", "watch"):
        assert f"    {name}" in listed, listed
