"""PostgreSQL store URLs: recognised, split into libpq's part and ours, and redacted.

A password in a URL is never printed: every message, log line and reply that could carry a URL
goes through `redact`, which also hides `password=` in libpq's key=value form and in a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from ..core.errors import BadInput
from ..storespec import is_url

DEFAULT_SCHEMA = "conductor"
SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CONNECT_TIMEOUT_S = 5

# user:password@ in any postgres URL inside a text (the user part may be empty)
_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^\s/@:]*:)[^\s/]*@", re.IGNORECASE)
# password=... in a query string or in libpq's key=value form, quoted or not
_KV_PASSWORD = re.compile(
    r"((?:^|[\s?&;])password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&;]*)", re.IGNORECASE
)
REDACTED = "***"


def is_pg_url(spec: str | None) -> bool:
    """True when a store spec names a PostgreSQL store rather than a directory."""
    return is_url(spec)


def redact(text: object) -> str:
    """The text with every password in a PostgreSQL URL or conninfo replaced by ***."""
    out = _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + "@", str(text))
    return _KV_PASSWORD.sub(lambda m: m.group(1) + REDACTED, out)


@dataclass(frozen=True)
class PgUrl:
    """A parsed store URL: what libpq is given, the schema our tables live in, and the
    redacted form, the only one ever shown."""

    conninfo: str
    schema: str
    shown: str


def parse(spec: str) -> PgUrl:
    """Split a postgresql:// store URL into libpq's conninfo and our `schema` parameter.

    `schema` (default `conductor`) names the PostgreSQL schema that holds the store's tables, so
    that several stores can share one database; every other parameter is libpq's own.
    """
    if not is_pg_url(spec):
        raise BadInput(f"not a PostgreSQL URL: {redact(spec)!r}")
    try:
        parts = urlsplit(spec)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise BadInput(f"malformed PostgreSQL URL {redact(spec)!r}: {redact(exc)}") from None
    schema = DEFAULT_SCHEMA
    # libpq's parameters go through exactly as written: libpq percent-decodes them but reads
    # "+" as itself, so decoding and re-encoding them as a form would turn `options=-c%20x`
    # into `-c+x` (and a "+" of a value into a space)
    kept: list[str] = []
    for pair in parts.query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if unquote(key) == "schema":
            schema = unquote(value)
        else:
            kept.append(pair)
    if not SCHEMA_RE.fullmatch(schema):
        raise BadInput(
            f"invalid schema {schema[:64]!r} in {redact(spec)!r}: lower-case letters, digits and "
            "_ only, starting with a letter or _, at most 63 characters"
        )
    conninfo = urlunsplit(parts._replace(query="&".join(kept)))
    return PgUrl(conninfo=conninfo, schema=schema, shown=redact(spec))
