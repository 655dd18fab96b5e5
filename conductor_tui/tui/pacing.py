"""How often the app may re-read the store and redraw: a budget of CPU time.

A monitoring pane must not take a core from the agents it watches. Each re-read and redraw of a
big sprint costs tens of milliseconds, and a busy team can change the store twenty times a
second. The app therefore spends CPU from a bucket: it fills at `share` CPU-seconds per second
of wall time, up to `burst` seconds, and every CPU-second the process used since the last look
is taken out. While there is credit, a change is shown at once (a claim after a quiet spell
shows within one reload); once a sustained stream has used it up, the next reload waits until
the bucket is back above zero, so the redraw rate falls to what `share` pays for and changes
arrive together, a little later (never more than `max_wait_s`), instead of the app taking the
whole core.
"""

from __future__ import annotations

import time
from collections.abc import Callable

SHARE = 0.06  # of a core, sustained, for re-reading and redrawing
BURST_S = 0.4  # CPU seconds of credit: a quiet app answers the next few changes at once
MAX_WAIT_S = 1.0  # never later than this: the debt is capped, whatever the process spent


class CpuBudget:
    """A token bucket of CPU seconds. `wait()` says how long the next piece of work should
    wait (0.0: now); the clock and the CPU counter are injected for tests."""

    def __init__(
        self,
        share: float = SHARE,
        burst_s: float = BURST_S,
        max_wait_s: float = MAX_WAIT_S,
        *,
        clock: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        if share <= 0 or burst_s <= 0:
            raise ValueError("a budget needs a positive share and burst")
        self.share = share
        self.burst_s = burst_s
        self.floor = -share * max_wait_s
        self._clock = clock
        self._cpu = cpu
        self._at = clock()
        self._cpu_at = cpu()
        self.credit = burst_s

    def _settle(self) -> None:
        now, used = self._clock(), self._cpu()
        earned = self.share * max(0.0, now - self._at)
        spent = max(0.0, used - self._cpu_at)
        self.credit = max(self.floor, min(self.burst_s, self.credit + earned) - spent)
        self._at, self._cpu_at = now, used

    def reset(self) -> None:
        """Full credit from now on (after start-up, whose cost is not a stream of changes)."""
        self._at, self._cpu_at = self._clock(), self._cpu()
        self.credit = self.burst_s

    def wait(self) -> float:
        """Seconds until there is credit again (0.0 when there is some now)."""
        self._settle()
        return 0.0 if self.credit > 0 else -self.credit / self.share
