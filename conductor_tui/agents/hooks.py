"""`conductor hooks install|uninstall|run ...`: install and uninstall live in settings.py, what
the installed hooks run in run.py. This module only dispatches, so that `hooks run` on every tool
call imports neither argparse nor the settings editor."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """`conductor hooks run EVENT ...`, else `conductor hooks install|uninstall ...`."""
    if argv[:1] == ["run"]:
        from .run import hook_run

        return hook_run(argv[1:])
    from .settings import main as settings_main

    return settings_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
