"""A room's health history kept by time: state changes, minute and hour cells (domain/history).

The health writer calls :meth:`HistoryKeeper.record` inside the transaction that stores a batch
of reports, so what an acknowledgement covers is in the history too. The keeper holds each
room's current minute row and day row in memory and writes them whole (an upsert of one row per
room and grid), and the room's previous report, to tell a change. What left its window is
deleted by :meth:`HistoryKeeper.trim` in the same writer, a bounded number of rows at a time, so
ingest never waits behind one long delete.

Times in these tables are integers (milliseconds, minute-row and day-row numbers from the epoch,
UTC): they are counted in millions of rows, and an integer is 6 bytes where text is 24.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlite_utils

from confsched.domain.health import Thresholds
from confsched.domain.history import (
    HOURS,
    MINUTES,
    Cell,
    Grid,
    add_report,
    mark_silence,
)
from confsched.domain.model import EndpointHealth, EndpointState
from confsched.domain.retention import Retention
from confsched.domain.transitions import ChangeRecord, Heard, change_of

TABLES = {MINUTES: "health_minutes", HOURS: "health_hours"}
TRIM_ROWS = 500
"""Rows one trim deletes from a table at most: a few milliseconds in the writer."""
TRIM_EVERY = timedelta(minutes=1)
"""How often the writer looks for rows out of their window (sooner while some are left)."""


def to_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


@dataclass(slots=True)
class _Row:
    """One room's row of one grid, as the keeper holds it between writes."""

    number: int
    cells: bytearray


@dataclass(slots=True)
class _Room:
    heard: Heard | None
    rows: dict[Grid, _Row] = field(default_factory=dict)


@dataclass
class HistoryKeeper:
    """The writer's memory of every room's history (see the module)."""

    retention: Retention = field(default_factory=Retention)
    limits: Thresholds = field(default_factory=Thresholds)
    trim_rows: int = TRIM_ROWS
    rooms: dict[str, _Room] = field(default_factory=dict)
    trimmed_at: datetime | None = None
    more_to_trim: bool = False

    def record(
        self, db: sqlite_utils.Database, batch: Sequence[tuple[EndpointHealth, float]]
    ) -> None:
        """Add ``batch`` (judged reports with their intervals, oldest first per room) to the
        history: a change row where the state changed, every cell counted, rows written."""
        changes: list[tuple] = []
        dirty: dict[tuple[str, Grid, int], _Row] = {}
        """Every row touched, by number too: a batch may cross into a new hour or day."""
        for health, interval in batch:
            heard = health.last_report_at
            if heard is None:
                continue
            room = self._room(db, health.endpoint)
            record = change_of(room.heard, health, self.limits)
            if record is not None:
                changes.append(_change_row(health.endpoint, record, interval))
            for grid in (MINUTES, HOURS):
                row = self._row(db, health.endpoint, room, grid, heard)
                _, index = grid.place(heard)
                if record is not None and record.silent_from is not None:
                    mark_silence(row.cells, index)
                add_report(row.cells, index, health.state, health.rtt_ms, health.loss_ratio)
                dirty[health.endpoint, grid, row.number] = row
            room.heard = Heard(heard, health.state, timedelta(seconds=interval or 10))
        db.conn.executemany(
            "INSERT INTO health_changes (endpoint, at, state, reasons, codes, silent_from, "
            "interval) VALUES (?, ?, ?, ?, ?, ?, ?)",
            changes,
        )
        for grid in (MINUTES, HOURS):
            rows = [
                (r.number, e, grid.pack(r.cells)) for (e, g, _), r in dirty.items() if g is grid
            ]
            db.conn.executemany(
                f"INSERT INTO {TABLES[grid]} (number, endpoint, cells) VALUES (?, ?, ?) "
                "ON CONFLICT(number, endpoint) DO UPDATE SET cells = excluded.cells",
                rows,
            )

    def _room(self, db: sqlite_utils.Database, endpoint: str) -> _Room:
        room = self.rooms.get(endpoint)
        if room is None:
            room = self.rooms[endpoint] = _Room(_last_heard(db, endpoint))
        return room

    def _row(
        self, db: sqlite_utils.Database, endpoint: str, room: _Room, grid: Grid, heard: datetime
    ) -> _Row:
        """The room's row of ``grid`` holding ``heard``: the one in memory, else the stored one
        (after a restart), else a new one."""
        number, _ = grid.place(heard)
        row = room.rows.get(grid)
        if row is None or row.number != number:
            found = db.execute(
                f"SELECT cells FROM {TABLES[grid]} WHERE number = ? AND endpoint = ?",
                [number, endpoint],
            ).fetchone()
            cells = grid.unpack(found[0]) if found else grid.empty()
            row = room.rows[grid] = _Row(number, cells)
        return row

    def trim_due(self, db: sqlite_utils.Database, now: datetime) -> None:
        """Trim once a minute, or at once while the last trim left rows out of their window."""
        if self.more_to_trim or self.trimmed_at is None or now - self.trimmed_at >= TRIM_EVERY:
            self.trimmed_at = now
            self.more_to_trim = trim(db, now, self.retention, self.trim_rows) >= self.trim_rows

    def begin(self, endpoint: str) -> None:
        """Take the room as never heard before (a migration replaying its old reports)."""
        self.rooms[endpoint] = _Room(None)

    def forget(self, endpoints: Sequence[str]) -> None:
        """Drop what is held of these rooms (their rows are read again from the store)."""
        for endpoint in endpoints:
            self.rooms.pop(endpoint, None)


def _change_row(endpoint: str, record: ChangeRecord, interval: float) -> tuple:
    return (
        endpoint,
        to_ms(record.at),
        record.state.value,
        json.dumps(record.reasons, ensure_ascii=False),
        json.dumps(record.codes, ensure_ascii=False),
        to_ms(record.silent_from) if record.silent_from else None,
        interval,
    )


def _last_heard(db: sqlite_utils.Database, endpoint: str) -> Heard | None:
    row = db.execute(
        "SELECT received_at, state, interval FROM health_latest WHERE endpoint = ?", [endpoint]
    ).fetchone()
    if row is None or not row[0]:
        return None
    at = datetime.fromisoformat(row[0])
    return Heard(at, EndpointState(row[1]), timedelta(seconds=row[2] or 10))


def trim(db: sqlite_utils.Database, now: datetime, retention: Retention, limit: int) -> int:
    """Delete up to ``limit`` rows from each table that left its window at ``now``; returns the
    most deleted from one table (``limit``: there may be more).

    Changes go oldest first by row id (they are inserted in time order), stopping at the first
    row still inside the window, so no index on time is needed. Cell rows are keyed by their
    row number first, so the old ones are a range at the front of the table.
    """
    deleted = [_trim_changes(db, to_ms(now - retention.changes), limit)]
    for grid, window in ((MINUTES, retention.minutes), (HOURS, retention.hourly)):
        first_kept, _ = grid.place(now - window)
        cursor = db.execute(
            f"DELETE FROM {TABLES[grid]} WHERE (number, endpoint) IN (SELECT number, endpoint "
            f"FROM {TABLES[grid]} WHERE number < ? ORDER BY number LIMIT ?)",
            [first_kept, limit],
        )
        deleted.append(cursor.rowcount)
    return max(deleted)


def _trim_changes(db: sqlite_utils.Database, cutoff_ms: int, limit: int) -> int:
    ids = db.execute("SELECT id, at FROM health_changes ORDER BY id LIMIT ?", [limit]).fetchall()
    old = []
    for change_id, at in ids:
        if at >= cutoff_ms:
            break
        old.append(change_id)
    if old:
        db.execute("DELETE FROM health_changes WHERE id BETWEEN ? AND ?", [old[0], old[-1]])
    return len(old)


# --- readers ----------------------------------------------------------------------------------


def load_changes(db: sqlite_utils.Database, endpoint: str, since: datetime) -> list[ChangeRecord]:
    """The room's changes from ``since`` on, after the last one before it (the state the room
    was in when the window opened), oldest first."""
    columns = "at, state, reasons, codes, silent_from"
    before = db.execute(
        f"SELECT {columns} FROM health_changes WHERE endpoint = ? AND at < ? "
        "ORDER BY at DESC LIMIT 1",
        [endpoint, to_ms(since)],
    ).fetchall()
    after = db.execute(
        f"SELECT {columns} FROM health_changes WHERE endpoint = ? AND at >= ? ORDER BY at",
        [endpoint, to_ms(since)],
    ).fetchall()
    return [_record(row) for row in [*before, *after]]


def _record(row: Sequence) -> ChangeRecord:
    return ChangeRecord(
        from_ms(row[0]),
        EndpointState(row[1]),
        tuple(json.loads(row[2])),
        tuple(json.loads(row[3])),
        from_ms(row[4]) if row[4] is not None else None,
    )


def load_cells(
    db: sqlite_utils.Database, endpoint: str, grid: Grid, since: datetime, until: datetime
) -> list[Cell]:
    """The room's cells of ``grid`` that overlap [since, until) and saw something, oldest
    first."""
    first, _ = grid.place(since)
    last, _ = grid.place(until)
    numbers = json.dumps(list(range(first, last + 1)))  # one lookup each: rows are by number
    rows = db.execute(
        f"SELECT number, cells FROM {TABLES[grid]} WHERE endpoint = ? "
        "AND number IN (SELECT value FROM json_each(?)) ORDER BY number",
        [endpoint, numbers],
    ).fetchall()
    return [
        cell
        for number, blob in rows
        for cell in grid.cells(number, blob)
        if cell.start + cell.span > since and cell.start < until
    ]


def load_points(
    db: sqlite_utils.Database, endpoint: str, since: datetime, until: datetime
) -> list[Cell]:
    """The room's history over [since, until), as finely as it is kept: minute cells where
    there are some, hour cells before the first of them."""
    minutes = load_cells(db, endpoint, MINUTES, since, until)
    boundary = minutes[0].start.replace(minute=0) if minutes else until
    hours = load_cells(db, endpoint, HOURS, since, boundary) if since < boundary else []
    return [*(c for c in hours if c.start < boundary), *minutes]


def replay_rows(db: sqlite_utils.Database, keeper: HistoryKeeper, rows: Iterable[Sequence]) -> int:
    """Feed stored reports (endpoint, received_at, interval, state, reasons, codes,
    measurements; by room, oldest first) through ``keeper`` as if they arrived now: m017 moves
    the old per-report rows with it. Returns how many were replayed."""
    count, chunk = 0, []
    for endpoint, received, interval, state, reasons, codes, measurements in rows:
        if endpoint not in keeper.rooms:
            keeper.begin(endpoint)
        values = json.loads(measurements or "{}")
        health = EndpointHealth(
            endpoint=endpoint,
            state=EndpointState(state),
            reasons=tuple(json.loads(reasons or "[]")),
            codes=tuple(json.loads(codes or "[]")),
            last_report_at=datetime.fromisoformat(received),
            rtt_ms=values.get("rtt_ms"),
            loss_ratio=values.get("loss_ratio"),
        )
        chunk.append((health, interval or 10.0))
        if len(chunk) >= 5000:
            keeper.record(db, chunk)
            count, chunk = count + len(chunk), []
    keeper.record(db, chunk)
    return count + len(chunk)
