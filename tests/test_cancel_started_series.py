"""Cancelling a series that has begun cuts it (RRULE UNTIL): the sittings held stay in every
calendar, the ones to come go, and the change is announced as an update of the series."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from confsched.calendar.feeds import FeedBuilder
from confsched.calendar.usecases import invite_for_session
from confsched.domain.calendar import FeedKey, FeedKind
from confsched.domain.invites import InviteAction
from confsched.domain.model import SessionStatus
from confsched.errors import InvalidInput
from confsched.services import booking as svc
from confsched.store.calendar import calendar_entries
from confsched.store.invites import pending_changes
from tests.conftest import local
from tests.test_booking import NOW, book

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
AFTER_TWO = local("2026-12-15 09:00")  # Mondays 7 and 14 December have taken place


def test_cancelling_a_started_series_cuts_it_and_keeps_its_past(db, fleet) -> None:  # type: ignore[no-untyped-def]
    series = book(db, fleet, "district:h-vo-nhai", "2026-12-07 14:00", repeat="FREQ=WEEKLY;COUNT=5")
    cut = svc.cancel(db, fleet, series.id, now=AFTER_TWO)
    assert cut.status is SessionStatus.SCHEDULED and cut.sequence == series.sequence + 1
    assert cut.rrule == "FREQ=WEEKLY;UNTIL=20261214T070000Z"
    sittings = svc.session_occurrences(db, series.id)
    assert [(o.start, o.cancelled) for o in sittings] == [
        (local("2026-12-07 14:00"), False),
        (local("2026-12-14 14:00"), False),
    ]
    book(db, fleet, "h-vo-nhai", "2026-12-21 14:00")  # the rooms are free from the cut on
    change = pending_changes(db)[-1]
    assert (change.action, change.recurrence_id) == (InviteAction.REQUEST, None)

    invite = icalendar.Calendar.from_ical(invite_for_session(db, fleet, series.id, now=AFTER_TWO))
    assert invite["METHOD"] == "REQUEST"
    (event,) = invite.walk("VEVENT")
    assert event["STATUS"] == "CONFIRMED" and event["SEQUENCE"] == cut.sequence
    held = recurring_ical_events.of(invite).between(
        datetime(2026, 12, 1, tzinfo=HCM), datetime(2027, 2, 1, tzinfo=HCM)
    )
    assert [e["DTSTART"].dt.strftime("%m-%d %H:%M") for e in held] == ["12-07 14:00", "12-14 14:00"]

    builder = FeedBuilder(fleet)
    builder.update(calendar_entries(db), AFTER_TWO)
    feed = builder.body(FeedKey(FeedKind.ROOM, "h-vo-nhai"), AFTER_TWO)
    assert feed is not None
    shown = recurring_ical_events.of(icalendar.Calendar.from_ical(feed.body)).between(
        datetime(2026, 12, 1, tzinfo=HCM), datetime(2027, 2, 1, tzinfo=HCM)
    )
    assert len(shown) == 3 and all(e["STATUS"] == "CONFIRMED" for e in shown)  # + the booking

    with pytest.raises(InvalidInput, match="already taken place"):
        svc.cancel(db, fleet, series.id, now=AFTER_TWO + timedelta(days=1))


def test_a_series_not_begun_is_still_cancelled_whole(db, fleet) -> None:  # type: ignore[no-untyped-def]
    series = book(db, fleet, "district:h-vo-nhai", "2026-12-07 14:00", repeat="FREQ=WEEKLY;COUNT=5")
    cancelled = svc.cancel(db, fleet, series.id, now=NOW)
    assert cancelled.status is SessionStatus.CANCELLED
    assert pending_changes(db)[-1].action is InviteAction.CANCEL


def test_a_sitting_moved_past_the_cut_is_cancelled_with_the_rest(db, fleet) -> None:  # type: ignore[no-untyped-def]
    series = book(db, fleet, "district:h-vo-nhai", "2026-12-07 14:00", repeat="FREQ=WEEKLY;COUNT=5")
    first = local("2026-12-07 14:00")
    svc.move(db, fleet, series.id, local("2026-12-16 09:00"), occurrence=first, now=NOW)
    svc.cancel(db, fleet, series.id, now=AFTER_TWO)  # 14 Dec was held, the first not yet
    sittings = sorted(svc.session_occurrences(db, series.id), key=lambda o: o.recurrence_id)
    assert [(o.recurrence_id, o.cancelled) for o in sittings] == [
        (first, True),
        (local("2026-12-14 14:00"), False),
    ]
    book(db, fleet, "h-vo-nhai", "2026-12-16 09:00")  # its rooms are free again
