"""Reads that must not grow with history (issue 17): the queries every listing makes use their
indexes, whatever the store holds. ``bench/national.py`` measures the figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from confsched.domain.model import Fleet, PortAllocation
from confsched.services import booking as svc
from confsched.services.invites import invites_view
from confsched.services.session_listing import listed_sessions
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


def test_a_session_detail_reads_by_index_only(db: sqlite_utils.Database, fleet: Fleet) -> None:
    """What ``GET /api/v1/sessions/{id}`` reads besides the session's own rows: the sittings
    needing attention and its changes not yet mailed (without a mailer, every change of every
    session stays unhandled) are found by index, not by scanning all sessions' rows."""
    monday = local("2027-01-04 08:00")
    booked = [
        svc.book(
            db,
            fleet,
            svc.BookingRequest(
                "Giao ban",
                ("tinh-uy",),
                monday + timedelta(days=d),
                monday + timedelta(days=d, hours=1),
            ),
            now=monday - timedelta(days=1),
        )
        for d in range(3)
    ]
    now = monday - timedelta(hours=1)

    def detail() -> None:
        session = svc.get_session(db, booked[1].id)
        listed_sessions(db, [session], now, now + timedelta(days=30), now)
        invites_view(db, session.id, ZoneInfo(fleet.timezone))

    plans = _plans_of(db, detail)
    scans = [p for p in plans if "SCAN occurrences" in p or "SCAN invite_changes" in p]
    assert not scans, plans
    assert any("occurrences_needing_attention" in p for p in plans), plans
    assert any("invite_changes_unhandled" in p for p in plans), plans


def test_bridge_of_reads_the_reverse_map_made_with_the_allocation() -> None:
    """The bridge each room dials, as a search of every bridge's members found it: the first
    bridge listing the room, None for a room without a port; equality ignores the map."""
    allocation = PortAllocation({"mcu-1": ("a", "b"), "mcu-2": ("c", "a")}, (("mcu-1", "mcu-2"),))
    assert [allocation.bridge_of(e) for e in "abcz"] == ["mcu-1", "mcu-1", "mcu-2", None]
    assert allocation == PortAllocation(
        {"mcu-1": ("a", "b"), "mcu-2": ("c", "a")}, (("mcu-1", "mcu-2"),)
    )
    moved = replace(allocation, by_bridge={"mcu-2": ("a",)})
    assert moved.bridge_of("a") == "mcu-2" and moved.bridge_of("b") is None
    assert "_dialled" not in repr(allocation)
