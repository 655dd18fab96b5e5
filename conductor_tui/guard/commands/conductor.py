"""`conductor` itself: it writes only its store, except where it is told to write or run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..calls import Call, Mutation, Result
from ..lexer import DYN, Word
from ..tables import (
    words,
)
from .base import (
    after,
    handles,
    unsure,
)

if TYPE_CHECKING:
    from ..classify import Classifier


_CONDUCTOR_VALUE = words(
    "--store --project --sprint --agent --phases --token --ttl --every --artifact --out "
    "--skills -n --allow --pid"
)


_CONDUCTOR_STORE_WRITES = words(
    "start claim heartbeat complete abort reclaim unstuck clean doctor artifact run sandbox"
)


@handles("conductor", "conductor-tui")
def h_conductor(c: Classifier, call: Call) -> Result:
    """`conductor` writes only its store, except `artifact new --out FILE` and what `run` runs."""
    args = call.args
    seen: dict[str, Word | None] = {}
    sub = ""
    command: list[Word] = []
    i = 0
    while i < len(args):
        w = args[i]
        v = w.value
        if v is None:
            if w.text.startswith(DYN):
                raise unsure(call)
            i += 1
            continue
        if v == "--":
            command = args[i + 1 :]
            break
        option, eq, _ = v.partition("=")
        if option.startswith("-") and eq:
            seen[option] = after(w, len(option) + 1)
        elif v in _CONDUCTOR_VALUE:
            seen[v] = args[i + 1] if i + 1 < len(args) else None
            i += 1
        elif v.startswith("-"):
            seen[v] = None
        elif not sub:
            sub = v
        i += 1
    if call.name.lower() == "conductor-tui":
        sub = "reclaim"
    store = seen.get("--store") or call.env.get("NANOSTACK_STORE")
    if sub in _CONDUCTOR_STORE_WRITES:
        if store is None and "NANOSTACK_STORE" in c.assigned:
            raise Mutation("`conductor` with a store the command chose")
        if store is not None:
            c.check(store, call.cwds, f"`conductor {sub}` writes its store at", rooted=call.rooted)
    out = seen.get("--out")
    if sub == "artifact" and out is not None:
        c.check(out, call.cwds, "`conductor artifact --out` writes", rooted=call.rooted)
    if sub == "run" and command:
        c.run(call.then(command))
    if sub == "sandbox" and command:
        given = set(seen) & {"--allow-unsandboxed", "--project", "--store", "--sprint"}
        if given or "NANOSTACK_STORE" in call.env:
            c.run(call.then(command))
    return None
