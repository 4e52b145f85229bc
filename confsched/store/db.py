"""Opening the database: one file in the data directory, WAL, foreign keys, migrations applied."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from confsched.config import PRIVATE_FILE, private_dir
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


def open_db(
    data_dir: str | Path, *, migrate: bool = True, read_only: bool = False
) -> sqlite_utils.Database:
    """A connection to the store in ``data_dir`` (created if missing), schema up to date.

    Each thread must open its own: sqlite3 connections stay in the thread that made them.
    ``read_only``: refuses every write (``query_only``) and may be closed from another thread
    once no thread uses it (the server's pool of readers is closed that way).
    """
    path = private_dir(Path(data_dir)) / DB_NAME
    private_sqlite_file(path)
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=not read_only,
    )
    # No sqlite-utils plugins: looking for them scans every installed package's entry points,
    # a cost each CLI command paid on opening the store (none is installed or wanted).
    db = sqlite_utils.Database(conn, execute_plugins=False)
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # see DURABILITY
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if migrate and not read_only:
        MIGRATIONS.apply(db)
    if read_only:
        db.execute("PRAGMA query_only=ON")
    return db


def private_sqlite_file(path: Path) -> None:
    """A SQLite file (the store, the calendar cache) exists with mode 600 before SQLite opens
    it, whatever the umask (SQLite gives its ``-wal`` and ``-shm`` files the database file's
    mode); files an older version made are closed to others too.

    The file is never opened here once it exists: closing any descriptor of a file drops every
    POSIX lock this process holds on it, including those of the store connections other
    threads have open. Another process (a CLI command) would then take itself for the last
    user, checkpoint and delete the WAL and ``-shm`` under the running server, which would stop
    seeing other processes' writes. So a new file is made under a temporary name, closed, and
    only then linked into place (failing if another process made the store meanwhile).
    """
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".new-store-")  # mode 600
        os.close(fd)
        try:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        with contextlib.suppress(FileNotFoundError):
            (path.parent / name).chmod(PRIVATE_FILE)


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
