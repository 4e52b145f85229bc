"""The calendar's view of stored bookings: only changed sessions re-read, SEQUENCE only grows."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils

from confsched.calendar import ics
from confsched.calendar.usecases import invite_for_session
from confsched.domain.calendar import CalendarEntry
from confsched.domain.model import Fleet
from confsched.errors import InvalidInput, NotFound
from confsched.services import booking as svc
from confsched.store.calendar import (
    calendar_entries,
    calendar_entry,
    changed_entries,
    mark_seen,
)
from tests.conftest import local

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # a Monday, 09:00 local


def book(db: sqlite_utils.Database, fleet: Fleet, with_: str, start: str, **kw: str) -> str:
    request = svc.parse_request(
        fleet, title="Giao ban", with_=with_, start=start, duration="1h", **kw
    )
    return svc.book(db, fleet, request, now=NOW).id


def test_only_changed_sessions_are_read_again(db: sqlite_utils.Database, fleet: Fleet) -> None:
    first = book(db, fleet, "ioc", "2026-12-07 08:00")
    second = book(db, fleet, "hdnd-tinh", "2026-12-07 08:00")
    series = book(db, fleet, "so-tttt", "2026-12-08 08:00", repeat="FREQ=WEEKLY;COUNT=4")
    everything = changed_entries(db, restart=True)
    assert {e.session.id for e in everything.entries} == {first, second, series}
    mark_seen(db, everything)
    assert changed_entries(db).entries == []

    svc.cancel(db, fleet, first, now=NOW)
    svc.move(
        db, fleet, series, local("2026-12-16 14:00"), occurrence=local("2026-12-15 08:00"), now=NOW
    )
    again = changed_entries(db)
    assert {e.session.id for e in again.entries} == {first, series}
    assert again.removed == set()
    mark_seen(db, again)
    assert changed_entries(db).entries == []
    assert len(changed_entries(db, restart=True).entries) == 3
    moved = next(e for e in again.entries if e.session.id == series)
    assert [o.start for o in moved.exceptions] == [local("2026-12-16 14:00")]
    assert len(calendar_entries(db)) == 3


def test_a_start_reads_no_single_session_over_before_the_window_but_every_series(
    db: sqlite_utils.Database, fleet: Fleet
) -> None:
    old = book(db, fleet, "ioc", "2026-12-07 08:00")
    later = book(db, fleet, "hdnd-tinh", "2026-12-21 08:00")
    series = book(db, fleet, "so-tttt", "2026-12-08 08:00", repeat="FREQ=WEEKLY;COUNT=2")
    since = local("2026-12-10 00:00")  # after the first session and the series ended
    read = changed_entries(db, restart=True, since=since)
    assert {e.session.id for e in read.entries} == {later, series}
    assert old not in read.prints
    mark_seen(db, read)
    assert changed_entries(db, since=since).entries == []
    svc.move(db, fleet, old, local("2026-12-28 08:00"), now=NOW)  # back into the window
    assert {e.session.id for e in changed_entries(db, since=since).entries} == {old}


def test_series_sequence_grows_with_each_sitting_changed(
    db: sqlite_utils.Database, fleet: Fleet
) -> None:
    series = book(db, fleet, "so-tttt", "2026-12-08 08:00", repeat="FREQ=WEEKLY;COUNT=4")
    seen = [calendar_entry(db, series).sequence]
    svc.move(
        db, fleet, series, local("2026-12-16 14:00"), occurrence=local("2026-12-15 08:00"), now=NOW
    )
    seen.append(calendar_entry(db, series).sequence)
    svc.cancel(db, fleet, series, occurrence=local("2026-12-22 08:00"), now=NOW)
    seen.append(calendar_entry(db, series).sequence)
    svc.move(
        db, fleet, series, local("2026-12-17 14:00"), occurrence=local("2026-12-15 08:00"), now=NOW
    )
    seen.append(calendar_entry(db, series).sequence)
    svc.cancel(db, fleet, series, now=NOW)
    seen.append(calendar_entry(db, series).sequence)
    assert seen == sorted(seen) and len(set(seen)) == len(seen), seen


def test_invite_for_session_follows_the_stored_session(
    db: sqlite_utils.Database, fleet: Fleet
) -> None:
    session_id = book(db, fleet, "ioc,so-tttt", "2026-12-07 10:00", chair="ioc")
    request = invite_for_session(db, fleet, session_id, now=NOW)
    unfolded = request.replace(b"\r\n ", b"")
    assert b"METHOD:REQUEST\r\n" in request and b"mailto:so-tttt@thainguyen.gov.vn" in unfolded
    forced = invite_for_session(db, fleet, session_id, method="cancel", now=NOW)
    assert b"METHOD:CANCEL\r\n" in forced and b"STATUS:CANCELLED\r\n" in forced
    svc.cancel(db, fleet, session_id, now=NOW)
    cancelled = invite_for_session(db, fleet, session_id, now=NOW)
    assert b"METHOD:CANCEL\r\n" in cancelled and b"SEQUENCE:1\r\n" in cancelled
    entry = calendar_entry(db, session_id)
    assert cancelled == ics.invite(CalendarEntry(entry.session), fleet, NOW)
    with pytest.raises(InvalidInput, match="use request or cancel"):
        invite_for_session(db, fleet, session_id, method="publish")
    with pytest.raises(NotFound):
        invite_for_session(db, fleet, "nope")
