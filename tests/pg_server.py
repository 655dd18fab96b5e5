"""The PostgreSQL server the pg tests run against, and a fresh schema for each test.

The server is $CONDUCTOR_PG_URL, else postgresql://postgres@127.0.0.1:5432/test. Where it cannot
be reached (or psycopg cannot be loaded) the tests skip and say why, unless
CONDUCTOR_PG_REQUIRED=1, which turns that into a failure (CI sets it: a missing server must never
turn CI green).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator

import pytest

BASE_URL = os.environ.get("CONDUCTOR_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRED = os.environ.get("CONDUCTOR_PG_REQUIRED") == "1"


@functools.cache
def server_problem() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None when they can."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg cannot be loaded ({exc}); pip install -e '.[test]'"
    try:
        with psycopg.connect(BASE_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        from conductor_tui.pg.url import redact

        first = " ".join(redact(exc).split())[:200]
        return f"no PostgreSQL server at {redact(BASE_URL)} ({first}); set CONDUCTOR_PG_URL"
    return None


def need_server() -> None:
    """Skip (or, with CONDUCTOR_PG_REQUIRED=1, fail) when there is no server."""
    problem = server_problem()
    if problem is None:
        return
    if REQUIRED:
        pytest.fail(f"CONDUCTOR_PG_REQUIRED=1 but {problem}")
    pytest.skip(problem)


def need_driver() -> None:
    """Skip (or, with CONDUCTOR_PG_REQUIRED=1, fail) when psycopg cannot be loaded."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        problem = f"psycopg cannot be loaded ({exc}); pip install -e '.[test]'"
        if REQUIRED:
            pytest.fail(f"CONDUCTOR_PG_REQUIRED=1 but {problem}")
        pytest.skip(problem)


def with_schema(schema: str) -> str:
    """The base URL with our schema parameter."""
    return f"{BASE_URL}{'&' if '?' in BASE_URL else '?'}schema={schema}"


def drop_schema(schema: str) -> None:
    """Remove a test's schema and everything in it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(BASE_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def fresh_url() -> Iterator[str]:
    """A store URL on a schema of its own, dropped after the test (a fixture's body:
    `yield from fresh_url()`)."""
    need_server()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        yield with_schema(schema)
    finally:
        drop_schema(schema)
