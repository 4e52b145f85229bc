"""Keeping what has not changed: each session's event bytes, each feed's whole body and ETag.

A year of sessions is ~2,000 events; serializing them with icalendar takes seconds, joining
their cached bytes a few milliseconds. The catalog knows every session and the feeds it shows
in, so a change invalidates exactly the feeds it touches; the body cache then hands out the same
bytes (and ETag) until then. Nothing here does I/O or reads the clock.

The catalog holds only what the feeds show: sessions whose last sitting ended within the
history window (default 30 days) or later. Older ones are never serialized, and those that age
out are dropped (``expire``), so the cache stays bounded however long the scheduler runs.

A room's feed names only the bridge the room dials, so a session has one block for the agency
feeds and one per distinct set of bridges its rooms dial (rooms of one bridge share it).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from confsched.domain.calendar import CalendarEntry, FeedKey, FeedKind, last_end
from confsched.domain.model import Fleet, Session

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedBody:
    """One feed as served: its parts, strong ETag and Last-Modified (UTC, whole seconds).

    The document is never joined into one buffer: its parts are the header, the event blocks
    (the very bytes objects the event cache holds, shared by every feed showing the session)
    and the footer. A feed body costs a pointer per event, and a rebuild allocates nothing big.
    """

    parts: tuple[bytes, ...]
    etag: str
    last_modified: datetime
    events: int
    length: int

    @property
    def body(self) -> bytes:
        """The whole document in one buffer (tests, tools; the server writes the parts)."""
        return b"".join(self.parts)


@dataclass(frozen=True, slots=True)
class Block:
    """A session's serialized VEVENTs and their digest (feed ETags are built from digests)."""

    data: bytes
    digest: bytes

    @classmethod
    def of(cls, data: bytes) -> Block:
        return cls(data, hashlib.blake2b(data, digest_size=16).digest())


@dataclass(frozen=True, slots=True)
class Rendered:
    """A session's event bytes for the agency feeds, and per room those of the room's feed
    (the same bytes object for rooms dialling the same bridges)."""

    general: bytes
    rooms: Mapping[str, bytes] = field(default_factory=dict)

    def pack(self) -> bytes:
        """One blob to keep across restarts: a JSON index line, then the parts' bytes."""
        distinct: dict[int, tuple[bytes, list[str]]] = {}
        for room, data in self.rooms.items():
            distinct.setdefault(id(data), (data, []))[1].append(room)
        parts = [(rooms, data) for data, rooms in distinct.values()]
        index = [len(self.general), *([rooms, len(data)] for rooms, data in parts)]
        head = json.dumps(index, separators=(",", ":")).encode()
        return b"\n".join([head, self.general, *(data for _, data in parts)])

    @classmethod
    def unpack(cls, blob: bytes) -> Rendered:
        head, _, rest = blob.partition(b"\n")
        general_length, *parts = json.loads(head)
        general, at = rest[:general_length], general_length + 1
        rooms: dict[str, bytes] = {}
        for names, length in parts:
            data = rest[at : at + length]
            at += length + 1
            rooms.update(dict.fromkeys(names, data))
        return cls(general, rooms)


@dataclass(frozen=True, slots=True)
class Item:
    """What a feed needs of one session once its events are serialized: a handful of objects.

    The session itself is not kept: a year of Session values is a hundred thousand objects
    that every full garbage collection would walk (tens of milliseconds here, on the event
    loop's thread as well).
    """

    session_id: str
    start: datetime
    changed_at: datetime
    version: bytes
    block: Block
    feeds: tuple[str, ...]
    """The feeds showing it, by ``str(FeedKey)`` (strings hash once; a year of sessions has a
    hundred thousand memberships to index)."""
    room_blocks: Mapping[str, Block]
    """Room id -> the block of that room's feed (its own bridge); missing: ``block``."""
    until: datetime | None
    """When its last sitting ends (None: never); it leaves the feeds a window after that."""

    def block_for(self, key: FeedKey) -> Block:
        if key.kind is FeedKind.ROOM:
            return self.room_blocks.get(key.subject, self.block)
        return self.block


class BodyCache:
    """Feed bodies ready to serve, the least recently served dropped beyond ``capacity``.

    Bodies share their event blocks, so each costs a pointer per event; the bound only keeps
    a national fleet's thousands of rarely fetched feeds from piling up. Safe to read from the
    event loop while a worker thread fills it (one short lock per call).
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._bodies: OrderedDict[str, FeedBody] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> FeedBody | None:
        with self._lock:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
            return body

    def put(self, key: str, body: FeedBody) -> None:
        with self._lock:
            self._bodies.pop(key, None)
            self._bodies[key] = body
            while len(self._bodies) > self.capacity:
                self._bodies.popitem(last=False)

    def discard(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._bodies.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._bodies.clear()

    def __len__(self) -> int:
        return len(self._bodies)


class Catalog:
    """Every session the calendar shows, serialized, and for each feed the sessions in it.

    Feeds are named by ``str(FeedKey)`` here ("agency:ubnd-tinh", "room:dt-hung-son").
    ``history``: how long after its last sitting a session stays (None: for ever).
    """

    def __init__(
        self,
        fleet: Fleet,
        render: Callable[[CalendarEntry], Rendered],
        history: timedelta | None = None,
    ) -> None:
        self.fleet = fleet
        self.history = history
        self._tz = ZoneInfo(fleet.timezone)
        self._render = render
        self._expiry: list[tuple[datetime, str]] = []
        self._items: dict[str, Item] = {}
        self._members: dict[str, set[str]] = {}
        self._room_feeds = {
            e.id: (str(FeedKey(FeedKind.ROOM, e.id)), str(FeedKey(FeedKind.AGENCY, e.agency)))
            for e in fleet.endpoints.values()
        }

    def replace(self, entries: Iterable[CalendarEntry], now: datetime) -> set[str]:
        """Take all the store's sessions; return the feeds whose content changed."""
        chosen = list(entries)
        gone = set(self._items) - {e.session.id for e in chosen}
        return self.apply(chosen, gone, now)

    def apply(
        self,
        changed: Iterable[CalendarEntry],
        removed: Iterable[str],
        now: datetime,
        versions: Mapping[str, bytes] | None = None,
    ) -> set[str]:
        """Take new or changed sessions (serialized now), forget others; the feeds touched.

        Sessions over before the history window (from ``now``) are not serialized at all.
        ``versions``: the entries' ``version()`` when the caller has them already. Serializing
        a year takes seconds on a cold start: every ~2 ms of it, the event loop's thread gets
        the GIL at once instead of after the 5 ms switch interval.
        """
        affected: set[str] = set()
        known = versions or {}
        breath = time.perf_counter()
        for entry in changed:
            until = last_end(entry, self._tz)
            if self._aged(until, now):
                affected |= self._drop(entry.session.id)
                continue
            version = known.get(entry.session.id) or entry.version()
            held = self._items.get(entry.session.id)
            if held is not None and held.version == version:
                continue
            affected |= self._drop(entry.session.id)
            item = self._item(entry, version, until)
            self._items[item.session_id] = item
            if until is not None and self.history is not None:
                heapq.heappush(self._expiry, (until + self.history, item.session_id))
            for name in item.feeds:
                self._members.setdefault(name, set()).add(item.session_id)
            affected.update(item.feeds)
            if time.perf_counter() - breath > 0.002:
                time.sleep(0)
                breath = time.perf_counter()
        for session_id in removed:
            affected |= self._drop(session_id)
        return affected

    def _aged(self, until: datetime | None, now: datetime) -> bool:
        return until is not None and self.history is not None and until + self.history < now

    @property
    def next_expiry(self) -> datetime | None:
        """When the next session leaves the window (then ``expire`` has work)."""
        return self._expiry[0][0] if self._expiry else None

    def expire(self, now: datetime) -> set[str]:
        """Drop the sessions that left the window by ``now``; the feeds touched."""
        affected: set[str] = set()
        while self._expiry and self._expiry[0][0] < now:
            _, session_id = heapq.heappop(self._expiry)
            item = self._items.get(session_id)
            if item is not None and self._aged(item.until, now):
                affected |= self._drop(session_id)
        return affected

    def _item(self, entry: CalendarEntry, version: bytes, until: datetime | None) -> Item:
        session = entry.session
        rendered = self._render(entry)
        shared: dict[int, Block] = {}
        rooms = {
            room: shared.setdefault(id(data), Block.of(data))
            for room, data in rendered.rooms.items()
        }
        changed_at = session.updated_at or session.created_at or EPOCH
        return Item(
            session.id,
            session.start,
            changed_at,
            version,
            Block.of(rendered.general),
            self._feeds(session),
            rooms,
            until,
        )

    def _feeds(self, session: Session) -> tuple[str, ...]:
        """As ``entries.feeds_of``, by name, from lookups prepared once per fleet."""
        names = {str(FeedKey(FeedKind.AGENCY, session.organizer))}
        for endpoint_id in session.endpoints:
            pair = self._room_feeds.get(endpoint_id)
            if pair is not None:
                names.update(pair)
            else:  # a room since removed from the fleet
                names.add(str(FeedKey(FeedKind.ROOM, endpoint_id)))
        return tuple(names)

    def _drop(self, session_id: str) -> set[str]:
        item = self._items.pop(session_id, None)
        if item is None:
            return set()
        for name in item.feeds:
            self._members.get(name, set()).discard(session_id)
        return set(item.feeds)

    def items_in(self, key: FeedKey) -> list[Item]:
        """The feed's sessions by first start, then id: the same order every time."""
        chosen = [self._items[s] for s in self._members.get(str(key), ())]
        chosen.sort(key=lambda i: (i.start, i.session_id))
        return chosen

    def __len__(self) -> int:
        return len(self._items)


def feed_body(
    header: bytes,
    blocks: list[tuple[Item, Block]],
    footer: bytes,
    previous: tuple[str, datetime] | None,
    now: datetime,
) -> FeedBody:
    """The document's parts, its ETag, and Last-Modified.

    The ETag hashes the header and the blocks' digests, not the megabytes of the body: the
    same digests in the same order are the same bytes. Last-Modified is the sessions' last
    change.

    When the bytes changed but no session in the feed is newer than what was announced before
    (a session left the feed, or a room was renamed), Last-Modified becomes ``now`` so that
    If-Modified-Since never hides the change.
    """
    parts = (header, *(b.data for _, b in blocks), footer)
    digests = hashlib.blake2b(header, digest_size=16)
    for _, block in blocks:
        digests.update(block.digest)
    etag = f'"{digests.hexdigest()}"'
    changed = max((i.changed_at for i, _ in blocks), default=EPOCH)
    modified = changed.astimezone(UTC).replace(microsecond=0)
    if previous is not None:
        last_etag, last_modified = previous
        if last_etag == etag:
            modified = last_modified
        elif modified <= last_modified:
            modified = max(now.astimezone(UTC), last_modified + timedelta(seconds=1))
            modified = modified.replace(microsecond=0)
    return FeedBody(parts, etag, modified, len(blocks), sum(len(p) for p in parts))
