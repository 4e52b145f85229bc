"""Numbers typed by people: only ASCII digits are numbers (``²`` and ``٣`` are not)."""

from __future__ import annotations

import pytest

from confsched.domain.timeparse import parse_duration
from confsched.errors import InvalidInput


@pytest.mark.parametrize("text", ["²", "9²", "٣", "1h²", "٣h"])
def test_a_superscript_or_foreign_digit_is_a_bad_duration(text: str) -> None:
    with pytest.raises(InvalidInput, match="bad duration"):
        parse_duration(text)


def test_plain_durations_still_parse() -> None:
    assert parse_duration("90").total_seconds() == 5400
    assert parse_duration("1h30m").total_seconds() == 5400
