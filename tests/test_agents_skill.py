"""`conductor skill install|uninstall`: the /conductor SKILL.md and the AGENTS.md section, in real
directories; the user's files byte for byte the same after uninstall."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.agent_samples import clean_env, run_module

CLAUDE_SKILL = ".claude/skills/conductor/SKILL.md"
CURSOR_SKILL = ".cursor/skills/conductor/SKILL.md"


def skill(*args: str, cwd: Path, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_module("skill", *args, cwd=str(cwd), env=env)


def front_matter(text: str) -> dict[str, str]:
    assert text.startswith("---\n")
    head = text[4 : text.index("\n---\n", 4)]
    out = {}
    for line in head.splitlines():
        key, _, value = line.partition(": ")
        out[key] = json.loads(value) if value.startswith('"') else value
    return out


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under root: a file's bytes, None for a directory."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = Path(p).read_bytes()
    return out


@pytest.mark.parametrize(
    "existing",
    [
        b"# House rules\n\nRun the tests before you push.\n",
        b"# No final newline\nkeep this",
        b"# Ends with blank lines\n\n\n",
        b"",
        None,
    ],
)
def test_install_twice_then_uninstall_leaves_the_project_as_it_was(
    tmp_path: Path, existing: bytes | None
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "src").mkdir()
    (project / "src" / "app.py").write_text("print('hi')\n")
    if existing is not None:
        (project / "AGENTS.md").write_bytes(existing)
    before = tree(project)

    first = skill("install", "--project", str(project), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("OK: installed the conductor skill for claude, codex")
    after_one = tree(project)
    second = skill("install", "--project", str(project), "--json", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    reply = json.loads(second.stdout)
    assert reply["ok"] is True and reply["word"] == "OK"
    assert {f["action"] for f in reply["files"]} == {"unchanged"}
    assert tree(project) == after_one

    text = (project / CLAUDE_SKILL).read_text()
    meta = front_matter(text)
    assert meta["name"] == "conductor"
    for trigger in ("/conductor", "sprint", "claim", "BLOCKED", "fenced"):
        assert trigger in meta["description"]
    for command in (
        "conductor next",
        "conductor claim",
        "conductor heartbeat",
        "conductor why",
        "conductor resume",
        "conductor context",
        "conductor abort",
        "conductor artifact new",
        "--artifact",
        "context_checkpoint",
        "conductor run",
    ):
        assert command in text, command
    assert "Exit 1" in text and "Exit 2" in text and "read phases" in text.lower()
    assert (project / CURSOR_SKILL).read_text() == text
    agents = (project / "AGENTS.md").read_text()
    assert (
        agents.count("<!-- conductor:begin ") == 1 and agents.count("<!-- conductor:end -->") == 1
    )
    if existing:
        assert agents.startswith(existing.decode())

    gone = skill("uninstall", "--project", str(project), cwd=tmp_path)
    assert gone.returncode == 0, gone.stderr
    assert tree(project) == before


def test_a_section_edited_around_keeps_the_users_edits(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("# Rules\n")
    assert (
        skill("install", "--for", "codex", "--project", str(tmp_path), cwd=tmp_path).returncode == 0
    )
    with open(tmp_path / "AGENTS.md", "a") as f:
        f.write("\n## Added after install\nmore\n")
    assert (
        skill("uninstall", "--for", "codex", "--project", str(tmp_path), cwd=tmp_path).returncode
        == 0
    )
    assert (tmp_path / "AGENTS.md").read_text() == "# Rules\n\n## Added after install\nmore\n"


def test_user_install_goes_to_each_hosts_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".codex").mkdir()
    (home / ".codex" / "AGENTS.md").write_text("my global codex rules\n")
    env = clean_env(HOME=str(home), XDG_CONFIG_HOME=str(home / "xdg"))
    env.pop("CODEX_HOME", None)
    before = tree(home)
    done = skill("install", "--user", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    paths = {f["path"] for f in json.loads(done.stdout)["files"]}
    assert paths == {
        str(home / CLAUDE_SKILL),
        str(home / CURSOR_SKILL),
        str(home / ".codex" / "AGENTS.md"),
        str(home / "xdg" / "opencode" / "AGENTS.md"),
    }
    assert skill("uninstall", "--user", cwd=tmp_path, env=env).returncode == 0
    assert tree(home) == before


def test_a_skill_md_that_is_not_ours_is_refused_and_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / CLAUDE_SKILL
    mine.parent.mkdir(parents=True)
    mine.write_text("---\nname: conductor\ndescription: my own\n---\n")
    before = tree(tmp_path)
    for action in ("install", "uninstall"):
        done = skill(action, "--for", "claude", "--project", str(tmp_path), cwd=tmp_path)
        assert done.returncode == 1
        assert "not written by `conductor skill install`" in done.stderr
        assert "Traceback" not in done.stderr
    assert tree(tmp_path) == before


def test_a_symlinked_agents_md_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.md"
    real.write_text("shared rules\n")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "AGENTS.md").symlink_to(real)
    done = skill(
        "install",
        "--for",
        "opencode",
        "--project",
        str(tmp_path / "project"),
        "--json",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    reply = json.loads(done.stdout)
    assert reply["ok"] is False and "symlink" in reply["message"]
    assert real.read_text() == "shared rules\n"
    assert (tmp_path / "project" / "AGENTS.md").is_symlink()


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    done = skill("install", "--for", "vim", "--project", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2 and "ERROR" in done.stderr
    both = skill("install", "--user", "--project", str(tmp_path), cwd=tmp_path)
    assert both.returncode == 2
