"""Reading sessions for everyone else: lists, occurrences, views, bridge usage, free slots.

These never write: beyond the materialised horizon, recurring series are expanded in memory.
The calendar, metrics, readiness and the console call these (through
``confsched.services.booking``, which re-exports them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from confsched.domain import slots as slot_search
from confsched.domain.booking import (
    MAX_AHEAD,
    MAX_DURATION,
    BookingRequest,
    Conflict,
    materialise,
    participants_of,
    participants_with_homes,
)
from confsched.domain.model import (
    DEFAULT_SETUP,
    Fleet,
    Occurrence,
    PortAllocation,
    Session,
    SessionStatus,
)
from confsched.domain.ports import Load, allocate, peak_usage, usage
from confsched.domain.slots import Slot, SlotQuery
from confsched.domain.timeparse import parse_duration, parse_local_time, parse_window_bound
from confsched.errors import BookingRefused, InvalidInput, NotFound
from confsched.store import booking as store
from confsched.store.calendar import calendar_entry_of
from confsched.store.health import load_readiness

STATUSES = ("scheduled", "cancelled", "all")


@dataclass(frozen=True, slots=True)
class Preview:
    """A dry run's answer: would the booking be accepted, and with which ports."""

    ok: bool
    conflicts: tuple[Conflict, ...]
    allocation: PortAllocation | None


# --- sessions and occurrences -----------------------------------------------------------------


def get_session(db: sqlite_utils.Database, session_id: str) -> Session:
    """The session, or NotFound."""
    session = store.load_session(db, session_id)
    if session is None:
        raise NotFound("session", session_id)
    return session


def occurrences_between(
    db: sqlite_utils.Database,
    start: datetime,
    end: datetime,
    include_cancelled: bool = False,
) -> list[Occurrence]:
    """Every occurrence overlapping ``[start, end)`` (setup included), by start."""
    found = store.occurrences_between(db, start, end, include_cancelled)
    found.extend(o for _, o in virtual_sittings(db, start, end))
    return sorted(found, key=lambda o: (o.start, o.session_id))


def occurrences_with_sessions(
    db: sqlite_utils.Database,
    start: datetime,
    end: datetime,
    include_cancelled: bool = False,
) -> list[tuple[Session, Occurrence]]:
    """``occurrences_between`` with each occurrence's session (readiness, metrics, console)."""
    occurrences = occurrences_between(db, start, end, include_cancelled)
    sessions = store.load_sessions(db, {o.session_id for o in occurrences})
    return [(sessions[o.session_id], o) for o in occurrences]


def session_occurrences(
    db: sqlite_utils.Database,
    session_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Occurrence]:
    """The session's occurrences (cancelled ones too) starting in ``[start, end)``, by start."""
    found = store.occurrences_of(db, session_id)
    if end is not None:
        found.extend(o for s, o in virtual_sittings(db, start or end, end) if s.id == session_id)
    return [
        o
        for o in sorted(found, key=lambda o: o.start)
        if (start is None or o.end > start) and (end is None or o.start < end)
    ]


def list_sessions(
    db: sqlite_utils.Database,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
) -> list[Session]:
    """Sessions with an occurrence in ``[start, end)`` (all sessions without a window).

    ``status``: "scheduled" (with a live occurrence in the window), "cancelled", or None/"all".
    Ordered by their first occurrence in the window (by first start without a window).
    """
    if status not in (None, *STATUSES):
        raise InvalidInput(f"status {status!r} must be one of {', '.join(STATUSES)}")
    if start is None and end is None:
        wanted = None if status in (None, "all") else status
        sessions = store.load_sessions(db, store.all_session_ids(db, wanted))
        return sorted(sessions.values(), key=lambda s: (s.start, s.id))
    low = start or datetime(1970, 1, 1, tzinfo=UTC)
    high = end or datetime(9999, 1, 1, tzinfo=UTC)
    order: dict[str, bool] = {}
    for o in occurrences_between(db, low, high, include_cancelled=True):
        order[o.session_id] = order.get(o.session_id, False) or not o.cancelled
    sessions = store.load_sessions(db, order)
    chosen = []
    for session_id, has_live in order.items():
        session = sessions[session_id]
        if status == "scheduled" and not (has_live and session.status is SessionStatus.SCHEDULED):
            continue
        if status == "cancelled" and session.status is not SessionStatus.CANCELLED:
            continue
        chosen.append(session)
    return chosen


def endpoint_sessions(
    db: sqlite_utils.Database, endpoint: str, start: datetime, end: datetime
) -> list[tuple[Session, Occurrence]]:
    """The live occurrences holding ``endpoint`` in ``[start, end)`` with their sessions."""
    keys = store.endpoint_occurrences(db, endpoint, start, end)
    sessions = store.load_sessions(db, {k[0] for k in keys})
    pairs = []
    for session_id, rid in keys:
        occurrence = store.occurrence(db, session_id, rid)
        if occurrence is not None:
            pairs.append((sessions[session_id], occurrence))
    pairs.extend((s, o) for s, o in virtual_sittings(db, start, end) if endpoint in s.endpoints)
    return sorted(pairs, key=lambda p: p[1].start)


def readiness_counts(
    db: sqlite_utils.Database, session: Session, occurrences: Sequence[Occurrence], now: datetime
) -> dict[str, int] | None:
    """Readiness of the next or current occurrence once its setup time came, else None.

    ``{ready, not_ready, no_answer, pending, total}``; rooms not answered yet count as pending.
    Read through the health store, where the readiness check writes.
    """
    current = next((o for o in occurrences if not o.cancelled and o.end > now), None)
    if current is None or current.busy_from > now:
        return None
    counts = dict.fromkeys(("ready", "not_ready", "no_answer", "pending"), 0)
    for row in load_readiness(db, session.id, current.recurrence_id):
        if row.endpoint in session.endpoints:
            counts[str(row.status.value)] = counts.get(str(row.status.value), 0) + 1
    answered = counts["ready"] + counts["not_ready"] + counts["no_answer"]
    counts["pending"] = len(session.endpoints) - answered
    counts["total"] = len(session.endpoints)
    return counts


def bridge_load(
    db: sqlite_utils.Database, occurrences: Sequence[Occurrence], now: datetime
) -> BridgeLoad | None:
    """Ports in use on each bridge across all sessions, at the busiest instant of the first of
    ``occurrences`` still to end (its setup time included); None when none is."""
    current = next((o for o in occurrences if not o.cancelled and o.end > now), None)
    if current is None:
        return None
    loads = store.loads(db, current.busy_from, current.end)
    for session, o in virtual_sittings(db, current.busy_from, current.end):
        loads.append(Load(o.busy_from, o.end, usage(o.allocation or session.allocation)))
    return BridgeLoad(current.start, peak_usage(loads, current.busy_from, current.end))


def calendar_sequence(db: sqlite_utils.Database, session: Session) -> int:
    """The SEQUENCE agencies' calendars see for the session (after a moved or cancelled sitting
    it is above the session row's own)."""
    return calendar_entry_of(db, session).sequence


def needing_attention(db: sqlite_utils.Database, now: datetime) -> dict[str, list[Occurrence]]:
    """Per session, its sittings still to end that a forced re-import broke (see
    ``confsched.services.fleet_import``): whatever the window shown, a session lists them."""
    found: dict[str, list[Occurrence]] = {}
    for occurrence in store.sittings_needing_attention(db, now):
        found.setdefault(occurrence.session_id, []).append(occurrence)
    return found


def bridge_usage(db: sqlite_utils.Database, at: datetime) -> dict[str, int]:
    """Ports in use on each bridge at the instant ``at`` (a bridge not listed uses none)."""
    return store.ports_in_use(db, at)


def virtual_sittings(
    db: sqlite_utils.Database, start: datetime, end: datetime
) -> list[tuple[Session, Occurrence]]:
    """Occurrences of open series beyond their materialised horizon, expanded in memory.

    Up to ``MAX_AHEAD`` past the horizon at most: an open-ended window must not expand a
    weekly series for centuries (nothing can be booked that far anyway).
    """
    extend = store.series_to_extend(db, end)
    if not extend:
        return []
    tz = ZoneInfo(store.fleet_timezone(db) or "UTC")
    found = []
    for session, since in extend:
        until = min(end, since + MAX_AHEAD)
        for o in materialise(session, tz, since, until):
            if o.end > start and o.busy_from < end:
                found.append((session, o))
    return found


# --- views ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BridgeLoad:
    """The most ports in use on each bridge, across all sessions, during one occurrence."""

    start: datetime
    ports: Mapping[str, int]


def session_view(
    fleet: Fleet,
    session: Session,
    occurrences: Sequence[Occurrence],
    tz: ZoneInfo,
    readiness: Mapping[str, Any] | None = None,
    load: BridgeLoad | None = None,
    rooms: bool = False,
    *,
    attention: Sequence[Occurrence] = (),
    sequence: int | None = None,
) -> dict[str, Any]:
    """The session as docs/api.md shows it (times local with their offset).

    ``load`` adds each bridge's ports in use across all sessions (``in_use``); ``rooms`` adds the
    bridge every room dials (a list of 192 entries: for one session's view, not for listings).
    ``attention``: its sittings needing attention (``needing_attention``); ``sequence``: the
    calendar SEQUENCE agencies' calendars see (the series' or its sittings', whichever is
    highest), when the caller read it; else the session row's.
    """
    organizer = fleet.agencies.get(session.organizer)
    chair = fleet.endpoints.get(session.chair or "")
    return {
        "id": session.id,
        "title": session.title,
        "organizer": session.organizer,
        "organizer_name": organizer.name if organizer else session.organizer,
        "chair": session.chair,
        "chair_name": chair.name if chair else session.chair,
        "selectors": list(session.selectors),
        "endpoints": list(session.endpoints),
        "endpoint_count": len(session.endpoints),
        "start": _iso(session.start, tz),
        "end": _iso(session.end, tz),
        "setup_minutes": int(session.setup.total_seconds() // 60),
        "rrule": session.rrule,
        "exdates": [_iso(d, tz) for d in session.exdates],
        "status": session.status.value,
        "sequence": session.sequence if sequence is None else sequence,
        "needs_attention": [
            {**_occurrence_view(fleet, o, tz), "reason": o.attention} for o in attention
        ],
        "allocation": allocation_view(
            fleet,
            session.allocation,
            load.ports if load else None,
            session.endpoints if rooms else None,
        ),
        "load_at": _iso(load.start, tz) if load else None,
        "occurrences": [_occurrence_view(fleet, o, tz) for o in occurrences],
        "readiness": dict(readiness) if readiness is not None else None,
        "created_at": _iso(session.created_at, tz) if session.created_at else None,
        "updated_at": _iso(session.updated_at, tz) if session.updated_at else None,
    }


def view_rooms(
    session: Session, occurrences: Sequence[Occurrence], attention: Sequence[Occurrence] = ()
) -> set[str]:
    """The rooms ``session_view`` names (without ``rooms``): the chair and those moved off their
    home bridge, the fleet a listing loads (``inventory.fleet_with``) rather than every room."""
    named = {session.chair} if session.chair else set()
    for allocation in (
        session.allocation,
        *(o.allocation for o in (*occurrences, *attention) if o.allocation is not None),
    ):
        named.update(allocation.moved)
    return named


def allocation_view(
    fleet: Fleet,
    allocation: PortAllocation,
    load: Mapping[str, int] | None = None,
    rooms: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Every bridge of the cascade with its dial-in and ports, the links, the rooms moved off
    their home bridge; ``load``: ports in use across all sessions; ``rooms``: whom to list."""
    used = usage(allocation)
    bridges = []
    for bridge_id in fleet.bridges:
        if bridge_id not in used:
            continue
        bridge = fleet.bridges[bridge_id]
        entry = {
            "bridge": bridge_id,
            "bridge_name": bridge.name,
            "dial_in": bridge.dial_in,
            "participants": len(allocation.by_bridge.get(bridge_id, ())),
            "links": sum(1 for link in allocation.links if bridge_id in link),
            "ports_used": used[bridge_id],
            "capacity": bridge.ports,
        }
        if load is not None:
            entry["in_use"] = load.get(bridge_id, 0)
        bridges.append(entry)
    view: dict[str, Any] = {
        "bridges": bridges,
        "links": [list(link) for link in allocation.links],
        "moved": [_room_view(fleet, allocation, e) for e in allocation.moved],
    }
    if rooms is not None:
        view["rooms"] = [_room_view(fleet, allocation, e) for e in rooms]
    return view


def _room_view(fleet: Fleet, allocation: PortAllocation, endpoint: str) -> dict[str, Any]:
    bridge_id = allocation.bridge_of(endpoint)
    bridge = fleet.bridges.get(bridge_id or "")
    room = fleet.endpoints.get(endpoint)
    return {
        "endpoint": endpoint,
        "endpoint_name": room.name if room else endpoint,
        "bridge": bridge_id,
        "bridge_name": bridge.name if bridge else bridge_id,
        "dial_in": bridge.dial_in if bridge else "",
        "home": allocation.moved.get(endpoint, bridge_id),
        "moved": endpoint in allocation.moved,
    }


def _occurrence_view(fleet: Fleet, occurrence: Occurrence, tz: ZoneInfo) -> dict[str, Any]:
    view: dict[str, Any] = {
        "recurrence_id": _iso(occurrence.recurrence_id, tz),
        "start": _iso(occurrence.start, tz),
        "end": _iso(occurrence.end, tz),
        "cancelled": occurrence.cancelled,
        "moved": occurrence.moved,
        "sequence": occurrence.sequence,
        "attention": occurrence.attention,
    }
    if occurrence.allocation is not None:
        view["allocation"] = allocation_view(fleet, occurrence.allocation)
    return view


def _iso(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).isoformat()


# --- free slots -------------------------------------------------------------------------------


def find_slots(
    db: sqlite_utils.Database,
    fleet: Fleet,
    selectors: Sequence[str],
    duration: timedelta,
    *,
    within: timedelta = timedelta(days=7),
    count: int = 5,
    setup: timedelta = DEFAULT_SETUP,
    earliest: datetime | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """The earliest ``count`` slots (non-overlapping, by start) where every chosen endpoint is
    free from the setup time on and the bridges have the ports, inside working hours."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    try:
        endpoints = participants_of(fleet, selectors)
    except BookingRefused as too_many:  # a search is no booking: a plain bad-input error
        raise InvalidInput(str(too_many).removeprefix("booking refused: ")) from None
    if duration <= timedelta(0) or duration > MAX_DURATION:
        raise InvalidInput("the duration must be more than 0 and at most 24 hours")
    if within <= timedelta(0) or within > timedelta(days=366):
        raise InvalidInput("--within must be more than 0 and at most a year")
    if not 1 <= count <= 100:
        raise InvalidInput("count must be from 1 to 100")
    start = max(earliest or now, now)
    query = SlotQuery(
        duration, setup, start, start + within, fleet.working_hours, ZoneInfo(fleet.timezone), count
    )
    window_end = query.latest + duration
    busy = store.busy_intervals(db, endpoints, start, window_end)
    loads = store.loads(db, start, window_end)
    for session, o in virtual_sittings(db, start, window_end):
        if not set(endpoints).isdisjoint(session.endpoints):
            busy.append((o.busy_from, o.end))
        loads.append(Load(o.busy_from, o.end, usage(session.allocation), session.id))
    participants = participants_with_homes(fleet, endpoints)

    def ports_ok(free: Mapping[str, int]) -> bool:
        return allocate(participants, fleet.bridges, free) is not None

    return slot_search.find_slots(query, busy, loads, fleet.bridges, ports_ok)


# --- reading what people typed ------------------------------------------------------------------


def parse_request(
    fleet: Fleet,
    *,
    title: str,
    with_: str | Sequence[str],
    start: str,
    duration: str | None = None,
    end: str | None = None,
    organizer: str | None = None,
    chair: str | None = None,
    setup: str | None = None,
    repeat: str | None = None,
    exdates: Sequence[str] = (),
) -> BookingRequest:
    """A BookingRequest from the text of the CLI or the API (local times, ``90m`` durations)."""
    tz = ZoneInfo(fleet.timezone)
    begins = parse_local_time(start, tz)
    if (duration is None) == (end is None):
        raise InvalidInput("give either a duration or an end time")
    ends = (
        begins + parse_duration(duration)
        if duration is not None
        else parse_local_time(end or "", tz)
    )
    selectors = with_.split(",") if isinstance(with_, str) else list(with_)
    return BookingRequest(
        title=title,
        selectors=tuple(s.strip() for s in selectors),
        start=begins,
        end=ends,
        organizer=organizer or None,
        chair=chair or None,
        setup=parse_duration(setup) if setup else DEFAULT_SETUP,
        rrule=repeat or None,
        exdates=tuple(parse_local_time(d, tz) for d in exdates),
    )


def request_from_json(fleet: Fleet, body: Mapping[str, Any]) -> BookingRequest:
    """The API body of docs/api.md; every field type-checked with a message naming it."""
    known = {
        "title",
        "organizer",
        "chair",
        "with",
        "start",
        "duration",
        "end",
        "setup",
        "repeat",
        "exdates",
    }
    unknown = sorted(set(body) - known)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(known))})")
    for key in ("title", "with", "start"):
        if body.get(key) is None:
            raise InvalidInput(f"missing field {key!r}")
    for key in ("title", "organizer", "chair", "start", "duration", "end", "setup", "repeat"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise InvalidInput(f"field {key!r} must be a string")
    selectors = body["with"]
    if not isinstance(selectors, str) and not (
        isinstance(selectors, list) and all(isinstance(s, str) for s in selectors)
    ):
        raise InvalidInput("field 'with' must be a string or a list of strings")
    exdates = body.get("exdates") or []
    if not isinstance(exdates, list) or not all(isinstance(d, str) for d in exdates):
        raise InvalidInput("field 'exdates' must be a list of times")
    return parse_request(
        fleet,
        title=body["title"],
        with_=selectors,
        start=body["start"],
        duration=body.get("duration"),
        end=body.get("end"),
        organizer=body.get("organizer"),
        chair=body.get("chair"),
        setup=body.get("setup"),
        repeat=body.get("repeat"),
        exdates=exdates,
    )


def parse_instant(text: str | None, fleet: Fleet) -> datetime | None:
    """An optional local time (``YYYY-MM-DD HH:MM``) or ISO 8601 with an offset, in UTC."""
    return parse_local_time(text, ZoneInfo(fleet.timezone)) if text else None


def parse_bound(text: str | None, fleet: Fleet) -> datetime | None:
    """An optional window edge: a local time, or a date alone for its midnight; in UTC."""
    return parse_window_bound(text, ZoneInfo(fleet.timezone)) if text else None
