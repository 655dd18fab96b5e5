"""The sprint store on PostgreSQL: `PgStore` and `PgSprint`, duck-type twins of the file store's
`Store` and `Sprint` (same public methods, same models, same errors and messages).

The linearisation points are single conditional statements, each in a transaction with the
audit event and the NOTIFY it causes:
- a claim is one `UPDATE phases ... WHERE state = 'pending' AND <every dependency done>`, which
  bumps the phase's epoch (the fencing number) and mints the token; PostgreSQL re-checks the
  condition on the row's newest version when claimers race, so exactly one wins;
- heartbeat, complete, abort and reclaim change the row only `WHERE token = %s AND epoch = %s`,
  on a row locked `FOR UPDATE` after the caller was authorised from that same row.
Leases are `now()` on the server; the verdicts (held, suspect, stale) come from the core's
rules, judged at the server's instant, and a holder's pid is evidence only on its own host.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from ..core import fs
from ..core.audit import EVENTS
from ..core.errors import (
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
from ..core.jsonio import dumps
from ..core.layout import PhasePaths
from ..core.limits import (
    ARCHIVE_AGE_S,
    CLAIM_ATTEMPTS,
    DEFAULT_TTL_S,
    MAX_RECORD_BYTES,
)
from ..core.liveness import ProcInfo, hostname, iso, iso_ms, proc_info
from ..core.models import (
    AuditEvent,
    DoneRecord,
    LockView,
    OwnerRecord,
    PhaseDef,
    PhaseView,
    SprintRecord,
    SprintView,
    StoreConfig,
)
from ..core.paths import (
    SPRINT_RE,
    check_agent,
    check_phase,
    check_token,
    project_candidates,
    project_hash,
    show,
)
from ..core.reading import DoneReading, LockState, PhaseReading, lock_view, phase_view
from ..core.store import DEFAULT_GRAPH, Sprint, _check_ttl, _loose_id, derive_view
from ..core.vocab import LIVE
from . import schema
from .url import CONNECT_TIMEOUT_S, PgUrl, parse, redact

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.rows import TupleRow

    from ..core.artifacts import ArtifactCheck
    from ..core.doctor import Finding
    from ..core.store import Derived
    from ..core.vocab import Concurrency

__all__ = ["PgError", "PgSprint", "PgStore", "Unreachable", "stamp_ms"]


def stamp_ms(ts: float) -> str:
    """A server timestamp (whole microseconds) in the lease fields' format: half a microsecond
    added first, so that 0.590 read back as 0.58999... is not truncated to 0.589."""
    return iso_ms(ts + 5e-7)


class PgError(ConductorError):
    """The PostgreSQL server failed a request (it went away, refused, timed out): exit 2."""

    kind = "store"


class Unreachable(PgError):
    """No connection could be made: the server is down or unreachable, or refused the login."""

    kind = "unreachable"


# The columns of one phase as every reader takes them, with the server's instant.
_PHASE_COLUMNS = """
    extract(epoch FROM now())::float8, s.status,
    p.name, p.state, p.epoch, p.token, p.agent, p.host, p.holder_pid, p.holder_start,
    extract(epoch FROM p.claimed_at)::float8, extract(epoch FROM p.heartbeat_at)::float8, p.ttl_s,
    d.agent, extract(epoch FROM d.completed_at)::float8, d.artifact, d.token, d.epoch, d.sha256,
    d.extra, d.phase IS NOT NULL
"""
_READ = (
    "SELECT "
    + _PHASE_COLUMNS
    + """
    FROM phases p JOIN sprints s ON s.sprint_id = p.sprint_id
    LEFT JOIN done d ON d.sprint_id = p.sprint_id AND d.phase = p.name
    WHERE p.sprint_id = %s"""
)

_CLAIM = """
UPDATE phases AS p SET
    epoch = p.epoch + 1,
    token = (p.epoch + 1)::text || '-' || %(hex)s,
    state = 'running',
    agent = %(agent)s, host = %(host)s, holder_pid = %(pid)s, holder_start = %(start)s,
    claimed_at = now(), heartbeat_at = now(), ttl_s = %(ttl)s,
    lease_end = now() + make_interval(secs => %(ttl)s)
FROM sprints s
WHERE p.sprint_id = %(sprint)s AND p.name = %(phase)s
  AND s.sprint_id = p.sprint_id AND s.status <> 'archived'
  AND p.state = 'pending'
  AND NOT EXISTS (
      SELECT 1 FROM phases dep
      WHERE dep.sprint_id = p.sprint_id AND dep.name = ANY (p.depends_on) AND dep.state <> 'done')
RETURNING p.token, p.epoch, extract(epoch FROM p.claimed_at)::float8
"""

_RELEASE = """
UPDATE phases SET state = %s, token = NULL, agent = NULL, host = NULL, holder_pid = NULL,
    holder_start = NULL, claimed_at = NULL, heartbeat_at = NULL, ttl_s = NULL, lease_end = NULL
WHERE sprint_id = %s AND name = %s AND token = %s AND epoch = %s
"""


class _Row:
    """One phase row as read, with the server's instant of the reading."""

    __slots__ = (
        "_sprint",
        "agent",
        "beat",
        "claimed",
        "done",
        "epoch",
        "host",
        "name",
        "now",
        "pid",
        "start",
        "state",
        "status",
        "token",
        "ttl",
    )

    def __init__(self, row: Sequence[Any], sprint_id: str) -> None:
        (now, self.status, self.name, self.state, self.epoch, self.token, self.agent, self.host,
         self.pid, self.start, self.claimed, self.beat, self.ttl) = row[:13]  # fmt: skip
        self.now = float(now)
        self.done: DoneRecord | None = None
        if row[20]:
            record: dict[str, Any] = dict(row[19] or {})
            record.update(
                agent=row[13] or "",
                completed_at=iso(row[14]) if row[14] is not None else "",
                artifact=row[15] or "",
                token=row[16],
                epoch=row[17],
                sha256=row[18],
            )
            self.done = DoneRecord.model_validate(
                {k: v for k, v in record.items() if v is not None}
            )
        self._sprint = sprint_id

    def owner(self) -> OwnerRecord | None:
        """The claim as the file store's owner record (None when the phase is not held)."""
        if self.token is None:
            return None
        return OwnerRecord(
            agent=self.agent or "",
            token=self.token,
            epoch=int(self.epoch),
            claimed_at=iso(self.claimed) if self.claimed is not None else "",
            heartbeat_at=stamp_ms(self.beat) if self.beat is not None else "",
            ttl_s=float(self.ttl or 0.0),
            host=self.host or "",
            holder_pid=self.pid,
            holder_start=self.start,
            sprint_id=self._sprint,
            phase=self.name,
        )

    def reading(self, sprint_path: str) -> PhaseReading:
        """The row as the core's reading of a phase directory: the one input of its view.

        An adapter: the core's verdicts take a `PhaseReading`, which also carries what only a
        directory has (mtimes, a lock.d, a half-tidied release); here those are absent."""
        owner = self.owner()
        lock = (
            LockState(exists=True, form="fenced", token=owner.token, owner=owner)
            if owner is not None
            else LockState()
        )
        done = DoneReading(self.done, None, True) if self.done is not None else DoneReading()
        paths = PhasePaths(f"{sprint_path}/{self.name}")
        return PhaseReading(self.name, paths, None, lock, None, done, None, False, self.now)


class PgStore:
    """A sprint store in a PostgreSQL schema: where sprints live, plus the host and the process
    probe every verdict uses. Its clock is the server's (measured at each reading)."""

    def __init__(
        self,
        url: str | PgUrl,
        *,
        host: str | None = None,
        probe: Callable[[int], ProcInfo | None] = proc_info,
        token_hex: Callable[[int], str] = fs.token_hex,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        migrate: bool = True,
    ) -> None:
        self.url = url if isinstance(url, PgUrl) else parse(url)
        self.root = self.url.shown  # what the file store calls its root: shown, never secret
        self.host = host or hostname()
        self.probe = probe
        self.token_hex = token_hex
        self.connect_timeout = connect_timeout
        self.warnings: list[str] = []
        self.auto_migrate = migrate
        self.skew = 0.0  # the server's clock minus ours, from the last reading
        self._conn: Connection[TupleRow] | None = None
        self.schema_version: int | None = None

    # ------------------------------------------------------------------ connection

    def clock(self) -> float:
        """Now on the server's clock (ours corrected by the skew measured at the last read)."""
        return time.time() + self.skew

    @property
    def channel(self) -> str:
        """The NOTIFY channel of this store."""
        return f"conductor:{self.url.schema}"[:63]

    @property
    def conn(self) -> Connection[TupleRow]:
        """The connection, opened (and the schema checked) on first use."""
        if self._conn is None or self._conn.closed:
            self._conn = None
            conn = connect(self.url, self.connect_timeout)
            try:
                with self._guard("checking the schema"):
                    if self.auto_migrate:
                        self.schema_version = schema.ensure(conn, self.url.schema, self.root)
                    conn.execute(
                        sql.SQL("SET search_path TO {}").format(sql.Identifier(self.url.schema))
                    )
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """psycopg's errors as a PgError with the URL redacted; a broken connection is dropped
        so that the next call reconnects."""
        try:
            yield
        except psycopg.Error as exc:
            if self._conn is not None and self._conn.broken:
                self._conn = None
            raise db_error(exc, doing, self.root) from None

    @contextlib.contextmanager
    def tx(self, doing: str) -> Iterator[Connection[TupleRow]]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        conn = self.conn
        with self._guard(doing), conn.transaction():
            yield conn

    def migrate(self) -> tuple[int, int]:
        """`conductor db migrate`: (version before, version after)."""
        conn = connect(self.url, self.connect_timeout)
        try:
            with self._guard("migrating the schema"):
                before = schema.current_version(conn, self.url.schema) or 0
                after = schema.migrate(conn, self.url.schema, self.root)
        finally:
            conn.close()
        self.schema_version = after
        return before, after

    # ------------------------------------------------------------------ sprints

    def config(self) -> StoreConfig:
        """The store's config (the `config` setting, as config.json would hold it)."""
        with self._guard("reading the config"):
            row = self.conn.execute("SELECT value FROM settings WHERE key = 'config'").fetchone()
        if row is None:
            return StoreConfig()
        try:
            return StoreConfig.model_validate(row[0])
        except ValueError as exc:
            raise BadInput(f"the config of {self.root} is malformed: {exc}") from None

    def set_config(self, config: StoreConfig) -> None:
        """Replace the store's config (what `db import` copies from config.json)."""
        with self.tx("writing the config") as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES ('config', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                (Jsonb(config.model_dump(exclude_none=True)),),
            )

    def _load(self, sprint_id: str, record: Any, status: str) -> PgSprint:
        from ..core.graph import check_graph

        try:
            rec = SprintRecord.model_validate(record)
        except ValueError as exc:
            raise BadInput(f"sprint {sprint_id} has a malformed record: {exc}") from None
        rec.status = status
        try:
            check_graph(rec.phases)
        except BadInput as exc:
            raise BadInput(
                f"sprint {sprint_id} has an invalid phase graph: {exc.message}"
            ) from None
        return PgSprint(self, rec)

    def open_sprint(self, sprint_id: str) -> PgSprint:
        """Open a sprint by id."""
        if not SPRINT_RE.fullmatch(sprint_id) and not _loose_id(sprint_id):
            raise BadInput(f"invalid sprint id {show(sprint_id)}")
        with self._guard("opening the sprint"):
            row = self.conn.execute(
                "SELECT record, status FROM sprints WHERE sprint_id = %s", (sprint_id,)
            ).fetchone()
        if row is None:
            raise BadInput(f"no sprint {sprint_id} in {self.root}")
        return self._load(sprint_id, row[0], row[1])

    def find_active(self, project: str) -> PgSprint | None:
        """The active sprint of a project (or of its nearest ancestor), as upstream finds it."""
        candidates = project_candidates(project)
        with self._guard("finding the active sprint"):
            rows = self.conn.execute(
                "SELECT DISTINCT ON (project) project, sprint_id, record, status FROM sprints "
                "WHERE project_hash = ANY (%s) AND project = ANY (%s) AND status <> 'archived' "
                "ORDER BY project, sprint_id DESC",
                ([project_hash(c) for c in candidates], candidates),
            ).fetchall()
        found = {row[0]: row for row in rows}
        for candidate in candidates:  # nearest first
            if candidate in found:
                _, sprint_id, record, status = found[candidate]
                return self._load(sprint_id, record, status)
        return None

    def sprints(self, project: str | None = None) -> list[tuple[str, str, str]]:
        """(sprint_id, project, status) of every sprint, or of one project's, oldest first."""
        query = "SELECT sprint_id, project, status FROM sprints"
        args: tuple[Any, ...] = ()
        if project is not None:
            query += " WHERE project = %s"
            args = (project,)
        with self._guard("listing sprints"):
            rows = self.conn.execute(query + " ORDER BY sprint_id", args).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def start(
        self, project: str, *, agent: str, phases: Any = None, force: bool = False
    ) -> PgSprint:
        """Start a sprint for project and archive the active one (refused while it has live
        locks), in one transaction: a failed start changes nothing."""
        from ..core.graph import validate_graph

        check_agent(agent)
        project = os.path.abspath(project)
        raw = phases if phases is not None else self.config().phase_graph
        graph = validate_graph(DEFAULT_GRAPH if raw is None else raw)
        h = project_hash(project)
        with self.tx("starting the sprint") as conn:
            # one start of a project at a time; other projects go on
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"conductor-start:{h}",))
            row = conn.execute("SELECT extract(epoch FROM now())::float8").fetchone()
            now = float(row[0]) if row else time.time()
            self.skew = now - time.time()
            record = SprintRecord(
                sprint_id=f"{h}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}",
                project=project,
                started_by=agent,
                started_at=iso(now),
                status="active",
                phases=graph,
            )
            size = len(dumps(record.model_dump(exclude_none=True)))
            if size > MAX_RECORD_BYTES:
                raise BadInput(
                    f"the phase graph is too large: its record would be {size:,} bytes, over "
                    f"the {MAX_RECORD_BYTES:,} that every reader accepts ({len(graph)} phases)"
                )
            previous = [
                self._load(r[0], r[1], r[2])
                for r in conn.execute(
                    "SELECT sprint_id, record, status FROM sprints WHERE project_hash = %s "
                    "AND project = %s AND status <> 'archived' ORDER BY sprint_id FOR UPDATE",
                    (h, project),
                ).fetchall()
            ]
            if not force:
                for old in previous:
                    live = [pv for pv in old.view().phases if pv.status in LIVE]
                    if live:
                        who = ", ".join(f"{pv.name} ({pv.agent})" for pv in live)
                        raise Refused(
                            f"sprint {old.sprint_id} has live locks: {who}; "
                            "finish them or start with --force"
                        )
            stamp = int(now)
            for _ in range(3600):
                record.sprint_id = f"{h}-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime(stamp))
                inserted = conn.execute(
                    "INSERT INTO sprints (sprint_id, project, project_hash, started_by, "
                    "started_at, status, record) VALUES (%s, %s, %s, %s, to_timestamp(%s), "
                    "'active', %s) ON CONFLICT (sprint_id) DO NOTHING RETURNING sprint_id",
                    (
                        record.sprint_id,
                        project,
                        h,
                        agent,
                        now,
                        Jsonb(record.model_dump(exclude_none=True)),
                    ),
                ).fetchone()
                if inserted:
                    break
                stamp += 1
            else:  # pragma: no cover - an hour of sprints started in one second
                raise Refused("could not find a free sprint id")
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO phases (sprint_id, name, position, depends_on) "
                    "VALUES (%s, %s, %s, %s)",
                    [
                        (record.sprint_id, p.name, i, list(p.depends_on))
                        for i, p in enumerate(graph)
                    ],
                )
            for old in previous:
                old._archive(conn)
                self._event(conn, "archive", "", old.record.started_by, sprint=old.sprint_id)
            self._event(conn, "start", "", agent, sprint=record.sprint_id, detail=project)
        return PgSprint(self, record)

    def clean(self, project: str | None, *, older_than_s: float = ARCHIVE_AGE_S) -> list[str]:
        """Delete archived sprints older than a week: this project's, or all with None."""
        query = (
            "DELETE FROM sprints WHERE status = 'archived' "
            "AND coalesce(archived_at, started_at) < now() - make_interval(secs => %s)"
        )
        args: list[Any] = [older_than_s]
        if project is not None:
            query += " AND project = %s"
            args.append(os.path.abspath(project))
        with self.tx("cleaning archived sprints") as conn:
            rows = conn.execute(query + " RETURNING sprint_id", args).fetchall()
        return sorted(r[0] for r in rows)

    # ------------------------------------------------------------------ artifacts and log

    def load_artifact(self, artifact: str, project: str) -> tuple[str, str, Any]:
        """Validate an artifact exactly as the file store does: a regular JSON file, not a
        symlink, inside the project (a PostgreSQL store has no directory of its own)."""
        from ..core.store import Store

        # An adapter: the file store's rule, with the project as both of its roots.
        return Store(project).load_artifact(artifact, project)

    def _event(
        self,
        conn: Connection[TupleRow],
        what: str,
        phase: str,
        agent: str,
        *,
        sprint: str | None = None,
        token: str | None = None,
        epoch: int | None = None,
        detail: str | None = None,
    ) -> int:
        """Insert one audit event in the caller's transaction, and NOTIFY its id on commit."""
        row = conn.execute(
            "INSERT INTO events (event, resource, detail, sprint, agent, token, epoch) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                EVENTS.get(what, what),
                phase,
                agent if detail is None else detail,
                sprint,
                agent,
                token,
                epoch,
            ),
        ).fetchone()
        event_id = int(row[0]) if row else 0
        payload = dumps({"event": event_id, "sprint": sprint or "", "phase": phase}).decode()
        conn.execute("SELECT pg_notify(%s, %s)", (self.channel, payload))
        return event_id

    def log(
        self,
        what: str,
        phase: str,
        agent: str,
        *,
        sprint: str | None = None,
        token: str | None = None,
        epoch: int | None = None,
        detail: str | None = None,
    ) -> None:
        """Append one audit event on its own; a failure becomes a warning, never silence."""
        try:
            with self.tx("writing an audit event") as conn:
                self._event(
                    conn, what, phase, agent, sprint=sprint, token=token, epoch=epoch, detail=detail
                )
        except PgError as exc:
            self.warnings.append(
                f"the audit event {EVENTS.get(what, what)} was not written: {exc.message}"
            )

    def events(
        self, *, sprint: str | None = None, tail: int | None = None, after: int = 0
    ) -> list[AuditEvent]:
        """Audit events in order: one sprint's (and the store-wide ones) or all, the last
        `tail` of them, or those after an event id."""
        where = ["id > %s"]
        args: list[Any] = [after]
        if sprint is not None:
            where.append("(sprint = %s OR sprint IS NULL)")
            args.append(sprint)
        query = (
            "SELECT id, extract(epoch FROM at)::float8, event, resource, detail, sprint, agent, "
            "token, epoch, extra FROM events WHERE " + " AND ".join(where) + " ORDER BY id DESC"
        )
        if tail is not None:
            query += " LIMIT %s"
            args.append(max(0, tail))
        with self._guard("reading the audit log"):
            rows = self.conn.execute(query, args).fetchall()
        out = []
        for r in reversed(rows):
            data: dict[str, Any] = dict(r[9] or {})
            data.update(at=iso(r[1]), event=r[2], resource=r[3], detail=r[4])
            data.update(
                {
                    k: v
                    for k, v in zip(("sprint", "agent", "token", "epoch"), r[5:9], strict=True)
                    if v is not None
                }
            )
            out.append(AuditEvent.model_validate(data))
        return out


class PgSprint:
    """One sprint in the database and every operation on its phases (the file `Sprint`'s twin)."""

    def __init__(self, store: PgStore, record: SprintRecord) -> None:
        self.store = store
        self.record = record
        self.defs: dict[str, PhaseDef] = {p.name: p for p in record.phases}
        self._derived: Derived | None = None  # what view_from last derived (derive_view)

    @cached_property
    def dependents(self) -> dict[str, list[str]]:
        """For each phase, the phases that depend on it."""
        from ..core.graph import dependents

        return dependents(self.record.phases)

    @property
    def sprint_id(self) -> str:
        """The sprint's id."""
        return self.record.sprint_id

    @property
    def path(self) -> str:
        """Where the sprint is, as shown (the store's redacted URL and the id)."""
        return f"{self.store.root}#{self.sprint_id}"

    # ------------------------------------------------------------------ reading

    def _check(self, phase: str) -> str:
        check_phase(phase)
        if phase not in self.defs:
            names = ", ".join(self.defs)
            raise BadInput(f"unknown phase {show(phase)} (this sprint has: {names})")
        return phase

    def phase_dir(self, phase: str) -> str:
        """A validated phase of this sprint (the file store's directory, here a name)."""
        return f"{self.path}/{self._check(phase)}"

    writable = phase_dir

    def _rows(self, names: Sequence[str] | None = None, *, lock: bool = False) -> list[_Row]:
        """One reading (one statement, one snapshot) of some phases or all of them."""
        query = _READ
        args: list[Any] = [self.sprint_id]
        if names is not None:
            query += " AND p.name = ANY (%s)"
            args.append(list(names))
        query += " ORDER BY p.position"
        if lock:
            query += " FOR UPDATE OF p"
        with self.store._guard("reading the sprint"):
            rows = self.store.conn.execute(query, args).fetchall()
        out = [_Row(r, self.sprint_id) for r in rows]
        if out:
            self.store.skew = out[0].now - time.time()
            self.record.status = out[0].status
        return out

    def _readings(
        self, names: Sequence[str] | None = None
    ) -> tuple[float, dict[str, PhaseReading]]:
        rows = self._rows(names)
        if not rows:
            return self.store.clock(), {}
        return rows[0].now, {r.name: r.reading(self.path) for r in rows}

    def read(self, phase: str, now: float | None = None) -> PhaseReading:
        """One reading of a phase (its instant is the server's, whatever now says)."""
        readings = self._readings([phase])[1]
        if phase not in readings:
            raise BadInput(f"the phase {phase!r} has no row in {self.store.root}; see doctor")
        return readings[phase]

    def read_all(self, now: float | None = None) -> dict[str, PhaseReading]:
        """One reading of every phase, in sprint order, from one snapshot."""
        return self._readings()[1]

    def phase_view(self, name: str, now: float | None = None) -> PhaseView:
        """The current view of one phase, from one reading of it and of its dependencies."""
        at, readings = self._readings([name, *self.defs[name].depends_on])
        completed = {d: readings[d].completed() for d in self.defs[name].depends_on}
        return phase_view(
            self.defs[name], readings[name], completed, at, self.store.host, self.store.probe
        )

    def view(self) -> SprintView:
        """Every phase from one reading (one statement): states, blocked_by and counts agree."""
        at, readings = self._readings()
        return self.view_from(readings, at)

    def view_from(
        self,
        readings: Mapping[str, PhaseReading],
        now: float,
        *,
        classes: Mapping[str, Concurrency] | None = None,
        known: Mapping[str, tuple[PhaseReading, PhaseView]] | None = None,
    ) -> SprintView:
        """The sprint's view from one reading of each phase, judged at now (the server's
        instant): the file store's derivation (core.store.derive_view), views in `known` kept
        by the same rule."""
        view, self._derived = derive_view(
            self, readings, now, classes=classes, known=known, last=self._derived
        )
        return view

    def why(self, phase: str) -> tuple[str, list[str]]:
        """Why a phase can or cannot be claimed now: (status, reasons), in the file store's
        words (its rule reads only phase_dir, phase_view and the record, which we have)."""
        return Sprint.why(self, phase)  # type: ignore[arg-type]

    def next_ready(self) -> list[str]:
        """Phases claimable now, in sprint order."""
        return [pv.name for pv in self.view().phases if pv.status == "ready"]

    def locked_phases(self) -> list[str]:
        """Phases held now."""
        return [r.name for r in self._rows() if r.token is not None]

    def concurrency(
        self, extra_roots: Sequence[str] = (), *, tolerate_config: bool = False
    ) -> tuple[dict[str, Concurrency], dict[str, str], list[str]]:
        """Each phase's class, where it came from, and warnings. The store's own skills folder
        is the project's `.nanostack/skills` (a database has no folder)."""
        from ..core.graph import resolve_concurrency

        warnings: list[str] = []
        try:
            roots = [*extra_roots, *self.store.config().skill_roots]
        except BadInput as exc:
            if not tolerate_config:
                raise
            roots = list(extra_roots)
            warnings.append(f"{exc.message}; its skill_roots are ignored")
        classes, sources, found = resolve_concurrency(
            self.record.phases,
            store=os.path.join(self.record.project, ".nanostack"),
            skill_roots=roots,
        )
        return classes, sources, warnings + found

    def checkpoint(self, phase: str) -> Any:
        """The context checkpoint stored with a phase's done record (None when none was)."""
        self._check(phase)
        with self.store._guard("reading a checkpoint"):
            row = self.store.conn.execute(
                "SELECT checkpoint FROM done WHERE sprint_id = %s AND phase = %s",
                (self.sprint_id, phase),
            ).fetchone()
        return row[0] if row else None

    def artifact_check(self, phase: str, done: DoneRecord) -> ArtifactCheck | None:
        """What `context` shows of a done phase's artifact: the file itself where this machine
        has it (as the file store does), else the checkpoint stored in the database."""
        from ..core.artifacts import ArtifactCheck, check_artifact, checkpoint_of

        if not done.artifact:
            return None
        local = check_artifact(done)
        if local is not None and local.problem != "the artifact file is gone":
            return local
        check = ArtifactCheck(path=done.artifact, recorded_sha256=done.sha256)
        stored = self.checkpoint(phase)
        if stored is None:
            check.checkpoint_problem = "no checkpoint was stored with the done record"
        else:
            check.checkpoint, check.checkpoint_problem = checkpoint_of(
                {"context_checkpoint": stored}
            )
        return check

    # ------------------------------------------------------------------ reporting

    def warn(self, message: str) -> None:
        """Something the caller must hear about although the operation itself succeeded."""
        self.store.warnings.append(message)

    # ------------------------------------------------------------------ claiming

    def claim(
        self,
        phase: str,
        *,
        agent: str,
        ttl: float = DEFAULT_TTL_S,
        holder_pid: int | None = None,
        holder_start: int | None = None,
    ) -> OwnerRecord:
        """Claim a phase for agent with one conditional UPDATE; returns the owner record with
        the fencing token. Refused (held, blocked, done, archived) with the file store's words."""
        self._check(phase)
        check_agent(agent)
        _check_ttl(ttl)
        store = self.store
        for _ in range(CLAIM_ATTEMPTS):
            params = {
                "hex": store.token_hex(8),
                "agent": agent,
                "host": store.host,
                "pid": holder_pid,
                "start": holder_start,
                "ttl": float(ttl),
                "sprint": self.sprint_id,
                "phase": phase,
            }
            with store.tx(f"claiming {phase!r}") as conn:
                won = conn.execute(_CLAIM, params).fetchone()
                if won is not None:
                    token, epoch, claimed = won[0], int(won[1]), float(won[2])
                    store._event(
                        conn, "claim", phase, agent, sprint=self.sprint_id, token=token, epoch=epoch
                    )
            if won is not None:  # committed: durable before we say so
                return OwnerRecord(
                    agent=agent,
                    token=token,
                    epoch=epoch,
                    claimed_at=iso(claimed),
                    heartbeat_at=stamp_ms(claimed),
                    ttl_s=float(ttl),
                    host=store.host,
                    holder_pid=holder_pid,
                    holder_start=holder_start,
                    sprint_id=self.sprint_id,
                    phase=phase,
                )
            self._refuse_claim(phase, agent)  # raises, unless the phase came free meanwhile
        raise Refused(f"{phase!r}: gave up after {CLAIM_ATTEMPTS} contended attempts")

    def _refuse_claim(self, phase: str, agent: str) -> None:
        """Why a claim's UPDATE matched no row, as the file store says it."""
        if self.record.status == "archived":
            raise Refused(f"sprint {self.sprint_id} is archived; start a new one")
        pv = self.phase_view(phase)
        if self.record.status == "archived":
            raise Refused(f"sprint {self.sprint_id} is archived; start a new one")
        if pv.done is not None:
            raise AlreadyDone(f"{phase!r} is already completed (by {pv.done.agent!r})")
        if pv.blocked_by:
            needs = ", ".join(repr(d) for d in pv.blocked_by)
            raise Blocked(f"{phase!r} requires {needs} to complete first")
        lv = pv.lock
        if lv is not None:
            if lv.agent == agent and lv.token:
                raise Held(
                    f"{phase!r} is already held by you ({agent}) under token "
                    f"{lv.token}; use that token, or abort it first"
                )
            hint = "; reclaim it with `conductor reclaim`" if lv.verdict == "stale" else ""
            raise Held(f"{phase!r} is locked by {lv.agent!r} ({lv.verdict}){hint}")

    def _fenced(self, conn: Connection[TupleRow], phase: str, token: str) -> str | None:
        """The fenced message of a token that has ended, or None while it has not."""
        row = conn.execute(
            "SELECT how, by_agent, extract(epoch FROM ended_at)::float8 FROM claims "
            "WHERE sprint_id = %s AND phase = %s AND token = %s",
            (self.sprint_id, phase, token),
        ).fetchone()
        if row is None:
            return None
        how, by, at = row
        return f"fenced: token {token} of {phase!r} was already {how} by {by!r} at {iso(at)}"

    def _authorize(
        self,
        conn: Connection[TupleRow],
        phase: str,
        agent: str,
        token: str | None,
        force: bool,
        verb: str,
    ) -> _Row:
        """The claim the caller may end or extend, read and locked in the caller's
        transaction, or the precise refusal (the file store's)."""
        if token is not None:
            check_token(token)
        rows = self._rows([phase], lock=True)
        if not rows:
            raise BadInput(f"the phase {phase!r} has no row in {self.store.root}; see doctor")
        row = rows[0]
        if row.token is None:
            if token is not None and (msg := self._fenced(conn, phase, token)):
                raise Fenced(msg)
            if row.state == "done" and verb != "heartbeat":
                raise AlreadyDone(f"{phase!r} is already completed")
            raise Refused(f"{phase!r} is not claimed")
        holder = row.agent or ""
        if token is not None:
            if token == row.token:
                return row
            if msg := self._fenced(conn, phase, token):
                raise Fenced(msg)
            if not force:
                raise NotOwner(f"{phase!r} is held by {holder!r} under another token")
            return row
        if holder == agent or force:
            return row
        raise NotOwner(f"{phase!r} is claimed by {holder!r}, not {agent!r}")

    def _end(
        self,
        conn: Connection[TupleRow],
        row: _Row,
        *,
        how: str,
        by: str,
        reason: str,
    ) -> None:
        """End the claim read in row: the one conditional UPDATE on its token and epoch, and
        its history record. Fenced when another caller ended it first."""
        state = "done" if how == "done" else "pending"
        changed = conn.execute(
            _RELEASE, (state, self.sprint_id, row.name, row.token, row.epoch)
        ).rowcount
        if changed != 1:
            raise Fenced(
                self._fenced(conn, row.name, row.token or "")
                or f"fenced: token {row.token} of {row.name!r} was already ended"
            )
        conn.execute(
            "INSERT INTO claims (sprint_id, phase, token, epoch, agent, host, holder_pid, "
            "holder_start, claimed_at, heartbeat_at, ttl_s, how, by_agent, ended_at, reason, "
            "nonce) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, to_timestamp(%s), to_timestamp(%s), "
            "%s, %s, %s, now(), %s, %s)",
            (
                self.sprint_id,
                row.name,
                row.token,
                row.epoch,
                row.agent or "",
                row.host,
                row.pid,
                row.start,
                row.claimed,
                row.beat,
                row.ttl,
                how,
                by,
                reason,
                self.store.token_hex(4),
            ),
        )

    def heartbeat(
        self, phase: str, *, agent: str, token: str | None = None, ttl: float | None = None
    ) -> OwnerRecord:
        """Extend the lease of the caller's claim on the server's clock; fenced if it ended."""
        self._check(phase)
        if ttl is not None:
            _check_ttl(ttl)
        with self.store.tx(f"extending the lease of {phase!r}") as conn:
            row = self._authorize(conn, phase, agent, token, False, "heartbeat")
            beat = conn.execute(
                "UPDATE phases SET heartbeat_at = now(), ttl_s = coalesce(%s, ttl_s), "
                "lease_end = now() + make_interval(secs => coalesce(%s, ttl_s)) "
                "WHERE sprint_id = %s AND name = %s AND token = %s AND epoch = %s "
                "RETURNING extract(epoch FROM heartbeat_at)::float8, ttl_s",
                (ttl, ttl, self.sprint_id, phase, row.token, row.epoch),
            ).fetchone()
            if beat is None:
                raise Fenced(f"fenced: token {row.token} of {phase!r} was already ended")
            self.store._event(
                conn, "heartbeat", phase, agent, sprint=self.sprint_id, token=row.token,
                epoch=int(row.epoch),
            )  # fmt: skip
        row.beat, row.ttl = float(beat[0]), float(beat[1])
        owner = row.owner()
        assert owner is not None
        return owner

    def complete(
        self,
        phase: str,
        *,
        agent: str,
        token: str | None = None,
        artifact: str | None = None,
        force: bool = False,
        validate: Callable[[Any], None] | None = None,
    ) -> DoneRecord:
        """Complete the caller's claim, recording the artifact's path, SHA-256 and context
        checkpoint; the done record and the end of the claim commit together."""
        self._check(phase)
        art_path, digest, checkpoint = "", None, None
        if artifact:
            art_path, digest, parsed = self.store.load_artifact(artifact, self.record.project)
            if validate is not None:
                validate(parsed)
            if isinstance(parsed, dict) and parsed.get("context_checkpoint") is not None:
                checkpoint = parsed["context_checkpoint"]
                size = len(dumps(checkpoint))
                if size > MAX_RECORD_BYTES:
                    self.warn(
                        f"the context checkpoint of {phase!r} is {size:,} bytes, over the "
                        f"{MAX_RECORD_BYTES:,} the store keeps; it was not stored, so "
                        "`context` on another machine will not show it"
                    )
                    checkpoint = None
        try:
            row, who, at = self._commit_done(
                phase, agent, token, force, art_path, digest, checkpoint
            )
        except Fenced:
            # work that will never be recorded: the audit log says so, and the app rings (the
            # file store's rule); in a transaction of its own, since the refused one rolled back
            self.store.log(
                "fenced", phase, agent, sprint=self.sprint_id, token=token, detail="done"
            )
            raise
        return DoneRecord(
            agent=who,
            completed_at=iso(float(at[0])) if at else "",
            artifact=art_path,
            token=row.token,
            epoch=int(row.epoch),
            sha256=digest,
        )

    def _commit_done(
        self,
        phase: str,
        agent: str,
        token: str | None,
        force: bool,
        art_path: str,
        digest: str | None,
        checkpoint: Any,
    ) -> tuple[_Row, str, Any]:
        """The completion's transaction: the end of the claim, the done record and the event
        commit together. Returns the claim ended, who completed it and when (the server's)."""
        with self.store.tx(f"completing {phase!r}") as conn:
            row = self._authorize(conn, phase, agent, token, force, "complete")
            self._end(conn, row, how="done", by=agent, reason="completed")
            who = (row.agent or agent) if not force else agent
            at = conn.execute(
                "INSERT INTO done (sprint_id, phase, agent, completed_at, artifact, token, epoch, "
                "sha256, checkpoint) VALUES (%s, %s, %s, now(), %s, %s, %s, %s, %s) "
                "RETURNING extract(epoch FROM completed_at)::float8",
                (
                    self.sprint_id,
                    phase,
                    who,
                    art_path,
                    row.token,
                    row.epoch,
                    digest,
                    Jsonb(checkpoint) if checkpoint is not None else None,
                ),
            ).fetchone()
            self.store._event(
                conn, "complete", phase, agent, sprint=self.sprint_id, token=row.token,
                epoch=int(row.epoch),
            )  # fmt: skip
        return row, who, at

    def abort(
        self, phase: str, *, agent: str, token: str | None = None, force: bool = False
    ) -> str:
        """Give up the caller's claim without completing it; returns who held it."""
        self._check(phase)
        with self.store.tx(f"aborting {phase!r}") as conn:
            row = self._authorize(conn, phase, agent, token, force, "abort")
            self._end(conn, row, how="aborted", by=agent, reason="aborted")
            self.store._event(conn, "abort", phase, agent, sprint=self.sprint_id, token=row.token)
        return row.agent or ""

    def reclaim(self, phase: str, *, agent: str, force: bool = False) -> LockView:
        """Free a stale lock (any lock with force), keeping the evidence in the history. The
        verdict and the action come from one reading of the locked row: the claim ended is
        exactly the one that was judged."""
        self._check(phase)
        store = self.store
        with store.tx(f"reclaiming {phase!r}") as conn:
            rows = self._rows([phase], lock=True)
            row = rows[0] if rows else None
            reading = row.reading(self.path) if row is not None else None
            lv = (
                lock_view(reading.lock, row.now, store.host, store.probe)
                if row is not None and reading is not None
                else None
            )
            if row is None or lv is None:
                raise Refused(f"{phase!r} is not locked; nothing to reclaim")
            if lv.verdict != "stale" and not force:
                why = "; ".join(lv.evidence)
                raise NotStale(
                    f"{phase!r} is {lv.verdict}, not stale ({why}); use --force to override"
                )
            self._end(conn, row, how="reclaimed", by=agent, reason="; ".join(lv.evidence))
            store._event(
                conn, "reclaim", phase, agent, sprint=self.sprint_id, token=row.token,
                epoch=lv.epoch, detail=f"{lv.agent} ({lv.verdict}; by {agent})",
            )  # fmt: skip
        return lv

    # ------------------------------------------------------------------ sprint

    def _archive(self, conn: Connection[TupleRow]) -> None:
        conn.execute(
            "UPDATE sprints SET status = 'archived', archived_at = now(), "
            "record = jsonb_set(record, '{status}', '\"archived\"') WHERE sprint_id = %s",
            (self.sprint_id,),
        )
        self.record.status = "archived"

    def archive(self) -> bytes | None:
        """Mark this sprint archived (unknown keys of its record kept)."""
        with self.store.tx("archiving the sprint") as conn:
            self._archive(conn)
        return None

    def doctor(self, fix: bool = False, *, grace_s: float = 0.0) -> list[Finding]:
        """What a transactional store can be left with: phases of the graph without a row (a
        record edited by hand), a done phase without its record. Nothing half-written exists
        to repair: every transition is one transaction."""
        from ..core.doctor import Finding

        findings: list[Finding] = []
        rows = {r.name: r for r in self._rows()}
        for position, pdef in enumerate(self.record.phases):
            row = rows.get(pdef.name)
            if row is None:
                finding = Finding(pdef.name, "the phase has no row", "insert it, pending")
                if fix:
                    with self.store.tx("repairing the sprint") as conn:
                        conn.execute(
                            "INSERT INTO phases (sprint_id, name, position, depends_on) "
                            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                            (self.sprint_id, pdef.name, position, list(pdef.depends_on)),
                        )
                    finding.fixed = True
                findings.append(finding)
            elif row.state == "done" and row.done is None:
                findings.append(
                    Finding(pdef.name, "the phase is done but its record is missing", "none")
                )
        return findings


def connect(url: PgUrl, timeout: float = CONNECT_TIMEOUT_S) -> Connection[TupleRow]:
    """A connection in autocommit mode (transactions are explicit), or Unreachable with a
    message that names the server (password redacted) and what to check."""
    try:
        return psycopg.connect(
            url.conninfo,
            autocommit=True,
            connect_timeout=max(1, int(timeout)),
            application_name="conductor",
        )
    except psycopg.Error as exc:
        reason = " ".join(redact(exc).split()) or type(exc).__name__
        raise Unreachable(
            f"cannot connect to the PostgreSQL store at {url.shown} (timeout {timeout:g} s): "
            f"{reason}; check that the server runs and that the URL, the user and the password "
            "(in the URL, $PGPASSWORD or ~/.pgpass) are right"
        ) from None


def db_error(exc: BaseException, doing: str, shown: str) -> PgError:
    """A failed request as a one-line error, the URL's password redacted."""
    reason = " ".join(redact(exc).split())[:500] or type(exc).__name__
    if isinstance(exc, psycopg.OperationalError):
        return PgError(
            f"{doing}: the PostgreSQL store at {shown} failed ({reason}); if the connection "
            "dropped during a commit, check with `conductor status` before retrying"
        )
    return PgError(f"{doing}: the PostgreSQL store at {shown} refused the request: {reason}")
