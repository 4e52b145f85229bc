"""The API keeps its contract: five state counts, local times, the forecast, explained silence,
no false offline after a restart, and a negative RTT refused on the wire."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils
from confsched_agent import wire

from confsched.domain.model import EndpointState
from confsched.runtime.components import Components
from tests.conftest import api_session, http_url
from tests.test_agentlink import ENDPOINT, enrolled, eventually, make_agent
from tests.test_agentlink_refusals import raw_channel, replies
from tests.test_cli_health import DOWN, OK, book_tomorrow, report


async def get(ctx: Components, path: str) -> tuple[int, dict]:
    async with api_session(ctx) as http, http.get(http_url(ctx, path)) as resp:
        return resp.status, await resp.json()


@pytest.fixture
def stored_reports(db: sqlite_utils.Database, fleet) -> str:  # type: ignore[no-untyped-def]
    """Before the scheduler starts: one room down, one ok but silent 40 s, a session tomorrow."""
    report(db, DOWN, {"camera": False}, ago=40)
    report(db, OK, {"camera": True}, ago=40)
    return book_tomorrow(db, fleet, f"{DOWN},{OK},dt-cu-van")


async def test_counts_carry_all_five_states_and_times_are_local(
    stored_reports: str, server: Components
) -> None:
    status, body = await get(server, "/api/v1/health")
    assert status == 200
    assert set(body["counts"]) == {"ok", "degraded", "down", "offline", "unknown"}
    assert body["counts"]["offline"] == 0 and body["counts"]["degraded"] == 0
    assert body["now"].endswith("+07:00")
    down = next(e for e in body["endpoints"] if e["endpoint"] == DOWN)
    assert down["last_report_at"].endswith("+07:00")
    never = next(e for e in body["endpoints"] if e["endpoint"] == "dt-cu-van")
    assert never["reasons"] == ["no agent enrolled", "never reported"]
    _, one = await get(server, f"/api/v1/endpoints/{DOWN}/health")
    assert one["history"][0]["at"].endswith("+07:00")


async def test_rooms_silent_only_because_the_scheduler_was_down_are_not_offline(
    stored_reports: str, server: Components
) -> None:
    board = server.board
    assert board.restart is not None
    now = datetime.now(UTC)
    assert board.health(OK, now).state is EndpointState.OK  # silent 40 s, but we just started
    later = board.restart.up_since + timedelta(seconds=31)
    assert board.health(OK, later).state is EndpointState.OFFLINE


async def test_the_api_forecast_names_tomorrows_session_and_its_rooms(
    stored_reports: str, server: Components
) -> None:
    status, body = await get(server, "/api/v1/risk?within=2d")
    assert status == 200
    (session,) = body["sessions"]
    assert session["session_id"] == stored_reports and session["text"] == "ready 1 of 3"
    assert [r["endpoint"] for r in session["rooms"]] == [DOWN, "dt-cu-van"]
    assert session["rooms"][0]["reasons"] == ["camera missing"]
    assert session["start"].endswith("+07:00")


@pytest.mark.parametrize("query", ["within=soon", "state=broken"])
async def test_bad_queries_get_a_400_with_the_reason(server: Components, query: str) -> None:
    path = "/api/v1/risk" if query.startswith("within") else "/api/v1/health"
    status, body = await get(server, f"{path}?{query}")
    assert status == 400 and body["error"]


async def test_a_revoked_room_says_why_it_went_silent(server: Components) -> None:
    links = server.agentlink
    board = server.board
    _, link, _ = make_agent(await enrolled(server, ENDPOINT))
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: ENDPOINT in links.agents)
        links.close_endpoint(ENDPOINT, "revoked")
        await eventually(lambda: ENDPOINT in board.disconnects)
        assert board.disconnects[ENDPOINT] == "closed by the scheduler: key revoked"
    finally:
        link.stop()
        await task


async def test_a_report_with_a_negative_rtt_is_refused_and_not_stored(
    server: Components,
) -> None:
    board = server.board
    conn, process = await raw_channel(server, ENDPOINT)
    try:
        bad = wire.Report(7, datetime.now(UTC), {"camera": wire.Check(True)}, {"rtt_ms": -4.0})
        process.stdin.write(wire.encode(bad))
        (reply,) = await replies(process, 1)
    finally:
        conn.close()
    assert isinstance(reply, wire.Reject) and reply.reason == "bad_field"
    assert "rtt_ms" in reply.detail
    assert board.reports_rejected["bad_field"] == 1 and ENDPOINT not in board.latest
