"""`conductor hooks install|uninstall --for claude|codex|cursor [--project DIR | --user]`: our
hooks merged into an agent host's settings file, and taken out again (run.py is what they run).

The settings files (docs/AGENTS.md says where each host documents them):
    claude  .claude/settings.json   ~/.claude/settings.json
    codex   .codex/hooks.json       $CODEX_HOME/hooks.json (~/.codex)
    cursor  .cursor/hooks.json      ~/.cursor/hooks.json
Claude Code and Codex share one shape, {"hooks": {Event: [{"matcher", "hooks": [handler]}]}};
Cursor's is {"version": 1, "hooks": {event: [handler]}}.

Install adds one entry of ours per event and touches nothing else: the file is edited in place
(jsonedit.py), so the user's keys, hooks, order and formatting stay as they were. Ours are
recognised by their command, `<conductor> hooks run EVENT ...`; installing twice changes
nothing, and an entry of ours that differs (another conductor path) is replaced. Uninstall
removes exactly ours, leaving the file byte for byte as before install; a file left holding only
an empty object is removed. A symlinked or malformed settings file is refused (exit 2 for
malformed JSON, 1 for a symlink) and left untouched.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from typing import Any

from ..core.errors import BadInput
from . import common
from .run import EVENTS

HOOK_HOSTS = ("claude", "codex", "cursor")

# host -> event -> (the host's event name, matcher or None, timeout in seconds or None)
WIRING: dict[str, dict[str, tuple[str, str | None, int | None]]] = {
    "claude": {
        "pre-tool-use": ("PreToolUse", "Write|Edit|MultiEdit|NotebookEdit|Bash", 30),
        "post-tool-use": ("PostToolUse", None, 10),
        "session-start": ("SessionStart", None, 30),
        "stop": ("Stop", None, 30),
    },
    "codex": {
        "pre-tool-use": ("PreToolUse", "Bash|apply_patch", 30),
        "post-tool-use": ("PostToolUse", None, 10),
        "session-start": ("SessionStart", None, 30),
        "stop": ("Stop", None, 30),
    },
    "cursor": {
        "pre-tool-use": ("preToolUse", None, None),
        "post-tool-use": ("postToolUse", None, None),
        "session-start": ("sessionStart", None, None),
        "stop": ("stop", None, None),
    },
}
NEW_FILE = {"claude": "{\n}\n", "codex": "{\n}\n", "cursor": '{\n  "version": 1\n}\n'}
EMPTY_LEFT = {"claude": "{}", "codex": "{}", "cursor": '{"version":1}'}  # whitespace aside


def settings_path(host: str, project: str | None) -> str:
    """The host's hooks file in the project, or the user's with project None."""
    if host == "codex":
        base = os.path.join(project, ".codex") if project else common.codex_home()
        return os.path.join(base, "hooks.json")
    folder = ".claude" if host == "claude" else ".cursor"
    base = os.path.join(project if project else common.home(), folder)
    return os.path.join(base, "settings.json" if host == "claude" else "hooks.json")


def default_conductor() -> str:
    """The conductor executable hooks should run: on PATH, else beside this Python."""
    import shutil

    found = shutil.which("conductor")
    if found:
        return os.path.abspath(found)
    beside = os.path.join(os.path.dirname(sys.executable), "conductor")
    return beside if os.access(beside, os.X_OK) else "conductor"


def command_for(conductor: str, event: str, host: str, store: str | None) -> str:
    """The shell command of one of our hooks."""
    argv = [conductor, "hooks", "run", event, "--for", host]
    if store:
        argv += ["--store", os.path.abspath(store)]
    return shlex.join(argv)


def is_ours(command: object) -> str | None:
    """The event of one of our hook commands, else None."""
    if not isinstance(command, str):
        return None
    try:
        argv = shlex.split(command)
    except ValueError:
        return None
    if len(argv) < 4 or os.path.basename(argv[0]) != "conductor":
        return None
    if argv[1:3] != ["hooks", "run"] or argv[3] not in EVENTS:
        return None
    return argv[3]


def entry(host: str, event: str, command: str) -> dict[str, Any]:
    """What goes into the event's list: a matcher group (Claude Code, Codex) or a handler."""
    _name, matcher, timeout = WIRING[host][event]
    handler: dict[str, Any] = (
        {"command": command}
        if host == "cursor"
        else {
            "type": "command",
            "command": command,
        }
    )
    if timeout is not None:
        handler["timeout"] = timeout
    if host == "cursor":
        if matcher is not None:
            handler["matcher"] = matcher
        return handler
    group: dict[str, Any] = {}
    if matcher is not None:
        group["matcher"] = matcher
    group["hooks"] = [handler]
    return group


# ---------------------------------------------------------------------- reading the file


@dataclass
class Found:
    """One handler of ours in the file: where it is."""

    event_key: str
    group: int  # index in the event's list
    handler: int | None  # index in the group's hooks (Claude Code, Codex), None for Cursor


def _load(path: str, text: str) -> Any:
    from ..core.jsonio import MalformedJSON, loads_strict

    try:
        value = loads_strict(text.encode(), limit=common.MAX_USER_FILE)
    except MalformedJSON as exc:
        raise BadInput(
            f"{path} is not valid JSON ({exc}); fix it first; nothing was changed"
        ) from None
    if not isinstance(value, dict):
        raise BadInput(f"{path} does not hold a JSON object; nothing was changed")
    hooks = value.get("hooks")
    if hooks is not None and not isinstance(hooks, dict):
        raise BadInput(f'{path}: its "hooks" is not an object; nothing was changed')
    for key, groups in (hooks or {}).items():
        if not isinstance(groups, list):
            raise BadInput(f"{path}: hooks.{key} is not a list; nothing was changed")
    return value


def find_ours(host: str, value: dict[str, Any]) -> list[tuple[Found, str, Any]]:
    """Every handler of ours: where, for which of our events, and the entry that holds it."""
    out = []
    for key, groups in (value.get("hooks") or {}).items():
        for gi, group in enumerate(groups):
            if not isinstance(group, dict):
                continue
            if host == "cursor":
                event = is_ours(group.get("command"))
                if event:
                    out.append((Found(key, gi, None), event, group))
                continue
            handlers = group.get("hooks")
            if not isinstance(handlers, list):
                continue
            for hi, handler in enumerate(handlers):
                if isinstance(handler, dict) and (event := is_ours(handler.get("command"))):
                    out.append((Found(key, gi, hi), event, group))
    return out


# ---------------------------------------------------------------------- editing it


def _remove_one(host: str, text: str, found: Found) -> str:
    """Remove one handler of ours, and the containers it leaves empty."""
    from . import jsonedit

    root = jsonedit.parse(text)
    hooks = root.get("hooks")
    assert hooks is not None
    groups = hooks.get(found.event_key)
    assert groups is not None
    if found.handler is not None:
        group = groups.children[found.group]
        handlers = group.get("hooks")
        assert handlers is not None
        if len(handlers.children) > 1:  # the user put a hook of theirs in our group: keep it
            return jsonedit.remove(text, handlers, found.handler)
    text = jsonedit.remove(text, groups, found.group)
    root = jsonedit.parse(text)
    hooks = root.get("hooks")
    assert hooks is not None
    groups = hooks.get(found.event_key)
    assert groups is not None
    if groups.children:
        return text
    text = jsonedit.remove(text, hooks, hooks.index(found.event_key))
    root = jsonedit.parse(text)
    hooks = root.get("hooks")
    assert hooks is not None
    if hooks.children:
        return text
    return jsonedit.remove(text, root, root.index("hooks"))


def _add(host: str, text: str, event: str, value: dict[str, Any]) -> str:
    from . import jsonedit

    key = WIRING[host][event][0]
    root = jsonedit.parse(text)
    hooks = root.get("hooks")
    if hooks is None:
        return jsonedit.insert(text, root, {key: [value]}, key="hooks")
    groups = hooks.get(key)
    if groups is None:
        return jsonedit.insert(text, hooks, [value], key=key)
    return jsonedit.insert(text, groups, value)


def plan(
    host: str, path: str, install: bool, conductor: str, store: str | None
) -> tuple[str, str | None]:
    """(action, new text or None to remove the file) for one host's file."""
    raw = common.read_user_file(path)
    common.check_writable_path(path)
    if raw is None:
        if not install:
            return "absent", None
        text = NEW_FILE[host]
        created = True
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"{path} is not UTF-8 text; nothing was changed") from None
        created = False
    value = _load(path, text)
    wanted = {e: entry(host, e, command_for(conductor, e, host, store)) for e in EVENTS}
    ours = find_ours(host, value)
    if install:
        present = {event for _f, event, group in ours if group == wanted[event]}
        keep = [f for f, event, group in ours if event in present and group == wanted[event]]
        stale = [f for f, _event, _group in ours if f not in keep]
        if not stale and present == set(EVENTS):
            return "unchanged", text
    else:
        stale = [f for f, _event, _group in ours]
        present = set()
        if not stale:
            return "absent", text
    new = text
    while stale:  # remove from the end so that earlier indexes stay valid
        new = _remove_one(host, new, stale.pop())
        value = _load(path, new)
    if not install:
        if "".join(new.split()) == EMPTY_LEFT[host]:
            return "removed", None
        return "removed", new
    for event in EVENTS:
        if event not in present:
            new = _add(host, new, event, wanted[event])
    _load(path, new)  # what we write is valid JSON, or nothing is written
    return ("created" if created else "updated"), new


def run_install(
    action: str, hosts: list[str], project: str | None, conductor: str, store: str | None
) -> list[dict[str, Any]]:
    """Plan every host's file first (a refusal changes nothing), then write."""
    install = action == "install"
    plans = []
    for host in hosts:
        path = settings_path(host, project)
        what, new = plan(host, path, install, conductor, store)
        plans.append((host, path, what, new))
    for _host, path, what, new in plans:
        if what in ("unchanged", "absent"):
            continue
        if new is None:
            common.remove_user_file(path)
            common.remove_empty_dirs([os.path.dirname(path)])
        else:
            common.make_dirs(os.path.dirname(path))
            common.write_user_file(path, new.encode())
    return [{"host": h, "path": p, "action": w} for h, p, w, _n in plans]


def main(argv: list[str]) -> int:
    """`conductor hooks install|uninstall ...`."""
    p = common.Parser(
        prog="conductor hooks",
        description="Merge conductor's hooks into an agent host's settings (or take them out). "
        "`conductor hooks run EVENT --for HOST` is what the installed hooks run.",
    )
    p.add_argument("action", choices=["install", "uninstall"])
    p.add_argument(
        "--for",
        dest="hosts",
        required=True,
        metavar="HOST",
        help="claude, codex, cursor, a comma-separated list, or all",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--project", help="the project whose settings to edit (default: here)")
    where.add_argument("--user", action="store_true", help="the user's settings instead")
    p.add_argument("--conductor", help="the conductor executable hooks run (default: found)")
    p.add_argument("--store", help="a store the hooks should always use")
    p.add_argument("--json", action="store_true", help="one JSON object out")
    args = p.parse_args(argv)

    def body() -> int:
        hosts = common.hosts_of(args.hosts, HOOK_HOSTS)
        conductor = args.conductor or default_conductor()
        files = run_install(args.action, hosts, common.target_dir(args), conductor, args.store)
        lines = [f"{f['action']:>9}  {f['path']}  ({f['host']})" for f in files]
        did = "installed" if args.action == "install" else "uninstalled"
        common.emit(
            args.json,
            "OK",
            f"{did} conductor's hooks for {', '.join(hosts)}\n" + "\n".join(lines),
            {"files": files, "conductor": conductor},
        )
        return 0

    return common.guarded(args.json, f"hooks {args.action}", body)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
