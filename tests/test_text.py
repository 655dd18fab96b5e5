"""Durations as the screens show them."""

from __future__ import annotations

import pytest

from conductor_tui.text import age, minutes


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, ""),
        (-5.0, "0s"),
        (0.4, "0s"),
        (42.0, "42s"),
        (59.4, "59s"),
        (60.0, "1m"),
        (3599.0, "59m"),
        (3600.0, "1.0h"),
        (5400.0, "1.5h"),
    ],
)
def test_age_to_the_second_then_minute_then_tenth_of_an_hour(
    seconds: float | None, shown: str
) -> None:
    assert age(seconds) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, ""),
        (-5.0, "<1m"),
        (0.0, "<1m"),
        (59.9, "<1m"),
        (60.0, "1m"),
        (119.0, "1m"),
        (3599.0, "59m"),
        (5400.0, "1.5h"),
    ],
)
def test_minutes_change_once_a_minute_at_most(seconds: float | None, shown: str) -> None:
    assert minutes(seconds) == shown
