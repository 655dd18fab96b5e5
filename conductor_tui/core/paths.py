"""Store discovery, sprint discovery, agent identity and name validation."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from .errors import BadInput
from .lean import Lean

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PHASE_RE = re.compile(r"^[a-z][a-z0-9-]*$")
MAX_PHASE = 64
AGENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+=-]*$")
MAX_AGENT = 128
TOKEN_RE = re.compile(r"^[0-9]{1,12}-[0-9a-f]{16}$")
SPRINT_RE = re.compile(r"^[0-9a-f]{12}-[0-9]{8}-[0-9]{6}$")


def show(value: object, limit: int = 60) -> str:
    """A short, escaped rendering of an untrusted value for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def check_phase(name: object) -> str:
    """Return name if it is a valid phase name; raise BadInput otherwise (before any path)."""
    if not isinstance(name, str) or len(name) > MAX_PHASE or not PHASE_RE.fullmatch(name):
        raise BadInput(
            f"invalid phase name {show(name)}: must match ^[a-z][a-z0-9-]*$ "
            f"and be at most {MAX_PHASE} characters"
        )
    return name


def check_agent(name: object) -> str:
    """Return name if it is a valid agent name; raise BadInput otherwise."""
    if not isinstance(name, str) or len(name) > MAX_AGENT or not AGENT_RE.fullmatch(name):
        raise BadInput(
            f"invalid agent name {show(name)}: letters, digits and . _ @ : + = - only, "
            f"at most {MAX_AGENT} characters"
        )
    return name


def check_token(token: object) -> str:
    """Return token if it has the shape of one of our fencing tokens; raise BadInput otherwise."""
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        raise BadInput(f"invalid token {show(token)}: expected <epoch>-<16 hex digits>")
    return token


def project_hash(project: str) -> str:
    """First 12 hex digits of SHA-256 of the project path, as upstream computes it."""
    digest: str = _sha256(project.encode()).hexdigest()
    return digest[:12]


def _builtin_sha256() -> Any:
    """CPython's own SHA-256 (0.2 ms to import) rather than hashlib's OpenSSL one (2.5 ms):
    every command hashes the project path once, and only that."""
    for name in ("_sha2", "_sha256"):  # 3.12 and later; 3.11
        try:
            return __import__(name).sha256
        except (ImportError, AttributeError):
            continue
    import hashlib

    return hashlib.sha256


_sha256 = _builtin_sha256()


def logical_cwd(env: Mapping[str, str] | None = None) -> str:
    """The working directory as a shell's `pwd` prints it ($PWD when it is the same place)."""
    env = os.environ if env is None else env
    physical = os.getcwd()
    pwd = env.get("PWD", "")
    if pwd and os.path.isabs(pwd):
        try:
            if os.path.samefile(pwd, physical):
                return os.path.normpath(pwd)
        except OSError:
            pass
    return physical


def git_top(start: str) -> str | None:
    """Nearest ancestor of start holding .git (a directory or a worktree file)."""
    path = start
    while True:
        if os.path.exists(os.path.join(path, ".git")):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def find_store(explicit: str | None, project: str, env: Mapping[str, str] | None = None) -> str:
    """The store directory: --store, $NANOSTACK_STORE, <git top>/.nanostack, ~/.nanostack."""
    env = os.environ if env is None else env
    if explicit:
        return os.path.abspath(explicit)
    if env.get("NANOSTACK_STORE"):
        return os.path.abspath(env["NANOSTACK_STORE"])
    top = git_top(project)
    if top is not None:
        return os.path.join(top, ".nanostack")
    home = env.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".nanostack")


def project_candidates(project: str) -> list[str]:
    """The paths a sprint of this directory may have been started from, nearest first.

    Both the logical path and the resolved one, and each of their ancestors, so that a sprint
    is found from a subdirectory or through a symlink.
    """
    seen: dict[str, None] = {}
    for base in (os.path.abspath(project), os.path.realpath(project)):
        path = base
        while True:
            seen.setdefault(path, None)
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
    # nearest first: longer paths are deeper
    return sorted(seen, key=lambda p: -len(p))


class Identity(Lean, frozen=True, kw_only=False):
    """Who the caller is, and whether that name is only as stable as a parent pid."""

    agent: str
    source: str
    unstable: bool = False


def clean_name(text: str, fallback: str = "unknown") -> str:
    """A piece of an agent name made of what AGENT_RE accepts (ASCII letters, digits, . _ -)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:64] or fallback


def detect_agent(
    env: Mapping[str, str] | None = None, ppid: int | None = None, account: str | None = None
) -> Identity:
    """The calling agent's name, in the protocol's order; the last resort is
    `agent-<account>-<ppid>` with the account from the system (`account_name`)."""
    env = os.environ if env is None else env
    ppid = os.getppid() if ppid is None else ppid
    if env.get("NANOSTACK_AGENT"):
        return Identity(env["NANOSTACK_AGENT"], "$NANOSTACK_AGENT")
    if env.get("CLAUDE_SESSION_ID"):
        return Identity(f"claude-{clean_name(env['CLAUDE_SESSION_ID'][:8])}", "$CLAUDE_SESSION_ID")
    if env.get("CLAUDE_CODE") or env.get("CLAUDECODE"):  # the protocol's name, and Claude Code's
        return Identity(f"claude-{ppid}", "$CLAUDE_CODE and the parent pid", unstable=True)
    if env.get("CODEX_SESSION_ID"):
        return Identity(f"codex-{clean_name(env['CODEX_SESSION_ID'][:8])}", "$CODEX_SESSION_ID")
    if env.get("OPENCODE_SESSION_ID"):
        return Identity(
            f"opencode-{clean_name(env['OPENCODE_SESSION_ID'][:8])}", "$OPENCODE_SESSION_ID"
        )
    account = account_name() if account is None else account
    return Identity(
        f"agent-{clean_name(account)}-{ppid}", "the account and the parent pid", unstable=True
    )


def account_name() -> str:
    """The system's name for the account this process runs as, what `whoami` prints (upstream's
    fallback agent name uses it), never $USER, which containers and tmux often leave unset or
    stale. An account the system cannot name is its numeric uid."""
    import pwd

    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
