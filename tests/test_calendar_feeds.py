"""Feed documents from cached parts: membership, reuse after a change, ETag and Last-Modified."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import icalendar
import recurring_ical_events

from confsched.calendar.cache import BodyCache, FeedBody
from confsched.calendar.feeds import FeedBuilder
from confsched.domain.calendar import (
    CalendarEntry,
    FeedKey,
    FeedKind,
    SessionChanges,
    feeds_of,
)
from confsched.domain.model import Fleet, PortAllocation, SessionStatus
from tests.test_calendar_ics import HCM, assert_wire_format, local, make_session, weekly

NOW = datetime(2026, 11, 25, tzinfo=UTC)
TINH = FeedKey(FeedKind.AGENCY, "ubnd-tinh")
DAI_TU_AGENCY = FeedKey(FeedKind.AGENCY, "ubnd-h-dai-tu")
HUNG_SON_ROOM = FeedKey(FeedKind.ROOM, "dt-hung-son")
IOC = FeedKey(FeedKind.AGENCY, "ioc")


def year_of_sessions(fleet: Fleet, count: int = 40) -> list[CalendarEntry]:
    entries = []
    for i in range(count):
        start = local("2027-01-04T08:00") + timedelta(days=i)
        session = make_session(
            fleet,
            id=f"s{i:03d}",
            title=f"Giao ban số {i}",
            start=start,
            end=start + timedelta(hours=1),
        )
        entries.append(CalendarEntry(session))
    return entries


def test_agency_feed_holds_sessions_it_organizes_or_joins(sample_fleet: Fleet) -> None:
    builder = FeedBuilder(sample_fleet)
    joined = make_session(sample_fleet, id="a", organizer="ioc", endpoints=("dt-hung-son",))
    other = make_session(sample_fleet, id="b", organizer="ioc", endpoints=("ioc",), chair="ioc")
    builder.update([CalendarEntry(joined), CalendarEntry(other)], NOW)

    def uids(key: FeedKey) -> list[str]:
        body = builder.body(key, NOW)
        assert body is not None
        return [str(e["UID"]) for e in icalendar.Calendar.from_ical(body.body).walk("VEVENT")]

    assert uids(IOC) == ["a@confsched", "b@confsched"]  # organizer of both
    assert uids(FeedKey(FeedKind.AGENCY, "ubnd-dt-hung-son")) == ["a@confsched"]  # owns a room
    assert uids(HUNG_SON_ROOM) == ["a@confsched"]
    assert uids(TINH) == []
    assert builder.body(FeedKey(FeedKind.AGENCY, "atlantis"), NOW) is None


def test_feed_document_is_a_publish_calendar_that_expands(sample_fleet: Fleet) -> None:
    builder = FeedBuilder(sample_fleet)
    session, odd = weekly(sample_fleet)
    builder.update([CalendarEntry(session, odd), *year_of_sessions(sample_fleet, 3)], NOW)
    feed = builder.body(DAI_TU_AGENCY, NOW)
    assert feed is not None
    assert_wire_format(feed.body)
    calendar = icalendar.Calendar.from_ical(feed.body)
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["X-WR-CALNAME"] == "Lịch họp trực tuyến — UBND huyện Đại Từ"
    assert calendar["NAME"] == calendar["X-WR-CALNAME"]
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n" in feed.body
    assert b"X-PUBLISHED-TTL:PT15M\r\n" in feed.body
    assert len(calendar.walk("VTIMEZONE")) == 1
    sittings = recurring_ical_events.of(calendar).between(
        datetime(2026, 12, 1, tzinfo=HCM), datetime(2027, 1, 8, tzinfo=HCM)
    )
    starts = sorted(e["DTSTART"].dt.strftime("%m-%d %H:%M") for e in sittings)
    assert starts == [
        "01-04 08:00",  # the series (Monday)
        "01-04 08:00",  # the first of the daily sessions
        "01-05 08:00",
        "01-06 08:00",
        "12-07 08:00",
        "12-22 14:00",  # the moved sitting
    ]
    assert feed.events == 4


def test_one_change_rerenders_one_session_and_touches_only_its_feeds(sample_fleet: Fleet) -> None:
    builder = FeedBuilder(sample_fleet)
    entries = year_of_sessions(sample_fleet)
    builder.update(entries, NOW)
    before = builder.body(TINH, NOW)
    ioc_feed = builder.body(IOC, NOW)
    assert before is not None and ioc_feed is not None
    renders = builder.renders
    assert builder.body(TINH, NOW) is before  # served from cache, same bytes and ETag

    changed = replace(
        entries[7].session,
        title="Giao ban (đổi giờ)",
        sequence=1,
        updated_at=NOW - timedelta(hours=1),
    )
    affected = builder.update([*entries[:7], CalendarEntry(changed), *entries[8:]], NOW)
    assert str(TINH) in affected and str(IOC) not in affected
    assert builder.cached(IOC) is ioc_feed
    after = builder.body(TINH, NOW)
    assert after is not None and after.etag != before.etag
    assert builder.renders == renders + 1
    assert after.last_modified == NOW - timedelta(hours=1)
    assert "Giao ban (đổi giờ)".encode() in after.body


def test_cancelled_session_stays_in_feed_marked_cancelled(sample_fleet: Fleet) -> None:
    builder = FeedBuilder(sample_fleet)
    session = make_session(sample_fleet, status=SessionStatus.CANCELLED, sequence=1)
    builder.update([CalendarEntry(session)], NOW)
    feed = builder.body(TINH, NOW)
    assert feed is not None
    (event,) = icalendar.Calendar.from_ical(feed.body).walk("VEVENT")
    assert (event["STATUS"], event["SEQUENCE"]) == ("CANCELLED", 1)


def test_same_sessions_give_same_bytes_and_etag_in_a_new_process(sample_fleet: Fleet) -> None:
    entries = year_of_sessions(sample_fleet, 5)
    first, second = FeedBuilder(sample_fleet), FeedBuilder(sample_fleet)
    first.update(entries, NOW)
    second.update(reversed(entries), NOW)
    a, b = first.body(TINH, NOW), second.body(TINH, NOW + timedelta(days=1))
    assert a is not None and b is not None
    assert (a.body, a.etag, a.last_modified) == (b.body, b.etag, b.last_modified)


def test_last_modified_moves_forward_when_a_session_leaves_the_feed(sample_fleet: Fleet) -> None:
    builder = FeedBuilder(sample_fleet)
    entries = year_of_sessions(sample_fleet, 3)
    builder.update(entries, NOW)
    before = builder.body(HUNG_SON_ROOM, NOW)
    others = tuple(e for e in entries[2].session.endpoints if e != "dt-hung-son")
    without_room = replace(entries[2].session, endpoints=others)  # updated_at left as it was
    builder.update([*entries[:2], CalendarEntry(without_room)], NOW)
    after = builder.body(HUNG_SON_ROOM, NOW)
    assert before is not None and after is not None
    assert after.events == 2 and after.etag != before.etag
    assert after.last_modified > before.last_modified


def test_body_cache_drops_least_recently_served_beyond_capacity() -> None:
    cache = BodyCache(capacity=2)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    keys = [FeedKey(FeedKind.ROOM, f"r{i}") for i in range(3)]
    cache.put(keys[0], FeedBody((b"x",), '"e"', stamp, 1, 1))
    cache.put(keys[1], FeedBody((b"x",), '"e"', stamp, 1, 1))
    assert cache.get(keys[0]) is not None  # served: now the most recent
    cache.put(keys[2], FeedBody((b"x",), '"e"', stamp, 1, 1))
    assert cache.get(keys[1]) is None and cache.get(keys[0]) is not None
    assert len(cache) == 2


def test_feed_parts_share_the_cached_event_bytes(sample_fleet: Fleet) -> None:
    """Rooms dialling the same bridge read the same words: their feeds share every block."""
    builder = FeedBuilder(sample_fleet)
    builder.update(year_of_sessions(sample_fleet, 3), NOW)
    room = builder.body(HUNG_SON_ROOM, NOW)
    other = builder.body(FeedKey(FeedKind.ROOM, "dt-phuc-luong"), NOW)
    agency = builder.body(TINH, NOW)
    assert room is not None and other is not None and agency is not None
    assert all(a is b for a, b in zip(room.parts[1:-1], other.parts[1:-1], strict=True))
    assert agency.parts[1] is not room.parts[1]
    assert agency.length == len(agency.body)


def cascaded(fleet: Fleet) -> CalendarEntry:
    """Four rooms over two bridges: Đại Từ's on the first, Phúc Lương's moved to the second."""
    session = make_session(
        fleet,
        allocation=PortAllocation(
            {
                "mcu-tinh-1": ("ubnd-tinh", "h-dai-tu", "dt-hung-son"),
                "mcu-tinh-2": ("dt-phuc-luong",),
            },
            links=(("mcu-tinh-1", "mcu-tinh-2"),),
            moved={"dt-phuc-luong": "mcu-tinh-1"},
        ),
    )
    return CalendarEntry(session)


def test_room_feed_names_only_the_bridge_the_room_dials(sample_fleet: Fleet) -> None:
    builder = FeedBuilder(sample_fleet)
    builder.update([cascaded(sample_fleet)], NOW)

    def event_of(key: FeedKey) -> icalendar.Event:
        feed = builder.body(key, NOW)
        assert feed is not None
        (event,) = icalendar.Calendar.from_ical(feed.body).walk("VEVENT")
        return event

    moved = event_of(FeedKey(FeedKind.ROOM, "dt-phuc-luong"))
    text = str(moved["DESCRIPTION"])
    assert "sip:hop@mcu2.vc.thainguyen.gov.vn" in text and "mcu1" not in text
    assert str(moved["CONFERENCE"]) == "sip:hop@mcu2.vc.thainguyen.gov.vn"
    home = event_of(HUNG_SON_ROOM)
    assert "mcu1.vc" in str(home["DESCRIPTION"]) and "mcu2" not in str(home["DESCRIPTION"])
    agency = str(event_of(TINH)["DESCRIPTION"])
    assert "mcu1.vc" in agency and "mcu2.vc" in agency  # the organizer sees every bridge
    assert "Phòng họp UBND xã Phúc Lương" not in agency  # rooms counted per area, not listed
    assert "Các điểm cầu (4): Cấp tỉnh 1, Huyện Đại Từ 3" in agency


def test_sessions_over_before_the_history_window_leave_the_feeds(sample_fleet: Fleet) -> None:
    old = make_session(
        sample_fleet,
        id="old",
        start=NOW - timedelta(days=40),
        end=NOW - timedelta(days=40) + timedelta(hours=1),
    )
    recent = make_session(
        sample_fleet,
        id="recent",
        start=NOW - timedelta(days=29),
        end=NOW - timedelta(days=29) + timedelta(hours=1),
    )
    endless = make_session(
        sample_fleet,
        id="weekly",
        start=NOW - timedelta(days=400),
        end=NOW - timedelta(days=400) + timedelta(hours=1),
        rrule="FREQ=WEEKLY",
    )
    builder = FeedBuilder(sample_fleet)
    builder.update([CalendarEntry(s) for s in (old, recent, endless)], NOW)
    assert builder.renders == 2  # the old one is never serialized
    uids = {str(e["UID"]) for e in parse_feed(builder, TINH, NOW)}
    assert uids == {"recent@confsched", "weekly@confsched"}
    later = NOW + timedelta(days=2)
    assert builder.catalog.next_expiry is not None and builder.catalog.next_expiry < later
    assert builder.expire(later) == {str(k) for k in feeds_of(recent, sample_fleet)}
    assert {str(e["UID"]) for e in parse_feed(builder, TINH, later)} == {"weekly@confsched"}
    assert len(builder.catalog) == 1

    forever = FeedBuilder(sample_fleet, history=None)
    forever.update([CalendarEntry(s) for s in (old, recent, endless)], NOW)
    assert len(parse_feed(forever, TINH, NOW)) == 3


def parse_feed(builder: FeedBuilder, key: FeedKey, now: datetime) -> list[icalendar.Event]:
    feed = builder.body(key, now)
    assert feed is not None
    return list(icalendar.Calendar.from_ical(feed.body).walk("VEVENT"))


def test_blocks_kept_from_an_earlier_run_are_reused_until_fleet_changes(
    sample_fleet: Fleet,
) -> None:
    entries = year_of_sessions(sample_fleet, 4)
    first = FeedBuilder(sample_fleet)
    first.update(entries, NOW)
    kept = {sid: data for sid, data in first.take_rendered()}
    assert first.renders == 4 and len(kept) == 4

    second = FeedBuilder(sample_fleet)
    keys = {e.session.id: second.block_key(e.version()) for e in entries}
    assert keys == {e.session.id: first.block_key(e.version()) for e in entries}
    second.apply(SessionChanges({}, entries, set()), NOW, kept)
    assert second.renders == 0 and second.take_rendered() == []
    a, b = first.body(TINH, NOW), second.body(TINH, NOW)
    assert a is not None and b is not None and (a.body, a.etag) == (b.body, b.etag)

    renamed = replace(
        sample_fleet,
        endpoints={
            **sample_fleet.endpoints,
            "ubnd-tinh": replace(sample_fleet.endpoints["ubnd-tinh"], name="Phòng họp số 1"),
        },
    )
    assert FeedBuilder(renamed).block_key(entries[0].version()) != keys[entries[0].session.id]


def test_catalog_indexes_each_session_under_exactly_the_feeds_that_show_it(
    sample_fleet: Fleet,
) -> None:
    known = make_session(sample_fleet, organizer="ioc", endpoints=("dt-hung-son",))
    session = replace(known, endpoints=("dt-hung-son", "gone-room"))  # since removed from the fleet
    builder = FeedBuilder(sample_fleet)
    affected = builder.update([CalendarEntry(session)], NOW)
    assert affected == {str(k) for k in feeds_of(session, sample_fleet)} | {"room:gone-room"}
    assert affected == {
        "agency:ioc",
        "room:dt-hung-son",
        "agency:ubnd-dt-hung-son",
        "room:gone-room",
    }
