"""`conductor guard`: a pre-tool hook that keeps an agent holding only read phases from writing.

Pure and fast: stdlib plus the stdlib-only parts of the core (no pydantic at import time), so the
CLI can parse the hook's payload and allow the common case (a read, a read-only command) before
it ever opens the store.

Flow for the CLI: ``call = parse_hook(stdin)``; ``what = mutation(call, ...)``; when ``what`` is
None and ``call.problem`` is None, allow at once. Otherwise find the agent (``guard_identity``),
its live claims (``held_phases``) and ``decide``. Exit 0 (print nothing) to allow; exit 2 with
``decision.reason`` (one line) on stderr to block. See docs/GUARD.md.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..text import safe
from .jsonio import MalformedJSON, loads_strict
from .paths import AGENT_RE, MAX_AGENT, Identity, clean_name, detect_agent
from .vocab import LIVE, Concurrency

if TYPE_CHECKING:
    from .models import SprintView

Source = Literal["claude", "codex", "generic"]

MAX_PAYLOAD = 1 << 20  # 1 MiB: a hook payload carries one tool call
MAX_COMMAND = 256 * 1024  # a longer shell command is not read: it counts as a write
MAX_DEPTH = 8  # nested `bash -c` / `$( )` levels before we stop reading and assume a write

# Tools that write the file named in their input (Claude Code's, Codex's, and common generic
# names). Compared case-insensitively.
WRITE_TOOLS = frozenset(
    {
        "write",
        "edit",
        "multiedit",
        "notebookedit",
        "apply_patch",
        "create_file",
        "write_file",
        "edit_file",
        "str_replace_editor",
        "str_replace_based_edit_tool",
    }
)
# Tools that run a shell command (Claude Code: Bash; Codex: Bash, older shell tools).
SHELL_TOOLS = frozenset(
    {
        "bash",
        "shell",
        "shell_command",
        "exec_command",
        "local_shell",
        "run_shell_command",
        "execute_command",
    }
)
_PATH_KEYS = ("file_path", "notebook_path", "path", "filePath", "target_file")
_MCP_PATH_KEYS = (*_PATH_KEYS, "paths", "destination", "source", "target", "new_path", "old_path")
_MCP_WRITER = re.compile(
    r"(write|edit|create|delete|remove|move|rename|patch|mkdir|append|replace|insert|truncate)",
    re.IGNORECASE,
)
_PATCH_PATH = re.compile(r"^\*\*\* (?:Add File|Update File|Delete File|Move to): (.+)$", re.M)


@dataclass(frozen=True)
class HookCall:
    """One tool call as the hook payload describes it (problem is set when it was unreadable)."""

    tool: str = ""
    tool_input: Mapping[str, Any] = field(default_factory=dict)
    event: str | None = None
    session_id: str | None = None
    cwd: str | None = None
    source: Source = "generic"
    problem: str | None = None


@dataclass(frozen=True)
class Decision:
    """The guard's verdict: allow or block, and a one-line reason."""

    allow: bool
    reason: str


# ---------------------------------------------------------------- payload


def _bad(problem: str) -> HookCall:
    return HookCall(problem=problem)


def parse_hook(raw: bytes) -> HookCall:
    """Read a hook payload strictly; an unreadable one yields a HookCall with `problem` set."""
    if not raw.strip():
        return _bad("empty hook payload")
    try:
        obj = loads_strict(raw, limit=MAX_PAYLOAD)
    except MalformedJSON as exc:
        return _bad(f"hook payload is not valid JSON: {exc}")
    if not isinstance(obj, dict):
        return _bad(f"hook payload is a JSON {type(obj).__name__}, not an object")
    if "tool_name" in obj:
        tool, tool_input = obj.get("tool_name"), obj.get("tool_input", {})
    elif "tool" in obj:
        tool, tool_input = obj.get("tool"), obj.get("input", obj.get("tool_input", {}))
    elif "toolName" in obj:  # camelCase hosts (toolName / toolArgs)
        tool, tool_input = obj.get("toolName"), obj.get("toolArgs", obj.get("toolInput", {}))
    else:
        return _bad("hook payload names no tool (expected tool_name or tool)")
    if not isinstance(tool, str) or not tool.strip() or len(tool) > 200:
        return _bad("hook payload's tool name is not a non-empty string")
    if tool_input is None:
        tool_input = {}
    if not isinstance(tool_input, dict):
        return _bad(f"hook payload's tool input is a {type(tool_input).__name__}, not an object")
    event = obj.get("hook_event_name")
    session = obj.get("session_id")
    cwd = obj.get("cwd")
    if "turn_id" in obj or tool == "apply_patch":
        source: Source = "codex"
    elif "tool_name" in obj and ("hook_event_name" in obj or "transcript_path" in obj):
        source = "claude"
    else:
        source = "generic"
    return HookCall(
        tool=tool,
        tool_input=tool_input,
        event=event if isinstance(event, str) else None,
        session_id=session if isinstance(session, str) and session else None,
        cwd=cwd if isinstance(cwd, str) and os.path.isabs(cwd) else None,
        source=source,
    )


def agent_from_payload(call: HookCall) -> str | None:
    """`claude-<first 8 of session_id>` (or `codex-...`) as the protocol names agents, or None."""
    if call.problem or not call.session_id or call.source == "generic":
        return None
    short = clean_name(call.session_id[:8])
    name = f"{call.source}-{short}"
    if len(name) > MAX_AGENT or not AGENT_RE.fullmatch(name):
        return None
    return name


def guard_identity(
    call: HookCall, *, env: Mapping[str, str] | None = None, ppid: int | None = None
) -> Identity:
    """The calling agent for a hook: a stable detected name, else the payload's, else detected.

    `--agent` (handled by the CLI) comes before all of this. A stable name is $NANOSTACK_AGENT or
    a session variable; the parent-pid fallbacks of `detect_agent` mean nothing in a hook
    process, so the payload's session_id wins over them.
    """
    ident = detect_agent(env, ppid)
    if not ident.unstable:
        return ident
    derived = agent_from_payload(call)
    if derived is not None:
        return Identity(derived, "the hook payload's session_id")
    return ident


# ---------------------------------------------------------------- paths


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _inside(path: str, root: str, *, both: bool) -> bool:
    """Whether path is under root lexically and/or after resolving symlinks."""
    lexical = _within(os.path.normpath(path), os.path.normpath(root))
    real = _within(os.path.realpath(path), os.path.realpath(root))
    return (lexical and real) if both else (lexical or real)


@dataclass
class _Where:
    """Where a write lands: what counts as the tree, and what is exempt."""

    cwd: str | None = None
    project: str | None = None
    allow_under: Sequence[str] = ()

    def resolve(self, target: str) -> str | None:
        """The absolute path of a write target, or None when it cannot be known."""
        if not target or any(ch in target for ch in "$`*?[") or "…" in target:
            return None
        if target.startswith("~"):
            target = os.path.expanduser(target)
            if target.startswith("~"):
                return None
        if not os.path.isabs(target):
            if not self.cwd:
                return None
            target = os.path.join(self.cwd, target)
        return os.path.normpath(target)

    def exempt(self, target: str) -> bool:
        """Whether a write misses the tree: a device, the store, or outside the project."""
        if target in _SINKS or target.startswith(("/dev/fd/", "<(…)")):
            return True  # a device, or a process substitution (its command is read separately)
        path = self.resolve(target)
        if path is None:
            return False
        if any(_inside(path, root, both=True) for root in self.allow_under if root):
            return True
        return bool(self.project) and not _inside(path, self.project or "", both=False)

    def show(self, target: str) -> str:
        """A target as a person reads it: relative to the project when inside it."""
        path = self.resolve(target)
        if path and self.project and _inside(path, self.project, both=False):
            rel = os.path.relpath(path, self.project)
            if not rel.startswith(".."):
                return safe(rel, 100)
        return safe(target, 100)


_SINKS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "-"})


# ---------------------------------------------------------------- shell lexer


class _Unparsable(ValueError):
    """The command cannot be read as shell (unterminated quote or substitution)."""


_OPERATORS = (
    "&>>",
    "<<<",
    "<<-",
    "&>",
    ">>",
    ">|",
    ">&",
    "<&",
    "<>",
    "<<",
    "&&",
    "||",
    "|&",
    ";;",
    ";&",
    ">",
    "<",
    "|",
    "&",
    ";",
    "(",
    ")",
    "\n",
)
# operators by first character, longest first; every other operator separates simple commands
_OPS_BY_START: dict[str, tuple[str, ...]] = {
    c: tuple(o for o in _OPERATORS if o[0] == c) for c in {o[0] for o in _OPERATORS}
}
_WRITE_REDIRECTS = frozenset({">", ">>", ">|", "&>", "&>>"})
_READ_REDIRECTS = frozenset({"<", "<<", "<<-", "<<<", "<&", "<>"})


def _balanced(s: str, i: int) -> tuple[str, int]:
    """The body of `$( ... )` / `<( ... )` starting at i (just after the paren) and its end."""
    depth, j, n = 1, i, len(s)
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "'":
            k = s.find("'", j + 1)
            if k < 0:
                raise _Unparsable("unterminated quote")
            j = k + 1
            continue
        if c == '"':
            j = _skip_dquote(s, j + 1)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return s[i:j], j + 1
        j += 1
    raise _Unparsable("unterminated substitution")


def _skip_dquote(s: str, i: int) -> int:
    """Index just after the double quote closing a string that starts at i."""
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        if s.startswith("$(", i):
            _, i = _balanced(s, i + 2)
            continue
        i += 1
    raise _Unparsable("unterminated quote")


def _backtick(s: str, i: int) -> tuple[str, int]:
    """The body of a backtick substitution whose opening tick is at i-1."""
    j, n, out = i, len(s), []
    while j < n:
        c = s[j]
        if c == "\\" and j + 1 < n:
            out.append(s[j + 1])
            j += 2
            continue
        if c == "`":
            return "".join(out), j + 1
        out.append(c)
        j += 1
    raise _Unparsable("unterminated backtick")


@dataclass
class _Lexed:
    """Tokens of a command: ('w', word) or ('op', operator), plus the substituted commands."""

    tokens: list[tuple[str, str]] = field(default_factory=list)
    substitutions: list[str] = field(default_factory=list)


def _lex(s: str) -> _Lexed:
    """Split a shell command into words and unquoted operators; heredoc bodies are dropped."""
    out = _Lexed()
    buf: list[str] = []
    in_word = quoted = False
    want_delim: str | None = None  # "<<" or "<<-" just seen: the next word is a delimiter
    heredocs: list[tuple[str, bool]] = []
    i, n = 0, len(s)

    def flush() -> None:
        nonlocal buf, in_word, quoted, want_delim
        if in_word:
            word = "".join(buf)
            if want_delim is not None:
                heredocs.append((word, want_delim == "<<-"))
                want_delim = None
            out.tokens.append(("w", word))
        buf, in_word, quoted = [], False, False

    while i < n:
        c = s[i]
        if c == "\\":
            if i + 1 < n and s[i + 1] == "\n":
                i += 2
                continue
            buf.append(s[i + 1] if i + 1 < n else "")
            in_word = quoted = True
            i += 2
            continue
        if c == "'":
            j = s.find("'", i + 1)
            if j < 0:
                raise _Unparsable("unterminated quote")
            buf.append(s[i + 1 : j])
            in_word = quoted = True
            i = j + 1
            continue
        if c == '"':
            i = _dquote(s, i + 1, buf, out)
            in_word = quoted = True
            continue
        if c == "$" and s.startswith("$((", i):
            _, i = _balanced(s, i + 2)  # arithmetic: nothing runs
            buf.append("$((…))")
            in_word = True
            continue
        if c == "$" and s.startswith("$(", i):
            body, i = _balanced(s, i + 2)
            out.substitutions.append(body)
            buf.append("$(…)")
            in_word = True
            continue
        if c == "$" and s.startswith("${", i):
            j = s.find("}", i)
            if j < 0:
                raise _Unparsable("unterminated ${")
            buf.append(s[i : j + 1])
            in_word = True
            i = j + 1
            continue
        if c == "`":
            body, i = _backtick(s, i + 1)
            out.substitutions.append(body)
            buf.append("$(…)")
            in_word = True
            continue
        if c in " \t\r":
            flush()
            i += 1
            continue
        if c == "#" and not in_word:
            while i < n and s[i] != "\n":
                i += 1
            continue
        if c in "<>" and s.startswith("(", i + 1):
            body, i = _balanced(s, i + 2)  # process substitution: a word that runs a command
            out.substitutions.append(body)
            buf.append("<(…)")
            in_word = True
            continue
        op = None
        for candidate in _OPS_BY_START.get(c, ()):
            if s.startswith(candidate, i):
                op = candidate
                break
        if op is None:
            buf.append(c)
            in_word = True
            i += 1
            continue
        if op[0] in "<>" and in_word and not quoted and "".join(buf).isdigit():
            buf, in_word = [], False  # `2>file`: the fd number belongs to the operator
        flush()
        out.tokens.append(("op", op))
        i += len(op)
        if op in ("<<", "<<-"):
            want_delim = op
        if op == "\n" and heredocs:
            i = _skip_heredocs(s, i, heredocs)
            heredocs = []
    flush()
    return out


def _dquote(s: str, i: int, buf: list[str], out: _Lexed) -> int:
    """Append a double-quoted string's text to buf (substitutions recorded); return its end."""
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            nxt = s[i + 1]
            buf.append(nxt if nxt in '$`"\\\n' else c + nxt)
            i += 2
            continue
        if c == '"':
            return i + 1
        if s.startswith("$((", i):
            _, i = _balanced(s, i + 2)
            buf.append("$((…))")
            continue
        if s.startswith("$(", i):
            body, i = _balanced(s, i + 2)
            out.substitutions.append(body)
            buf.append("$(…)")
            continue
        if c == "`":
            body, i = _backtick(s, i + 1)
            out.substitutions.append(body)
            buf.append("$(…)")
            continue
        buf.append(c)
        i += 1
    raise _Unparsable("unterminated quote")


def _skip_heredocs(s: str, i: int, heredocs: list[tuple[str, bool]]) -> int:
    """Skip the bodies of pending heredocs that start at i; return where commands resume."""
    for delim, strip_tabs in heredocs:
        while i < len(s):
            end = s.find("\n", i)
            line = s[i:] if end < 0 else s[i:end]
            i = len(s) if end < 0 else end + 1
            if (line.lstrip("\t") if strip_tabs else line) == delim:
                break
    return i


# ---------------------------------------------------------------- shell classifier

_KEYWORDS = frozenset(
    {"!", "{", "}", "then", "do", "else", "elif", "if", "while", "until", "time", "coproc"}
)
_SKIP_SEGMENT = frozenset({"for", "select", "case", "function", "fi", "done", "esac", "in"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "busybox", "fish"})
# Commands whose only purpose is to change files (reason shown after the name).
_WRITERS: dict[str, str] = {
    "rm": "deletes files",
    "rmdir": "deletes directories",
    "mv": "moves files",
    "shred": "destroys files",
    "unlink": "deletes a file",
    "chmod": "changes file modes",
    "chown": "changes file owners",
    "chgrp": "changes file groups",
    "chattr": "changes file attributes",
    "setfacl": "changes file ACLs",
    "truncate": "truncates files",
    "fallocate": "resizes files",
    "mkfifo": "creates files",
    "mknod": "creates files",
    "patch": "patches files",
    "rsync": "copies files",
    "split": "writes files",
    "csplit": "writes files",
    "rename": "renames files",
    "trash": "deletes files",
    "trash-put": "deletes files",
    "ed": "edits files",
    "ex": "edits files",
    "vi": "edits files",
    "vim": "edits files",
    "nvim": "edits files",
    "nano": "edits files",
    "emacs": "edits files",
    "pyupgrade": "rewrites files",
}
# Commands that write to the paths they name: exempt when every target is outside the tree.
_TARGET_WRITERS: dict[str, str] = {
    "mkdir": "creates directories",
    "touch": "creates or touches files",
    "cp": "copies files",
    "install": "installs files",
    "ln": "creates links",
    "tee": "writes files",
}
_LAST_TARGET = frozenset({"cp", "install", "ln"})  # the destination is the last operand
_GIT_WRITE = frozenset(
    {
        "add",
        "am",
        "apply",
        "bisect",
        "checkout",
        "cherry-pick",
        "clean",
        "clone",
        "commit",
        "filter-branch",
        "filter-repo",
        "gc",
        "init",
        "merge",
        "mv",
        "prune",
        "pull",
        "push",
        "rebase",
        "replace",
        "reset",
        "restore",
        "revert",
        "rm",
        "switch",
        "update-index",
        "update-ref",
    }
)
_GIT_SUBCOMMAND_WRITE: dict[str, frozenset[str]] = {
    "stash": frozenset({"", "push", "save", "pop", "apply", "drop", "clear", "store", "branch"}),
    "worktree": frozenset({"add", "remove", "move", "prune", "repair", "lock", "unlock"}),
    "submodule": frozenset({"add", "update", "init", "deinit", "sync", "set-url", "set-branch"}),
    "sparse-checkout": frozenset({"set", "add", "init", "disable", "reapply"}),
    "notes": frozenset({"add", "append", "copy", "edit", "merge", "remove", "prune"}),
    "remote": frozenset({"add", "remove", "rm", "rename", "set-url", "set-head", "prune"}),
    "lfs": frozenset({"pull", "checkout", "install", "track", "untrack", "migrate"}),
}
_GIT_VALUE_OPTS = frozenset(
    {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env"}
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Package managers: the subcommands that change installed packages, lock files or the tree.
_PKG: dict[str, frozenset[str]] = {
    "npm": _words(
        "install i in add ci uninstall un remove rm r update up upgrade link ln unlink dedupe "
        "prune init create version publish rebuild pkg"
    ),
    "pnpm": _words(
        "install i add remove rm uninstall update up upgrade link unlink prune init create "
        "import rebuild patch patch-commit"
    ),
    "yarn": _words("install add remove upgrade up link unlink init create import dedupe set")
    | {""},  # a bare `yarn` installs
    "bun": _words("install i add a remove rm update link init create patch"),
    "pip": _words("install uninstall download wheel"),
    "uv": _words("add remove sync lock init venv build publish export"),
    "poetry": _words("add remove install update lock init new sync build version"),
    "pipenv": _words("install uninstall update lock sync clean upgrade"),
    "pdm": _words("add remove install update lock sync init build"),
    "pipx": _words("install uninstall upgrade inject reinstall"),
    "conda": _words("install remove uninstall update upgrade create"),
    "mamba": _words("install remove uninstall update upgrade create"),
    "gem": _words("install uninstall update"),
    "bundle": _words("install update add remove lock") | {""},  # a bare `bundle` installs
    "composer": _words("install require update remove create-project"),
    "cargo": _words("install uninstall add remove rm fix update new init generate-lockfile vendor"),
    "go": _words("get install fmt generate work fix"),
    "apt": _words("install remove purge upgrade full-upgrade update autoremove reinstall"),
    "apt-get": _words("install remove purge upgrade dist-upgrade update autoremove build-dep"),
    "dnf": _words("install remove erase upgrade update reinstall downgrade autoremove"),
    "yum": _words("install remove erase upgrade update reinstall downgrade autoremove"),
    "zypper": _words("install in remove rm update up dist-upgrade dup"),
    "apk": _words("add del upgrade update fix"),
    "brew": _words("install uninstall remove rm upgrade update reinstall tap untap link cleanup"),
    "snap": _words("install remove refresh revert"),
    "port": _words("install uninstall upgrade selfupdate clean"),
}
_PKG_ALIASES = {"pip3": "pip", "aptitude": "apt"}
_RUNNERS = frozenset({"npx", "pnpx", "bunx", "uvx"})  # run a package's command: read that command
_DESTRUCTIVE_REF_OPTS = {
    "branch": _words(
        "-d -D --delete -m -M --move -c -C --copy -f --force -u --set-upstream-to "
        "--unset-upstream --edit-description --track -t"
    ),
    "tag": _words("-d --delete -a --annotate -s --sign -u --local-user -m -F -f --force -e"),
}
_RUN_SUBCOMMAND = dict.fromkeys(("uv", "poetry", "pipenv", "pdm", "hatch", "rye", "conda"), "run")
_RUN_SUBCOMMAND["bundle"] = "exec"
_PY_WRITE = re.compile(
    r"open\([^)]*,\s*(?:mode\s*=\s*)?[rbt]?['\"][^'\"]*[wax+]"
    r"|\.write_(?:text|bytes)\("
    r"|\bos\.(?:remove|unlink|rename|replace|rmdir|removedirs|mkdir|makedirs|truncate|chmod"
    r"|chown|symlink|link)\("
    r"|\bshutil\.(?:rmtree|move|copy\w*|make_archive|unpack_archive)\("
    r"|\.(?:unlink|rmdir|mkdir|touch|symlink_to|hardlink_to)\("
)


@dataclass
class _Ctx:
    """What the classifier knows while it reads one command line."""

    where: _Where
    depth: int = 0


def _base(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _positionals(args: Sequence[str], value_opts: frozenset[str] = frozenset()) -> list[str]:
    """Operands of a command: arguments that are not options (nor option values)."""
    out: list[str] = []
    skip = False
    ended = False
    for arg in args:
        if skip:
            skip = False
            continue
        if ended or not arg.startswith("-") or arg == "-":
            out.append(arg)
        elif arg == "--":
            ended = True
        elif arg in value_opts:
            skip = True
    return out


def _short_flag(args: Sequence[str], letter: str, stops: str) -> bool:
    """Whether a short flag cluster holds `letter` before any value-taking letter in `stops`."""
    for arg in args:
        if arg == "--":
            return False
        if not arg.startswith("-") or arg.startswith("--") or arg == "-":
            continue
        for ch in arg[1:]:
            if ch == letter:
                return True
            if ch in stops:
                break
    return False


def _strip_wrappers(words: list[str], ctx: _Ctx) -> tuple[list[str], str | None]:
    """Remove assignments, keywords and pass-through wrappers (env, sudo, xargs, ...).

    Returns the remaining words, or a reason when a wrapper's own argument is a command string
    that mutates (env -S).
    """
    i = 0
    while i < len(words):
        word = words[i]
        name = _base(word)
        if word in _KEYWORDS or _ASSIGNMENT.match(word):
            i += 1
        elif name in ("sudo", "doas"):
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-u", "-g", "-U", "-C", "-h", "-p", "-r", "-t") else 1
        elif name == "env":
            i += 1
            while i < len(words) and (words[i].startswith("-") or _ASSIGNMENT.match(words[i])):
                if words[i] in ("-S", "--split-string") and i + 1 < len(words):
                    return [], _classify(words[i + 1], ctx)
                i += 2 if words[i] in ("-u", "--unset", "-C", "--chdir") else 1
        elif name in ("nice", "ionice", "timeout", "stdbuf", "watch", "flock"):
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-n", "-c", "-s", "-k", "-w", "-i", "-o", "-e") else 1
            if name in ("timeout", "flock") and i < len(words):
                i += 1  # the duration / the lock file
        elif name in ("nohup", "command", "builtin", "exec", "chronic", "unbuffer", "caffeinate"):
            if name == "command" and any(w in ("-v", "-V") for w in words[i + 1 : i + 2]):
                return [], None  # `command -v rm` only looks the name up
            i += 1
            while i < len(words) and words[i].startswith("-") and name != "nohup":
                i += 1
        elif name == "xargs":
            i += 1
            while i < len(words) and words[i].startswith("-"):
                takes = words[i] in ("-n", "-I", "-P", "-L", "-s", "-d", "-E", "-a", "-i")
                i += 2 if takes else 1
        else:
            break
    return words[i:], None


def _classify_words(words: list[str], ctx: _Ctx) -> str | None:
    """Why one simple command (redirections removed) mutates the tree, or None."""
    words, reason = _strip_wrappers(words, ctx)
    if reason or not words:
        return reason
    name = _base(words[0])
    args = words[1:]
    where = ctx.where
    if name in _SKIP_SEGMENT or name in ("conductor", "cd", "pushd", "popd", "true", ":"):
        return None
    if name == "eval":
        return _classify(" ".join(args), ctx)
    if name in _SHELLS:
        for k, arg in enumerate(args):
            if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
                return _classify(args[k + 1], ctx) if k + 1 < len(args) else None
        return None  # a script file: not an obvious write
    if name in _WRITERS:
        return f"`{name}` {_WRITERS[name]}"
    if name in _TARGET_WRITERS:
        targets = _writer_targets(name, args)
        if targets is not None and targets and all(where.exempt(t) for t in targets):
            return None
        if name == "tee" and targets == []:
            return None  # tee with no file only copies stdin to stdout
        return f"`{name}` {_TARGET_WRITERS[name]}"
    if name == "dd":
        outs = [a[3:] for a in args if a.startswith("of=")]
        if outs and not all(where.exempt(t) for t in outs):
            return "`dd of=` writes a file"
        return None
    if name == "git":
        return _git(args)
    if name in ("sed", "gsed"):
        in_place = _short_flag(args, "i", "efl") or any(a.startswith("--in-place") for a in args)
        return "`sed -i` edits files in place" if in_place else None
    if name in ("perl", "ruby"):
        in_place = _short_flag(args, "i", "eEMmIlxdCF0")
        return f"`{name} -i` edits files in place" if in_place else None
    if name in ("awk", "gawk"):
        pairs = zip(args, [*args[1:], ""], strict=True)
        in_place = any(
            a in ("-iinplace", "--include=inplace") or (a in ("-i", "--include") and b == "inplace")
            for a, b in pairs
        )
        return "`awk -i inplace` edits files in place" if in_place else None
    if re.fullmatch(r"python[0-9.]*|pypy[0-9.]*", name):
        return _python(args, ctx)
    if name in _RUNNERS:
        k = 0
        while k < len(args) and args[k].startswith("-"):
            k += 2 if args[k] in ("-p", "--package", "--from", "--with") else 1
        return _classify_words(list(args[k:]), ctx) if k < len(args) else None
    if name in _RUN_SUBCOMMAND:
        pos = _positionals(args)
        if pos and pos[0] == _RUN_SUBCOMMAND[name]:
            after = args[args.index(pos[0]) + 1 :]
            while after and after[0].startswith("-"):
                after = after[1:]
            return _classify_words(after, ctx) if after else None
    pkg = _PKG_ALIASES.get(name, name)
    if pkg in _PKG:
        return _package(pkg, name, args)
    if name == "pacman":
        for arg in args:
            if re.match(r"^-[SRU]", arg) and not re.match(r"^-S[sigl]", arg):
                return "`pacman` changes installed packages"
        return None
    return _tools(name, args, where) or (_find(args, ctx) if name == "find" else None)


def _writer_targets(name: str, args: Sequence[str]) -> list[str] | None:
    """The paths a target-writer writes (None when they cannot be told apart)."""
    if name == "tee":
        return _positionals(args)
    if any(a in ("-t", "--target-directory") or a.startswith("--target-directory=") for a in args):
        return None
    value_opts = frozenset({"-m", "--mode", "-o", "--owner", "-g", "--group", "-S", "--suffix"})
    pos = _positionals(args, value_opts)
    if name in _LAST_TARGET:
        return pos[-1:] if pos else []
    return pos


def _git(args: Sequence[str]) -> str | None:
    """Why a git command changes the repository or the work tree, or None."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in _GIT_VALUE_OPTS else 1
    if i >= len(args):
        return None
    sub, rest = args[i], list(args[i + 1 :])
    pos = _positionals(rest)
    if sub in _GIT_WRITE:
        return f"`git {sub}` changes the repository"
    if sub in _GIT_SUBCOMMAND_WRITE:
        action = pos[0] if pos else ""
        if action in _GIT_SUBCOMMAND_WRITE[sub]:
            return f"`git {sub}{' ' + action if action else ''}` changes the repository"
        return None
    if sub in ("branch", "tag"):
        destructive = _DESTRUCTIVE_REF_OPTS[sub]
        listing = _words(
            "-l --list --contains --no-contains --merged --no-merged --points-at --show-current "
            "-v --verify"
        )
        if any(a in destructive or a.startswith("--set-upstream-to=") for a in rest):
            return f"`git {sub}` changes refs"
        value_opts = _words(
            "--contains --no-contains --merged --no-merged --points-at --sort --format"
        )
        if _positionals(rest, value_opts) and not any(a in listing for a in rest):
            return f"`git {sub}` creates a ref"
        return None
    if sub == "config":
        reads = _words("--get --get-all --get-regexp --get-urlmatch --list -l get list")
        if any(a in reads for a in rest):
            return None
        if pos and pos[0] in ("set", "unset", "rename-section", "remove-section", "edit"):
            return "`git config` changes the configuration"
        writes = _words(
            "--unset --unset-all --add --replace-all --rename-section --remove-section -e --edit"
        )
        if any(a in writes for a in rest) or len(pos) >= 2:
            return "`git config` changes the configuration"
        return None
    if sub == "format-patch" and "--stdout" not in rest:
        return "`git format-patch` writes patch files"
    if sub == "archive" and any(a in ("-o", "--output") or a.startswith("--output=") for a in rest):
        return "`git archive -o` writes a file"
    return None


def _package(pkg: str, name: str, args: Sequence[str]) -> str | None:
    """Why a package-manager command changes dependencies or the tree, or None."""
    pos = _positionals(args, frozenset({"-C", "--prefix", "--dir", "--cwd", "-w", "--workspace"}))
    sub = pos[0] if pos else ""
    if pkg == "go" and sub == "mod":
        action = pos[1] if len(pos) > 1 else ""
        changes = action in ("tidy", "init", "vendor", "edit", "download")
        return f"`go mod {action}` changes go.mod" if changes else None
    if pkg == "cargo" and sub in ("fmt", "clippy"):
        if sub == "fmt" and "--check" not in args:
            return "`cargo fmt` rewrites files"
        if sub == "clippy" and "--fix" in args:
            return "`cargo clippy --fix` rewrites files"
        return None
    if pkg == "npm" and sub == "audit" and "fix" in pos:
        return "`npm audit fix` changes dependencies"
    if pkg == "uv" and sub == "pip":
        action = pos[1] if len(pos) > 1 else ""
        if action in ("install", "uninstall", "sync", "compile"):
            return f"`uv pip {action}` changes the environment"
        return None
    if pkg == "uv" and sub in ("tool", "python", "self"):
        action = pos[1] if len(pos) > 1 else ""
        if action in ("install", "uninstall", "upgrade", "update", "pin"):
            return f"`uv {sub} {action}` changes installed tools"
        return None
    if sub in _PKG[pkg]:
        shown = f"{name} {sub}".strip()
        return f"`{shown}` changes installed packages or lock files"
    return None


def _python(args: Sequence[str], ctx: _Ctx) -> str | None:
    """Python: read `-m MODULE args` as that command, and `-c CODE` for obvious file writes."""
    k = 0
    while k < len(args):
        arg = args[k]
        if arg == "-m" and k + 1 < len(args):
            module = args[k + 1]
            if module.split(".")[0] == "conductor_tui":
                return None  # `python -m conductor_tui.cli ...` is conductor itself
            return _classify_words([module, *args[k + 2 :]], ctx)
        if arg.startswith("-m") and len(arg) > 2:
            return _classify_words([arg[2:], *args[k + 1 :]], ctx)
        if arg == "-c" and k + 1 < len(args):
            return "`python -c` writes files" if _PY_WRITE.search(args[k + 1]) else None
        if not arg.startswith("-") or arg == "-":
            return None  # a script or stdin: not an obvious write
        k += 2 if arg in ("-W", "-X", "-Q") else 1
    return None


def _tools(name: str, args: Sequence[str], where: _Where) -> str | None:
    """Formatters and fixers that rewrite sources; downloaders and archivers that write files."""
    has = set(args)
    if name == "black" and not has & {"--check", "--diff"}:
        return "`black` rewrites files"
    if name == "isort" and not has & {"--check", "--check-only", "-c", "--diff"}:
        return "`isort` rewrites files"
    if name == "ruff":
        pos = _positionals(args)
        if pos and pos[0] == "format" and not has & {"--check", "--diff"}:
            return "`ruff format` rewrites files"
        if "--fix" in has or "--unsafe-fixes" in has:
            return "`ruff --fix` rewrites files"
        return None
    if name == "prettier" and has & {"--write", "-w"}:
        return "`prettier --write` rewrites files"
    if name == "eslint" and any(a == "--fix" or a.startswith("--fix-") for a in args):
        return "`eslint --fix` rewrites files"
    if name in ("gofmt", "goimports") and _short_flag(args, "w", ""):
        return f"`{name} -w` rewrites files"
    if name == "rustfmt" and "--check" not in has:
        return "`rustfmt` rewrites files"
    if name in ("clang-format", "autopep8", "yapf", "autoflake") and (
        _short_flag(args, "i", "") or "--in-place" in has
    ):
        return f"`{name} -i` rewrites files"
    if name == "curl":
        return _curl(args, where)
    if name == "wget":
        return _wget(args, where)
    if name in ("tar", "bsdtar"):
        mode = args[0].lstrip("-") if args else ""
        long_modes = _words("--extract --get --create --append --update --catenate --delete")
        short = [a[1:] for a in args if a.startswith("-") and not a.startswith("--")]
        if has & long_modes or any(ch in "xcruA" for ch in mode + "".join(short)):
            return "`tar` writes files"
        return None
    if name == "unzip" and not has & {"-l", "-t", "-v", "-Z", "-p", "-c", "-z"}:
        return "`unzip` writes files"
    if name in ("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "unzstd", "lz4"):
        if not has & {"-c", "--stdout", "--to-stdout", "-l", "--list", "-t", "--test"}:
            return f"`{name}` replaces files"
        return None
    return None


def _curl(args: Sequence[str], where: _Where) -> str | None:
    for k, arg in enumerate(args):
        if arg in ("-O", "--remote-name", "--remote-name-all", "-J"):
            return "`curl -O` writes a file"
        if arg in ("-o", "--output") and k + 1 < len(args):
            if not where.exempt(args[k + 1]):
                return "`curl -o` writes a file"
        elif arg.startswith("--output="):
            if not where.exempt(arg.split("=", 1)[1]):
                return "`curl -o` writes a file"
        elif arg.startswith("-o") and not arg.startswith("--") and not where.exempt(arg[2:]):
            return "`curl -o` writes a file"
    return None


def _wget(args: Sequence[str], where: _Where) -> str | None:
    if "--spider" in args:
        return None
    for k, arg in enumerate(args):
        if arg in ("-O", "--output-document", "-P", "--directory-prefix") and k + 1 < len(args):
            return None if where.exempt(args[k + 1]) else "`wget` writes a file"
        if arg.startswith(("--output-document=", "--directory-prefix=")):
            return None if where.exempt(arg.split("=", 1)[1]) else "`wget` writes a file"
    return "`wget` writes a file"


def _find(args: Sequence[str], ctx: _Ctx) -> str | None:
    """`find ... -delete`, `-fprint`, or `-exec CMD ;` where CMD mutates."""
    for k, arg in enumerate(args):
        if arg == "-delete":
            return "`find -delete` deletes files"
        if arg in ("-fprint", "-fprint0", "-fprintf", "-fls"):
            return f"`find {arg}` writes a file"
        if arg in ("-exec", "-execdir", "-ok", "-okdir"):
            sub: list[str] = []
            for word in args[k + 1 :]:
                if word in (";", "+"):
                    break
                sub.append(word)
            reason = _classify_words(sub, ctx)
            if reason:
                return f"{reason} (through find {arg})"
    return None


def _classify(cmd: str, ctx: _Ctx) -> str | None:
    """Why a command line mutates the tree, or None (recursing into substitutions)."""
    if ctx.depth > MAX_DEPTH:
        return "the command nests shells too deeply to read"
    inner = _Ctx(ctx.where, ctx.depth + 1)
    try:
        lexed = _lex(cmd)
    except _Unparsable:
        return _fallback(cmd)
    for body in lexed.substitutions:
        reason = _classify(body, inner)
        if reason:
            return reason
    # a working directory that changes part-way makes relative targets unknowable
    where = _Where(ctx.where.cwd, ctx.where.project, ctx.where.allow_under)
    inner = _Ctx(where, ctx.depth)
    words: list[str] = []
    tokens = lexed.tokens
    k = 0
    while k <= len(tokens):
        kind, text = tokens[k] if k < len(tokens) else ("op", "\n")
        if kind == "w":
            words.append(text)
            k += 1
            continue
        if text in _WRITE_REDIRECTS or text == ">&":
            target = tokens[k + 1][1] if k + 1 < len(tokens) and tokens[k + 1][0] == "w" else ""
            k += 2 if target else 1
            if text == ">&" and (target.isdigit() or target == "-"):
                continue  # `>&2`: duplicates a descriptor, writes no file
            if not target or not where.exempt(target):
                return f"redirects output into {where.show(target) if target else 'a file'}"
            continue
        if text in _READ_REDIRECTS:
            k += 2 if k + 1 < len(tokens) and tokens[k + 1][0] == "w" else 1
            continue
        # a separator ends a simple command
        reason = _classify_words(words, inner)
        if reason:
            return reason
        if words and _base(words[0]) in ("cd", "pushd", "popd"):
            where.cwd = _cd(where.cwd, words[1:])
        if text in ("(", ")"):
            where.cwd = None  # a subshell may or may not have changed directory
        words = []
        k += 1
    return None


def _cd(cwd: str | None, args: Sequence[str]) -> str | None:
    """The working directory after `cd ARGS` when it can be known, else None."""
    pos = [a for a in args if not a.startswith("-")]
    if len(pos) != 1 or (cwd is None and not pos[0].startswith("/")):
        return None
    target = pos[0]
    if any(ch in target for ch in "$`*?~") or "…" in target:
        return None
    return os.path.normpath(os.path.join(cwd or "/", target))


_FALLBACK_WORDS = re.compile(
    r"(?:^|[\s;&|()`])(rm|rmdir|mv|cp|mkdir|touch|chmod|chown|ln|tee|truncate|shred|install"
    r"|patch|dd)(?=\s|$)"
)
_FALLBACK_GIT = re.compile(r"\bgit\s+(?:" + "|".join(sorted(_GIT_WRITE)) + r")\b")
_FALLBACK_REDIRECT = re.compile(r"(?<![<>&0-9])>{1,2}\s*(?!\s*(?:/dev/null|&))[^\s>&|;]")


def _fallback(cmd: str) -> str | None:
    """An unparsable command: a write only when it visibly names one."""
    found = _FALLBACK_WORDS.search(cmd)
    if found:
        return f"the unparsable command mentions `{found.group(1)}`"
    found = _FALLBACK_GIT.search(cmd)
    if found:
        return f"the unparsable command mentions `{found.group(0)}`"
    if re.search(r"\bsed\s+(?:-\w*\s+)*-\w*i", cmd):
        return "the unparsable command mentions `sed -i`"
    if _FALLBACK_REDIRECT.search(cmd):
        return "the unparsable command redirects output into a file"
    return None


def is_mutating_command(
    cmd: str,
    *,
    cwd: str | None = None,
    project: str | None = None,
    allow_under: Sequence[str] = (),
) -> str | None:
    """A short reason when a shell command obviously mutates the tree, else None.

    With `project`, writes that land outside it are not the tree's business; with `allow_under`
    (the store), writes there are allowed. Relative targets resolve against `cwd`.
    """
    if not isinstance(cmd, str) or not cmd.strip():
        return None
    if len(cmd) > MAX_COMMAND:
        return f"the command is too long to read ({len(cmd)} characters)"
    return _classify(cmd, _Ctx(_Where(cwd, project, tuple(allow_under))))


# ---------------------------------------------------------------- tool calls


def _command_of(tool_input: Mapping[str, Any]) -> str | None:
    """The shell command of a shell tool's input (a string, or an argv list joined)."""
    for key in ("command", "cmd"):
        value = tool_input.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return shlex.join(value)
    return None


def _patch_paths(tool_input: Mapping[str, Any]) -> list[str]:
    """The files a Codex apply_patch envelope adds, updates, deletes or moves to."""
    for key in ("command", "input", "patch"):
        value = tool_input.get(key)
        if isinstance(value, str):
            return [p.strip() for p in _PATCH_PATH.findall(value)]
    return []


def _targets(call: HookCall) -> list[str]:
    """The paths a writer tool names (empty when it names none we can read)."""
    if call.tool == "apply_patch":
        return _patch_paths(call.tool_input)
    keys = _MCP_PATH_KEYS if call.tool.startswith("mcp__") else _PATH_KEYS
    out: list[str] = []
    for key in keys:
        value = call.tool_input.get(key)
        if isinstance(value, str) and value:
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str) and v)
    return out


def is_writer_tool(call: HookCall) -> bool:
    """Whether the tool writes files: Write/Edit/MultiEdit/NotebookEdit/apply_patch and kin."""
    name = call.tool.lower()
    if name in WRITE_TOOLS:
        return True
    if call.tool.startswith("mcp__"):
        verb = call.tool.rsplit("__", 1)[-1]
        keys = set(call.tool_input)
        return bool(_MCP_WRITER.search(verb)) and bool(keys & set(_MCP_PATH_KEYS))
    return False


def mutation(
    call: HookCall,
    *,
    project: str | None = None,
    allow_under: Sequence[str] = (),
) -> str | None:
    """What this call would change in the tree, in words ("Write to src/app.py"), or None."""
    if call.problem:
        return None
    where = _Where(call.cwd, project, tuple(allow_under))
    tool = safe(call.tool, 60)
    if is_writer_tool(call):
        targets = _targets(call)
        if targets and all(where.exempt(t) for t in targets):
            return None
        inside = [t for t in targets if not where.exempt(t)]
        if not inside:
            return f"{tool} (no file named)"
        more = f" (+{len(inside) - 1} more)" if len(inside) > 1 else ""
        return f"{tool} to {where.show(inside[0])}{more}"
    if call.tool.lower() in SHELL_TOOLS:
        cmd = _command_of(call.tool_input)
        if cmd is None:
            return f"{tool} without a readable command"
        reason = is_mutating_command(cmd, cwd=call.cwd, project=project, allow_under=allow_under)
        if reason:
            return f"{tool} `{safe(' '.join(cmd.split()), 60)}` ({reason})"
    return None


def needs_claims(
    call: HookCall, *, project: str | None = None, allow_under: Sequence[str] = ()
) -> bool:
    """Whether the decision depends on the agent's claims (False: allow without the store)."""
    if call.problem:
        return True
    if call.event is not None and call.event != "PreToolUse":
        return False
    return mutation(call, project=project, allow_under=allow_under) is not None


# ---------------------------------------------------------------- claims and decision


def held_phases(
    view: SprintView, classes: Mapping[str, Concurrency], agent: str
) -> list[tuple[str, Concurrency]]:
    """The agent's live claims in a sprint view, each with its concurrency class."""
    out: list[tuple[str, Concurrency]] = []
    for pv in view.phases:
        lock = pv.lock
        if lock is None or lock.agent != agent or pv.status not in LIVE:
            continue
        out.append((pv.name, classes.get(pv.name, pv.concurrency)))
    return out


def decide(
    call: HookCall,
    held: Sequence[tuple[str, Concurrency]],
    *,
    agent: str | None = None,
    project: str | None = None,
    allow_under: Sequence[str] = (),
) -> Decision:
    """Allow unless the agent holds only read phases and the call would write to the tree."""
    who = safe(agent, 60) if agent else "this agent"
    if not held:
        return Decision(True, f"{who} holds no phase")
    if any(cls in ("write", "exclusive") for _, cls in held):
        return Decision(True, f"{who} holds a write or exclusive phase")
    names = ", ".join(safe(name, 40) for name, _ in held)
    head = f"conductor guard: {who} holds only read phases ({names})"
    if call.problem:
        return Decision(
            False,
            f"{head}; the hook payload is unreadable ({safe(call.problem, 80)}), so the "
            f"call is blocked — check the hook wiring, or complete or abort {names} first",
        )
    if call.event is not None and call.event != "PreToolUse":
        return Decision(True, f"{call.event} cannot be blocked")
    what = mutation(call, project=project, allow_under=allow_under)
    if what is None:
        return Decision(True, f"{who} holds only read phases and the call writes nothing")
    return Decision(
        False,
        f"{head}; {what} is blocked — complete or abort {names} first, or claim a write phase",
    )
