"""Booking use cases: book, preview, move, cancel — each one ``BEGIN IMMEDIATE`` transaction.

The check and the write happen under the same lock, so two processes (two CLIs, the CLI and the
server) booking the same rooms at once can never both win: the second waits for the lock, then
sees the first one's busy rows. What is checked under that lock (the horizon of recurring
series, the engine's decision) lives in ``confsched.services.booking_checks``.

Reads, views and the free-slot search other components call live in
``confsched.services.booking_reads`` and are re-exported here: import them from this module.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from confsched.domain import recurrence
from confsched.domain.booking import (
    HORIZON,
    BookingRequest,
    build_session,
    check_times,
    cut_series,
    rule_of,
    with_allocations,
)
from confsched.domain.invites import InviteAction
from confsched.domain.model import Fleet, Occurrence, PortAllocation, Session, SessionStatus
from confsched.errors import BookingRefused, InvalidInput, NotFound
from confsched.services.booking_checks import (
    check,
    ensure_horizon,
    occurrences_to_store,
    refusal_summary,
    refusals_counted,
    refuse_unless_ok,
    stored_horizon,
    wanted_horizon,
)
from confsched.services.booking_reads import (
    BridgeLoad,
    Preview,
    allocation_view,
    bridge_load,
    bridge_usage,
    calendar_sequence,
    endpoint_sessions,
    find_slots,
    get_session,
    list_sessions,
    needing_attention,
    occurrences_between,
    occurrences_with_sessions,
    parse_bound,
    parse_instant,
    parse_request,
    readiness_counts,
    request_from_json,
    session_occurrences,
    session_view,
    view_rooms,
)
from confsched.services.clock import now_utc
from confsched.store import booking as store
from confsched.store import invites as outbox
from confsched.store.db import bump_revision, immediate

AREA = "sessions"


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
    with refusals_counted(db):
        return _book(db, fleet, request, now, session_id or new_session_id())


def _book(
    db: sqlite_utils.Database,
    fleet: Fleet,
    request: BookingRequest,
    now: datetime,
    session_id: str,
) -> Session:
    session, _ = build_session(fleet, request, now, session_id)
    tz = ZoneInfo(fleet.timezone)
    with immediate(db):
        horizon = ensure_horizon(db, fleet, wanted_horizon(session, tz, now))
        occurrences = occurrences_to_store(session, tz, horizon)
        decision = check(db, fleet, session, occurrences)
        refuse_unless_ok(decision)
        session = replace(session, allocation=decision.allocation or PortAllocation({}))
        store.insert_session(db, session)
        if session.rrule:
            store.set_materialised(db, session.id, horizon)
        store.insert_occurrences(db, session, with_allocations(occurrences, decision))
        outbox.record_change(db, session.id, InviteAction.REQUEST, None, now)
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
    try:
        session, _ = build_session(fleet, request, now, "preview")
    except BookingRefused as too_many:  # over 192 rooms: answered as the conflict it is
        return Preview(False, too_many.conflicts, None)  # type: ignore[arg-type]
    tz = ZoneInfo(fleet.timezone)
    horizon = max(stored_horizon(db) or now, now + HORIZON)
    occurrences = occurrences_to_store(session, tz, horizon)
    decision = check(db, fleet, session, occurrences)
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
    with refusals_counted(db), immediate(db):
        session = _writable(db, session_id)
        if occurrence is not None and session.rrule:
            _move_one(db, fleet, session, occurrence, start, duration, now)
            session = replace(session, updated_at=now)
            store.update_session(db, session)
        else:
            if occurrence is not None and occurrence != session.start:
                raise NotFound("occurrence", _local(occurrence, fleet))
            session = _move_series(db, fleet, session, start, duration, now)
        one = occurrence if session.rrule else None
        outbox.record_change(db, session.id, InviteAction.REQUEST, one, now)
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
    horizon = ensure_horizon(db, fleet, wanted_horizon(moved, tz, now))
    overrides = {
        o.recurrence_id + delta: o
        for o in store.occurrences_of(db, session.id)
        if o.moved or o.cancelled
    }
    occurrences = [
        _carry_override(o, overrides.get(o.recurrence_id), delta, duration)
        for o in occurrences_to_store(moved, tz, horizon)
    ]
    decision = check(
        db, fleet, moved, occurrences, exclude={session.id}, preferred=session.allocation
    )
    refuse_unless_ok(decision)
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
        attention="",
        sequence=max(current.sequence, session.sequence) + 1,
    )
    decision = check(
        db,
        fleet,
        session,
        [moved],
        exclude={(session.id, recurrence_id)},
        preferred=session.allocation,
    )
    refuse_unless_ok(decision)
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
    """Cancel the session (its occurrences from now on) or one occurrence; frees rooms, ports.

    A series with sittings that have begun is cut instead (see ``_cut_series``): calendars keep
    its past, announced as an update (REQUEST) ending the series; a whole-series CANCEL would
    erase every sitting, past ones too, from every calendar.
    """
    now = now or now_utc()
    with refusals_counted(db), immediate(db):
        session = _writable(db, session_id)
        action = InviteAction.CANCEL
        begun = _begun(db, session, now) if occurrence is None else []
        if begun:
            session = _cut_series(db, fleet, session, begun, now)
            action = InviteAction.REQUEST
        elif occurrence is not None and session.rrule:
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
        one = occurrence if session.rrule else None
        outbox.record_change(db, session.id, action, one, now)
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


def _cut_series(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session: Session,
    begun: list[Occurrence],
    now: datetime,
) -> Session:
    """End a started series with its last sitting that has begun (RRULE UNTIL); the sittings
    not begun yet are dropped (or, moved past the cut, cancelled) and their rooms and ports
    freed. SEQUENCE grows: calendars apply it as an update of the series."""
    sittings = store.occurrences_of(db, session.id)
    if not any(o.start > now and not o.cancelled for o in sittings):
        raise InvalidInput(f"session {session.id} has already taken place")
    last = max(o.recurrence_id for o in begun)
    cut = cut_series(session, last, ZoneInfo(fleet.timezone))
    cut = replace(cut, sequence=session.sequence + 1, updated_at=now)
    store.update_session(db, cut)
    store.delete_occurrences(
        db, session.id, [o.recurrence_id for o in sittings if o.recurrence_id > last]
    )
    for o in sittings:  # moved from before the cut to after now: not met, so cancelled
        if o.recurrence_id <= last and o.start > now and not o.cancelled:
            store.replace_occurrence(db, cut, replace(o, cancelled=True, sequence=cut.sequence))
    return cut


def _begun(db: sqlite_utils.Database, session: Session, now: datetime) -> list[Occurrence]:
    """The sittings of a series that took place or are taking place (not cancelled)."""
    if not session.rrule or session.start > now:
        return []
    return [o for o in store.occurrences_of(db, session.id) if o.start <= now and not o.cancelled]


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
    "BridgeLoad",
    "Preview",
    "allocation_view",
    "book",
    "bridge_load",
    "bridge_usage",
    "calendar_sequence",
    "cancel",
    "endpoint_sessions",
    "ensure_horizon",
    "find_slots",
    "get_session",
    "list_sessions",
    "move",
    "needing_attention",
    "new_session_id",
    "now_utc",
    "occurrences_between",
    "occurrences_with_sessions",
    "parse_bound",
    "parse_instant",
    "parse_request",
    "preview",
    "readiness_counts",
    "refusal_summary",
    "request_from_json",
    "rule_of",
    "session_occurrences",
    "session_view",
    "view_rooms",
]
