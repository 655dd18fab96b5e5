"""The PostgreSQL store's tables, created on first use and versioned.

`schema_version` holds one row per migration applied. A store whose schema is newer than this
code understands is refused (an older conductor must never write records it cannot read); an
older one is upgraded by `conductor db migrate` (`migrate`), never behind a command's back,
except on first use, when there is nothing to upgrade.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg import sql

from ..core.errors import BadInput

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.rows import TupleRow

# Each migration is a list of statements, applied in one transaction with its version row.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """
        CREATE TABLE sprints (
            sprint_id    text PRIMARY KEY,
            project      text NOT NULL,
            project_hash text NOT NULL,
            started_by   text NOT NULL DEFAULT '',
            started_at   timestamptz NOT NULL,
            status       text NOT NULL DEFAULT 'active',
            archived_at  timestamptz,
            record       jsonb NOT NULL  -- sprint.json as written: unknown keys are kept
        )
        """,
        "CREATE INDEX sprints_by_project ON sprints (project_hash, status, sprint_id)",
        """
        CREATE TABLE phases (
            sprint_id    text NOT NULL REFERENCES sprints ON DELETE CASCADE,
            name         text NOT NULL,
            position     integer NOT NULL,
            depends_on   text[] NOT NULL,
            state        text NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'running', 'done')),
            epoch        bigint NOT NULL DEFAULT 0,  -- the fencing number: only grows
            token        text,
            agent        text,
            host         text,
            holder_pid   integer,
            holder_start bigint,
            claimed_at   timestamptz,
            heartbeat_at timestamptz,
            ttl_s        double precision,
            lease_end    timestamptz,  -- heartbeat_at + ttl_s, on the server's clock
            PRIMARY KEY (sprint_id, name),
            CHECK ((state = 'running') = (token IS NOT NULL))
        )
        """,
        """
        CREATE TABLE done (
            sprint_id    text NOT NULL,
            phase        text NOT NULL,
            agent        text NOT NULL DEFAULT '',
            completed_at timestamptz NOT NULL,
            artifact     text NOT NULL DEFAULT '',
            token        text,
            epoch        bigint,
            sha256       text,
            checkpoint   jsonb,  -- the artifact's context_checkpoint, size-capped
            extra        jsonb,  -- unknown keys of an imported done record
            PRIMARY KEY (sprint_id, phase),
            FOREIGN KEY (sprint_id, phase) REFERENCES phases ON DELETE CASCADE
        )
        """,
        """
        CREATE TABLE claims (  -- ended claims: the file store's history/
            sprint_id    text NOT NULL,
            phase        text NOT NULL,
            token        text NOT NULL,
            epoch        bigint NOT NULL,
            agent        text NOT NULL DEFAULT '',
            host         text,
            holder_pid   integer,
            holder_start bigint,
            claimed_at   timestamptz,
            heartbeat_at timestamptz,
            ttl_s        double precision,
            how          text NOT NULL
                         CHECK (how IN ('done', 'aborted', 'reclaimed', 'superseded', 'crashed')),
            by_agent     text NOT NULL DEFAULT '',
            ended_at     timestamptz NOT NULL,
            reason       text NOT NULL DEFAULT '',
            nonce        text NOT NULL DEFAULT '',
            PRIMARY KEY (sprint_id, phase, token),
            FOREIGN KEY (sprint_id, phase) REFERENCES phases ON DELETE CASCADE
        )
        """,
        """
        CREATE TABLE events (  -- the audit log
            id       bigserial PRIMARY KEY,
            at       timestamptz NOT NULL DEFAULT now(),
            event    text NOT NULL,
            resource text NOT NULL DEFAULT '',
            detail   text NOT NULL DEFAULT '',
            sprint   text,
            agent    text,
            token    text,
            epoch    bigint,
            extra    jsonb
        )
        """,
        "CREATE INDEX events_by_sprint ON events (sprint, id)",
        "CREATE TABLE settings (key text PRIMARY KEY, value jsonb NOT NULL)",
    ],
}
VERSION = max(MIGRATIONS)


class SchemaError(BadInput):
    """The store's schema cannot be used by this code (newer, or older and not migrated)."""

    kind = "schema"


def _ident(schema: str) -> sql.Identifier:
    return sql.Identifier(schema)


def current_version(conn: Connection[TupleRow], schema: str) -> int | None:
    """The schema's version, or None when the store has no tables yet."""
    row = conn.execute(
        "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = 'schema_version'",
        (schema,),
    ).fetchone()
    if row is None:
        return None
    got = conn.execute(
        sql.SQL("SELECT max(version) FROM {}.schema_version").format(_ident(schema))
    ).fetchone()
    value = got[0] if got else None
    return int(value) if isinstance(value, int) else 0


def too_new(found: int, shown: str) -> SchemaError:
    """The refusal of a schema newer than this code."""
    return SchemaError(
        f"the store at {shown} has schema version {found}, newer than this conductor "
        f"understands ({VERSION}); upgrade conductor-tui on this machine"
    )


def ensure(conn: Connection[TupleRow], schema: str, shown: str) -> int:
    """Check the schema on connect; create it on first use. Returns the version in use."""
    found = current_version(conn, schema)
    if found is None or found == 0:
        return migrate(conn, schema, shown)
    if found > VERSION:
        raise too_new(found, shown)
    if found < VERSION:
        raise SchemaError(
            f"the store at {shown} has schema version {found}, older than this conductor's "
            f"({VERSION}); upgrade it with `conductor db migrate`"
        )
    return found


def migrate(conn: Connection[TupleRow], schema: str, shown: str) -> int:
    """Apply every missing migration, each in its own transaction, serialised between
    processes by an advisory lock; returns the version reached."""
    ident = _ident(schema)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"conductor-schema:{schema}",))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_version ("
                "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(ident)
        )
    while True:
        with conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"conductor-schema:{schema}",)
            )
            found = current_version(conn, schema) or 0
            if found > VERSION:
                raise too_new(found, shown)
            if found == VERSION:
                return found
            step = found + 1
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(ident))
            for statement in MIGRATIONS[step]:
                conn.execute(sql.SQL(statement))  # our own constants, never data
            conn.execute(
                sql.SQL("INSERT INTO {}.schema_version (version) VALUES (%s)").format(ident),
                (step,),
            )
