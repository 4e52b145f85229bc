"""Feed documents from cached parts: the builder the server keeps between requests.

``update``/``apply`` take the store's sessions (serializing only new or changed ones) and drop
exactly the feed bodies they change; ``body`` hands out a cached body or assembles one from the
serialized blocks. Synchronous and without I/O: the server calls it on one worker thread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from confsched import __version__
from confsched.calendar import cache as cache_module
from confsched.calendar import ics, text
from confsched.calendar.cache import EPOCH, BodyCache, Catalog, FeedBody, Rendered, feed_body
from confsched.calendar.tokens import subject_name
from confsched.domain import calendar as entries_module
from confsched.domain.calendar import (
    CalendarEntry,
    FeedKey,
    SessionChanges,
)
from confsched.domain.model import Fleet

FEED_TITLE = "Lịch họp trực tuyến"
HISTORY = timedelta(days=30)
"""Feeds keep a session this long after its last sitting (``serve --feed-history``)."""


@cache
def render_digest() -> bytes:
    """Changes with the code that writes the bytes, so stored blocks never outlive it."""
    digest = hashlib.blake2b(__version__.encode(), digest_size=16)
    for module in (ics, text, entries_module, cache_module):
        if module.__file__:
            digest.update(Path(module.__file__).read_bytes())
    return digest.digest()


def room_variants(entry: CalendarEntry, fleet: Fleet) -> dict[tuple[str | None, ...], list[str]]:
    """The session's rooms grouped by the bridges they dial (the series', then each moved
    sitting's): rooms of one group read the same words in their feeds."""
    session = entry.session
    allocations = [session.allocation, *(o.allocation or session.allocation for o in entry.moved)]
    groups: dict[tuple[str | None, ...], list[str]] = {}
    for endpoint_id in session.endpoints:
        if endpoint_id in fleet.endpoints:
            bridges = tuple(text.dialled_bridge(fleet, a, endpoint_id) for a in allocations)
            groups.setdefault(bridges, []).append(endpoint_id)
    return groups


class FeedBuilder:
    def __init__(self, fleet: Fleet, history: timedelta | None = HISTORY) -> None:
        self.fleet = fleet
        self.catalog = Catalog(fleet, self._render, history)
        self.bodies = BodyCache()
        self.fresh = True
        """Nothing taken in yet: the first refresh must read every session."""
        self.renders = 0
        """Sessions serialized by icalendar (not taken from stored blocks)."""
        self._announced: dict[str, tuple[str, datetime]] = {}
        """Per feed, the last ETag and Last-Modified handed out (survives body eviction)."""
        self._fleet_digest = hashlib.blake2b(repr(fleet).encode(), digest_size=16).digest()
        self._stored: Mapping[str, Rendered] = {}
        self._rendered: list[tuple[str, Rendered]] = []

    def block_key(self, version: bytes) -> bytes:
        """What a stored block must match to stand for an entry of ``version`` (its session,
        the fleet and the code that writes the bytes)."""
        material = version + self._fleet_digest + render_digest()
        return hashlib.blake2b(material, digest_size=16).digest()

    def _render(self, entry: CalendarEntry) -> Rendered:
        """A session's event blocks (agency feeds, and one per group of ``room_variants``):
        DTSTAMP is the session's last change, so the bytes are stable."""
        held = self._stored.get(entry.session.id)
        if held is not None:
            return held
        session = entry.session
        stamp = session.updated_at or session.created_at or EPOCH
        publish = ics.Method.PUBLISH
        rooms: dict[str, bytes] = {}
        for members in room_variants(entry, self.fleet).values():
            block = ics.event_blocks(entry, self.fleet, stamp, publish, rooms=members[:1])
            rooms.update(dict.fromkeys(members, block))
        rendered = Rendered(ics.event_blocks(entry, self.fleet, stamp, publish), rooms)
        self.renders += 1
        self._rendered.append((session.id, rendered))
        return rendered

    def update(self, entries: Iterable[CalendarEntry], now: datetime) -> set[str]:
        """Take all current sessions; drop the bodies of the feeds that changed."""
        affected = self.catalog.replace(entries, now)
        self.bodies.discard(affected)
        self.fresh = False
        return affected

    def expire(self, now: datetime) -> set[str]:
        """Drop the sessions that left the history window; and the bodies showing them."""
        affected = self.catalog.expire(now)
        self.bodies.discard(affected)
        return affected

    def apply(
        self,
        changes: SessionChanges,
        now: datetime,
        stored: Mapping[str, Rendered] | None = None,
        versions: Mapping[str, bytes] | None = None,
    ) -> set[str]:
        """Take what changed since the last refresh; drop the bodies of the feeds touched
        (returned as ``str(FeedKey)``).

        ``stored``: blocks kept from an earlier run, by session id, already checked against
        ``block_key``; the others are serialized now (see ``take_rendered``). ``versions``:
        the entries' versions, when the caller has them.
        """
        self._stored = stored or {}
        try:
            affected = self.catalog.apply(changes.entries, changes.removed, now, versions)
        finally:
            self._stored = {}
        self.bodies.discard(affected)
        self.fresh = False
        return affected

    def take_rendered(self) -> list[tuple[str, Rendered]]:
        """The blocks serialized since the last call (session id, bytes), to be kept."""
        rendered, self._rendered = self._rendered, []
        return rendered

    def cached(self, key: FeedKey) -> FeedBody | None:
        return self.bodies.get(str(key))

    def body(self, key: FeedKey, now: datetime) -> FeedBody | None:
        """The feed's current body (cached or assembled now); None for an unknown subject."""
        held = self.bodies.get(str(key))
        if held is not None:
            return held
        name = subject_name(self.fleet, key)
        if name is None:
            return None
        blocks = [(item, item.block_for(key)) for item in self.catalog.items_in(key)]
        header = ics.feed_header(
            f"{FEED_TITLE} — {name}",
            f"Các phiên họp trực tuyến của {name} (confsched)",
            f"feed-{key.kind.value}-{key.subject}@confsched",
            self.fleet.timezone,
        )
        built = feed_body(header, blocks, ics.FOOTER, self._announced.get(str(key)), now)
        self._announced[str(key)] = (built.etag, built.last_modified)
        self.bodies.put(str(key), built)
        return built
