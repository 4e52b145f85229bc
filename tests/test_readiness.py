"""Readiness at setup time: every participant self-tests; ready / not ready (why) / no answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from confsched.domain.model import Occurrence, Readiness
from confsched.runtime.components import Components
from confsched.services.readiness import readiness_summary
from tests.conftest import api_session, http_url
from tests.test_agentlink import Room, enrolled, eventually, make_agent

READY, BROKEN, ABSENT = "tinh-uy", "ubnd-tinh", "hdnd-tinh"


async def test_selftests_give_ready_n_of_m_with_reasons(server: Components) -> None:
    links = server.agentlink
    started = []
    for endpoint, room in ((READY, Room()), (BROKEN, Room(camera=False))):
        _agent, link, _ = make_agent(await enrolled(server, endpoint), room)
        started.append((link, asyncio.create_task(link.run())))
    try:
        await eventually(lambda: READY in links.agents and BROKEN in links.agents)
        start = datetime.now(UTC) + timedelta(minutes=10)
        occurrence = Occurrence("s-1", start, start, start + timedelta(hours=1))
        rows = await server.readiness.check(occurrence, [READY, BROKEN, ABSENT])
    finally:
        for link, task in started:
            link.stop()
            await task
    by_endpoint = {r.endpoint: r for r in rows}
    assert by_endpoint[READY].status is Readiness.READY
    assert by_endpoint[BROKEN].status is Readiness.NOT_READY
    assert by_endpoint[BROKEN].reason == "camera missing"
    assert by_endpoint[ABSENT].status is Readiness.NO_ANSWER
    assert by_endpoint[ABSENT].reason == "agent not connected"
    summary = await server.ctx.store.read(readiness_summary, "s-1", None)
    assert (summary.ready, summary.total) == (1, 3)
    assert summary.as_dict(server.ctx.fleet, server.ctx.tz)["text"] == "ready 1 of 3"
    url = http_url(server, "/api/v1/sessions/s-1/readiness")
    async with api_session(server) as http, http.get(url) as resp:
        body = await resp.json()
    assert body["text"] == "ready 1 of 3"
    assert body["summary"] == {"pending": 0, "ready": 1, "not_ready": 1, "no_answer": 1, "total": 3}
    broken = next(e for e in body["endpoints"] if e["endpoint"] == BROKEN)
    assert broken["status"] == "not_ready" and broken["reasons"] == ["camera missing"]
    assert broken["endpoint_name"] == "Phòng họp UBND tỉnh"
    assert broken["at"].endswith("+07:00")


async def test_booked_session_in_its_setup_window_is_checked_and_a_late_room_turns_ready(
    server: Components, monkeypatch: pytest.MonkeyPatch
) -> None:
    from confsched.runtime import readiness
    from confsched.services.booking import book, parse_request

    monkeypatch.setattr(readiness, "RECHECK_SECONDS", 0.3)
    monkeypatch.setattr(readiness, "POLL_SECONDS", 0.1)
    start = (datetime.now(UTC) + timedelta(minutes=10)).astimezone(server.ctx.tz)
    request = parse_request(
        server.ctx.fleet,
        title="Kiểm tra sẵn sàng",
        with_=f"{READY},{ABSENT}",
        start=start.strftime("%Y-%m-%d %H:%M"),
        duration="1h",
    )
    session = await server.ctx.store.write(book, server.ctx.fleet, request)

    def summary_is(ready: int) -> bool:
        rows = summaries.get("rows", ())
        return len(rows) == 2 and sum(r.status is Readiness.READY for r in rows) == ready

    summaries: dict[str, object] = {}

    async def refresh() -> None:
        summaries["rows"] = (await server.ctx.store.read(readiness_summary, session.id, None)).rows

    async def until(ready: int) -> None:
        for _ in range(100):
            await refresh()
            if summary_is(ready) and all(
                r.status is not Readiness.PENDING
                for r in summaries["rows"]  # type: ignore[attr-defined]
            ):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"readiness never reached {ready}: {summaries}")

    await until(0)  # nobody connected: no answer from both
    _agent, link, _ = make_agent(await enrolled(server, READY), Room())
    task = asyncio.create_task(link.run())
    try:
        await until(1)  # re-checked once its agent connected
    finally:
        link.stop()
        await task
