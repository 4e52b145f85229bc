"""Refused bookings counted by reason: one row per reason, bumped by the refusing use case.

A refusal rolls its booking transaction back, so the count is written in a transaction of its
own after it; a CLI in another process counts the same way the API does.
"""

from __future__ import annotations

import sqlite_utils

from confsched.store.db import bump_revision, immediate

AREA = "refusals"
"""The revision area bumped with each count, so a running scheduler's metrics re-read it."""


def count_refusal(db: sqlite_utils.Database, reason: str) -> None:
    """Add one refusal under ``reason`` (a short bounded code: it becomes a label value)."""
    with immediate(db):
        db.execute(
            "INSERT INTO booking_refusals (reason, count) VALUES (?, 1) "
            "ON CONFLICT(reason) DO UPDATE SET count = count + 1",
            [reason],
        )
        bump_revision(db, AREA)


def refusal_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Every reason counted so far (cumulative since the data directory was made)."""
    rows = db.execute("SELECT reason, count FROM booking_refusals").fetchall()
    return {reason: int(count) for reason, count in rows}
