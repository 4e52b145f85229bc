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

from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Conference, Event, vCalAddress, vDuration, vRecur, vText

from confsched import __version__
from confsched.calendar import text
from confsched.domain.calendar import CalendarEntry
from confsched.domain.invites import recipients
from confsched.domain.model import Fleet, Occurrence, Session
from confsched.errors import InvalidInput

PRODID = f"-//confsched//confsched {__version__}//VI"
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
    entry: CalendarEntry,
    fleet: Fleet,
    stamp: datetime,
    method: Method | None = None,
    *,
    sitting: Occurrence | None = None,
    organizer: str | None = None,
    rooms: Collection[str] | None = None,
) -> bytes:
    """An iTIP message: REQUEST (new or updated), or CANCEL when the session is cancelled.

    ``sitting``: only that sitting of a series, named by its RECURRENCE-ID (CANCEL when it is
    cancelled). ``organizer``: the address used when the organizing agency has none (the
    mailer's sender), since iTIP needs a reachable ORGANIZER. ``rooms``: the reader's rooms
    (a room's or an agency's invite), told only the bridges they dial; None: every bridge.
    """
    off = entry.cancelled or (sitting is not None and sitting.cancelled)
    chosen = method or (Method.CANCEL if off else Method.REQUEST)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", chosen.value)
    tz = ZoneInfo(fleet.timezone)
    if sitting is None:
        events = event_blocks(entry, fleet, stamp, chosen, organizer, rooms)
    else:
        events = sitting_block(entry, fleet, stamp, chosen, sitting, organizer, rooms)
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
    entry: CalendarEntry,
    fleet: Fleet,
    stamp: datetime,
    method: Method = Method.PUBLISH,
    organizer: str | None = None,
    rooms: Collection[str] | None = None,
) -> bytes:
    """The series' VEVENT and its overrides, as CRLF-folded bytes ready to join into a document.

    ``stamp`` is DTSTAMP: the send time for an invite, the session's last change for a feed
    (so the same session always renders to the same bytes). A published feed carries no
    ATTENDEE lines (subscribers cannot answer) and counts the rooms per area in the
    description. ``rooms``: see :func:`invite` (a room's feed passes its own room).
    """
    tz = ZoneInfo(fleet.timezone)
    session = entry.session
    attendees = b"" if method is Method.PUBLISH else _attendees(entry, fleet)
    alarm = b"" if method is Method.CANCEL else _alarm(session.setup)
    status = "CANCELLED" if entry.cancelled or method is Method.CANCEL else "CONFIRMED"
    invited = method is not Method.PUBLISH
    series = _event(
        entry, fleet, tz, stamp, session.start, session.end, status, organizer, None, invited, rooms
    )
    _add_recurrence(series, entry, tz)
    blocks = [_finish(series, attendees, alarm)]
    if method is not Method.CANCEL:
        for sitting in entry.moved:
            blocks.append(
                _override(
                    entry, fleet, tz, stamp, sitting, status, organizer, attendees, invited, rooms
                )
            )
    return b"".join(blocks)


def sitting_block(
    entry: CalendarEntry,
    fleet: Fleet,
    stamp: datetime,
    method: Method,
    sitting: Occurrence,
    organizer: str | None = None,
    rooms: Collection[str] | None = None,
) -> bytes:
    """One sitting of a series on its own (RECURRENCE-ID): its move, or its cancellation."""
    tz = ZoneInfo(fleet.timezone)
    attendees = _attendees(entry, fleet)
    status = "CANCELLED" if method is Method.CANCEL else "CONFIRMED"
    return _override(entry, fleet, tz, stamp, sitting, status, organizer, attendees, True, rooms)


def _override(
    entry: CalendarEntry,
    fleet: Fleet,
    tz: ZoneInfo,
    stamp: datetime,
    sitting: Occurrence,
    status: str,
    organizer: str | None,
    attendees: bytes,
    invited: bool,
    rooms: Collection[str] | None = None,
) -> bytes:
    own = replace(entry.session, allocation=sitting.allocation or entry.session.allocation)
    override = _event(
        replace(entry, session=own),
        fleet,
        tz,
        stamp,
        sitting.start,
        sitting.end,
        status,
        organizer,
        recurrence_id=sitting.recurrence_id,
        invited=invited,
        rooms=rooms,
    )
    alarm = b"" if status == "CANCELLED" else _alarm(entry.session.setup)
    return _finish(override, attendees, alarm)


def _event(
    entry: CalendarEntry,
    fleet: Fleet,
    tz: ZoneInfo,
    stamp: datetime,
    start: datetime,
    end: datetime,
    status: str,
    organizer: str | None = None,
    recurrence_id: datetime | None = None,
    invited: bool = False,
    rooms: Collection[str] | None = None,
) -> Event:
    session = entry.session
    kept = invited  # a feed leaves out what is the same as another field, or the default
    event = Event.new(
        uid=uid_of(session.id),
        sequence=entry.sequence,
        stamp=stamp.astimezone(UTC),
        start=start.astimezone(tz),
        end=end.astimezone(tz),
        recurrence_id=recurrence_id.astimezone(tz) if recurrence_id else None,
        summary=text.printable(session.title),
        location=text.location(fleet, session, counts=invited),
        description=text.description(fleet, session, start, tz, invited, rooms),
        organizer=_organizer(fleet, session.organizer, organizer),
        status=status,  # type: ignore[arg-type]
        transparency="OPAQUE" if kept else None,  # type: ignore[arg-type]
        created=session.created_at.astimezone(UTC) if kept and session.created_at else None,
        last_modified=_last_modified(session) if kept else None,  # a feed's DTSTAMP says it
        conferences=_conferences(fleet, session, rooms) if kept or rooms else None,
    )
    for name in ("SUMMARY", "LOCATION", "DESCRIPTION"):
        if name in event:
            event[name] = _Text(str(event[name]))
    return event


class _Text(vText):
    """TEXT escaped by RFC 5545 alone: icalendar first turns a typed backslash-N into a line
    break (its shorthand), so a title holding the two characters came back changed."""

    def to_ical(self) -> bytes:
        escaped = (
            self.replace("\\", "\\\\")
            .replace(";", r"\;")
            .replace(",", r"\,")
            .replace("\r\n", "\n")
            .replace("\r", "\n")
            .replace("\n", r"\n")
        )
        return escaped.encode("utf-8")


def _last_modified(session: Session) -> datetime | None:
    return session.updated_at.astimezone(UTC) if session.updated_at else None


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


def _organizer(fleet: Fleet, agency_id: str, fallback: str | None) -> vCalAddress | None:
    """The organizing agency's address, else ``fallback``; a feed without either has none."""
    agency = fleet.agencies.get(agency_id)
    address = agency.email if agency and agency.email else fallback
    if address is None:
        return None
    return vCalAddress.new(address, cn=text.agency_name(fleet, agency_id))


def _attendees(entry: CalendarEntry, fleet: Fleet) -> bytes:
    """Every agency with an address owning a room in the session (but the organizer).

    Agencies are asked to confirm (NEEDS-ACTION, RSVP). Agencies without an address and the
    rooms themselves are named in the description: an invented mailbox would be offered to
    every calendar as someone to e-mail.
    """
    session = entry.session
    organizer = fleet.agencies.get(session.organizer)
    skip = (organizer.email or "").lower() if organizer else ""
    return b"".join(
        _attendee_line(r.address, r.name, "GROUP", "REQ-PARTICIPANT", "NEEDS-ACTION", True)
        for r in recipients(fleet, session)
        if r.address.lower() != skip
    )


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


def _conferences(fleet: Fleet, session: Session, rooms: Collection[str] | None) -> list[Conference]:
    """RFC 7986 CONFERENCE per bridge carrying the session (clients that know it offer a link);
    for a reader's own ``rooms``, only the bridges they dial."""
    found = []
    for bridge_id in text.bridges_by_room(fleet, session, rooms):
        bridge = fleet.bridges.get(bridge_id)
        if bridge is not None and bridge.dial_in:
            found.append(Conference(bridge.dial_in, feature="VIDEO", label=bridge.name))
    return found


def _inner_lines(component: bytes) -> bytes:
    """The content lines of a serialized component, without its BEGIN and END lines."""
    first = component.index(b"\r\n") + 2
    last = component.rindex(b"END:", 0, len(component) - 2)
    return component[first:last]
