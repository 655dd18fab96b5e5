"""`conductor hooks install|uninstall`: every host's file format, merged into settings that already
hold hooks and permissions, installed twice, uninstalled; the user's bytes the same afterwards."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.agent_samples import run_module

CONDUCTOR = "/opt/conductor/bin/conductor"
SETTINGS = {
    "claude": ".claude/settings.json",
    "codex": ".codex/hooks.json",
    "cursor": ".cursor/hooks.json",
}
OUR_EVENTS = {
    "claude": ("PreToolUse", "PostToolUse", "SessionStart", "Stop"),
    "codex": ("PreToolUse", "PostToolUse", "SessionStart", "Stop"),
    "cursor": ("preToolUse", "postToolUse", "sessionStart", "stop"),
}

# What users already have: hooks of their own on the events we use and others, permissions,
# other keys; Claude Code's own formatting (2 spaces), 4 spaces, tabs, one line.
USER_CLAUDE = {
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "permissions": {"allow": ["Bash(npm run lint)", "Read(~/.zshrc)"], "deny": ["Read(./.env)"]},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/log-bash"}]}
        ],
        "Notification": [{"hooks": [{"type": "command", "command": "notify-send Claude"}]}],
    },
    "env": {"FOO": "bär"},
}
USER_CODEX = {
    "hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": "python3 ~/.codex/stop.py"}]}],
        "SessionStart": [
            {"matcher": "startup", "hooks": [{"type": "command", "command": "echo hi"}]}
        ],
    }
}
USER_CURSOR = {
    "version": 1,
    "hooks": {
        "afterFileEdit": [{"command": "./hooks/format.sh"}],
        "stop": [{"command": "./hooks/audit.sh", "loop_limit": 3}],
    },
}
USER = {"claude": USER_CLAUDE, "codex": USER_CODEX, "cursor": USER_CURSOR}


def formats(value: Any) -> list[bytes]:
    return [
        (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode(),
        json.dumps(value, indent=4).encode(),  # no final newline, escaped unicode
        (json.dumps(value, indent="\t") + "\n").encode(),
        json.dumps(value).encode(),
    ]


CASES = [(host, i) for host in SETTINGS for i in range(4)]


def hooks(*args: str, cwd: Path, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_module("hooks", *args, cwd=str(cwd), env=env)


def ours(host: str, value: dict[str, Any]) -> dict[str, list[str]]:
    """Our commands per event in a parsed settings file."""
    found: dict[str, list[str]] = {}
    for event, entries in value.get("hooks", {}).items():
        for entry in entries:
            handlers = [entry] if host == "cursor" else entry.get("hooks", [])
            for h in handlers:
                if " hooks run " in h.get("command", ""):
                    found.setdefault(event, []).append(h["command"])
    return found


def without_ours(host: str, value: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(value))
    for event in list(out.get("hooks", {})):
        keep = []
        for entry in out["hooks"][event]:
            if host == "cursor":
                if " hooks run " not in entry.get("command", ""):
                    keep.append(entry)
                continue
            entry["hooks"] = [h for h in entry["hooks"] if " hooks run " not in h["command"]]
            if entry["hooks"]:
                keep.append(entry)
        out["hooks"][event] = keep
        if not keep:
            del out["hooks"][event]
    return out


@pytest.mark.parametrize(("host", "fmt"), CASES)
def test_merge_install_twice_uninstall_byte_identical(tmp_path: Path, host: str, fmt: int) -> None:
    path = tmp_path / SETTINGS[host]
    path.parent.mkdir()
    original = formats(USER[host])[fmt]
    path.write_bytes(original)

    first = hooks(
        "install", "--for", host, "--project", str(tmp_path), "--conductor", CONDUCTOR, cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    installed = path.read_bytes()
    value = json.loads(installed)
    assert without_ours(host, value) == USER[host]  # nothing of the user's changed
    found = ours(host, value)
    assert sorted(found) == sorted(OUR_EVENTS[host])
    assert all(len(cmds) == 1 for cmds in found.values())
    assert found[OUR_EVENTS[host][1]] == [f"{CONDUCTOR} hooks run post-tool-use --for {host}"]
    assert installed.startswith(original[: original.index(b"hooks") - 1])  # edited in place

    again = hooks(
        "install",
        "--for",
        host,
        "--project",
        str(tmp_path),
        "--conductor",
        CONDUCTOR,
        "--json",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["files"][0]["action"] == "unchanged"
    assert path.read_bytes() == installed

    gone = hooks("uninstall", "--for", host, "--project", str(tmp_path), cwd=tmp_path)
    assert gone.returncode == 0, gone.stderr
    assert path.read_bytes() == original


@pytest.mark.parametrize("host", list(SETTINGS))
def test_a_file_we_created_is_removed_with_its_folder(tmp_path: Path, host: str) -> None:
    assert hooks("install", "--for", host, "--project", str(tmp_path), cwd=tmp_path).returncode == 0
    path = tmp_path / SETTINGS[host]
    value = json.loads(path.read_text())
    if host == "cursor":
        assert value["version"] == 1
    assert sorted(ours(host, value)) == sorted(OUR_EVENTS[host])
    assert (
        hooks("uninstall", "--for", host, "--project", str(tmp_path), cwd=tmp_path).returncode == 0
    )
    assert os.listdir(tmp_path) == []


def test_another_conductor_path_replaces_ours_and_keeps_the_users_hook_in_our_group(
    tmp_path: Path,
) -> None:
    path = tmp_path / SETTINGS["claude"]
    path.parent.mkdir()
    original = formats(USER_CLAUDE)[0]
    path.write_bytes(original)
    hooks(
        "install",
        "--for",
        "claude",
        "--project",
        str(tmp_path),
        "--conductor",
        "/a/conductor",
        cwd=tmp_path,
    )
    moved = hooks(
        "install",
        "--for",
        "claude",
        "--project",
        str(tmp_path),
        "--conductor",
        "/b/conductor",
        cwd=tmp_path,
    )
    assert moved.returncode == 0, moved.stderr
    value = json.loads(path.read_text())
    assert all(
        c == [c[0]] and c[0].startswith("/b/conductor") for c in ours("claude", value).values()
    )
    # the user adds a hook of theirs to our Stop group
    value["hooks"]["Stop"][0]["hooks"].append({"type": "command", "command": "say done"})
    path.write_text(json.dumps(value, indent=2) + "\n")
    assert (
        hooks("uninstall", "--for", "claude", "--project", str(tmp_path), cwd=tmp_path).returncode
        == 0
    )
    left = json.loads(path.read_text())
    assert ours("claude", left) == {}
    assert left["hooks"]["Stop"] == [{"hooks": [{"type": "command", "command": "say done"}]}]


def test_user_settings_and_codex_home(tmp_path: Path) -> None:
    from tests.agent_samples import clean_env

    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(HOME=str(home), CODEX_HOME=str(tmp_path / "codex-home"))
    done = hooks("install", "--for", "all", "--user", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    paths = {f["host"]: f["path"] for f in json.loads(done.stdout)["files"]}
    assert paths == {
        "claude": str(home / ".claude" / "settings.json"),
        "codex": str(tmp_path / "codex-home" / "hooks.json"),
        "cursor": str(home / ".cursor" / "hooks.json"),
    }
    assert hooks("uninstall", "--for", "all", "--user", cwd=tmp_path, env=env).returncode == 0
    assert os.listdir(home) == []


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"hooks": []}',
        b'{"hooks": {"Stop": {}}}',
        b"[1, 2]",
        b'{"a": 1, "a": 2}',
        b"\xff\xfe",
    ],
)
def test_malformed_settings_is_refused_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / SETTINGS["claude"]
    path.parent.mkdir()
    path.write_bytes(content)
    for action in ("install", "uninstall"):
        done = hooks(action, "--for", "claude", "--project", str(tmp_path), "--json", cwd=tmp_path)
        assert done.returncode == 2, done
        reply = json.loads(done.stdout)
        assert reply["ok"] is False and "nothing was changed" in reply["message"]
        assert "Traceback" not in done.stderr
    assert path.read_bytes() == content


def test_a_symlinked_settings_file_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "dotfiles-settings.json"
    shared.write_text('{"model": "opus"}\n')
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").symlink_to(shared)
    done = hooks("install", "--for", "claude", "--project", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "symlink" in done.stderr and "Traceback" not in done.stderr
    assert shared.read_text() == '{"model": "opus"}\n'
    assert (tmp_path / ".claude" / "settings.json").is_symlink()


def test_one_refusal_changes_no_other_host(tmp_path: Path) -> None:
    (tmp_path / ".cursor").mkdir()
    (tmp_path / ".cursor" / "hooks.json").write_text("{oops")
    done = hooks("install", "--for", "claude,cursor", "--project", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert not (tmp_path / ".claude").exists()
