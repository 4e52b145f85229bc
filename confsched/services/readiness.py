"""Readiness use cases: which occurrences are due a self-test, and "ready N of M" per occurrence.

The checks themselves (asking agents over the link at setup time) are a runtime component,
``confsched.runtime.readiness``; this module only reads and summarises what the store holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

import sqlite_utils

from confsched.domain.model import Fleet, Occurrence, Readiness, Session
from confsched.store import booking as booking_store
from confsched.store.health import ReadinessRow, StageRecord, load_readiness, load_stages


@dataclass(frozen=True, slots=True)
class ReadinessSummary:
    session_id: str
    recurrence_id: datetime | None
    rows: tuple[ReadinessRow, ...]
    stages: tuple[StageRecord, ...] = ()
    """Each readiness stage that looked at the occurrence, with its "ready N of M"."""

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def ready(self) -> int:
        return sum(1 for r in self.rows if r.status is Readiness.READY)

    def as_dict(self, fleet: Fleet, tz: tzinfo) -> dict[str, Any]:
        """The docs/api.md shape: counts, the occurrence, and every participant's answer."""
        counts = {status.value: 0 for status in Readiness}
        for row in self.rows:
            counts[row.status.value] += 1
        return {
            "session_id": self.session_id,
            "occurrence": self.recurrence_id.astimezone(tz).isoformat()
            if self.recurrence_id
            else None,
            "summary": {**counts, "total": self.total},
            "text": f"ready {self.ready} of {self.total}" if self.total else "not checked yet",
            "endpoints": [_row_view(r, fleet, tz) for r in self.rows],
            "stages": [stage_view(s, tz) for s in self.stages],
        }


def stage_view(record: StageRecord, tz: tzinfo) -> dict[str, Any]:
    """One stage's kept count: ``{"stage": "selftest 60m", "at", "ready", "total", "text"}``."""
    return {
        "stage": record.stage,
        "at": record.at.astimezone(tz).isoformat(),
        "ready": record.ready,
        "total": record.total,
        "text": f"ready {record.ready} of {record.total}",
    }


def _row_view(row: ReadinessRow, fleet: Fleet, tz: tzinfo) -> dict[str, Any]:
    endpoint = fleet.endpoints.get(row.endpoint)
    return {
        "endpoint": row.endpoint,
        "endpoint_name": endpoint.name if endpoint else row.endpoint,
        "status": row.status.value,
        "reasons": [part for part in row.reason.split("; ") if part],
        "at": row.answered_at.astimezone(tz).isoformat() if row.answered_at else None,
    }


def readiness_summary(
    db: sqlite_utils.Database, session_id: str, recurrence_id: datetime | None
) -> ReadinessSummary:
    """'ready N of M' for one occurrence (or the session's latest checked one)."""
    rows = tuple(load_readiness(db, session_id, recurrence_id))
    occurrence = rows[0].recurrence_id if rows else recurrence_id
    stages = tuple(load_stages(db, session_id, occurrence)) if occurrence else ()
    return ReadinessSummary(session_id, occurrence, rows, stages)


def unready_endpoints(
    db: sqlite_utils.Database, session_id: str, recurrence_id: datetime
) -> list[str]:
    rows = load_readiness(db, session_id, recurrence_id)
    return [r.endpoint for r in rows if r.status in (Readiness.NOT_READY, Readiness.NO_ANSWER)]


@dataclass(frozen=True, slots=True)
class Staged:
    """An occurrence a readiness stage may look at: its session and the stages already done."""

    session: Session
    occurrence: Occurrence
    done: frozenset[str]


def staged_occurrences(db: sqlite_utils.Database, now: datetime, lead: timedelta) -> list[Staged]:
    """Live occurrences starting after ``now`` and within ``lead``, with their stages done."""
    occurrences = booking_store.occurrences_between(db, now, now + lead)
    upcoming = [o for o in occurrences if now < o.start <= now + lead and not o.cancelled]
    sessions = booking_store.load_sessions(db, {o.session_id for o in upcoming})
    return [
        Staged(
            sessions[o.session_id],
            o,
            frozenset(s.stage for s in load_stages(db, o.session_id, o.recurrence_id)),
        )
        for o in upcoming
        if o.session_id in sessions
    ]
