"""Keeping what has not changed: each session's event bytes, each feed's whole body and ETag.

A year of sessions is ~2,000 events; serializing them with icalendar takes seconds, joining
their cached bytes a few milliseconds. The catalog knows every session and the feeds it shows
in, so a change invalidates exactly the feeds it touches; the body cache then hands out the same
bytes (and ETag) until then. Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from confsched.calendar.entries import CalendarEntry, FeedKey, feeds_of
from confsched.domain.model import Fleet

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedBody:
    """One feed as served: the document, its strong ETag and its Last-Modified (UTC, seconds)."""

    body: bytes
    etag: str
    last_modified: datetime
    events: int


@dataclass(frozen=True, slots=True)
class Block:
    """A session's serialized VEVENTs and their digest (feed ETags are built from digests)."""

    data: bytes
    digest: bytes

    @classmethod
    def of(cls, data: bytes) -> Block:
        return cls(data, hashlib.blake2b(data, digest_size=16).digest())


class EventCache:
    """Session id -> its rendered event block, valid while the entry's version is unchanged."""

    def __init__(self, render: Callable[[CalendarEntry], bytes]) -> None:
        self._render = render
        self._items: dict[str, tuple[tuple[object, ...], Block]] = {}
        self.renders = 0
        """How many blocks were serialized (tests and the benchmark check reuse with it)."""

    def block(self, entry: CalendarEntry, version: tuple[object, ...] | None = None) -> Block:
        """The entry's block; ``version`` when the caller already knows it (saves its cost)."""
        version = version if version is not None else entry.version()
        held = self._items.get(entry.session.id)
        if held is not None and held[0] == version:
            return held[1]
        block = Block.of(self._render(entry))
        self.renders += 1
        self._items[entry.session.id] = (version, block)
        return block

    def retain(self, session_ids: set[str]) -> None:
        """Drop the blocks of sessions no longer shown anywhere."""
        for session_id in set(self._items) - session_ids:
            del self._items[session_id]

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class BodyCache:
    """Whole feed bodies, least recently served dropped first once over ``budget`` bytes.

    A province-wide session is in every feed; holding every feed's body at once could take
    gigabytes at national scale, so only the feeds clients actually fetch stay. Safe to read
    from the event loop while a worker thread fills it (one short lock per call).
    """

    def __init__(self, budget: int = 256 << 20) -> None:
        self.budget = budget
        self._bodies: OrderedDict[FeedKey, FeedBody] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: FeedKey) -> FeedBody | None:
        with self._lock:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
            return body

    def put(self, key: FeedKey, body: FeedBody) -> None:
        with self._lock:
            self._pop(key)
            self._bodies[key] = body
            self._size += len(body.body)
            while self._size > self.budget and len(self._bodies) > 1:
                _, dropped = self._bodies.popitem(last=False)
                self._size -= len(dropped.body)

    def discard(self, keys: Iterable[FeedKey]) -> None:
        with self._lock:
            for key in keys:
                self._pop(key)

    def _pop(self, key: FeedKey) -> None:
        dropped = self._bodies.pop(key, None)
        if dropped is not None:
            self._size -= len(dropped.body)

    def clear(self) -> None:
        with self._lock:
            self._bodies.clear()
            self._size = 0

    @property
    def size(self) -> int:
        return self._size


class Catalog:
    """Every session the calendar shows, and for each feed the sessions in it."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._entries: dict[str, CalendarEntry] = {}
        self._versions: dict[str, tuple[object, ...]] = {}
        self._feeds: dict[str, frozenset[FeedKey]] = {}
        self._members: dict[FeedKey, set[str]] = {}

    def replace(self, entries: Iterable[CalendarEntry]) -> set[FeedKey]:
        """Take all the store's sessions; return the feeds whose content changed."""
        chosen = list(entries)
        gone = set(self._entries) - {e.session.id for e in chosen}
        return self.apply(chosen, gone)

    def apply(self, changed: Iterable[CalendarEntry], removed: Iterable[str]) -> set[FeedKey]:
        """Take some sessions (new or changed) and forget others; return the feeds touched."""
        affected: set[FeedKey] = set()
        for entry in changed:
            session_id = entry.session.id
            version = entry.version()
            if self._versions.get(session_id) == version:
                continue
            affected |= self._drop(session_id)
            feeds = feeds_of(entry.session, self.fleet)
            self._entries[session_id] = entry
            self._versions[session_id] = version
            self._feeds[session_id] = feeds
            for key in feeds:
                self._members.setdefault(key, set()).add(session_id)
            affected |= feeds
        for session_id in removed:
            affected |= self._drop(session_id)
        return affected

    def _drop(self, session_id: str) -> frozenset[FeedKey]:
        self._entries.pop(session_id, None)
        self._versions.pop(session_id, None)
        feeds = self._feeds.pop(session_id, frozenset())
        for key in feeds:
            self._members.get(key, set()).discard(session_id)
        return feeds

    def entries_in(self, key: FeedKey) -> list[CalendarEntry]:
        """The feed's sessions by first start, then id: the same order every time."""
        chosen = [self._entries[s] for s in self._members.get(key, ())]
        chosen.sort(key=lambda e: (e.session.start, e.session.id))
        return chosen

    def version_of(self, session_id: str) -> tuple[object, ...]:
        return self._versions[session_id]

    def all_entries(self) -> list[CalendarEntry]:
        return list(self._entries.values())

    def session_ids(self) -> set[str]:
        return set(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def feed_body(
    header: bytes,
    blocks: list[Block],
    footer: bytes,
    entries: list[CalendarEntry],
    previous: tuple[str, datetime] | None,
    now: datetime,
) -> FeedBody:
    """The document joined from cached blocks, its ETag, and Last-Modified.

    The ETag hashes the header and the blocks' digests, not the megabytes of the body: the
    same digests in the same order are the same bytes. Last-Modified is the sessions' last
    change.

    When the bytes changed but no session in the feed is newer than what was announced before
    (a session left the feed, or a room was renamed), Last-Modified becomes ``now`` so that
    If-Modified-Since never hides the change.
    """
    body = b"".join([header, *(b.data for b in blocks), footer])
    digests = hashlib.blake2b(header, digest_size=16)
    for block in blocks:
        digests.update(block.digest)
    etag = f'"{digests.hexdigest()}"'
    changed = [e.session.updated_at or e.session.created_at or EPOCH for e in entries]
    modified = max(changed, default=EPOCH).astimezone(UTC).replace(microsecond=0)
    if previous is not None:
        last_etag, last_modified = previous
        if last_etag == etag:
            modified = last_modified
        elif modified <= last_modified:
            modified = max(now.astimezone(UTC), last_modified + timedelta(seconds=1))
            modified = modified.replace(microsecond=0)
    return FeedBody(body, etag, modified, len(entries))
