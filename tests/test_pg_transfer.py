"""db import then db export: a file-store sprint (done phases with artifacts, aborted,
reclaimed and live claims, the audit log) goes into PostgreSQL and comes back out equal."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conductor_tui.core import audit
from conductor_tui.core.errors import BadInput
from conductor_tui.core.jsonio import read_json
from conductor_tui.core.store import Store

from .pg_server import fresh_url

ME = os.getpid()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A store URL on a schema of its own, dropped after the test."""
    yield from fresh_url()


def _file_sprint(tmp_path: Path, dead: tuple[int, int | None]) -> tuple[Store, Any, Path]:
    project = tmp_path / "project"
    project.mkdir()
    store = Store(str(tmp_path / "store"))
    sprint = store.start(str(project), agent="tester")
    for phase, summary in (("think", "why"), ("plan", "how")):
        art = project / f"{phase}.json"
        art.write_text(json.dumps({"context_checkpoint": {"summary": summary}}))
        if phase == "plan":
            first = sprint.claim(phase, agent="a", holder_pid=ME)
            sprint.abort(phase, agent="a", token=first.token)
        owner = sprint.claim(phase, agent="a", holder_pid=ME)
        sprint.complete(phase, agent="a", token=owner.token, artifact=str(art))
    sprint.claim("build", agent="b", holder_pid=dead[0], holder_start=dead[1])
    sprint.reclaim("build", agent="c")
    sprint.claim("build", agent="c", holder_pid=ME, ttl=600)
    return store, sprint, project


def _tree(root: Path) -> dict[str, Any]:
    """Every file of a sprint directory, parsed; symlinks by target."""
    out: dict[str, Any] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = ("->", os.readlink(path))
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = read_json(str(path))
    return out


def test_import_then_export_gives_the_same_sprint(
    pg_url: str,
    tmp_path: Path,
    dead_pid: tuple[int, int | None],
) -> None:
    from conductor_tui.pg import handoff
    from conductor_tui.pg.store import PgStore
    from conductor_tui.pg.transfer import export_sprint, import_sprint

    source, sprint, project = _file_sprint(tmp_path, dead_pid)
    pg = PgStore(pg_url)
    assert import_sprint(source, sprint.sprint_id, pg) == []
    with pytest.raises(BadInput):
        import_sprint(source, sprint.sprint_id, pg)
    there = pg.open_sprint(sprint.sprint_id)

    def summary(view: Any) -> list[tuple[Any, ...]]:
        return [
            (pv.name, pv.status, pv.agent, pv.done.model_dump() if pv.done else None,
             pv.lock.token if pv.lock else None, pv.lock.epoch if pv.lock else None)
            for pv in view.phases
        ]  # fmt: skip

    assert summary(there.view()) == summary(sprint.view())
    assert pg.find_active(str(project)).sprint_id == sprint.sprint_id
    # the holder goes on in PostgreSQL with the same token, and the old one stays fenced
    build = there.view().phase("build").lock
    assert there.heartbeat("build", agent="c", token=build.token).epoch == 2
    # an agent on another machine: the artifacts are not there, their checkpoints are
    for name in ("think.json", "plan.json"):
        (project / name).rename(tmp_path / name)
    page = handoff.context(there)
    assert [(c.phase, c.checkpoint.summary) for c in page.completed] == [
        ("think", "why"),
        ("plan", "how"),
    ]
    for name in ("think.json", "plan.json"):
        (tmp_path / name).rename(project / name)

    out = Store(str(tmp_path / "exported"))
    path = export_sprint(pg, sprint.sprint_id, out)
    with pytest.raises(BadInput):
        export_sprint(pg, sprint.sprint_id, out)
    before, after = _tree(Path(sprint.path)), _tree(Path(path))
    # the heartbeat above moved the live claim's lease on: that is the one difference
    for tree in (before, after):
        for key, value in tree.items():
            if key.startswith("build/lock/") and isinstance(value, dict):
                value.pop("heartbeat_at", None)
    assert after == before
    back = out.open_sprint(sprint.sprint_id)
    assert summary(back.view()) == summary(sprint.view())

    def events(store: Store) -> list[dict[str, Any]]:
        return [
            e.model_dump(exclude_none=True)
            for e in audit.read(store.audit_path)
            if not isinstance(e, str) and e.sprint == sprint.sprint_id
        ]

    exported = events(out)
    assert exported[: len(events(source))] == events(source)
    assert [e["event"] for e in exported[len(events(source)) :]] == ["sprint_heartbeat"]
    pg.close()
