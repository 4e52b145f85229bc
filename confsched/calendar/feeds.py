"""Feed documents from cached parts: the builder the server keeps between requests.

``update`` takes the store's sessions and drops exactly the feed bodies they change; ``body``
hands out a cached body or assembles one from cached event blocks (only new or changed sessions
are serialized again). Synchronous and without I/O: the server calls it on one worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

from confsched.calendar import ics
from confsched.calendar.cache import EPOCH, BodyCache, Catalog, EventCache, FeedBody, feed_body
from confsched.calendar.entries import (
    CalendarEntry,
    FeedKey,
    FeedKind,
    Fingerprint,
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
    def __init__(self, fleet: Fleet, body_budget: int = 256 << 20) -> None:
        self.fleet = fleet
        self.catalog = Catalog(fleet)
        self.events = EventCache(self._render)
        self.bodies = BodyCache(body_budget)
        self._fingerprints: dict[str, Fingerprint] = {}
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
        self.events.retain(self.catalog.session_ids())
        return affected

    def apply(self, changes: SessionChanges) -> set[FeedKey]:
        """Take what changed since ``fingerprints()``; drop the bodies of the feeds touched."""
        affected = self.catalog.apply(changes.entries, changes.removed)
        self.bodies.discard(affected)
        self.events.retain(self.catalog.session_ids())
        for session_id in changes.removed:
            self._fingerprints.pop(session_id, None)
        self._fingerprints.update(changes.fingerprints)
        return affected

    def fingerprints(self) -> dict[str, Fingerprint]:
        """What the builder has seen of each session (a copy, for the store to compare)."""
        return dict(self._fingerprints)

    def warm(self) -> int:
        """Serialize every session's events now; the count of sessions.

        Runs on a worker thread for seconds on a cold start: after each session it lets the
        event loop's thread take the GIL at once instead of after the 5 ms switch interval.
        """
        for entry in self.catalog.all_entries():
            self.events.block(entry, self.catalog.version_of(entry.session.id))
            time.sleep(0)
        return len(self.catalog)

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
        entries = self.catalog.entries_in(key)
        header = ics.feed_header(
            f"{FEED_TITLE} — {name}",
            f"Các phiên họp trực tuyến của {name} (confsched)",
            f"feed-{key.kind.value}-{key.subject}@confsched",
            self.fleet.timezone,
        )
        version = self.catalog.version_of
        blocks = [self.events.block(e, version(e.session.id)) for e in entries]
        built = feed_body(header, blocks, ics.FOOTER, entries, self._announced.get(key), now)
        self._announced[key] = (built.etag, built.last_modified)
        self.bodies.put(key, built)
        return built
