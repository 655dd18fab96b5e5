"""The app's watcher on a PostgreSQL store: LISTEN in a thread of its own, one callback per
burst of notifications, a full reload after a dropped connection; the connection's state for
the header. The counterpart of conductor_tui/watch.py's ChangeBridge (the same start/stop/
watch_sprint surface); it never imports textual: the app hands in a thread-safe callback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .listen import Listener

__all__ = ["ListenBridge"]

POLL_S = 0.5  # how long one wait for notifications lasts (stop() is noticed within it)


CHANGED = frozenset({"<database>"})  # what a notification reports: not a path; a whole read


class ListenBridge:
    """Call on_change(CHANGED) whenever the store's channel speaks, and once more after a
    reconnection (what was missed meanwhile is read again); the loader reads the sprint whole.
    (An empty set would be the file bridge's periodic rescan, which the app may skip.)"""

    def __init__(self, url: str, on_change: Callable[[frozenset[str]], None]) -> None:
        self._listener = Listener(url)
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fallback: str | None = None  # the file bridge's: a database never polls
        self.bursts = 0

    @property
    def state(self) -> str:
        """`connected`, or `reconnecting: <why>` (redacted), for the header."""
        listener = self._listener
        if listener.state == "connected":
            return "connected"
        return f"reconnecting: {listener.error}" if listener.error else "connecting"

    def start(self) -> None:
        """Start listening in a daemon thread (connecting happens there, never on the UI's)."""
        self._thread = threading.Thread(target=self._run, name="conductor-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and join (bounded); safe more than once."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(2 * POLL_S + 1)
        self._listener.close()

    def watch_sprint(self, _sprint_dir: str | None) -> None:
        """The file bridge's hook; every sprint of the store speaks on one channel."""

    def _run(self) -> None:
        was = self._listener.state
        while not self._stop.is_set():
            heard = self._listener.poll(POLL_S)
            now = self._listener.state
            if heard.changes or heard.reload or now != was:
                was = now
                self.bursts += 1
                try:
                    self._on_change(CHANGED)
                except Exception:  # the thread outlives a bad callback
                    continue
