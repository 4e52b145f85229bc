"""Booking figures in /metrics: bridge ports, sessions by state, next sessions and readiness,
from the real booking service on a real store; refusals counted through the API."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import sqlite_utils

from confsched.domain.model import Fleet, Readiness
from confsched.metrics.booking import booking_snapshot
from confsched.runtime.components import Components
from confsched.services import booking as svc
from confsched.store.health import ReadinessRow, save_readiness
from tests.conftest import http_url
from tests.test_metrics_http import scrape, value

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BOOKED_AT = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
MONDAY_8 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 08:00 local


def book(db: sqlite_utils.Database, fleet: Fleet, with_: str, start: datetime, hours: int = 2):  # type: ignore[no-untyped-def]
    local = start.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    request = svc.parse_request(
        fleet, title="Hội nghị", with_=with_, start=local, duration=f"{hours}h"
    )
    return svc.book(db, fleet, request, now=BOOKED_AT)


def test_province_session_in_setup_takes_ports_and_awaits_readiness(
    db: sqlite_utils.Database, fleet: Fleet
) -> None:
    session = book(db, fleet, "all", MONDAY_8)
    snap = booking_snapshot(db, MONDAY_8 - timedelta(minutes=10))  # inside the 15 min setup
    allocation = session.allocation
    assert snap.ports_in_use == {b: allocation.ports_used(b) for b in allocation.by_bridge}
    assert sum(snap.ports_in_use.values()) == 192 + 2 * len(allocation.links)
    assert snap.sessions["setup"] == 1 and snap.upcoming_sessions == 1
    assert snap.next_start == dict.fromkeys(fleet.endpoints, MONDAY_8.timestamp())
    assert snap.readiness == dict.fromkeys(fleet.endpoints, Readiness.PENDING)


def test_session_states_follow_the_clock_and_cancellation(
    db: sqlite_utils.Database, fleet: Fleet
) -> None:
    first = book(db, fleet, "district:h-dai-tu", MONDAY_8)
    book(db, fleet, "district:h-phu-binh", MONDAY_8 + timedelta(days=1))
    cancelled = book(db, fleet, "tinh-uy", MONDAY_8 + timedelta(days=2))
    svc.cancel(db, fleet, cancelled.id, now=BOOKED_AT)
    early = booking_snapshot(db, MONDAY_8 - timedelta(hours=3))
    assert early.sessions == {
        "upcoming": 2, "setup": 0, "running": 0, "finished": 0, "cancelled": 1
    }  # fmt: skip
    assert early.upcoming_sessions == 0 and early.readiness == {}
    assert early.ports_in_use == {}
    running = booking_snapshot(db, MONDAY_8 + timedelta(minutes=30))
    assert running.sessions["running"] == 1 and running.sessions["upcoming"] == 1
    links = len(first.allocation.links)
    assert sum(running.ports_in_use.values()) == len(first.endpoints) + 2 * links
    later = booking_snapshot(db, MONDAY_8 + timedelta(hours=3))
    assert later.sessions["finished"] == 1 and later.sessions["upcoming"] == 1
    assert "h-dai-tu" not in later.next_start
    assert later.next_start["h-phu-binh"] == (MONDAY_8 + timedelta(days=1)).timestamp()


def test_self_test_answers_show_per_endpoint(db: sqlite_utils.Database, fleet: Fleet) -> None:
    session = book(db, fleet, "district:h-dai-tu", MONDAY_8)
    asked = MONDAY_8 - timedelta(minutes=15)
    rows = [
        ReadinessRow(session.id, MONDAY_8, "h-dai-tu", Readiness.READY, "", asked, asked),
        ReadinessRow(session.id, MONDAY_8, "dt-la-bang", Readiness.NOT_READY, "camera", asked),
    ]
    save_readiness(db, rows)
    snap = booking_snapshot(db, MONDAY_8 - timedelta(minutes=12))
    assert snap.readiness["h-dai-tu"] is Readiness.READY
    assert snap.readiness["dt-la-bang"] is Readiness.NOT_READY
    assert snap.readiness["dt-cat-ne"] is Readiness.PENDING


async def test_booking_shows_in_a_scrape_of_the_running_scheduler(server: Components) -> None:
    start = (datetime.now(UTC) + timedelta(minutes=10)).replace(second=0, microsecond=0)
    local = start.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    request = svc.parse_request(
        server.ctx.fleet, title="Giao ban", with_="all", start=local, duration="1h"
    )
    session = await server.ctx.store.write(svc.book, server.ctx.fleet, request)
    await server.metrics.booking.refresh()
    text = (await scrape(server))[0].decode()
    for bridge in server.ctx.fleet.bridges:
        used = session.allocation.ports_used(bridge)
        assert value(text, "confsched_bridge_ports_in_use", bridge=bridge) == used
    assert value(text, "confsched_sessions", state="setup") == 1.0
    assert value(text, "confsched_upcoming_sessions") == 1.0
    waiting = sum(
        value(text, "confsched_upcoming_session_endpoints", state=s)
        for s in ("pending", "no_answer", "ready", "not_ready")
    )
    assert waiting == 192
    next_start = "confsched_endpoint_next_session_start_timestamp_seconds"
    assert value(text, next_start, endpoint="tinh-uy") == start.timestamp()


async def test_refused_booking_over_the_api_is_counted(server: Components) -> None:
    pytest.importorskip("confsched.web.api_booking")
    start = (datetime.now(UTC) + timedelta(days=8)).astimezone(TZ).strftime("%Y-%m-%d 08:00")
    body = {"title": "Họp", "with": "district:h-dai-tu", "start": start, "duration": "1h"}
    auth = {"Authorization": f"Bearer {server.ctx.operator_token}"}
    async with aiohttp.ClientSession(headers=auth) as http:
        for expected in (201, 409):
            async with http.post(http_url(server, "/api/v1/sessions"), json=body) as resp:
                assert resp.status == expected, await resp.text()
    text = await scrape_until_refused(server, "endpoint_conflict", 1.0)
    assert value(text, "confsched_booking_refusals_total", reason="ports_conflict") == 0.0


async def scrape_until_refused(server: Components, reason: str, count: float) -> str:
    """Scrape until the refusal counter shows ``count`` (the snapshot renews on the change
    the store reports), for at most ten seconds; the last scrape."""
    deadline = time.monotonic() + 10
    while True:
        text = (await scrape(server))[0].decode()
        counted = value(text, "confsched_booking_refusals_total", reason=reason)
        if counted == count or time.monotonic() > deadline:
            assert counted == count
            return text
        await asyncio.sleep(0.1)


async def test_refused_booking_over_the_cli_shows_in_the_running_schedulers_metrics(
    server: Components,
) -> None:
    """The CLI runs in a process of its own; the scheduler's next scrape counts its refusal."""
    start = (datetime.now(UTC) + timedelta(days=8)).astimezone(TZ).strftime("%Y-%m-%d 08:00")
    data = str(server.ctx.settings.data_dir)
    book_args = ["book", "Họp", "--with", "district:h-dai-tu", "--start", start, "--duration", "1h"]
    codes = []
    for _ in range(2):
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "confsched", "--data", data, *book_args],
            capture_output=True,
            timeout=60,
        )
        codes.append(done.returncode)
    assert codes == [0, 3]
    await scrape_until_refused(server, "endpoint_conflict", 1.0)


def test_over_192_rooms_is_counted_as_a_refusal(db: sqlite_utils.Database, fleet: Fleet) -> None:
    from dataclasses import replace

    from confsched.errors import BookingRefused

    extra = {f"x-{i}": replace(fleet.endpoints["tinh-uy"], id=f"x-{i}") for i in range(9)}
    big = replace(fleet, endpoints={**fleet.endpoints, **extra})
    with pytest.raises(BookingRefused, match="201 endpoints chosen"):
        book(db, big, "all", MONDAY_8)
    assert booking_snapshot(db, BOOKED_AT).refusals == {"too_many_endpoints": 1}
