"""Calendar use cases the CLI and the API share: a session's invite, feed tokens and URLs.

They live with the calendar adapter (not in ``confsched.services``) because they render
iCalendar: services never import an adapter.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from confsched.calendar import ics
from confsched.calendar.feeds import all_feeds, subject_name
from confsched.calendar.invitations import sitting_of
from confsched.domain.calendar import FeedKey, FeedKind
from confsched.domain.model import Fleet
from confsched.errors import InvalidInput, NotFound
from confsched.store import calendar as store
from confsched.store.calendar import calendar_entry


def invite_for_session(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session_id: str,
    method: str | None = None,
    now: datetime | None = None,
    occurrence: datetime | None = None,
    room: str | None = None,
) -> bytes:
    """The iTIP invite of one session: REQUEST, or CANCEL once cancelled (``method`` forces one).

    DTSTAMP is the send time (``now``); SEQUENCE is the session's, so a client that saw an
    earlier invite applies this one as an update. ``occurrence`` (a sitting's original start)
    gives that sitting alone, with its RECURRENCE-ID: what was mailed when it was moved or
    cancelled. ``room``: the invite as that room reads it, naming only the bridge it dials.
    """
    chosen = None
    if method is not None:
        if method.upper() not in (ics.Method.REQUEST, ics.Method.CANCEL):
            raise InvalidInput(f"invite method {method!r}: use request or cancel")
        chosen = ics.Method(method.upper())
    entry = calendar_entry(db, session_id)
    sitting = sitting_of(db, entry, occurrence) if occurrence is not None else None
    if room is not None and room not in entry.session.endpoints:
        raise InvalidInput(f"room {room!r} does not take part in session {session_id}")
    rooms = None if room is None else [room]
    stamp = now or datetime.now(UTC)
    return ics.invite(entry, fleet, stamp, chosen, sitting=sitting, rooms=rooms)


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
