"""Held, suspect or stale: the verdict on a lock, with the evidence behind it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import lru_cache

from .lean import Lean
from .limits import UPSTREAM_STALE_S
from .models import LockMeta, OwnerRecord

# the process facts live in process.py (psutil); callers have always imported them from here
from .process import ProcInfo as ProcInfo
from .process import proc_info as proc_info

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .vocab import Verdict

# Processes that merely run the command for someone else: the holder is above them.
WRAPPERS = frozenset(
    [
        "sh",
        "bash",
        "dash",
        "zsh",
        "fish",
        "ksh",
        "mksh",
        "tcsh",
        "csh",
        "ash",
        "busybox",
        "env",
        "nohup",
        "timeout",
        "sudo",
        "su",
        "xargs",
        "time",
        "setsid",
        "stdbuf",
        "nice",
        "ionice",
        "script",
        "uv",
        "uvx",
        "pipx",
        "poetry",
    ]
)


def iso(ts: float) -> str:
    """UTC timestamp in upstream's format, 2026-11-21T10:02:11Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def iso_ms(ts: float) -> str:
    """UTC timestamp with milliseconds, for lease fields: a lease must not lose up to a second."""
    whole = int(ts)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((ts - whole) * 1000):03d}Z"
    )


def parse_iso(text: str | None) -> float | None:
    """Epoch seconds of an ISO-8601 UTC timestamp, or None when it cannot be read."""
    if not text or not isinstance(text, str) or len(text) > 40:
        return None
    fast = _parse_utc(text)
    if fast is not None:
        return fast
    from datetime import datetime  # what _parse_utc does not read (1.3 ms to import)

    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        return None
    return stamp.timestamp()


_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@lru_cache(maxsize=4096)
def _parse_utc(text: str) -> float | None:
    """Our own stamps, YYYY-MM-DDTHH:MM:SSZ and YYYY-MM-DDTHH:MM:SS.mmmZ, read without datetime;
    None for anything else (datetime then decides). Same value as datetime's timestamp().
    Kept by text: a reader judges the same held locks' stamps at every reading."""
    if len(text) not in (20, 24) or text[-1] != "Z":
        return None
    if text[4] != "-" or text[7] != "-" or text[10] != "T" or text[13] != ":" or text[16] != ":":
        return None
    digits = text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]
    micro = 0
    if len(text) == 24:
        if text[19] != "." or not text[20:23].isdigit() or not text[20:23].isascii():
            return None
        micro = int(text[20:23]) * 1000
    if not (digits.isdigit() and digits.isascii()):
        return None
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if year < 1 or not 1 <= month <= 12 or hour > 23 or minute > 59 or second > 59:
        return None
    if not 1 <= day <= _DAYS[month - 1] + (1 if month == 2 and leap else 0):
        return None
    # days from 1970-01-01 to the date (Howard Hinnant's days_from_civil)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    whole = days * 86400 + hour * 3600 + minute * 60 + second
    return (whole * 10**6 + micro) / 10**6


def hostname() -> str:
    """This machine's name as recorded in our lock records (what socket.gethostname() says:
    the kernel's node name, read without importing socket)."""
    return os.uname().nodename


def holder_process(explicit: int | None = None) -> tuple[int, int | None]:
    """The long-lived process a claim belongs to, with its start time: --pid, else the nearest
    ancestor that is not a wrapper (a shell, env, timeout, uv...), walking parents through
    psutil."""
    if explicit is not None:
        info = proc_info(explicit)
        return explicit, info.start if info else None
    pid = os.getppid()
    for _ in range(32):
        info = proc_info(pid)
        if info is None:
            break
        if info.comm not in WRAPPERS or info.ppid <= 1:
            return info.pid, info.start
        pid = info.ppid
    info = proc_info(os.getppid())
    return os.getppid(), info.start if info else None


class Judgement(Lean, frozen=True, kw_only=False):
    """A verdict and the facts that support it."""

    verdict: Verdict
    evidence: list[str]
    holder_alive: bool | None
    lease_expires_in: float | None
    age_s: float | None


def _ago(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _alive(
    pid: int | None, start: int | None, probe: Callable[[int], ProcInfo | None]
) -> tuple[bool | None, str]:
    """Whether the recorded holder is still the same live process on this host. A start time
    that cannot be read now (psutil without its monotonic create time) is not compared: an
    unknown is never taken for another process."""
    if pid is None:
        return None, "no holder pid recorded"
    info = probe(pid)
    if info is None:
        return False, f"holder pid {pid} is gone"
    if info.state == "Z":
        return False, f"holder pid {pid} is a zombie"
    if start is not None and info.start is not None and info.start != start:
        return False, f"pid {pid} now belongs to another process (start time differs)"
    return True, f"holder pid {pid} is alive"


def judge_fenced(
    owner: OwnerRecord,
    *,
    now: float,
    here: str,
    probe: Callable[[int], ProcInfo | None] = proc_info,
) -> Judgement:
    """Verdict on one of our claims: lease first, then the holder process when it is local."""
    beat = parse_iso(owner.heartbeat_at)
    claimed = parse_iso(owner.claimed_at)
    age = None if claimed is None else now - claimed
    if beat is None:
        return Judgement("malformed", ["heartbeat_at is unreadable"], None, None, age)
    left = beat + owner.ttl_s - now
    lease = f"lease runs {_ago(left)} more" if left > 0 else f"lease ran out {_ago(left)} ago"
    if owner.host != here:
        evidence = [lease, f"holder is on host {owner.host!r}: its process cannot be checked here"]
        return Judgement("held" if left > 0 else "stale", evidence, None, left, age)
    alive, why = _alive(owner.holder_pid, owner.holder_start, probe)
    if alive is False:
        return Judgement("stale", [why, lease], False, left, age)
    if left > 0:
        return Judgement("held", [lease, why], alive, left, age)
    if alive:
        return Judgement("suspect", [lease, why + ": it may be hung or busy"], True, left, age)
    return Judgement("stale", [lease, why], None, left, age)


def judge_upstream(
    meta: LockMeta,
    *,
    mtime: float | None,
    now: float,
    probe: Callable[[int], ProcInfo | None] = proc_info,
) -> Judgement:
    """Verdict on a lock written by upstream sprint.sh: stale after an hour with its pid gone."""
    claimed = parse_iso(meta.claimed_at)
    since = mtime if mtime is not None else claimed
    age = None if since is None else now - since
    alive, why = _alive(meta.pid, None, probe)
    evidence = ["upstream lock (no token): judged by upstream's rule, 1 h and pid gone"]
    if age is None:
        evidence.append("its age cannot be read")
        return Judgement("held", evidence, alive, None, None)
    evidence.append(f"written {_ago(age)} ago; {why}")
    if age > UPSTREAM_STALE_S and alive is not True:
        return Judgement("stale", evidence, alive, UPSTREAM_STALE_S - age, age)
    return Judgement("held", evidence, alive, UPSTREAM_STALE_S - age, age)
