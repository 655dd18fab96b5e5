"""URLs, redaction, an unreachable server, and the schema's version: clear one-line errors
with exit 2, never a traceback and never a password."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from conductor_tui.core.errors import BadInput, ConductorError
from conductor_tui.pg import is_pg_url, store_spec
from conductor_tui.pg.url import parse, redact

from .pg_server import BASE_URL, drop_schema, fresh_url, need_driver, need_server, with_schema

SECRET = "s3cr3t-Pa55"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A store URL on a schema of its own, dropped after the test."""
    yield from fresh_url()


@pytest.mark.parametrize(
    "text",
    [
        f"postgresql://alice:{SECRET}@db.example:5432/team?schema=x",
        f"postgres://:{SECRET}@db/team",
        f"postgresql://alice:{SECRET}@db/team and again postgresql://bob:{SECRET}@db2/t",
        f"host=db password={SECRET} dbname=team",
        f"host=db password='{SECRET} x' dbname=team",
        f"postgresql://db/team?sslmode=disable&password={SECRET}",
        f"failed: connection to postgresql://alice:{SECRET}@db/team refused",
    ],
)
def test_redact_hides_every_password(text: str) -> None:
    shown = redact(text)
    assert SECRET not in shown and "***" in shown


def test_redact_leaves_urls_without_password_alone() -> None:
    for text in ("postgresql://alice@db/team", "/home/alice/.nanostack", "plain words"):
        assert redact(text) == text


def test_parse_splits_our_schema_from_libpq_parameters() -> None:
    url = parse(f"postgresql://alice:{SECRET}@db:5433/team?schema=sprints_a&sslmode=require")
    assert url.schema == "sprints_a"
    assert "schema=" not in url.conninfo and "sslmode=require" in url.conninfo
    assert SECRET not in url.shown and SECRET in url.conninfo
    assert parse("postgresql://db/team").schema == "conductor"
    for bad in ("postgresql://db/team?schema=Robert'); DROP", "postgresql://db/t?schema=a-b"):
        with pytest.raises(BadInput) as caught:
            parse(bad)
        assert "invalid schema" in caught.value.message
    with pytest.raises(BadInput) as caught:
        parse(f"postgresql://alice:{SECRET}@db:notaport/team")
    assert SECRET not in caught.value.message


def test_parse_hands_libpq_parameters_over_as_written() -> None:
    """libpq percent-decodes a URL's parameters but reads "+" as itself: a space written %20
    must stay %20 (not become "+"), and a "+" must stay a "+"."""
    url = parse(
        "postgresql://db/team?options=-c%20lock_timeout%3D1234&schema=s_1"
        "&application_name=a+b&sslmode=require"
    )
    assert url.schema == "s_1"
    assert url.conninfo == (
        "postgresql://db/team?options=-c%20lock_timeout%3D1234&application_name=a+b&sslmode=require"
    )
    assert parse("postgresql://db/team?schema=%73_2").schema == "s_2"


def test_libpq_options_in_the_url_reach_the_server(pg_url: str) -> None:
    from conductor_tui.pg.store import PgStore

    with PgStore(f"{pg_url}&options=-c%20lock_timeout%3D1234%20-c%20work_mem%3D5MB") as store:
        assert store.conn.execute("SHOW lock_timeout").fetchone() == ("1234ms",)
        assert store.conn.execute("SHOW work_mem").fetchone() == ("5MB",)


def test_store_spec_keeps_urls_and_follows_config(tmp_path, monkeypatch) -> None:
    url = "postgresql://db/team"
    project = str(tmp_path)
    assert store_spec(url, project, env={}) == url
    assert store_spec(None, project, env={"NANOSTACK_STORE": url}) == url
    store = tmp_path / "store"
    store.mkdir()
    (store / "config.json").write_text('{"store": "postgresql://db/team?schema=x"}')
    assert store_spec(None, project, env={"NANOSTACK_STORE": str(store)}) == url + "?schema=x"
    (store / "config.json").write_text('{"phase_graph": null}')
    assert store_spec(None, project, env={"NANOSTACK_STORE": str(store)}) == str(store)
    assert is_pg_url("POSTGRESQL://x") and not is_pg_url("/srv/postgresql://x")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_closed_port_fails_fast_with_a_clear_message() -> None:
    need_driver()
    from conductor_tui.pg.store import PgStore, Unreachable

    url = f"postgresql://alice:{SECRET}@127.0.0.1:{_closed_port()}/team"
    began = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        PgStore(url).find_active("/x")
    assert time.monotonic() - began < 5
    err = caught.value
    assert isinstance(err, ConductorError) and err.exit_code == 2 and err.word == "ERROR"
    assert SECRET not in str(err) and "alice:***@127.0.0.1" in err.message
    assert err.message.startswith("cannot connect to the PostgreSQL store at ")
    assert "\n" not in err.message


def test_an_unroutable_server_gives_up_within_the_connect_timeout() -> None:
    need_driver()
    from conductor_tui.pg.store import PgStore, Unreachable

    began = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        PgStore(f"postgresql://alice:{SECRET}@10.255.255.1:5432/team").find_active("/x")
    assert time.monotonic() - began < 6.5  # 5 s connect timeout, with slack for the runner
    assert SECRET not in caught.value.message


def test_a_missing_database_is_a_clear_error() -> None:
    need_server()
    from conductor_tui.pg.store import PgStore, Unreachable

    base = BASE_URL.rsplit("/", 1)[0]
    with pytest.raises(Unreachable) as caught:
        PgStore(f"{base}/no_such_db_{SECRET.lower().replace('-', '_')}x").find_active("/x")
    assert "does not exist" in caught.value.message


def test_a_newer_schema_is_refused_and_migrate_is_idempotent() -> None:
    need_server()
    from conductor_tui.pg import schema as pg_schema
    from conductor_tui.pg.store import PgStore

    name = f"t_{__import__('os').urandom(8).hex()}"
    try:
        with PgStore(with_schema(name)) as store:
            assert store.find_active("/x") is None
            assert store.schema_version == pg_schema.VERSION
            assert store.migrate() == (pg_schema.VERSION, pg_schema.VERSION)
            store.conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (99,))
        with pytest.raises(pg_schema.SchemaError) as caught:
            PgStore(with_schema(name)).find_active("/x")
        msg = caught.value.message
        assert "schema version 99, newer than this conductor understands" in msg
        assert caught.value.exit_code == 2
        with pytest.raises(pg_schema.SchemaError):
            PgStore(with_schema(name)).migrate()
    finally:
        drop_schema(name)


def test_a_server_that_drops_the_connection_is_an_error_then_a_reconnect(pg_url: str) -> None:
    import psycopg

    from conductor_tui.pg.store import PgError, PgStore

    store = PgStore(pg_url)
    sprint = store.start("/tmp/proj-x", agent="a")
    pid = store.conn.info.backend_pid
    with psycopg.connect(BASE_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(PgError) as caught:
        sprint.view()
    assert "failed" in caught.value.message and caught.value.exit_code == 2
    assert sprint.view().phase("think").status == "ready"  # the next call reconnects
    store.close()
