"""How often the app may re-read the store and redraw: a budget of CPU time.

A monitoring pane must not take a core from the agents it watches. Each re-read and redraw of a
big sprint costs tens of milliseconds, and a busy team can change the store twenty times a
second. The app therefore spends from a bucket: it fills at `share` seconds per second of wall
time, up to `burst` seconds, and what the app spends is charged to it: at each reading shown,
the loader thread's CPU time for it and all the UI thread's since the last charge (applying and
painting, and the screen updates, timers and messages between readings: charging only the apply
and paint was seen to leave about 40 % of the UI thread's time uncounted). Whatever else runs on
the UI thread is charged too (a test's or a benchmark's own code, in theirs). While there is
credit, a change is shown at once (a claim after a quiet spell shows within one reload); once a
sustained stream has used it up, the next reload waits until the bucket is back above zero, so
the redraw rate falls to what `share` pays for and changes arrive together, a little later
(never more than `max_wait_s`), instead of the app taking the whole core. A reload that waits
for credit does not wait past the stream, though: once no change has come for QUIET_S, what the
stream left is shown at once (a burst's last state settles a moment after its last write, not up
to a second later). The watcher's own threads are not charged: they are cheap and not paced.
"""

from __future__ import annotations

import time
from collections.abc import Callable

SHARE = 0.06  # of a core, sustained, for re-reading and redrawing
BURST_S = 1.0  # CPU seconds of credit: a quiet app answers a burst of changes at once
MAX_WAIT_S = 1.0  # never later than this: the debt is capped, whatever the process spent
# no change for this long: the stream has stopped, and a reload waiting for credit runs now.
# Twice the gap of the steady stream the budget is for (ten claims and ten aborts a second:
# a change every 50-60 ms), which it keeps paced; measured at 1,000 phases on a pty, 0.10 and
# 0.15 cost the same under that stream (7.9 and 8.2 % of a core), and a claim that waits in a
# slower stream shows in about 130 ms instead of 180 (bench/bench_tui.py, 200 claims).
QUIET_S = 0.10


class CpuBudget:
    """A token bucket of seconds of work. `charge()` takes what a piece of work cost; `wait()`
    says how long the next one should wait (0.0: now). The clock is injected for tests."""

    def __init__(
        self,
        share: float = SHARE,
        burst_s: float = BURST_S,
        max_wait_s: float = MAX_WAIT_S,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if share <= 0 or burst_s <= 0 or max_wait_s <= 0:
            raise ValueError("a budget needs a positive share, burst and wait")
        self.share = share
        self.burst_s = burst_s
        self.floor = -share * max_wait_s  # the most debt: never a longer wait than max_wait_s
        self._clock = clock
        self._at = clock()
        self.credit = burst_s

    def _earn(self) -> None:
        now = self._clock()
        self.credit = min(self.burst_s, self.credit + self.share * max(0.0, now - self._at))
        self._at = now

    def charge(self, seconds: float) -> None:
        """Take the cost of a piece of work done."""
        self._earn()
        self.credit = max(self.floor, self.credit - max(0.0, seconds))

    def wait(self) -> float:
        """Seconds until there is credit again (0.0 when there is some now)."""
        self._earn()
        return 0.0 if self.credit > 0 else -self.credit / self.share
