"""Who is told of a session and in which feeds it shows, as pure rules over a small fleet: shared
mailboxes, agencies without an address, rooms gone from the fleet, and when a series ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from confsched.domain.calendar import CalendarEntry, FeedKey, FeedKind, feeds_of, last_end
from confsched.domain.invites import Invitation, Letter, Recipient, recipients, unreachable
from confsched.domain.model import Occurrence, Session
from confsched.fleetfile import parse_fleet_text

FLEET = parse_fleet_text(
    """\
fleet: {name: Tỉnh Thử, timezone: Asia/Ho_Chi_Minh}
bridges: [{id: mcu-1, ports: 50}]
agencies:
  - {id: so-tt, name: Sở Thông tin, email: VanThu@tinh.vn}
  - {id: ubnd-a, name: UBND xã A, email: vanthu@tinh.vn}
  - {id: ubnd-b, name: UBND xã B, email: b@xa.vn}
  - {id: ubnd-c, name: UBND xã C}
  - {id: ubnd-d, name: UBND xã D, email: a@xa.vn}
  - {id: ubnd-e, name: UBND xã E, email: A@XA.vn}
sites: [{id: tinh, name: Tỉnh, level: province}]
endpoints:
  - {id: so, name: Phòng Sở, site: tinh, agency: so-tt}
  - {id: a1, name: Xã A 1, site: tinh, agency: ubnd-a}
  - {id: b1, name: Xã B 1, site: tinh, agency: ubnd-b}
  - {id: b2, name: Xã B 2, site: tinh, agency: ubnd-b}
  - {id: c1, name: Xã C 1, site: tinh, agency: ubnd-c}
  - {id: c2, name: Xã C 2, site: tinh, agency: ubnd-c}
  - {id: d1, name: Xã D 1, site: tinh, agency: ubnd-d}
  - {id: e1, name: Xã E 1, site: tinh, agency: ubnd-e}
""",
    "f.yaml",
)
T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def session(*rooms: str, organizer: str = "so-tt", rrule: str | None = None) -> Session:
    return Session(
        "s1", "Họp", organizer, None, rooms, rooms, T0, T0 + timedelta(hours=2), rrule=rrule
    )


def test_each_mailbox_is_told_once_with_the_rooms_it_answers_for() -> None:
    told = recipients(FLEET, session("so", "a1", "b1", "c1", "b2", "d1", "e1", "gone"))
    assert told == (
        # the organizer's mailbox, shared with UBND xã A: told every bridge (no rooms of its own)
        Recipient("VanThu@tinh.vn", "Sở Thông tin", ()),
        Recipient("b@xa.vn", "UBND xã B", ("b1", "b2")),
        # two agencies sharing a mailbox (letters differ only in case): both agencies' rooms
        Recipient("a@xa.vn", "UBND xã D", ("d1", "e1")),
    )


def test_an_organizer_without_rooms_is_told_and_agencies_without_address_are_named() -> None:
    told = recipients(FLEET, session("c1", "b1", organizer="ubnd-c"))
    assert told == (Recipient("b@xa.vn", "UBND xã B", ("b1",)),)
    assert unreachable(FLEET, session("gone", "c1", "b1", "c2")) == ("UBND xã C",)
    assert unreachable(FLEET, session("b1")) == ()


def test_a_recipient_without_a_letter_of_its_own_gets_the_common_one() -> None:
    own = Letter("your bridge", b"ICS-B")
    invitation = Invitation(
        "subject", "common", b"ICS", "REQUEST", (), {"b@xa.vn": own}
    )  # fmt: skip
    assert invitation.letter_for(Recipient("B@XA.vn", "UBND xã B")) == own
    assert invitation.letter_for(Recipient("x@xa.vn", "X")) == Letter("common", b"ICS")


def test_a_session_shows_in_the_organizers_feed_each_owners_and_each_rooms() -> None:
    assert feeds_of(session("a1", "b1", "b2", "gone"), FLEET) == {
        FeedKey(FeedKind.AGENCY, "so-tt"),
        FeedKey(FeedKind.AGENCY, "ubnd-a"),
        FeedKey(FeedKind.AGENCY, "ubnd-b"),
        FeedKey(FeedKind.ROOM, "a1"),
        FeedKey(FeedKind.ROOM, "b1"),
        FeedKey(FeedKind.ROOM, "b2"),
        FeedKey(FeedKind.ROOM, "gone"),
    }
    assert str(FeedKey(FeedKind.ROOM, "a1")) == "room:a1"


def moved(start: datetime, hours: int = 2) -> Occurrence:
    return Occurrence("s1", start, start, start + timedelta(hours=hours), moved=True)


def test_the_last_end_of_a_session_counts_moved_sittings() -> None:
    one_off = session("a1")
    assert last_end(CalendarEntry(one_off), TZ) == T0 + timedelta(hours=2)
    late = moved(T0 + timedelta(days=1))
    assert last_end(CalendarEntry(one_off, (late,)), TZ) == late.end
    series = session("a1", rrule="FREQ=WEEKLY;COUNT=3")
    assert last_end(CalendarEntry(series), TZ) == T0 + timedelta(weeks=2, hours=2)
    much_later = moved(T0 + timedelta(weeks=5))
    assert last_end(CalendarEntry(series, (much_later,)), TZ) == much_later.end
    early = moved(T0 + timedelta(days=1))
    assert last_end(CalendarEntry(series, (early,)), TZ) == T0 + timedelta(weeks=2, hours=2)
    assert last_end(CalendarEntry(session("a1", rrule="FREQ=WEEKLY")), TZ) is None
    until = session("a1", rrule="FREQ=WEEKLY;UNTIL=20261221")
    assert last_end(CalendarEntry(until), TZ) == T0 + timedelta(weeks=2, hours=2)
    unreadable = replace(series, rrule="FREQ=HOURLY")
    assert last_end(CalendarEntry(unreadable), TZ) is None


def test_a_cancelled_sitting_is_not_a_moved_one_and_the_sequence_takes_the_highest() -> None:
    off = Occurrence("s1", T0, T0, T0 + timedelta(hours=2), cancelled=True, sequence=4)
    shifted = replace(moved(T0 + timedelta(weeks=1)), sequence=2)
    entry = CalendarEntry(replace(session("a1"), sequence=3), (off, shifted), 1)
    assert entry.moved == (shifted,)
    assert entry.cancelled_sittings == (off,)
    assert entry.sequence == 4
    assert CalendarEntry(replace(session("a1"), sequence=3), (), 5).sequence == 5
    assert not entry.cancelled
