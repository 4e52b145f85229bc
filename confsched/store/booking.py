"""Sessions, occurrences and per-endpoint busy intervals in SQLite.

No transactions here: the booking service wraps each use case in one ``immediate(db)`` so the
conflict check and the insert happen under one lock. Statements go straight to the connection
(``db.execute``) because a 192-endpoint booking must store in well under a millisecond.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import sqlite_utils

from confsched.domain.booking import Holder
from confsched.domain.model import Occurrence, Session
from confsched.domain.ports import Load, usage
from confsched.store.booking_rows import (
    OCCURRENCE_COLUMNS,
    SESSION_COLUMNS,
    encode_allocation,
    occurrence_from_row,
    session_from_row,
    session_row,
)
from confsched.store.db import from_db_time, to_db_time
from confsched.store.pacing import paced


def day_number(moment: datetime) -> int:
    """The UTC day a busy interval starts on: the first column of the busy table's key."""
    return int(moment.timestamp() // 86400)


def _days(start: datetime, end: datetime) -> list[int]:
    """Day numbers of every busy row that may start in ``[start, end)``."""
    return list(range(day_number(start), day_number(end) + 1))


def _lookback(db: sqlite_utils.Database) -> timedelta:
    """The longest any stored occurrence holds its rooms (setup included).

    A row overlapping ``[start, end)`` starts at most this long before ``start``: queries look
    back only that far (often three hours rather than a day), so fewer rows and days are read.
    """
    return timedelta(seconds=int(get_meta(db, "max_span_s") or 0))


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


# --- writing ----------------------------------------------------------------------------------


def insert_session(db: sqlite_utils.Database, session: Session) -> None:
    marks = ", ".join("?" * 16)
    db.execute(f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ({marks})", session_row(session))


def update_session(db: sqlite_utils.Database, session: Session) -> None:
    row = session_row(session)
    columns = [c.strip() for c in SESSION_COLUMNS.split(",")][1:]
    assignments = ", ".join(f"{c} = ?" for c in columns)
    db.execute(f"UPDATE sessions SET {assignments} WHERE id = ?", [*row[1:], row[0]])


def set_materialised(db: sqlite_utils.Database, session_id: str, until: datetime | None) -> None:
    db.execute(
        "UPDATE sessions SET materialised_until = ? WHERE id = ?",
        [to_db_time(until) if until else None, session_id],
    )


def insert_occurrences(
    db: sqlite_utils.Database, session: Session, occurrences: Sequence[Occurrence]
) -> None:
    """Store occurrences and, for the live ones, a busy row per endpoint."""
    conn = db.conn
    occurrence_rows: list[tuple[object, ...]] = []
    busy_rows: list[tuple[object, ...]] = []
    for o in occurrences:
        rid, busy_from, until = (
            to_db_time(o.recurrence_id),
            to_db_time(o.busy_from),
            to_db_time(o.end),
        )
        own = encode_allocation(o.allocation) if o.allocation else None
        ports = {} if o.cancelled else usage(o.allocation or session.allocation)
        occurrence_rows.append(
            (
                session.id,
                rid,
                to_db_time(o.start),
                until,
                busy_from,
                int(o.cancelled),
                o.sequence,
                int(o.moved),
                own,
                o.attention,
                json.dumps(ports),
            )
        )
        if not o.cancelled:
            day = day_number(o.busy_from)
            busy_rows.extend((day, e, busy_from, until, session.id, rid) for e in session.endpoints)
    conn.executemany(
        f"INSERT INTO occurrences ({OCCURRENCE_COLUMNS}, ports) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        occurrence_rows,
    )
    longest = max((o.end - o.busy_from for o in occurrences), default=timedelta(0))
    if longest > _lookback(db):
        set_meta(db, "max_span_s", str(int(longest.total_seconds())))
    conn.executemany("INSERT INTO busy VALUES (?,?,?,?,?,?)", busy_rows)


def delete_occurrences(
    db: sqlite_utils.Database, session_id: str, recurrence_ids: Sequence[datetime] | None = None
) -> None:
    """Remove occurrences (all of the session's when ``recurrence_ids`` is None) and their busy
    rows, found by their full key (no second index on busy: a booking writes fewer pages)."""
    rows = db.execute(
        "SELECT recurrence_id, busy_from FROM occurrences WHERE session_id = ?", [session_id]
    ).fetchall()
    if recurrence_ids is not None:
        wanted = {to_db_time(r) for r in recurrence_ids}
        rows = [r for r in rows if r[0] in wanted]
    members = db.execute("SELECT endpoints FROM sessions WHERE id = ?", [session_id]).fetchone()
    endpoints = json.loads(members[0]) if members else []
    db.conn.executemany(
        "DELETE FROM busy WHERE day = ? AND endpoint = ? AND busy_from = ? AND session_id = ? "
        "AND recurrence_id = ?",
        [
            (day_number(from_db_time(busy_from)), e, busy_from, session_id, rid)
            for rid, busy_from in rows
            for e in endpoints
        ],
    )
    db.conn.executemany(
        "DELETE FROM occurrences WHERE session_id = ? AND recurrence_id = ?",
        [(session_id, rid) for rid, _ in rows],
    )


def replace_occurrence(db: sqlite_utils.Database, session: Session, occurrence: Occurrence) -> None:
    delete_occurrences(db, session.id, [occurrence.recurrence_id])
    insert_occurrences(db, session, [occurrence])


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM booking_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO booking_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


# --- reading ----------------------------------------------------------------------------------


def holders(
    db: sqlite_utils.Database, endpoints: Sequence[str], busy_from: datetime, end: datetime
) -> list[Holder]:
    """Live occurrences holding any of ``endpoints`` during ``[busy_from, end)``."""
    if not endpoints:
        return []
    since = busy_from - _lookback(db)
    days = _days(since, end)
    rows = db.execute(
        "SELECT b.endpoint, b.session_id, s.title, o.starts_at, o.ends_at, o.busy_from, "
        "o.recurrence_id FROM busy b "
        "JOIN occurrences o ON o.session_id = b.session_id AND o.recurrence_id = b.recurrence_id "
        "JOIN sessions s ON s.id = b.session_id "
        f"WHERE b.day IN ({_marks(days)}) AND b.endpoint IN ({_marks(endpoints)}) "
        "AND b.busy_from >= ? AND b.busy_from < ? AND b.busy_until > ?",
        [*days, *endpoints, to_db_time(since), to_db_time(end), to_db_time(busy_from)],
    ).fetchall()
    times: dict[str, datetime] = {}  # a refusal lists 192 rooms held by one or two occurrences

    def parsed(text: str) -> datetime:
        if text not in times:
            times[text] = from_db_time(text)
        return times[text]

    return [
        Holder(r[0], r[1], r[2], parsed(r[3]), parsed(r[4]), parsed(r[5]), parsed(r[6]))
        for r in rows
    ]


def loads(db: sqlite_utils.Database, busy_from: datetime, end: datetime) -> list[Load]:
    """Ports taken by live occurrences overlapping ``[busy_from, end)``."""
    rows = db.execute(
        "SELECT busy_from, ends_at, ports, session_id, recurrence_id FROM occurrences "
        "WHERE busy_from >= ? AND busy_from < ? AND ends_at > ? AND cancelled = 0",
        [to_db_time(busy_from - _lookback(db)), to_db_time(end), to_db_time(busy_from)],
    ).fetchall()
    return [
        Load(from_db_time(r[0]), from_db_time(r[1]), json.loads(r[2]), r[3], from_db_time(r[4]))
        for r in rows
    ]


def busy_intervals(
    db: sqlite_utils.Database, endpoints: Sequence[str], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Distinct busy intervals of any of ``endpoints`` overlapping ``[start, end)``.

    Read per occurrence (a few dozen a month), then matched against the sessions' rooms: far
    cheaper than reading one busy row per endpoint when the set is large.
    """
    wanted = set(endpoints)
    rows = db.execute(
        "SELECT o.busy_from, o.ends_at, s.endpoints FROM occurrences o "
        "JOIN sessions s ON s.id = o.session_id "
        "WHERE o.busy_from >= ? AND o.busy_from < ? AND o.ends_at > ? AND o.cancelled = 0",
        [to_db_time(start - _lookback(db)), to_db_time(end), to_db_time(start)],
    ).fetchall()
    parsed: dict[str, bool] = {}
    intervals = []
    for busy_from, ends_at, members in rows:
        if members not in parsed:
            parsed[members] = not wanted.isdisjoint(json.loads(members))
        if parsed[members]:
            intervals.append((from_db_time(busy_from), from_db_time(ends_at)))
    return intervals


def load_session(db: sqlite_utils.Database, session_id: str) -> Session | None:
    row = db.execute(
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?", [session_id]
    ).fetchone()
    return session_from_row(row) if row else None


def load_sessions(db: sqlite_utils.Database, ids: Iterable[str]) -> dict[str, Session]:
    wanted = sorted(set(ids))
    found: dict[str, Session] = {}
    for chunk in range(0, len(wanted), 500):
        part = wanted[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        rows = db.execute(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id IN ({marks})", part
        ).fetchall()
        for row in paced(rows):
            found[row[0]] = session_from_row(row)
    return found


def all_session_ids(db: sqlite_utils.Database, status: str | None = None) -> list[str]:
    if status is None:
        rows = db.execute("SELECT id FROM sessions ORDER BY starts_at").fetchall()
    else:
        rows = db.execute(
            "SELECT id FROM sessions WHERE status = ? ORDER BY starts_at", [status]
        ).fetchall()
    return [r[0] for r in rows]


def occurrences_of(db: sqlite_utils.Database, session_id: str) -> list[Occurrence]:
    rows = db.execute(
        f"SELECT {OCCURRENCE_COLUMNS} FROM occurrences WHERE session_id = ? ORDER BY starts_at",
        [session_id],
    ).fetchall()
    return [occurrence_from_row(r) for r in rows]


def occurrences_of_many(
    db: sqlite_utils.Database, session_ids: Iterable[str]
) -> dict[str, list[Occurrence]]:
    """Every stored occurrence of each session, by start: one query per 500 sessions instead
    of one per session (a month's listing at national scale lists a thousand)."""
    wanted = sorted(set(session_ids))
    found: dict[str, list[Occurrence]] = {s: [] for s in wanted}
    for chunk in range(0, len(wanted), 500):
        part = wanted[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        rows = db.execute(
            f"SELECT {OCCURRENCE_COLUMNS} FROM occurrences WHERE session_id IN ({marks}) "
            "ORDER BY starts_at",
            part,
        ).fetchall()
        for row in paced(rows):
            occurrence = occurrence_from_row(row)
            found[occurrence.session_id].append(occurrence)
    return found


def occurrence(
    db: sqlite_utils.Database, session_id: str, recurrence_id: datetime
) -> Occurrence | None:
    row = db.execute(
        f"SELECT {OCCURRENCE_COLUMNS} FROM occurrences WHERE session_id = ? AND recurrence_id = ?",
        [session_id, to_db_time(recurrence_id)],
    ).fetchone()
    return occurrence_from_row(row) if row else None


def occurrences_between(
    db: sqlite_utils.Database, start: datetime, end: datetime, include_cancelled: bool = False
) -> list[Occurrence]:
    """Occurrences overlapping ``[start, end)`` (setup time included), by start."""
    cancelled = "" if include_cancelled else "AND cancelled = 0 "
    rows = db.execute(
        f"SELECT {OCCURRENCE_COLUMNS} FROM occurrences "
        f"WHERE busy_from >= ? AND busy_from < ? AND ends_at > ? {cancelled}"
        "ORDER BY starts_at, session_id",
        [to_db_time(start - _lookback(db)), to_db_time(end), to_db_time(start)],
    ).fetchall()
    return [occurrence_from_row(r) for r in paced(rows)]


def series_to_extend(db: sqlite_utils.Database, until: datetime) -> list[tuple[Session, datetime]]:
    """Scheduled recurring sessions materialised only up to before ``until``, oldest first."""
    rows = db.execute(
        f"SELECT {SESSION_COLUMNS}, materialised_until FROM sessions "
        "WHERE rrule IS NOT NULL AND status = 'scheduled' AND materialised_until IS NOT NULL "
        "AND materialised_until < ? ORDER BY created_at, rowid",
        [to_db_time(until)],
    ).fetchall()
    return [(session_from_row(r), from_db_time(r[16])) for r in rows]


def ports_in_use(db: sqlite_utils.Database, at: datetime) -> dict[str, int]:
    """Ports taken on each bridge at the instant ``at`` (setup time counts)."""
    totals: dict[str, int] = {}
    for load in loads(db, at, at + timedelta(seconds=1)):
        if load.busy_from <= at < load.end:
            for bridge, ports in load.ports.items():
                totals[bridge] = totals.get(bridge, 0) + ports
    return totals


def endpoint_occurrences(
    db: sqlite_utils.Database, endpoint: str, start: datetime, end: datetime
) -> list[tuple[str, datetime]]:
    """(session id, recurrence id) of live occurrences holding ``endpoint`` in ``[start, end)``."""
    days = _days(start - _lookback(db), end)
    rows = db.execute(
        f"SELECT session_id, recurrence_id FROM busy WHERE day IN ({_marks(days)}) "
        "AND endpoint = ? AND busy_from >= ? AND busy_from < ? AND busy_until > ? "
        "ORDER BY busy_from",
        [*days, endpoint, to_db_time(start - _lookback(db)), to_db_time(end), to_db_time(start)],
    ).fetchall()
    return [(r[0], from_db_time(r[1])) for r in rows]


def fleet_timezone(db: sqlite_utils.Database) -> str | None:
    """The stored fleet's zone (reads the inventory's metadata, never writes it)."""
    row = db.execute("SELECT value FROM fleet_meta WHERE key = 'timezone'").fetchone()
    return row[0] if row else None


def occurrences_in_setup(
    db: sqlite_utils.Database, now: datetime
) -> list[tuple[Occurrence, tuple[str, ...]]]:
    """Live occurrences inside their setup window (busy_from <= now < start), with their rooms.

    The readiness check asks every participant for a self-test during this window.
    """
    rows = db.execute(
        f"SELECT {', '.join('o.' + c.strip() for c in OCCURRENCE_COLUMNS.split(','))}, "
        "s.endpoints FROM occurrences o JOIN sessions s ON s.id = o.session_id "
        "WHERE o.busy_from >= ? AND o.busy_from <= ? AND o.starts_at > ? AND o.cancelled = 0 "
        "ORDER BY o.starts_at",
        [to_db_time(now - _lookback(db)), to_db_time(now), to_db_time(now)],
    ).fetchall()
    return [(occurrence_from_row(r), tuple(json.loads(r[10]))) for r in rows]


def sittings_to_come(db: sqlite_utils.Database, now: datetime) -> list[tuple[Session, Occurrence]]:
    """Live occurrences of scheduled sessions still to end at ``now``, with their sessions, by
    start (what a re-import must not break)."""
    rows = db.execute(
        f"SELECT {OCCURRENCE_COLUMNS} FROM occurrences "
        "WHERE ends_at > ? AND cancelled = 0 ORDER BY starts_at, session_id",
        [to_db_time(now)],
    ).fetchall()
    found = [occurrence_from_row(r) for r in rows]
    sessions = load_sessions(db, {o.session_id for o in found})
    return [(sessions[o.session_id], o) for o in found]


def sittings_needing_attention(db: sqlite_utils.Database, now: datetime) -> list[Occurrence]:
    """Live sittings still to end that a forced re-import marked as needing attention."""
    rows = db.execute(
        f"SELECT {OCCURRENCE_COLUMNS} FROM occurrences "
        "WHERE attention != '' AND ends_at > ? AND cancelled = 0 ORDER BY starts_at",
        [to_db_time(now)],
    ).fetchall()
    return [occurrence_from_row(r) for r in rows]
