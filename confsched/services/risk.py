"""Operator truth from the store: every room's explained health, and tomorrow's sessions at risk.

The CLI reads these straight from the data directory (no running ``serve`` needed); the server
reads the same through its in-memory board. Both hand plain data to the pure rules in
``domain.forecast`` and ``domain.health``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from confsched.domain.forecast import Enrolment, RoomFacts, SessionRisk, explain, forecast
from confsched.domain.model import (
    EndpointHealth,
    EndpointKind,
    Fleet,
    Occurrence,
    Readiness,
    Session,
)
from confsched.domain.transitions import Heard, StateChange, replay
from confsched.errors import InvalidInput
from confsched.services.health_board import HealthBoard
from confsched.store.health import (
    KeyStatus,
    list_keys,
    load_latest,
    load_readiness,
)
from confsched.store.health_history import load_changes

DEFAULT_WITHIN = timedelta(hours=24)
MAX_WITHIN = timedelta(days=31)


def enrolment(fleet: Fleet, endpoint: str, key: KeyStatus | None) -> Enrolment:
    """How the room is watched, from its kind and its agent key (if any)."""
    if key is None:
        kind = fleet.endpoints[endpoint].kind if endpoint in fleet.endpoints else None
        return Enrolment.POLLED if kind is EndpointKind.CODEC else Enrolment.NOT_ENROLLED
    return Enrolment.REVOKED if key.revoked_at is not None else Enrolment.ENROLLED


def room_facts(
    fleet: Fleet,
    healths: Mapping[str, EndpointHealth],
    keys: Iterable[KeyStatus],
    disconnects: Mapping[str, str] | None = None,
) -> dict[str, RoomFacts]:
    """Every endpoint's facts from its aged health, its key and its last disconnect."""
    by_endpoint = {k.endpoint: k for k in keys}
    gone = disconnects or {}
    return {
        e: RoomFacts(healths[e], enrolment(fleet, e, by_endpoint.get(e)), gone.get(e))
        for e in fleet.endpoints
        if e in healths
    }


def board_from_store(
    db: sqlite_utils.Database, fleet: Fleet, rooms: Collection[str] | None = None
) -> HealthBoard:
    """A health board holding the stored latest states (of ``rooms`` only), as a CLI reads
    them."""
    board = HealthBoard(fleet.report_interval)
    for stored in load_latest(db, rooms):
        board.latest[stored.health.endpoint] = stored
    return board


def stored_facts(
    db: sqlite_utils.Database, fleet: Fleet, now: datetime, rooms: Collection[str] | None = None
) -> dict[str, RoomFacts]:
    """Every room's facts at ``now`` from the store alone; ``rooms``: only theirs, reading only
    their rows (one room's view, one session's forecast)."""
    board = board_from_store(db, fleet, rooms)
    chosen = list(fleet.endpoints) if rooms is None else [e for e in rooms if e in fleet.endpoints]
    return room_facts(fleet, board.snapshot(chosen, now), list_keys(db, rooms))


def explained(facts: Mapping[str, RoomFacts]) -> dict[str, EndpointHealth]:
    return {e: explain(f) for e, f in facts.items()}


@dataclass(frozen=True, slots=True)
class AtRisk:
    """One upcoming occurrence with its session and its forecast."""

    session: Session
    occurrence: Occurrence
    risk: SessionRisk


def upcoming_risks(
    db: sqlite_utils.Database,
    fleet: Fleet,
    facts: Mapping[str, RoomFacts],
    now: datetime,
    within: timedelta = DEFAULT_WITHIN,
) -> list[AtRisk]:
    """Every live occurrence starting from ``now`` to ``now + within`` (or running), by start.

    The booking reads are imported here: ``confsched health`` judges rooms with this module and
    reads no session."""
    from confsched.services.booking_reads import occurrences_with_sessions

    if not timedelta(0) < within <= MAX_WITHIN:
        raise InvalidInput("within must be more than 0 and at most 31d")
    found = []
    for session, occurrence in occurrences_with_sessions(db, now, now + within):
        if occurrence.cancelled or occurrence.end <= now or occurrence.start > now + within:
            continue
        found.append(
            AtRisk(session, occurrence, upcoming_forecast(fleet, session, occurrence, facts))
        )
    return found


@dataclass(frozen=True, slots=True)
class RoomReadiness:
    """One participant's readiness for an occurrence: from its self-test, or forecast."""

    endpoint: str
    status: Readiness
    reasons: tuple[str, ...]
    at: datetime | None


@dataclass(frozen=True, slots=True)
class OccurrenceReadiness:
    """Every participant's readiness; ``stage`` says where it comes from."""

    occurrence: Occurrence
    stage: str
    """"selftest" (the scheduler asked the rooms) or "forecast" (from current health)."""
    rooms: tuple[RoomReadiness, ...]

    @property
    def ready(self) -> int:
        return sum(1 for r in self.rooms if r.status is Readiness.READY)


def occurrence_readiness(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session: Session,
    occurrence: Occurrence,
    now: datetime,
) -> OccurrenceReadiness:
    """Self-test answers once the check started (rooms not answered yet are pending), else
    the forecast from every room's current health."""
    rows = {r.endpoint: r for r in load_readiness(db, session.id, occurrence.recurrence_id)}
    if rows or occurrence.busy_from <= now:
        rooms = tuple(
            RoomReadiness(e, rows[e].status, _split(rows[e].reason), rows[e].answered_at)
            if e in rows
            else RoomReadiness(e, Readiness.PENDING, (), None)
            for e in session.endpoints
        )
        return OccurrenceReadiness(occurrence, "selftest", rooms)
    facts = stored_facts(db, fleet, now, session.endpoints)
    risk = upcoming_forecast(fleet, session, occurrence, facts)
    at_risk = {r.endpoint: r for r in risk.rooms}
    return OccurrenceReadiness(
        occurrence,
        "forecast",
        tuple(
            RoomReadiness(e, Readiness.NOT_READY, at_risk[e].reasons, at_risk[e].last_report_at)
            if e in at_risk
            else RoomReadiness(e, Readiness.READY, (), facts[e].health.last_report_at)
            for e in session.endpoints
        ),
    )


def upcoming_forecast(
    fleet: Fleet, session: Session, occurrence: Occurrence, facts: Mapping[str, RoomFacts]
) -> SessionRisk:
    capacity = {b.id: b.ports for b in fleet.bridges.values()}
    allocation = occurrence.allocation or session.allocation
    return forecast(
        session.id,
        occurrence.recurrence_id,
        occurrence.start,
        session.endpoints,
        facts,
        allocation,
        capacity,
    )


def _split(reason: str) -> tuple[str, ...]:
    return tuple(part for part in reason.split("; ") if part)


HISTORY_WINDOW = timedelta(hours=24)


def room_detail(
    db: sqlite_utils.Database, fleet: Fleet, endpoint: str, now: datetime
) -> tuple[EndpointHealth, list[StateChange]]:
    """One room's explained health now and its state changes over the last 24 hours, from that
    room's rows alone (a national fleet has 10,000 others)."""
    facts = stored_facts(db, fleet, now, [endpoint])
    return explain(facts[endpoint]), room_changes(db, fleet, endpoint, now, HISTORY_WINDOW)


def room_changes(
    db: sqlite_utils.Database, fleet: Fleet, endpoint: str, now: datetime, window: timedelta
) -> list[StateChange]:
    """The room's state changes within ``window`` before ``now``, opened by the state it was in
    when the window began (with the time that state began), the silence since its latest
    report included."""
    since = now - window
    latest = load_latest(db, [endpoint])
    last = None
    if latest and (heard := latest[0].health.last_report_at) is not None:
        interval = timedelta(seconds=latest[0].interval) if latest[0].interval else None
        last = Heard(heard, latest[0].health.state, interval or fleet.report_interval)
    changes = replay(load_changes(db, endpoint, since), last, now)
    inside = [c for c in changes if c.at >= since]
    before = [c for c in changes if c.at < since]
    return [*before[-1:], *inside]
