"""Where the store is: a directory, or a PostgreSQL URL. One rule for the command line, the app
and `conductor db`, cheap enough for every command (it imports nothing but `os` and the core's
store discovery, and parses config.json only when it could name a database).

A URL is taken from --store or $NANOSTACK_STORE as it is (never made absolute); otherwise the
file store is found as the protocol says, and its config.json may point a team at a database
under `store`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SCHEMES = ("postgresql://", "postgres://")

__all__ = ["SCHEMES", "config_pointer", "is_url", "store_spec"]


def is_url(spec: str | None) -> bool:
    """True when a store spec names a PostgreSQL store rather than a directory."""
    return bool(spec) and str(spec).lower().startswith(SCHEMES)


def store_spec(explicit: str | None, project: str, env: Mapping[str, str] | None = None) -> str:
    """The store: --store, else $NANOSTACK_STORE, else the file store found from the project;
    a file store whose config.json names a database under `store` gives that URL."""
    from .core.paths import find_store

    env = os.environ if env is None else env
    named = explicit or env.get("NANOSTACK_STORE") or ""
    if is_url(named):
        return named
    path = find_store(explicit, project, env)
    return config_pointer(path) or path


def config_pointer(root: str) -> str | None:
    """The `store` of <root>/config.json when it is a PostgreSQL URL (else None). Read as every
    record is (a regular file only, no symlink followed, size-capped: a FIFO never blocks), and
    parsed only when its bytes could name a database (most configs never do)."""
    from .core.jsonio import MalformedJSON, loads_strict, read_bytes_nofollow

    try:
        data = read_bytes_nofollow(os.path.join(root, "config.json"))
    except (OSError, MalformedJSON):
        return None  # the file store reports a bad config where it reads one
    if b"postgres" not in data.lower():
        return None
    try:
        raw = loads_strict(data)
    except (MalformedJSON, ValueError):
        return None
    value = raw.get("store") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and is_url(value) else None
