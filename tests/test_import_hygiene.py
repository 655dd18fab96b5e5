"""The core and the command line never import the UI (textual) nor the file watcher (watchdog).

Checked in fresh interpreters, so that nothing this test session already imported can hide a leak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("textual", "watchdog")

# Prints the forbidden modules loaded after the given statements ran, as one JSON line.
PROBE = """
import json, sys
{body}
bad = sorted(m for m in sys.modules if m.split(".")[0].startswith({forbidden!r}))
print("MODULES=" + json.dumps(bad))
"""


def _probe(body: str, *, cwd: str | None = None, env: dict[str, str] | None = None) -> list[str]:
    code = PROBE.format(body=body, forbidden=FORBIDDEN)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("MODULES=")]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0][len("MODULES=") :])


def test_probe_detects_a_forbidden_import() -> None:
    # the check itself works: importing textual is seen
    assert "textual" in _probe("import textual")


def test_core_and_cli_import_neither_textual_nor_watchdog() -> None:
    body = """
import conductor_tui
import conductor_tui.core
import conductor_tui.core.store
import conductor_tui.core.graph
import conductor_tui.core.liveness
import conductor_tui.core.audit
import conductor_tui.core.paths
import conductor_tui.cli
import conductor_tui.runner
try:
    conductor_tui.cli.main(["--help"])
except SystemExit as exc:
    assert exc.code == 0, exc.code
"""
    assert _probe(body) == []


def test_conductor_status_on_a_real_store_does_not_import_textual(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NANOSTACK_AGENT", "CLAUDE_SESSION_ID", "CLAUDE_CODE", "CONDUCTOR_CRASH_AT")
    }
    env.update(NANOSTACK_STORE=str(tmp_path / "store"), NANOSTACK_AGENT="hygiene", PWD=str(project))
    body = """
from conductor_tui import cli
for argv in (["start"], ["claim", "think"], ["status"], ["status", "--json"], ["next"],
             ["why", "plan"], ["batch"], ["log"], ["doctor"], ["complete", "think"]):
    rc = cli.main(argv)
    assert rc == 0, (argv, rc)
"""
    assert _probe(body, cwd=str(project), env=env) == []
    # and the commands really ran against the store
    conductor_dir = tmp_path / "store" / "conductor"
    (sprint_dir,) = list(conductor_dir.iterdir())
    assert (sprint_dir / "think" / "done").is_file()


def test_conductor_status_command_with_importtime(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = dict(os.environ, NANOSTACK_STORE=str(tmp_path / "store"), NANOSTACK_AGENT="hygiene")
    env["PWD"] = str(project)
    start = subprocess.run(
        [sys.executable, "-m", "conductor_tui.cli", "start"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert start.returncode == 0, start.stderr
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "conductor_tui.cli", "status"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("sprint ")
    imported = [
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]
    assert "conductor_tui.core.store" in imported
    assert not [m for m in imported if m.split(".")[0] in FORBIDDEN], imported
