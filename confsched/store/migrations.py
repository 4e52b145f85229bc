"""Every schema change, in order, in one place. Applied on open; each runs once per database.

Times are TEXT in UTC ISO 8601 (``2026-12-07T01:00:00+00:00``), so text order is time order.
"""

from __future__ import annotations

import json

import sqlite_utils
from sqlite_utils import Migrations

from confsched.store.health_history import HistoryKeeper, replay_rows

MIGRATIONS = Migrations("confsched")


@MIGRATIONS()
def m001_inventory(db: sqlite_utils.Database) -> None:
    db.table("fleet_meta").create({"key": str, "value": str}, pk="key")
    db.table("agencies").create({"id": str, "name": str, "email": str}, pk="id", not_null={"name"})
    db.table("sites").create(
        {"id": str, "name": str, "level": str, "parent": str}, pk="id", not_null={"name", "level"}
    )
    db.table("bridges").create(
        {"id": str, "name": str, "ports": int, "address": str, "dial_in": str},
        pk="id",
        not_null={"name", "ports"},
    )
    db.table("endpoints").create(
        {
            "id": str,
            "name": str,
            "kind": str,
            "agency": str,
            "site": str,
            "level": str,
            "district": str,
            "address": str,
            "bridge": str,
            "tags": str,  # JSON list
            "position": int,  # order in the fleet file
        },
        pk="id",
        not_null={"name", "kind", "agency", "site", "level", "position"},
    )
    db.table("endpoints").create_index(["district"])
    # One counter per area, bumped by every write to it, so a running server can tell what
    # another process changed (after PRAGMA data_version says something did).
    db.table("revisions").create({"area": str, "rev": int}, pk="area", not_null={"rev"})


@MIGRATIONS()
def m002_booking(db: sqlite_utils.Database) -> None:
    """Sessions, occurrences and busy intervals (owned by the booking engine).

    ``busy`` holds one row per endpoint per live occurrence, clustered on (day, endpoint,
    busy_from), ``day`` being the UTC day number of ``busy_from``: whether a room is free is an
    index range scan per endpoint in the two or three days around the time, and the 192 rows of a
    booking land side by side (a commit writes a few pages, not one per endpoint).
    ``occurrences.ports`` is what the occurrence takes on each bridge (JSON), summed by the port
    check and the metrics.
    """
    db.execute(
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY, title TEXT NOT NULL, organizer TEXT NOT NULL, chair TEXT,
            selectors TEXT NOT NULL, endpoints TEXT NOT NULL,
            starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, setup_s INTEGER NOT NULL,
            rrule TEXT, exdates TEXT NOT NULL DEFAULT '[]', allocation TEXT NOT NULL,
            status TEXT NOT NULL, sequence INTEGER NOT NULL DEFAULT 0,
            created_at TEXT, updated_at TEXT, materialised_until TEXT)"""
    )
    db.execute("CREATE INDEX sessions_by_start ON sessions(starts_at)")
    db.execute(
        """CREATE TABLE occurrences (
            session_id TEXT NOT NULL, recurrence_id TEXT NOT NULL,
            starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, busy_from TEXT NOT NULL,
            cancelled INTEGER NOT NULL DEFAULT 0, sequence INTEGER NOT NULL DEFAULT 0,
            moved INTEGER NOT NULL DEFAULT 0, allocation TEXT, ports TEXT NOT NULL,
            PRIMARY KEY (session_id, recurrence_id)) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX occurrences_by_busy_from ON occurrences(busy_from)")
    db.execute(
        """CREATE TABLE busy (
            day INTEGER NOT NULL, endpoint TEXT NOT NULL,
            busy_from TEXT NOT NULL, busy_until TEXT NOT NULL,
            session_id TEXT NOT NULL, recurrence_id TEXT NOT NULL,
            PRIMARY KEY (day, endpoint, busy_from, session_id, recurrence_id)) WITHOUT ROWID"""
    )
    db.execute("CREATE TABLE booking_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@MIGRATIONS()
def m003_health(db: sqlite_utils.Database) -> None:
    """Agent keys, latest health, history, readiness (owned by the agent link)."""
    db.table("agent_keys").create(
        {"endpoint": str, "public_key": str, "enrolled_at": str, "revoked_at": str},
        pk="endpoint",
        not_null={"public_key", "enrolled_at"},
    )
    health_columns = {
        "endpoint": str,
        "seq": int,
        "report_time": str,
        "received_at": str,
        "interval": float,
        "state": str,
        "reasons": str,  # JSON list, in the words shown to people
        "codes": str,  # JSON list of short labels, parallel to reasons
        "checks": str,  # JSON {name: true/false}
        "measurements": str,  # JSON {name: number}
    }
    db.table("health_latest").create(health_columns, pk="endpoint", not_null={"state"})
    db.table("health_history").create({"id": int, **health_columns}, pk="id", not_null={"state"})
    db.table("health_history").create_index(["endpoint", "id"])
    db.table("readiness").create(
        {
            "session_id": str,
            "recurrence_id": str,
            "endpoint": str,
            "status": str,
            "reason": str,
            "asked_at": str,
            "answered_at": str,
        },
        pk=("session_id", "recurrence_id", "endpoint"),
        not_null={"status"},
    )


@MIGRATIONS()
def m004_calendar(db: sqlite_utils.Database) -> None:
    """Feed tokens and calendar settings (owned by the calendar).

    A token is the secret part of a feed URL. Rotating one revokes it (``revoked_at`` set) and
    adds a new row, so a feed has at most one live token and old URLs stop working at once.
    """
    db.table("feed_tokens").create(
        {"token": str, "kind": str, "subject": str, "created_at": str, "revoked_at": str},
        pk="token",
        not_null={"kind", "subject", "created_at"},
    )
    db.table("feed_tokens").create_index(["kind", "subject"])
    db.table("calendar_meta").create({"key": str, "value": str}, pk="key", not_null={"value"})
    # After a change the calendar compares every session's summary (store/calendar.py) to
    # re-read only those that changed; this covering index spares it the wide session rows.
    db.execute(
        "CREATE INDEX sessions_calendar_prints "
        "ON sessions (id, sequence, updated_at, status, rrule)"
    )


@MIGRATIONS()
def m005_agent_instance(db: sqlite_utils.Database) -> None:
    """Which life of an agent's spool sent each report (its hello's ``instance``; '' for an
    agent that sends no hello): resends are told apart from a new life's reports by it."""
    for table in ("health_latest", "health_history"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN instance TEXT NOT NULL DEFAULT ''")


@MIGRATIONS()
def m006_booking_refusals(db: sqlite_utils.Database) -> None:
    """Refused bookings counted by reason, where they are decided (CLI and API alike), so the
    running scheduler's ``confsched_booking_refusals_total`` counts another process's too."""
    db.table("booking_refusals").create(
        {"reason": str, "count": int}, pk="reason", not_null={"count"}
    )


@MIGRATIONS()
def m007_invite_outbox(db: sqlite_utils.Database) -> None:
    """The invite outbox (owned by the mailer; changes written by the booking transactions).

    ``invite_changes`` gets a row in the very transaction that books, moves or cancels, so a
    change made by the CLI in another process is mailed by the running server, and a change
    rolled back is never announced. The mailer turns each into one ``invite_deliveries`` row per
    recipient, with the finished message (retries send the same bytes, the same Message-ID);
    UNIQUE (change, recipient) keeps one message per recipient per change.
    """
    db.execute(
        """CREATE TABLE invite_changes (
            id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
            action TEXT NOT NULL, recurrence_id TEXT, created_at TEXT NOT NULL,
            handled_at TEXT)"""
    )
    db.execute("CREATE INDEX invite_changes_pending ON invite_changes(handled_at)")
    db.execute(
        """CREATE TABLE invite_deliveries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            change_id INTEGER NOT NULL REFERENCES invite_changes(id),
            session_id TEXT NOT NULL, action TEXT NOT NULL, recurrence_id TEXT,
            recipient TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT,
            last_error TEXT NOT NULL DEFAULT '', sent_at TEXT, message_id TEXT NOT NULL,
            message BLOB NOT NULL, UNIQUE (change_id, recipient))"""
    )
    db.execute("CREATE INDEX invite_deliveries_due ON invite_deliveries(status, next_attempt_at)")
    db.execute("CREATE INDEX invite_deliveries_by_session ON invite_deliveries(session_id, id)")


@MIGRATIONS()
def m008_codec_access(db: sqlite_utils.Database) -> None:
    """How a codec endpoint is polled: ``{"driver", "url"}`` as JSON, NULL for agent rooms.
    Credentials are never stored here (they stay in the data directory's secrets file)."""
    db.table("endpoints").add_column("codec", str)


@MIGRATIONS()
def m009_site_tree(db: sqlite_utils.Database) -> None:
    """Sites form a tree with levels named by the fleet file: an endpoint belongs to an ``area``
    (the grouping above it, maybe none), no longer to a district."""
    db.execute("DROP INDEX IF EXISTS idx_endpoints_district")
    db.execute("ALTER TABLE endpoints RENAME COLUMN district TO area")


@MIGRATIONS()
def m010_allocation_homes(db: sqlite_utils.Database) -> None:
    """Allocations record which rooms were moved off their home bridge (``moved``: endpoint →
    home). Allocations stored before are filled in from the homes the fleet has now."""
    homes = dict(db.execute("SELECT id, bridge FROM endpoints WHERE bridge IS NOT NULL").fetchall())
    sessions = db.execute("SELECT allocation, id FROM sessions").fetchall()
    db.conn.executemany(
        "UPDATE sessions SET allocation = ? WHERE id = ?",
        [(_with_moved(text, homes), *key) for text, *key in sessions],
    )
    occurrences = db.execute(
        "SELECT allocation, session_id, recurrence_id FROM occurrences WHERE allocation IS NOT NULL"
    ).fetchall()
    db.conn.executemany(
        "UPDATE occurrences SET allocation = ? WHERE session_id = ? AND recurrence_id = ?",
        [(_with_moved(text, homes), *key) for text, *key in occurrences],
    )


def _with_moved(text: str, homes: dict[str, str]) -> str:
    allocation = json.loads(text)
    allocation["moved"] = {
        e: homes[e]
        for bridge, members in allocation["by_bridge"].items()
        for e in members
        if homes.get(e, bridge) != bridge
    }
    return json.dumps(allocation, ensure_ascii=False)


@MIGRATIONS()
def m011_client_process(db: sqlite_utils.Database) -> None:
    """The conferencing client's process name per PC endpoint (``client: {process}`` in the
    fleet file, the endpoint's own or the fleet's), for ``agents enroll`` to fill in."""
    db.table("endpoints").add_column("client_process", str)


@MIGRATIONS()
def m012_occurrence_attention(db: sqlite_utils.Database) -> None:
    """Why a sitting needs an operator ('' when nothing is wrong): set by a forced re-import
    that broke it (a booked room removed, a bridge too small) when no other bridge could take it."""
    db.execute("ALTER TABLE occurrences ADD COLUMN attention TEXT NOT NULL DEFAULT ''")


@MIGRATIONS()
def m013_call_state(db: sqlite_utils.Database) -> None:
    """In a call or not, and with whom, per report: ``{"active", "remote"}`` as JSON, NULL when
    the source could not tell (an agent without a client or bridge to watch)."""
    for table in ("health_latest", "health_history"):
        db.table(table).add_column("call", str)


@MIGRATIONS()
def m014_series_to_extend_index(db: sqlite_utils.Database) -> None:
    """Series still to materialise, found by an index of their own: every listing asks which
    series reach past their horizon, and a national year holds 13,000 sessions to scan."""
    db.execute(
        "CREATE INDEX sessions_to_extend ON sessions(materialised_until) "
        "WHERE rrule IS NOT NULL AND status = 'scheduled' AND materialised_until IS NOT NULL"
    )


@MIGRATIONS()
def m015_readiness_stages(db: sqlite_utils.Database) -> None:
    """Each readiness stage's "ready N of M" per occurrence (the forecast a day before, each
    self-test), kept once the stage has looked."""
    db.table("readiness_stages").create(
        {
            "session_id": str,
            "recurrence_id": str,
            "stage": str,  # its name as the fleet file says it: "selftest 60m"
            "at": str,
            "ready": int,
            "total": int,
        },
        pk=("session_id", "recurrence_id", "stage"),
    )


@MIGRATIONS()
def m016_api_tokens(db: sqlite_utils.Database) -> None:
    """API tokens made by ``confsched tokens create`` (the operator's own token stays in
    ``DATA/operator.token``). Only each token's SHA-256 is kept; a revoked token keeps its row
    (who had access, until when) and frees its name for a new one."""
    db.execute(
        """CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, role TEXT NOT NULL,
            digest TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT)"""
    )
    db.execute(
        "CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens(name) WHERE revoked_at IS NULL"
    )


@MIGRATIONS()
def m017_health_history_by_time(db: sqlite_utils.Database) -> None:
    """Health history kept by time, not as the last 2,000 reports per room (store/
    health_history.py): ``health_changes`` (every state change, a row id in time order and an
    index by room), ``health_minutes`` and ``health_hours`` (one row of packed cells per room
    per hour or day, keyed by row number first so that one hour's rows of the fleet sit
    together and the old ones are a range at the front). The old rows are replayed into the
    new shape in the order they came, then ``health_history`` is dropped; rows out of their
    window are trimmed by the writer once the server runs."""
    db.execute(
        """CREATE TABLE health_changes (
            id INTEGER PRIMARY KEY, endpoint TEXT NOT NULL, at INTEGER NOT NULL,
            state TEXT NOT NULL, reasons TEXT NOT NULL, codes TEXT NOT NULL,
            silent_from INTEGER, interval REAL)"""
    )
    db.execute("CREATE INDEX health_changes_by_room ON health_changes(endpoint, at)")
    for table in ("health_minutes", "health_hours"):
        db.execute(
            f"""CREATE TABLE {table} (
                number INTEGER NOT NULL, endpoint TEXT NOT NULL, cells BLOB NOT NULL,
                PRIMARY KEY (number, endpoint)) WITHOUT ROWID"""
        )
    keeper = HistoryKeeper()
    old = db.execute(
        "SELECT endpoint, received_at, interval, state, reasons, codes, measurements "
        "FROM health_history WHERE received_at IS NOT NULL ORDER BY endpoint, id"
    )
    replay_rows(db, keeper, old)
    db.execute("DROP TABLE health_history")


@MIGRATIONS()
def m018_detail_indexes(db: sqlite_utils.Database) -> None:
    """What a session's detail asks besides its own rows, found by index instead of a scan: the
    sittings needing attention (every listing and detail asks, and a national year holds
    26,000 sittings of which almost none do) and a session's changes not yet mailed (without a
    mailer every change stays unhandled: 13,000 rows of which the session has a few)."""
    db.execute(
        "CREATE INDEX occurrences_needing_attention ON occurrences(ends_at) "
        "WHERE attention != '' AND cancelled = 0"
    )
    db.execute(
        "CREATE INDEX invite_changes_unhandled ON invite_changes(session_id) "
        "WHERE handled_at IS NULL"
    )
