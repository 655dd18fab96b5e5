"""The PostgreSQL store: a team's sprints in one database, behind the file store's interface.

`open_store(spec)` is the one entry: a path gives the file `Store`, a `postgresql://` URL gives
a `PgStore`. Nothing here imports psycopg until a URL asks for it, so the file store needs no
driver and no server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..storespec import config_pointer, store_spec
from .url import is_pg_url, redact

if TYPE_CHECKING:
    from ..core.store import Store
    from .store import PgStore

__all__ = ["config_pointer", "is_pg_url", "open_store", "redact", "store_spec"]

INSTALL_HINT = "pip install 'conductor-tui[pg]'"


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
