"""The booking service on a real SQLite file holding the sample province."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils

from confsched.domain.booking import EndpointConflict, PortsConflict
from confsched.domain.model import Bridge, Fleet, SessionStatus
from confsched.errors import BookingRefused, InvalidInput, NotFound
from confsched.services import booking as svc
from confsched.store.db import revisions
from tests.conftest import local

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 09:00 local
MONDAY = "2026-12-07"


def request(fleet: Fleet, with_: str, start: str, duration: str = "2h", **kw: Any):  # type: ignore[no-untyped-def]
    return svc.parse_request(
        fleet, title=kw.pop("title", "Họp"), with_=with_, start=start, duration=duration, **kw
    )


def book(db: sqlite_utils.Database, fleet: Fleet, with_: str, start: str, **kw: Any):  # type: ignore[no-untyped-def]
    return svc.book(db, fleet, request(fleet, with_, start, **kw), now=NOW)


def stored_counts(db: sqlite_utils.Database) -> tuple[int, int, int, dict[str, int]]:
    """What a refusal must leave alone: everything but the refusal counter it bumps."""
    changed = {area: rev for area, rev in revisions(db).items() if area != "refusals"}
    return (
        db.execute("SELECT count(*) FROM sessions").fetchone()[0],
        db.execute("SELECT count(*) FROM occurrences").fetchone()[0],
        db.execute("SELECT count(*) FROM busy").fetchone()[0],
        changed,
    )


# --- booking and refusals ---------------------------------------------------------------------


def test_province_session_cascades_across_both_bridges_and_is_stored(db, fleet) -> None:  # type: ignore[no-untyped-def]
    session = book(db, fleet, "all", f"{MONDAY} 08:00", title="Hội nghị toàn tỉnh")
    stored = svc.get_session(db, session.id)
    assert stored == session
    assert stored.title == "Hội nghị toàn tỉnh"
    assert len(stored.endpoints) == 192
    assert stored.allocation.links == (("mcu-tinh-1", "mcu-tinh-2"),)
    assert stored.allocation.ports_used("mcu-tinh-1") <= 120
    assert stored.allocation.ports_used("mcu-tinh-2") <= 96
    assert stored.organizer == "tinh-uy" and stored.chair == "tinh-uy"  # defaults: first room
    assert svc.bridge_usage(db, local(f"{MONDAY} 07:50")) == {"mcu-tinh-1": 114, "mcu-tinh-2": 80}
    assert svc.bridge_usage(db, local(f"{MONDAY} 10:00")) == {}
    assert revisions(db)["sessions"] == 1


def test_district_booking_refused_when_province_session_overlaps(db, fleet) -> None:  # type: ignore[no-untyped-def]
    province = book(db, fleet, "all", f"{MONDAY} 08:00", title="Toàn tỉnh")
    before = stored_counts(db)
    with pytest.raises(BookingRefused) as refused:
        book(db, fleet, "district:h-dai-tu", f"{MONDAY} 08:30", duration="1h")
    rooms = [c for c in refused.value.conflicts if isinstance(c, EndpointConflict)]
    dai_tu = [e.id for e in fleet.endpoints.values() if e.area == "h-dai-tu"]
    assert [c.endpoint for c in rooms] == dai_tu  # every room, in fleet order
    assert {c.session for c in rooms} == {province.id}
    first = rooms[0].as_dict()
    assert first["title"] == "Toàn tỉnh"
    assert first["start"] == f"{MONDAY}T08:00:00+07:00"
    assert first["endpoint_name"] == "Phòng họp UBND huyện Đại Từ"
    assert any(isinstance(c, PortsConflict) for c in refused.value.conflicts)
    assert "30 rooms already booked by 1 session" in str(refused.value)
    assert stored_counts(db) == before


def test_setup_time_makes_rooms_busy_before_the_start(db, fleet) -> None:  # type: ignore[no-untyped-def]
    book(db, fleet, "h-dai-tu", f"{MONDAY} 10:00", duration="1h")  # busy from 09:45
    with pytest.raises(BookingRefused):
        book(db, fleet, "h-dai-tu", f"{MONDAY} 08:00", duration="1h50m")  # ends 09:50
    book(db, fleet, "h-dai-tu", f"{MONDAY} 08:00", duration="1h45m")  # ends 09:45: fine
    with pytest.raises(BookingRefused):
        book(db, fleet, "h-dai-tu", f"{MONDAY} 11:10", duration="1h")  # setup from 10:55


def test_bridge_never_overfilled_by_sessions_with_different_rooms(db, fleet) -> None:  # type: ignore[no-untyped-def]
    small = replace(
        fleet,
        bridges={
            "mcu-tinh-1": Bridge("mcu-tinh-1", "MCU 1", 40),
            "mcu-tinh-2": Bridge("mcu-tinh-2", "MCU 2", 30),
        },
    )
    book(db, small, "district:tp-thai-nguyen,district:h-phu-binh", f"{MONDAY} 08:00")  # 53 rooms
    with pytest.raises(BookingRefused) as refused:
        book(db, small, "district:h-dai-tu", f"{MONDAY} 09:00")  # 30 more; 55 of 70 taken
    (conflict,) = refused.value.conflicts
    assert isinstance(conflict, PortsConflict)
    assert conflict.as_dict()["free"] == 70 - 53 - 2  # two cascade link ports
    book(db, small, "district:h-dai-tu", f"{MONDAY} 10:15")  # after the first one ends


def test_series_refused_naming_each_colliding_occurrence(db, fleet) -> None:  # type: ignore[no-untyped-def]
    book(db, fleet, "h-dong-hy", "2026-12-14 08:00")
    book(db, fleet, "h-dong-hy", "2026-12-28 08:30")
    with pytest.raises(BookingRefused) as refused:
        book(db, fleet, "district:h-dong-hy", f"{MONDAY} 08:00", repeat="FREQ=WEEKLY;COUNT=4")
    wanted = sorted({c.as_dict()["wanted_start"] for c in refused.value.conflicts})
    assert wanted == ["2026-12-14T08:00:00+07:00", "2026-12-28T08:00:00+07:00"]


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        (
            {"with_": "all", "start": f"{MONDAY} 08:00", "end": f"{MONDAY} 07:00"},
            InvalidInput,
            "is not after the start",
        ),
        ({"with_": "", "start": f"{MONDAY} 08:00"}, InvalidInput, "no rooms chosen"),
        ({"with_": "atlantis", "start": f"{MONDAY} 08:00"}, InvalidInput, "'atlantis'"),
        ({"with_": "district:nowhere", "start": f"{MONDAY} 08:00"}, InvalidInput, "nowhere"),
        (
            {"with_": "planet:mars", "start": f"{MONDAY} 08:00"},
            InvalidInput,
            "unknown selector key",
        ),
        ({"with_": "all", "start": "2026-11-30 08:00"}, InvalidInput, "in the past"),
        (
            {"with_": "all", "start": f"{MONDAY} 08:00", "repeat": "FREQ=YEARLY"},
            InvalidInput,
            "YEARLY",
        ),
        (
            {"with_": "all", "start": f"{MONDAY} 08:00", "repeat": "FREQ=WEEKLY;BYDAY=TU"},
            InvalidInput,
            "not an occurrence",
        ),
        (
            {
                "with_": "all",
                "start": f"{MONDAY} 08:00",
                "repeat": "FREQ=DAILY",
                "duration": "23h55m",
            },
            InvalidInput,
            "overlap each other",
        ),
        (
            {
                "with_": "all",
                "start": f"{MONDAY} 08:00",
                "exdates": ["2026-12-08 08:00"],
                "repeat": "FREQ=WEEKLY",
            },
            InvalidInput,
            "not an occurrence of the series",
        ),
        (
            {"with_": "all", "start": f"{MONDAY} 08:00", "exdates": ["2026-12-14 08:00"]},
            InvalidInput,
            "need a repeat rule",
        ),
        (
            {"with_": "all", "start": f"{MONDAY} 08:00", "organizer": "cia"},
            NotFound,
            "unknown agency 'cia'",
        ),
        (
            {"with_": "all", "start": f"{MONDAY} 08:00", "chair": "atlantis"},
            NotFound,
            "unknown endpoint 'atlantis'",
        ),
        (
            {"with_": "level:commune", "start": f"{MONDAY} 08:00", "chair": "tinh-uy"},
            InvalidInput,
            "not a participant",
        ),
        (
            {"with_": "all", "start": f"{MONDAY} 08:00", "duration": "25h"},
            InvalidInput,
            "at most 24 hours",
        ),
        (
            {"with_": "all", "start": f"{MONDAY} 08:00", "duration": "0m"},
            InvalidInput,
            "not after the start",
        ),
        ({"with_": "all", "start": f"{MONDAY} 08:00", "setup": "3h"}, InvalidInput, "setup time"),
        ({"with_": "all", "start": "next monday"}, InvalidInput, "bad time"),
        ({"with_": "all", "start": "2035-01-01 08:00"}, InvalidInput, "5 years"),
        (
            {"with_": "all", "start": f"{MONDAY} 08:00", "title": "  "},
            InvalidInput,
            "title is empty",
        ),
    ],
)
def test_bad_booking_input_is_refused_clearly_and_stores_nothing(  # type: ignore[no-untyped-def]
    db, fleet, fields: dict[str, Any], error: type[Exception], words: str
) -> None:
    before = stored_counts(db)
    fields = {"duration": "2h", "title": "Họp", **fields}
    if "end" in fields:
        fields.pop("duration")
    with pytest.raises(error, match=words):
        svc.book(db, fleet, svc.parse_request(fleet, **fields), now=NOW)
    assert stored_counts(db) == before


def test_more_than_192_endpoints_is_refused(db, fleet) -> None:  # type: ignore[no-untyped-def]
    extra = {f"x-{i}": replace(next(iter(fleet.endpoints.values())), id=f"x-{i}") for i in range(9)}
    big = replace(fleet, endpoints={**fleet.endpoints, **extra})
    with pytest.raises(BookingRefused, match="201 endpoints chosen; a session holds at most 192"):
        book(db, big, "all", f"{MONDAY} 08:00")


# --- move and cancel --------------------------------------------------------------------------


def test_move_bumps_sequence_and_frees_the_old_time(db, fleet) -> None:  # type: ignore[no-untyped-def]
    session = book(db, fleet, "all", f"{MONDAY} 08:00")
    moved = svc.move(db, fleet, session.id, local(f"{MONDAY} 14:00"), now=NOW)
    assert moved.sequence == 1
    assert moved.start == local(f"{MONDAY} 14:00") and moved.end == local(f"{MONDAY} 16:00")
    assert svc.bridge_usage(db, local(f"{MONDAY} 08:30")) == {}
    book(db, fleet, "district:h-dai-tu", f"{MONDAY} 08:30", duration="1h")
    with pytest.raises(BookingRefused):  # the district now holds its rooms at 08:30
        svc.move(db, fleet, session.id, local(f"{MONDAY} 08:00"), now=NOW)
    assert svc.get_session(db, session.id) == moved  # a refused move changes nothing


def test_cancel_frees_rooms_and_ports_and_bumps_sequence(db, fleet) -> None:  # type: ignore[no-untyped-def]
    session = book(db, fleet, "all", f"{MONDAY} 08:00")
    cancelled = svc.cancel(db, fleet, session.id, now=NOW)
    assert cancelled.status is SessionStatus.CANCELLED and cancelled.sequence == 1
    assert svc.bridge_usage(db, local(f"{MONDAY} 08:30")) == {}
    (occurrence,) = svc.session_occurrences(db, session.id)
    assert occurrence.cancelled
    book(db, fleet, "all", f"{MONDAY} 08:00")
    with pytest.raises(InvalidInput, match="is cancelled"):
        svc.cancel(db, fleet, session.id, now=NOW)


def test_one_occurrence_of_a_series_moves_on_its_own(db, fleet) -> None:  # type: ignore[no-untyped-def]
    series = book(db, fleet, "district:h-vo-nhai", f"{MONDAY} 14:00", repeat="FREQ=WEEKLY;BYDAY=MO")
    second = local("2026-12-14 14:00")
    svc.move(db, fleet, series.id, local("2026-12-15 09:00"), occurrence=second, now=NOW)
    occurrences = svc.session_occurrences(db, series.id, NOW, local("2026-12-29 00:00"))
    assert [(o.start, o.moved, o.sequence) for o in occurrences] == [
        (local(f"{MONDAY} 14:00"), False, 0),
        (local("2026-12-15 09:00"), True, 1),
        (local("2026-12-21 14:00"), False, 0),
        (local("2026-12-28 14:00"), False, 0),
    ]
    assert occurrences[1].recurrence_id == second
    assert svc.get_session(db, series.id).sequence == 0
    book(db, fleet, "h-vo-nhai", "2026-12-14 14:00")  # the old time is free now
    with pytest.raises(BookingRefused):
        book(db, fleet, "h-vo-nhai", "2026-12-15 09:30")


def test_one_occurrence_cancelled_frees_that_week_only(db, fleet) -> None:  # type: ignore[no-untyped-def]
    series = book(db, fleet, "district:h-vo-nhai", f"{MONDAY} 14:00", repeat="FREQ=WEEKLY;COUNT=3")
    svc.cancel(db, fleet, series.id, occurrence=local("2026-12-14 14:00"), now=NOW)
    assert [o.cancelled for o in svc.session_occurrences(db, series.id)] == [False, True, False]
    book(db, fleet, "h-vo-nhai", "2026-12-14 14:00")
    with pytest.raises(BookingRefused):
        book(db, fleet, "h-vo-nhai", "2026-12-21 14:00")
    with pytest.raises(InvalidInput, match="is cancelled"):
        svc.cancel(db, fleet, series.id, occurrence=local("2026-12-14 14:00"), now=NOW)


def test_moving_a_whole_series_keeps_its_own_overrides(db, fleet) -> None:  # type: ignore[no-untyped-def]
    series = book(db, fleet, "district:h-vo-nhai", f"{MONDAY} 14:00", repeat="FREQ=WEEKLY;COUNT=3")
    svc.cancel(db, fleet, series.id, occurrence=local("2026-12-14 14:00"), now=NOW)
    moved = svc.move(db, fleet, series.id, local("2026-12-08 09:00"), now=NOW)
    assert moved.rrule == "FREQ=WEEKLY;COUNT=3" and moved.sequence == 1
    occurrences = svc.session_occurrences(db, series.id)
    assert [(o.start, o.cancelled) for o in occurrences] == [
        (local("2026-12-08 09:00"), False),
        (local("2026-12-15 09:00"), True),
        (local("2026-12-22 09:00"), False),
    ]


@pytest.mark.parametrize("action", ["move", "cancel", "show"])
def test_unknown_session_id_is_not_found(db, fleet, action: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound, match="unknown session 'nope'"):
        if action == "move":
            svc.move(db, fleet, "nope", local(f"{MONDAY} 08:00"), now=NOW)
        elif action == "cancel":
            svc.cancel(db, fleet, "nope", now=NOW)
        else:
            svc.get_session(db, "nope")


def test_unknown_occurrence_is_not_found(db, fleet) -> None:  # type: ignore[no-untyped-def]
    series = book(db, fleet, "h-vo-nhai", f"{MONDAY} 14:00", repeat="FREQ=WEEKLY")
    with pytest.raises(NotFound, match="occurrence"):
        svc.cancel(db, fleet, series.id, occurrence=local("2026-12-15 14:00"), now=NOW)


# --- horizon, reads, preview ------------------------------------------------------------------


def test_series_materialised_a_year_ahead_and_extended_when_booking_beyond(db, fleet) -> None:  # type: ignore[no-untyped-def]
    series = book(db, fleet, "district:h-phu-binh", f"{MONDAY} 14:00", repeat="FREQ=WEEKLY")
    stored = db.execute("SELECT max(starts_at) FROM occurrences").fetchone()[0]
    assert datetime.fromisoformat(stored) > NOW + timedelta(days=366)
    far = "2029-01-01 14:00"  # a Monday, beyond the stored horizon
    with pytest.raises(BookingRefused) as refused:
        book(db, fleet, "h-phu-binh", far)
    assert {c.session for c in refused.value.conflicts} == {series.id}  # type: ignore[attr-defined]


def test_reads_beyond_the_horizon_expand_in_memory_without_writing(db, fleet) -> None:  # type: ignore[no-untyped-def]
    series = book(db, fleet, "h-phu-binh", f"{MONDAY} 14:00", repeat="FREQ=WEEKLY")
    before = stored_counts(db)
    far = svc.occurrences_between(db, local("2029-01-01 00:00"), local("2029-01-02 00:00"))
    assert [(o.session_id, o.start) for o in far] == [(series.id, local("2029-01-01 14:00"))]
    assert stored_counts(db) == before


def test_preview_answers_like_book_and_stores_nothing(db, fleet) -> None:  # type: ignore[no-untyped-def]
    book(db, fleet, "all", f"{MONDAY} 08:00")
    before = stored_counts(db)
    answer = svc.preview(db, fleet, request(fleet, "district:h-dai-tu", f"{MONDAY} 08:30"), now=NOW)
    assert not answer.ok and len(answer.conflicts) == 31 and answer.allocation is None
    answer = svc.preview(db, fleet, request(fleet, "district:h-dai-tu", f"{MONDAY} 10:15"), now=NOW)
    assert answer.ok and answer.allocation is not None
    assert stored_counts(db) == before


def test_list_sessions_by_window_and_status(db, fleet) -> None:  # type: ignore[no-untyped-def]
    a = book(db, fleet, "h-dai-tu", f"{MONDAY} 08:00")
    b = book(db, fleet, "h-vo-nhai", "2026-12-01 08:00")
    c = book(db, fleet, "h-dong-hy", "2026-12-20 08:00")
    svc.cancel(db, fleet, c.id, now=NOW)
    window = (NOW, local("2026-12-31 00:00"))
    assert [s.id for s in svc.list_sessions(db, *window, status="scheduled")] == [b.id, a.id]
    assert [s.id for s in svc.list_sessions(db, *window, status="cancelled")] == [c.id]
    assert [s.id for s in svc.list_sessions(db, *window)] == [b.id, a.id, c.id]
    assert [s.id for s in svc.list_sessions(db, NOW, local("2026-12-05 00:00"))] == [b.id]
    pairs = svc.endpoint_sessions(db, "h-dai-tu", NOW, local("2026-12-31 00:00"))
    assert [(s.id, o.start) for s, o in pairs] == [(a.id, a.start)]


def test_session_view_has_the_api_shape(db, fleet) -> None:  # type: ignore[no-untyped-def]
    session = book(db, fleet, "all", f"{MONDAY} 08:00", organizer="ubnd-tinh", chair="ubnd-tinh")
    view = svc.session_view(fleet, session, svc.session_occurrences(db, session.id), TZ)
    assert {
        "id",
        "title",
        "organizer",
        "organizer_name",
        "chair",
        "selectors",
        "endpoints",
        "endpoint_count",
        "start",
        "end",
        "setup_minutes",
        "rrule",
        "exdates",
        "status",
        "sequence",
        "allocation",
        "occurrences",
        "readiness",
    } <= set(view)
    assert view["organizer_name"] == "Ủy ban nhân dân tỉnh Thái Nguyên"
    assert view["start"] == f"{MONDAY}T08:00:00+07:00"
    assert view["allocation"]["links"] == [["mcu-tinh-1", "mcu-tinh-2"]]
    assert [b["ports_used"] for b in view["allocation"]["bridges"]] == [114, 80]
    assert view["occurrences"][0]["recurrence_id"] == f"{MONDAY}T08:00:00+07:00"


def test_slots_offer_the_first_time_after_the_province_meeting(db, fleet) -> None:  # type: ignore[no-untyped-def]
    book(db, fleet, "all", f"{MONDAY} 08:00")
    found = svc.find_slots(
        db,
        fleet,
        ["district:h-dai-tu"],
        timedelta(hours=1),
        earliest=local(f"{MONDAY} 08:30"),
        now=NOW,
        count=2,
    )
    assert [s.start for s in found] == [local(f"{MONDAY} 10:15"), local(f"{MONDAY} 11:15")]


def test_occurrences_in_setup_window_for_readiness(db, fleet) -> None:  # type: ignore[no-untyped-def]
    from confsched.store.booking import occurrences_in_setup

    session = book(db, fleet, "district:h-vo-nhai", f"{MONDAY} 08:00")
    assert occurrences_in_setup(db, local(f"{MONDAY} 07:44")) == []
    ((occurrence, rooms),) = occurrences_in_setup(db, local(f"{MONDAY} 07:50"))
    assert occurrence.session_id == session.id and rooms == session.endpoints
    assert occurrences_in_setup(db, local(f"{MONDAY} 08:00")) == []


def test_extending_the_horizon_never_double_books_two_series(db, fleet) -> None:  # type: ignore[no-untyped-def]
    # Every 300 days and every 200 days (from day 200): they first meet on day 600, beyond the
    # horizon both were checked over; extending past it keeps the older series' sitting.
    first = book(db, fleet, "h-dai-tu", f"{MONDAY} 08:00", repeat="FREQ=DAILY;INTERVAL=300")
    start = local(f"{MONDAY} 08:00") + timedelta(days=200)
    second = svc.book(
        db,
        fleet,
        svc.BookingRequest(
            "Họp 2",
            ("h-dai-tu",),
            start,
            start + timedelta(hours=2),
            rrule="FREQ=DAILY;INTERVAL=200",
        ),
        now=NOW,
    )
    meeting = local(f"{MONDAY} 08:00") + timedelta(days=600)
    book(db, fleet, "tinh-uy", f"{(meeting + timedelta(days=30)).astimezone(TZ):%Y-%m-%d} 08:00")
    kept = [o for o in svc.session_occurrences(db, first.id) if o.start == meeting]
    dropped = [o for o in svc.session_occurrences(db, second.id) if o.start == meeting]
    assert [o.cancelled for o in kept] == [False]
    assert [(o.cancelled, o.sequence) for o in dropped] == [(True, 1)]


def test_a_room_removed_from_the_fleet_does_not_break_its_sessions(db, fleet) -> None:  # type: ignore[no-untyped-def]
    session = book(db, fleet, "district:h-vo-nhai", f"{MONDAY} 08:00", repeat="FREQ=WEEKLY")
    smaller = replace(
        fleet, endpoints={k: v for k, v in fleet.endpoints.items() if k != "vn-la-hien"}
    )
    assert "vn-la-hien" in session.endpoints
    moved = svc.move(db, smaller, session.id, local(f"{MONDAY} 13:00"), now=NOW)
    assert moved.sequence == 1
    book(db, smaller, "h-dai-tu", f"{MONDAY} 13:00")
    view = svc.session_view(smaller, moved, svc.session_occurrences(db, moved.id), TZ)
    assert view["endpoint_count"] == 16
