"""`conductor-tui`: find the sprint like the CLI does, then run the app (Textual imported late)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any


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
    p.add_argument("--skills", action="append", help="a skill root to search for SKILL.md")
    p.add_argument(
        "--demo",
        action="store_true",
        help="a temporary sprint with simulated agents (one dies holding a lock)",
    )
    return p


class _Leave(Exception):
    """A SIGHUP or SIGTERM that arrived before the app was running."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `conductor-tui`."""
    args = build_parser().parse_args(argv)
    from ..core.errors import ConductorError
    from ..core.paths import check_agent, find_store, logical_cwd
    from ..core.store import Store

    running: list[Any] = []  # the app, once it exists

    # A closed tmux pane (SIGHUP) or a kill (SIGTERM) must still stop the demo's agents and
    # remove its temporary store: before the app runs, unwind; after, leave like `q` does.
    def leave(signum: int, _frame: object) -> None:
        if running:
            running[0].exit(return_code=128 + signum)
        else:
            raise _Leave(signum)

    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, leave)
    demo = agents = None
    try:
        if args.demo:
            from ..demo import DemoAgents, create_demo

            demo = create_demo()
            store_root, project, sprint_id = demo.store, demo.project, demo.sprint_id
        else:
            if args.project and not os.path.isdir(args.project):
                raise ConductorError(f"--project {args.project!r} is not a directory")
            project = os.path.abspath(args.project) if args.project else logical_cwd()
            store_root, sprint_id = find_store(args.store, project), args.sprint
        from .app import default_agent

        agent = check_agent(args.agent) if args.agent else default_agent()
        store = Store(store_root)
        from .model import Loader

        loader = Loader(store, project, sprint_id, args.skills)
        if not os.path.isdir(store_root):
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
            agents = DemoAgents(demo)
            agents.start()
        app = ConductorApp(
            loader,
            agent=agent,
            read_only=args.read_only,
            poll=args.poll,
            on_exit=agents.cleanup if agents is not None else None,
            initial=first,
        )
        running.append(app)
        app.run(mouse=not args.no_mouse)
        return app.return_code or 0
    except ConductorError as exc:
        print(f"ERROR: {exc.message}", file=sys.stderr)
        return 2
    except _Leave as left:
        return 128 + int(left.args[0])
    finally:
        if agents is not None:
            agents.cleanup()  # stops the agents and removes the demo's store
        elif demo is not None:
            import shutil

            shutil.rmtree(demo.root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
