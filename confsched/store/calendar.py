"""Feed tokens and calendar settings in SQLite.

Every write bumps the "feeds" revision inside its transaction, so a running server (another
process) notices a rotation within its change-poll interval and stops serving the old URL.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import sqlite_utils

from confsched.config import private_dir
from confsched.domain.calendar import (
    CalendarEntry,
    FeedKey,
    FeedKind,
    SessionChanges,
    exceptions_of,
    sittings_sequence,
)
from confsched.domain.model import Occurrence, Session
from confsched.errors import NotFound
from confsched.store import booking as booking_store
from confsched.store.db import (
    bump_revision,
    from_db_time,
    immediate,
    private_sqlite_file,
    to_db_time,
)

TOKEN_BYTES = 32
"""256 random bits per token (43 URL-safe characters): not guessable, not enumerable."""

BASE_URL_KEY = "base_url"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(frozen=True, slots=True)
class FeedToken:
    key: FeedKey
    token: str
    created_at: datetime


def live_tokens(db: sqlite_utils.Database) -> list[FeedToken]:
    """Every token that currently opens a feed (plain rows: a national fleet has 10,001)."""
    rows = db.execute(
        "SELECT token, kind, subject, created_at FROM feed_tokens WHERE revoked_at IS NULL "
        "ORDER BY kind, subject"
    ).fetchall()
    kinds = {k.value: k for k in FeedKind}
    return [FeedToken(FeedKey(kinds[k], s), t, from_db_time(at)) for t, k, s, at in rows]


class ListedFeed(NamedTuple):
    """One live feed as ``feeds list`` prints it."""

    key: FeedKey
    name: str
    """The agency's or the room's name."""
    token: str
    created_at: str
    """As stored: ISO 8601 in UTC (``to_db_time``)."""


def listed_feeds(db: sqlite_utils.Database) -> list[ListedFeed]:
    """Every live token whose agency or room is in the stored fleet, with its name, by kind and
    subject: one query, where loading the fleet for the names cost a national ``feeds list``
    (10,034 feeds) more than the rest of its work."""
    rows = db.execute(
        "SELECT t.kind, t.subject, coalesce(a.name, e.name), t.token, t.created_at "
        "FROM feed_tokens AS t "
        "LEFT JOIN agencies AS a ON t.kind = 'agency' AND a.id = t.subject "
        "LEFT JOIN endpoints AS e ON t.kind = 'room' AND e.id = t.subject "
        "WHERE t.revoked_at IS NULL AND (a.id IS NOT NULL OR e.id IS NOT NULL) "
        "ORDER BY t.kind, t.subject"
    ).fetchall()
    kinds = {k.value: k for k in FeedKind}
    return [ListedFeed(FeedKey(kinds[k], s), n, t, at) for k, s, n, t, at in rows]


def feeds_without_token(db: sqlite_utils.Database) -> list[FeedKey]:
    """The stored fleet's agencies and rooms that never had a token (a revoked one counts as
    had), in the fleet's order: what ``ensure_tokens`` would add, found without loading the
    fleet."""
    rows = db.execute(
        "SELECT 'agency', id FROM agencies WHERE id NOT IN "
        "(SELECT subject FROM feed_tokens WHERE kind = 'agency') "
        "UNION ALL SELECT 'room', id FROM (SELECT id FROM endpoints WHERE id NOT IN "
        "(SELECT subject FROM feed_tokens WHERE kind = 'room') ORDER BY position)"
    ).fetchall()
    return [FeedKey(FeedKind(kind), subject) for kind, subject in rows]


def ensure_tokens(
    db: sqlite_utils.Database,
    keys: Iterable[FeedKey],
    now: datetime,
    make: Callable[[], str] = new_token,
) -> int:
    """Give a token to every feed that never had one; a revoked feed stays closed."""
    with immediate(db):
        known = set(db.execute("SELECT DISTINCT kind, subject FROM feed_tokens").fetchall())
        missing = [k for k in keys if (k.kind.value, k.subject) not in known]
        if missing:
            db.table("feed_tokens").insert_all(
                {
                    "token": make(),
                    "kind": k.kind.value,
                    "subject": k.subject,
                    "created_at": to_db_time(now),
                }
                for k in missing
            )
            bump_revision(db, "feeds")
    return len(missing)


def rotate_token(
    db: sqlite_utils.Database, key: FeedKey, now: datetime, make: Callable[[], str] = new_token
) -> str:
    """Revoke the feed's live token (if any) and issue a new one, in one transaction."""
    token = make()
    with immediate(db):
        _revoke(db, key, now)
        db.table("feed_tokens").insert(
            {
                "token": token,
                "kind": key.kind.value,
                "subject": key.subject,
                "created_at": to_db_time(now),
            }
        )
        bump_revision(db, "feeds")
    return token


def revoke_token(db: sqlite_utils.Database, key: FeedKey, now: datetime) -> bool:
    """Close the feed without a new URL; True if a live token was revoked."""
    with immediate(db):
        revoked = _revoke(db, key, now)
        if revoked:
            bump_revision(db, "feeds")
    return revoked


def _revoke(db: sqlite_utils.Database, key: FeedKey, now: datetime) -> bool:
    cursor = db.execute(
        "UPDATE feed_tokens SET revoked_at = ? "
        "WHERE kind = ? AND subject = ? AND revoked_at IS NULL",
        [to_db_time(now), key.kind.value, key.subject],
    )
    return cursor.rowcount > 0


def set_base_url(db: sqlite_utils.Database, url: str) -> None:
    """Remember where the running server answers, for ``feeds list`` in another process."""
    with immediate(db):
        db.execute(
            "INSERT INTO calendar_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [BASE_URL_KEY, url],
        )


def base_url(db: sqlite_utils.Database) -> str | None:
    rows = list(db.query("SELECT value FROM calendar_meta WHERE key = ?", [BASE_URL_KEY]))
    return rows[0]["value"] if rows else None


# --- serialized events kept across restarts -----------------------------------------------------

BLOCKS_FILE = "calendar-cache.db"
"""A cache beside the store (its own file, so writing it never takes the store's write lock);
deleting it only costs the next start the time to serialize every session again."""


def open_blocks(data_dir: Path) -> sqlite3.Connection:
    """The cache's connection; its file is private like the store's (it holds the events)."""
    path = private_dir(data_dir) / BLOCKS_FILE
    private_sqlite_file(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # a lost write is a cache miss, nothing more
    conn.execute(
        "CREATE TABLE IF NOT EXISTS blocks "
        "(session_id TEXT PRIMARY KEY, key BLOB NOT NULL, data BLOB NOT NULL)"
    )
    return conn


def stored_blocks(conn: sqlite3.Connection, wanted: Mapping[str, bytes]) -> dict[str, bytes]:
    """The stored bytes of each session whose stored key is the one wanted."""
    ids = list(wanted)
    found: dict[str, bytes] = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        rows = conn.execute(
            f"SELECT session_id, key, data FROM blocks WHERE session_id IN ({marks})", part
        )
        found.update((sid, data) for sid, key, data in rows if wanted[sid] == key)
    return found


def save_blocks(
    conn: sqlite3.Connection, blocks: Iterable[tuple[str, bytes, bytes]], removed: Iterable[str]
) -> None:
    """Keep (session id, key, bytes), one version per session; forget removed sessions."""
    conn.execute("BEGIN")
    try:
        conn.executemany(
            "INSERT OR REPLACE INTO blocks (session_id, key, data) VALUES (?, ?, ?)", blocks
        )
        conn.executemany("DELETE FROM blocks WHERE session_id = ?", [(s,) for s in removed])
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# --- sessions, as the calendar sees them (read through the booking store) --------------------

# One row per session, id and a "print" that differs whenever the session or one of its
# sittings does. This reads the booking engine's tables (read only): keep it in step with
# m002_booking. The calendar's connection keeps the prints it has taken in (a TEMP table), so
# SQLite (without the GIL) finds what changed and Python only handles those few sessions.
_PRINTS = """
    SELECT s.id, s.sequence || '|' || IFNULL(s.updated_at, '') || '|' || s.status || CASE
        WHEN s.rrule IS NULL THEN ''
        ELSE (SELECT '|' || COUNT(*) || '|' || SUM(sequence) || '|' || SUM(moved OR cancelled)
              FROM occurrences WHERE session_id = s.id)
    END AS print
    FROM sessions AS s
    WHERE s.rrule IS NOT NULL OR s.ends_at >= :since
"""
_CHANGED = f"""
    SELECT f.id, f.print FROM ({_PRINTS}) AS f
    LEFT JOIN temp.calendar_seen AS k ON k.id = f.id
    WHERE k.print IS NOT f.print
"""
_ALWAYS = "0000"
"""A ``since`` before every stored time (they are ISO 8601 text)."""
_REMOVED = "SELECT id FROM temp.calendar_seen WHERE id NOT IN (SELECT id FROM sessions)"


def changed_entries(
    db: sqlite_utils.Database, restart: bool = False, since: datetime | None = None
) -> SessionChanges:
    """Sessions changed since this connection's last ``mark_seen`` (all when ``restart``).

    ``since``: single sessions that ended before it are not looked at (the feeds show none of
    them), so a start after a year of sessions reads what is live, not the year.
    One read transaction, so the prints and the sessions loaded are the same snapshot.
    """
    bound = {"since": to_db_time(since) if since is not None else _ALWAYS}
    db.execute(
        "CREATE TEMP TABLE IF NOT EXISTS calendar_seen (id TEXT PRIMARY KEY, print TEXT NOT NULL)"
    )
    if restart:
        db.execute("DELETE FROM temp.calendar_seen")
    db.execute("BEGIN")
    try:
        prints = dict(db.execute(_CHANGED, bound).fetchall())
        removed = {row[0] for row in db.execute(_REMOVED).fetchall()}
        sessions = booking_store.load_sessions(db, prints)
        entries = [_entry(db, s) for s in sessions.values()]
    finally:
        db.execute("COMMIT")
    return SessionChanges(prints, entries, removed)


def mark_seen(db: sqlite_utils.Database, changes: SessionChanges) -> None:
    """Record that ``changes`` were taken in (call after they were applied)."""
    db.execute("BEGIN")
    try:
        db.conn.executemany(
            "INSERT OR REPLACE INTO temp.calendar_seen (id, print) VALUES (?, ?)",
            list(changes.prints.items()),
        )
        db.conn.executemany(
            "DELETE FROM temp.calendar_seen WHERE id = ?", [(i,) for i in changes.removed]
        )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def calendar_entries(db: sqlite_utils.Database) -> list[CalendarEntry]:
    """Every session (cancelled ones too: feeds must show the cancellation) with its exceptions."""
    sessions = booking_store.load_sessions(db, booking_store.all_session_ids(db))
    return [_entry(db, s) for s in sessions.values()]


def calendar_entry(db: sqlite_utils.Database, session_id: str) -> CalendarEntry:
    session = booking_store.load_session(db, session_id)
    if session is None:
        raise NotFound("session", session_id)
    return _entry(db, session)


def calendar_entry_of(db: sqlite_utils.Database, session: Session) -> CalendarEntry:
    """``calendar_entry`` of a session already loaded (a listing need not read it twice)."""
    return _entry(db, session)


def _entry(db: sqlite_utils.Database, session: Session) -> CalendarEntry:
    """Only a series has sittings of its own (a single session moves and cancels as a whole)."""
    if not session.rrule:
        return CalendarEntry(session)
    return entry_with(session, booking_store.occurrences_of(db, session.id))


def entry_with(session: Session, sittings: Sequence[Occurrence]) -> CalendarEntry:
    """The calendar's entry for ``session`` from its stored sittings (all of them), read
    already by the caller (a listing reads every listed session's sittings at once)."""
    if not session.rrule:
        return CalendarEntry(session)
    return CalendarEntry(
        session,
        exceptions_of(session, sittings),
        occurrence_sequence=sittings_sequence(sittings),
    )
