"""LISTEN/NOTIFY: a claim made by another process reaches a listener as ids only; a dropped
connection is reconnected and reported as a full reload."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from .pg_server import BASE_URL, fresh_url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A store URL on a schema of its own, dropped after the test."""
    yield from fresh_url()


def test_a_claim_in_another_process_is_heard_with_ids_only(pg_url: str, tmp_path) -> None:
    import psycopg

    from conductor_tui.pg.listen import Listener
    from conductor_tui.pg.store import PgStore

    store = PgStore(pg_url)
    sprint = store.start(str(tmp_path), agent="tester")
    raw = psycopg.connect(BASE_URL, autocommit=True)
    raw.execute(f'LISTEN "{store.channel}"')
    with Listener(pg_url) as listener:
        assert listener.state == "connected"
        code = (
            "import sys; from conductor_tui.pg.store import PgStore; "
            "PgStore(sys.argv[1]).open_sprint(sys.argv[2]).claim('think', agent='cli', "
            "holder_pid=1)"
        )
        subprocess.run([sys.executable, "-c", code, pg_url, sprint.sprint_id], check=True)
        heard = listener.poll(5.0)
    assert not heard.reload
    assert [(c.sprint, c.phase) for c in heard.changes] == [(sprint.sprint_id, "think")]
    event = store.events(sprint=sprint.sprint_id)[-1]
    assert event.event == "sprint_claim" and heard.changes[0].event > 0
    payloads = [json.loads(n.payload) for n in raw.notifies(timeout=1.0, stop_after=2)]
    assert all(set(p) == {"event", "sprint", "phase"} for p in payloads)
    assert all("cli" not in json.dumps(p) for p in payloads)  # no agent, no token: ids only
    raw.close()
    store.close()


def test_nothing_heard_is_an_empty_poll_within_the_timeout(pg_url: str) -> None:

    from conductor_tui.pg.listen import Listener

    with Listener(pg_url) as listener:
        began = time.monotonic()
        heard = listener.poll(0.3)
        assert heard.changes == [] and not heard.reload
        assert 0.2 < time.monotonic() - began < 2


def test_a_dropped_connection_reconnects_then_asks_for_a_reload(pg_url: str, tmp_path) -> None:
    import psycopg

    from conductor_tui.pg.listen import Listener
    from conductor_tui.pg.store import PgStore

    store = PgStore(pg_url)
    sprint = store.start(str(tmp_path), agent="tester")
    listener = Listener(pg_url)
    listener.open()
    assert listener._conn is not None
    pid = listener._conn.info.backend_pid
    with psycopg.connect(BASE_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + 10
    states = set()
    reload = False
    while time.monotonic() < deadline and not reload:
        heard = listener.poll(0.5)
        states.add(listener.state)
        reload = heard.reload
    assert "reconnecting" in states and reload and listener.state == "connected"
    assert "password" not in listener.error
    sprint.claim("think", agent="a", holder_pid=os.getpid())
    heard = listener.poll(5.0)
    assert [c.phase for c in heard.changes] == ["think"]
    listener.close()
    store.close()
