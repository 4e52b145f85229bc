"""Feed documents from cached parts: the builder the server keeps between requests.

``update``/``apply`` take the store's sessions (serializing only new or changed ones) and drop
exactly the feed bodies they change; ``body`` hands out a cached body or assembles one from the
serialized blocks. Synchronous and without I/O: the server calls it on one worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from confsched.calendar import ics
from confsched.calendar.cache import EPOCH, BodyCache, Catalog, FeedBody, feed_body
from confsched.calendar.entries import (
    CalendarEntry,
    FeedKey,
    FeedKind,
    SessionChanges,
)
from confsched.domain.model import Fleet

FEED_TITLE = "Lịch họp trực tuyến"


def subject_name(fleet: Fleet, key: FeedKey) -> str | None:
    """The agency's or room's name, or None when it is not in the fleet."""
    if key.kind is FeedKind.AGENCY:
        agency = fleet.agencies.get(key.subject)
        return agency.name if agency else None
    endpoint = fleet.endpoints.get(key.subject)
    return endpoint.name if endpoint else None


def all_feeds(fleet: Fleet) -> list[FeedKey]:
    """Every feed the fleet offers: one per agency, one per room."""
    agencies = [FeedKey(FeedKind.AGENCY, a) for a in fleet.agencies]
    return agencies + [FeedKey(FeedKind.ROOM, e) for e in fleet.endpoints]


class FeedBuilder:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.catalog = Catalog(fleet, self._render)
        self.bodies = BodyCache()
        self.fresh = True
        """Nothing taken in yet: the first refresh must read every session."""
        self._announced: dict[FeedKey, tuple[str, datetime]] = {}
        """Per feed, the last ETag and Last-Modified handed out (survives body eviction)."""

    def _render(self, entry: CalendarEntry) -> bytes:
        """A feed's event block: DTSTAMP is the session's last change, so bytes are stable."""
        session = entry.session
        stamp = session.updated_at or session.created_at or EPOCH
        return ics.event_blocks(entry, self.fleet, stamp, ics.Method.PUBLISH)

    def update(self, entries: Iterable[CalendarEntry]) -> set[FeedKey]:
        """Take all current sessions; drop the bodies of the feeds that changed."""
        affected = self.catalog.replace(entries)
        self.bodies.discard(affected)
        self.fresh = False
        return affected

    def apply(self, changes: SessionChanges) -> set[FeedKey]:
        """Take what changed since the last refresh; drop the bodies of the feeds touched."""
        affected = self.catalog.apply(changes.entries, changes.removed)
        self.bodies.discard(affected)
        self.fresh = False
        return affected

    def cached(self, key: FeedKey) -> FeedBody | None:
        return self.bodies.get(key)

    def body(self, key: FeedKey, now: datetime) -> FeedBody | None:
        """The feed's current body (cached or assembled now); None for an unknown subject."""
        held = self.bodies.get(key)
        if held is not None:
            return held
        name = subject_name(self.fleet, key)
        if name is None:
            return None
        items = self.catalog.items_in(key)
        header = ics.feed_header(
            f"{FEED_TITLE} — {name}",
            f"Các phiên họp trực tuyến của {name} (confsched)",
            f"feed-{key.kind.value}-{key.subject}@confsched",
            self.fleet.timezone,
        )
        built = feed_body(header, items, ics.FOOTER, self._announced.get(key), now)
        self._announced[key] = (built.etag, built.last_modified)
        self.bodies.put(key, built)
        return built
