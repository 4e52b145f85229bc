"""Reads that must not grow with history (issue 17): the queries every listing makes use their
indexes, whatever the store holds. ``bench/national.py`` measures the figures."""

from __future__ import annotations

from datetime import timedelta

import sqlite_utils

from confsched.domain.model import Fleet
from confsched.services import booking as svc
from confsched.store import booking as store
from tests.conftest import local


def _plans_of(db: sqlite_utils.Database, read: object) -> list[str]:
    """The query plan of every statement ``read()`` runs (traced, with its values bound)."""
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        read()  # type: ignore[operator]
    finally:
        db.conn.set_trace_callback(None)
    return [
        " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())
        for sql in statements
        if sql.lstrip().upper().startswith("SELECT")
    ]


def test_series_to_extend_seeks_its_index_instead_of_scanning_sessions(
    db: sqlite_utils.Database, fleet: Fleet
) -> None:
    monday = local("2027-01-04 08:00")
    for day in range(3):
        start = monday + timedelta(days=day)
        svc.book(
            db,
            fleet,
            svc.BookingRequest("Giao ban", ("tinh-uy",), start, start + timedelta(hours=1)),
            now=monday - timedelta(days=1),
        )
    later = monday + timedelta(days=400)
    (plan,) = _plans_of(db, lambda: store.series_to_extend(db, later))
    assert "USING INDEX sessions_to_extend" in plan, plan
    assert "SCAN sessions" not in plan, plan
