"""Invites and event blocks: iTIP shape, Vietnamese text byte-exact, recurrence round trips."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from hypothesis import given, settings
from hypothesis import strategies as st

from confsched.calendar import ics
from confsched.domain.calendar import CalendarEntry, exceptions_of
from confsched.domain.model import Fleet, Occurrence, PortAllocation, Session, SessionStatus
from tests.conftest import local

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
STAMP = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
DAI_TU = ["h-dai-tu", "dt-hung-son", "dt-phuc-luong"]


def make_session(fleet: Fleet, **changes: object) -> Session:
    """A session between the province's people's committee and three rooms of Đại Từ."""
    endpoints = tuple(changes.pop("endpoints", ("ubnd-tinh", *DAI_TU)))  # type: ignore[arg-type]
    for endpoint_id in endpoints:
        assert endpoint_id in fleet.endpoints, endpoint_id
    values: dict[str, object] = {
        "id": "s-giao-ban",
        "title": "Hội nghị giao ban trực tuyến UBND tỉnh với huyện Đại Từ",
        "organizer": "ubnd-tinh",
        "chair": "ubnd-tinh",
        "endpoints": endpoints,
        "selectors": endpoints,
        "start": local("2026-12-07T08:00"),
        "end": local("2026-12-07T10:00"),
        "allocation": PortAllocation({"mcu-tinh-1": endpoints}),
        "created_at": datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 2, 2, 0, tzinfo=UTC),
    }
    values.update(changes)
    return Session(**values)  # type: ignore[arg-type]


def parse(document: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(document)


def events(document: bytes) -> list[icalendar.Event]:
    return list(parse(document).walk("VEVENT"))


def assert_wire_format(document: bytes) -> None:
    """RFC 5545 §3.1: CRLF line ends, lines of at most 75 octets, UTF-8 never split."""
    assert document.endswith(b"\r\n")
    assert b"\n" not in document.replace(b"\r\n", b"")
    for line in document.split(b"\r\n"):
        assert len(line) <= 75, line
        line.decode("utf-8")  # folding never cuts a character in two


def test_invite_is_an_itip_request_with_organizer_attendees_and_timezone(
    sample_fleet: Fleet,
) -> None:
    document = ics.invite(CalendarEntry(make_session(sample_fleet)), sample_fleet, STAMP)
    assert_wire_format(document)
    calendar = parse(document)
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["PRODID"].startswith("-//confsched//")
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]
    (event,) = calendar.walk("VEVENT")
    assert event["UID"] == "s-giao-ban@confsched"
    assert event["DTSTAMP"].dt == STAMP
    assert event["DTSTART"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert event["DTSTART"].dt == datetime(2026, 12, 7, 8, 0, tzinfo=HCM)
    assert event["SEQUENCE"] == 0 and event["STATUS"] == "CONFIRMED"
    assert event["ORGANIZER"].params["CN"] == "Ủy ban nhân dân tỉnh Thái Nguyên"
    assert str(event["ORGANIZER"]) == "mailto:ubnd-tinh@thainguyen.gov.vn"
    (agency,) = attendees_of(event)
    assert str(agency) == "mailto:ubnd-h-dai-tu@thainguyen.gov.vn"
    assert str(agency.params["CN"]) == "UBND huyện Đại Từ"
    assert (agency.params["CUTYPE"], agency.params["PARTSTAT"], agency.params["RSVP"]) == (
        "GROUP",
        "NEEDS-ACTION",
        "TRUE",
    )


def attendees_of(event: icalendar.Event) -> list[icalendar.vCalAddress]:
    found = event.get("ATTENDEE", [])
    return found if isinstance(found, list) else [found]


def test_no_invented_mailboxes_agencies_without_address_are_named_instead(
    sample_fleet: Fleet,
) -> None:
    """Rooms and the two communes' agencies have no address: none becomes an ATTENDEE."""
    document = ics.invite(CalendarEntry(make_session(sample_fleet)), sample_fleet, STAMP)
    assert b"invalid" not in document
    (event,) = events(document)
    assert [str(a) for a in attendees_of(event)] == ["mailto:ubnd-h-dai-tu@thainguyen.gov.vn"]
    description = str(event["DESCRIPTION"])
    assert "Đơn vị chưa có thư điện tử (cần báo trực tiếp): " in description
    assert "UBND thị trấn Hùng Sơn" in description.rsplit("\n", 1)[-1]


def test_invite_without_organizer_address_uses_the_sender(sample_fleet: Fleet) -> None:
    session = make_session(sample_fleet, organizer="ubnd-dt-hung-son")
    document = ics.invite(CalendarEntry(session), sample_fleet, STAMP, organizer="lich@tn.vn")
    (event,) = events(document)
    assert str(event["ORGANIZER"]) == "mailto:lich@tn.vn"


def test_vietnamese_names_survive_byte_exact(sample_fleet: Fleet) -> None:
    session = make_session(sample_fleet)
    document = ics.invite(CalendarEntry(session), sample_fleet, STAMP)
    unfolded = document.replace(b"\r\n ", b"")
    assert "SUMMARY:Hội nghị giao ban trực tuyến UBND tỉnh với huyện Đại Từ".encode() in unfolded
    assert "Phòng họp UBND xã Phúc Lương".encode() in unfolded
    (event,) = events(document)
    assert str(event["SUMMARY"]).encode() == session.title.encode()


def test_location_and_description_list_rooms_by_district_with_dial_in_and_setup(
    sample_fleet: Fleet,
) -> None:
    (event,) = events(ics.invite(CalendarEntry(make_session(sample_fleet)), sample_fleet, STAMP))
    assert str(event["LOCATION"]) == (
        "Điểm cầu chủ trì: Phòng họp UBND tỉnh; 4 điểm cầu (Cấp tỉnh 1, Huyện Đại Từ 3)"
    )
    description = str(event["DESCRIPTION"])
    assert "Kiểm tra kết nối: từ 07:45 (15 phút trước giờ họp)" in description
    assert "sip:hop@mcu1.vc.thainguyen.gov.vn" in description
    assert (
        "Huyện Đại Từ (3): Phòng họp UBND huyện Đại Từ, Phòng họp UBND thị trấn Hùng Sơn, "
        "Phòng họp UBND xã Phúc Lương"
    ) in description
    (alarm,) = event.walk("VALARM")
    assert alarm["TRIGGER"].dt == -timedelta(minutes=15)
    assert alarm["ACTION"] == "DISPLAY"


def test_update_keeps_uid_and_carries_higher_sequence(sample_fleet: Fleet) -> None:
    first = make_session(sample_fleet)
    moved = make_session(
        sample_fleet, start=local("2026-12-08T14:00"), end=local("2026-12-08T15:30"), sequence=1
    )
    (before,) = events(ics.invite(CalendarEntry(first), sample_fleet, STAMP))
    (after,) = events(ics.invite(CalendarEntry(moved), sample_fleet, STAMP))
    assert before["UID"] == after["UID"]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["DTSTART"].dt == datetime(2026, 12, 8, 14, 0, tzinfo=HCM)


def test_cancelled_session_gives_itip_cancel(sample_fleet: Fleet) -> None:
    session = make_session(sample_fleet, status=SessionStatus.CANCELLED, sequence=2)
    document = ics.invite(CalendarEntry(session), sample_fleet, STAMP)
    calendar = parse(document)
    assert calendar["METHOD"] == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert (event["STATUS"], event["SEQUENCE"]) == ("CANCELLED", 2)
    assert event["UID"] == "s-giao-ban@confsched"
    assert event["ORGANIZER"] and attendees_of(event)
    assert not event.walk("VALARM")


def weekly(sample_fleet: Fleet) -> tuple[Session, tuple[Occurrence, ...]]:
    """Mondays 08:00 through January; Dec 14 excluded at booking, Dec 21 moved, Dec 28 dropped."""
    session = make_session(
        sample_fleet,
        rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20270131",
        exdates=(local("2026-12-14T08:00"),),
        sequence=1,
    )
    sittings = []
    for week in range(9):
        original = session.start + timedelta(weeks=week)
        sittings.append(Occurrence(session.id, original, original, original + timedelta(hours=2)))
    sittings[2] = Occurrence(
        session.id,
        local("2026-12-21T08:00"),
        local("2026-12-22T14:00"),
        local("2026-12-22T15:00"),
        sequence=2,
    )
    sittings[3] = Occurrence(
        session.id, sittings[3].recurrence_id, sittings[3].start, sittings[3].end, cancelled=True
    )
    return session, exceptions_of(session, sittings)


def test_recurring_series_expands_with_exdate_and_moved_override(sample_fleet: Fleet) -> None:
    session, odd = weekly(sample_fleet)
    assert [o.recurrence_id for o in odd] == [local("2026-12-21T08:00"), local("2026-12-28T08:00")]
    document = ics.invite(CalendarEntry(session, odd), sample_fleet, STAMP)
    assert_wire_format(document)
    series, override = events(document)
    assert "UNTIL=20270131T165959Z" in series["RRULE"].to_ical().decode()
    assert override["RECURRENCE-ID"].dt == datetime(2026, 12, 21, 8, 0, tzinfo=HCM)
    assert series["SEQUENCE"] == override["SEQUENCE"] == 2
    found = recurring_ical_events.of(parse(document)).between(
        datetime(2026, 12, 1, tzinfo=HCM), datetime(2027, 2, 1, tzinfo=HCM)
    )
    starts = [e["DTSTART"].dt.strftime("%m-%d %H:%M") for e in found]
    assert starts == [
        "12-07 08:00",
        "12-22 14:00",  # moved from Monday 21
        "01-04 08:00",
        "01-11 08:00",
        "01-18 08:00",
        "01-25 08:00",
    ]


def test_feed_blocks_are_byte_stable(sample_fleet: Fleet) -> None:
    session, odd = weekly(sample_fleet)
    entry = CalendarEntry(session, odd)
    once = ics.event_blocks(entry, sample_fleet, session.updated_at or STAMP)
    again = ics.event_blocks(entry, sample_fleet, session.updated_at or STAMP)
    assert once == again
    assert b"METHOD" not in once and once.startswith(b"BEGIN:VEVENT\r\n")


@settings(max_examples=60, deadline=None)
@given(title=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=300))
def test_any_title_folds_and_parses_back_exactly(sample_fleet: Fleet, title: str) -> None:
    session = make_session(sample_fleet, title=title)
    document = ics.invite(CalendarEntry(session), sample_fleet, STAMP)
    assert_wire_format(document)
    (event,) = events(document)
    assert str(event.get("SUMMARY", "")) == title


def test_moved_sitting_on_other_bridges_gives_their_dial_in(sample_fleet: Fleet) -> None:
    session, odd = weekly(sample_fleet)
    moved = replace(odd[0], allocation=PortAllocation({"mcu-tinh-2": session.endpoints}))
    series, override = events(ics.invite(CalendarEntry(session, (moved,)), sample_fleet, STAMP))
    assert "mcu1.vc.thainguyen.gov.vn" in str(series["DESCRIPTION"])
    assert "sip:hop@mcu2.vc.thainguyen.gov.vn" in str(override["DESCRIPTION"])
    assert "mcu1" not in str(override["DESCRIPTION"])
