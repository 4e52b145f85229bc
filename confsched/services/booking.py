"""Booking use cases: book, preview, move, cancel — each one ``BEGIN IMMEDIATE`` transaction.

The check and the write happen under the same lock, so two processes (two CLIs, the CLI and the
server) booking the same rooms at once can never both win: the second waits for the lock, then
sees the first one's busy rows.

Recurring series are materialised up to a global horizon (at least ``HORIZON`` ahead of now);
a write that needs more first extends every open series, checking each new occurrence as if it
were booked then (one that collides with what was booked meanwhile is stored cancelled).

Reads, views and the free-slot search other components call live in
``confsched.services.booking_reads`` and are re-exported here.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from confsched.domain import recurrence
from confsched.domain.booking import (
    HORIZON,
    BookingRequest,
    Conflict,
    Decision,
    EndpointConflict,
    build_session,
    check_times,
    decide,
    materialise,
    rule_of,
    series_end,
    with_allocations,
)
from confsched.domain.model import Fleet, Occurrence, PortAllocation, Session, SessionStatus
from confsched.errors import BookingRefused, InvalidInput, NotFound
from confsched.services.booking_reads import (
    Preview,
    allocation_view,
    bridge_usage,
    endpoint_sessions,
    find_slots,
    get_session,
    list_sessions,
    occurrences_between,
    occurrences_with_sessions,
    parse_instant,
    parse_request,
    request_from_json,
    session_occurrences,
    session_view,
)
from confsched.store import booking as store
from confsched.store.db import bump_revision, from_db_time, immediate, to_db_time

log = logging.getLogger(__name__)

HORIZON_SLACK = timedelta(days=30)
"""The horizon grows in steps of a month, so most writes find it far enough already."""
AREA = "sessions"

Key = tuple[str, datetime]


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_session_id() -> str:
    return secrets.token_hex(4)


# --- book and preview -------------------------------------------------------------------------


def book(
    db: sqlite_utils.Database,
    fleet: Fleet,
    request: BookingRequest,
    *,
    now: datetime | None = None,
    session_id: str | None = None,
) -> Session:
    """Store the session, or raise BookingRefused listing every conflict (nothing stored)."""
    now = now or now_utc()
    session, _ = build_session(fleet, request, now, session_id or new_session_id())
    tz = ZoneInfo(fleet.timezone)
    with immediate(db):
        horizon = ensure_horizon(db, fleet, _wanted_horizon(session, tz, now))
        occurrences = _occurrences(session, tz, horizon)
        decision = _decide(db, fleet, session, occurrences)
        _refuse_unless_ok(decision, fleet)
        session = replace(session, allocation=decision.allocation or PortAllocation({}))
        store.insert_session(db, session)
        if session.rrule:
            store.set_materialised(db, session.id, horizon)
        store.insert_occurrences(db, session, with_allocations(occurrences, decision))
        bump_revision(db, AREA)
    return session


def preview(
    db: sqlite_utils.Database,
    fleet: Fleet,
    request: BookingRequest,
    *,
    now: datetime | None = None,
) -> Preview:
    """What ``book`` would answer, storing nothing (the console's live conflict preview)."""
    now = now or now_utc()
    session, _ = build_session(fleet, request, now, "preview")
    tz = ZoneInfo(fleet.timezone)
    horizon = max(_stored_horizon(db) or now, now + HORIZON)
    occurrences = _occurrences(session, tz, horizon)
    decision = _decide(db, fleet, session, occurrences)
    return Preview(decision.ok, decision.conflicts, decision.allocation)


# --- move -------------------------------------------------------------------------------------


def move(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session_id: str,
    start: datetime,
    *,
    duration: timedelta | None = None,
    occurrence: datetime | None = None,
    now: datetime | None = None,
) -> Session:
    """Move the whole session (or one occurrence of a series, by its original start)."""
    now = now or now_utc()
    with immediate(db):
        session = _writable(db, session_id)
        if occurrence is not None and session.rrule:
            _move_one(db, fleet, session, occurrence, start, duration, now)
            session = replace(session, updated_at=now)
            store.update_session(db, session)
        else:
            if occurrence is not None and occurrence != session.start:
                raise NotFound("occurrence", _local(occurrence, fleet))
            session = _move_series(db, fleet, session, start, duration, now)
        bump_revision(db, AREA)
    return session


def _move_series(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session: Session,
    start: datetime,
    duration: timedelta | None,
    now: datetime,
) -> Session:
    if session.start < now:
        what = "series has begun: move single occurrences" if session.rrule else "session began"
        raise InvalidInput(f"session {session.id} cannot move: the {what}")
    length = duration if duration is not None else session.end - session.start
    check_times(start, start + length, session.setup, now, fleet.timezone)
    tz = ZoneInfo(fleet.timezone)
    delta = start - session.start
    moved = replace(
        session,
        start=start,
        end=start + length,
        exdates=tuple(d + delta for d in session.exdates),
        sequence=session.sequence + 1,
        updated_at=now,
    )
    if session.rrule:
        rule = recurrence.shift(recurrence.parse_rrule(session.rrule, tz), delta, session.start, tz)
        recurrence.check_first(rule, start, tz)
        moved = replace(moved, rrule=str(rule))
    horizon = ensure_horizon(db, fleet, _wanted_horizon(moved, tz, now))
    overrides = {
        o.recurrence_id + delta: o
        for o in store.occurrences_of(db, session.id)
        if o.moved or o.cancelled
    }
    occurrences = [
        _carry_override(o, overrides.get(o.recurrence_id), delta, duration)
        for o in _occurrences(moved, tz, horizon)
    ]
    decision = _decide(
        db, fleet, moved, occurrences, exclude={session.id}, preferred=session.allocation
    )
    _refuse_unless_ok(decision, fleet)
    moved = replace(moved, allocation=decision.allocation or session.allocation)
    store.delete_occurrences(db, session.id)
    store.update_session(db, moved)
    store.insert_occurrences(db, moved, with_allocations(occurrences, decision))
    if moved.rrule:
        store.set_materialised(db, moved.id, horizon)
    return moved


def _carry_override(
    fresh: Occurrence, old: Occurrence | None, delta: timedelta, duration: timedelta | None
) -> Occurrence:
    """An occurrence moved or cancelled on its own stays so, shifted with its series."""
    if old is None:
        return fresh
    start = old.start + delta
    length = duration if duration is not None else old.end - old.start
    return replace(
        fresh,
        start=start,
        end=start + length,
        cancelled=old.cancelled,
        moved=old.moved,
        sequence=max(old.sequence, fresh.sequence) + 1,
    )


def _move_one(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session: Session,
    recurrence_id: datetime,
    start: datetime,
    duration: timedelta | None,
    now: datetime,
) -> None:
    current = _live_occurrence(db, fleet, session, recurrence_id, now)
    length = duration if duration is not None else current.end - current.start
    check_times(start, start + length, session.setup, now, fleet.timezone)
    ensure_horizon(db, fleet, start + length + timedelta(days=1))
    moved = replace(
        current,
        start=start,
        end=start + length,
        moved=True,
        allocation=None,
        sequence=max(current.sequence, session.sequence) + 1,
    )
    decision = _decide(
        db,
        fleet,
        session,
        [moved],
        exclude={(session.id, recurrence_id)},
        preferred=session.allocation,
    )
    _refuse_unless_ok(decision, fleet)
    if decision.allocation != session.allocation:
        moved = replace(moved, allocation=decision.allocation)
    store.replace_occurrence(db, session, moved)


# --- cancel -----------------------------------------------------------------------------------


def cancel(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session_id: str,
    *,
    occurrence: datetime | None = None,
    now: datetime | None = None,
) -> Session:
    """Cancel the session (its occurrences from now on) or one occurrence; frees rooms, ports."""
    now = now or now_utc()
    with immediate(db):
        session = _writable(db, session_id)
        if occurrence is not None and session.rrule:
            current = _live_occurrence(db, fleet, session, occurrence, now)
            sequence = max(current.sequence, session.sequence) + 1
            store.replace_occurrence(
                db, session, replace(current, cancelled=True, sequence=sequence)
            )
            session = replace(session, updated_at=now)
            store.update_session(db, session)
        else:
            if occurrence is not None and occurrence != session.start:
                raise NotFound("occurrence", _local(occurrence, fleet))
            session = _cancel_series(db, fleet, session, now)
        bump_revision(db, AREA)
    return session


def _cancel_series(
    db: sqlite_utils.Database, fleet: Fleet, session: Session, now: datetime
) -> Session:
    upcoming = [o for o in store.occurrences_of(db, session.id) if o.end > now and not o.cancelled]
    if not upcoming and not session.rrule:
        raise InvalidInput(f"session {session.id} has already taken place")
    cancelled = replace(
        session,
        status=SessionStatus.CANCELLED,
        sequence=session.sequence + 1,
        updated_at=now,
        allocation=PortAllocation({}),
    )
    store.update_session(db, cancelled)
    store.delete_occurrences(db, session.id, [o.recurrence_id for o in upcoming])
    store.insert_occurrences(
        db,
        cancelled,
        [
            replace(o, cancelled=True, sequence=max(o.sequence, cancelled.sequence))
            for o in upcoming
        ],
    )
    return cancelled


# --- the horizon ------------------------------------------------------------------------------


def ensure_horizon(db: sqlite_utils.Database, fleet: Fleet, until: datetime) -> datetime:
    """Materialise every open series up to at least ``until``; return the horizon now stored.

    Call inside a write transaction. New occurrences are checked like a booking made now, in the
    order their series were booked; one that collides is stored cancelled and logged.
    """
    current = _stored_horizon(db)
    if current is not None and current >= until:
        return current
    target = until + HORIZON_SLACK
    tz = ZoneInfo(fleet.timezone)
    for session, since in store.series_to_extend(db, target):
        for occurrence in materialise(session, tz, since, target):
            decision = _decide(db, fleet, session, [occurrence], preferred=session.allocation)
            if not decision.ok:
                log.warning(
                    "session %s: occurrence %s collides; stored cancelled",
                    session.id,
                    occurrence.start,
                )
                occurrence = replace(occurrence, cancelled=True, sequence=occurrence.sequence + 1)
            elif decision.allocation != session.allocation:
                occurrence = replace(occurrence, allocation=decision.allocation)
            store.insert_occurrences(db, session, [occurrence])
        store.set_materialised(db, session.id, target)
    store.set_meta(db, "horizon", to_db_time(target))
    return target


def _stored_horizon(db: sqlite_utils.Database) -> datetime | None:
    text = store.get_meta(db, "horizon")
    return from_db_time(text) if text else None


def _wanted_horizon(session: Session, tz: ZoneInfo, now: datetime) -> datetime:
    end = series_end(session, tz)
    wanted = now + HORIZON
    return max(wanted, end + timedelta(seconds=1)) if end is not None else wanted


def _occurrences(session: Session, tz: ZoneInfo, horizon: datetime) -> list[Occurrence]:
    """The occurrences to store now; a series must not overlap itself (setup included)."""
    if not session.rrule:
        return materialise(session, tz, None, session.end)
    occurrences = materialise(session, tz, None, horizon)
    for before, after in itertools.pairwise(occurrences):
        if after.busy_from < before.end:
            raise InvalidInput(
                "the occurrences of this series overlap each other (setup included): "
                "shorten the session or repeat less often"
            )
    return occurrences


# --- checking ---------------------------------------------------------------------------------


def _decide(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session: Session,
    occurrences: Sequence[Occurrence],
    exclude: Collection[str | Key] = (),
    preferred: PortAllocation | None = None,
) -> Decision:
    """Gather what holds the rooms and ports around each occurrence, then let the engine judge."""
    holders = {}
    loads = {}
    for o in occurrences:
        if o.cancelled:
            continue
        found = store.holders(db, session.endpoints, o.busy_from, o.end)
        taken = store.loads(db, o.busy_from, o.end)
        if exclude:
            found = [h for h in found if not _excluded(exclude, h.session_id, h.recurrence_id)]
            taken = [t for t in taken if not _excluded(exclude, t.session_id, t.recurrence_id)]
        holders[o.recurrence_id] = found
        loads[o.recurrence_id] = taken
    return decide(fleet, session, occurrences, holders, loads, preferred)


def _excluded(exclude: Collection[str | Key], session_id: str, rid: datetime | None) -> bool:
    return session_id in exclude or (session_id, rid) in exclude


def _refuse_unless_ok(decision: Decision, fleet: Fleet) -> None:
    if not decision.ok:
        raise BookingRefused(refusal_summary(decision.conflicts), decision.conflicts)


def refusal_summary(conflicts: Sequence[Conflict]) -> str:
    """One line: how many rooms are taken, by how many sessions, and whether ports ran out."""
    rooms = {c.endpoint for c in conflicts if isinstance(c, EndpointConflict)}
    sessions = {c.session for c in conflicts if isinstance(c, EndpointConflict)}
    parts = []
    if rooms:
        parts.append(
            f"{len(rooms)} room{'s' if len(rooms) != 1 else ''} already booked by "
            f"{len(sessions)} session{'s' if len(sessions) != 1 else ''}"
        )
    ports = [c for c in conflicts if not isinstance(c, EndpointConflict)]
    if ports:
        parts.append(
            f"not enough bridge ports at {len(ports)} time{'s' if len(ports) != 1 else ''}"
        )
    return "booking refused: " + "; ".join(parts)


# --- lookups ----------------------------------------------------------------------------------


def _writable(db: sqlite_utils.Database, session_id: str) -> Session:
    session = store.load_session(db, session_id)
    if session is None:
        raise NotFound("session", session_id)
    if session.status is SessionStatus.CANCELLED:
        raise InvalidInput(f"session {session_id} is cancelled")
    return session


def _live_occurrence(
    db: sqlite_utils.Database, fleet: Fleet, session: Session, rid: datetime, now: datetime
) -> Occurrence:
    ensure_horizon(db, fleet, rid + timedelta(days=1))
    current = store.occurrence(db, session.id, rid)
    if current is None:
        raise NotFound("occurrence", f"{_local(rid, fleet)} of session {session.id}")
    if current.cancelled:
        raise InvalidInput(f"the occurrence {_local(rid, fleet)} is cancelled")
    if current.end <= now:
        raise InvalidInput(f"the occurrence {_local(rid, fleet)} has already taken place")
    return current


def _local(moment: datetime, fleet: Fleet) -> str:
    return moment.astimezone(ZoneInfo(fleet.timezone)).strftime("%Y-%m-%d %H:%M")


__all__ = [
    "BookingRequest",
    "Preview",
    "allocation_view",
    "book",
    "bridge_usage",
    "cancel",
    "endpoint_sessions",
    "ensure_horizon",
    "find_slots",
    "get_session",
    "list_sessions",
    "move",
    "occurrences_between",
    "occurrences_with_sessions",
    "parse_instant",
    "parse_request",
    "request_from_json",
    "preview",
    "refusal_summary",
    "rule_of",
    "session_occurrences",
    "session_view",
]
