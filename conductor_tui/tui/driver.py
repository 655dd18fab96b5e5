"""Textual's Linux driver, made to notice that its terminal has gone away.

Textual 8.2.8's ``LinuxDriver`` outlives a closed terminal (a killed tmux pane, a dropped ssh
connection) in three ways, all seen with py-spy on a real pty whose master was closed:

1. Its input thread reads end of file from the hung-up tty, which select() reports readable for
   ever: it loops at 100 % of a core (Textualize/textual#6690).
2. Its writer thread dies at its first write (EIO); the queue in front of it (30 writes) fills, and
   the next ``write`` blocks the event loop for ever in ``Queue.put``, as does the put of ``close``.
   A SIGTERM handler still runs then, but the loop that should act on it never turns again.
3. The kernel follows a hang-up's SIGHUP with SIGCONT, and the driver's SIGCONT handler starts
   application mode again on the dead tty (``os.isatty`` is false there, which skips its own
   check): a second writer thread that dies at once, and the app's shutdown blocks on its queue.

So this driver reads input with Textual's loop less the spin, gives the writer thread an output
that swallows errors (the thread keeps draining its queue, so no put ever blocks on a dead
terminal), and does not resume on a dead tty. Every hang-up it finds is reported as what it is:
SIGHUP to this process, which the kernel only sends when the tty is our controlling terminal.
``main.py`` turns that signal into an orderly exit; with no handler, SIGHUP's default ends us.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import signal
import termios
import threading
from codecs import getincrementaldecoder
from collections.abc import Callable
from typing import IO, Any

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

__all__ = ["TerminalDriver"]

# What stop_application_mode and disable_input would write: kitty keys, mouse, bracketed paste
# and focus reports off, line wrap on, in-band resize off, alternate screen left, cursor shown.
RESET = (
    b"\x1b[<u\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?2004l\x1b[?7h"
    b"\x1b[?2048l\x1b[?1004l\x1b[?1049l\x1b[?25h"
)


def _nothing() -> None:
    """A callback whose only effect is to wake the event loop."""


class _WakingEvent(threading.Event):
    """The driver's exit event, which also wakes the input thread's select() when it is set, so
    the thread can wait for input without a timeout (Textual's wakes ten times a second to look
    at the event: about 0.2 % of a core on an idle pane)."""

    def __init__(self) -> None:
        super().__init__()
        self._guard = threading.Lock()
        self._pipe: tuple[int, int] | None = None

    def open(self) -> int:
        """A descriptor that turns readable when the event is set (the input thread's)."""
        with self._guard:
            if self._pipe is None:
                r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
                self._pipe = (r, w)
            return self._pipe[0]

    def close(self) -> None:
        """Close the descriptors (the input thread, as it ends)."""
        with self._guard:
            if self._pipe is not None:
                for fd in self._pipe:
                    os.close(fd)
                self._pipe = None

    def drain(self) -> None:
        """Empty the pipe (after a wake-up)."""
        with self._guard:
            if self._pipe is not None:
                with contextlib.suppress(OSError):
                    os.read(self._pipe[0], 64)

    def set(self) -> None:
        super().set()
        with self._guard:
            if self._pipe is not None:
                with contextlib.suppress(OSError):  # a full pipe is awake already
                    os.write(self._pipe[1], b"x")


class _Output:
    """The writer thread's file: writes to the terminal until it fails, then drops everything.

    Textual's writer thread dies on the first OSError; with this in front it never does, so it
    keeps emptying its queue and nobody blocks on a full one.
    """

    def __init__(self, file: IO[str], on_gone: Callable[[], None]) -> None:
        self._file = file
        self._on_gone = on_gone
        self.gone = False

    def write(self, text: str) -> int:
        """Write text, or drop it once the terminal has refused a write."""
        if not self.gone:
            try:
                return self._file.write(text)
            except (OSError, ValueError):  # EIO on a hung-up tty, EPIPE, or a closed file
                self._lost()
        return len(text)

    def flush(self) -> None:
        """Flush, or nothing once the terminal has refused a write."""
        if not self.gone:
            try:
                self._file.flush()
            except (OSError, ValueError):
                self._lost()

    def fileno(self) -> int:
        """The terminal's file descriptor."""
        return self._file.fileno()

    def _lost(self) -> None:
        self.gone = True
        self._on_gone()


class TerminalDriver(LinuxDriver):
    """``LinuxDriver`` that ends its input on end of file and reports a lost terminal as SIGHUP."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hung_up = False
        self.exit_event = _WakingEvent()
        self._output: _Output | None = None
        if self._file is not None:  # stderr, the terminal Textual draws on
            self._output = _Output(self._file, self._hang_up)
            self._file = self._output  # type: ignore[assignment]  # a file as far as the writer sees

    def _hang_up(self) -> None:
        """Report a lost terminal, from any thread: SIGHUP to ourselves (once; should the input
        and the writer thread both get here at the same moment, twice, which main.py allows)."""
        if self._hung_up:
            return
        self._hung_up = True
        os.kill(os.getpid(), signal.SIGHUP)
        # The kernel may hand the signal to this thread; the main thread only runs Python signal
        # handlers once it leaves its select(), so wake it (thread-safe, and harmless if closed).
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(_nothing)

    def terminal_gone(self) -> bool:
        """True once the terminal has hung up (or refused input or output)."""
        return self._hung_up or (self.input_tty and not os.isatty(self.fileno))

    def resume_application_mode(self) -> None:
        """Come back from a suspend, but not onto a dead terminal (the SIGCONT of a hang-up)."""
        if self.terminal_gone():
            self._hang_up()
            return
        super().resume_application_mode()

    def run_input_thread(self) -> None:
        """Textual's input loop, except that the end of input is read once, not for ever, and
        that it sleeps until input arrives or the driver stops.

        On a terminal, end of file or EIO means it hung up; on a pipe, input has simply ended.
        Textual's loop wakes every 0.1 s to look for the exit and for a lone escape key; this one
        waits with no timeout unless the parser holds the start of a sequence (then until its
        deadline), and the exit event wakes it. Nor does it sleep 0.1 s on an empty selector
        before it returns, which every exit used to wait for.
        """
        event = self.exit_event
        waking = event if isinstance(event, _WakingEvent) else None
        wake = waking.open() if waking is not None else None
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        if wake is not None:
            selector.register(wake, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        try:
            while not event.is_set():
                for key, _mask in selector.select(self._input_timeout(parser, wake)):
                    if waking is not None and key.fd == wake:
                        waking.drain()
                        continue
                    try:
                        data = os.read(self.fileno, 4096)
                    except OSError:  # EIO: the other side of the pty is gone
                        data = b""
                    if not data:
                        if self.input_tty:
                            self._hang_up()
                        return
                    for message in parser.feed(decode(data)):
                        self.process_message(message)
                for message in parser.tick():
                    self.process_message(message)
        finally:
            selector.close()
            if waking is not None:
                waking.close()
            with contextlib.suppress(EOFError, ParseError):
                for _message in parser.feed(""):
                    pass

    @staticmethod
    def _input_timeout(parser: XTermParser, wake: int | None) -> float | None:
        """How long select() may wait: until the parser's deadline for a sequence it holds the
        start of (a lone escape becomes the escape key then), else for ever when the exit
        event can wake it, else Textual's 0.1 s."""
        if wake is None:
            return 0.1
        deadline = getattr(parser, "_timeout_time", 0.0)  # Textual's Parser keeps it there
        if deadline is None:
            return None
        if not isinstance(deadline, float | int):
            return 0.1  # another parser than the one this was written against: poll as it does
        return max(0.0, deadline - get_time())

    def restore_now(self) -> None:
        """Last resort before ``os._exit``: put the terminal back without ever blocking.

        Safe in a signal handler: no lock is taken and no write waits for a terminal that reads
        nothing (the descriptor is made non-blocking for one write, then put back).
        """
        if self.terminal_gone():
            return
        if self.attrs_before is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fileno, termios.TCSANOW, self.attrs_before)
        if self._output is None:
            return
        with contextlib.suppress(OSError, ValueError):
            fd = self._output.fileno()
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
            try:
                os.write(fd, RESET)
            finally:
                fcntl.fcntl(fd, fcntl.F_SETFL, flags)
