"""Times and durations typed by people: the forms read, the bounds, and each refusal's words.

Only ASCII digits are numbers (``²`` and ``٣`` are not).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from confsched.domain.timeparse import (
    format_duration,
    parse_duration,
    parse_local_time,
    parse_window_bound,
)
from confsched.errors import InvalidInput


@pytest.mark.parametrize("text", ["²", "9²", "٣", "1h²", "٣h"])
def test_a_superscript_or_foreign_digit_is_a_bad_duration(text: str) -> None:
    with pytest.raises(InvalidInput, match="bad duration"):
        parse_duration(text)


def test_plain_durations_still_parse() -> None:
    assert parse_duration("90").total_seconds() == 5400
    assert parse_duration("1h30m").total_seconds() == 5400


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 5400),
        (" 2H ", 7200),
        ("1h 30m", 5400),
        ("7d", 7 * 86400),
        ("30s", 30),
        ("1d2h3m4s", 93784),
        ("0m", 0),
        ("366d", 366 * 86400),
        ("527040", 366 * 86400),
    ],
)
def test_durations_people_type(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "bad duration '': use forms like 90m, 2h, 1h30m or 7d"),
        ("soon", "bad duration 'soon': use forms like 90m, 2h, 1h30m or 7d"),
        ("1x", "bad duration '1x': use forms like 90m, 2h, 1h30m or 7d"),
        ("367d", "bad duration '367d': at most 366 days"),
        ("366d1s", "bad duration '366d1s': at most 366 days"),
        ("527041", "bad duration '527041': at most 366 days"),
        ("99999999999d", "bad duration '99999999999d': at most 366 days"),
        ("1" * 41, f"bad duration {'1' * 40!r}…: too long"),
    ],
)
def test_bad_durations_say_why(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_duration(text)
    assert str(refused.value) == message


def test_forty_characters_is_not_too_long() -> None:
    assert parse_duration("0" * 39 + "1") == timedelta(minutes=1)


HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(
    "text",
    ["2026-12-07 08:00", "2026-12-07T08:00", " 2026-12-07 08:00:00 ", "2026-12-07T08:00:00"],
)
def test_local_times_in_every_accepted_form_are_read_in_the_fleets_zone(text: str) -> None:
    assert parse_local_time(text, HCM) == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def test_an_iso_time_with_an_offset_keeps_its_own_offset() -> None:
    moment = parse_local_time("2026-12-07T08:00+09:00", HCM)
    assert moment == datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    assert moment.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tomorrow",
            "bad time 'tomorrow': use 'YYYY-MM-DD HH:MM' (local time) or ISO 8601 with an offset",
        ),
        (
            "2026-12-07T08:00:00.5",
            "bad time '2026-12-07T08:00:00.5': use 'YYYY-MM-DD HH:MM' (local time) "
            "or ISO 8601 with an offset",
        ),
        ("0001-01-01 00:00", "bad time '0001-01-01 00:00': years 1970 to 2199 only"),
        ("1969-12-31 23:59", "bad time '1969-12-31 23:59': years 1970 to 2199 only"),
        ("2200-01-01 00:00", "bad time '2200-01-01 00:00': years 1970 to 2199 only"),
        ("9999-12-31T23:59+00:00", "bad time '9999-12-31T23:59+00:00': years 1970 to 2199 only"),
    ],
)
def test_bad_times_say_why(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_local_time(text, HCM)
    assert str(refused.value) == message


def test_the_first_and_last_years_are_accepted() -> None:
    assert parse_local_time("1970-01-02 00:00", HCM).year == 1970
    assert parse_local_time("2199-12-31 23:00", HCM).year == 2199


def test_a_date_alone_as_a_window_bound_is_its_local_midnight() -> None:
    assert parse_window_bound(" 2026-12-08 ", HCM) == datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    assert parse_window_bound("2026-12-08 09:30", HCM) == datetime(2026, 12, 8, 2, 30, tzinfo=UTC)
    with pytest.raises(InvalidInput) as refused:
        parse_window_bound("2300-01-01", HCM)
    assert str(refused.value) == "bad time '2300-01-01': years 1970 to 2199 only"


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0m"), (5, "5m"), (60, "1h"), (65, "1h05m"), (90, "1h30m"), (24 * 60, "24h")],
)
def test_durations_are_shown_in_hours_and_minutes(minutes: int, text: str) -> None:
    assert format_duration(timedelta(minutes=minutes, seconds=59)) == text
