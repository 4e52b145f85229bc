"""Store access for the asyncio server: one writer thread, a pool of readers, never the loop.

Every write goes through the single writer (SQLite allows one at a time anyway, and a queue in
front of it is cheaper than lock contention). Reads run on a small pool of read-only
connections (``query_only``), so a long read (a month of sessions at 10,000 rooms) never stalls
another (a session's detail), nor a write (WAL lets them all run side by side). The change
watcher's ``PRAGMA data_version`` has a thread and connection of its own: its value only means
something compared with an earlier one from the same connection.

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

T = TypeVar("T")

READERS = 3
"""Read connections: more than one, so a long read never holds up a short one; few, because
the reads are mostly Python (the GIL) and the machine may have two cores."""


class StoreRunner:
    def __init__(self, data_dir: Path, readers: int = READERS) -> None:
        self.data_dir = data_dir
        open_db(data_dir).close()  # create and migrate once, before any thread opens it
        self._local = threading.local()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="store-reader")
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
        """Run ``fn(db, *args)`` on one of the read-only connections."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, partial(self._read_call, fn, args))

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
        for db in self._read_dbs:  # no reader thread is left to use them
            db.close()
        self._read_dbs.clear()

    def _close_local(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
