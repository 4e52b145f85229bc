"""Feed tokens and URLs: which feeds the fleet offers, their secret URLs, rotation and
revocation (the CLI's ``feeds`` and the calendar service share them).

Nothing here renders iCalendar, so ``confsched feeds list`` imports neither icalendar nor the
feed builder.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from confsched.domain.calendar import FeedKey, FeedKind
from confsched.domain.model import Fleet
from confsched.errors import NotFound
from confsched.store import calendar as store


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


def feed_url(base: str, key: FeedKey, token: str) -> str:
    return f"{base.rstrip('/')}/feeds/{key.kind.value}/{token}.ics"


def webcal_url(url: str) -> str:
    """The same feed as a ``webcal://`` link: a click opens the calendar app's "subscribe"
    (Outlook, Apple Calendar, Thunderbird), which then fetches it over HTTP(S)."""
    _, sep, rest = url.partition("://")
    return f"webcal://{rest}" if sep else url


def ensure_feed_tokens(db: sqlite_utils.Database, fleet: Fleet, now: datetime) -> int:
    """Every agency and room gets a feed token the first time it is seen."""
    return store.ensure_tokens(db, all_feeds(fleet), now)


def ensure_stored_feed_tokens(db: sqlite_utils.Database, now: datetime) -> int:
    """:func:`ensure_feed_tokens` for the stored fleet, without loading it: when every feed has
    its token (every run but the first) one query and no write lock."""
    missing = store.feeds_without_token(db)
    return store.ensure_tokens(db, missing, now) if missing else 0


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
