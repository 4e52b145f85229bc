"""What a session listing shows of each session, read for all listed sessions at once.

A month at national scale lists a thousand sessions. Read one by one, each costs its own
queries (its sittings twice, the series to extend twice, its calendar entry, the ports in use
across every session during its next sitting): seconds in all. Here each of those is one read
for the whole listing, then shared out in memory, so a listing costs what it returns.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from confsched.domain.model import Occurrence, Session
from confsched.domain.ports import Load, peak_usage, usage
from confsched.services.booking_reads import (
    BridgeLoad,
    needing_attention,
    readiness_counts,
    virtual_sittings,
)
from confsched.store import booking as store
from confsched.store.calendar import entry_with
from confsched.store.pacing import paced

UPCOMING = timedelta(days=2)
"""How far ahead a session's readiness looks for its next sitting."""


@dataclass(frozen=True, slots=True)
class Listed:
    """One session as a listing or a detail shows it, read on a store thread."""

    session: Session
    occurrences: list[Occurrence]
    """Its sittings in the window asked for."""
    readiness: dict[str, int] | None
    load: BridgeLoad | None
    attention: list[Occurrence]
    sequence: int
    """The calendar SEQUENCE agencies' calendars see."""


def listed_sessions(
    db: sqlite_utils.Database,
    sessions: Sequence[Session],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[Listed]:
    """Each of ``sessions`` with its sittings in ``[start, end)``, its readiness, the bridges'
    load during its next sitting and its calendar SEQUENCE."""
    ids = {s.id for s in sessions}
    stored = store.occurrences_of_many(db, ids)
    windowed = _within(stored, _virtual_of(db, ids, start, end), start, end)
    soon = now + UPCOMING
    upcoming = _within(stored, _virtual_of(db, ids, now, soon), now, soon)
    attention = needing_attention(db, now)
    loads = _LoadIndex(db, [_current(windowed.get(s.id, []), now) for s in sessions])
    listed = []
    for session in paced(sessions):
        occurrences = windowed.get(session.id, [])
        listed.append(
            Listed(
                session,
                occurrences,
                readiness_counts(db, session, upcoming.get(session.id, []), now),
                loads.during(_current(occurrences, now)),
                attention.get(session.id, []),
                entry_with(session, stored.get(session.id, [])).sequence,
            )
        )
    return listed


def _virtual_of(
    db: sqlite_utils.Database, ids: set[str], start: datetime, end: datetime
) -> dict[str, list[Occurrence]]:
    """The sittings of the listed series beyond their materialised horizon, by session."""
    found: dict[str, list[Occurrence]] = {}
    for session, occurrence in virtual_sittings(db, start, end):
        if session.id in ids:
            found.setdefault(session.id, []).append(occurrence)
    return found


def _within(
    stored: Mapping[str, list[Occurrence]],
    virtual: Mapping[str, list[Occurrence]],
    start: datetime,
    end: datetime,
) -> dict[str, list[Occurrence]]:
    """Per session, its stored and virtual sittings overlapping ``[start, end)``, by start."""
    found: dict[str, list[Occurrence]] = {}
    for session_id in stored.keys() | virtual.keys():
        both = [*stored.get(session_id, ()), *virtual.get(session_id, ())]
        found[session_id] = sorted(
            (o for o in both if o.end > start and o.start < end), key=lambda o: o.start
        )
    return found


def _current(occurrences: Sequence[Occurrence], now: datetime) -> Occurrence | None:
    """The first live sitting still to end: the one whose bridge load a listing shows."""
    return next((o for o in occurrences if not o.cancelled and o.end > now), None)


class _LoadIndex:
    """Every live occurrence's ports across the span of the sittings asked about, read once
    and sorted by start, so each sitting's peak looks only at those that can overlap it."""

    def __init__(self, db: sqlite_utils.Database, sittings: Sequence[Occurrence | None]) -> None:
        chosen = [o for o in sittings if o is not None]
        self._loads: list[Load] = []
        if chosen:
            low = min(o.busy_from for o in chosen)
            high = max(o.end for o in chosen)
            self._loads = store.loads(db, low, high)
            for session, o in virtual_sittings(db, low, high):
                ports = usage(o.allocation or session.allocation)
                self._loads.append(Load(o.busy_from, o.end, ports))
        self._loads.sort(key=lambda load: load.busy_from)
        self._starts = [load.busy_from for load in self._loads]
        spans = (load.end - load.busy_from for load in self._loads)
        self._longest = max(spans, default=timedelta(0))

    def during(self, sitting: Occurrence | None) -> BridgeLoad | None:
        if sitting is None:
            return None
        first = bisect_left(self._starts, sitting.busy_from - self._longest)
        last = bisect_left(self._starts, sitting.end)
        nearby = self._loads[first:last]
        return BridgeLoad(sitting.start, peak_usage(nearby, sitting.busy_from, sitting.end))
