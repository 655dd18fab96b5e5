"""`conductor skill install|uninstall [--for HOSTS] [--project DIR | --user] [--json]`.

Hosts that load skills get the /conductor skill as a file of its own:
    claude   .claude/skills/conductor/SKILL.md   (~/.claude/skills/conductor/SKILL.md with --user)
    cursor   .cursor/skills/conductor/SKILL.md   (~/.cursor/skills/conductor/SKILL.md)
Hosts that read an instructions file get a delimited section of AGENTS.md:
    codex    AGENTS.md of the project            ($CODEX_HOME/AGENTS.md, ~/.codex by default)
    opencode AGENTS.md of the project            (~/.config/opencode/AGENTS.md)

Installing twice changes nothing. Uninstall removes exactly what install added: the section and
the blank line put before it (the file is then byte for byte what it was), a file install created
when nothing else is left in it, and the folders install created when they are empty. A file that
is not ours (a SKILL.md someone else wrote) is refused and left alone, as is a symlink.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass

from ..core.errors import BadInput, Refused
from . import common, texts

SKILL_HOSTS = {"claude": ".claude", "cursor": ".cursor"}
SECTION_HOSTS = ("codex", "opencode")
SKILL_MARK = "<!-- conductor-skill "
BEGIN = "<!-- conductor:begin "
END = "<!-- conductor:end -->"
_FIELDS = re.compile(r"(\{[^{}\n]*\})")
MAX_MADE = 4  # folders an install may create above a file: never remove more than that


@dataclass
class Target:
    """One file to write: which hosts it serves, where, and how."""

    hosts: list[str]
    path: str
    kind: str  # "skill" (a file of ours) or "section" (our part of AGENTS.md)


@dataclass
class Change:
    """What install or uninstall does to one target."""

    target: Target
    action: str  # created, updated, unchanged, removed, absent
    data: bytes | None = None  # the new content (None: remove the file)
    made: int = 0  # folders to create (install) or remove when empty (uninstall)


def targets(hosts: list[str], project: str | None) -> list[Target]:
    """Where each host's text goes, one target per distinct file."""
    out: dict[str, Target] = {}
    for host in hosts:
        if host in SKILL_HOSTS:
            base = project if project is not None else common.home()
            path = os.path.join(base, SKILL_HOSTS[host], "skills", texts.SKILL_NAME, "SKILL.md")
            kind = "skill"
        else:
            if project is not None:
                folder = project
            elif host == "codex":
                folder = common.codex_home()
            else:
                folder = common.opencode_home()
            path = os.path.join(folder, "AGENTS.md")
            kind = "section"
        out.setdefault(path, Target([], path, kind)).hosts.append(host)
    return list(out.values())


def _missing_dirs(path: str) -> int:
    """How many of the folders above path do not exist yet."""
    n, cur = 0, os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(cur):
        n += 1
        parent = os.path.dirname(cur)
        if parent == cur:
            break
        cur = parent
    return n


def _fields(line: str) -> dict[str, object]:
    m = _FIELDS.search(line)
    if not m:
        return {}
    try:
        value = json.loads(m.group(1))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _made(fields: dict[str, object]) -> int:
    made = fields.get("made", 0)
    return made if isinstance(made, int) and 0 <= made <= MAX_MADE else 0


# ---------------------------------------------------------------------- the skill file


def _skill_text(made: int) -> bytes:
    mark = json.dumps({"made": made})
    return (
        texts.skill_md() + f"\n{SKILL_MARK}{mark} installed by `conductor skill install`; "
        "`conductor skill uninstall` removes this file -->\n"
    ).encode()


def _skill_fields(data: bytes) -> dict[str, object] | None:
    """Our marker's fields when the file is ours, else None."""
    text = data.decode("utf-8", "replace")
    for line in reversed(text.splitlines()):
        if line.startswith(SKILL_MARK):
            return _fields(line)
    return None


def plan_skill(t: Target, install: bool) -> Change:
    existing = common.read_user_file(t.path)
    if existing is None:
        if not install:
            return Change(t, "absent")
        made = _missing_dirs(t.path)
        return Change(t, "created", _skill_text(made), made)
    fields = _skill_fields(existing)
    if fields is None:
        raise Refused(
            f"{t.path} exists and was not written by `conductor skill install`; "
            "nothing was changed (move it away, or remove it, first)"
        )
    made = _made(fields)
    if not install:
        return Change(t, "removed", None, made)
    new = _skill_text(made)
    return Change(t, "unchanged" if new == existing else "updated", new, 0)


# ---------------------------------------------------------------------- the AGENTS.md section


def _block(fields: dict[str, object]) -> str:
    mark = json.dumps(fields, sort_keys=True)
    return (
        f"{BEGIN}{mark} managed by `conductor skill install`; "
        "`conductor skill uninstall` removes this section -->\n"
        f"{texts.agents_section()}{END}\n"
    )


def _find_block(text: str) -> tuple[int, int, dict[str, object]] | None:
    start = text.find(BEGIN)
    if start < 0 or (start > 0 and text[start - 1] != "\n"):
        return None
    stop = text.find(END, start)
    if stop < 0:
        raise BadInput(
            "AGENTS.md has the start of conductor's section but not its end marker "
            f"({END}); fix it by hand; nothing was changed"
        )
    stop += len(END)
    if text.startswith("\n", stop):
        stop += 1
    line_end = text.find("\n", start)
    return start, stop, _fields(text[start:line_end])


def plan_section(t: Target, install: bool) -> Change:
    raw = common.read_user_file(t.path)
    if raw is None:
        if not install:
            return Change(t, "absent")
        made = _missing_dirs(t.path)
        fields: dict[str, object] = {"created": True, "made": made, "sep": 0}
        return Change(t, "created", _block(fields).encode(), made)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{t.path} is not UTF-8 text; nothing was changed") from None
    found = _find_block(text)
    if found is None:
        if not install:
            return Change(t, "absent")
        glue = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
        fields = {"created": False, "made": 0, "sep": len(glue)}
        return Change(t, "updated", (text + glue + _block(fields)).encode())
    start, stop, fields = found
    if install:
        new = text[:start] + _block(fields) + text[stop:]
        return Change(t, "unchanged" if new == text else "updated", new.encode())
    sep = fields.get("sep", 0)
    before = text[:start]
    if isinstance(sep, int) and 0 < sep <= 2 and before.endswith("\n" * sep):
        before = before[:-sep]
    rest = before + text[stop:]
    if rest == "" and fields.get("created") is True:
        return Change(t, "removed", None, _made(fields))
    return Change(t, "removed", rest.encode())


# ---------------------------------------------------------------------- apply


def apply(change: Change, install: bool) -> None:
    t = change.target
    if change.action in ("unchanged", "absent"):
        return
    if install:
        made = common.make_dirs(os.path.dirname(t.path))
        assert change.data is not None
        if change.made != len(made) and change.action == "created":
            change.made = len(made)  # someone made a folder meanwhile: record what we made
            change.data = (
                _skill_text(change.made)
                if t.kind == "skill"
                else _block({"created": True, "made": change.made, "sep": 0}).encode()
            )
        common.write_user_file(t.path, change.data)
        return
    if change.data is not None:
        common.write_user_file(t.path, change.data)
        return
    common.remove_user_file(t.path)
    dirs, cur = [], os.path.dirname(t.path)
    for _ in range(change.made):
        dirs.append(cur)
        cur = os.path.dirname(cur)
    common.remove_empty_dirs(dirs)


def run(action: str, hosts: list[str], project: str | None) -> list[Change]:
    """Plan every target first (so that a refusal changes nothing), then write."""
    install = action == "install"
    plans = [
        plan_skill(t, install) if t.kind == "skill" else plan_section(t, install)
        for t in targets(hosts, project)
    ]
    for change in plans:
        apply(change, install)
    return plans


def main(argv: list[str]) -> int:
    """`conductor skill install|uninstall ...`."""
    p = common.Parser(
        prog="conductor skill",
        description="Install the /conductor skill (or an AGENTS.md section) into agent hosts.",
    )
    p.add_argument("action", choices=["install", "uninstall"])
    p.add_argument(
        "--for",
        dest="hosts",
        default="all",
        metavar="HOSTS",
        help="claude, codex, cursor, opencode, a comma-separated list, or all (default)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--project", help="the project to install into (default: here)")
    where.add_argument("--user", action="store_true", help="the hosts' per-user folders")
    p.add_argument("--json", action="store_true", help="one JSON object out")
    args = p.parse_args(argv)

    def body() -> int:
        hosts = common.hosts_of(args.hosts, common.HOSTS)
        changes = run(args.action, hosts, common.target_dir(args))
        files = [
            {
                "hosts": c.target.hosts,
                "path": c.target.path,
                "kind": c.target.kind,
                "action": c.action,
            }
            for c in changes
        ]
        lines = [f"{c.action:>9}  {c.target.path}  ({', '.join(c.target.hosts)})" for c in changes]
        did = "installed" if args.action == "install" else "uninstalled"
        message = f"{did} the conductor skill for {', '.join(hosts)}\n" + "\n".join(lines)
        common.emit(args.json, "OK", message, {"files": files})
        return 0

    return common.guarded(args.json, f"skill {args.action}", body)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
