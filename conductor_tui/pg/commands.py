"""`conductor db migrate | import | export`: the schema, and moving a sprint between a file store
and PostgreSQL (the path from one machine to a team, and back).

    conductor db migrate [--store URL]
    conductor db import  [--store URL] [--from DIR] [--sprint ID]   # a file-store sprint in
    conductor db export  [--store URL] --sprint ID [--to DIR]       # a database sprint out

The URL is --store, else $NANOSTACK_STORE; the file store is --from / --to, else the one found
from the project directory (as every command finds it). Exit codes as every command's: 0 done,
2 bad input, an unreachable server or a refused transfer. A password in a URL is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..core.errors import BadInput, ConductorError
from .url import is_pg_url, redact

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="conductor db", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=("migrate", "import", "export"))
    p.add_argument("--store", help="the PostgreSQL URL (else $NANOSTACK_STORE)")
    p.add_argument("--project", help="project directory (default: current)")
    p.add_argument("--sprint", help="the sprint to move (import: default the project's active)")
    p.add_argument("--from", dest="source", help="import: the file store (default: found)")
    p.add_argument("--to", dest="target", help="export: the file store (default: found)")
    p.add_argument("--json", action="store_true", help="one JSON object out")
    return p


def _url(args: argparse.Namespace) -> str:
    url = args.store or os.environ.get("NANOSTACK_STORE") or ""
    if not is_pg_url(url):
        raise BadInput(
            "`conductor db` needs a PostgreSQL store: --store postgresql://… or $NANOSTACK_STORE"
        )
    return str(url)


def _file_store(explicit: str | None, project: str) -> str:
    from ..core.paths import find_store

    # $NANOSTACK_STORE names the database here: the files are found as if it were unset
    env = {k: v for k, v in os.environ.items() if k != "NANOSTACK_STORE"}
    path = find_store(explicit, project, env)
    if is_pg_url(path):
        raise BadInput("the file store must be a directory (--from / --to DIR)")
    return path


def _run(args: argparse.Namespace) -> tuple[str, str, dict[str, object]]:
    from ..core.paths import logical_cwd
    from ..core.store import Store
    from .store import PgStore

    project = os.path.abspath(args.project) if args.project else logical_cwd()
    url = _url(args)
    if args.action == "migrate":
        before, after = PgStore(url, migrate=False).migrate()
        said = f"schema version {after}" + ("" if before == after else f" (was {before or 'none'})")
        return "OK", said, {"before": before, "after": after}
    if args.action == "import":
        from .transfer import import_sprint

        source = Store(_file_store(args.source, project))
        sprint_id = args.sprint
        if not sprint_id:
            found = source.find_active(project)
            if found is None:
                raise BadInput(f"no active sprint for {project} in {source.root}; use --sprint")
            sprint_id = found.sprint_id
        warnings = import_sprint(source, sprint_id, PgStore(url))
        return (
            "OK",
            f"imported {sprint_id} into {redact(url)}",
            {
                "sprint_id": sprint_id,
                "warnings": warnings,
            },
        )
    if not args.sprint:
        raise BadInput("`conductor db export` needs --sprint ID")
    from .transfer import export_sprint

    target = Store(_file_store(args.target, project))
    where = export_sprint(PgStore(url), args.sprint, target)
    return "OK", f"exported {args.sprint} to {where}", {"sprint_id": args.sprint, "path": where}


def main(argv: list[str]) -> int:
    """Entry point of `conductor db`."""
    args = _parser().parse_args(argv)
    try:
        word, said, data = _run(args)
    except ConductorError as exc:
        message = redact(exc.message)
        if args.json:
            print(json.dumps({"ok": False, "word": "ERROR", "message": message}))
        else:
            print(message if message.startswith("ERROR") else f"ERROR: {message}", file=sys.stderr)
        return exc.exit_code
    if args.json:
        print(json.dumps({"ok": True, "word": word, "message": said, **data}))
    else:
        print(f"{word}: {said}")
        for warning in data.get("warnings", []) or []:  # type: ignore[attr-defined]
            print(f"warning: {warning}", file=sys.stderr)
    return 0
