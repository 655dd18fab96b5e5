"""`conductor-tui`: find the sprint like the CLI does, then run the app (Textual imported late)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

    from ..demo import DemoAgents


def build_parser() -> argparse.ArgumentParser:
    """The `conductor-tui` argument parser."""
    p = argparse.ArgumentParser(
        prog="conductor-tui",
        description="Watch a conductor sprint live and recover stale locks from the keyboard.",
    )
    p.add_argument("--store", help="store directory (else $NANOSTACK_STORE, git top, ~)")
    p.add_argument("--project", help="project directory (default: current)")
    p.add_argument("--sprint", help="sprint id (default: the project's active sprint)")
    p.add_argument("--agent", help="who you claim as (default: human-<user>)")
    p.add_argument("--read-only", action="store_true", help="watch only: no key changes the store")
    p.add_argument("--poll", action="store_true", help="poll the disk (no inotify, e.g. NFS)")
    p.add_argument("--no-mouse", action="store_true", help="leave the mouse to the terminal")
    p.add_argument(
        "--no-bell",
        action="store_true",
        help="no terminal bell when a lock turns stale, a double grant appears or a fenced "
        "completion is logged (the toast still shows)",
    )
    p.add_argument("--skills", action="append", help="a skill root to search for SKILL.md")
    p.add_argument(
        "--demo",
        action="store_true",
        help="a temporary sprint with simulated agents (one dies holding a lock)",
    )
    return p


# How long the orderly exit after SIGHUP or SIGTERM may take before the process leaves anyway:
# the app must be gone within a second. It takes 0.02-0.6 s (bench/terminal_exit.py), but one
# layout pass of a large busy sprint, or the demo's agents giving their claims back, can be longer.
LAST_RESORT_S = 0.8
LEAVE_ON = (signal.SIGHUP, signal.SIGTERM)


class _Leave(Exception):
    """A SIGHUP or SIGTERM that arrived before the app was running."""


class _Leaving:
    """Leave on SIGHUP (a closed pane, a lost terminal) or SIGTERM, busy or idle.

    The exit code is 128 + the signal (129, 143), as a shell reports a process that a signal
    ended: a wrapper or tmux hook can tell a hang-up or a kill from a user's `q` (0). A hang-up
    that the kernel does not signal (the tty is not our controlling terminal) is found by the
    driver (`driver.py`) and reported as SIGHUP, so it comes here too.

    Before the app runs, a signal unwinds `main` (`_Leave`), whose `finally` cleans up. After, it
    asks the app to exit as `q` does, and arms SIGALRM: should that orderly exit not be over within
    LAST_RESORT_S (a terminal that takes no more output, a thread that never returns), the alarm
    restores what it can of the terminal, kills the demo's agents, removes the demo's store and
    `os._exit`s. A timer signal, not a thread: only watch.py starts threads, and a Python signal
    handler runs in the main thread even while it waits on a lock or a queue.
    """

    def __init__(self) -> None:
        self.app: App[Any] | None = None  # once it exists
        self.agents: DemoAgents | None = None
        self.demo_root: str | None = None
        self.signum = 0  # the signal we are leaving on, once one came
        self._before: dict[int, Any] = {}

    def install(self) -> None:
        """Handle SIGHUP and SIGTERM until finish()."""
        self._before = {sig: signal.signal(sig, self.on_signal) for sig in LEAVE_ON}

    def finish(self) -> None:
        """After main's own cleanup: leave now if a signal asked us to, else hand signals back.

        Leaving by `os._exit` skips only the interpreter's teardown of the app's objects, which
        alone took 0.3 to 0.8 s on a busy 2-core machine; the app has exited, the demo is
        cleaned up and nothing else is ours to finish.
        """
        if self.signum:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            os._exit(128 + self.signum)
        for sig, handler in self._before.items():
            signal.signal(sig, handler)

    def on_signal(self, signum: int, _frame: object) -> None:
        """Ask the app to exit; a second signal changes nothing (nor postpones the deadline)."""
        if self.app is None:
            raise _Leave(signum)
        if self.signum:
            return
        self.signum = signum
        signal.signal(signal.SIGALRM, self.last_resort)
        signal.setitimer(signal.ITIMER_REAL, LAST_RESORT_S)
        if self.agents is not None:
            self.agents.ask_to_stop()  # they give their claims back while the app shuts down
        import asyncio  # already loaded by Textual

        leave = partial(self.app.exit, return_code=128 + signum)
        try:
            loop = asyncio.get_running_loop()  # the app's, if this handler interrupted it
        except RuntimeError:
            leave()  # not running yet (the app then never starts) or any more
        else:
            # App.exit posts a message, which from a signal handler does not wake the loop: it
            # would sit in select() until the next timer. This wakes it (signal-safe, as asyncio's
            # own signal handling does it).
            loop.call_soon_threadsafe(leave)

    def last_resort(self, _signum: int, _frame: object) -> None:
        """The orderly exit is overdue: restore what can be restored, then leave at once.

        Runs in the main thread wherever it was stuck, so it takes no lock and waits on nothing.
        """
        driver = self.app._driver if self.app is not None else None
        restore = getattr(driver, "restore_now", None)  # TerminalDriver's, not TEXTUAL_DRIVER's
        if restore is not None:
            restore()
        if self.agents is not None:
            self.agents.kill_now()
        for _ in range(3):  # an agent killed mid-write may add a file while the tree goes
            if self.demo_root is None or not os.path.lexists(self.demo_root):
                break
            shutil.rmtree(self.demo_root, ignore_errors=True)
        os._exit(128 + self.signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `conductor-tui`."""
    args = build_parser().parse_args(argv)
    # No cyclic collection until the first reading is on screen (the app turns it on again and
    # freezes what start-up made): start-up allocates a great deal and frees nearly all of it by
    # reference counting, and full collections in the middle of it cost a fifth of the start.
    gc.disable()
    from ..core.errors import ConductorError
    from ..core.paths import check_agent, logical_cwd
    from ..core.store import Store
    from ..storespec import is_url, store_spec

    leaving = _Leaving()
    leaving.install()
    demo = agents = None
    try:
        if args.demo:
            from ..demo import DemoAgents, create_demo

            demo = create_demo()
            leaving.demo_root = demo.root
            store_root, project, sprint_id = demo.store, demo.project, demo.sprint_id
        else:
            if args.project and not os.path.isdir(args.project):
                raise ConductorError(f"--project {args.project!r} is not a directory")
            project = os.path.abspath(args.project) if args.project else logical_cwd()
            store_root, sprint_id = store_spec(args.store, project), args.sprint
        from .app import default_agent

        agent = check_agent(args.agent) if args.agent else default_agent()
        loader: Any
        if is_url(store_root):  # a team's database: read whole, LISTEN for news
            from ..pg import open_store
            from .pgmodel import PgLoader

            loader = PgLoader(open_store(store_root), project, sprint_id, args.skills)
        else:
            from .model import Loader

            loader = Loader(Store(store_root), project, sprint_id, args.skills)
        if not is_url(store_root) and not os.path.isdir(store_root):
            what = f"no sprint {sprint_id}" if sprint_id else f"no active sprint for {project}"
            raise ConductorError(
                f"{what}: there is no store at {store_root}. Start a sprint with "
                "`conductor start`, point --store or $NANOSTACK_STORE at a store, "
                "or try `conductor-tui --demo`"
            )
        first = loader.load()  # a corrupt file is reported before the screen, not on it
        if first.view is None and (sprint_id or first.fatal):
            raise ConductorError(first.error or "no sprint")
        from .app import ConductorApp

        if demo is not None:
            agents = leaving.agents = DemoAgents(demo)
            agents.start()
        app = ConductorApp(
            loader,
            agent=agent,
            read_only=args.read_only,
            poll=args.poll,
            bell=not args.no_bell,
            on_exit=agents.cleanup if agents is not None else None,
            initial=first,
            freeze_gc=True,
        )
        from textual.drivers.linux_driver import LinuxDriver

        from .driver import TerminalDriver

        if app.driver_class is LinuxDriver:  # Textual's choice, unless TEXTUAL_DRIVER says else
            app.driver_class = TerminalDriver  # notices a terminal that went away
        leaving.app = app
        app.run(mouse=not args.no_mouse)
        return app.return_code or 0
    except ConductorError as exc:
        print(f"ERROR: {exc.message}", file=sys.stderr)
        return 2
    except _Leave as left:
        return 128 + int(left.args[0])
    finally:
        gc.enable()
        if agents is not None:
            agents.cleanup()  # stops the agents and removes the demo's store
        elif demo is not None:
            shutil.rmtree(demo.root, ignore_errors=True)
        leaving.finish()


if __name__ == "__main__":
    sys.exit(main())
