"""Opening the database: one file in the data directory, WAL, foreign keys, migrations applied."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from confsched.store.faults import unavailable
from confsched.store.migrations import MIGRATIONS

DB_NAME = "confsched.db"
BUSY_TIMEOUT_MS = 5000
"""How long a write waits for another process's write lock before it answers "the store is
busy": long enough for any booking or report batch (milliseconds each), short enough that a
person at the CLI or the API gets an answer."""


DURABILITY = "FULL"
"""``synchronous=FULL`` on every connection: in WAL mode each COMMIT fsyncs the WAL before it
returns, so an acknowledged report batch or a booking answered 201 survives a power cut (NORMAL
keeps them across a crash of the process but may lose the last commits when power fails). The
report writer commits a whole queue at once (group commit), so the fsync is paid per batch, not
per report: ``bench/ingest.py`` measured the cost (README, Reliability)."""


def open_db(data_dir: str | Path, *, migrate: bool = True) -> sqlite_utils.Database:
    """A connection to the store in ``data_dir`` (created if missing), schema up to date.

    Each thread must open its own: sqlite3 connections stay in the thread that made them.
    """
    directory = Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        directory / DB_NAME, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
    )
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # see DURABILITY
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if migrate:
        MIGRATIONS.apply(db)
    return db


def data_version(db: sqlite_utils.Database) -> int:
    """Changes when another connection commits: a cheap way to notice other processes' writes."""
    return int(db.execute("PRAGMA data_version").fetchone()[0])


def to_db_time(moment: datetime) -> str:
    """UTC ISO 8601, sortable as text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime reached the store")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A write transaction that takes the lock at BEGIN: check-then-insert cannot interleave.

    Two processes booking at once serialise here; the loser waits (busy_timeout), then sees the
    winner's rows when it checks. A full disk, a lock held past the busy timeout or an I/O error
    becomes :class:`~confsched.errors.StoreUnavailable` (nothing was written).
    """
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.conn.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        fault = unavailable(exc)
        if fault is None:
            raise
        raise fault from exc


def bump_revision(db: sqlite_utils.Database, area: str) -> None:
    """Mark ``area`` (inventory, sessions, feeds, keys, …) changed; call inside the write."""
    db.execute(
        "INSERT INTO revisions (area, rev) VALUES (?, 1) "
        "ON CONFLICT(area) DO UPDATE SET rev = rev + 1",
        [area],
    )


def revisions(db: sqlite_utils.Database) -> dict[str, int]:
    return {row[0]: row[1] for row in db.execute("SELECT area, rev FROM revisions").fetchall()}
