"""Live updates from a PostgreSQL store: LISTEN on its channel, ids only in each payload.

A `Listener` is polled by whoever owns it (the app's watcher thread, a test, the bench); it
starts no thread of its own. Each notification names an event, a sprint and a phase, never
their content: the reader re-reads what changed. After a dropped connection it reconnects
with a growing backoff and reports `reload`: whatever happened meanwhile was not heard, so the
reader reloads everything.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from .store import PgStore, connect
from .url import CONNECT_TIMEOUT_S, PgUrl, parse, redact

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.rows import TupleRow

__all__ = ["Change", "Listener", "Poll"]

MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class Change:
    """One notification: which event, in which sprint, about which phase ('' for none)."""

    event: int
    sprint: str
    phase: str


@dataclass
class Poll:
    """What one poll heard: changes, and whether the reader must reload everything."""

    changes: list[Change] = field(default_factory=list)
    reload: bool = False

    def sprints(self) -> set[str]:
        """The sprints that changed."""
        return {c.sprint for c in self.changes}


def parse_payload(payload: str) -> Change | None:
    """A notification's payload, or None when it is not one of ours (then: reload)."""
    try:
        raw = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    event, sprint, phase = raw.get("event"), raw.get("sprint"), raw.get("phase")
    if not isinstance(event, int) or not isinstance(sprint, str) or not isinstance(phase, str):
        return None
    return Change(event, sprint, phase)


class Listener:
    """LISTEN on a store's channel; `poll` returns what was heard, reconnecting when needed.

    `state` is what a header shows: "connected", "reconnecting" (with `error`, redacted).
    """

    def __init__(
        self,
        url: str | PgUrl,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.url = url if isinstance(url, PgUrl) else parse(url)
        self.channel = PgStore(self.url).channel
        self.connect_timeout = connect_timeout
        self.state = "reconnecting"
        self.error = ""
        self._conn: Connection[TupleRow] | None = None
        self._backoff = 0.5
        self._retry_at = 0.0
        self._lost = False  # a connection was lost: the next success reports reload

    def open(self) -> None:
        """Connect and LISTEN (Unreachable when the server cannot be reached)."""
        conn = connect(self.url, self.connect_timeout)
        try:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        except psycopg.Error:
            conn.close()
            raise
        self._conn = conn
        self.state, self.error = "connected", ""
        self._backoff = 0.5

    def close(self) -> None:
        """Stop listening."""
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None

    def __enter__(self) -> Listener:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drop(self, exc: BaseException) -> None:
        self.close()
        self.state = "reconnecting"
        self.error = " ".join(redact(exc).split())[:300]
        self._lost = True
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(MAX_BACKOFF_S, self._backoff * 2)

    def poll(self, timeout: float) -> Poll:
        """Wait up to timeout seconds for notifications; returns as soon as some arrive."""
        from .store import Unreachable

        out = Poll()
        if self._conn is None:
            wait = self._retry_at - time.monotonic()
            if wait > timeout:
                time.sleep(max(0.0, timeout))
                return out
            if wait > 0:
                time.sleep(wait)
                timeout -= wait
            try:
                self.open()
            except (Unreachable, psycopg.Error) as exc:
                self._drop(exc)
                return out
            if self._lost:
                self._lost = False
                out.reload = True
                return out
        conn = self._conn
        assert conn is not None
        try:
            for note in conn.notifies(timeout=max(0.0, timeout), stop_after=1):
                self._take(out, note.payload)
            if out.changes or out.reload:  # drain what arrived with it, without waiting
                for note in conn.notifies(timeout=0.0):
                    self._take(out, note.payload)
        except psycopg.Error as exc:
            self._drop(exc)
        return out

    @staticmethod
    def _take(out: Poll, payload: str) -> None:
        change = parse_payload(payload)
        if change is None:
            out.reload = True
        else:
            out.changes.append(change)
