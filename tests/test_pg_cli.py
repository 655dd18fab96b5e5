"""The command line on a PostgreSQL store, through the real `conductor` entry point in
subprocesses: a URL in --store, in $NANOSTACK_STORE or as `store` in config.json; the same
replies and exit codes as the file store; `db migrate | import | export`; a password never
printed; an unreachable server a clear error (exit 2) within the connect timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .pg_server import fresh_url

CONDUCTOR = str(Path(sys.executable).with_name("conductor"))
IDENTITY = ("NANOSTACK_AGENT", "NANOSTACK_STORE", "CLAUDE_SESSION_ID", "CODEX_SESSION_ID")


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from fresh_url()


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in IDENTITY}
    return subprocess.run(
        [CONDUCTOR, *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def with_password(url: str, password: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@", 1)


def test_the_lifecycle_on_a_url_as_on_files(pg_url: str, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    url = with_password(pg_url, "s3cret-pw")  # trust authentication ignores it; never printed
    outs: list[str] = []

    def ok(*args: str) -> subprocess.CompletedProcess[str]:
        proc = run("--store", url, *args, cwd=project)
        outs.extend((proc.stdout, proc.stderr))
        return proc

    assert ok("start", "--agent", "lead").returncode == 0
    claim = ok("--json", "claim", "think", "--agent", "codex-1")
    assert claim.returncode == 0 and json.loads(claim.stdout)["word"] == "OK"
    second = ok("claim", "think", "--agent", "claude-2")
    assert second.returncode == 1 and second.stderr.startswith("CLAIMED")  # as on files
    status = json.loads(ok("--json", "status").stdout)
    think = status["phases"]["think"]
    assert think["status"] == "held" and think["agent"] == "codex-1"
    assert ok("--json", "next").returncode == 0
    log = json.loads(ok("--json", "log").stdout)
    assert [e["event"] for e in log["events"]] == ["sprint_start", "sprint_claim"]
    made = json.loads(ok("--json", "artifact", "new", "think", "--agent", "codex-1").stdout)
    assert made["path"].startswith(str(project / ".nanostack" / "artifacts" / "think") + os.sep)
    assert ok("abort", "think", "--agent", "codex-1").returncode == 0
    assert ok("context").returncode == 0
    assert not any("s3cret-pw" in text for text in outs)
    assert not any("Traceback" in text for text in outs)


def test_the_url_from_the_environment_and_from_config_json(pg_url: str, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    started = run("start", "--agent", "lead", cwd=project, env={"NANOSTACK_STORE": pg_url})
    assert started.returncode == 0, started
    # a team's pointer: the file store's config.json names the database
    files = tmp_path / "files"
    files.mkdir()
    (files / "config.json").write_text(json.dumps({"store": pg_url}))
    status = run("--store", str(files), "--json", "status", cwd=project)
    assert status.returncode == 0, status
    assert (
        json.loads(status.stdout)["sprint_id"]
        == json.loads(run("--json", "status", cwd=project, env={"NANOSTACK_STORE": pg_url}).stdout)[
            "sprint_id"
        ]
    )


def test_db_import_then_export(pg_url: str, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    files = str(tmp_path / "files")
    assert run("--store", files, "start", "--agent", "lead", cwd=project).returncode == 0
    assert run("--store", files, "claim", "think", "--agent", "a1", cwd=project).returncode == 0
    sprint_id = json.loads(run("--store", files, "--json", "status", cwd=project).stdout)[
        "sprint_id"
    ]
    migrated = run("db", "migrate", "--store", pg_url, cwd=project)
    assert migrated.returncode == 0 and migrated.stdout.startswith("OK: schema version")
    # the URL in $NANOSTACK_STORE, the files found as every command finds them (--store none)
    imported = run("db", "import", "--from", files, cwd=project, env={"NANOSTACK_STORE": pg_url})
    assert imported.returncode == 0, imported
    on_pg = json.loads(run("--store", pg_url, "--json", "status", cwd=project).stdout)
    assert on_pg["sprint_id"] == sprint_id
    assert on_pg["phases"]["think"]["agent"] == "a1"
    again = run("db", "import", "--store", pg_url, "--from", files, cwd=project)
    assert again.returncode == 2 and "already" in again.stderr
    out = str(tmp_path / "out")
    exported = run(
        "db", "export", "--store", pg_url, "--sprint", sprint_id, "--to", out, cwd=project
    )
    assert exported.returncode == 0, exported
    back = json.loads(
        run("--store", out, "--sprint", sprint_id, "--json", "status", cwd=project).stdout
    )
    assert {n: p["status"] for n, p in back["phases"].items()} == {
        n: p["status"] for n, p in on_pg["phases"].items()
    }


def test_an_unreachable_server_is_a_clear_error_within_the_timeout(tmp_path: Path) -> None:
    url = "postgresql://someone:hunter2@127.0.0.1:9/conductor"  # the discard port: refused
    began = time.monotonic()
    proc = run("--store", url, "status", cwd=tmp_path)
    assert time.monotonic() - began < 15  # the 5 s connect timeout, plus the interpreter
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("ERROR: cannot connect") and "hunter2" not in proc.stderr
    assert "Traceback" not in proc.stderr
    as_json = run("--store", url, "--json", "status", cwd=tmp_path)
    assert as_json.returncode == 2 and "hunter2" not in as_json.stdout + as_json.stderr
    assert json.loads(as_json.stdout)["ok"] is False
