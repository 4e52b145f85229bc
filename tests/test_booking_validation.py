"""Every refusal of a booking request in the pure engine, word for word, and what a valid one
becomes (``domain.booking.build_session``; the CLI and API tests show the same words reach the
operator, these pin them where they are decided)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from confsched.domain.booking import BookingRequest, build_session, working_hours_warning
from confsched.domain.model import Fleet
from confsched.errors import InvalidInput, NotFound
from tests.conftest import local

NOW = local("2026-12-04 10:00")
MONDAY = local("2026-12-07 08:00")
GOOD = BookingRequest(
    "  Giao ban tuần  ", ("tinh-uy", "ubnd-tinh"), MONDAY, MONDAY + timedelta(hours=2)
)


def refused(fleet: Fleet, **changes) -> str:
    with pytest.raises((InvalidInput, NotFound)) as caught:
        build_session(fleet, replace(GOOD, **changes), NOW, "s1")
    return str(caught.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "   "}, "the title is empty"),
        ({"title": "x" * 201}, "the title is longer than 200 characters"),
        ({"title": "Họp\x1b[2J"}, "the title holds a control character (U+001B) at position 4"),
        ({"title": "a\u2028b"}, "the title holds a control character (U+2028) at position 2"),
        ({"title": "a\udcffb"}, "the title holds a control character (U+DCFF) at position 2"),
        ({"end": MONDAY}, "the end 2026-12-07 08:00 is not after the start 2026-12-07 08:00"),
        ({"end": MONDAY + timedelta(hours=24, minutes=1)}, "a session lasts at most 24 hours"),
        ({"setup": timedelta(minutes=-1)}, "the setup time must be between 0 and 2 hours"),
        ({"setup": timedelta(hours=2, seconds=1)}, "the setup time must be between 0 and 2 hours"),
        (
            {"start": NOW - timedelta(minutes=1), "end": NOW + timedelta(hours=1)},
            "the start 2026-12-04 09:59 is in the past",
        ),
        (
            {"start": NOW + timedelta(days=1831), "end": NOW + timedelta(days=1831, hours=1)},
            "sessions can be booked at most 5 years ahead",
        ),
        ({"chair": "nowhere"}, "unknown endpoint 'nowhere'"),
        (
            {"chair": "hdnd-tinh"},
            "the chair 'hdnd-tinh' is not a participant: add it to the rooms",
        ),
        ({"organizer": "nobody"}, "unknown agency 'nobody'"),
        ({"exdates": (MONDAY + timedelta(weeks=1),)}, "exception dates need a repeat rule"),
        (
            {"rrule": "FREQ=WEEKLY;UNTIL=20321231"},
            "a series may run at most 5 years ahead",
        ),
        ({"rrule": "FREQ=WEEKLY;UNTIL=20261130"}, "UNTIL is before the first occurrence"),
        ({"rrule": "FREQ=MONTHLY;INTERVAL=12;COUNT=7"}, "a series may run at most 5 years ahead"),
        (
            {"rrule": "FREQ=WEEKLY;BYDAY=TU"},
            "the start 2026-12-07 08:00 (MO) is not an occurrence of the repeat rule "
            "FREQ=WEEKLY;BYDAY=TU",
        ),
        (
            {"rrule": "FREQ=WEEKLY", "exdates": (MONDAY + timedelta(days=8),)},
            "exception 2026-12-15 08:00 is not an occurrence of the series",
        ),
    ],
)
def test_each_refusal_says_what_is_wrong(sample_fleet: Fleet, changes: dict, message: str) -> None:
    assert refused(sample_fleet, **changes) == message


def test_the_limits_themselves_are_accepted(sample_fleet: Fleet) -> None:
    edge = replace(
        GOOD,
        title="x" * 200,
        end=MONDAY + timedelta(hours=24),
        setup=timedelta(hours=2),
        rrule="FREQ=WEEKLY;COUNT=2",
    )
    session, rule = build_session(sample_fleet, edge, NOW, "s1")
    assert rule is not None and session.rrule == "FREQ=WEEKLY;COUNT=2"
    now_start = replace(GOOD, start=NOW, end=NOW + timedelta(hours=1), setup=timedelta(0))
    assert build_session(sample_fleet, now_start, NOW, "s2")[0].start == NOW


def test_a_valid_request_becomes_a_session_with_its_defaults_filled(sample_fleet: Fleet) -> None:
    exdate = MONDAY + timedelta(weeks=1)
    request = replace(
        GOOD, selectors=(" tinh-uy ", "", "ubnd-tinh"), rrule="FREQ=WEEKLY", exdates=(exdate,) * 2
    )
    session, _ = build_session(sample_fleet, request, NOW, "s1")
    assert (session.id, session.title, session.chair, session.organizer) == (
        "s1",
        "Giao ban tuần",
        "tinh-uy",
        "tinh-uy",
    )
    assert session.endpoints == ("tinh-uy", "ubnd-tinh")
    assert session.selectors == ("tinh-uy", "ubnd-tinh")
    assert session.exdates == (exdate,)
    assert (session.created_at, session.updated_at) == (NOW, NOW)
    assert (session.start, session.end, session.setup) == (GOOD.start, GOOD.end, GOOD.setup)
    chaired = replace(GOOD, chair="ubnd-tinh", organizer="tinh-uy")
    session, rule = build_session(sample_fleet, chaired, NOW, "s2")
    assert (session.chair, session.organizer, session.rrule, rule) == (
        "ubnd-tinh",
        "tinh-uy",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("start", "end", "warning"),
    [
        ("2026-12-07 07:30", "2026-12-07 17:00", None),
        ("2026-12-05 08:00", "2026-12-05 09:00", "2026-12-05 is a Saturday, not a working day"),
        (
            "2026-12-07 07:29",
            "2026-12-07 09:00",
            "07:29–09:00 is outside working hours (07:30–17:00)",
        ),
        (
            "2026-12-07 16:00",
            "2026-12-07 17:01",
            "16:00–17:01 is outside working hours (07:30–17:00)",
        ),
        (
            "2026-12-07 16:00",
            "2026-12-08 08:00",
            "16:00–08:00 is outside working hours (07:30–17:00)",
        ),
    ],
)
def test_a_booking_outside_working_hours_is_said_back(
    sample_fleet: Fleet, start: str, end: str, warning: str | None
) -> None:
    assert working_hours_warning(sample_fleet, local(start), local(end)) == warning
