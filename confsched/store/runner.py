"""Store access for the asyncio server: one writer thread, a pool of readers, never the loop.

Every write goes through the single writer (SQLite allows one at a time anyway, and a queue in
front of it is cheaper than lock contention). Reads run on read-only connections
(``query_only``) beside it (WAL lets them all run side by side), in two lanes:

* short reads (``read``: a session's detail, a key look-up, a poll) on a pool of their own;
* long reads (``read_long``: a month of sessions at 10,000 rooms, megabytes of JSON) on
  another, so however many listings run, a short read never waits for a connection.

Separate connections are not enough on their own: both lanes are mostly Python, and a thread
that wants the GIL while a listing holds it waits up to the switch interval (5 ms) each time it
asks, a dozen times per detail (every query gives it up and takes it back). A detail of 1 ms
took 20-40 ms while two listings ran. So a short read in flight has priority: long reads call
:meth:`StoreRunner.pause_for_short` between their steps, which waits (GIL released) while any
short read is running, for its first ``PRIORITY`` seconds only, so that short reads slow a
listing but a slow one never stops it. The loops of a long read reach it through
:func:`confsched.store.pacing.checkpoint`, set for the long-read threads only.

The change watcher's ``PRAGMA data_version`` has a thread and connection of its own: its value
only means something compared with an earlier one from the same connection.

The runner also keeps the store's :class:`~confsched.store.faults.FaultState` from the outcome of
every write, so that ``/healthz`` and the metrics can tell a full disk without touching SQLite.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from confsched.errors import StoreUnavailable
from confsched.store.db import data_version, open_db
from confsched.store.faults import FaultState, unavailable
from confsched.store.pacing import pausing

T = TypeVar("T")

READERS = 3
"""Short-read connections: more than one, so that one slow short read (a slot search) does
not hold up the others; few, because the reads are mostly Python (the GIL)."""
LONG_READERS = 2
"""Long-read connections: two listings at once (the machine may have two cores); more wait
their turn here, never in the short lane."""
PRIORITY = 0.02
"""How long a short read keeps its priority over long reads (seconds): a detail takes about a
millisecond; a read that runs longer than this (a forecast, a slot search) is no longer let
past the listings, so that long reads are slowed by short ones but never stopped."""


class ShortReads:
    """The short reads in flight, and when each began; long reads wait for those younger
    than ``PRIORITY``.

    Begun and ended on the event loop, waited on in long-read threads: a condition, not asyncio
    primitives."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._began: dict[int, float] = {}
        self._next = 0

    def begin(self) -> int:
        with self._changed:
            self._next += 1
            self._began[self._next] = time.monotonic()
            return self._next

    def end(self, token: int) -> None:
        with self._changed:
            del self._began[token]
            self._changed.notify_all()

    def wait(self, priority: float | None = None) -> None:
        """Until no short read begun less than ``priority`` seconds (``PRIORITY``) ago is in
        flight."""
        if not self._began:  # the usual case, without taking the lock
            return
        priority = PRIORITY if priority is None else priority
        with self._changed:
            while self._began:
                left = max(self._began.values()) + priority - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)


class StoreRunner:
    def __init__(
        self, data_dir: Path, readers: int = READERS, long_readers: int = LONG_READERS
    ) -> None:
        self.data_dir = data_dir
        open_db(data_dir).close()  # create and migrate once, before any thread opens it
        self._local = threading.local()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="store-reader")
        self._long_readers = ThreadPoolExecutor(long_readers, thread_name_prefix="store-long")
        self.short_reads = ShortReads()
        self._read_dbs: list[sqlite_utils.Database] = []
        self._watcher = ThreadPoolExecutor(1, thread_name_prefix="store-watch")
        self.faults = FaultState()

    def _db(self) -> sqlite_utils.Database:
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            db = open_db(self.data_dir, migrate=False)
            self._local.db = db
        return db

    def _read_call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """On a reader thread: its own connection, refusing writes, kept to close with the pool."""
        db: sqlite_utils.Database | None = getattr(self._local, "read_db", None)
        if db is None:
            db = open_db(self.data_dir, read_only=True)
            self._local.read_db = db
            self._read_dbs.append(db)
        return fn(db, *args)

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        return fn(self._db(), *args)

    def _write_call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[T, bool]:
        """``fn``'s result, and whether it changed rows: a write that changed nothing (a pass
        with nothing to do) proves nothing about a full disk. A write outside
        :func:`~confsched.store.db.immediate` meets faults too."""
        db = self._db()
        before = db.conn.total_changes
        try:
            return fn(db, *args), db.conn.total_changes != before
        except sqlite3.OperationalError as exc:
            fault = unavailable(exc)
            if fault is None:
                raise
            raise fault from exc

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(db, *args)`` on the writer thread; a store fault raises
        :class:`~confsched.errors.StoreUnavailable` and is recorded in ``faults``."""
        loop = asyncio.get_running_loop()
        try:
            result, wrote = await loop.run_in_executor(
                self._writer, partial(self._write_call, fn, args)
            )
        except StoreUnavailable as exc:
            self.faults.failed(exc.reason, time.time())
            raise
        if wrote:
            self.faults.succeeded()
        return result

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(db, *args)`` on one of the short-read connections; long reads pause for it."""
        loop = asyncio.get_running_loop()
        token = self.short_reads.begin()
        try:
            return await loop.run_in_executor(self._readers, partial(self._read_call, fn, args))
        finally:
            self.short_reads.end(token)

    async def read_long(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(db, *args)`` on one of the long-read connections: a read whose cost grows
        with what it returns (a listing). ``fn`` should call :meth:`pause_for_short` between
        its steps (:func:`~confsched.store.pacing.checkpoint`)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._long_readers, partial(self._long_call, fn, args))

    def _long_call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with pausing(self.pause_for_short):
            return self._read_call(fn, args)

    def pause_for_short(self) -> None:
        """In a long read: let the short reads in flight run first (see ``PRIORITY``)."""
        self.short_reads.wait()

    async def data_version(self) -> int:
        """``PRAGMA data_version`` of the watcher's own connection: it differs from the last
        value read here whenever another connection (the writer too) committed meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._watcher, partial(self._call, data_version, ()))

    def close(self) -> None:
        for pool in (self._writer, self._watcher):
            pool.submit(self._close_local).result()
            pool.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._long_readers.shutdown(wait=True)
        for db in self._read_dbs:  # no reader thread is left to use them
            db.close()
        self._read_dbs.clear()

    def _close_local(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
