"""The agent name when nothing names the agent: `agent-<account>-<ppid>`, the account as the
system names it (what `whoami` prints, upstream's choice), never $USER, which containers and
tmux often leave unset or stale."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess

import pytest

from conductor_tui.core.paths import account_name, detect_agent
from tests.conftest import IDENTITY_VARS, Env, conductor


def test_account_name_is_the_systems_name_for_this_user() -> None:
    assert account_name() == pwd.getpwuid(os.geteuid()).pw_name


@pytest.mark.skipif(shutil.which("whoami") is None, reason="no whoami here")
def test_account_name_is_what_whoami_prints() -> None:
    whoami = subprocess.run(["whoami"], capture_output=True, text=True, check=True)
    assert account_name() == whoami.stdout.strip()


def test_the_fallback_ignores_user_and_logname() -> None:
    for env in ({}, {"USER": "someone-else"}, {"LOGNAME": "x", "USER": ""}):
        ident = detect_agent(env, ppid=4242)
        assert ident.agent == f"agent-{account_name()}-4242"
        assert ident.unstable


def test_the_account_can_be_given_and_is_made_a_safe_name() -> None:
    assert detect_agent({}, ppid=7, account="dev").agent == "agent-dev-7"
    assert detect_agent({}, ppid=7, account="we ird/é").agent == "agent-we_ird__-7"


def test_a_session_variable_still_comes_first() -> None:
    assert detect_agent({"NANOSTACK_AGENT": "alice"}, ppid=1).agent == "alice"
    assert detect_agent({"CODEX_SESSION_ID": "0123456789"}, ppid=1).agent == "codex-01234567"


def test_the_command_line_claims_under_the_account_without_user(started: Env) -> None:
    env = {k: "" for k in IDENTITY_VARS}
    env.update(NANOSTACK_AGENT="", USER="", LOGNAME="")
    result = conductor(started, "--json", "claim", "think", **env)
    assert result.rc == 0, result
    agent = json.loads(result.out)["owner"]["agent"]
    assert agent.startswith(f"agent-{account_name()}-"), agent
