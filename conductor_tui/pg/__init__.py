"""The PostgreSQL store: a team's sprints in one database, behind the file store's interface.

`open_store(spec)` is the one entry: a path gives the file `Store`, a `postgresql://` URL gives
a `PgStore`. Nothing here imports psycopg until a URL asks for it, so the file store needs no
driver and no server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .url import is_pg_url, redact

if TYPE_CHECKING:
    from ..core.store import Store
    from .store import PgStore

__all__ = ["config_pointer", "is_pg_url", "open_store", "redact", "store_spec"]

INSTALL_HINT = "pip install 'conductor-tui[pg]'"


def store_spec(explicit: str | None, project: str, env: Mapping[str, str] | None = None) -> str:
    """Where the store is, as the protocol says, with URLs kept as they are: `--store`, else
    `$NANOSTACK_STORE`, else the file store found from the project, unless that store's
    config.json names another store under `store` (a URL, for a team)."""
    from ..core.paths import find_store

    env = os.environ if env is None else env
    if explicit:
        return explicit if is_pg_url(explicit) else os.path.abspath(explicit)
    named = env.get("NANOSTACK_STORE")
    if named and is_pg_url(named):
        return named
    path = find_store(None, project, env)
    pointer = config_pointer(path)
    return pointer if pointer else path


def config_pointer(root: str) -> str | None:
    """The `store` of <root>/config.json when it is a PostgreSQL URL (else None)."""
    from ..core.jsonio import MalformedJSON, read_json

    try:
        raw = read_json(os.path.join(root, "config.json"))
    except (OSError, MalformedJSON, ValueError):
        return None  # the file store reports a malformed config where it reads one
    value = raw.get("store") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and is_pg_url(value) else None


def open_store(spec: str) -> Store | PgStore:
    """The store a spec names: the file `Store` for a path, a `PgStore` for a URL."""
    if not is_pg_url(spec):
        from ..core.store import Store

        return Store(spec)
    try:
        from .store import PgStore
    except ImportError as exc:
        from ..core.errors import BadInput

        raise BadInput(
            f"the store {redact(spec)} is a PostgreSQL URL, but psycopg cannot be loaded "
            f"({redact(exc)}): {INSTALL_HINT}"
        ) from None
    return PgStore(spec)
