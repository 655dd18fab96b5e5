"""`conductor-tui` refuses bad stores before drawing anything: exit 2, one ERROR line, no trace."""

from __future__ import annotations

import contextlib
import os
import select
from typing import Any

import pytest

from conductor_tui.core.store import Store
from conductor_tui.tui.app import ConductorApp
from conductor_tui.tui.main import main


@pytest.fixture
def no_screen(monkeypatch: pytest.MonkeyPatch, quiet_env: None) -> list[ConductorApp]:
    """Record an app start instead of taking over the terminal (a test must never hang)."""
    started: list[ConductorApp] = []
    monkeypatch.setattr(ConductorApp, "run", lambda self, **kw: started.append(self))
    return started


@pytest.fixture
def corrupt(tmp_path: Any) -> tuple[str, str, str]:
    """(store, project, sprint id) of a sprint whose sprint.json is not JSON."""
    project = tmp_path / "project"
    project.mkdir()
    store = Store(str(tmp_path / "store"))
    sprint = store.start(str(project), agent="tester")
    with open(os.path.join(sprint.path, "sprint.json"), "w", encoding="utf-8") as fh:
        fh.write('{"sprint_id": ')
    return store.root, str(project), sprint.sprint_id


def check_refused(capsys: pytest.CaptureFixture[str], rc: int, *words: str) -> str:
    """Exit 2 with an ERROR line naming the problem and no traceback."""
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    assert err.startswith("ERROR: "), err
    assert "Traceback" not in err + out
    for word in words:
        assert word in err, err
    return err


def test_missing_store_with_a_sprint_id(
    capsys: pytest.CaptureFixture[str], no_screen: list[ConductorApp], tmp_path: Any
) -> None:
    missing = str(tmp_path / "nowhere")
    rc = main(["--store", missing, "--project", str(tmp_path), "--sprint", "abc123"])
    check_refused(capsys, rc, "no sprint abc123", missing)
    assert not no_screen


def test_missing_store_without_a_sprint_id(
    capsys: pytest.CaptureFixture[str], no_screen: list[ConductorApp], tmp_path: Any
) -> None:
    rc = main(["--store", str(tmp_path / "nowhere"), "--project", str(tmp_path)])
    check_refused(capsys, rc, "no active sprint")
    assert not no_screen


def test_corrupt_sprint_json_with_its_id(
    capsys: pytest.CaptureFixture[str],
    no_screen: list[ConductorApp],
    corrupt: tuple[str, str, str],
) -> None:
    store, project, sprint_id = corrupt
    rc = main(["--store", store, "--project", project, "--sprint", sprint_id])
    check_refused(capsys, rc, "sprint.json is malformed")
    assert not no_screen


def test_corrupt_sprint_json_found_from_the_project(
    capsys: pytest.CaptureFixture[str],
    no_screen: list[ConductorApp],
    corrupt: tuple[str, str, str],
) -> None:
    """main's own comment: 'a corrupt file is reported before the screen'."""
    store, project, _ = corrupt
    rc = main(["--store", store, "--project", project])
    check_refused(capsys, rc, "sprint.json is malformed")
    assert not no_screen, "the app started on a corrupt sprint.json"


def test_project_that_is_not_a_directory(
    capsys: pytest.CaptureFixture[str], no_screen: list[ConductorApp], tmp_path: Any
) -> None:
    rc = main(["--store", str(tmp_path), "--project", str(tmp_path / "missing")])
    check_refused(capsys, rc, "is not a directory")
    assert not no_screen


def test_invalid_agent_name(
    capsys: pytest.CaptureFixture[str],
    no_screen: list[ConductorApp],
    corrupt: tuple[str, str, str],
) -> None:
    store, project, _ = corrupt
    rc = main(["--store", store, "--project", project, "--agent", "bad name\x1b[31m"])
    err = check_refused(capsys, rc, "invalid agent name")
    assert "\x1b" not in err
    assert not no_screen


def test_a_good_store_starts_the_app(no_screen: list[ConductorApp], tmp_path: Any) -> None:
    project = tmp_path / "project"
    project.mkdir()
    store = Store(str(tmp_path / "store"))
    store.start(str(project), agent="tester")
    rc = main(["--store", store.root, "--project", str(project), "--read-only"])
    assert rc == 0
    assert len(no_screen) == 1 and no_screen[0].read_only


def drain(fd: int) -> None:
    """Read what the app drew, so that it never blocks on a full terminal (waits at most 50 ms)."""
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        with contextlib.suppress(OSError):
            os.read(fd, 65536)


def test_demo_cleans_up_when_its_pane_is_closed(tmp_path: Any) -> None:
    """A closed tmux pane sends SIGHUP: the demo's agents stop and its store is removed."""
    import pty
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "TMPDIR": str(tmp_path), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "conductor_tui.tui.main", "--demo"],
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        env=env,
        start_new_session=True,
    )
    os.close(child_fd)
    try:
        deadline = time.monotonic() + 60
        demo: list[str] = []
        while time.monotonic() < deadline and not demo:  # wait until the demo has started
            demo = [p for p in os.listdir(tmp_path) if p.startswith("conductor-demo-")]
            drain(main_fd)
        assert demo, "the demo never created its store"
        proc.send_signal(signal.SIGHUP)
        while time.monotonic() < deadline and proc.poll() is None:
            drain(main_fd)
        assert proc.poll() is not None, "the app did not exit on SIGHUP"
        assert not os.path.exists(os.path.join(tmp_path, demo[0])), "the demo store was left"
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main_fd)


def test_the_apps_agent_name_is_one_the_store_accepts() -> None:
    """An account name outside ASCII (josé) must still give a valid agent name to claim with."""
    from conductor_tui.core.paths import check_agent
    from conductor_tui.tui.app import default_agent

    assert check_agent(default_agent("josé d'arc")) == "human-jos__d_arc"


def test_the_apps_agent_name_is_the_systems_account_not_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """$USER is often unset or stale in containers and tmux: the name is what whoami says."""
    import pwd

    from conductor_tui.core.paths import check_agent, clean_name
    from conductor_tui.tui.app import default_agent

    monkeypatch.setenv("USER", "somebody-else")
    monkeypatch.delenv("LOGNAME", raising=False)
    whoami = pwd.getpwuid(os.geteuid()).pw_name
    assert default_agent() == f"human-{clean_name(whoami, 'user')[:32]}"
    assert "somebody-else" not in default_agent()
    assert check_agent(default_agent()) == default_agent()
