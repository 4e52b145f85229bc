"""The booking engine at the edges mutants survived: conflicts from holders listed in any order
(one apart, one twice, one of a room gone from the fleet), one allocation for a whole series
where one fits, evening sittings in the fleet's own zone (its weekday is not UTC's, nor the
machine's), a series ending on its first sitting or at the five-year horizon, a title with an
X in it, and the words of a refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from confsched.domain import recurrence
from confsched.domain.booking import (
    MAX_AHEAD,
    BookingRequest,
    build_session,
    check_times,
    check_title,
    cut_series,
    decide,
    materialise,
    participants_of,
    series_end,
)
from confsched.domain.conflicts import EndpointConflict
from confsched.domain.model import MAX_ENDPOINTS_PER_SESSION, Fleet
from confsched.domain.ports import Load
from confsched.errors import BookingRefused, InvalidInput
from confsched.fleetfile import parse_fleet_text
from tests.test_booking_decision import HOUR, SETUP, T0, _holder, _session, _sitting

EVENING = datetime(2027, 1, 4, 12, 30, tzinfo=UTC)
"""Monday 19:30 in the province (UTC+7): Tuesday already at UTC+14, where the mutation run
puts the machine, and 12:30 on Monday in UTC."""


def test_conflicts_are_found_in_holders_in_any_order_once_each(sample_fleet: Fleet) -> None:
    first, second = _session(sample_fleet).endpoints
    holders = [
        _holder(first, T0 - 3 * HOUR, T0 - 2 * HOUR),  # earlier that day: no conflict
        _holder("phong-da-xoa", T0, T0 + HOUR),  # a room a re-import removed
        _holder(first, T0, T0 + HOUR),
        _holder(first, T0, T0 + HOUR),  # the same sitting passed twice
        _holder(second, T0, T0 + HOUR),
    ]
    decision = decide(sample_fleet, _session(sample_fleet), [_sitting()], {T0: holders}, {})
    found = [c for c in decision.conflicts if isinstance(c, EndpointConflict)]
    assert [(c.endpoint, c.endpoint_name) for c in found] == [
        ("phong-da-xoa", "phong-da-xoa"),
        (first, sample_fleet.endpoints[first].name),
        (second, sample_fleet.endpoints[second].name),
    ]
    assert decision.allocation is None


def test_a_series_gets_one_allocation_where_one_fits_every_sitting(sample_fleet: Fleet) -> None:
    session = _session(sample_fleet)
    home = sample_fleet.endpoints[session.endpoints[0]].bridge
    assert home is not None
    other = next(b for b in sample_fleet.bridges if b != home)
    week = timedelta(days=7)
    sittings = [_sitting(T0), _sitting(T0 + week)]
    full = sample_fleet.bridges[home].ports
    loads = {T0 + week: [Load(T0 + week - SETUP, T0 + week + HOUR, {home: full})]}
    decision = decide(sample_fleet, session, sittings, {}, loads)
    assert decision.conflicts == ()
    assert decision.overrides == {}
    assert decision.allocation is not None
    assert set(decision.allocation.by_bridge) == {other}


def test_evening_sittings_fall_on_the_fleets_own_weekdays(sample_fleet: Fleet) -> None:
    tz = ZoneInfo(sample_fleet.timezone)
    session = replace(
        _session(sample_fleet),
        start=EVENING,
        end=EVENING + HOUR,
        rrule="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4",
    )
    starts = [o.start for o in materialise(session, tz, None, EVENING + timedelta(days=30))]
    assert starts == [EVENING + timedelta(days=d) for d in (0, 2, 7, 9)]
    assert series_end(session, tz) == EVENING + timedelta(days=9) + HOUR
    cut = cut_series(session, EVENING + timedelta(days=2), tz)
    assert [o.start for o in materialise(cut, tz, None, EVENING + timedelta(days=30))] == [
        EVENING,
        EVENING + timedelta(days=2),
    ]


def test_a_date_until_is_the_fleets_day_and_an_exception_its_evening(sample_fleet: Fleet) -> None:
    """UNTIL=20270106 ends with Wednesday the 6th in the province (its 19:30 sitting is in);
    an exception on a Tuesday evening of a daily series, and on a Wednesday evening of a
    Monday-and-Wednesday one, is one of the series."""
    first = next(iter(sample_fleet.endpoints))
    request = BookingRequest(
        "Giao ban tối",
        (first,),
        EVENING,
        EVENING + HOUR,
        rrule="FREQ=DAILY;UNTIL=20270106",
        exdates=(EVENING + timedelta(days=1),),
    )
    session, _ = build_session(sample_fleet, request, EVENING - timedelta(days=1), "s1")
    tz = ZoneInfo(sample_fleet.timezone)
    starts = [o.start for o in materialise(session, tz, None, EVENING + timedelta(days=30))]
    assert starts == [EVENING, EVENING + timedelta(days=2)]
    weekly = replace(
        request, rrule="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4", exdates=(EVENING + timedelta(days=2),)
    )
    session, _ = build_session(sample_fleet, weekly, EVENING - timedelta(days=1), "s2")
    starts = [o.start for o in materialise(session, tz, None, EVENING + timedelta(days=30))]
    assert starts == [EVENING + timedelta(days=d) for d in (0, 7, 9)]


def test_a_series_may_end_on_its_first_sitting_and_at_the_horizon(sample_fleet: Fleet) -> None:
    first = next(iter(sample_fleet.endpoints))
    now = EVENING - timedelta(days=1)
    once = BookingRequest(
        "Một buổi", (first,), EVENING, EVENING + HOUR, rrule="FREQ=DAILY;UNTIL=20270104T123000Z"
    )
    session, _ = build_session(sample_fleet, once, now, "s1")
    tz = ZoneInfo(sample_fleet.timezone)
    assert [o.start for o in materialise(session, tz, None, EVENING + timedelta(days=9))] == [
        EVENING
    ]
    horizon = (now + MAX_AHEAD).astimezone(UTC)
    daily_to_horizon = replace(
        once,
        start=horizon - timedelta(days=1),
        end=horizon - timedelta(days=1) + HOUR,
        rrule=f"FREQ=DAILY;UNTIL={horizon:%Y%m%dT%H%M%SZ}",
    )
    session, rule = build_session(sample_fleet, daily_to_horizon, now, "s2")
    assert rule is not None
    assert recurrence.last_start(rule, session.start, tz) == horizon
    check_times(horizon, horizon + HOUR, SETUP, now, sample_fleet.timezone)  # the last instant
    with pytest.raises(InvalidInput, match="at most 5 years ahead"):
        check_times(horizon + timedelta(seconds=1), horizon + HOUR, SETUP, now, "Asia/Bangkok")


def test_a_title_may_hold_any_letter_and_a_refusal_says_what_to_do(sample_fleet: Fleet) -> None:
    assert check_title("  Hội nghị XXI: tổng kết  ") == "Hội nghị XXI: tổng kết"
    with pytest.raises(InvalidInput) as empty:
        participants_of(sample_fleet, ["  ", ""])
    assert str(empty.value) == "no rooms chosen: give endpoints or groups (e.g. all, under:SITE)"


def test_more_rooms_than_a_session_takes_is_a_refused_booking_naming_the_size() -> None:
    rooms = MAX_ENDPOINTS_PER_SESSION + 1
    text = (
        "fleet:\n  name: Tỉnh Thử\nbridges:\n  - {id: mcu-1, ports: 400}\n"
        "agencies:\n  - {id: ubnd, name: UBND}\nsites:\n  - {id: t1, name: T1, level: province}\n"
        "endpoints:\n"
        + "".join(
            f"  - {{id: p{i}, name: Phòng {i}, site: t1, agency: ubnd}}\n" for i in range(rooms)
        )
    )
    fleet = parse_fleet_text(text, "many.yaml")
    with pytest.raises(BookingRefused) as refused:
        participants_of(fleet, ["all"])
    assert len(refused.value.conflicts) == 1
    assert str(refused.value) == f"booking refused: {refused.value.conflicts[0].message}"
