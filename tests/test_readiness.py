"""Readiness at setup time: every participant self-tests; ready / not ready (why) / no answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp

from confsched.domain.model import Occurrence, Readiness
from confsched.server import ServerContext
from confsched.services.readiness import check_occurrence, readiness_summary
from tests.conftest import http_url
from tests.test_agentlink import Room, enrolled, eventually, make_agent

READY, BROKEN, ABSENT = "tinh-uy", "ubnd-tinh", "hdnd-tinh"


async def test_selftests_give_ready_n_of_m_with_reasons(server: ServerContext) -> None:
    links = server.components["agentlink"]
    started = []
    for endpoint, room in ((READY, Room()), (BROKEN, Room(camera=False))):
        _agent, link, _ = make_agent(await enrolled(server, endpoint), room)
        started.append((link, asyncio.create_task(link.run())))
    try:
        await eventually(lambda: READY in links.agents and BROKEN in links.agents)
        start = datetime.now(UTC) + timedelta(minutes=10)
        occurrence = Occurrence("s-1", start, start, start + timedelta(hours=1))
        rows = await check_occurrence(server, occurrence, [READY, BROKEN, ABSENT])
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
    summary = await server.store.read(readiness_summary, "s-1", None)
    assert (summary.ready, summary.total) == (1, 3)
    assert summary.as_dict()["text"] == "ready 1 of 3"
    url = http_url(server, "/api/v1/sessions/s-1/readiness")
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        body = await resp.json()
    assert body["text"] == "ready 1 of 3"
    assert {"endpoint": BROKEN, "status": "not_ready", "reason": "camera missing"} in body[
        "not_ready"
    ]
