"""The forecast and the agents' spool drops in /metrics: rooms at risk for tomorrow's sessions
(by area, province rooms with none), sessions at risk per area, and the reports an agent's full
spool dropped, from a real store and a real agent over SSH."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlite_utils

from confsched.domain import health as judge
from confsched.domain.model import Fleet
from confsched.metrics.booking import RiskSource, booking_snapshot
from confsched.runtime.components import Components
from confsched.services.health import HealthBoard
from confsched.store.health import StoredHealth
from tests.test_agentlink import ENDPOINT, Room, enrolled, eventually, make_agent
from tests.test_metrics_booking import MONDAY_8, book
from tests.test_metrics_http import scrape, value

NOW = MONDAY_8 - timedelta(hours=20)  # the afternoon before


def board_with(fleet: Fleet, now: datetime, down: set[str], silent: set[str]) -> HealthBoard:
    """Every room reported fine just now, except ``down`` (camera gone) and ``silent`` (never)."""
    board = HealthBoard(fleet.report_interval)
    for endpoint in fleet.endpoints:
        if endpoint in silent:
            continue
        checks = {"camera": endpoint not in down, "audio": True, "display": True}
        health = judge.judge(judge.Observation(endpoint, now, checks))
        board.latest[endpoint] = StoredHealth(health, 1, now, 0.0)
    return board


def test_rooms_of_tomorrows_session_are_flagged_at_risk_with_their_area(
    db: sqlite_utils.Database, fleet: Fleet
) -> None:
    session = book(db, fleet, "district:h-dai-tu,tinh-uy", MONDAY_8)
    book(db, fleet, "district:h-phu-binh", MONDAY_8 + timedelta(days=2))  # beyond 24 h
    board = board_with(fleet, NOW, down={"dt-la-bang"}, silent={"tinh-uy"})
    snap = booking_snapshot(db, NOW, RiskSource(fleet, board))
    assert set(snap.at_risk) == set(session.endpoints)
    assert {e for e, risky in snap.at_risk.items() if risky} == {"dt-la-bang", "tinh-uy"}
    assert snap.sessions_at_risk == {"h-dai-tu": 1, "": 1}
    assert snap.next_setup["dt-la-bang"] == (MONDAY_8 - timedelta(minutes=15)).timestamp()


def test_a_room_fixed_before_the_session_leaves_the_forecast(
    db: sqlite_utils.Database, fleet: Fleet
) -> None:
    book(db, fleet, "district:h-dai-tu", MONDAY_8)
    board = board_with(fleet, NOW, down=set(), silent=set())
    snap = booking_snapshot(db, NOW, RiskSource(fleet, board))
    assert snap.at_risk and not any(snap.at_risk.values())
    assert snap.sessions_at_risk == {}


async def test_a_scrape_shows_the_forecast_and_the_agents_spool_drops(
    server: Components,
) -> None:
    config = await enrolled(server, ENDPOINT)
    agent, link, spool = make_agent(config, Room())
    spool.dropped = 7  # a spool full for a while: the oldest reports went
    task = asyncio.create_task(link.run())
    try:
        await agent.report_once()
        await eventually(lambda: ENDPOINT in server.board.latest)
    finally:
        link.stop()
        await task
    fleet = server.ctx.fleet
    area = fleet.endpoints[ENDPOINT].area or ""
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    await server.ctx.store.write(book, fleet, f"{ENDPOINT},tinh-uy", start)
    await server.metrics.booking.refresh()
    text = (await scrape(server))[0].decode()
    dropped = "confsched_agent_spool_dropped_reports_total"
    assert value(text, dropped, endpoint=ENDPOINT, area=area) == 7.0
    assert f'{dropped}{{area="",endpoint="tinh-uy"}}' not in text  # never reported
    at_risk = "confsched_endpoint_at_risk"
    assert value(text, at_risk, endpoint=ENDPOINT, area=area) == 0.0
    assert value(text, at_risk, endpoint="tinh-uy", area="") == 1.0  # never reported
    assert value(text, "confsched_sessions_at_risk", area="") == 1.0
    assert value(text, "confsched_sessions_at_risk", area=area) == 0.0
