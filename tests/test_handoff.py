"""Tests of the hand-off between phases (issue 5): context checkpoints, templates, verify, context
and resume, driven through the `conductor` command line on real stores in tmp.

Most tests call conductor_tui.cli.main in-process (capsys; NANOSTACK_STORE, NANOSTACK_AGENT and
the working directory set with monkeypatch). `run` is driven in a subprocess, as an agent calls it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core import handoff
from tests.conftest import IDENTITY_VARS, CliResult, Env, cli_sandbox

GOOD = {
    "summary": "Compared cookie and token sessions; token sessions won.",
    "key_files": ["shop/session.py", "docs/auth.md"],
    "decisions_made": ["refresh the session before payment", {"what": "ttl", "value": 900}],
    "open_questions": ["does the mobile app cache the token?"],
}

# -------------------------------------------------------------------------- harness


Out = CliResult


@dataclass
class Hand(Env):
    """A project, its store and helpers to look at them from outside the command line."""

    def pdir(self, phase: str) -> str:
        return self.phase(phase)

    def done(self, phase: str) -> dict[str, Any] | None:
        path = os.path.join(self.pdir(phase), "done")
        if not os.path.lexists(path):
            return None
        return json.loads(Path(path).read_text())

    def status(self, phase: str) -> str:
        pv = self.sprint().view().phase(phase)
        assert pv is not None
        return pv.status

    def token(self, phase: str) -> str | None:
        pv = self.sprint().view().phase(phase)
        assert pv is not None
        return pv.lock.token if pv.lock is not None else None

    def artifact(self, name: str, body: Any) -> Path:
        path = Path(self.project, name)
        path.write_text(json.dumps(body))
        return path


def tree(root: str | Path) -> dict[str, tuple[int, bytes]]:
    """Every entry under root: its type and, for regular files, its bytes."""
    out: dict[str, tuple[int, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            data = Path(path).read_bytes() if stat.S_ISREG(st.st_mode) else b""
            if stat.S_ISLNK(st.st_mode):
                data = os.readlink(path).encode()
            out[os.path.relpath(path, root)] = (stat.S_IFMT(st.st_mode), data)
    return out


def sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Hand:
    store, project = cli_sandbox(tmp_path, monkeypatch)
    return Hand(tmp=tmp_path, store=store, project=project)


@pytest.fixture
def sh(cli: Callable[..., Out]) -> Callable[..., Out]:
    """Run `conductor ARGS...` in-process (the shared `cli` fixture)."""
    return cli


@pytest.fixture
def sprint_on(hand: Hand, sh) -> Hand:
    """A started default sprint: think -> plan -> build -> review/security/qa -> ship."""
    result = sh("start")
    assert result.rc == 0, result
    return hand


def claim(sh, phase: str, agent: str = "agent-a") -> str:
    result = sh("--json", "claim", phase, "--agent", agent)
    assert result.rc == 0, result
    return result.json["token"]


def finish(sh, hand: Hand, phase: str, agent: str = "agent-a", checkpoint: Any = None) -> Path:
    """Claim and complete phase as agent with an artifact carrying checkpoint (GOOD if None)."""
    token = claim(sh, phase, agent)
    cp = dict(GOOD, summary=f"{phase} summary by {agent}") if checkpoint is None else checkpoint
    art = hand.artifact(f"{phase}.json", {"phase": phase, "context_checkpoint": cp})
    result = sh("complete", phase, "--agent", agent, "--token", token, "--artifact", str(art))
    assert result.rc == 0, result
    return art


def assert_error(result: Out, *needles: str) -> str:
    """A refusal for bad input: exit 2, one `ERROR: ...` line on stderr, nothing on stdout."""
    assert result.rc == 2, result
    assert "Traceback" not in result.err + result.out
    assert result.out == "", result
    line = result.err_line
    assert line.split(":", 1)[0] == "ERROR", line
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def section(text: str, heading: str) -> str:
    """The lines of the context page from `heading` up to the next `## `."""
    start = text.index(heading)
    rest = text[start + len(heading) :]
    end = rest.find("\n## ")
    return heading + (rest if end < 0 else rest[:end])


# -------------------------------------------------------------------------- complete: refusals


def _with(**fields: Any) -> dict[str, Any]:
    cp = copy.deepcopy(GOOD)
    for key, value in fields.items():
        if value is KeyError:
            del cp[key]
        else:
            cp[key] = value
    return {"phase": "think", "context_checkpoint": cp}


# (id, artifact body, words the one-line refusal must contain)
REFUSALS: list[tuple[str, Any, tuple[str, ...]]] = [
    ("no-checkpoint", {"phase": "think", "ideas": ["a"]}, ("no context_checkpoint",)),
    ("checkpoint-null", {"context_checkpoint": None}, ("no context_checkpoint",)),
    ("checkpoint-string", {"context_checkpoint": "did stuff"}, ("context_checkpoint",)),
    ("checkpoint-list", {"context_checkpoint": [GOOD]}, ("context_checkpoint",)),
    ("checkpoint-number", {"context_checkpoint": 7}, ("context_checkpoint",)),
    ("summary-missing", _with(summary=KeyError), ("context_checkpoint.summary", "required")),
    ("summary-empty", _with(summary=""), ("context_checkpoint.summary",)),
    ("summary-blank", _with(summary=" \n\t "), ("context_checkpoint.summary", "empty")),
    ("summary-number", _with(summary=42), ("context_checkpoint.summary", "string")),
    ("key-files-string", _with(key_files="shop/session.py"), ("context_checkpoint.key_files",)),
    ("key-files-null", _with(key_files=None), ("context_checkpoint.key_files",)),
    ("key-files-object", _with(key_files={"a": 1}), ("context_checkpoint.key_files",)),
    (
        "key-files-non-string",
        _with(key_files=["shop/session.py", 3]),
        ("context_checkpoint.key_files.1", "string"),
    ),
    (
        "key-files-nested-list",
        _with(key_files=[["shop/session.py"]]),
        ("context_checkpoint.key_files.0", "string"),
    ),
    (
        "decisions-string",
        _with(decisions_made="use tokens"),
        ("context_checkpoint.decisions_made",),
    ),
    ("decisions-object", _with(decisions_made={"a": 1}), ("context_checkpoint.decisions_made",)),
    ("questions-string", _with(open_questions="none"), ("context_checkpoint.open_questions",)),
    ("questions-object", _with(open_questions={"q": 1}), ("context_checkpoint.open_questions",)),
    ("artifact-list", [{"context_checkpoint": GOOD}], ("not a JSON object",)),
    ("artifact-string", "context_checkpoint", ("not a JSON object",)),
]

FIELDS = ("summary", "key_files", "decisions_made", "open_questions")


@pytest.mark.parametrize(
    ("body", "needles"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_complete_refuses_a_bad_checkpoint_and_keeps_the_claim(
    sprint_on: Hand, sh, body: Any, needles: tuple[str, ...]
) -> None:
    hand = sprint_on
    token = claim(sh, "think")
    art = hand.artifact("think.json", body)
    before = tree(hand.sprint().path)
    audit_before = Path(hand.store, "audit.log").read_bytes()

    line = assert_error(sh("complete", "think", "--token", token, "--artifact", str(art)), *needles)
    # the message names the faulty field and only that one
    named = {f for f in FIELDS if f"context_checkpoint.{f}" in line}
    expected = {f for f in FIELDS if any(f"context_checkpoint.{f}" in n for n in needles)}
    assert named == expected, line

    as_json = sh("--json", "complete", "think", "--token", token, "--artifact", str(art))
    assert as_json.rc == 2 and as_json.err == ""
    data = as_json.json
    assert data["ok"] is False and data["word"] == "ERROR"
    assert all(n in data["message"] for n in needles), data

    # nothing happened: no done, the lock and the whole sprint byte for byte as before
    assert tree(hand.sprint().path) == before
    assert Path(hand.store, "audit.log").read_bytes() == audit_before
    assert hand.done("think") is None
    assert hand.status("think") == "held"
    assert hand.token("think") == token
    assert not [n for n in os.listdir(hand.pdir("think")) if n.startswith(".done")]

    # the agent fixes the artifact and retries with the same token
    art.write_text(json.dumps({"phase": "think", "context_checkpoint": GOOD}))
    again = sh("complete", "think", "--token", token, "--artifact", str(art))
    assert again.rc == 0, again
    done = hand.done("think")
    assert done is not None and done["token"] == token and done["sha256"] == sha(art)


@pytest.mark.parametrize(
    "body",
    [{"context_checkpoint": "did stuff"}, {"context_checkpoint": [GOOD]}],
    ids=["string", "list"],
)
def test_a_checkpoint_of_the_wrong_type_is_explained_in_json_terms(
    sprint_on: Hand, sh, body: Any
) -> None:
    """The author writes JSON: 'must be an object', not pydantic's 'instance of checkpoint'."""
    token = claim(sh, "think")
    art = sprint_on.artifact("think.json", body)
    line = assert_error(sh("complete", "think", "--token", token, "--artifact", str(art)))
    assert "context_checkpoint" in line
    assert "instance of" not in line and "object" in line, line


def test_the_refusal_tells_how_to_fix_it(sprint_on: Hand, sh) -> None:
    token = claim(sh, "think")
    art = sprint_on.artifact("think.json", {"ideas": []})
    line = assert_error(sh("complete", "think", "--token", token, "--artifact", str(art)))
    assert "conductor artifact new" in line and "--allow-no-checkpoint" in line


def test_a_refused_artifact_is_refused_with_force_too(sprint_on: Hand, sh) -> None:
    claim(sh, "think", "agent-b")
    art = sprint_on.artifact("think.json", {"ideas": []})
    assert_error(
        sh("complete", "think", "--agent", "lead", "--force", "--artifact", str(art)),
        "no context_checkpoint",
    )
    assert sprint_on.done("think") is None and sprint_on.status("think") == "held"


# -------------------------------------------------------------------------- complete: accepted


def test_complete_records_the_sha256_of_the_artifact(sprint_on: Hand, sh) -> None:
    token = claim(sh, "think")
    art = sprint_on.artifact("think.json", {"context_checkpoint": GOOD})
    result = sh("--json", "complete", "think", "--token", token, "--artifact", str(art))
    assert result.rc == 0, result
    digest = sha(art)
    assert result.json["done"]["sha256"] == digest
    done = sprint_on.done("think")
    assert done is not None
    assert done["sha256"] == digest and done["artifact"] == str(art) and done["token"] == token
    assert sprint_on.status("think") == "done"


@pytest.mark.parametrize(
    "body",
    [
        {"phase": "think", "ideas": ["cookies", "tokens"]},
        [{"idea": "cookies"}],
        {"context_checkpoint": {"summary": ""}},
    ],
    ids=["upstream-object", "upstream-list", "malformed-checkpoint"],
)
def test_allow_no_checkpoint_accepts_upstream_artifacts(sprint_on: Hand, sh, body: Any) -> None:
    token = claim(sh, "think")
    art = sprint_on.artifact("think.json", body)
    assert sh("complete", "think", "--token", token, "--artifact", str(art)).rc == 2
    result = sh(
        "complete", "think", "--token", token, "--artifact", str(art), "--allow-no-checkpoint"
    )
    assert result.rc == 0, result
    assert result.out.startswith("OK: completed 'think' with ")
    done = sprint_on.done("think")
    assert done is not None and done["sha256"] == sha(art)
    assert sh("verify").rc == 0


def test_allow_no_checkpoint_does_not_waive_json_validity(sprint_on: Hand, sh) -> None:
    token = claim(sh, "think")
    bad = Path(sprint_on.project, "think.json")
    bad.write_text("{nope")
    assert_error(
        sh("complete", "think", "--token", token, "--artifact", str(bad), "--allow-no-checkpoint"),
        "not valid JSON",
    )
    assert sprint_on.done("think") is None and sprint_on.token("think") == token


def test_extra_keys_are_allowed_and_kept(sprint_on: Hand, sh) -> None:
    cp = dict(GOOD, risk="high", next_steps=["wire the refresh"], confidence=0.8)
    token = claim(sh, "think")
    art = sprint_on.artifact("think.json", {"context_checkpoint": cp, "upstream": {"x": 1}})
    raw = art.read_bytes()
    result = sh("complete", "think", "--token", token, "--artifact", str(art))
    assert result.rc == 0, result
    assert art.read_bytes() == raw  # never rewritten
    page = sh("--json", "context").json
    kept = page["completed"][0]["checkpoint"]
    assert kept == cp


def test_minimal_checkpoint_defaults_the_lists(sprint_on: Hand, sh) -> None:
    token = claim(sh, "think")
    art = sprint_on.artifact("think.json", {"context_checkpoint": {"summary": "only this"}})
    assert sh("complete", "think", "--token", token, "--artifact", str(art)).rc == 0
    cp = sh("--json", "context").json["completed"][0]["checkpoint"]
    assert cp == {
        "summary": "only this",
        "key_files": [],
        "decisions_made": [],
        "open_questions": [],
    }


# -------------------------------------------------------------------------- artifact new

STAMP = re.compile(r"^\d{8}T\d{6}Z\.json$")


def test_artifact_new_writes_a_template_at_the_default_place(sprint_on: Hand, sh) -> None:
    result = sh("artifact", "new", "think")
    assert result.rc == 0, result
    first, second = result.out.splitlines()[:2]
    assert first.startswith("OK: wrote ")
    path = first[len("OK: wrote ") :]
    assert os.path.dirname(path) == os.path.join(sprint_on.store, "think")
    assert STAMP.match(os.path.basename(path)), path
    assert second.strip().endswith(f"conductor complete think --artifact {path}")
    body = json.loads(Path(path).read_text())
    assert body["phase"] == "think"
    assert body["sprint_id"] == sprint_on.sprint().sprint_id
    assert body["agent"] == "agent-a"
    assert body["context_checkpoint"] == {
        "summary": "",
        "key_files": [],
        "decisions_made": [],
        "open_questions": [],
    }


def test_artifact_new_json_and_out(sprint_on: Hand, sh) -> None:
    result = sh("--json", "artifact", "new", "plan", "--out", "notes/plan.json", "--agent", "bee")
    assert result.rc == 2  # the folder does not exist: refused, not created
    assert not os.path.exists(os.path.join(sprint_on.project, "notes"))
    result = sh("--json", "artifact", "new", "plan", "--out", "plan.json", "--agent", "bee")
    assert result.rc == 0, result
    data = result.json
    assert data["ok"] is True
    assert data["path"] == os.path.join(sprint_on.project, "plan.json")  # absolute
    body = json.loads(Path(data["path"]).read_text())
    assert body["phase"] == "plan" and body["agent"] == "bee"
    assert not os.path.exists(os.path.join(sprint_on.store, "plan"))


def test_artifact_new_never_overwrites(sprint_on: Hand, sh) -> None:
    existing = Path(sprint_on.project, "mine.json")
    existing.write_text('{"precious": true}')
    assert_error(sh("artifact", "new", "think", "--out", str(existing)), "mine.json")
    assert existing.read_text() == '{"precious": true}'
    as_json = sh("--json", "artifact", "new", "think", "--out", str(existing))
    assert as_json.rc == 2 and as_json.json["ok"] is False
    assert existing.read_text() == '{"precious": true}'


def test_artifact_new_does_not_write_through_a_symlink(sprint_on: Hand, sh) -> None:
    target = sprint_on.tmp / "elsewhere.json"
    link = Path(sprint_on.project, "link.json")
    link.symlink_to(target)  # dangling
    assert_error(sh("artifact", "new", "think", "--out", str(link)))
    assert not target.exists() and link.is_symlink()


@pytest.mark.parametrize(
    ("phase", "needle"),
    [
        ("deploy", "unknown phase"),
        ("../evil", "invalid phase name"),
        ("a/b", "invalid phase name"),
        ("Think", "invalid phase name"),
        ("..", "invalid phase name"),
        ("", "invalid phase name"),
        ("x" * 300, "invalid phase name"),
    ],
)
def test_artifact_new_refuses_a_bad_phase_before_writing(
    sprint_on: Hand, sh, phase: str, needle: str
) -> None:
    before_store = tree(sprint_on.store)
    before_tmp = sorted(os.listdir(sprint_on.tmp))
    assert_error(sh("artifact", "new", phase), needle)
    out = os.path.join(sprint_on.project, "out.json")
    assert_error(sh("artifact", "new", phase, "--out", out), needle)
    assert not os.path.lexists(out)
    assert tree(sprint_on.store) == before_store
    assert sorted(os.listdir(sprint_on.tmp)) == before_tmp


def test_artifact_new_twice_in_one_second_gives_two_templates(
    sprint_on: Hand, sh, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two default templates within the same second must not collide (nor fail)."""
    monkeypatch.setattr(handoff, "iso", lambda _ts: "2026-11-21T10:58:19Z")
    first = sh("--json", "artifact", "new", "think")
    assert first.rc == 0, first
    second = sh("--json", "artifact", "new", "think")
    assert second.rc == 0, second
    assert first.json["path"] != second.json["path"]
    assert json.loads(Path(first.json["path"]).read_text())["phase"] == "think"


def test_the_unfilled_template_is_refused_then_accepted_once_filled(sprint_on: Hand, sh) -> None:
    token = claim(sh, "think")
    path = sh("--json", "artifact", "new", "think").json["path"]
    assert_error(
        sh("complete", "think", "--token", token, "--artifact", path), "context_checkpoint.summary"
    )
    assert sprint_on.done("think") is None and sprint_on.token("think") == token
    body = json.loads(Path(path).read_text())
    body["context_checkpoint"].update(
        summary="Chose token sessions.", key_files=["shop/session.py"]
    )
    Path(path).write_text(json.dumps(body))
    result = sh("complete", "think", "--token", token, "--artifact", path)
    assert result.rc == 0, result
    done = sprint_on.done("think")
    assert done is not None and done["artifact"] == path and done["sha256"] == sha(path)
    cp = sh("--json", "context").json["completed"][0]["checkpoint"]
    assert cp["summary"] == "Chose token sessions." and cp["key_files"] == ["shop/session.py"]


# -------------------------------------------------------------------------- verify


def test_verify_with_nothing_to_check(sprint_on: Hand, sh) -> None:
    claim(sh, "think")
    assert sh("complete", "think").rc == 0  # no artifact
    result = sh("verify")
    assert result.rc == 0 and result.out.startswith("OK: no completed phase has an artifact")
    assert sh("--json", "verify").json == {
        "ok": True,
        "word": "OK",
        "message": "no completed phase has an artifact yet",
        "artifacts": [],
    }


def test_verify_all_unchanged(sprint_on: Hand, sh) -> None:
    think = finish(sh, sprint_on, "think")
    plan = finish(sh, sprint_on, "plan")
    os.utime(think, (1, 1))  # a touch is not a change: the bytes are compared
    result = sh("verify")
    assert result.rc == 0, result
    lines = result.out.splitlines()
    assert lines[-1] == "OK: 2 artifact(s) match their recorded SHA-256"
    assert any(ln.startswith("✓ think") and "unchanged" in ln and str(think) in ln for ln in lines)
    assert any(ln.startswith("✓ plan") and str(plan) in ln for ln in lines)
    data = sh("--json", "verify").json
    assert data["ok"] is True
    by_phase = {a["phase"]: a for a in data["artifacts"]}
    assert set(by_phase) == {"think", "plan"}
    for phase, art in (("think", think), ("plan", plan)):
        entry = by_phase[phase]
        assert entry["changed"] is False and entry["problem"] is None
        assert entry["recorded_sha256"] == entry["actual_sha256"] == sha(art)


def test_verify_reports_an_edit_after_completion(sprint_on: Hand, sh) -> None:
    think = finish(sh, sprint_on, "think")
    finish(sh, sprint_on, "plan")
    recorded = sha(think)
    original = think.read_bytes()
    think.write_text(json.dumps({"context_checkpoint": dict(GOOD, summary="rewritten later")}))
    now = sha(think)
    result = sh("verify")
    assert result.rc == 1, result
    assert result.err_line.startswith("REFUSED: 1 artifact(s)")
    out = result.out
    think_line = next(ln for ln in out.splitlines() if " think " in ln or ln.endswith(" think"))
    assert think_line.startswith("≠ think") and "changed" in think_line and str(think) in think_line
    assert recorded in out and now in out
    assert any(ln.startswith("✓ plan") for ln in out.splitlines())

    data = sh("--json", "verify").json
    assert data["ok"] is False
    entry = next(a for a in data["artifacts"] if a["phase"] == "think")
    assert entry["changed"] is True
    assert entry["recorded_sha256"] == recorded and entry["actual_sha256"] == now
    assert "changed" in entry["problem"]
    assert next(a for a in data["artifacts"] if a["phase"] == "plan")["changed"] is False
    assert sh("--json", "verify").rc == 1

    think.write_bytes(original)  # put back byte for byte: verified again
    assert sh("verify").rc == 0


def test_verify_reports_a_deleted_artifact(sprint_on: Hand, sh) -> None:
    think = finish(sh, sprint_on, "think")
    recorded = sha(think)
    think.unlink()
    result = sh("verify")
    assert result.rc == 1, result
    line = next(ln for ln in result.out.splitlines() if ln.startswith("≠ think"))
    assert "gone" in line and str(think) in line
    assert result.err_line.startswith("REFUSED:")
    entry = sh("--json", "verify").json["artifacts"][0]
    assert entry["phase"] == "think" and entry["changed"] is False
    assert entry["recorded_sha256"] == recorded and entry["actual_sha256"] is None
    assert "gone" in entry["problem"]


def test_verify_reports_a_symlink_and_does_not_follow_it(sprint_on: Hand, sh) -> None:
    think = finish(sh, sprint_on, "think")
    recorded = sha(think)
    copy_ = sprint_on.tmp / "same-bytes.json"
    copy_.write_bytes(think.read_bytes())  # identical content: following it would say OK
    think.unlink()
    think.symlink_to(copy_)
    result = sh("verify")
    assert result.rc == 1, result
    line = next(ln for ln in result.out.splitlines() if ln.startswith("≠ think"))
    assert "symlink" in line
    data = sh("--json", "verify").json
    entry = data["artifacts"][0]
    assert data["ok"] is False and "symlink" in entry["problem"]
    assert entry["actual_sha256"] is None and entry["recorded_sha256"] == recorded
    page = sh("--json", "context").json["completed"][0]
    assert page["checkpoint"] is None and "symlink" in page["problem"]


# -------------------------------------------------------------------------- context


def test_context_before_anything_is_done(sprint_on: Hand, sh) -> None:
    result = sh("context")
    assert result.rc == 0, result
    assert "Nothing is completed yet." in result.out
    assert "claimable now: think" in result.out
    assert "plan waits for think" in result.out
    data = sh("--json", "context").json
    assert data["completed"] == [] and data["in_progress"] == [] and data["ready"] == ["think"]


def test_context_in_graph_order_with_who_when_and_what(sprint_on: Hand, sh) -> None:
    hand = sprint_on
    finish(sh, hand, "think", "agent-a")
    finish(sh, hand, "plan", "agent-b")
    finish(sh, hand, "build", "agent-a")
    # completed out of graph order: qa before security; review left for later
    finish(sh, hand, "qa", "agent-c")
    finish(sh, hand, "security", "agent-b")
    done = {p: hand.done(p) for p in ("think", "plan", "build", "security", "qa")}

    text = sh("context")
    assert text.rc == 0, text
    page = text.out
    order = [page.index(f"## {p} ") for p in ("think", "plan", "build", "security", "qa")]
    assert order == sorted(order), page
    for phase, agent in (("think", "agent-a"), ("plan", "agent-b"), ("qa", "agent-c")):
        record = done[phase]
        assert record is not None
        part = section(page, f"## {phase} ")
        assert f"done by {agent} at {record['completed_at']}" in part
        assert f"{phase} summary by {agent}" in part
        assert "- shop/session.py" in part and "- docs/auth.md" in part
        assert "- refresh the session before payment" in part
        assert "- does the mobile app cache the token?" in part
    assert "## In progress" not in page
    nxt = section(page, "## Next")
    assert "claimable now: review" in nxt
    assert "ship waits for review" in nxt and "security" not in nxt.split("ship waits for")[1]

    data = sh("--json", "context").json
    assert data["ok"] is True and data["sprint_id"] == hand.sprint().sprint_id
    assert [c["phase"] for c in data["completed"]] == ["think", "plan", "build", "security", "qa"]
    for c in data["completed"]:
        record = done[c["phase"]]
        assert record is not None
        assert c["agent"] == record["agent"] and c["completed_at"] == record["completed_at"]
        assert c["artifact"] == record["artifact"] and c["problem"] is None
        assert c["checkpoint"] == dict(GOOD, summary=f"{c['phase']} summary by {c['agent']}")
    assert data["in_progress"] == [] and data["ready"] == ["review"]
    assert data["blocked"] == [{"phase": "ship", "needs": ["review"]}]

    # someone takes review: it moves to in progress, nothing is claimable, ship still waits
    claim(sh, "review", "agent-d")
    page = sh("context").out
    prog = section(page, "## In progress")
    assert "review: held by agent-d since" in prog
    assert page.index("## qa ") < page.index("## In progress") < page.index("## Next")
    assert "claimable now: nothing" in section(page, "## Next")
    data = sh("--json", "context").json
    [busy] = data["in_progress"]
    assert busy["phase"] == "review" and busy["agent"] == "agent-d" and busy["status"] == "held"
    assert busy["claimed_at"]
    assert data["ready"] == []


def test_context_follows_the_graph_not_the_list(hand: Hand, sh) -> None:
    spec = json.dumps([{"name": "beta", "depends_on": ["alpha"]}, {"name": "alpha"}])
    assert sh("start", "--phases", spec).rc == 0
    finish(sh, hand, "alpha", "agent-a")
    finish(sh, hand, "beta", "agent-b")
    assert [c["phase"] for c in sh("--json", "context").json["completed"]] == ["alpha", "beta"]
    page = sh("context").out
    assert page.index("## alpha ") < page.index("## beta ")


def test_context_shows_a_changed_or_missing_artifact(sprint_on: Hand, sh) -> None:
    think = finish(sh, sprint_on, "think")
    plan = finish(sh, sprint_on, "plan")
    think.write_text(json.dumps({"context_checkpoint": dict(GOOD, summary="forged")}))
    plan.unlink()
    page = sh("context").out
    part = section(page, "## think ")
    assert "! the artifact changed after completion" in part
    assert "gone" in section(page, "## plan ")
    data = sh("--json", "context").json
    by = {c["phase"]: c for c in data["completed"]}
    assert "changed" in by["think"]["problem"]
    assert "gone" in by["plan"]["problem"] and by["plan"]["checkpoint"] is None


def test_context_of_a_phase_without_checkpoint(sprint_on: Hand, sh) -> None:
    token = claim(sh, "think")
    art = sprint_on.artifact("think.json", {"ideas": ["a"]})
    sh("complete", "think", "--token", token, "--artifact", str(art), "--allow-no-checkpoint")
    claim(sh, "plan")
    sh("complete", "plan")
    page = sh("context").out
    assert "(no checkpoint: the artifact has no context_checkpoint)" in section(page, "## think ")
    assert "(no checkpoint: no artifact)" in section(page, "## plan ")
    data = sh("--json", "context").json
    assert [c["checkpoint"] for c in data["completed"]] == [None, None]
    assert "no context_checkpoint" in data["completed"][0]["problem"]


# -------------------------------------------------------------------------- resume


def test_resume_holding_gives_the_token_and_working_commands(sprint_on: Hand, sh) -> None:
    token = claim(sh, "think")
    result = sh("resume")
    assert result.rc == 0, result
    lines = result.out.splitlines()
    assert lines[0] == f"HOLDING: think (held) token {token} epoch 1"
    heartbeat = next(ln for ln in lines if "heartbeat:" in ln).split("heartbeat:", 1)[1].strip()
    finish_ = next(ln for ln in lines if "finish:" in ln).split("finish:", 1)[1].strip()
    assert heartbeat == f"conductor heartbeat think --token {token}"
    assert finish_ == f"conductor complete think --token {token} --artifact F"
    assert any("conductor context" in ln for ln in lines)

    data = sh("--json", "resume").json
    assert data["ok"] is True and data["agent"] == "agent-a"
    [held] = data["holding"]
    assert held["phase"] == "think" and held["token"] == token and held["epoch"] == 1
    assert held["status"] == "held" and held["lease_expires_in"] > 0
    assert data["done_by_you"] == []

    # the printed commands work as printed
    hb = shlex.split(heartbeat)
    assert hb[0] == "conductor" and sh(*hb[1:]).rc == 0
    art = sprint_on.artifact("think.json", {"context_checkpoint": GOOD})
    done = shlex.split(finish_.replace(" F", f" {shlex.quote(str(art))}"))
    assert sh(*done[1:]).rc == 0
    assert sprint_on.status("think") == "done"


def test_resume_ready_wait_and_json(sprint_on: Hand, sh) -> None:
    result = sh("resume", "--agent", "agent-b")
    assert result.out.splitlines()[0] == "READY: you hold nothing; claimable now: think"
    assert "conductor claim think" in result.out
    claim(sh, "think", "agent-a")
    wait = sh("resume", "--agent", "agent-b")
    assert wait.rc == 0 and wait.out.startswith("WAIT: ")
    data = sh("--json", "resume", "--agent", "agent-b").json
    assert data == {
        "ok": True,
        "word": "WAIT",
        "message": "you hold nothing and nothing is claimable now",
        "agent": "agent-b",
        "holding": [],
        "ready": [],
        "done_by_you": [],
    }
    # another agent's claim never shows as mine
    assert "HOLDING" not in wait.out


def test_resume_after_completing_lists_what_is_next(sprint_on: Hand, sh) -> None:
    for phase in ("think", "plan", "build"):
        finish(sh, sprint_on, phase)
    result = sh("resume")
    assert (
        result.out.splitlines()[0] == "READY: you hold nothing; claimable now: review security qa"
    )
    assert "conductor claim review" in result.out
    data = sh("--json", "resume").json
    assert data["holding"] == [] and data["ready"] == ["review", "security", "qa"]
    assert data["done_by_you"] == ["think", "plan", "build"]


def test_resume_with_two_claims_shows_both(sprint_on: Hand, sh) -> None:
    for phase in ("think", "plan", "build"):
        finish(sh, sprint_on, phase)
    t_review = claim(sh, "review")
    t_qa = claim(sh, "qa")
    out = sh("resume").out
    assert f"HOLDING: review (held) token {t_review}" in out
    assert f"HOLDING: qa (held) token {t_qa}" in out
    assert f"conductor complete qa --token {t_qa} --artifact F" in out
    tokens = {h["phase"]: h["token"] for h in sh("--json", "resume").json["holding"]}
    assert tokens == {"review": t_review, "qa": t_qa}


# -------------------------------------------------------------------------- run (subprocess)


def conductor(hand: Hand, *args: str) -> Out:
    env = {k: v for k, v in os.environ.items() if k not in IDENTITY_VARS}
    env.update(NANOSTACK_STORE=hand.store, NANOSTACK_AGENT="agent-a", PWD=hand.project)
    proc = subprocess.run(
        [sys.executable, "-m", "conductor_tui.cli", *args],
        cwd=hand.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Out(proc.returncode, proc.stdout, proc.stderr)


def test_run_refuses_a_checkpointless_artifact_and_releases_the_claim(sprint_on: Hand, sh) -> None:
    art = sprint_on.artifact("think.json", {"phase": "think", "ideas": ["a"]})
    result = conductor(sprint_on, "run", "think", "--artifact", str(art), "--", "true")
    assert result.rc == 2, result
    assert "Traceback" not in result.err
    line = result.err_line
    assert line.startswith("ERROR: ") and "no context_checkpoint" in line
    assert "--allow-no-checkpoint" in line and "releasing the claim" in line
    assert sprint_on.done("think") is None
    assert sprint_on.status("think") == "ready"
    assert not os.path.lexists(os.path.join(sprint_on.pdir("think"), "lock"))
    events = [
        e["event"] for e in sh("--json", "log").json["events"] if e.get("resource") == "think"
    ]
    assert events[-2:] == ["sprint_claim", "sprint_abort"]
    # the phase can be taken again straight away
    assert claim(sh, "think")


def test_run_json_refusal_is_one_json_object(sprint_on: Hand) -> None:
    art = sprint_on.artifact("think.json", {"ideas": ["a"]})
    result = conductor(sprint_on, "--json", "run", "think", "--artifact", str(art), "--", "true")
    assert result.rc == 2, result
    data = result.json
    assert data["ok"] is False and data["word"] == "ERROR"
    assert "context_checkpoint" in data["message"]
    assert sprint_on.status("think") == "ready"


def test_run_allow_no_checkpoint_completes(sprint_on: Hand) -> None:
    art = sprint_on.artifact("think.json", {"phase": "think", "ideas": ["a"]})
    result = conductor(
        sprint_on, "run", "think", "--artifact", str(art), "--allow-no-checkpoint", "--", "true"
    )
    assert result.rc == 0, result
    done = sprint_on.done("think")
    assert done is not None and done["artifact"] == str(art) and done["sha256"] == sha(art)


def test_run_checks_the_artifact_its_command_wrote(sprint_on: Hand) -> None:
    # in the store, where `artifact new` puts it: think is a read phase, whose command runs
    # under the kernel sandbox and cannot write the project (tests/test_sandbox.py)
    path = os.path.join(sprint_on.store, "made.json")
    body = json.dumps({"context_checkpoint": GOOD})
    script = f"printf '%s' {shlex.quote(body)} > {shlex.quote(path)}"
    result = conductor(sprint_on, "run", "think", "--artifact", path, "--", "sh", "-c", script)
    assert result.rc == 0, result
    done = sprint_on.done("think")
    assert done is not None and done["sha256"] == sha(path)


def test_run_failing_command_does_not_judge_the_artifact(sprint_on: Hand) -> None:
    art = sprint_on.artifact("think.json", {"ideas": ["a"]})
    result = conductor(
        sprint_on, "run", "think", "--artifact", str(art), "--", "sh", "-c", "exit 4"
    )
    assert result.rc == 4, result
    assert "context_checkpoint" not in result.err
    assert sprint_on.status("think") == "ready" and sprint_on.done("think") is None
