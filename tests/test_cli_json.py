"""Every `--json` reply is one object that starts with `ok`, `word` and `message` (README,
"Replies"), the read commands' too; `run --json` keeps its command's output off stdout."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import Env, conductor

CHECKPOINT = {"summary": "s", "key_files": [], "decisions_made": [], "open_questions": []}

READ_COMMANDS = [
    ["status"],
    ["next"],
    ["why", "plan"],
    ["batch"],
    ["log"],
    ["resume"],
    ["verify"],
    ["doctor"],
    ["context"],
    ["graph"],
]


@pytest.mark.parametrize("argv", READ_COMMANDS, ids=lambda a: a[0])
def test_read_commands_reply_with_ok_word_and_message(started: Env, cli, argv: list[str]) -> None:
    assert cli("claim", "think").rc == 0
    result = cli("--json", *argv)
    assert result.rc == 0, result
    lines = result.out.splitlines()
    assert len(lines) == 1, result.out  # exactly one JSON object on stdout
    data = json.loads(lines[0])
    assert list(data)[:3] == ["ok", "word", "message"]
    assert data["ok"] is True
    assert isinstance(data["word"], str) and data["word"].isupper()
    assert isinstance(data["message"], str) and data["message"]


def test_read_replies_keep_their_data_keys(started: Env, cli) -> None:
    assert cli("claim", "think").rc == 0
    status = cli("--json", "status").json
    assert status["phases"]["think"]["state"] == "running"  # upstream's keys stay
    assert status["message"].endswith("0/7 done")
    why = cli("--json", "why", "plan").json
    assert (why["word"], why["status"]) == ("BLOCKED", "blocked")
    assert why["reasons"] and why["message"].startswith("plan: ")
    nxt = cli("--json", "next").json
    assert nxt["word"] == "WAIT" and nxt["ready"] == []
    assert cli("--json", "resume").json["word"] == "HOLDING"
    batch = cli("--json", "batch").json
    assert batch["batches"] and "warnings" in batch


def test_a_refusing_read_command_says_so_in_its_word(started: Env, cli) -> None:
    assert cli("claim", "think").rc == 0
    art = f"{started.project}/think.json"
    with open(art, "w") as fh:
        json.dump({"context_checkpoint": CHECKPOINT}, fh)
    assert cli("complete", "think", "--artifact", art).rc == 0
    with open(art, "a") as fh:
        fh.write(" ")
    result = cli("--json", "verify")
    assert result.rc == 1
    data = result.json
    assert (data["ok"], data["word"]) == (False, "REFUSED")
    assert data["artifacts"][0]["changed"] is True


def test_run_json_keeps_the_commands_output_off_stdout(started: Env) -> None:
    script = "import sys; print('child says hi'); print('child err', file=sys.stderr)"
    result = conductor(
        started, "--json", "run", "think", "--no-sandbox", "--", sys.executable, "-c", script
    )
    assert result.rc == 0, result
    data = json.loads(result.out)  # the whole of stdout is the one object
    assert (data["ok"], data["word"], data["exit_code"]) == (True, "OK", 0)
    assert "child says hi" in result.err and "child err" in result.err
    human = conductor(started, "run", "plan", "--no-sandbox", "--", sys.executable, "-c", script)
    assert human.rc == 0, human
    assert "child says hi" in human.out  # without --json the command's output is its own
