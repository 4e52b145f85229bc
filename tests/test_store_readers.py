"""The server's store reads on a pool of read-only connections (issue 17): a long read never
stalls another, no read can write, and the change watcher's data_version is its own."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlite_utils

from confsched.store.db import bump_revision, immediate
from confsched.store.runner import StoreRunner


async def test_a_short_read_is_answered_while_a_long_one_holds_its_connection(
    data_dir: Path,
) -> None:
    runner = StoreRunner(data_dir)
    short_done = threading.Event()

    def long_read(db: sqlite_utils.Database) -> bool:
        db.execute("SELECT count(*) FROM sessions").fetchone()
        return short_done.wait(timeout=30)  # with one reader this would wait the 30 s out

    def short_read(db: sqlite_utils.Database) -> int:
        count = int(db.execute("SELECT count(*) FROM endpoints").fetchone()[0])
        short_done.set()
        return count

    try:
        long_task = asyncio.ensure_future(runner.read(long_read))
        assert await asyncio.wait_for(runner.read(short_read), timeout=10) > 0
        assert await long_task is True
    finally:
        runner.close()


async def test_a_read_connection_refuses_to_write(data_dir: Path) -> None:
    runner = StoreRunner(data_dir)

    def sneaky(db: sqlite_utils.Database) -> None:
        db.execute("DELETE FROM endpoints")

    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await runner.read(sneaky)
        assert await runner.read(
            lambda db: db.execute("SELECT count(*) FROM endpoints").fetchone()[0]
        )
    finally:
        runner.close()


async def test_data_version_moves_only_when_a_commit_happened_since_the_last_look(
    data_dir: Path,
) -> None:
    runner = StoreRunner(data_dir)

    def touch(db: sqlite_utils.Database) -> None:
        with immediate(db):
            bump_revision(db, "inventory")

    try:
        first = await runner.data_version()
        for _ in range(5):  # reads on the pool's connections never disturb it
            await runner.read(lambda db: db.execute("SELECT 1").fetchone())
        assert await runner.data_version() == first
        await runner.write(touch)
        assert await runner.data_version() != first
    finally:
        runner.close()
