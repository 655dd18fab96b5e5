"""The argument lists agents send all day (`claim PHASE`, `status --json`, `complete PHASE
--token T`...), read without argparse: importing argparse with its gettext and building even one
subcommand's parser cost each command about 4 ms. Anything else (help, an abbreviation, a typo,
an option given twice, a value that looks like an option or does not convert) is left to argparse
(cli_args.py), which reads it or says what is wrong. tests/test_cli_fast.py checks that both give
the same namespace on every argument list this reader accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

from .core.limits import DEFAULT_TTL_S, MAX_TTL_S

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# The hot commands' own options: name -> (destination, kind); kind is "flag" (store_true),
# "str", "ttl" (_positive) or "int". Their positionals and defaults follow argparse's parser
# above; tests/test_cli_args.py compares the two.
_FAST_OPTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "claim": {"--ttl": ("ttl", "ttl"), "--pid": ("pid", "int")},
    "heartbeat": {"--ttl": ("ttl", "ttl"), "--token": ("token", "str")},
    "complete": {
        "--artifact": ("artifact", "str"),
        "--token": ("token", "str"),
        "--force": ("force", "flag"),
        "--allow-no-checkpoint": ("allow_no_checkpoint", "flag"),
    },
    "abort": {"--token": ("token", "str"), "--force": ("force", "flag")},
    "status": {},
    "next": {},
}
_FAST_DEFAULTS: dict[str, dict[str, Any]] = {
    "claim": {"ttl": DEFAULT_TTL_S, "pid": None},
    "heartbeat": {"ttl": None, "token": None},
    "complete": {"artifact": None, "token": None, "force": False, "allow_no_checkpoint": False},
    "abort": {"token": None, "force": False},
    "status": {},
    "next": {},
}
_GLOBALS = {"--store": "store", "--project": "project", "--sprint": "sprint", "--agent": "agent"}


class _Unsure(Exception):
    """An argument list the fast reader leaves to argparse."""


def _value(kind: str, text: str) -> Any:
    if text.startswith("-") or not text:
        raise _Unsure  # argparse decides whether it is an option, a negative number or empty
    if kind == "str":
        return text
    try:
        number = float(text) if kind == "ttl" else int(text)
    except ValueError:
        raise _Unsure from None
    if kind == "ttl" and not 0 < number <= MAX_TTL_S:
        raise _Unsure  # cli_args._positive's range: argparse says what is wrong
    return number


def fast_parse(argv: Sequence[str]) -> SimpleNamespace | None:
    """The namespace argparse would give for a hot command's usual argument list, or None to
    let argparse read it (and report its errors)."""
    try:
        return _fast_parse(argv)
    except _Unsure:
        return None


def _fast_parse(argv: Sequence[str]) -> SimpleNamespace:
    values: dict[str, Any] = {}
    seen: set[str] = set()
    command: str | None = None
    positionals: list[str] = []
    options: dict[str, tuple[str, str]] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg.startswith("-"):
            name, eq, inline = arg.partition("=")
            if name == "--json" and not eq:
                kind, dest = "flag", "json"
            elif name in _GLOBALS:
                kind, dest = "str", _GLOBALS[name]
            elif command is not None and name in options:
                dest, kind = options[name]
            else:
                raise _Unsure  # -h, --version, an abbreviation, a typo, `--`, a negative number
            if dest in seen:
                raise _Unsure  # given twice: which one wins is argparse's business
            seen.add(dest)
            if kind == "flag":
                if eq:
                    raise _Unsure
                values[dest] = True
                continue
            if eq:
                text = inline
            elif i < len(argv):
                text, i = argv[i], i + 1
            else:
                raise _Unsure
            values[dest] = _value(kind, text)
        elif command is None:
            if arg not in _FAST_OPTIONS:
                raise _Unsure
            command = arg
            options = _FAST_OPTIONS[arg]
        else:
            positionals.append(arg)
    if command is None:
        raise _Unsure
    wanted = 0 if command in ("status", "next") else 1
    if len(positionals) != wanted:
        raise _Unsure
    if wanted:
        if not positionals[0] or positionals[0].startswith("-"):
            raise _Unsure
        values["phase"] = positionals[0]
    return SimpleNamespace(command=command, **{**_FAST_DEFAULTS[command], **values})
