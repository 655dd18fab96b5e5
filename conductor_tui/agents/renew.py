"""The PostToolUse hook: renew the leases of the calling agent's claims, at most once every
RENEW_EVERY_S seconds per agent and store, and always exit 0 quickly.

A tool call proves the agent is alive, so its claims' leases are extended as `conductor
heartbeat` would (same TTL, same audit event). The throttle is a small file per agent,
`<store>/.conductor-hooks/renew/<agent>`, holding the time of the last renewal; it is written
atomically (a temp file renamed over it) before the store is opened, so that a burst of tool
calls opens the store once. Nothing here may fail the host's tool call: every error is swallowed
and the exit code is always 0.

The fast path (throttled) imports only the standard library, the payload reader and the core's
name rules; the store is imported only when a renewal is due.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

from . import payload as hookpayload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

RENEW_EVERY_S = 30.0
STATE_DIR = ".conductor-hooks"  # a dot name: never a phase's artifact folder (^[a-z]...)


def state_path(root: str, agent: str) -> str:
    """The throttle file of an agent in a store (the name is checked before this is called)."""
    return os.path.join(root, STATE_DIR, "renew", agent)


def last_renewal(path: str) -> float | None:
    """When the agent's leases were last renewed in this store, or None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        data = os.read(fd, 64)
    finally:
        os.close(fd)
    try:
        value = float(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def mark_renewal(path: str, now: float) -> None:
    """Record a renewal: a temp file beside the state file, renamed over it."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        os.write(fd, f"{now:.3f}\n".encode())
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        os.unlink(tmp)
        raise


def renew_in(root: str, base: str, agent: str) -> list[str]:
    """Heartbeat every claim the agent holds in the active sprint of base; the phases renewed.
    Only our fenced claims have a lease; a claim that ended meanwhile is skipped."""
    from ..core.errors import ConductorError
    from ..core.reading import read_lock
    from ..core.store import Store

    sprint = Store(root).find_active(base)
    if sprint is None:
        return []
    renewed = []
    for phase in sprint.record.phases:
        ls = read_lock(sprint.paths(phase.name))
        if ls.form != "fenced" or ls.owner is None or ls.token is None:
            continue
        if ls.owner.agent != agent:
            continue
        try:
            sprint.heartbeat(phase.name, agent=agent, token=ls.token)
        except ConductorError:
            continue  # fenced or ended between the reading and the heartbeat
        renewed.append(phase.name)
    return renewed


def due(
    raw: bytes,
    *,
    host: str,
    store: str | None = None,
    project: str | None = None,
    agent: str | None = None,
    cwd: str | None = None,
    now: float | None = None,
    every: float = RENEW_EVERY_S,
    env: Mapping[str, str] | None = None,
) -> tuple[str, list[tuple[str, str]], list[str]]:
    """(agent, [(store root, project) to renew in], [store roots throttled]). A renewal found
    due is recorded in the throttle file at once, so that the next tool calls skip it."""
    from ..core.paths import AGENT_RE, MAX_AGENT, find_store

    now = time.time() if now is None else now
    data = hookpayload.parse(raw)
    if agent is None:
        agent, _stable = hookpayload.agent_for(data, host, env)
    if len(agent) > MAX_AGENT or not AGENT_RE.fullmatch(agent):
        return agent, [], []
    here = cwd or os.getcwd()
    bases = [os.path.abspath(project)] if project else [here]
    agent_cwd = hookpayload.cwd_of(data)
    if not project and agent_cwd and agent_cwd not in bases:
        bases.append(agent_cwd)
    todo: list[tuple[str, str]] = []
    throttled: list[str] = []
    seen: set[str] = set()
    for base in bases:
        root = find_store(store, base, env)
        if root in seen or not os.path.isdir(root):
            continue
        seen.add(root)
        path = state_path(root, agent)
        last = last_renewal(path)
        if last is not None and 0 <= now - last < every:
            throttled.append(root)
            continue
        mark_renewal(path, now)
        todo.append((root, base))
    return agent, todo, throttled


def renew(raw: bytes, *, host: str, **options: Any) -> dict[str, Any]:
    """Renew the calling agent's leases now if due (no fork): what happened, for tests.
    {"agent": ..., "renewed": [phases], "throttled": [store roots skipped]}."""
    agent, todo, throttled = due(raw, host=host, **options)
    renewed = [phase for root, base in todo for phase in renew_in(root, base, agent)]
    return {"agent": agent, "renewed": renewed, "throttled": throttled}


def _spawn(agent: str, todo: list[tuple[str, str]]) -> bool:
    """Start `python -m conductor_tui.agents.renew AGENT ROOT BASE...` in a session of its own,
    its standard streams on /dev/null from the start, and do not wait for it: the host waits
    for EOF on the hook's stdout and stderr, which the renewal then never holds. False when it
    could not be started (the caller then renews itself)."""
    spawn = getattr(os, "posix_spawn", None)
    if spawn is None:
        return False
    argv = [sys.executable, "-m", "conductor_tui.agents.renew", agent]
    for root, base in todo:
        argv += [root, base]
    null = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, null, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, null, os.O_WRONLY, 0),
    ]
    try:
        spawn(sys.executable, argv, dict(os.environ), file_actions=actions, setsid=True)
    except (OSError, TypeError, ValueError):
        return False
    return True


def hook_main(
    raw: bytes, *, host: str, store: str | None, project: str | None, agent: str | None
) -> int:
    """The hook itself: decide whether a renewal is due (the fast part), then leave the renewal
    to a detached process, so that the host's tool call waits only for the decision. Says
    nothing, exits 0 whatever happens. CONDUCTOR_HOOK_NO_FORK=1 renews in the hook itself."""
    todo: list[tuple[str, str]] = []
    name = ""
    with contextlib.suppress(BaseException):  # a renewal never fails or blocks the tool call
        name, todo, _ = due(raw, host=host, store=store, project=project, agent=agent)
    if not todo:
        return 0
    with contextlib.suppress(BaseException):
        if os.environ.get("CONDUCTOR_HOOK_NO_FORK") != "1" and _spawn(name, todo):
            return 0
        for root, base in todo:
            renew_in(root, base, name)
    return 0


def main(argv: list[str]) -> int:
    """The detached renewal: AGENT ROOT BASE [ROOT BASE...]; exit 0 whatever happens."""
    from ..core.paths import AGENT_RE

    if len(argv) < 3 or len(argv) % 2 == 0 or not AGENT_RE.fullmatch(argv[0]):
        return 0
    pairs = argv[1:]
    for i in range(0, len(pairs), 2):
        with contextlib.suppress(BaseException):
            renew_in(pairs[i], pairs[i + 1], argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
