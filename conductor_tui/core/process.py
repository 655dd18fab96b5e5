"""Facts about one process (alive, zombie, start time, command name, parent), from psutil.

Nothing here reads /proc: psutil does, on Linux, and asks the kernel its own way elsewhere (sysctl
on macOS and the BSDs), so the same code judges holders on every platform.

psutil is imported on first use, not with this module: `status` on a sprint with no lock, `next`
and `--help` never pay for it (about 10 ms and a dozen modules; tests/test_hot_imports.py).

**The start time** (`holder_start` in lock records) identifies a process together with its pid.
Its unit is what older versions recorded from /proc, kept so that their records and ours judge
each other alike: the process's start in clock ticks (`SC_CLK_TCK`, 100 a second) since boot,
i.e. field 22 of /proc/<pid>/stat. psutil gives it as its *monotonic* create time, the value it
keys its own pid-reuse checks on (`create_time(monotonic=True)` of its per-platform process
object): on Linux the same ticks divided by `SC_CLK_TCK`, which the conversion below turns back
into exactly the integer /proc shows (tests/test_process.py checks it against /proc itself). On
macOS and NetBSD it is the kernel's start stamp (epoch seconds, never adjusted for clock changes),
stored in hundredths of a second. Both are fixed for a process's whole life and unaffected by
clock changes; psutil's public `create_time()` is not (epoch seconds re-derived from the boot time
at each call, which moves when the clock is stepped), so it is never used on Linux. A start time
is compared only for equality and only on the host that recorded it. When psutil cannot give the
monotonic value (another psutil, another platform), the start is None: unknown, never compared,
so a change of unit can never make a live holder look dead.
"""

from __future__ import annotations

import os
import sys
from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

# psutil's status words as the one-letter states /proc shows (what ProcInfo.state has always
# held: "Z" is a zombie). Words psutil may add later read "?": alive, not a zombie.
_LETTERS = {
    "running": "R",
    "sleeping": "S",
    "disk-sleep": "D",
    "stopped": "T",
    "tracing-stop": "t",
    "zombie": "Z",
    "dead": "X",
    "wake-kill": "K",
    "waking": "W",
    "parked": "P",
    "idle": "I",
    "locked": "L",
    "waiting": "W",
    "suspended": "T",
}

_HZ = 100  # SC_CLK_TCK where sysconf has no answer (it is 100 on Linux and macOS alike)


if TYPE_CHECKING:
    from typing import NamedTuple

    class ProcInfo(NamedTuple):
        """What the system says of one process."""

        pid: int
        ppid: int
        start: int | None  # see the module's docstring: with the pid, identifies the process
        state: str  # one letter, as /proc has it: "Z" for a zombie, "?" when it cannot be read
        comm: str  # the kernel's command name (15 characters on Linux, 16 on macOS)

else:
    # A named tuple, not a Lean record: built 0.3 us instead of 2 us, and the app's tick builds
    # one per holder every second. Immutable and hashable alike.
    ProcInfo = namedtuple("ProcInfo", "pid ppid start state comm")
    ProcInfo.__doc__ = "What the system says of one process (fields: see the type above)."


_psutil: ModuleType | None = None
_ticks: int = 0
# On Linux, the facts come from one call of psutil's own parser of the process's stat record:
# the app's tick probes every holder each second, and this costs what reading /proc by hand did
# (bench/bench_liveness.py), where the per-platform methods cost 30 % more. Off when psutil's
# record has another shape: the methods are used then (the same facts, a little slower).
_stat_record = sys.platform.startswith("linux")


def _load() -> ModuleType:
    """psutil, imported once, when a process is first asked about."""
    global _psutil, _ticks
    if _psutil is None:
        import psutil  # type: ignore[import-untyped]

        try:
            _ticks = int(os.sysconf("SC_CLK_TCK"))
        except (AttributeError, ValueError, OSError):
            _ticks = _HZ
        _psutil = psutil
    return _psutil


def proc_info(pid: int) -> ProcInfo | None:
    """The facts of process pid, or None when there is no such process."""
    global _stat_record
    if type(pid) is not int or pid <= 0:
        return None
    ps = _psutil or _load()
    try:
        low = ps._psplatform.Process(pid)
    except (AttributeError, TypeError):
        return _public_info(ps, pid)  # psutil changed its per-platform object
    except (ps.Error, OverflowError, ValueError, OSError):
        return None
    if _stat_record:
        try:
            rec = low._parse_stat_file()
            return ProcInfo(
                pid,
                int(rec["ppid"]),
                int(rec["create_time"]),  # clock ticks since boot, as /proc has it
                rec["status"].decode("ascii", "replace"),
                rec["name"].decode("utf-8", "replace"),
            )
        except ps.ZombieProcess:  # its record vanished as we read it: a zombie being reaped
            return ProcInfo(pid, 0, None, "Z", "")
        except ps.AccessDenied:
            return ProcInfo(pid, 0, None, "?", "")
        except (ps.NoSuchProcess, OverflowError, OSError):
            return None
        except (AttributeError, TypeError, KeyError, ValueError):
            _stat_record = False  # another psutil: the per-platform methods below still work
    try:
        low.oneshot_enter()  # one read of the process's record (one sysctl on macOS)
    except (AttributeError, TypeError):
        return _public_info(ps, pid)
    except (ps.Error, OverflowError, ValueError, OSError):
        return None
    try:
        return _low_info(ps, low, pid)
    except (AttributeError, TypeError):
        return _public_info(ps, pid)
    finally:
        low.oneshot_exit()


def _low_info(ps: Any, low: Any, pid: int) -> ProcInfo | None:
    """The facts from psutil's per-platform process object (what psutil.Process wraps)."""
    try:
        mono = low.create_time(monotonic=True)
    except ps.ZombieProcess:
        return ProcInfo(pid, 0, None, "Z", "")
    except ps.AccessDenied:
        return _denied(ps, low, pid)
    except (ps.NoSuchProcess, OverflowError, ValueError, OSError):
        return None
    try:
        state = _LETTERS.get(low.status(), "?")
        ppid = int(low.ppid())
        comm = str(low.name())
    except ps.ZombieProcess:
        return ProcInfo(pid, 0, _start(mono), "Z", "")
    except ps.AccessDenied:
        return _denied(ps, low, pid)
    except (ps.NoSuchProcess, OverflowError, ValueError, OSError):
        return None
    return ProcInfo(pid, ppid, _start(mono), state, comm)


def _start(mono: float) -> int:
    """psutil's monotonic create time in the records' unit (clock ticks: the module docstring)."""
    return round(mono * _ticks)


def _denied(ps: Any, low: Any, pid: int) -> ProcInfo | None:
    """A process we may not look at (another account's, on some systems) exists: alive, facts
    unknown. Its zombie state, where even that is refused, reads "?" (not a zombie)."""
    try:
        state = _LETTERS.get(low.status(), "?")
    except ps.NoSuchProcess:
        return None
    except (ps.Error, OSError):
        state = "?"
    return ProcInfo(pid, 0, None, state, "")


def _public_info(ps: Any, pid: int) -> ProcInfo | None:
    """The same facts through psutil's public API, two reads instead of one. The start is the
    public create time only where it is the kernel's fixed stamp (not on Linux: see above)."""
    try:
        proc = ps.Process(pid)
        with proc.oneshot():
            state = _LETTERS.get(proc.status(), "?")
            ppid, comm = int(proc.ppid()), str(proc.name())
            start = None if sys.platform.startswith("linux") else _start(proc.create_time())
    except ps.ZombieProcess:
        return ProcInfo(pid, 0, None, "Z", "")
    except ps.AccessDenied:
        return ProcInfo(pid, 0, None, "?", "")
    except (ps.Error, OverflowError, ValueError, OSError):
        return None
    return ProcInfo(pid, ppid, start, state, comm)
