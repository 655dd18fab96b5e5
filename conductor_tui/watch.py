"""File events under a store, coalesced into one "store changed" callback per burst.

This is the only module that crosses threads. It never imports textual: the app hands in a
callback (``lambda paths: app.post_message(StoreChanged(paths))``; ``post_message`` is thread-safe
and never blocks, where ``call_from_thread`` could deadlock on shutdown).

Threads: the observer's thread (TreeObserver's inotify reader on Linux, watchdog's elsewhere)
calls ``_Handler.dispatch_many``, which only records paths in a dirty set under a Condition; the
bridge thread waits on that Condition, flushes one burst at a time, (re)schedules watches, and
calls the callback. Only the bridge thread (and start/stop, under
``_watch_lock``) ever calls into the observer, and nobody calls into the observer while holding the
Condition: the observer holds its own lock while it dispatches to us, so the opposite order could
deadlock.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import threading
import time
import warnings
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol, cast

import watchdog.events as wd_events
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from . import inotify as ino
from .core.layout import HISTORY, STAGING_PREFIXES, TMP_MARK, is_staging

__all__ = ["ChangeBridge"]

log = logging.getLogger(__name__)

# watchdog's inotify emitter warns "Callback with id ... already exists ... It will be Overwritten"
# each time a folder is created again under a recursive watch, which a claim's staging folder is,
# every claim: thousands of multi-kilobyte lines a minute on stderr, the terminal the app draws
# on. The overwrite is what we want (the new folder is watched), so the warning says nothing.
warnings.filterwarnings(
    "ignore", message=r"Callback with id .* already exists", category=RuntimeWarning
)

POLL_INTERVAL_S = 0.25
JOIN_TIMEOUT_S = 2.0
MAX_CHILD_WATCHES = 16  # sprint folders seen being created while no sprint is chosen yet
_RECONCILE_TRIES = 5

# Every event that can mean a changed store. Opens and read-only closes are left out on purpose:
# the app re-reads the store on every callback, and reporting its own reads would loop forever.
# Names looked up one by one because older watchdog releases lack some (e.g. the attrib events).
_EVENT_FILTER: list[type[FileSystemEvent]] = [
    cls
    for name in (
        "FileCreatedEvent",
        "DirCreatedEvent",
        "FileDeletedEvent",
        "DirDeletedEvent",
        "FileModifiedEvent",
        "DirModifiedEvent",
        "FileMovedEvent",
        "DirMovedEvent",
        "FileClosedEvent",
        "FileAttribEvent",
        "DirAttribEvent",
    )
    if (cls := getattr(wd_events, name, None)) is not None
]
_IGNORED_TYPES = frozenset({"opened", "closed_no_write"})


class _Emitting(Protocol):
    """What the bridge asks of a scheduled watch's emitter (watchdog's, or TreeObserver's)."""

    @property
    def watch(self) -> object: ...
    @property
    def stopped_event(self) -> threading.Event: ...
    def is_alive(self) -> bool: ...


class _Observing(Protocol):
    """What the bridge asks of an observer: watchdog's BaseObserver, or TreeObserver."""

    @property
    def emitters(self) -> Collection[_Emitting]: ...
    def schedule(
        self, event_handler: Any, path: str, *, recursive: bool = ..., event_filter: Any = ...
    ) -> Any: ...
    def unschedule(self, watch: Any) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self, timeout: float | None = ...) -> None: ...


# A want: a directory we mean to watch, and whether recursively.
Want = tuple[str, bool]


HEALTH_S = 1.0  # how often an idle bridge checks that its inotify reader still runs
# A burst is delivered once no event came for SETTLE_S: one operation's events belong to one
# reading. A claim of a phase never claimed before makes its lock.d and history folders, then
# stages its records durably (four fsyncs), then renames; its audit line follows a directory fsync
# later. 3 ms was tried: a change showed 5 ms sooner, but a claim then often came in two
# deliveries, the first before its rename (two runs of 60 first claims at 1,000 phases: 2 and 10
# needed a second reload, p99 70 and 134 ms; with 8 ms, 0 and 1, p99 84 and 69 ms).
SETTLE_S = 0.008


def _inotify_reader_alive(observer: object) -> bool:
    """Whether the observer's inotify reader thread still runs.

    watchdog 7.1 can lose it to a KeyError in InotifyWatchGroup._remove_watch_internally (a known
    class of watchdog bug) when watched folders are renamed and removed quickly, as claims do; every
    watch of that observer then goes deaf and nothing says so.
    """
    alive = getattr(observer, "reader_alive", None)  # our TreeObserver says it itself
    if callable(alive):
        return bool(alive())
    reader = getattr(observer, "_inotify_fd", None)  # InotifyObserver's own reader thread
    return reader is None or not hasattr(reader, "is_alive") or reader.is_alive()


def _is_temp(path: str) -> bool:
    """True for private staging names (temp files, a claim or a sprint being built): nothing a
    reader sees changes until they are renamed, and the rename's destination counts. The lock.d
    sentinel is not one of them: an orphan one is shown, so its removal must be seen."""
    parts = path.split(os.sep)
    if TMP_MARK in parts[-1]:
        return True
    return any(part.startswith(STAGING_PREFIXES) for part in parts[-3:])


def _nearest_dir(path: str) -> str:
    """The deepest existing directory among path and its ancestors."""
    while not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _relevant(path: str, wants: tuple[Want, ...]) -> bool:
    """True if an event on path could matter to one of the wanted directories."""
    parent = os.path.dirname(path)
    for root, recursive in wants:
        if path == root or parent == root:
            return True
        if recursive and path.startswith(root + os.sep):
            return True
        # An ancestor of a wanted directory appearing or vanishing moves our watches.
        if root.startswith(path.rstrip(os.sep) + os.sep):
            return True
    return False


class _Handler(FileSystemEventHandler):
    """Forwards every watchdog event to the bridge; runs on the observer thread."""

    def __init__(self, bridge: ChangeBridge) -> None:
        super().__init__()
        self._bridge = bridge

    def dispatch(self, event: FileSystemEvent) -> None:
        """Hand the raw event to the bridge, never letting an error kill the observer thread."""
        self.dispatch_many((event,))

    def dispatch_many(self, events: Sequence[FileSystemEvent]) -> None:
        """Hand the events of one read to the bridge at once (TreeObserver's way)."""
        try:
            self._bridge._record_many(events)
        except Exception:
            log.exception("watch: could not record %r", events)


# ------------------------------------------------------------------ our own inotify tree observer

# What a watched directory reports. Opens, reads and read-only closes are left out (the app's own
# reads must not wake it); IN_EXCL_UNLINK: nothing more from a file once it is unlinked.
_TREE_MASK = (
    ino.IN_MODIFY
    | ino.IN_ATTRIB
    | ino.IN_CLOSE_WRITE
    | ino.IN_MOVED_FROM
    | ino.IN_MOVED_TO
    | ino.IN_CREATE
    | ino.IN_DELETE
    | ino.IN_DELETE_SELF
    | ino.IN_MOVE_SELF
    | ino.IN_ONLYDIR
    | ino.IN_EXCL_UNLINK
)


def _skipped(name: str) -> bool:
    """Folders a recursive watch does not enter: an ended claim's history (one more folder per
    claim, for ever; nothing the app shows changes in it: a claim's end is seen as its lock
    leaving the phase folder) and private staging folders (what they become is seen when they
    are renamed into place)."""
    return name == HISTORY or is_staging(name)


class _TreeWatch:
    """What TreeObserver.schedule returns (watchdog's ObservedWatch, as far as the bridge asks)."""

    def __init__(self, path: str, recursive: bool) -> None:
        self.path = path
        self.is_recursive = recursive

    def covers(self, folder: str) -> bool:
        """Whether events in this folder belong to this watch."""
        return folder == self.path or (self.is_recursive and folder.startswith(self.path + os.sep))


class _TreeEmitter:
    """One scheduled watch's liveness (watchdog's EventEmitter, as far as the bridge asks): it
    stops for good when its root folder is deleted or moved, and the bridge then schedules the
    path again."""

    def __init__(self, watch: _TreeWatch, handler: FileSystemEventHandler) -> None:
        self.watch = watch
        self.handler = handler
        self.stopped_event = threading.Event()

    def is_alive(self) -> bool:
        return not self.stopped_event.is_set()


class TreeObserver:
    """Linux inotify on one descriptor and one reader thread, for the bridge.

    watchdog's recursive inotify watch keeps a watch, a path and a callback per folder under the
    root, with a thread per scheduled watch: every ended claim adds a history folder that it then
    watches for ever (about 2 KB each, and the cost of its bookkeeping on every event). This
    observer enters neither history nor staging folders, so what it keeps follows the phases and
    their claims, not the sprint's age. It offers exactly what the bridge uses of a watchdog
    observer (schedule, unschedule, emitters, start, stop, join) and hands the same event objects
    to the handler. Raises OSError where there is no inotify (the bridge polls instead).
    """

    def __init__(self) -> None:
        self._ino = ino.Inotify()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._lock = threading.Lock()
        # Guarded by _lock:
        self._emitters: dict[_TreeWatch, _TreeEmitter] = {}
        self._folders: dict[str, int] = {}  # watched folder -> its watch descriptor
        self._wds: dict[int, str] = {}
        self._subs: dict[str, set[str]] = {}  # watched folder -> its watched sub-folders
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="conductor-inotify", daemon=True)
        self.broken: str | None = None  # why some folder could not be watched (then not alive)
        self.generation = 0  # how many watch roots have gone (deleted or moved) so far

    # -- the bridge's side ----------------------------------------------------------------------

    @property
    def emitters(self) -> set[_TreeEmitter]:
        with self._lock:
            return set(self._emitters.values())

    @property
    def watched(self) -> int:
        """How many folders are watched now (a figure for tests and benchmarks)."""
        with self._lock:
            return len(self._folders)

    def reader_alive(self) -> bool:
        """Whether the reader thread runs (after start()) and every folder wanted is watched."""
        return self.broken is None and self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the reader to end (join() waits for it); it closes the descriptors."""
        with self._lock:
            self._stopping = True
            if self._wake_w >= 0:  # not yet closed by the reader (whose fd could be reused)
                with contextlib.suppress(OSError):
                    os.write(self._wake_w, b"x")

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread.ident is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def schedule(
        self,
        event_handler: FileSystemEventHandler,
        path: str,
        *,
        recursive: bool = False,
        event_filter: object = None,
    ) -> _TreeWatch:
        """Watch path (and, recursively, the folders under it but history and staging ones).
        OSError as inotify_add_watch fails on the root (FileNotFoundError when it is gone,
        ENOSPC at the watch limit); a limit reached below the root raises too."""
        watch = _TreeWatch(os.path.abspath(path), recursive)
        with self._lock:
            self._add_locked(watch.path, follow=True)
            if recursive:
                self._walk_locked(watch.path)
            self._emitters[watch] = _TreeEmitter(watch, event_handler)
        return watch

    def unschedule(self, watch: Any) -> None:
        """Stop a watch, and every folder watch no other scheduled watch needs."""
        with self._lock:
            emitter = self._emitters.pop(watch, None)
            if emitter is None:
                return
            emitter.stopped_event.set()
            self.generation += 1
            for folder in [f for f in self._folders if emitter.watch.covers(f)]:
                if not any(e.watch.covers(folder) for e in self._emitters.values()):
                    self._forget_locked(folder, remove=True)

    # -- bookkeeping (caller holds _lock) -------------------------------------------------------

    def _add_locked(self, folder: str, follow: bool = False) -> None:
        mask = _TREE_MASK if follow else _TREE_MASK | ino.IN_DONT_FOLLOW
        wd = self._ino.add(folder, mask)
        old = self._wds.get(wd)
        if old is not None and old != folder:  # the same folder, renamed while we looked away
            self._drop_locked(old)
        self._wds[wd] = folder
        self._folders[folder] = wd
        self._subs.setdefault(os.path.dirname(folder), set()).add(folder)

    def _drop_locked(self, folder: str) -> int | None:
        """Forget one folder (not what is under it); its watch descriptor, if it had one."""
        wd = self._folders.pop(folder, None)
        siblings = self._subs.get(os.path.dirname(folder))
        if siblings is not None:
            siblings.discard(folder)
            if not siblings:
                del self._subs[os.path.dirname(folder)]
        if wd is not None and self._wds.get(wd) == folder:
            del self._wds[wd]
            return wd
        return None

    def _walk_locked(self, top: str) -> None:
        """Watch every folder under top, but history and staging ones and symbolic links. A
        folder that vanishes meanwhile is skipped; the watch limit raises."""
        stack = [top]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue  # gone, or not a folder any more: its parent's event says so
            for entry in entries:
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if not is_dir or _skipped(entry.name):
                    continue
                try:
                    self._add_locked(entry.path)
                except OSError as exc:
                    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                        continue  # removed or replaced by a file since the listing
                    raise
                stack.append(entry.path)

    def _forget_locked(self, folder: str, remove: bool) -> None:
        """Drop folder and every watched folder under it (removing their kernel watches when
        asked: a folder moved away keeps its watch on the inode, wherever it now lives)."""
        stack = [folder]
        while stack:
            path = stack.pop()
            stack.extend(self._subs.get(path, ()))
            wd = self._drop_locked(path)
            if wd is not None and remove:
                self._ino.remove(wd)

    def _root_gone_locked(
        self, folder: str
    ) -> list[tuple[FileSystemEventHandler, FileSystemEvent]]:
        """A folder went: if a watch has it as its root, that watch stops (the bridge schedules
        the path again when it reappears) and its handler is told, as the root's deletion. The
        telling matters: the bridge may have looked at the disk between the folder's removal and
        this event (finding the watch still alive), and without a further event it would not
        look again until its periodic rescan."""
        told: list[tuple[FileSystemEventHandler, FileSystemEvent]] = []
        for emitter in self._emitters.values():
            if emitter.watch.path == folder and not emitter.stopped_event.is_set():
                emitter.stopped_event.set()
                self.generation += 1
                told.append((emitter.handler, DirDeletedEvent(folder)))
        return told

    def _recursive_root_locked(self, folder: str) -> bool:
        return any(e.watch.is_recursive and e.watch.covers(folder) for e in self._emitters.values())

    # -- the reader thread ----------------------------------------------------------------------

    def _run(self) -> None:
        fd = self._ino.fileno()
        try:
            while True:
                with self._lock:
                    if self._stopping:
                        return
                ready, _, _ = select.select([fd, self._wake_r], [], [])
                if self._wake_r in ready:
                    continue  # only stop() writes there: the check above ends the loop
                try:
                    self._dispatch(self._translate(self._ino.read()))
                except Exception:  # one bad batch must not deafen every watch
                    log.exception("watch: handling inotify events failed")
        finally:
            with self._lock:
                self._stopping = True
                for emitter in self._emitters.values():
                    emitter.stopped_event.set()
                self._ino.close()
                os.close(self._wake_r)
                os.close(self._wake_w)
                self._wake_r = self._wake_w = -1

    def _translate(
        self, raw: list[ino.RawEvent]
    ) -> list[tuple[FileSystemEventHandler, FileSystemEvent]]:
        """The watchdog events these inotify events make, each with the handler it goes to;
        folder watches are added and dropped on the way."""
        out: list[tuple[str, FileSystemEvent]] = []
        gone: list[tuple[FileSystemEventHandler, FileSystemEvent]] = []
        with self._lock:
            for ev in raw:
                if ev.mask & ino.IN_Q_OVERFLOW:
                    out.extend(self._overflowed_locked())
                    continue
                folder = self._wds.get(ev.wd)
                if folder is None:
                    continue  # a watch dropped a moment ago
                if ev.mask & ino.IN_IGNORED:  # the kernel dropped this watch (folder gone)
                    gone.extend(self._root_gone_locked(folder))
                    if self._folders.get(folder) == ev.wd:
                        self._drop_locked(folder)
                    else:
                        del self._wds[ev.wd]
                    continue
                if not ev.name:  # the watched folder itself was deleted or moved
                    if ev.mask & (ino.IN_DELETE_SELF | ino.IN_MOVE_SELF):
                        gone.extend(self._root_gone_locked(folder))
                        self._forget_locked(folder, remove=bool(ev.mask & ino.IN_MOVE_SELF))
                    continue
                if is_staging(ev.name):
                    # a temp file or staging folder: nothing a reader acts on until it is
                    # renamed to its real name (and staging folders are never entered)
                    continue
                path = os.path.join(folder, ev.name)
                if ev.mask & ino.IN_ISDIR:
                    event = self._folder_event_locked(path, ev.mask)
                else:
                    event = _file_event(path, ev.mask)
                if event is not None:
                    out.append((folder, event))
            routed = [
                (e.handler, event)
                for folder, event in out
                for e in self._emitters.values()
                if not e.stopped_event.is_set() and e.watch.covers(folder)
            ]
        return routed + gone

    def _folder_event_locked(self, path: str, mask: int) -> FileSystemEvent | None:
        if mask & (ino.IN_CREATE | ino.IN_MOVED_TO):
            name = os.path.basename(path)
            if self._recursive_root_locked(os.path.dirname(path)) and not _skipped(name):
                try:
                    self._add_locked(path)
                    self._walk_locked(path)  # what was made inside before the watch went in
                except OSError as exc:
                    if exc.errno not in (errno.ENOENT, errno.ENOTDIR):  # not just gone again
                        # e.g. the watch limit: this observer is no longer complete; the
                        # bridge sees it as dead and starts over (or polls, if it fails again)
                        self.broken = f"watching {path}: {exc}"
                        log.warning("watch: %s", self.broken)
            return DirCreatedEvent(path)
        if mask & (ino.IN_DELETE | ino.IN_MOVED_FROM):
            self._forget_locked(path, remove=bool(mask & ino.IN_MOVED_FROM))
            return DirDeletedEvent(path)
        return None  # a folder's own attributes: nothing a reader acts on

    def _overflowed_locked(self) -> list[tuple[str, FileSystemEvent]]:
        """The kernel's queue overflowed: events were lost. Every watch root is reported as
        created (a full re-read for the app), and the trees are walked again for folders made
        meanwhile."""
        out: list[tuple[str, FileSystemEvent]] = []
        for emitter in self._emitters.values():
            root = emitter.watch.path
            if emitter.watch.is_recursive:
                with contextlib.suppress(OSError):
                    self._walk_locked(root)
            out.append((root, DirCreatedEvent(root)))
        return out

    def _dispatch(self, routed: list[tuple[FileSystemEventHandler, FileSystemEvent]]) -> None:
        """Hand the events to their handlers, all of a handler's at once where it can."""
        by_handler: dict[FileSystemEventHandler, list[FileSystemEvent]] = {}
        for handler, event in routed:
            by_handler.setdefault(handler, []).append(event)
        for handler, events in by_handler.items():
            many = getattr(handler, "dispatch_many", None)
            if callable(many):
                many(events)
            else:
                for event in events:
                    handler.dispatch(event)


def _file_event(path: str, mask: int) -> FileSystemEvent | None:
    """The watchdog event for an inotify event on a file (the bridge reads the type and path)."""
    if mask & (ino.IN_CREATE | ino.IN_MOVED_TO):
        return FileCreatedEvent(path)
    if mask & (ino.IN_DELETE | ino.IN_MOVED_FROM):
        return FileDeletedEvent(path)
    if mask & ino.IN_CLOSE_WRITE:
        return FileClosedEvent(path)
    if mask & (ino.IN_MODIFY | ino.IN_ATTRIB):  # written in place, or touched
        return FileModifiedEvent(path)
    return None


def native_observer() -> _Observing:
    """The platform's file events: our inotify tree observer on Linux, watchdog's elsewhere."""
    if ino.available():
        return TreeObserver()
    return Observer()


class ChangeBridge:
    """Coalesce watchdog events under a store into one callback per burst."""

    def __init__(
        self,
        store_root: str,
        sprint_dir: str | None,
        on_change: Callable[[frozenset[str]], None],
        *,
        poll: bool = False,
        quiet_s: float = SETTLE_S,
        max_wait_s: float = 0.05,
        rescan_s: float | None = 15.0,
        native: Callable[[], _Observing] = native_observer,
    ) -> None:
        self._store = os.path.abspath(store_root)
        self._conductor = os.path.join(self._store, "conductor")
        self._on_change = on_change
        self._poll = poll
        self._quiet_s = quiet_s
        self._max_wait_s = max(max_wait_s, quiet_s)
        self._rescan_s = rescan_s

        self._cond = threading.Condition()
        # Guarded by _cond:
        self._sprint: str | None = os.path.abspath(sprint_dir) if sprint_dir else None
        self._children: list[str] = []
        self._wants: tuple[Want, ...] = self._compute_wants()
        self._dirty: set[str] = set()
        self._first_at: float | None = None  # first event of the burst being gathered
        self._last_at = 0.0  # latest event of that burst
        self._flushed_at = 0.0  # latest delivery (or start): the rescan clock
        self._kick = False
        self._started = False
        self._stopping = False
        self._events = 0

        # Guarded by _watch_lock: the observer and what we scheduled on it.
        self._watch_lock = threading.Lock()
        self._observer: _Observing | None = None
        self._scheduled: dict[Want, Any] = {}
        # the wants, tree observer and its generation when every want was a live watch root
        self._settled: tuple[tuple[Want, ...], TreeObserver, int] | None = None
        self._warned: set[str] = set()
        self._handler = _Handler(self)

        self._thread: threading.Thread | None = None
        self._bursts = 0
        # the platform's own file events (inotify, FSEvents, kqueue, ...): watchdog's choice
        self._native = native
        self.fallback: str | None = None  # why the bridge polls although not asked to

    @property
    def bursts(self) -> int:
        """How many callbacks were delivered (rescans included)."""
        return self._bursts

    @property
    def events(self) -> int:
        """How many raw watchdog events were seen."""
        return self._events

    def start(self) -> None:
        """Start the observer and the coalescing thread; watches are in place when this returns."""
        with self._cond:
            if self._started or self._stopping:
                raise RuntimeError("a ChangeBridge can be started once, and not after stop()")
            self._started = True
            self._flushed_at = time.monotonic()
        with self._watch_lock:
            if self._stopping:  # stop() ran between the two locks
                return
            # Built here, not in __init__: the inotify observer starts a reader thread at once.
            if self._poll:
                observer: _Observing = PollingObserver(timeout=POLL_INTERVAL_S)
                observer.start()
                self._observer = observer
            else:
                try:
                    observer = self._native()
                    observer.start()
                except Exception as exc:  # no inotify here, or none left: poll instead
                    self._fall_back_locked(f"{type(exc).__name__}: {exc}")
                else:
                    self._observer = observer
            self._reconcile_locked()  # a write right after start() must not be missed
            self._thread = threading.Thread(target=self._run, name="conductor-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop and join both threads (with a timeout); safe from any thread, and more than once."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        with self._watch_lock:
            observer, self._observer = self._observer, None
            self._scheduled.clear()
            if observer is not None:
                observer.stop()
        me = threading.current_thread()
        if observer is not None and observer is not cast(object, me):  # watchdog's is a thread
            observer.join(JOIN_TIMEOUT_S)
        thread = self._thread
        if thread is not None and thread is not me:
            thread.join(JOIN_TIMEOUT_S)

    def watch_sprint(self, sprint_dir: str | None) -> None:
        """Switch to watching a (new) sprint dir; None goes back to waiting for one to appear."""
        path = os.path.abspath(sprint_dir) if sprint_dir else None
        with self._cond:
            if path == self._sprint:
                return  # the app calls this after every reload; a no-op must not cause a callback
            self._sprint = path
            self._children = []
            self._wants = self._compute_wants()
            self._kick = True
            self._cond.notify_all()

    # -- observer thread ------------------------------------------------------------------------

    def _record_many(self, events: Sequence[FileSystemEvent]) -> None:
        """Add the paths of raw events to the dirty set and wake the bridge thread once."""
        found: list[tuple[FileSystemEvent, str, str, list[str]]] = []
        for event in events:
            paths: list[str] = []
            kind = event.event_type
            src = os.fsdecode(event.src_path) if event.src_path else ""
            dest = os.fsdecode(event.dest_path) if getattr(event, "dest_path", "") else ""
            wanted = kind not in _IGNORED_TYPES
            # inotify pairs every directory "modified" with a created/deleted/moved/closed event
            # of the entry itself: it adds only the temp files' parents (a repaint before the
            # rename).
            if not self._poll and kind == "modified" and event.is_directory:
                wanted = False
            if wanted:
                if src and not _is_temp(src):
                    paths.append(src)
                if dest:  # a move's destination always counts: that is how an atomic write lands
                    paths.append(dest)
            found.append((event, src, dest, paths))
        with self._cond:
            self._events += len(events)
            dirty = False
            for event, src, dest, paths in found:
                wants = self._wants
                paths = [p for p in paths if _relevant(p, wants)]
                if not paths:
                    continue
                if (
                    self._sprint is None
                    and event.is_directory
                    and event.event_type in ("created", "moved")
                    and os.path.dirname(dest or src) == self._conductor
                ):
                    # A new sprint folder: watch it shallowly so its sprint.json write is seen.
                    child = dest or src
                    if child not in self._children:
                        self._children = [*self._children, child][-MAX_CHILD_WATCHES:]
                        self._wants = self._compute_wants()
                self._dirty.update(paths)
                dirty = True
            if not dirty:
                return
            now = time.monotonic()
            if self._first_at is None:
                self._first_at = now
            self._last_at = now
            self._cond.notify_all()

    # -- bridge thread --------------------------------------------------------------------------

    def _compute_wants(self) -> tuple[Want, ...]:
        """The directories to watch now (caller holds _cond or is __init__)."""
        wants: list[Want] = [(self._store, False)]  # audit.log lives at the top of the store
        if self._sprint is not None:
            wants.append((self._sprint, True))
        else:
            wants.append((self._conductor, False))
            wants.extend((child, False) for child in self._children)
        return tuple(wants)

    def _run(self) -> None:
        """Bridge thread: wait for a burst to settle (or a rescan to fall due), then deliver it."""
        while True:
            with self._cond:
                rescan = False
                while True:
                    if self._stopping:
                        return
                    now = time.monotonic()
                    if self._first_at is not None:
                        # Quiet for quiet_s, or max_wait_s since the burst began: a steady stream of
                        # writes must still repaint.
                        due = min(self._last_at + self._quiet_s, self._first_at + self._max_wait_s)
                    elif self._kick:
                        break
                    elif not self._poll and not _inotify_reader_alive(self._observer):
                        rescan = True  # a deaf watcher: replace it now, not at the next rescan
                        break
                    elif self._rescan_s is not None:
                        due = self._flushed_at + self._rescan_s
                        if now >= due:
                            rescan = True
                    else:
                        due = now + HEALTH_S
                    if now >= due:
                        break
                    self._cond.wait(min(due - now, HEALTH_S))
                paths = set(self._dirty)
                self._dirty.clear()
                self._first_at = None
                self._kick = False
                self._flushed_at = time.monotonic()
            # New watches are in place before the callback, so the app's re-read covers anything
            # written in the gap and the watch covers everything after.
            try:
                paths |= self._reconcile()
            except Exception:  # the bridge thread must outlive any one bad look at the disk
                log.exception("watch: reconciling the watches failed")
                paths.add(self._store)
            if paths or rescan:
                self._deliver(frozenset(paths))

    def _deliver(self, paths: frozenset[str]) -> None:
        """Call the callback once; its errors are logged and the thread keeps going."""
        try:
            self._on_change(paths)
        except Exception:
            log.exception("watch: on_change callback failed")
        finally:
            self._bursts += 1

    def _fall_back_locked(self, reason: str) -> None:
        """The platform's file events failed (none on this system, or a limit reached): poll
        the store instead, from now on. Every event style reaches _record_many the same way, so
        nothing else changes; the periodic rescan stays as it is."""
        log.warning(
            "watch: file events unavailable (%s); polling every %s s", reason, POLL_INTERVAL_S
        )
        self.fallback = reason
        self._poll = True
        old, self._observer = self._observer, PollingObserver(timeout=POLL_INTERVAL_S)
        self._scheduled.clear()
        self._observer.start()
        if old is not None:
            old.stop()  # not joined: a daemon; its emitters may wait on a reader that failed

    def _replace_observer_locked(self) -> None:
        """Start over with a new observer and a new inotify reader (the old reader is dead)."""
        log.warning("watch: the inotify reader thread died; restarting the watches")
        old, self._observer = self._observer, self._native()
        self._scheduled.clear()
        self._observer.start()
        if old is not None:
            old.stop()  # not joined: its emitters wait on the dead reader; they are daemons

    def _reconcile(self) -> set[str]:
        """Bring the scheduled watches in line with what exists; return the newly watched dirs."""
        with self._watch_lock:
            settled, observer = self._settled, self._observer
            with self._cond:
                wants = self._wants
            if (
                settled is not None
                and isinstance(observer, TreeObserver)
                and settled == (wants, observer, observer.generation)
                and observer.reader_alive()
            ):
                # Every wanted folder is a watch root of a healthy tree observer, none of them
                # gone since: the tree follows what happens under them by itself.
                return set()
            return self._reconcile_locked()

    def _reconcile_locked(self) -> set[str]:
        """_reconcile with _watch_lock held."""
        added: set[str] = set()
        if (
            not self._poll
            and self._observer is not None
            and not _inotify_reader_alive(self._observer)
        ):
            self._replace_observer_locked()
            added.add(self._store)  # a change to report: the app re-reads what it missed
        # Each round re-reads the disk after the previous round's watches went in: a folder created
        # just before its parent's watch was installed is caught by the next look, not missed.
        for _ in range(_RECONCILE_TRIES):
            observer = self._observer
            if observer is None:
                return added
            with self._cond:
                wants = self._wants
                children = set(self._children)
            desired: set[Want] = set()
            for path, recursive in wants:
                if os.path.isdir(path):
                    desired.add((path, recursive))
                elif path not in children:  # a vanished child folder is simply dropped
                    # Watch the nearest existing ancestor, shallowly, until the folder appears.
                    desired.add((_nearest_dir(path), False))
            # One watch per directory: a recursive want covers the shallow one.
            desired -= {(p, False) for p, r in desired if r}

            # A watched directory that was deleted stops its emitter for good; replace it.
            alive = {
                emitter.watch
                for emitter in set(observer.emitters)
                if emitter.is_alive() and not emitter.stopped_event.is_set()
            }
            stale = [k for k, w in self._scheduled.items() if k not in desired or w not in alive]
            missing = desired - (self._scheduled.keys() - set(stale))
            if not stale and not missing:
                if isinstance(observer, TreeObserver) and desired == set(wants):
                    self._settled = (wants, observer, observer.generation)
                break
            for key in stale:
                watch = self._scheduled.pop(key)
                try:
                    observer.unschedule(watch)
                except Exception:  # already gone from the observer: nothing to undo
                    log.debug("watch: unschedule %r failed", watch, exc_info=True)
            for key in missing:
                path, recursive = key
                try:
                    self._scheduled[key] = observer.schedule(
                        self._handler, path, recursive=recursive, event_filter=_EVENT_FILTER
                    )
                except FileNotFoundError:
                    pass  # vanished since the check: the next round watches its parent instead
                except OSError as exc:
                    if not self._poll:  # e.g. the inotify watch limit: poll everything instead
                        self._fall_back_locked(f"watching {path}: {exc}")
                        added.add(self._store)  # the app re-reads what the gap may hide
                        break
                    if path not in self._warned:  # polling cannot fail this way; say it once
                        self._warned.add(path)
                        log.warning("watch: cannot watch %s: %s", path, exc)
                else:
                    added.add(path)
        return added
