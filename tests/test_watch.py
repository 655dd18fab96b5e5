"""ChangeBridge on real directories with real file events, the writes made by separate processes.

Every bridge test runs twice: on our own inotify tree observer (what the app uses on Linux) and
on watchdog's observer (what it uses elsewhere, and the fallback's sibling)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from conductor_tui import inotify
from conductor_tui.watch import ChangeBridge, TreeObserver, native_observer

SPRINT_ID = "3f2a9c1b7d4e-20261121-094744"
WAIT_S = 5.0

Paths = frozenset[str]


class Recorder:
    """A callback that keeps every delivered path set and wakes waiting tests."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[Paths] = []
        self.changed = threading.Event()
        self._lock = threading.Lock()
        self._fail = fail

    def __call__(self, paths: Paths) -> None:
        with self._lock:
            self.calls.append(paths)
        self.changed.set()
        if self._fail:
            raise RuntimeError("callback blew up (on purpose)")

    def snapshot(self) -> list[Paths]:
        """The calls so far."""
        with self._lock:
            return list(self.calls)

    def seen(self) -> set[str]:
        """Every path delivered so far."""
        return set().union(*self.snapshot())

    def wait_for(self, pred: Callable[[list[Paths]], bool], timeout: float = WAIT_S) -> None:
        """Block until pred(calls) holds, failing after timeout; no polling sleeps."""
        deadline = time.monotonic() + timeout
        while True:
            self.changed.clear()  # before the check, so a call landing after it still wakes us
            if pred(self.snapshot()):
                return
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no matching callback within {timeout}s; got {self.snapshot()!r}")
            self.changed.wait(timeout=left)

    def wait_for_path(self, path: str | Path, timeout: float = WAIT_S) -> None:
        """Block until some callback has delivered path."""
        wanted = str(path)
        self.wait_for(lambda calls: any(wanted in c for c in calls), timeout)


def run_py(code: str) -> None:
    """Run code in a separate Python process and wait for it."""
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, timeout=60)


def write_atomic(path: Path, text: str = "{}") -> None:
    """From another process: write a temp file, fsync, rename it onto path."""
    run_py(
        f"""
        import os
        path = {str(path)!r}
        tmp = os.path.join(os.path.dirname(path), ".w-" + str(os.getpid()))
        with open(tmp, "w") as f:
            f.write({text!r})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        """
    )


def expect_new_writes_seen(rec: Recorder, folder: Path, timeout: float = WAIT_S) -> None:
    """Write fresh files into folder (another process) until one is reported.

    Used after a watch had to move: the bridge gets there on its own, but the test cannot tell
    when, so it retries with a new file rather than sleeping.
    """
    deadline = time.monotonic() + timeout
    for i in range(100):
        target = folder / f"probe-{i}"
        write_atomic(target)
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            rec.wait_for_path(target, timeout=min(1.0, left))
            return
        except pytest.fail.Exception:
            continue
    pytest.fail(f"no write in {folder} was reported within {timeout}s: {rec.snapshot()!r}")


needs_inotify = pytest.mark.skipif(not inotify.available(), reason="inotify is Linux's")


@pytest.fixture(
    params=[
        pytest.param(native_observer, id="tree", marks=needs_inotify),
        pytest.param(Observer, id="watchdog"),
    ]
)
def native(request: pytest.FixtureRequest) -> object:
    """The platform observer the bridges of a test are made with."""
    return request.param


@contextlib.contextmanager
def _maker(native: object | None) -> Iterator[Callable[..., ChangeBridge]]:
    """Make started bridges; all are stopped at the end even if the test fails."""
    made: list[ChangeBridge] = []

    def make(*args: object, start: bool = True, **kwargs: object) -> ChangeBridge:
        kwargs.setdefault("rescan_s", None)  # no safety-net calls unless a test asks for them
        if native is not None:
            kwargs.setdefault("native", native)
        bridge = ChangeBridge(*args, **kwargs)  # type: ignore[arg-type]
        made.append(bridge)
        if start:
            bridge.start()
        return bridge

    try:
        yield make
    finally:
        for bridge in made:
            bridge.stop()


@pytest.fixture
def bridges(native: object) -> Iterator[Callable[..., ChangeBridge]]:
    """Started bridges on the test's observer (each test runs on both)."""
    with _maker(native) as make:
        yield make


@pytest.fixture
def own_bridges() -> Iterator[Callable[..., ChangeBridge]]:
    """Started bridges for tests that name their observer (or mean the default) themselves."""
    with _maker(None) as make:
        yield make


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A store with one sprint folder holding a phase folder: (store, sprint)."""
    store = tmp_path / "store"
    sprint = store / "conductor" / SPRINT_ID
    (sprint / "think").mkdir(parents=True)
    (sprint / "sprint.json").write_text("{}")
    (store / "audit.log").write_text("")
    return store, sprint


def test_write_by_another_process_reaches_callback(layout, bridges) -> None:
    store, sprint = layout
    rec = Recorder()
    bridge = bridges(str(store), str(sprint), rec)

    write_atomic(sprint / "think" / "done")
    rec.wait_for_path(sprint / "think" / "done")

    assert bridge.events > 0
    assert bridge.bursts >= 1
    # The temp name of the atomic write never reaches the app.
    assert not [p for p in rec.seen() if os.path.basename(p).startswith(".w-")]


def test_audit_log_append_reaches_callback(layout, bridges) -> None:
    store, sprint = layout
    rec = Recorder()
    bridges(str(store), str(sprint), rec)

    run_py(f"open({str(store / 'audit.log')!r}, 'a').write('{{}}\\n')")
    rec.wait_for_path(store / "audit.log")


def test_burst_of_writes_is_coalesced(layout, bridges) -> None:
    store, sprint = layout
    rec = Recorder()
    bridge = bridges(str(store), str(sprint), rec)
    count = 1000
    folder = sprint / "think"

    run_py(
        f"""
        import os
        folder = {str(folder)!r}
        for i in range({count}):
            with open(os.path.join(folder, f"f{{i:04d}}"), "w") as f:
                f.write("x")
        """
    )
    last = str(folder / f"f{count - 1:04d}")
    rec.wait_for_path(last)
    bridge.stop()  # joins the bridge thread: no callback can come after this

    calls = rec.snapshot()
    assert 1 <= bridge.bursts < 100, f"{bridge.bursts} callbacks for {count} writes"
    assert bridge.bursts == len(calls)
    assert last in calls[-1], "the final callback must come after the final write"
    assert {str(folder / f"f{i:04d}") for i in range(count)} <= rec.seen()


def test_sprint_created_after_start_is_watched(tmp_path, bridges) -> None:
    store = tmp_path / "store"  # nothing exists yet: the bridge watches tmp_path
    sprint = store / "conductor" / SPRINT_ID
    rec = Recorder()
    bridges(str(store), str(sprint), rec)

    noise = tmp_path / "unrelated.txt"
    run_py(
        f"""
        import os
        open({str(noise)!r}, "w").write("not ours")
        os.makedirs({str(sprint / "think")!r})
        """
    )
    rec.wait_for(lambda calls: any(p.startswith(str(store)) for c in calls for p in c))
    expect_new_writes_seen(rec, sprint / "think")
    # A busy parent folder (think $HOME) must not wake the app for files that are not the store.
    assert str(noise) not in rec.seen()


def test_no_sprint_yet_follows_a_new_sprint(tmp_path, bridges) -> None:
    store = tmp_path / "store"
    (store / "conductor").mkdir(parents=True)
    sprint = store / "conductor" / SPRINT_ID
    rec = Recorder()
    bridge = bridges(str(store), None, rec)

    run_py(f"import os; os.mkdir({str(sprint)!r})")
    rec.wait_for_path(sprint)
    # Its sprint.json lands after the folder: the app must hear of that too.
    expect_new_writes_seen(rec, sprint)

    bridge.watch_sprint(str(sprint))
    bridge.watch_sprint(str(sprint))  # a repeat is a no-op
    run_py(f"import os; os.makedirs({str(sprint / 'think' / 'lock')!r})")
    expect_new_writes_seen(rec, sprint / "think" / "lock")


def test_sprint_folder_replaced_is_watched_again(layout, bridges) -> None:
    store, sprint = layout
    rec = Recorder()
    bridges(str(store), str(sprint), rec)

    run_py(
        f"""
        import os, shutil
        shutil.rmtree({str(sprint)!r})
        os.makedirs({str(sprint / "think")!r})
        """
    )
    rec.wait_for_path(sprint)
    expect_new_writes_seen(rec, sprint / "think")


def test_poll_mode_delivers_a_change(layout, bridges) -> None:
    store, sprint = layout
    rec = Recorder()
    bridges(str(store), str(sprint), rec, poll=True)

    # Polling sees the atomic rename as its own kind of event; it must still name the file.
    write_atomic(sprint / "think" / "done")
    rec.wait_for_path(sprint / "think" / "done")


def test_reading_the_store_reports_nothing(layout, bridges) -> None:
    store, sprint = layout
    rec = Recorder()
    bridges(str(store), str(sprint), rec)

    # The app re-reads on every callback: its own reads must not cause another one.
    for root, _dirs, files in os.walk(store):
        for name in files:
            Path(root, name).read_text()
    marker = sprint / "think" / "marker"
    write_atomic(marker)
    rec.wait_for_path(marker)
    assert rec.seen() == {str(marker)}


def test_rescan_calls_back_with_no_events(layout, bridges) -> None:
    store, sprint = layout
    rec = Recorder()
    bridges(str(store), str(sprint), rec, rescan_s=0.1)
    rec.wait_for(lambda calls: frozenset() in calls)


def test_raising_callback_does_not_stop_deliveries(layout, bridges) -> None:
    store, sprint = layout
    rec = Recorder(fail=True)
    bridges(str(store), str(sprint), rec)

    write_atomic(sprint / "think" / "one")
    rec.wait_for_path(sprint / "think" / "one")
    write_atomic(sprint / "think" / "two")
    rec.wait_for_path(sprint / "think" / "two")


def test_stop_is_idempotent_and_joins_threads(layout) -> None:
    store, sprint = layout
    ChangeBridge(str(store), str(sprint), Recorder()).stop()  # before start: harmless

    before = threading.active_count()
    bridge = ChangeBridge(str(store), str(sprint), Recorder(), rescan_s=None)
    bridge.start()
    assert threading.active_count() > before
    bridge.stop()
    bridge.stop()
    deadline = time.monotonic() + WAIT_S
    while threading.active_count() != before and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    assert threading.active_count() == before
    with pytest.raises(RuntimeError):
        bridge.start()


def test_stop_from_the_callback_thread(layout) -> None:
    store, sprint = layout
    before = threading.active_count()
    stopped = threading.Event()
    holder: list[ChangeBridge] = []

    def on_change(paths: Paths) -> None:
        holder[0].stop()  # e.g. the app quitting while a burst is delivered
        stopped.set()

    bridge = ChangeBridge(str(store), str(sprint), on_change, rescan_s=None)
    holder.append(bridge)
    bridge.start()
    write_atomic(sprint / "think" / "done")
    assert stopped.wait(timeout=WAIT_S)
    bridge.stop()  # from this thread too: joins what the callback could not join (itself)
    deadline = time.monotonic() + WAIT_S
    while threading.active_count() != before and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    assert threading.active_count() == before


def test_watch_module_never_imports_textual() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, conductor_tui.watch; print('textual' in sys.modules)",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "False"


def test_a_dead_inotify_reader_is_replaced(layout, own_bridges) -> None:
    """watchdog's shared inotify reader can die (a KeyError inside watchdog); every watch then
    goes deaf. The bridge notices at its next look and starts over with a fresh reader."""
    store, sprint = layout
    rec = Recorder()
    bridge = own_bridges(str(store), str(sprint), rec, rescan_s=0.2, native=Observer)
    write_atomic(sprint / "think" / "before")
    rec.wait_for_path(sprint / "think" / "before")
    reader = bridge._observer._inotify_fd  # the observer's reader thread
    assert reader.is_alive()
    reader.stop()  # the reader thread ends, as it does when watchdog's own bug kills it
    reader.join(WAIT_S)
    assert not reader.is_alive()
    expect_new_writes_seen(rec, sprint / "think")
    assert bridge._observer._inotify_fd is not reader and bridge._observer._inotify_fd.is_alive()


def test_watchdogs_overwrite_warning_is_silenced_and_others_are_not() -> None:
    """watchdog's inotify emitter warns "Callback with id ... already exists ... It will be
    Overwritten" each time it re-watches a folder whose inode it already watches (claims rename
    staging folders under the recursive watch): under churn, thousands of multi-kilobyte lines a
    minute on stderr, the terminal the app draws on. Importing the bridge silences exactly that
    warning, raised as watchdog raises it, in a fresh process; another RuntimeWarning shows."""
    code = """
        import warnings
        import conductor_tui.watch
        def warn(text):
            warnings.warn_explicit(
                text, RuntimeWarning, "watchdog/observers/inotify.py", 365,
                module="watchdog.observers.inotify",
            )
        warn("Callback with id '140563708904464' already exists for watch <Watch(wd=1292)>. "
             "It will be Overwritten.")
        warn("something else went wrong")
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "already exists" not in done.stderr
    assert "something else went wrong" in done.stderr


# ---------------------------------------------------------------------- falling back to polling


def _no_file_events() -> Observer:  # type: ignore[valid-type]
    """A platform without file events for this process (inotify_init's ENOSYS or EMFILE)."""
    raise OSError(errno.EMFILE, "inotify instance limit reached")


class _FullObserver(Observer):  # type: ignore[misc,valid-type]
    """The platform's observer on a system whose inotify watch limit is reached: it starts,
    and every watch it is asked for fails as inotify_add_watch does (ENOSPC)."""

    def schedule(self, *args: object, **kwargs: object) -> object:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")


def test_no_file_events_at_start_falls_back_to_polling(layout, own_bridges) -> None:
    store, sprint = layout
    rec = Recorder()
    bridge = own_bridges(str(store), str(sprint), rec, native=_no_file_events)
    assert bridge.fallback is not None and "inotify instance limit" in bridge.fallback

    write_atomic(sprint / "think" / "done")  # seen by polling, named as the file itself
    rec.wait_for_path(sprint / "think" / "done")


def test_a_watch_limit_reached_falls_back_to_polling(layout, own_bridges) -> None:
    store, sprint = layout
    rec = Recorder()
    bridge = own_bridges(str(store), str(sprint), rec, native=_FullObserver)
    assert bridge.fallback is not None and "watch limit" in bridge.fallback

    write_atomic(sprint / "think" / "done")
    rec.wait_for_path(sprint / "think" / "done")
    run_py(f"open({str(store / 'audit.log')!r}, 'a').write('{{}}\\n')")
    rec.wait_for_path(store / "audit.log")


def test_native_events_need_no_fallback(layout, own_bridges) -> None:
    store, sprint = layout
    bridge = own_bridges(str(store), str(sprint), Recorder())
    assert bridge.fallback is None


# ------------------------------------------------------------------ our inotify tree observer


def _tree(bridge: ChangeBridge) -> TreeObserver:
    observer = bridge._observer
    assert isinstance(observer, TreeObserver)
    return observer


def end_claims(phase: Path, count: int, first: int = 0) -> None:
    """From another process: `count` claims made and ended as the store does it, each a lock
    folder with a token folder inside, renamed into history/ under a name of its own."""
    run_py(
        f"""
        import os
        phase = {str(phase)!r}
        os.makedirs(os.path.join(phase, "history"), exist_ok=True)
        for i in range({first}, {first + count}):
            stage = os.path.join(phase, ".claim-%d-tok.1" % i)
            os.makedirs(os.path.join(stage, "%d-tok" % i))
            open(os.path.join(stage, "%d-tok" % i, "owner.json"), "w").write("{{}}")
            os.rename(stage, os.path.join(phase, "lock"))
            ended = os.path.join(phase, "history", "%d-tok@aborted-x" % i)
            os.rename(os.path.join(phase, "lock"), ended)
        """
    )


@needs_inotify
def test_the_tree_does_not_grow_with_ended_claims(layout, own_bridges) -> None:
    """An ended claim leaves a folder in history/ for ever; the tree observer watches neither
    history nor staging folders, so what it keeps stays the same however many claims end (the
    10-minute memory growth of issue 9 was watchdog watching each of them)."""
    store, sprint = layout
    rec = Recorder()
    bridge = own_bridges(str(store), str(sprint), rec, native=native_observer)
    tree = _tree(bridge)
    end_claims(sprint / "think", 1)
    write_atomic(sprint / "think" / "mark-1")
    rec.wait_for_path(sprint / "think" / "mark-1")
    watched = tree.watched

    end_claims(sprint / "think", 200, first=1)
    write_atomic(sprint / "think" / "mark-2")
    rec.wait_for_path(sprint / "think" / "mark-2")
    assert tree.watched == watched, "every ended claim added a watch"
    assert str(sprint / "think" / "lock") in rec.seen()  # the claims themselves were seen

    # A write inside history is nothing the app shows: it is not reported.
    inside = sprint / "think" / "history" / "0-tok@aborted-x" / "0-tok" / "late"
    write_atomic(inside)
    write_atomic(sprint / "think" / "mark-3")
    rec.wait_for_path(sprint / "think" / "mark-3")
    history = str(sprint / "think" / "history") + os.sep
    assert not [p for p in rec.seen() if p.startswith(history)]


@needs_inotify
def test_a_lock_moved_away_is_no_longer_watched_under_its_old_name(layout, own_bridges) -> None:
    """A watch follows the folder's inode wherever it goes: a lock renamed into history must
    lose its watch, or writes there would be reported as the phase's lock changing."""
    store, sprint = layout
    rec = Recorder()
    bridge = own_bridges(str(store), str(sprint), rec, native=native_observer)
    tree = _tree(bridge)
    run_py(f"import os; os.makedirs({str(sprint / 'think' / 'lock' / '1-tok')!r})")
    expect_new_writes_seen(rec, sprint / "think" / "lock" / "1-tok")  # watched, two deep
    with_lock = tree.watched
    run_py(
        f"""
        import os
        os.mkdir({str(sprint / "think" / "history")!r})
        ended = {str(sprint / "think" / "history" / "1-tok@done-x")!r}
        os.rename({str(sprint / "think" / "lock")!r}, ended)
        """
    )
    rec.wait_for(lambda calls: tree.watched == with_lock - 2)  # lock and its token folder
    # and the move's own report delivered (the bridge gathers a burst for a few ms after the
    # watch is dropped): what comes after `before` is the two writes below, nothing else
    rec.wait_for_path(sprint / "think" / "history")
    before = rec.seen()
    write_atomic(sprint / "think" / "history" / "1-tok@done-x" / "1-tok" / "late")
    write_atomic(sprint / "think" / "mark")
    rec.wait_for_path(sprint / "think" / "mark")
    assert rec.seen() - before == {str(sprint / "think" / "mark")}


@needs_inotify
def test_the_tree_does_not_follow_a_symlinked_folder(layout, own_bridges, tmp_path) -> None:
    store, sprint = layout
    outside = tmp_path / "outside"
    outside.mkdir()
    (sprint / "think" / "link").symlink_to(outside, target_is_directory=True)
    rec = Recorder()
    own_bridges(str(store), str(sprint), rec, native=native_observer)
    write_atomic(outside / "secret")
    write_atomic(sprint / "think" / "mark")
    rec.wait_for_path(sprint / "think" / "mark")
    assert not [p for p in rec.seen() if "secret" in p]


@needs_inotify
def test_a_lost_event_queue_is_reported_as_everything_changed(layout, own_bridges) -> None:
    """When the kernel's event queue overflows, events were lost: the tree observer reports its
    roots (the app then reads everything) and watches folders made meanwhile. The overflow is
    the kernel's own event record, handed to the reader as the kernel would."""
    store, sprint = layout
    rec = Recorder()
    bridge = own_bridges(str(store), str(sprint), rec, native=native_observer)
    tree = _tree(bridge)
    (sprint / "think" / "lock" / "2-tok").mkdir(parents=True)  # unseen: made "during" the loss
    routed = tree._translate([inotify.RawEvent(-1, inotify.IN_Q_OVERFLOW, 0, "")])
    tree._dispatch(routed)
    rec.wait_for_path(sprint)
    write_atomic(sprint / "think" / "lock" / "2-tok" / "owner.json")
    rec.wait_for_path(sprint / "think" / "lock" / "2-tok" / "owner.json")


@needs_inotify
def test_a_dead_tree_reader_is_replaced(layout, own_bridges) -> None:
    store, sprint = layout
    rec = Recorder()
    bridge = own_bridges(str(store), str(sprint), rec, rescan_s=0.2, native=native_observer)
    old = _tree(bridge)
    old.stop()  # the reader thread ends (the bridge did not ask: as if it had died)
    old.join(WAIT_S)
    assert not old.reader_alive()
    expect_new_writes_seen(rec, sprint / "think")
    assert _tree(bridge) is not old and _tree(bridge).reader_alive()


class _Told(FileSystemEventHandler):
    """A handler that keeps what the tree observer hands it."""

    def __init__(self) -> None:
        super().__init__()
        self.rec = Recorder()

    def dispatch(self, event: FileSystemEvent) -> None:
        self.rec(frozenset({f"{event.event_type} {os.fsdecode(event.src_path)}"}))


@needs_inotify
def test_a_watch_root_that_goes_is_told_to_its_handler(layout) -> None:
    """The tree observer stops a watch whose root folder is deleted, and says so to the watch's
    handler as the root's own deletion. Without that word the bridge, having looked at the disk
    between the folder's removal and this event (and found the watch still alive), heard nothing
    more and stayed deaf to the folder made again in its place until the periodic rescan (one CI
    run in two saw test_sprint_folder_replaced_is_watched_again time out)."""
    _store, sprint = layout
    tree = TreeObserver()
    told = _Told()
    tree.start()
    try:
        tree.schedule(told, str(sprint), recursive=True)
        run_py(f"import shutil; shutil.rmtree({str(sprint)!r})")
        told.rec.wait_for_path(f"deleted {sprint}")
        assert not [e for e in tree.emitters if e.watch.path == str(sprint) and e.is_alive()]
        assert f"deleted {sprint / 'think'}" in told.rec.seen()  # what was under it, as before
    finally:
        tree.stop()
        tree.join(WAIT_S)


class _LimitedTree(TreeObserver):
    """Our observer on a system whose inotify watch limit is reached after a few watches."""

    budget = 3

    def _add_locked(self, folder: str, follow: bool = False) -> None:
        if len(self._folders) >= self.budget:
            raise OSError(errno.ENOSPC, "inotify watch limit reached", folder)
        super()._add_locked(folder, follow)


@needs_inotify
def test_a_watch_limit_reached_later_falls_back_to_polling(layout, own_bridges) -> None:
    """A folder made after start that cannot be watched (the limit) leaves the tree incomplete:
    the bridge sees it as dead, tries again, and polls when that fails too; nothing is missed."""
    store, sprint = layout
    rec = Recorder()
    bridge = own_bridges(str(store), str(sprint), rec, rescan_s=0.2, native=_LimitedTree)
    assert bridge.fallback is None  # store, sprint, think: within the budget
    run_py(f"import os; os.makedirs({str(sprint / 'think' / 'lock' / '1-tok')!r})")
    rec.wait_for(lambda calls: bridge.fallback is not None)
    assert "watch limit" in bridge.fallback
    expect_new_writes_seen(rec, sprint / "think" / "lock" / "1-tok")


def test_inotify_events_parse_as_the_kernel_writes_them() -> None:
    import struct

    def record(wd: int, mask: int, cookie: int, name: bytes) -> bytes:
        padded = name + b"\0" * (-len(name) % 16 or (16 if name else 0))
        return struct.pack("iIII", wd, mask, cookie, len(padded)) + padded

    buf = record(1, inotify.IN_CREATE, 0, b"lock") + record(2, inotify.IN_IGNORED, 0, b"")
    buf += record(3, inotify.IN_MOVED_TO, 7, "é-phase".encode())
    assert inotify.parse(buf) == [
        inotify.RawEvent(1, inotify.IN_CREATE, 0, "lock"),
        inotify.RawEvent(2, inotify.IN_IGNORED, 0, ""),
        inotify.RawEvent(3, inotify.IN_MOVED_TO, 7, "é-phase"),
    ]
