"""Store access for the asyncio server: one writer thread, one reader thread, never the loop.

Every write goes through the single writer (SQLite allows one at a time anyway, and a queue in
front of it is cheaper than lock contention); reads use their own connection so that a long
write never delays the API (WAL lets them run side by side).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from confsched.store.db import open_db

T = TypeVar("T")


class StoreRunner:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        open_db(data_dir).close()  # create and migrate once, before any thread opens it
        self._local = threading.local()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="store-reader")

    def _db(self) -> sqlite_utils.Database:
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            db = open_db(self.data_dir, migrate=False)
            self._local.db = db
        return db

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        return fn(self._db(), *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(db, *args)`` on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, partial(self._call, fn, args))

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(db, *args)`` on the reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, partial(self._call, fn, args))

    def close(self) -> None:
        for pool in (self._writer, self._reader):
            pool.submit(self._close_local).result()
            pool.shutdown(wait=True)

    def _close_local(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
