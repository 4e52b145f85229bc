"""The invite outbox in SQLite: changes recorded by booking, deliveries kept by the mailer.

``record_change`` runs inside the booking use case's transaction (no transaction of its own);
the other writes take their own ``immediate`` transaction. A delivery is marked sent right
after the SMTP server accepted it, and is only ever picked again while it is pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from confsched.domain.invites import (
    Delivery,
    DeliveryStatus,
    InviteAction,
    InviteChange,
    Recipient,
)
from confsched.store.db import bump_revision, from_db_time, immediate, to_db_time

AREA = "mail"
ERROR_LIMIT = 500
"""Characters of a server's refusal kept (enough for any SMTP reply worth reading)."""


def record_change(
    db: sqlite_utils.Database,
    session_id: str,
    action: InviteAction,
    recurrence_id: datetime | None,
    now: datetime,
) -> None:
    """Announce a change; call inside the transaction that makes it."""
    db.execute(
        "INSERT INTO invite_changes (session_id, action, recurrence_id, created_at) "
        "VALUES (?, ?, ?, ?)",
        [
            session_id,
            action.value,
            to_db_time(recurrence_id) if recurrence_id else None,
            to_db_time(now),
        ],
    )
    bump_revision(db, AREA)


def pending_changes(db: sqlite_utils.Database, limit: int = 100) -> list[InviteChange]:
    rows = db.execute(
        "SELECT id, session_id, action, recurrence_id, created_at FROM invite_changes "
        "WHERE handled_at IS NULL ORDER BY id LIMIT ?",
        [limit],
    ).fetchall()
    return [
        InviteChange(
            r[0], r[1], InviteAction(r[2]), from_db_time(r[3]) if r[3] else None, from_db_time(r[4])
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A finished message for one recipient of a change, ready to be kept and sent."""

    recipient: Recipient
    message_id: str
    message: bytes


def handle_change(
    db: sqlite_utils.Database,
    change: InviteChange,
    outgoing: Sequence[Outgoing],
    now: datetime,
    status: DeliveryStatus = DeliveryStatus.PENDING,
    note: str = "",
) -> None:
    """Keep the change's messages (``status``: pending, or skipped with a ``note``) and mark
    the change handled, in one transaction: a change is expanded once, whatever happens."""
    rid = to_db_time(change.recurrence_id) if change.recurrence_id else None
    with immediate(db):
        db.conn.executemany(
            "INSERT OR IGNORE INTO invite_deliveries (change_id, session_id, action, "
            "recurrence_id, recipient, name, status, next_attempt_at, last_error, message_id, "
            "message) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    change.id,
                    change.session_id,
                    change.action.value,
                    rid,
                    o.recipient.address,
                    o.recipient.name,
                    status.value,
                    to_db_time(now),
                    note,
                    o.message_id,
                    o.message,
                )
                for o in outgoing
            ],
        )
        db.execute(
            "UPDATE invite_changes SET handled_at = ? WHERE id = ? AND handled_at IS NULL",
            [to_db_time(now), change.id],
        )
        bump_revision(db, AREA)


_DELIVERY_COLUMNS = (
    "id, change_id, session_id, action, recurrence_id, recipient, name, status, attempts, "
    "next_attempt_at, last_error, sent_at, message_id"
)


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(
        id=row[0],
        change_id=row[1],
        session_id=row[2],
        action=InviteAction(row[3]),
        recurrence_id=from_db_time(row[4]) if row[4] else None,
        recipient=Recipient(row[5], row[6]),
        status=DeliveryStatus(row[7]),
        attempts=row[8],
        next_attempt_at=from_db_time(row[9]) if row[9] else None,
        last_error=row[10],
        sent_at=from_db_time(row[11]) if row[11] else None,
        message_id=row[12],
    )


def due_deliveries(
    db: sqlite_utils.Database, now: datetime, limit: int = 50
) -> list[tuple[Delivery, bytes]]:
    """Pending deliveries whose next attempt is due, oldest change first, with their bytes."""
    rows = db.execute(
        f"SELECT {_DELIVERY_COLUMNS}, message FROM invite_deliveries "
        "WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY change_id, id LIMIT ?",
        [to_db_time(now), limit],
    ).fetchall()
    return [(_delivery(r), bytes(r[13])) for r in rows]


def next_due(db: sqlite_utils.Database) -> datetime | None:
    """When the earliest pending delivery is due (None: nothing pending)."""
    row = db.execute(
        "SELECT MIN(next_attempt_at) FROM invite_deliveries WHERE status = 'pending'"
    ).fetchone()
    return from_db_time(row[0]) if row and row[0] else None


def mark_sent(db: sqlite_utils.Database, delivery_id: int, now: datetime) -> None:
    with immediate(db):
        db.execute(
            "UPDATE invite_deliveries SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
            "next_attempt_at = NULL, last_error = '' WHERE id = ? AND status = 'pending'",
            [to_db_time(now), delivery_id],
        )
        bump_revision(db, AREA)


def mark_refused(
    db: sqlite_utils.Database, delivery_id: int, error: str, retry_at: datetime | None
) -> None:
    """Count a refused attempt: retried at ``retry_at``, or failed for good when None."""
    status = DeliveryStatus.PENDING if retry_at is not None else DeliveryStatus.FAILED
    with immediate(db):
        db.execute(
            "UPDATE invite_deliveries SET status = ?, attempts = attempts + 1, "
            "next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'pending'",
            [
                status.value,
                to_db_time(retry_at) if retry_at else None,
                error[:ERROR_LIMIT],
                delivery_id,
            ],
        )
        bump_revision(db, AREA)


def session_deliveries(db: sqlite_utils.Database, session_id: str) -> list[Delivery]:
    """Every message of the session, oldest change first."""
    rows = db.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM invite_deliveries WHERE session_id = ? "
        "ORDER BY change_id, id",
        [session_id],
    ).fetchall()
    return [_delivery(r) for r in rows]


def unhandled_changes(db: sqlite_utils.Database, session_id: str) -> int:
    """Changes of the session the mailer has not yet turned into messages."""
    row = db.execute(
        "SELECT COUNT(*) FROM invite_changes WHERE session_id = ? AND handled_at IS NULL",
        [session_id],
    ).fetchone()
    return int(row[0])


def delivery_counts(db: sqlite_utils.Database) -> dict[DeliveryStatus, int]:
    """Messages by status, every status present (zero when none)."""
    counts = dict.fromkeys(DeliveryStatus, 0)
    for status, count in db.execute(
        "SELECT status, COUNT(*) FROM invite_deliveries GROUP BY status"
    ).fetchall():
        counts[DeliveryStatus(status)] = count
    return counts
