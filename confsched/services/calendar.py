"""Calendar use cases: invites for a session, feed tokens, and the feed cache of a running server.

The server keeps one ``FeedService``: it knows the live tokens, holds the feed builder (cached
event blocks and feed bodies) and refreshes it when another part of the scheduler (or another
process) changes sessions, feeds or the inventory. Heavy work (reading sessions, serializing
them, assembling bodies) runs off the event loop, on the calendar's own worker thread with its
own read connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlite_utils

from confsched.calendar import ics
from confsched.calendar.cache import FeedBody
from confsched.calendar.entries import FeedKey, FeedKind
from confsched.calendar.feeds import FeedBuilder, all_feeds, subject_name
from confsched.calendar.invitations import sitting_of
from confsched.domain.model import Fleet
from confsched.errors import ConfschedError, InvalidInput, NotFound
from confsched.store import calendar as store
from confsched.store.calendar import calendar_entry
from confsched.store.db import open_db

if TYPE_CHECKING:
    from confsched.server import ServerContext, Stopper

log = logging.getLogger(__name__)
T = TypeVar("T")

# --- use cases for the CLI and the API --------------------------------------------------------


def invite_for_session(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session_id: str,
    method: str | None = None,
    now: datetime | None = None,
    occurrence: datetime | None = None,
) -> bytes:
    """The iTIP invite of one session: REQUEST, or CANCEL once cancelled (``method`` forces one).

    DTSTAMP is the send time (``now``); SEQUENCE is the session's, so a client that saw an
    earlier invite applies this one as an update. ``occurrence`` (a sitting's original start)
    gives that sitting alone, with its RECURRENCE-ID: what was mailed when it was moved or
    cancelled.
    """
    chosen = None
    if method is not None:
        if method.upper() not in (ics.Method.REQUEST, ics.Method.CANCEL):
            raise InvalidInput(f"invite method {method!r}: use request or cancel")
        chosen = ics.Method(method.upper())
    entry = calendar_entry(db, session_id)
    sitting = sitting_of(db, entry, occurrence) if occurrence is not None else None
    return ics.invite(entry, fleet, now or datetime.now(UTC), chosen, sitting=sitting)


def feed_url(base: str, key: FeedKey, token: str) -> str:
    return f"{base.rstrip('/')}/feeds/{key.kind.value}/{token}.ics"


def ensure_feed_tokens(db: sqlite_utils.Database, fleet: Fleet, now: datetime) -> int:
    """Every agency and room gets a feed token the first time it is seen."""
    return store.ensure_tokens(db, all_feeds(fleet), now)


def find_feed(fleet: Fleet, kind: FeedKind, subject: str) -> FeedKey:
    key = FeedKey(kind, subject)
    if subject_name(fleet, key) is None:
        raise NotFound("agency" if kind is FeedKind.AGENCY else "room", subject)
    return key


def rotate_feed(db: sqlite_utils.Database, fleet: Fleet, key: FeedKey, now: datetime) -> str:
    """A new token for the feed; the old URL stops working (a running server: within 1 s)."""
    find_feed(fleet, key.kind, key.subject)
    return store.rotate_token(db, key, now)


def revoke_feed(db: sqlite_utils.Database, fleet: Fleet, key: FeedKey, now: datetime) -> bool:
    find_feed(fleet, key.kind, key.subject)
    return store.revoke_token(db, key, now)


# --- the running server's feeds ---------------------------------------------------------------


def _digest(token: str) -> bytes:
    """Tokens are looked up by hash, so lookup time says nothing about a near-miss token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class FeedService:
    """Live tokens and the feed builder of a running scheduler."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.builder = FeedBuilder(ctx.fleet)
        self._tokens: dict[tuple[FeedKind, bytes], FeedKey] = {}
        self._worker = _Worker(ctx.settings.data_dir)
        self._refresh: asyncio.Task[None] | None = None
        self._dirty = False

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
        """The feed's body: cached (microseconds) or built on the worker thread."""
        await self.settled()
        held = self.builder.cached(key)
        if held is not None:
            return held
        return await self._worker.run(self.builder.body, key, datetime.now(UTC))

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
        if "inventory" in areas:  # names may have changed: start over (before any await)
            self.builder = FeedBuilder(self.ctx.fleet)
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
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refresh
        self._worker.close()


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
        changes = store.changed_entries(db, restart=builder.fresh)
        versions = {e.session.id: e.version() for e in changes.entries}
        keys = {sid: builder.block_key(version) for sid, version in versions.items()}
        affected = builder.apply(changes, self._kept(keys), versions)
        rendered = [(sid, keys[sid], data) for sid, data in builder.take_rendered()]
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


async def _record_base_url(ctx: ServerContext) -> None:
    """Tell ``feeds list`` (another process) where this server answers, once HTTP is bound."""
    settings = ctx.settings
    if not settings.public_url:
        for _ in range(200):
            if "http_port" in ctx.components:
                break
            await asyncio.sleep(0.05)
    port = ctx.components.get("http_port", settings.http_port)
    url = settings.public_url or f"http://{settings.http_host}:{port}"
    await ctx.store.write(store.set_base_url, url)


async def start(ctx: ServerContext) -> Stopper:
    """Start hook: tokens for every feed, every session serialized in the background (a year:
    seconds; requests meanwhile wait for it), and the change listener."""
    service = FeedService(ctx)
    await ctx.store.write(ensure_feed_tokens, ctx.fleet, datetime.now(UTC))
    await service.load_tokens()
    ctx.components["calendar"] = service
    ctx.on_change(service.on_change)
    service.sessions_changed()  # before HTTP starts: no request sees an empty catalog
    base_task = asyncio.get_running_loop().create_task(_record_base_url(ctx))

    async def stop() -> None:
        base_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await base_task
        await service.close()

    return stop
