"""`conductor db import` and `conductor db export`: a sprint moved between a file store and a
PostgreSQL store, records, history and audit events included.

Import reads the file sprint through the core's own readers (one reading per phase) and writes
it in one transaction, so a failed import leaves the database as it was. Export builds the
sprint in a staging directory beside the target and publishes it with one rename, as `start`
does. Checkpoints travel with the done records: an import reads each artifact's
`context_checkpoint` (never through a symlink) so that an agent on another machine gets it.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from ..core import audit, fs
from ..core.errors import BadInput
from ..core.jsonio import MAX_ARTIFACT, MalformedJSON, dumps, loads_strict, read_bytes_nofollow
from ..core.layout import OWNER, SPRINT_JSON, START_STAGE, history_name, parse_history
from ..core.limits import MAX_RECORD_BYTES
from ..core.liveness import iso, parse_iso
from ..core.models import AuditEvent, DoneRecord, EndRecord, OwnerRecord, mirror_of
from ..core.paths import project_hash
from ..core.reading import end_record
from ..core.store import Sprint, Store
from .store import stamp_ms

if TYPE_CHECKING:
    from .store import PgStore

__all__ = ["export_sprint", "import_sprint"]

_KNOWN_DONE = frozenset({"agent", "completed_at", "artifact", "token", "epoch", "sha256"})
_KNOWN_EVENT = frozenset({"at", "event", "resource", "detail", "sprint", "agent", "token", "epoch"})


def _checkpoint(artifact: str) -> Any:
    """The context_checkpoint of an artifact file (None when unreadable or too large)."""
    if not artifact:
        return None
    with contextlib.suppress(OSError, MalformedJSON, ValueError):
        parsed = loads_strict(read_bytes_nofollow(artifact, limit=MAX_ARTIFACT), limit=MAX_ARTIFACT)
        if isinstance(parsed, dict) and parsed.get("context_checkpoint") is not None:
            value = parsed["context_checkpoint"]
            if len(dumps(value)) <= MAX_RECORD_BYTES:
                return value
    return None


def _history(
    sprint: Sprint, phase: str
) -> list[tuple[str, str, str, OwnerRecord | None, EndRecord | None]]:
    """(token, how, nonce, owner, end) of every ended claim of a phase."""
    from ..core.jsonio import read_json

    paths = sprint.paths(phase)
    out = []
    try:
        names = sorted(os.listdir(paths.history))
    except OSError:
        return []
    for name in names:
        parsed = parse_history(name)
        if parsed is None:
            continue
        token, how, nonce = parsed
        owner = None
        with contextlib.suppress(OSError, MalformedJSON, ValueError):
            owner = OwnerRecord.model_validate(read_json(os.path.join(paths.ended(name), OWNER)))
        out.append((token, how, nonce, owner, end_record(paths, name)))
    return out


def _epoch(token: str) -> int:
    head = token.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


def import_sprint(source: Store, sprint_id: str, target: PgStore) -> list[str]:
    """Copy one file-store sprint into PostgreSQL; returns warnings (what could not be
    carried: an upstream lock, a malformed record). Refused when the sprint is already there."""
    sprint = source.open_sprint(sprint_id)
    now = source.clock()
    readings = sprint.read_all(now)
    warnings: list[str] = []
    rec = sprint.record
    events = [
        e
        for e in audit.read(source.audit_path)
        if isinstance(e, AuditEvent) and e.sprint == sprint_id
    ]
    with target.tx(f"importing sprint {sprint_id}") as conn:
        exists = conn.execute("SELECT 1 FROM sprints WHERE sprint_id = %s", (sprint_id,)).fetchone()
        if exists:
            raise BadInput(f"sprint {sprint_id} is already in {target.root}")
        conn.execute(
            "INSERT INTO sprints (sprint_id, project, project_hash, started_by, started_at, "
            "status, archived_at, record) VALUES (%s, %s, %s, %s, "
            "coalesce(to_timestamp(%s), now()), %s, CASE WHEN %s THEN now() END, %s)",
            (
                sprint_id,
                rec.project,
                project_hash(rec.project),
                rec.started_by,
                parse_iso(rec.started_at),
                rec.status,
                rec.status == "archived",
                Jsonb(rec.model_dump(exclude_none=True)),
            ),
        )
        for position, pdef in enumerate(rec.phases):
            name = pdef.name
            r = readings[name]
            history = _history(sprint, name)
            epochs = [_epoch(t) for t, *_ in history]
            owner = r.lock.owner if r.lock.form == "fenced" and r.end is None else None
            done = r.done.record if r.completed() else None
            if r.lock.exists and owner is None and done is None and r.lock.form != "empty":
                warnings.append(f"{name}: a {r.lock.form} lock was not imported (no fencing token)")
            if done is not None:
                state = "done"
                owner = None
            elif owner is not None:
                state = "running"
                epochs.append(owner.epoch)
            else:
                state = "pending"
            conn.execute(
                "INSERT INTO phases (sprint_id, name, position, depends_on, state, epoch, token, "
                "agent, host, holder_pid, holder_start, claimed_at, heartbeat_at, ttl_s, "
                "lease_end) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "to_timestamp(%s), to_timestamp(%s), %s, "
                "to_timestamp(%s) + make_interval(secs => %s))",
                (
                    sprint_id,
                    name,
                    position,
                    list(pdef.depends_on),
                    state,
                    max([0, *epochs, *([done.epoch] if done and done.epoch else [])]),
                    owner.token if owner else None,
                    owner.agent if owner else None,
                    owner.host if owner else None,
                    owner.holder_pid if owner else None,
                    owner.holder_start if owner else None,
                    parse_iso(owner.claimed_at) if owner else None,
                    parse_iso(owner.heartbeat_at) if owner else None,
                    owner.ttl_s if owner else None,
                    parse_iso(owner.heartbeat_at) if owner else None,
                    owner.ttl_s if owner else None,
                ),
            )
            for token, how, nonce, old, end in history:
                conn.execute(
                    "INSERT INTO claims (sprint_id, phase, token, epoch, agent, host, holder_pid, "
                    "holder_start, claimed_at, heartbeat_at, ttl_s, how, by_agent, ended_at, "
                    "reason, nonce) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, to_timestamp(%s), "
                    "to_timestamp(%s), %s, %s, %s, coalesce(to_timestamp(%s), now()), %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (
                        sprint_id,
                        name,
                        token,
                        _epoch(token),
                        old.agent if old else "",
                        old.host if old else None,
                        old.holder_pid if old else None,
                        old.holder_start if old else None,
                        parse_iso(old.claimed_at) if old else None,
                        parse_iso(old.heartbeat_at) if old else None,
                        old.ttl_s if old else None,
                        how,
                        end.by if end else "",
                        parse_iso(end.at) if end else None,
                        end.reason if end else "",
                        nonce,
                    ),
                )
            if done is not None:
                dumped = done.model_dump(exclude_none=True)
                extra = {k: v for k, v in dumped.items() if k not in _KNOWN_DONE}
                conn.execute(
                    "INSERT INTO done (sprint_id, phase, agent, completed_at, artifact, token, "
                    "epoch, sha256, checkpoint, extra) VALUES (%s, %s, %s, "
                    "coalesce(to_timestamp(%s), now()), %s, %s, %s, %s, %s, %s)",
                    (
                        sprint_id,
                        name,
                        done.agent,
                        parse_iso(done.completed_at),
                        done.artifact,
                        done.token,
                        done.epoch,
                        done.sha256,
                        Jsonb(cp) if (cp := _checkpoint(done.artifact)) is not None else None,
                        Jsonb(extra) if extra else None,
                    ),
                )
            elif r.done.exists:
                warnings.append(f"{name}: a malformed done record was not imported")
        with conn.cursor() as cur:
            rows = []
            for e in events:
                dumped = e.model_dump(exclude_none=True)
                extra = {k: v for k, v in dumped.items() if k not in _KNOWN_EVENT}
                rows.append(
                    (
                        parse_iso(e.at),
                        e.event,
                        e.resource,
                        e.detail,
                        e.sprint,
                        e.agent,
                        e.token,
                        e.epoch,
                        Jsonb(extra) if extra else None,
                    )
                )
            cur.executemany(
                "INSERT INTO events (at, event, resource, detail, sprint, agent, token, epoch, "
                "extra) VALUES (coalesce(to_timestamp(%s), now()), %s, %s, %s, %s, %s, %s, %s, "
                "%s)",
                rows,
            )
        target._event(
            conn, "sprint_import", "", rec.started_by, sprint=sprint_id, detail=source.root
        )
    return warnings


def export_sprint(source: PgStore, sprint_id: str, target: Store) -> str:
    """Write one PostgreSQL sprint into a file store (refused when the sprint is already
    there); returns the sprint's directory. Its audit events are appended to audit.log."""
    sprint = source.open_sprint(sprint_id)
    final = os.path.join(target.conductor_dir, sprint_id)
    if os.path.lexists(final):
        raise BadInput(f"sprint {sprint_id} is already in {target.root}")
    with source.tx(f"exporting sprint {sprint_id}") as conn:  # one snapshot of everything
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        readings = sprint.read_all()
        done_rows = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT phase, extra FROM done WHERE sprint_id = %s", (sprint_id,)
            ).fetchall()
        }
        claims = conn.execute(
            "SELECT phase, token, epoch, agent, host, holder_pid, holder_start, "
            "extract(epoch FROM claimed_at)::float8, extract(epoch FROM heartbeat_at)::float8, "
            "ttl_s, how, by_agent, extract(epoch FROM ended_at)::float8, reason, nonce "
            "FROM claims WHERE sprint_id = %s ORDER BY phase, epoch",
            (sprint_id,),
        ).fetchall()
        events = source.events(sprint=sprint_id)
    os.makedirs(target.conductor_dir, exist_ok=True)
    staging = os.path.join(target.conductor_dir, f"{START_STAGE}{fs.token_hex(6)}")
    fs.mkdir(staging)
    try:
        for pdef in sprint.record.phases:
            pdir = os.path.join(staging, pdef.name)
            fs.mkdir(pdir)
            r = readings[pdef.name]
            if r.done.record is not None:
                done = DoneRecord.model_validate(
                    {
                        **r.done.record.model_dump(exclude_none=True),
                        **(done_rows.get(pdef.name) or {}),
                    }
                )
                fs.write_file_durable(
                    os.path.join(pdir, "done"), dumps(done.model_dump(exclude_none=True))
                )
                if done.artifact:
                    fs.symlink(done.artifact, os.path.join(pdir, "artifact.json"))
            owner = r.lock.owner
            if owner is not None:
                fs.mkdir(os.path.join(pdir, "lock.d"))
                fs.mkdir(os.path.join(pdir, "lock"))
                fs.mkdir(os.path.join(pdir, "lock", owner.token))
                fs.write_file_durable(
                    os.path.join(pdir, "lock", owner.token, OWNER), dumps(owner.model_dump())
                )
                fs.write_file_durable(
                    os.path.join(pdir, "lock", "meta.json"), dumps(mirror_of(owner))
                )
        for c in claims:
            (phase, token, epoch, agent, host, pid, start, claimed, beat, ttl, how, by, ended,
             reason, nonce) = c  # fmt: skip
            hist = os.path.join(staging, phase, "history")
            if not os.path.isdir(hist):
                fs.mkdir(hist)
            entry = os.path.join(hist, history_name(token, how, nonce))
            fs.mkdir(entry)
            if claimed is not None:
                old = OwnerRecord(
                    agent=agent,
                    token=token,
                    epoch=int(epoch),
                    claimed_at=iso(claimed),
                    heartbeat_at=stamp_ms(beat if beat is not None else claimed),
                    ttl_s=float(ttl or 0.0),
                    host=host or "",
                    holder_pid=pid,
                    holder_start=start,
                    sprint_id=sprint_id,
                    phase=phase,
                )
                fs.write_file_durable(os.path.join(entry, OWNER), dumps(old.model_dump()))
            end = EndRecord(how=how, by=by, at=iso(ended), reason=reason)
            fs.write_file_durable(os.path.join(entry, "end.json"), dumps(end.model_dump()))
        record = sprint.record.model_dump(exclude_none=True)
        fs.write_file_durable(os.path.join(staging, SPRINT_JSON), dumps(record))
        fs.rename(staging, final)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    for event in events:
        if event.sprint != sprint_id or event.event == "sprint_import":
            continue  # store-wide events, and the import itself, are not the sprint's
        audit.append(target.audit_path, event)
    return final
