"""sprint-sh costs what the store operation costs: it imports nothing heavy of its own.

Each command runs in a fresh interpreter; the modules it loaded are compared with those the bare
store operation loads (the same find and claim, or view, called directly). What sprint-sh adds
must be its own small modules, never the app, the watcher, the native command line or pydantic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ALLOWED_EXTRA = {
    "conductor_tui.nanostack",
    "conductor_tui.nanostack.sprint_sh",
    "conductor_tui.nanostack.upstream",
    "conductor_tui.nanostack.session",
    "conductor_tui.text",
    "pwd",
    "runpy",
    "pkgutil",
    "importlib.machinery",
    "importlib.util",
    "_pwd",
}
NEVER = ("textual", "watchdog", "pydantic", "conductor_tui.cli", "conductor_tui.tui")

SPRINT_SH = """
import sys
from conductor_tui.nanostack.sprint_sh import main
main({args!r})
sys.stdout.flush()
print("\\n" + __import__("json").dumps(sorted(sys.modules)))
"""

CORE = """
import os, sys
from conductor_tui.core.paths import find_store, logical_cwd
from conductor_tui.core.store import Store
project = logical_cwd()
sprint = Store(find_store(None, project)).find_active(project)
{op}
print("\\n" + __import__("json").dumps(sorted(sys.modules)))
"""

OPS = {
    "status": "sprint.view()",
    "next": "sprint.view()",
    "claim": "from conductor_tui.core.liveness import holder_process\n"
    "pid, start = holder_process(None)\n"
    "sprint.claim('think', agent='alice', holder_pid=pid, holder_start=start)",
}


def modules(code: str, cwd: str, env: dict[str, str]) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(proc.stdout.rstrip().splitlines()[-1]))


@pytest.mark.parametrize("command", ["status", "next", "claim"])
def test_sprint_sh_imports_only_what_the_store_needs(tmp_path: Path, command: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = dict(os.environ, NANOSTACK_STORE=str(tmp_path / "store"), NANOSTACK_AGENT="alice")
    env["PWD"] = str(project)
    start = [sys.executable, "-m", "conductor_tui.nanostack.sprint_sh", "start"]
    subprocess.run(start, cwd=project, env=env, check=True, capture_output=True)
    ours = modules(SPRINT_SH.format(args=[command, "think"]), str(project), env)
    if command == "claim":  # the same claim again from the core: release it first
        abort = [sys.executable, "-m", "conductor_tui.nanostack.sprint_sh", "abort", "think"]
        subprocess.run(abort, cwd=project, env=env, check=True, capture_output=True)
    core = modules(CORE.format(op=OPS[command]), str(project), env)
    extra = {m for m in ours - core if not m.startswith("encodings.")}
    assert extra <= ALLOWED_EXTRA, sorted(extra - ALLOWED_EXTRA)
    for name in NEVER:
        assert not any(m == name or m.startswith(name + ".") for m in ours - core), name


def test_no_sprint_status_touches_little(tmp_path: Path) -> None:
    env = dict(os.environ, NANOSTACK_STORE=str(tmp_path / "none"), PWD=str(tmp_path))
    ours = modules(SPRINT_SH.format(args=["status"]), str(tmp_path), env)
    for name in (*NEVER, "conductor_tui.core.store", "conductor_tui.core.graph"):
        assert name not in ours, name
