"""One contract, two backends: the file store in tmp_path and PgStore on a fresh schema must
answer every lifecycle call alike (same models, same errors, same words), with real clocks."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core.errors import (
    AlreadyDone,
    BadInput,
    Blocked,
    ConductorError,
    Fenced,
    Held,
    NotOwner,
    NotStale,
    Refused,
)
from conductor_tui.core.liveness import proc_info
from conductor_tui.core.store import Store

from .pg_server import drop_schema, need_server, with_schema

ME = os.getpid()


class Backend:
    """Makes stores of one kind over the same records (another host, another probe)."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.project = str(tmp_path / "project")
        os.makedirs(self.project)
        self.opened: list[Any] = []
        self.schema = f"t_{os.urandom(8).hex()}"

    def store(self, **kwargs: Any) -> Any:
        if self.kind == "file":
            return Store(str(self.tmp_path / "store"), **kwargs)
        from conductor_tui.pg.store import PgStore

        pg = PgStore(with_schema(self.schema), **kwargs)
        self.opened.append(pg)
        return pg

    def open(self, sprint: Any, **kwargs: Any) -> Any:
        """The same sprint seen through another store object (another host, say)."""
        return self.store(**kwargs).open_sprint(sprint.sprint_id)

    def close(self) -> None:
        for pg in self.opened:
            pg.close()
        if self.kind == "pg":
            drop_schema(self.schema)

    def events(self, store: Any, sprint_id: str) -> list[str]:
        if self.kind == "file":
            from conductor_tui.core import audit

            return [
                e.event
                for e in audit.read(store.audit_path)
                if not isinstance(e, str) and e.sprint == sprint_id
            ]
        return [e.event for e in store.events(sprint=sprint_id) if e.sprint == sprint_id]


@pytest.fixture(params=["file", "pg"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "pg":
        need_server()
    b = Backend(request.param, tmp_path)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def sprint(backend: Backend) -> Any:
    return backend.store().start(backend.project, agent="tester")


def live() -> tuple[int, int | None]:
    info = proc_info(ME)
    return ME, info.start if info else None


def refusal(call: Callable[[], object]) -> ConductorError:
    with pytest.raises(ConductorError) as caught:
        call()
    return caught.value


def statuses(sprint: Any) -> dict[str, str]:
    return {pv.name: pv.status for pv in sprint.view().phases}


def complete_through(sprint: Any, *phases: str) -> None:
    for phase in phases:
        owner = sprint.claim(phase, agent="tester", holder_pid=ME)
        sprint.complete(phase, agent="tester", token=owner.token)


# ---------------------------------------------------------------------- start and reading


def test_start_default_graph_and_find_active(backend: Backend, sprint: Any) -> None:
    assert [p.name for p in sprint.record.phases] == [
        "think", "plan", "build", "review", "security", "qa", "ship",
    ]  # fmt: skip
    assert statuses(sprint)["think"] == "ready"
    assert set(statuses(sprint).values()) == {"ready", "blocked"}
    found = backend.store().find_active(os.path.join(backend.project))
    assert found is not None and found.sprint_id == sprint.sprint_id
    sub = os.path.join(backend.project, "src")
    os.makedirs(sub)
    assert backend.store().find_active(sub).sprint_id == sprint.sprint_id
    assert backend.store().find_active(str(backend.tmp_path)) is None
    assert sprint.next_ready() == ["think"]


def test_start_inline_graph_keeps_extra_keys_and_refuses_invalid(backend: Backend) -> None:
    store = backend.store()
    graph = [
        {"name": "a", "depends_on": [], "concurrency": "read", "note": "kept"},
        {"name": "b", "depends_on": ["a"]},
    ]
    sp = store.start(backend.project, agent="tester", phases=graph)
    again = backend.store().open_sprint(sp.sprint_id)
    assert again.record.phases[0].model_dump()["note"] == "kept"
    assert again.record.phases[0].concurrency == "read"
    for bad in ([], [{"name": "a", "depends_on": ["a"]}], [{"name": "A"}]):
        with pytest.raises(BadInput):
            store.start(backend.project, agent="tester", phases=bad, force=True)
    assert backend.store().find_active(backend.project).sprint_id == sp.sprint_id


def test_start_refused_while_a_lock_is_live_then_forced(backend: Backend, sprint: Any) -> None:
    sprint.claim("think", agent="a", holder_pid=ME)
    err = refusal(lambda: backend.store().start(backend.project, agent="tester"))
    assert isinstance(err, Refused) and "live locks: think (a)" in err.message
    new = backend.store().start(backend.project, agent="tester", force=True)
    assert new.sprint_id != sprint.sprint_id
    old = backend.store().open_sprint(sprint.sprint_id)
    assert old.record.status == "archived"
    err = refusal(lambda: old.claim("plan", agent="a"))
    assert isinstance(err, Refused)
    assert backend.store().find_active(backend.project).sprint_id == new.sprint_id


# ---------------------------------------------------------------------- claims


def test_claim_token_epoch_and_refusals(backend: Backend, sprint: Any) -> None:
    pid, start = live()
    owner = sprint.claim("think", agent="a", holder_pid=pid, holder_start=start, ttl=120)
    assert owner.token.startswith("1-") and owner.epoch == 1 and owner.ttl_s == 120
    assert owner.agent == "a" and owner.phase == "think" and owner.holder_pid == pid
    err = refusal(lambda: sprint.claim("think", agent="b"))
    assert isinstance(err, Held) and err.word == "CLAIMED"
    assert err.message == "'think' is locked by 'a' (held)"
    err = refusal(lambda: sprint.claim("think", agent="a"))
    assert isinstance(err, Held) and owner.token in err.message
    err = refusal(lambda: sprint.claim("plan", agent="b"))
    assert isinstance(err, Blocked) and err.word == "BLOCKED"
    assert err.message == "'plan' requires 'think' to complete first"
    view = sprint.view()
    think = view.phase("think")
    assert think.status == "held" and think.state == "running"
    assert think.lock.token == owner.token and think.lock.epoch == 1
    assert view.phase("plan").blocked_by == ["think"]


def test_epochs_grow_across_claims(backend: Backend, sprint: Any) -> None:
    epochs = []
    for _ in range(3):
        owner = sprint.claim("think", agent="a", holder_pid=ME)
        epochs.append(owner.epoch)
        assert sprint.abort("think", agent="a", token=owner.token) == "a"
    assert epochs == [1, 2, 3]


def test_hostile_names_are_bad_input(backend: Backend, sprint: Any) -> None:
    for phase in ("../x", "Think", "x" * 65, "think\n", "nope"):
        assert isinstance(refusal(lambda p=phase: sprint.claim(p, agent="a")), BadInput)
    for agent in ("", "a b", "-x", "a/b"):
        assert isinstance(refusal(lambda a=agent: sprint.claim("think", agent=a)), BadInput)
    assert isinstance(refusal(lambda: sprint.claim("think", agent="a", ttl=0)), BadInput)
    owner = sprint.claim("think", agent="a", holder_pid=ME)
    err = refusal(lambda: sprint.complete("think", agent="a", token="nope"))
    assert isinstance(err, BadInput)
    assert statuses(sprint)["think"] == "held" and owner.token


# ---------------------------------------------------------------------- heartbeat


def test_heartbeat_extends_the_lease_on_the_stores_clock(backend: Backend, sprint: Any) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=ME, ttl=30)
    time.sleep(0.05)
    beat = sprint.heartbeat("think", agent="a", token=owner.token, ttl=90)
    assert beat.token == owner.token and beat.ttl_s == 90
    assert beat.heartbeat_at > owner.heartbeat_at
    lock = sprint.view().phase("think").lock
    assert lock.ttl_s == 90 and 80 < lock.lease_expires_in <= 90
    err = refusal(lambda: sprint.heartbeat("think", agent="b"))
    assert isinstance(err, NotOwner)
    assert err.message == "'think' is claimed by 'a', not 'b'"
    assert sprint.heartbeat("think", agent="a").token == owner.token  # by agent name


# ---------------------------------------------------------------------- complete and abort


def test_complete_records_the_artifact_and_done_is_terminal(backend: Backend, sprint: Any) -> None:
    art = Path(backend.project) / "think.json"
    art.write_text(json.dumps({"context_checkpoint": {"summary": "s", "key_files": ["a.py"]}}))
    owner = sprint.claim("think", agent="a", holder_pid=ME)
    done = sprint.complete("think", agent="a", token=owner.token, artifact=str(art))
    import hashlib

    assert done.sha256 == hashlib.sha256(art.read_bytes()).hexdigest()
    assert done.artifact == str(art.resolve()) and done.token == owner.token and done.epoch == 1
    assert done.agent == "a"
    view = sprint.view()
    assert view.phase("think").status == "done" and view.phase("think").done.sha256 == done.sha256
    assert view.phase("plan").status == "ready"
    err = refusal(lambda: sprint.claim("think", agent="b"))
    assert isinstance(err, AlreadyDone) and err.word == "DONE"
    err = refusal(lambda: sprint.complete("think", agent="a", token=owner.token))
    assert isinstance(err, Fenced) and err.message.startswith(
        f"fenced: token {owner.token} of 'think' was already done by 'a' at "
    )
    err = refusal(lambda: sprint.complete("think", agent="a"))
    assert isinstance(err, AlreadyDone)
    err = refusal(lambda: sprint.abort("think", agent="a", token=owner.token))
    assert isinstance(err, Fenced)


def test_artifact_outside_the_project_or_a_symlink_is_refused(
    backend: Backend, sprint: Any, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    link = Path(backend.project) / "link.json"
    link.symlink_to(outside)
    owner = sprint.claim("think", agent="a", holder_pid=ME)
    for path in (outside, link, Path(backend.project) / "missing.json"):
        err = refusal(lambda p=path: sprint.complete("think", agent="a", artifact=str(p)))
        assert isinstance(err, BadInput)
    assert sprint.view().phase("think").lock.token == owner.token  # the claim is kept


def test_complete_and_abort_by_others(backend: Backend, sprint: Any) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=ME)
    err = refusal(lambda: sprint.complete("think", agent="b"))
    assert isinstance(err, NotOwner)
    other = "9-0123456789abcdef"
    err = refusal(lambda: sprint.complete("think", agent="b", token=other))
    assert isinstance(err, NotOwner)
    assert err.message == "'think' is held by 'a' under another token"
    assert isinstance(refusal(lambda: sprint.abort("think", agent="b")), NotOwner)
    assert sprint.abort("think", agent="b", force=True) == "a"
    err = refusal(lambda: sprint.abort("think", agent="a", token=owner.token))
    assert isinstance(err, Fenced) and "was already aborted by 'b'" in err.message
    err = refusal(lambda: sprint.abort("think", agent="a"))
    assert isinstance(err, Refused) and err.message == "'think' is not claimed"
    owner = sprint.claim("think", agent="a", holder_pid=ME)
    done = sprint.complete("think", agent="b", force=True)
    assert done.agent == "b" and done.token == owner.token


# ---------------------------------------------------------------------- liveness and reclaim


def test_reclaim_refused_while_held(backend: Backend, sprint: Any) -> None:
    pid, start = live()
    sprint.claim("think", agent="a", holder_pid=pid, holder_start=start)
    err = refusal(lambda: sprint.reclaim("think", agent="b"))
    assert isinstance(err, NotStale) and err.message.startswith("'think' is held, not stale (")
    err = refusal(lambda: sprint.reclaim("plan", agent="b"))
    assert isinstance(err, Refused) and err.message == "'plan' is not locked; nothing to reclaim"


def test_stale_at_once_when_the_local_holder_is_gone_then_fenced(
    backend: Backend, sprint: Any, dead_pid: tuple[int, int | None]
) -> None:
    pid, start = dead_pid
    owner = sprint.claim("think", agent="a", holder_pid=pid, holder_start=start)
    pv = sprint.view().phase("think")
    assert pv.status == "stale" and f"holder pid {pid} is gone" in pv.lock.evidence
    status, reasons = sprint.why("think")
    assert status == "stale" and reasons[-1] == "reclaim it: conductor reclaim think"
    lv = sprint.reclaim("think", agent="b")
    assert lv.verdict == "stale" and lv.token == owner.token and lv.agent == "a"
    assert statuses(sprint)["think"] == "ready"
    for call in (
        lambda: sprint.heartbeat("think", agent="a", token=owner.token),
        lambda: sprint.complete("think", agent="a", token=owner.token),
        lambda: sprint.abort("think", agent="a", token=owner.token),
    ):
        err = refusal(call)
        assert isinstance(err, Fenced) and "was already reclaimed by 'b'" in err.message
    new = sprint.claim("think", agent="b", holder_pid=ME)
    assert new.epoch == owner.epoch + 1
    err = refusal(lambda: sprint.complete("think", agent="a", token=owner.token))
    assert isinstance(err, Fenced)
    assert sprint.view().phase("think").lock.token == new.token


def test_lease_verdicts_suspect_here_stale_from_another_host(backend: Backend, sprint: Any) -> None:
    pid, start = live()
    sprint.claim("think", agent="a", holder_pid=pid, holder_start=start, ttl=0.3)
    elsewhere = backend.open(sprint, host="elsewhere")
    assert elsewhere.view().phase("think").status == "held"
    time.sleep(0.5)
    here = sprint.view().phase("think")
    assert here.status == "suspect" and here.lock.holder_alive is True
    assert isinstance(refusal(lambda: sprint.reclaim("think", agent="b")), NotStale)
    there = elsewhere.view().phase("think")
    assert there.status == "stale" and there.lock.holder_alive is None
    assert any("cannot be checked here" in e for e in there.lock.evidence)
    lv = elsewhere.reclaim("think", agent="b")
    assert lv.verdict == "stale"


def test_reclaim_force_of_a_live_claim(backend: Backend, sprint: Any) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=ME)
    lv = sprint.reclaim("think", agent="b", force=True)
    assert lv.verdict == "held" and lv.token == owner.token
    assert isinstance(refusal(lambda: sprint.heartbeat("think", agent="a")), Refused)


# ---------------------------------------------------------------------- status, next, why, log


def test_status_next_why_through_a_sprint(backend: Backend, sprint: Any) -> None:
    complete_through(sprint, "think", "plan", "build")
    assert sprint.next_ready() == ["review", "security", "qa"]
    sprint.claim("review", agent="r", holder_pid=ME)
    view = sprint.view()
    assert view.count("done") == 3 and view.count("held") == 1 and view.count("ready") == 2
    assert view.phase("ship").blocked_by == ["review", "security", "qa"]
    status, reasons = sprint.why("ship")
    assert status == "blocked"
    assert reasons == [
        "requires 'review', which is held by 'r'",
        "requires 'security', which is ready",
        "requires 'qa', which is ready",
    ]
    status, reasons = sprint.why("think")
    assert status == "done" and reasons[0].startswith("done by 'tester' at ")
    status, reasons = sprint.why("qa")
    assert (status, reasons) == (
        "ready", ["every dependency is done and nobody holds it: claim it"]
    )  # fmt: skip
    assert sprint.locked_phases() == ["review"]


def test_the_audit_log_names_each_transition(backend: Backend, sprint: Any, dead_pid: Any) -> None:
    owner = sprint.claim("think", agent="a", holder_pid=ME)
    sprint.heartbeat("think", agent="a", token=owner.token)
    sprint.complete("think", agent="a", token=owner.token)
    owner = sprint.claim("plan", agent="a", holder_pid=ME)
    sprint.abort("plan", agent="a")
    sprint.claim("plan", agent="a", holder_pid=dead_pid[0], holder_start=dead_pid[1])
    sprint.reclaim("plan", agent="b")
    assert backend.events(sprint.store, sprint.sprint_id) == [
        "sprint_start",
        "sprint_claim",
        "sprint_heartbeat",
        "sprint_complete",
        "sprint_claim",
        "sprint_abort",
        "sprint_claim",
        "sprint_unstuck",
    ]


def test_a_fenced_completion_is_in_the_audit_log(
    backend: Backend, sprint: Any, dead_pid: Any
) -> None:
    """Work that will never be recorded rings: a completion refused as fenced writes
    sprint_fenced (detail "done"), although the refused transition itself changed nothing."""
    owner = sprint.claim("think", agent="a", holder_pid=dead_pid[0], holder_start=dead_pid[1])
    sprint.reclaim("think", agent="b")
    for call in (
        lambda: sprint.heartbeat("think", agent="a", token=owner.token),
        lambda: sprint.abort("think", agent="a", token=owner.token),
        lambda: sprint.complete("think", agent="a", token=owner.token),
    ):
        assert isinstance(refusal(call), Fenced)
    if backend.kind == "file":
        from conductor_tui.core import audit

        events = [e for e in audit.read(sprint.store.audit_path) if not isinstance(e, str)]
    else:
        events = sprint.store.events(sprint=sprint.sprint_id)
    mine = [e for e in events if e.sprint == sprint.sprint_id]
    assert [e.event for e in mine] == [
        "sprint_start", "sprint_claim", "sprint_unstuck", "sprint_fenced",
    ]  # fmt: skip
    fenced = mine[-1]
    assert (fenced.resource, fenced.detail, fenced.agent, fenced.token) == (
        "think", "done", "a", owner.token,
    )  # fmt: skip
    assert statuses(sprint)["think"] == "ready"  # the refusal itself changed nothing


def test_context_and_resume(backend: Backend, sprint: Any) -> None:
    from conductor_tui.core import handoff

    art = Path(backend.project) / "think.json"
    art.write_text(json.dumps({"context_checkpoint": {"summary": "the why"}}))
    owner = sprint.claim("think", agent="a", holder_pid=ME)
    sprint.complete("think", agent="a", token=owner.token, artifact=str(art))
    held = sprint.claim("plan", agent="a", holder_pid=ME)
    if backend.kind == "pg":
        from conductor_tui.pg import handoff as pg_handoff

        page, mine = pg_handoff.context(sprint), pg_handoff.resume(sprint, "a")
    else:
        page, mine = handoff.context(sprint), handoff.resume(sprint, "a")
    assert [c.phase for c in page.completed] == ["think"]
    assert page.completed[0].checkpoint.summary == "the why"
    assert [pv.name for pv in page.in_progress] == ["plan"]
    assert [pv.name for pv in mine.holding] == ["plan"] and mine.done_by_me == ["think"]
    assert mine.holding[0].lock.token == held.token
