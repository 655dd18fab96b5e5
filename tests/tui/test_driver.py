"""The terminal driver's input thread on a real pty: it sleeps until input or the exit wakes it,
and still turns a lone escape into the escape key once the parser's deadline passes."""

from __future__ import annotations

import asyncio
import os
import select
import threading
import tty
from typing import Any

from textual import events
from textual._xterm_parser import XTermParser

from conductor_tui.tui.driver import TerminalDriver, _WakingEvent

LIVENESS_S = 10.0  # a bound on a hang, not a measure of speed


class _Receiver:
    """What the driver posts its messages to (the app, in the running program)."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.arrived = asyncio.Event()

    async def _post_message(self, message: Any) -> bool:
        if isinstance(message, events.Key):
            self.keys.append(message.key)
            self.arrived.set()
        return True


def test_the_exit_event_wakes_a_waiting_reader() -> None:
    event = _WakingEvent()
    fd = event.open()
    try:
        assert select.select([fd], [], [], 0)[0] == []
        event.set()
        assert select.select([fd], [], [], 0)[0] == [fd]
        event.drain()
        assert select.select([fd], [], [], 0)[0] == []
        assert event.is_set()
    finally:
        event.close()
    event.set()  # with the pipe closed: no error, nothing to wake


def test_the_reader_waits_without_a_timeout_unless_a_sequence_is_pending() -> None:
    parser = XTermParser()
    assert TerminalDriver._input_timeout(parser, wake=5) is None
    assert TerminalDriver._input_timeout(parser, wake=None) == 0.1  # nothing wakes it: poll
    list(parser.feed("\x1b"))  # the start of a sequence, or the escape key
    pending = TerminalDriver._input_timeout(parser, wake=5)
    assert pending is not None and 0.0 <= pending <= 0.2
    list(parser.feed("[A"))  # it was the up arrow
    assert TerminalDriver._input_timeout(parser, wake=5) is None


def test_keys_arrive_a_lone_escape_too_and_the_exit_ends_the_thread() -> None:
    async def run() -> None:
        receiver = _Receiver()
        master, slave = os.openpty()
        tty.setraw(slave)  # as the driver's application mode sets it: bytes, not lines
        driver = TerminalDriver(receiver)  # the app, as far as its input thread sees it
        driver.fileno, driver.input_tty = slave, True
        thread = threading.Thread(target=driver.run_input_thread, daemon=True)
        thread.start()

        async def key() -> str:
            await asyncio.wait_for(receiver.arrived.wait(), LIVENESS_S)
            receiver.arrived.clear()
            return receiver.keys.pop(0)

        try:
            os.write(master, b"a")
            assert await key() == "a"
            os.write(master, b"\x1b")  # alone: only the parser's deadline makes it a key
            assert await key() == "escape"
            os.write(master, b"\x1b[B")
            assert await key() == "down"
            driver.exit_event.set()  # what disable_input does before it joins the thread
            await asyncio.to_thread(thread.join, LIVENESS_S)
            assert not thread.is_alive()
            assert receiver.keys == []
        finally:
            driver.exit_event.set()
            thread.join(LIVENESS_S)  # before the master closes, which the thread reads as a hang-up
            os.close(master)
            os.close(slave)

    asyncio.run(run())
