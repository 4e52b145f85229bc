"""The RRULE subset: what expands to what, in local time, and what is refused by name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from confsched.domain.recurrence import check_first, expand, last_start, parse_rrule, shift
from confsched.errors import InvalidInput
from tests.conftest import local

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FAR = datetime(2030, 1, 1, tzinfo=UTC)


def starts(rule: str, first: str, until: datetime = FAR, limit: int = 50) -> list[str]:
    found = []
    for moment in expand(parse_rrule(rule, TZ), local(first), TZ, until):
        found.append(moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M"))
        if len(found) >= limit:
            break
    return found


def test_weekly_on_mondays_keeps_local_wall_time() -> None:
    assert starts("FREQ=WEEKLY;BYDAY=MO;COUNT=3", "2026-12-07 08:00") == [
        "2026-12-07 08:00",
        "2026-12-14 08:00",
        "2026-12-21 08:00",
    ]


def test_weekly_on_several_days_every_second_week() -> None:
    assert starts("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=4", "2026-12-07 14:00") == [
        "2026-12-07 14:00",
        "2026-12-10 14:00",
        "2026-12-21 14:00",
        "2026-12-24 14:00",
    ]


def test_daily_with_weekdays_only_skips_the_weekend() -> None:
    assert starts("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=6", "2026-12-10 07:30") == [
        "2026-12-10 07:30",
        "2026-12-11 07:30",
        "2026-12-14 07:30",
        "2026-12-15 07:30",
        "2026-12-16 07:30",
        "2026-12-17 07:30",
    ]


def test_monthly_first_monday_and_last_friday() -> None:
    assert starts("FREQ=MONTHLY;BYDAY=1MO;COUNT=3", "2026-12-07 08:00") == [
        "2026-12-07 08:00",
        "2027-01-04 08:00",
        "2027-02-01 08:00",
    ]
    assert starts("FREQ=MONTHLY;BYDAY=-1FR;COUNT=2", "2026-12-25 15:00") == [
        "2026-12-25 15:00",
        "2027-01-29 15:00",
    ]


def test_monthly_on_the_31st_skips_short_months() -> None:
    assert starts("FREQ=MONTHLY;COUNT=3", "2027-01-31 09:00") == [
        "2027-01-31 09:00",
        "2027-03-31 09:00",
        "2027-05-31 09:00",
    ]


def test_until_as_a_local_date_includes_that_day() -> None:
    assert starts("FREQ=DAILY;UNTIL=20261209", "2026-12-07 16:00") == [
        "2026-12-07 16:00",
        "2026-12-08 16:00",
        "2026-12-09 16:00",
    ]


def test_until_is_stored_in_utc_and_the_rule_prints_canonically() -> None:
    rule = parse_rrule("rrule:freq=weekly;byday=mo;until=20261221", TZ)
    assert str(rule) == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261221T165959Z"
    assert parse_rrule(str(rule), TZ) == rule


def test_expansion_stops_at_the_requested_limit() -> None:
    assert len(starts("FREQ=DAILY", "2026-12-07 08:00", until=local("2026-12-10 08:00"))) == 3


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("FREQ=YEARLY", "YEARLY is not supported"),
        ("FREQ=HOURLY", "HOURLY is not supported"),
        ("BYDAY=MO", "needs FREQ"),
        ("FREQ=WEEKLY;BYMONTH=2", "BYMONTH is not supported"),
        ("FREQ=WEEKLY;WKST=SU", "WKST is not supported"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY value 'XX'"),
        ("FREQ=WEEKLY;BYDAY=1MO", "needs FREQ=MONTHLY"),
        ("FREQ=MONTHLY;BYDAY=6MO", "from -5 to 5"),
        ("FREQ=DAILY;COUNT=0", "COUNT=0"),
        ("FREQ=DAILY;INTERVAL=x", "INTERVAL=X"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "COUNT or UNTIL"),
        ("FREQ=DAILY;UNTIL=2027-01-01", "UNTIL=2027-01-01"),
        ("FREQ=DAILY;UNTIL=20270231", "not a real date"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ twice"),
        ("FREQ=DAILY;;COUNT=2", "expected KEY=VALUE"),
    ],
)
def test_malformed_or_unsupported_rules_are_refused_by_name(text: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_rrule(text, TZ)


def test_a_start_that_is_not_an_occurrence_is_refused() -> None:
    rule = parse_rrule("FREQ=WEEKLY;BYDAY=MO", TZ)
    with pytest.raises(InvalidInput, match=r"2026-12-08 08:00 \(TU\) is not an occurrence"):
        check_first(rule, local("2026-12-08 08:00"), TZ)
    check_first(rule, local("2026-12-07 08:00"), TZ)


def test_last_start_of_finite_and_endless_series() -> None:
    first = local("2026-12-07 08:00")
    assert last_start(parse_rrule("FREQ=WEEKLY;COUNT=3", TZ), first, TZ) == local(
        "2026-12-21 08:00"
    )
    assert last_start(parse_rrule("FREQ=WEEKLY", TZ), first, TZ) is None


def test_shifting_a_series_by_a_day_moves_its_weekdays_and_until() -> None:
    rule = parse_rrule("FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20261231T000000Z", TZ)
    moved = shift(rule, timedelta(days=1), local("2026-12-07 08:00"), TZ)
    assert str(moved) == "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20270101T000000Z"
    check_first(moved, local("2026-12-08 08:00"), TZ)


# --- edges found by the mutation run (docs/mutation.md) ---------------------------------------


def test_a_weekly_series_whose_until_day_is_a_monday_keeps_that_monday() -> None:
    assert starts("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261214", "2026-12-07 08:00") == [
        "2026-12-07 08:00",
        "2026-12-14 08:00",
    ]
    # UNTIL 07:00 local on that Monday: the last day looked at is the Monday itself
    assert starts("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261214T000000Z", "2026-12-07 06:00") == [
        "2026-12-07 06:00",
        "2026-12-14 06:00",
    ]


def test_a_monthly_series_whose_until_is_the_first_of_a_month_keeps_that_day() -> None:
    assert starts("FREQ=MONTHLY;UNTIL=20270101", "2026-12-01 08:00") == [
        "2026-12-01 08:00",
        "2027-01-01 08:00",
    ]
    assert starts("FREQ=MONTHLY;UNTIL=20270101T000000Z", "2026-12-01 06:00") == [
        "2026-12-01 06:00",
        "2027-01-01 06:00",
    ]


def test_a_monthly_series_crosses_november_and_the_new_year() -> None:
    assert starts("FREQ=MONTHLY;COUNT=4", "2026-10-05 08:00") == [
        "2026-10-05 08:00",
        "2026-11-05 08:00",
        "2026-12-05 08:00",
        "2027-01-05 08:00",
    ]


def test_the_last_thursday_of_a_month_can_be_its_last_day() -> None:
    assert starts("FREQ=MONTHLY;BYDAY=-1TH;COUNT=2", "2026-12-31 08:00") == [
        "2026-12-31 08:00",
        "2027-01-28 08:00",
    ]


def test_every_monday_of_each_month() -> None:
    assert starts("FREQ=MONTHLY;BYDAY=MO;COUNT=5", "2026-12-07 08:00") == [
        "2026-12-07 08:00",
        "2026-12-14 08:00",
        "2026-12-21 08:00",
        "2026-12-28 08:00",
        "2027-01-04 08:00",
    ]


def test_a_fifth_monday_only_in_months_that_have_one() -> None:
    assert starts("FREQ=MONTHLY;BYDAY=5MO;COUNT=2", "2026-11-30 08:00") == [
        "2026-11-30 08:00",
        "2027-03-29 08:00",
    ]


def test_shifting_a_rule_moves_each_weekday_across_the_end_of_the_week_in_local_days() -> None:
    rule = parse_rrule("FREQ=MONTHLY;BYDAY=1SA,-1SU", TZ)
    old = local("2026-12-05 08:00")  # a Saturday
    moved = shift(rule, timedelta(days=1), old, TZ)
    assert str(moved) == "FREQ=MONTHLY;BYDAY=-1MO,1SU"
    # days are counted in the fleet's zone, whatever the machine's (20:00 here is already
    # Sunday at UTC+14, as the mutation run's TZ sets it)
    evening = local("2026-12-05 20:00")
    assert str(shift(rule, timedelta(minutes=30), evening, TZ)) == str(rule)
