"""The hot commands' argument lists are read without argparse (cli_fast.py); on every list that
reader accepts, argparse gives the very same namespace, and every list it declines still works
through argparse."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conductor_tui.cli_args import build_parser
from conductor_tui.cli_fast import fast_parse

COMMANDS = ["claim", "heartbeat", "complete", "abort", "status", "next", "why", "start", "run"]
OPTIONS = [
    "--json",
    "--store",
    "--project",
    "--sprint",
    "--agent",
    "--ttl",
    "--pid",
    "--token",
    "--artifact",
    "--force",
    "--allow-no-checkpoint",
    "--to",  # an abbreviation: argparse's to read
    "-h",
    "--version",
    "--unknown",
]
VALUES = ["think", "plan", "5", "0", "-5", "1e3", "abc", "", "2-0123456789abcdef", " 7", "inf"]


def argparse_reads(argv: list[str]) -> dict[str, object] | None:
    """argparse's namespace as a dict, or None when it refuses (or prints help)."""
    parser = build_parser()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            return None
    return vars(args)


tokens = st.one_of(
    st.sampled_from(COMMANDS),
    st.sampled_from(OPTIONS),
    st.sampled_from(VALUES),
    st.builds(lambda o, v: f"{o}={v}", st.sampled_from(OPTIONS), st.sampled_from(VALUES)),
)


@settings(max_examples=1500, deadline=None)
@given(argv=st.lists(tokens, max_size=7))
def test_the_fast_reader_agrees_with_argparse(argv: list[str]) -> None:
    fast = fast_parse(argv)
    if fast is None:
        return
    assert argparse_reads(argv) == vars(fast), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["claim", "think"],
        ["--agent", "a", "claim", "think", "--ttl", "60", "--pid", "42", "--json"],
        ["claim", "--ttl=90", "think", "--store=/s", "--project", "/p"],
        ["heartbeat", "think", "--token", "3-0123456789abcdef", "--ttl", "5"],
        ["complete", "think", "--artifact", "a.json", "--force", "--allow-no-checkpoint"],
        ["abort", "think", "--token", "1-0123456789abcdef", "--force", "--sprint", "x"],
        ["status"],
        ["--json", "status"],
        ["next", "--json", "--agent", "b"],
    ],
)
def test_what_agents_send_is_read_fast_and_alike(argv: list[str]) -> None:
    fast = fast_parse(argv)
    assert fast is not None, argv
    assert argparse_reads(argv) == vars(fast)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["claim"],
        ["claim", "think", "plan"],
        ["claim", "--tt", "5", "think"],
        ["claim", "think", "--ttl", "-5"],
        ["claim", "think", "--ttl", "0"],
        ["claim", "think", "--pid", "x"],
        ["claim", "think", "--json", "--json"],
        ["status", "--force"],
        ["why", "think"],
        ["run", "think"],
        ["claim", "think", "--", "echo"],
    ],
)
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    assert fast_parse(argv) is None
