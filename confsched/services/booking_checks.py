"""What the booking use cases check under their lock: the horizon, and the engine's decision.

Called inside a write transaction (``immediate(db)``) by ``confsched.services.booking``.
Recurring series are materialised up to a global horizon (at least ``HORIZON`` ahead of now);
a write that needs more first extends every open series, checking each new occurrence as if it
were booked then (one that collides with what was booked meanwhile is stored cancelled).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from confsched.domain.booking import (
    HORIZON,
    Conflict,
    Decision,
    EndpointConflict,
    decide,
    materialise,
    series_end,
)
from confsched.domain.conflicts import PortsConflict, refusal_reason
from confsched.domain.model import Fleet, Occurrence, PortAllocation, Session
from confsched.errors import BookingRefused, InvalidInput
from confsched.store import booking as store
from confsched.store.db import from_db_time, to_db_time
from confsched.store.refusals import count_refusal

log = logging.getLogger(__name__)

HORIZON_SLACK = timedelta(days=30)
"""The horizon grows in steps of a month, so most writes find it far enough already."""

Key = tuple[str, datetime]


# --- the horizon ------------------------------------------------------------------------------


def ensure_horizon(db: sqlite_utils.Database, fleet: Fleet, until: datetime) -> datetime:
    """Materialise every open series up to at least ``until``; return the horizon now stored.

    Call inside a write transaction. New occurrences are checked like a booking made now, in the
    order their series were booked; one that collides is stored cancelled and logged.
    """
    current = stored_horizon(db)
    if current is not None and current >= until:
        return current
    target = until + HORIZON_SLACK
    tz = ZoneInfo(fleet.timezone)
    for session, since in store.series_to_extend(db, target):
        for occurrence in materialise(session, tz, since, target):
            decision = check(db, fleet, session, [occurrence], preferred=session.allocation)
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


def stored_horizon(db: sqlite_utils.Database) -> datetime | None:
    text = store.get_meta(db, "horizon")
    return from_db_time(text) if text else None


def wanted_horizon(session: Session, tz: ZoneInfo, now: datetime) -> datetime:
    end = series_end(session, tz)
    wanted = now + HORIZON
    return max(wanted, end + timedelta(seconds=1)) if end is not None else wanted


def occurrences_to_store(session: Session, tz: ZoneInfo, horizon: datetime) -> list[Occurrence]:
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


def check(
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


def refuse_unless_ok(decision: Decision) -> None:
    if not decision.ok:
        raise BookingRefused(refusal_summary(decision.conflicts), decision.conflicts)


@contextmanager
def refusals_counted(db: sqlite_utils.Database) -> Iterator[None]:
    """Count a refusal where it is decided (so the CLI's count as the API's do), after its
    transaction rolled back; the refusal itself goes on to the caller."""
    try:
        yield
    except BookingRefused as refused:
        count_refusal(db, refusal_reason(refused.conflicts))
        raise


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
    ports = [c for c in conflicts if isinstance(c, PortsConflict)]
    if ports:
        parts.append(
            f"not enough bridge ports at {len(ports)} time{'s' if len(ports) != 1 else ''}"
        )
    return "booking refused: " + "; ".join(parts)
