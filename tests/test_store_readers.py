"""The server's store reads on read-only connections (issue 17): a long read never stalls
another, short reads have a lane of their own and go first at a long read's checkpoints, no
read can write, and the change watcher's data_version is its own."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from unittest import mock

import pytest
import sqlite_utils

from confsched.store.db import bump_revision, immediate
from confsched.store.pacing import checkpoint, paced, pausing
from confsched.store.runner import LONG_READERS, ShortReads, StoreRunner


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


async def test_short_reads_never_queue_behind_long_ones(data_dir: Path) -> None:
    """Every long-read connection busy, one more long read queued: a short read still runs."""
    runner = StoreRunner(data_dir)
    release = threading.Event()

    def long_read(db: sqlite_utils.Database) -> bool:
        db.execute("SELECT count(*) FROM sessions").fetchone()
        return release.wait(timeout=30)

    try:
        longs = [
            asyncio.ensure_future(runner.read_long(long_read)) for _ in range(LONG_READERS + 1)
        ]
        count = await asyncio.wait_for(
            runner.read(lambda db: db.execute("SELECT count(*) FROM endpoints").fetchone()[0]),
            timeout=10,
        )
        assert count > 0
        assert not any(task.done() for task in longs)
        release.set()
        assert await asyncio.gather(*longs) == [True] * (LONG_READERS + 1)
    finally:
        release.set()
        runner.close()


async def test_a_long_read_waits_at_its_checkpoints_while_a_short_read_runs(
    data_dir: Path,
) -> None:
    """The short read is let through first: the long one, at its checkpoint, waits for it."""
    runner = StoreRunner(data_dir)
    order: list[str] = []
    short_running = threading.Event()
    at_checkpoint = threading.Event()

    def short_read(db: sqlite_utils.Database) -> None:
        short_running.set()
        assert at_checkpoint.wait(timeout=10)
        time.sleep(0.005)  # the long read, at its checkpoint, must still be waiting
        order.append("short")

    def long_read(db: sqlite_utils.Database) -> None:
        assert short_running.wait(timeout=10)
        at_checkpoint.set()
        checkpoint()
        order.append("long")

    try:
        # PRIORITY long enough for any loaded machine: the short read ends far sooner.
        with mock.patch("confsched.store.runner.PRIORITY", 30.0):
            short = asyncio.ensure_future(runner.read(short_read))
            await asyncio.wait_for(runner.read_long(long_read), timeout=20)
            await short
        assert order == ["short", "long"]
    finally:
        runner.close()


def test_a_short_read_keeps_its_priority_only_while_it_is_young() -> None:
    reads = ShortReads()
    reads.wait()  # none in flight: at once
    token = reads.begin()
    started = time.monotonic()
    reads.wait(priority=0.0)  # begun longer ago than the priority: not waited for
    assert time.monotonic() - started < 5
    waiter = threading.Thread(target=reads.wait, kwargs={"priority": 30.0})
    waiter.start()
    waiter.join(timeout=0.05)
    assert waiter.is_alive()  # waits while the young read runs
    reads.end(token)
    waiter.join(timeout=10)
    assert not waiter.is_alive()


def test_a_checkpoint_outside_a_long_read_does_nothing() -> None:
    calls: list[int] = []
    checkpoint()
    with pausing(lambda: calls.append(1)):
        assert list(paced("ab")) == ["a", "b"]
        checkpoint()
    checkpoint()
    assert calls == [1, 1, 1]
