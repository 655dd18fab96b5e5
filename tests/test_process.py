"""Process facts from psutil (core/process.py): the same facts, the same unit, the same verdicts.

The start time in lock records has always been /proc's clock ticks since boot; records written by
older versions (and by this one) must judge a live holder alive and a replaced pid dead. These
tests read /proc themselves, as the reference, where there is one; the package never does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from conductor_tui.core import process
from conductor_tui.core.liveness import (
    ProcInfo,
    hostname,
    iso,
    judge_fenced,
    judge_upstream,
    proc_info,
)
from conductor_tui.core.models import LockMeta, OwnerRecord

LINUX_PROC = sys.platform.startswith("linux") and os.path.exists("/proc/self/stat")


def proc_stat(pid: int) -> tuple[int, int, str, str]:
    """(ppid, start ticks, state, comm) as /proc/<pid>/stat says: the reference."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        raw = fh.read().decode("utf-8", "replace")
    left, right = raw.find("("), raw.rfind(")")
    fields = raw[right + 2 :].split()
    return int(fields[1]), int(fields[19]), fields[0], raw[left + 1 : right]


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(params=["stat record", "per-platform methods", "public API"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each of the three ways proc_info asks psutil, the fallbacks forced."""
    process._load()
    if request.param != "stat record":
        monkeypatch.setattr(process, "_stat_record", False)
    if request.param == "public API":
        monkeypatch.setattr(process, "_low_info", _refuse)
    return str(request.param)


def _refuse(*_args: object) -> ProcInfo | None:
    raise AttributeError("as if psutil had changed its per-platform object")


@pytest.mark.skipif(not LINUX_PROC, reason="the reference is Linux's /proc")
def test_the_facts_are_procs_own(child: subprocess.Popen[bytes], way: str) -> None:
    time.sleep(0.05)
    info = proc_info(child.pid)
    assert info is not None
    ppid, start, state, comm = proc_stat(child.pid)
    assert (info.pid, info.ppid, info.state, info.comm) == (child.pid, ppid, state, comm)
    if way == "public API":
        assert info.start is None  # psutil's public create time moves with the clock: not used
    else:
        assert info.start == start, "the start time is not in the records' unit any more"


def test_the_fast_way_is_taken_here() -> None:
    """With the pinned psutil, Linux uses the stat record and nothing falls back: a psutil that
    changed its insides fails this test (the facts stay right, the tick gets slower)."""
    proc_info(os.getpid())
    if sys.platform.startswith("linux"):
        assert process._stat_record, "psutil's stat record changed shape: see core/process.py"
    info = proc_info(os.getpid())
    assert info is not None and info.start is not None, "no monotonic create time from psutil"


def test_no_such_process(way: str) -> None:
    for pid in (0, -1, 2**22 + 12345, 2**40, True):
        assert proc_info(pid) is None, pid  # type: ignore[arg-type]


def test_a_zombie_is_a_zombie(way: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while True:
            info = proc_info(proc.pid)
            if (info is not None and info.state == "Z") or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert info is not None and info.state == "Z", info
    finally:
        proc.wait()
    assert proc_info(proc.pid) is None


def owner(pid: int, start: int | None, now: float, ttl: float = 600.0) -> OwnerRecord:
    return OwnerRecord(
        agent="a",
        token="1-x",
        epoch=1,
        claimed_at=iso(now - 10),
        heartbeat_at=iso(now - 10),
        ttl_s=ttl,
        host=hostname(),
        holder_pid=pid,
        holder_start=start,
    )


@pytest.mark.skipif(not LINUX_PROC, reason="older versions recorded /proc's ticks: Linux only")
def test_records_of_older_versions_judge_alike(child: subprocess.Popen[bytes]) -> None:
    """A start recorded from /proc by an older version: alive while the process lives, and a
    different start is another process, with today's evidence word for word."""
    now = time.time()
    _, start, _, _ = proc_stat(child.pid)
    held = judge_fenced(owner(child.pid, start, now), now=now, here=hostname())
    assert held.verdict == "held" and held.holder_alive is True
    assert held.evidence == ["lease runs 10 min more", f"holder pid {child.pid} is alive"]
    other = judge_fenced(owner(child.pid, start + 1, now), now=now, here=hostname())
    assert other.verdict == "stale"
    assert (
        other.evidence[0] == f"pid {child.pid} now belongs to another process (start time differs)"
    )


def test_an_unknown_start_is_never_another_process(child: subprocess.Popen[bytes]) -> None:
    """When psutil cannot give the start now, a recorded start is not compared: alive."""
    now = time.time()

    def probe(pid: int) -> ProcInfo | None:
        return ProcInfo(pid, 1, None, "S", "python")

    j = judge_fenced(owner(child.pid, 12345, now), now=now, here=hostname(), probe=probe)
    assert j.verdict == "held" and j.evidence[1] == f"holder pid {child.pid} is alive"


def test_verdicts_of_gone_and_zombie_holders_read_as_before() -> None:
    now = time.time()
    gone = judge_fenced(owner(2**22 + 12345, 5, now), now=now, here=hostname())
    assert (gone.verdict, gone.evidence[0]) == ("stale", f"holder pid {2**22 + 12345} is gone")

    def zombie(pid: int) -> ProcInfo | None:
        return ProcInfo(pid, 1, 5, "Z", "x")

    z = judge_fenced(owner(4242, 5, now), now=now, here=hostname(), probe=zombie)
    assert (z.verdict, z.evidence[0]) == ("stale", "holder pid 4242 is a zombie")
    meta = LockMeta(agent="up", claimed_at=iso(now - 7200), pid=2**22 + 12345)
    up = judge_upstream(meta, mtime=None, now=now)
    assert up.verdict == "stale"
    assert up.evidence[1] == f"written 2.0 h ago; holder pid {2**22 + 12345} is gone"


def test_the_holder_walk_skips_wrappers() -> None:
    """claim's holder: the nearest ancestor that is not a shell, through psutil."""
    code = (
        "from conductor_tui.core.liveness import holder_process; import os; "
        "print(holder_process()[0], os.getppid())"
    )
    script = f"{sys.executable} -c '{code}'; true"  # `; true`: sh stays, as the parent
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    holder, parent = (int(x) for x in out.stdout.split())
    assert parent != os.getpid(), "sh did not stay: nothing was skipped"
    assert holder == os.getpid(), (holder, parent, os.getpid())  # sh skipped, pytest found
    pid, start = process_holder(os.getpid())
    assert pid == os.getpid() and start == proc_info(os.getpid()).start  # type: ignore[union-attr]


def process_holder(pid: int) -> tuple[int, int | None]:
    from conductor_tui.core.liveness import holder_process

    return holder_process(pid)
