"""The feed cache of a running server: live tokens, cached feed bodies, refreshed on change.

The server keeps one :class:`FeedService`: it knows the live tokens, holds the feed builder
(cached event blocks and feed bodies) and refreshes it when another part of the scheduler (or
another process) changes sessions, feeds or the inventory. Heavy work (reading sessions,
serializing them, assembling bodies) runs off the event loop, on the calendar's own worker
thread with its own read connection. It is a runtime component: ``start`` / ``stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from confsched.calendar.cache import FeedBody, Rendered
from confsched.calendar.feeds import FeedBuilder
from confsched.calendar.tokens import ensure_feed_tokens
from confsched.domain.calendar import FeedKey, FeedKind
from confsched.errors import ConfschedError
from confsched.server import ServerContext
from confsched.store import calendar as store
from confsched.store.db import open_db

log = logging.getLogger(__name__)
T = TypeVar("T")
GZIP_LEVEL = 6
"""A year's feed (~2 MB) compresses to ~50 KB in ~30 ms, once per change, off the event loop."""
GZIP_KEPT = 256
"""Compressed bodies kept (most recently served); the others are compressed again on demand."""


def gzip_etag(etag: str) -> str:
    """The compressed representation's own strong ETag (RFC 9110 §8.8.3)."""
    return etag[:-1] + '-gz"'


def _digest(token: str) -> bytes:
    """Tokens are looked up by hash, so lookup time says nothing about a near-miss token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class FeedService:
    """Live tokens and the feed builder of a running scheduler."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.builder = FeedBuilder(ctx.fleet, ctx.settings.feed_history)
        self._tokens: dict[tuple[FeedKind, bytes], FeedKey] = {}
        self._worker = _Worker(ctx.settings.data_dir)
        self._refresh: asyncio.Task[None] | None = None
        self._warming: asyncio.Task[None] | None = None
        self._dirty = False
        self._gzipped: OrderedDict[str, tuple[str, bytes]] = OrderedDict()

    async def start(self) -> None:
        """The change listener now; in the background, tokens for every feed (a write and a
        read of 10,000 rows at national scale), then every session serialized (a year:
        seconds). HTTP opens meanwhile, since no API read needs the feeds: a feed request
        waits for the tokens (:meth:`ready`), then for the sessions (:meth:`settled`)."""
        self.ctx.on_change(self.on_change)
        self._warming = self._begin_warm_up()

    def _begin_warm_up(self) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._warm_up())
        task.add_done_callback(_log_failure)
        return task

    async def _warm_up(self) -> None:
        await self.ctx.store.write(ensure_feed_tokens, self.ctx.fleet, datetime.now(UTC))
        await self.load_tokens()
        self.sessions_changed()

    async def ready(self) -> None:
        """Return once every feed's token is known (at once after start-up's warm-up). A
        warm-up that failed (the store unavailable) is tried again, and its error raised to
        the request (a 503), never a 404 for a token that is good."""
        task = self._warming
        if task is None:
            return
        if task.done() and (task.cancelled() or task.exception() is not None):
            task = self._warming = self._begin_warm_up()
        await asyncio.shield(task)

    async def stop(self) -> None:
        await self.close()

    async def publish_base_url(self, url: str) -> None:
        """Tell ``feeds list`` (another process) where this server answers, once HTTP is bound:
        ``url`` is the one others reach it by (never ``http://0.0.0.0:…``)."""
        await self.ctx.store.write(store.set_base_url, url)

    # tokens

    def lookup(self, kind: FeedKind, token: str) -> FeedKey | None:
        return self._tokens.get((kind, _digest(token)))

    async def load_tokens(self) -> None:
        tokens = await self.ctx.store.read(store.live_tokens)
        self._tokens = {(t.key.kind, _digest(t.token)): t.key for t in tokens}

    # feeds

    async def settled(self) -> None:
        """Return once every change noticed so far is in the cache."""
        while self._refresh is not None and not self._refresh.done():
            await asyncio.shield(self._refresh)

    async def feed(self, key: FeedKey) -> FeedBody | None:
        """The feed's body: cached (microseconds) or built on the worker thread (after the
        sessions that left the history window are dropped)."""
        await self.settled()
        now = datetime.now(UTC)
        expiry = self.builder.catalog.next_expiry
        if expiry is not None and expiry < now:
            await self._worker.run(self.builder.expire, now)
        held = self.builder.cached(key)
        if held is not None:
            return held
        return await self._worker.run(self.builder.body, key, now)

    async def gzipped(self, key: FeedKey, feed: FeedBody) -> bytes:
        """``feed`` compressed: kept until the feed changes, compressed on the worker thread."""
        held = self._gzipped.get(str(key))
        if held is not None and held[0] == feed.etag:
            self._gzipped.move_to_end(str(key))
            return held[1]
        data = await self._worker.run(_compress, feed)
        self._gzipped[str(key)] = (feed.etag, data)
        self._gzipped.move_to_end(str(key))
        while len(self._gzipped) > GZIP_KEPT:
            self._gzipped.popitem(last=False)
        return data

    def sessions_changed(self) -> asyncio.Task[None]:
        """Re-read the sessions (once more if they change again meanwhile)."""
        self._dirty = True
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.get_running_loop().create_task(self._run_refresh())
        return self._refresh

    async def _run_refresh(self) -> None:
        while self._dirty:
            self._dirty = False
            try:
                affected = await self._worker.run(self._worker.refresh, self.builder)
            except (sqlite3.Error, ConfschedError):
                # Feeds keep their last good state; the next change notice tries again.
                log.exception("calendar: cannot refresh the feeds")
                return
            log.debug("calendar: %d feeds changed", len(affected))

    async def on_change(self, areas: set[str]) -> None:
        await self.ready()  # what the warm-up reads is older than the change
        if "inventory" in areas:  # names may have changed: start over (before any await)
            self.builder = FeedBuilder(self.ctx.fleet, self.ctx.settings.feed_history)
            self.sessions_changed()
            now = datetime.now(UTC)
            await self.ctx.store.write(ensure_feed_tokens, self.ctx.fleet, now)
            await self.load_tokens()
            return
        if "sessions" in areas:
            self.sessions_changed()
        if "feeds" in areas:
            await self.load_tokens()

    async def close(self) -> None:
        for task in (self._warming, self._refresh):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._worker.close()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("calendar: feed tokens not loaded: %s", task.exception())


def _compress(feed: FeedBody) -> bytes:
    """mtime 0: the same body always compresses to the same bytes."""
    return gzip.compress(feed.body, GZIP_LEVEL, mtime=0)


def _unpacked(blobs: dict[str, bytes]) -> dict[str, Rendered]:
    """Kept blobs that read back (one that does not is serialized again)."""
    found = {}
    for session_id, blob in blobs.items():
        try:
            found[session_id] = Rendered.unpack(blob)
        except (ValueError, TypeError):
            log.warning("calendar: kept events of %s unreadable; serializing again", session_id)
    return found


class _Worker:
    """The calendar's own thread: it owns the builder's state and a read connection.

    Its own connection (WAL lets readers run side by side) means a refresh never queues behind
    other components' reads on the shared store reader after a change.
    """

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="calendar")
        self._db: sqlite_utils.Database | None = None
        self._blocks: sqlite3.Connection | None = None
        self._blocks_failed = False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(fn, *args))

    def refresh(self, builder: FeedBuilder) -> set[str]:
        """On the worker: re-read only the sessions changed since the last refresh, serialize
        those not kept from an earlier run, keep the new bytes, drop the feeds touched."""
        db = self._connection()
        history = builder.catalog.history
        since = datetime.now(UTC) - history - timedelta(days=1) if history is not None else None
        changes = store.changed_entries(db, restart=builder.fresh, since=since)
        versions = {e.session.id: e.version() for e in changes.entries}
        keys = {sid: builder.block_key(version) for sid, version in versions.items()}
        kept = _unpacked(self._kept(keys))
        affected = builder.apply(changes, datetime.now(UTC), kept, versions)
        rendered = [(sid, keys[sid], data.pack()) for sid, data in builder.take_rendered()]
        self._keep(rendered, changes.removed)
        store.mark_seen(db, changes)
        return affected

    def _kept(self, keys: dict[str, bytes]) -> dict[str, bytes]:
        blocks = self._block_file()
        if blocks is None:
            return {}
        try:
            return store.stored_blocks(blocks, keys)
        except sqlite3.Error:
            self._drop_block_file()
            return {}

    def _keep(self, rendered: list[tuple[str, bytes, bytes]], removed: set[str]) -> None:
        blocks = self._block_file()
        if blocks is None:
            return
        try:
            store.save_blocks(blocks, rendered, removed)
        except sqlite3.Error:
            self._drop_block_file()

    def _block_file(self) -> sqlite3.Connection | None:
        """The kept event bytes; without them (unwritable, broken) everything still works."""
        if self._blocks is None and not self._blocks_failed:
            try:
                self._blocks = store.open_blocks(self._data_dir)
            except sqlite3.Error:
                self._drop_block_file()
        return self._blocks

    def _drop_block_file(self) -> None:
        log.warning("calendar: block cache in %s unusable", self._data_dir, exc_info=True)
        self._blocks_failed = True
        if self._blocks is not None:
            self._blocks.close()
            self._blocks = None

    def _connection(self) -> sqlite_utils.Database:
        if self._db is None:
            self._db = open_db(self._data_dir, migrate=False)
        return self._db

    def close(self) -> None:
        self._pool.submit(self._close_connection).result()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _close_connection(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._blocks is not None:
            self._blocks.close()
            self._blocks = None
