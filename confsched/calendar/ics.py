"""iCalendar bytes, built with icalendar: event blocks, invites (iTIP) and feed documents.

A session renders to one block of VEVENTs: the series (RRULE, EXDATE for dropped sittings) and
one RECURRENCE-ID override per moved sitting. A document is a header, the VTIMEZONE, blocks and
a footer, so a feed can be assembled by joining blocks serialized earlier (see ``cache``).

Speed: icalendar spends ~0.1 ms per ATTENDEE line, and a province-wide session has hundreds.
Those lines are the same in every session a room or agency joins, so each is serialized by
icalendar once (``_attendee_line``) and spliced into the event; every byte still comes out of
icalendar's serializer (CRLF, 75-octet folding that never splits a UTF-8 character).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Conference, Event, vCalAddress, vDuration, vRecur

from confsched import __version__
from confsched.calendar import text
from confsched.calendar.entries import CalendarEntry
from confsched.domain.model import Fleet, Session
from confsched.errors import InvalidInput

PRODID = f"-//confsched//confsched {__version__}//VI"
ADDRESS_DOMAIN = "confsched.invalid"
"""Rooms and agencies without an e-mail address get one here (never delivered to)."""
REFRESH = timedelta(minutes=15)
FOOTER = b"END:VCALENDAR\r\n"
_END_EVENT = b"END:VEVENT\r\n"


class Method(StrEnum):
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"
    PUBLISH = "PUBLISH"


def uid_of(session_id: str) -> str:
    """Stable for the session's whole life: clients match updates and cancellations by it."""
    return f"{session_id}@confsched"


# --- documents --------------------------------------------------------------------------------


def invite(
    entry: CalendarEntry, fleet: Fleet, stamp: datetime, method: Method | None = None
) -> bytes:
    """An iTIP message: REQUEST (new or updated), or CANCEL when the session is cancelled."""
    chosen = method or (Method.CANCEL if entry.cancelled else Method.REQUEST)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", chosen.value)
    tz = ZoneInfo(fleet.timezone)
    events = event_blocks(entry, fleet, stamp, chosen)
    return _without_footer(calendar.to_ical()) + vtimezone(tz.key) + events + FOOTER


def feed_header(name: str, about: str, uid: str, tzid: str) -> bytes:
    """Everything before the events of a published feed, VTIMEZONE included."""
    calendar = Calendar.new(
        prodid=PRODID,
        uid=uid,
        name=name,
        description=about,
        refresh_interval=REFRESH,
        method=Method.PUBLISH.value,
        calscale="GREGORIAN",
    )
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"  # RFC 7986; icalendar omits it
    calendar.add("x-published-ttl", vDuration(REFRESH))  # legacy clients (Outlook)
    calendar.add("x-wr-timezone", tzid)
    return _without_footer(calendar.to_ical()) + vtimezone(tzid)


@lru_cache(maxsize=8)
def vtimezone(tzid: str) -> bytes:
    """The VTIMEZONE block for ``tzid`` (rendered once): every TZID reference needs one."""
    tz = ZoneInfo(tzid)
    calendar = Calendar()
    calendar.add_component(
        Event.new(
            uid="tz", stamp=datetime(2020, 1, 1, tzinfo=UTC), start=datetime(2020, 1, 1, tzinfo=tz)
        )
    )
    calendar.add_missing_timezones(first_date=date(2020, 1, 1))
    block = b"".join(c.to_ical() for c in calendar.walk("VTIMEZONE"))
    if not block:
        raise InvalidInput(f"timezone {tzid!r} has no VTIMEZONE")
    return block


def _without_footer(document: bytes) -> bytes:
    assert document.endswith(FOOTER)
    return document[: -len(FOOTER)]


# --- one session ------------------------------------------------------------------------------


def event_blocks(
    entry: CalendarEntry, fleet: Fleet, stamp: datetime, method: Method = Method.PUBLISH
) -> bytes:
    """The series' VEVENT and its overrides, as CRLF-folded bytes ready to join into a document.

    ``stamp`` is DTSTAMP: the send time for an invite, the session's last change for a feed
    (so the same session always renders to the same bytes).
    """
    tz = ZoneInfo(fleet.timezone)
    session = entry.session
    attendees = _attendees(entry, fleet)
    alarm = b"" if method is Method.CANCEL else _alarm(session.setup)
    status = "CANCELLED" if entry.cancelled or method is Method.CANCEL else "CONFIRMED"
    series = _event(entry, fleet, tz, stamp, session.start, session.end, status)
    _add_recurrence(series, entry, tz)
    blocks = [_finish(series, attendees, alarm)]
    if method is not Method.CANCEL:
        for sitting in entry.moved:
            own = replace(session, allocation=sitting.allocation or session.allocation)
            override = _event(
                replace(entry, session=own),
                fleet,
                tz,
                stamp,
                sitting.start,
                sitting.end,
                status,
                recurrence_id=sitting.recurrence_id,
            )
            blocks.append(_finish(override, attendees, alarm))
    return b"".join(blocks)


def _event(
    entry: CalendarEntry,
    fleet: Fleet,
    tz: ZoneInfo,
    stamp: datetime,
    start: datetime,
    end: datetime,
    status: str,
    recurrence_id: datetime | None = None,
) -> Event:
    session = entry.session
    event = Event.new(
        uid=uid_of(session.id),
        sequence=entry.sequence,
        stamp=stamp.astimezone(UTC),
        start=start.astimezone(tz),
        end=end.astimezone(tz),
        recurrence_id=recurrence_id.astimezone(tz) if recurrence_id else None,
        summary=session.title,
        location=text.location(fleet, session),
        description=text.description(fleet, session, start, tz),
        organizer=_organizer(fleet, session.organizer),
        status=status,  # type: ignore[arg-type]
        transparency="OPAQUE",  # type: ignore[arg-type]
        created=session.created_at.astimezone(UTC) if session.created_at else None,
        last_modified=session.updated_at.astimezone(UTC) if session.updated_at else None,
        conferences=_conferences(fleet, session) or None,
    )
    return event


def _finish(event: Event, attendees: bytes, alarm: bytes) -> bytes:
    """Serialize ``event`` and splice in the pre-serialized ATTENDEE lines and VALARM."""
    raw = event.to_ical()
    assert raw.endswith(_END_EVENT)
    return raw[: -len(_END_EVENT)] + attendees + alarm + _END_EVENT


def _add_recurrence(event: Event, entry: CalendarEntry, tz: ZoneInfo) -> None:
    session = entry.session
    if not session.rrule:
        return
    event.add("rrule", parse_rrule(session.rrule, tz))
    dropped = {*session.exdates, *(o.recurrence_id for o in entry.cancelled_sittings)}
    if dropped:
        event.add("exdate", [moment.astimezone(tz) for moment in sorted(dropped)])


def parse_rrule(rule: str, tz: ZoneInfo) -> vRecur:
    """The stored RRULE, with UNTIL in UTC (a local UNTIL next to a TZID DTSTART is invalid)."""
    try:
        recur = vRecur.from_ical(rule.strip().removeprefix("RRULE:"))
    except ValueError as exc:
        raise InvalidInput(f"bad RRULE {rule!r}: {exc}") from None
    until = recur.get("UNTIL")
    if until:
        value = until[0]
        if not isinstance(value, datetime):  # a date: through the end of that local day
            value = datetime.combine(value, time(23, 59, 59), tz)
        elif value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        recur["UNTIL"] = [value.astimezone(UTC)]
    return recur


# --- people and places ------------------------------------------------------------------------


def agency_address(fleet: Fleet, agency_id: str) -> str:
    agency = fleet.agencies.get(agency_id)
    return agency.email if agency and agency.email else f"{agency_id}@agencies.{ADDRESS_DOMAIN}"


def room_address(endpoint_id: str) -> str:
    return f"{endpoint_id}@rooms.{ADDRESS_DOMAIN}"


def _organizer(fleet: Fleet, agency_id: str) -> vCalAddress:
    return vCalAddress.new(agency_address(fleet, agency_id), cn=text.agency_name(fleet, agency_id))


def _attendees(entry: CalendarEntry, fleet: Fleet) -> bytes:
    """Every agency owning a room in the session (but the organizer), then every room.

    Rooms were reserved by the booking engine, so they have accepted; the chair room has the
    CHAIR role. Agencies are asked to confirm (NEEDS-ACTION, RSVP).
    """
    session = entry.session
    position = text.positions(fleet)
    rooms = sorted(session.endpoints, key=lambda e: position.get(e, len(position)))
    agencies: dict[str, None] = {}
    for endpoint_id in rooms:
        endpoint = fleet.endpoints.get(endpoint_id)
        if endpoint is not None and endpoint.agency != session.organizer:
            agencies[endpoint.agency] = None
    lines = [
        _attendee_line(
            agency_address(fleet, a),
            text.agency_name(fleet, a),
            "GROUP",
            "REQ-PARTICIPANT",
            "NEEDS-ACTION",
            True,
        )
        for a in agencies
    ]
    for endpoint_id in rooms:
        role = "CHAIR" if endpoint_id == session.chair else "REQ-PARTICIPANT"
        name = text.room_name(fleet, endpoint_id) or endpoint_id
        lines.append(
            _attendee_line(room_address(endpoint_id), name, "ROOM", role, "ACCEPTED", False)
        )
    return b"".join(lines)


@lru_cache(maxsize=1 << 16)
def _attendee_line(
    address: str, name: str, cutype: str, role: str, partstat: str, rsvp: bool
) -> bytes:
    """One ATTENDEE content line, folded, serialized by icalendar once per distinct value."""
    holder = Event()
    holder.add(
        "attendee",
        vCalAddress.new(address, cn=name, cutype=cutype, role=role, partstat=partstat, rsvp=rsvp),
    )
    return _inner_lines(holder.to_ical())


@lru_cache(maxsize=64)
def _alarm(setup: timedelta) -> bytes:
    """A display alarm at the setup time: rooms test their connection before the session."""
    if setup <= timedelta(0):
        return b""
    alarm = Alarm.new(description=text.alarm_text(setup))
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", -setup)
    return alarm.to_ical()


def _conferences(fleet: Fleet, session: Session) -> list[Conference]:
    """RFC 7986 CONFERENCE per bridge carrying the session (clients that know it offer a link)."""
    bridge_ids = [b for b, rooms in session.allocation.by_bridge.items() if rooms]
    found = []
    for bridge_id in bridge_ids:
        bridge = fleet.bridges.get(bridge_id)
        if bridge is not None and bridge.dial_in:
            found.append(Conference(bridge.dial_in, feature="VIDEO", label=bridge.name))
    return found


def _inner_lines(component: bytes) -> bytes:
    """The content lines of a serialized component, without its BEGIN and END lines."""
    first = component.index(b"\r\n") + 2
    last = component.rindex(b"END:", 0, len(component) - 2)
    return component[first:last]
