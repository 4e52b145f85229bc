"""Rows of the booking tables to domain values and back (sessions, occurrences, allocations)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Any

from confsched.domain.model import Occurrence, PortAllocation, Session, SessionStatus
from confsched.store.db import from_db_time, to_db_time

SESSION_COLUMNS = (
    "id, title, organizer, chair, selectors, endpoints, starts_at, ends_at, setup_s, rrule, "
    "exdates, allocation, status, sequence, created_at, updated_at"
)
OCCURRENCE_COLUMNS = (
    "session_id, recurrence_id, starts_at, ends_at, busy_from, cancelled, sequence, moved, "
    "allocation, attention"
)


def encode_allocation(allocation: PortAllocation) -> str:
    return json.dumps(
        {
            "by_bridge": {b: list(e) for b, e in allocation.by_bridge.items()},
            "links": [list(link) for link in allocation.links],
            "moved": dict(allocation.moved),
        },
        ensure_ascii=False,
    )


@lru_cache(maxsize=4096)
def decode_allocation(text: str) -> PortAllocation:
    """The allocation stored as ``text``, decoded once per distinct text: sessions of the same
    rooms on the same bridges store the same allocation (a national year of 13,100 sessions has
    34), and decoding it with its participants' bridges was a sixth of a month's listing. Safe
    to share: a ``PortAllocation`` is frozen and nothing changes its maps."""
    raw = json.loads(text)
    return PortAllocation(
        {b: tuple(e) for b, e in raw["by_bridge"].items()},
        tuple((a, b) for a, b in raw["links"]),
        dict(raw.get("moved", {})),
    )


def session_row(session: Session) -> tuple[Any, ...]:
    return (
        session.id,
        session.title,
        session.organizer,
        session.chair,
        json.dumps(list(session.selectors), ensure_ascii=False),
        json.dumps(list(session.endpoints)),
        to_db_time(session.start),
        to_db_time(session.end),
        int(session.setup.total_seconds()),
        session.rrule,
        json.dumps([to_db_time(d) for d in session.exdates]),
        encode_allocation(session.allocation),
        session.status.value,
        session.sequence,
        to_db_time(session.created_at) if session.created_at else None,
        to_db_time(session.updated_at) if session.updated_at else None,
    )


def session_from_row(row: Sequence[Any]) -> Session:
    return Session(
        id=row[0],
        title=row[1],
        organizer=row[2],
        chair=row[3],
        selectors=_strings(row[4]),
        endpoints=_strings(row[5]),
        start=from_db_time(row[6]),
        end=from_db_time(row[7]),
        setup=timedelta(seconds=row[8]),
        rrule=row[9],
        exdates=tuple(from_db_time(d) for d in json.loads(row[10])),
        allocation=decode_allocation(row[11]),
        status=SessionStatus(row[12]),
        sequence=row[13],
        created_at=from_db_time(row[14]) if row[14] else None,
        updated_at=from_db_time(row[15]) if row[15] else None,
    )


@lru_cache(maxsize=4096)
def _strings(text: str) -> tuple[str, ...]:
    """A JSON list of ids as a tuple, parsed once per distinct text: sessions of the same rooms
    (a province's, a district's) repeat the same 192-id list, and a month's listing reads
    1,100 of them. Safe to share: a tuple of strings cannot change."""
    return tuple(json.loads(text))


def occurrence_from_row(row: Sequence[Any]) -> Occurrence:
    start = from_db_time(row[2])
    return Occurrence(
        session_id=row[0],
        recurrence_id=from_db_time(row[1]),
        start=start,
        end=from_db_time(row[3]),
        setup=start - from_db_time(row[4]),
        cancelled=bool(row[5]),
        sequence=row[6],
        moved=bool(row[7]),
        allocation=decode_allocation(row[8]) if row[8] else None,
        attention=row[9],
    )
