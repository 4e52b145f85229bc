"""The booking engine: validate a request into a session, expand its occurrences, and decide.

Pure: the store hands in what already holds the chosen endpoints (``Holder``) and the bridge
ports already taken (``Load``) around each occurrence; ``decide`` answers with every conflict, or
the port allocation. Nothing here reads a clock: ``now`` is an argument.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from confsched.domain import recurrence
from confsched.domain.conflicts import (
    Conflict,
    Decision,
    EndpointConflict,
    Holder,
    PortsConflict,
    SizeConflict,
)
from confsched.domain.model import (
    DEFAULT_SETUP,
    MAX_ENDPOINTS_PER_SESSION,
    Fleet,
    Occurrence,
    PortAllocation,
    Session,
    overlaps,
)
from confsched.domain.ports import (
    Load,
    Participant,
    allocate,
    fits,
    free_ports,
    ports_needed,
)
from confsched.domain.selectors import expand_selectors
from confsched.errors import BookingRefused, InvalidInput, NotFound

MAX_DURATION = timedelta(hours=24)
MAX_SETUP = timedelta(hours=2)
MAX_AHEAD = timedelta(days=366 * 5)
HORIZON = timedelta(days=400)
"""Recurring series are materialised at least this far ahead of now."""
MAX_TITLE = 200


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """What an operator asked for; times in UTC (parsed at the edge)."""

    title: str
    selectors: tuple[str, ...]
    start: datetime
    end: datetime
    organizer: str | None = None
    chair: str | None = None
    setup: timedelta = DEFAULT_SETUP
    rrule: str | None = None
    exdates: tuple[datetime, ...] = ()


# --- validation -------------------------------------------------------------------------------


def build_session(
    fleet: Fleet, request: BookingRequest, now: datetime, session_id: str
) -> tuple[Session, recurrence.Rule | None]:
    """Check every field of ``request``; a clear InvalidInput/NotFound for the first bad one."""
    title = check_title(request.title)
    endpoints = participants_of(fleet, request.selectors)
    check_times(request.start, request.end, request.setup, now, fleet.timezone)
    chair = request.chair or endpoints[0]
    if chair not in fleet.endpoints:
        raise NotFound("endpoint", chair)
    if chair not in endpoints:
        raise InvalidInput(f"the chair {chair!r} is not a participant: add it to the rooms")
    organizer = request.organizer or fleet.endpoints[chair].agency
    if organizer not in fleet.agencies:
        raise NotFound("agency", organizer)
    tz = ZoneInfo(fleet.timezone)
    rule = _rule(request, tz, now)
    session = Session(
        id=session_id,
        title=title,
        organizer=organizer,
        chair=chair,
        endpoints=endpoints,
        selectors=tuple(s.strip() for s in request.selectors if s.strip()),
        start=request.start,
        end=request.end,
        setup=request.setup,
        rrule=str(rule) if rule else None,
        exdates=tuple(sorted(set(request.exdates))),
        created_at=now,
        updated_at=now,
    )
    return session, rule


def check_title(text: str) -> str:
    """The title trimmed, or InvalidInput: empty, too long, or holding a control character
    (NUL, ESC, a newline, a lone surrogate …), which would reach invites, feeds and terminals
    raw. Refused rather than stripped, so that what is stored is what the operator sees typed."""
    title = text.strip()
    if not title:
        raise InvalidInput("the title is empty")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"the title is longer than {MAX_TITLE} characters")
    for position, char in enumerate(title, 1):
        if unicodedata.category(char) in ("Cc", "Cs") or char in "\u2028\u2029":
            raise InvalidInput(
                f"the title holds a control character (U+{ord(char):04X}) at position {position}"
            )
    return title


def working_hours_warning(fleet: Fleet, start: datetime, end: datetime) -> str | None:
    """Why a meeting from ``start`` to ``end`` lies outside the fleet's working hours, or None.

    Such a booking is legal (a late sitting, a weekend drill) but usually a typo (20:00 for
    08:00), so it is accepted with this said back to the operator."""
    tz = ZoneInfo(fleet.timezone)
    hours = fleet.working_hours
    first, last = start.astimezone(tz), end.astimezone(tz)
    if first.weekday() not in hours.days:
        return f"{first:%Y-%m-%d} is a {first:%A}, not a working day"
    if first.time() < hours.start or last.date() != first.date() or last.time() > hours.end:
        return (
            f"{first:%H:%M}–{last:%H:%M} is outside working hours "
            f"({hours.start:%H:%M}–{hours.end:%H:%M})"
        )
    return None


def participants_of(fleet: Fleet, selectors: Sequence[str]) -> tuple[str, ...]:
    """The endpoints chosen by ``selectors``: at least one, at most 192 (more is a refused
    booking, exit 3 and HTTP 409 like a taken room, since the operator fixes it the same way:
    by choosing fewer rooms)."""
    if not any(s.strip() for s in selectors):
        raise InvalidInput("no rooms chosen: give endpoints or groups (e.g. all, under:SITE)")
    endpoints = expand_selectors(fleet, tuple(selectors))
    if len(endpoints) > MAX_ENDPOINTS_PER_SESSION:
        too_many = SizeConflict(len(endpoints), MAX_ENDPOINTS_PER_SESSION)
        raise BookingRefused(f"booking refused: {too_many.message}", [too_many])
    return endpoints


def participants_with_homes(fleet: Fleet, endpoints: Sequence[str]) -> list[Participant]:
    """Each endpoint with its home bridge (none for a room the fleet no longer has: a session
    booked before a re-import still keeps its port)."""
    homes = fleet.endpoints
    return [Participant(e, homes[e].bridge if e in homes else None) for e in endpoints]


def check_times(
    start: datetime, end: datetime, setup: timedelta, now: datetime, timezone: str
) -> None:
    """End after start, a sane length and setup, not in the past, not absurdly far ahead."""
    tz = ZoneInfo(timezone)
    if end <= start:
        raise InvalidInput(
            f"the end {end.astimezone(tz):%Y-%m-%d %H:%M} is not after the start "
            f"{start.astimezone(tz):%Y-%m-%d %H:%M}"
        )
    if end - start > MAX_DURATION:
        raise InvalidInput("a session lasts at most 24 hours")
    if setup < timedelta(0) or setup > MAX_SETUP:
        raise InvalidInput("the setup time must be between 0 and 2 hours")
    if start < now:
        raise InvalidInput(f"the start {start.astimezone(tz):%Y-%m-%d %H:%M} is in the past")
    if start > now + MAX_AHEAD:
        raise InvalidInput("sessions can be booked at most 5 years ahead")


def _rule(request: BookingRequest, tz: ZoneInfo, now: datetime) -> recurrence.Rule | None:
    if not request.rrule:
        if request.exdates:
            raise InvalidInput("exception dates need a repeat rule")
        return None
    rule = recurrence.parse_rrule(request.rrule, tz)
    if rule.until is not None and rule.until > now + MAX_AHEAD:
        raise InvalidInput("a series may run at most 5 years ahead")
    if rule.until is not None and rule.until < request.start:
        raise InvalidInput("UNTIL is before the first occurrence")
    recurrence.check_first(rule, request.start, tz)
    last = recurrence.last_start(rule, request.start, tz)
    if last is not None and last > now + MAX_AHEAD:
        raise InvalidInput("a series may run at most 5 years ahead")
    for exdate in request.exdates:
        until = exdate + timedelta(seconds=1)
        if exdate not in set(recurrence.expand(rule, request.start, tz, until)):
            raise InvalidInput(
                f"exception {exdate.astimezone(tz):%Y-%m-%d %H:%M} is not an occurrence of the "
                "series"
            )
    return rule


# --- occurrences ------------------------------------------------------------------------------


def rule_of(session: Session, tz: ZoneInfo) -> recurrence.Rule | None:
    return recurrence.parse_rrule(session.rrule, tz) if session.rrule else None


def cut_series(session: Session, last: datetime, tz: ZoneInfo) -> Session:
    """The series ending with the sitting that originally started at ``last`` (UNTIL, UTC,
    inclusive): what cancelling a started series leaves, so calendars keep the past sittings.
    EXDATEs after the cut go with it; the caller bumps SEQUENCE."""
    rule = rule_of(session, tz)
    if rule is None:
        raise InvalidInput(f"session {session.id} does not repeat: nothing to cut")
    cut = replace(rule, count=None, until=last.astimezone(UTC))
    kept = tuple(x for x in session.exdates if x <= last)
    return replace(session, rrule=str(cut), exdates=kept)


def materialise(
    session: Session, tz: ZoneInfo, since: datetime | None, until: datetime
) -> list[Occurrence]:
    """The session's occurrences with ``since <= recurrence id < until`` (exceptions left out)."""
    rule = rule_of(session, tz)
    duration = session.end - session.start
    if rule is None:
        starts = [session.start] if session.start < until else []
    else:
        starts = [s for s in recurrence.expand(rule, session.start, tz, until)]
    skip = set(session.exdates)
    return [
        Occurrence(session.id, s, s, s + duration, session.setup, sequence=session.sequence)
        for s in starts
        if (since is None or s >= since) and s not in skip
    ]


def series_end(session: Session, tz: ZoneInfo) -> datetime | None:
    """When the last occurrence ends; None for a series without end."""
    rule = rule_of(session, tz)
    if rule is None:
        return session.end
    last = recurrence.last_start(rule, session.start, tz)
    return None if last is None else last + (session.end - session.start)


# --- the decision -----------------------------------------------------------------------------


def decide(
    fleet: Fleet,
    session: Session,
    occurrences: Sequence[Occurrence],
    holders: Mapping[datetime, Sequence[Holder]],
    loads: Mapping[datetime, Sequence[Load]],
    preferred: PortAllocation | None = None,
) -> Decision:
    """Every endpoint and port conflict of ``occurrences``; or the allocation that fits them all.

    ``holders`` and ``loads`` are keyed by each occurrence's recurrence id and must already leave
    out the occurrences this booking replaces (a move). ``preferred`` (the allocation a moved
    session had) is kept when it still fits, so a move does not reshuffle rooms across bridges.
    """
    live = [o for o in occurrences if not o.cancelled]
    conflicts: list[Conflict] = []
    for occurrence in live:
        conflicts.extend(
            _endpoint_conflicts(fleet, occurrence, holders.get(occurrence.recurrence_id, ()))
        )
    participants = participants_with_homes(fleet, session.endpoints)
    free_at = {
        o.recurrence_id: free_ports(
            fleet.bridges, loads.get(o.recurrence_id, ()), o.busy_from, o.end
        )
        for o in live
    }
    allocation, overrides, port_conflicts = _allocate_all(
        fleet, participants, live, free_at, preferred
    )
    conflicts.extend(port_conflicts)
    return Decision(tuple(conflicts), None if conflicts else allocation, overrides)


def _endpoint_conflicts(
    fleet: Fleet, occurrence: Occurrence, holders: Sequence[Holder]
) -> list[EndpointConflict]:
    seen: set[tuple[str, str, datetime]] = set()
    found = []
    for h in holders:
        if not overlaps(h.busy_from, h.end, occurrence.busy_from, occurrence.end):
            continue
        key = (h.endpoint, h.session_id, h.start)
        if key in seen:
            continue
        seen.add(key)
        found.append(
            EndpointConflict(
                endpoint=h.endpoint,
                endpoint_name=fleet.endpoints[h.endpoint].name
                if h.endpoint in fleet.endpoints
                else h.endpoint,
                session=h.session_id,
                title=h.title,
                start=h.start,
                end=h.end,
                busy_from=h.busy_from,
                timezone=fleet.timezone,
                wanted_start=occurrence.start,
            )
        )
    if not found:
        return found  # the common case: no 10,000-entry position map for a free booking
    position = {e: i for i, e in enumerate(fleet.endpoints)}
    found.sort(key=lambda c: (c.start, c.session, position.get(c.endpoint, 0)))
    return found


def _allocate_all(
    fleet: Fleet,
    participants: list[Participant],
    live: Sequence[Occurrence],
    free_at: Mapping[datetime, Mapping[str, int]],
    preferred: PortAllocation | None,
) -> tuple[PortAllocation | None, dict[datetime, PortAllocation], list[PortsConflict]]:
    """One allocation for the whole series when it fits everywhere; per-occurrence ones if not."""
    if not live:
        return preferred or PortAllocation({}), {}, []
    tightest = {b: min(free[b] for free in free_at.values()) for b in fleet.bridges}
    if preferred is not None and fits(preferred, tightest):
        return preferred, {}, []
    common = allocate(participants, fleet.bridges, tightest)
    if common is not None:
        return common, {}, []
    main: PortAllocation | None = None
    overrides: dict[datetime, PortAllocation] = {}
    conflicts: list[PortsConflict] = []
    capacities = [b.ports for b in fleet.bridges.values()]
    needed, _ = ports_needed(len(participants), capacities)
    for occurrence in live:
        free = free_at[occurrence.recurrence_id]
        if main is not None and fits(main, free):
            continue
        own = allocate(participants, fleet.bridges, free)
        if own is None:
            conflicts.append(
                PortsConflict(
                    needed,
                    sum(free.values()),
                    occurrence.start,
                    occurrence.end,
                    fleet.timezone,
                    dict(free),
                )
            )
        elif main is None:
            main = own
        else:
            overrides[occurrence.recurrence_id] = own
    return main, overrides, conflicts


def with_allocations(occurrences: Sequence[Occurrence], decision: Decision) -> list[Occurrence]:
    """The occurrences as they are stored: those needing their own allocation carry it."""
    return [
        replace(o, allocation=decision.overrides[o.recurrence_id])
        if o.recurrence_id in decision.overrides
        else o
        for o in occurrences
    ]
