"""Whose store it is: the demo marks the stores it runs on, so that it never takes a real fleet's.

A real fleet's store holds the operator's bookings, feed tokens and agents' keys; a demo started
on it would import the sample over the fleet and re-enrol every room's key, locking the real
agents out. The mark is a row of ``fleet_meta`` (there since the first migration, so any store
can be asked, whatever its version).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from confsched.store.db import DB_NAME, immediate

DEMO_KEY = "demo"


@dataclass(frozen=True, slots=True)
class StoredFleet:
    name: str
    endpoints: int
    demo: bool
    """Made by ``confsched demo`` (marked), not by an operator's import."""


def peek_fleet(data_dir: Path) -> StoredFleet | None:
    """The fleet stored in ``data_dir``, or None (no store, or a store without a fleet), read
    without changing anything: no directory or store made, no migration, no file left behind.

    A store with no ``-wal`` beside it holds everything in its one file, so it is read as
    immutable (SQLite then makes no ``-shm``); with a WAL (a scheduler running, or one stopped
    by a crash) it is read through it, read only. A file that is not a store raises
    :class:`sqlite3.DatabaseError`.
    """
    path = data_dir / DB_NAME
    if not path.is_file():
        return None
    wal = path.with_name(DB_NAME + "-wal").exists()
    uri = f"{path.resolve().as_uri()}?{'mode=ro' if wal else 'immutable=1'}"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if not {"fleet_meta", "endpoints"} <= tables:
            return None
        meta = dict(conn.execute("SELECT key, value FROM fleet_meta").fetchall())
        if "name" not in meta:
            return None
        (count,) = conn.execute("SELECT COUNT(*) FROM endpoints").fetchone()
    return StoredFleet(meta["name"], count, meta.get(DEMO_KEY) == "1")


def mark_demo(db: sqlite_utils.Database) -> None:
    """Mark this store as the demo's (kept across the demo's imports of its fleet)."""
    with immediate(db):
        db.execute(
            "INSERT INTO fleet_meta (key, value) VALUES (?, '1') "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [DEMO_KEY],
        )
