"""The console's HTTP client and live feed, against the stand-in and the real scheduler."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from aiohttp import web
from confsched_tui.api import ApiClient, ApiError, Refused, RouteMissing, Unreachable
from confsched_tui.live import LiveFeed
from confsched_tui.sessionview import at_risk_counts

from confsched.runtime.components import Components
from tests.conftest import http_url
from tests.fakes.console_api import FakeScheduler, serve
from tests.test_metrics_booking import book


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[FakeScheduler, ApiClient]]:
    scheduler = FakeScheduler(long_poll_s=2.0)
    runner, url = await serve(scheduler)
    client = ApiClient(url, scheduler.token)
    try:
        yield scheduler, client
    finally:
        await client.close()
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_refused_booking_carries_every_conflict(fake) -> None:  # type: ignore[no-untyped-def]
    _, api = fake
    body = {"title": "Trùng", "with": "district:h-dai-tu", "start": "2026-12-07 09:30",
            "duration": "1h"}  # fmt: skip
    with pytest.raises(Refused) as refused:
        await api.book(body)
    assert refused.value.status == 409
    assert len(refused.value.conflicts) == 30
    assert refused.value.conflicts[0]["title"] == "Giao ban trực tuyến toàn tỉnh tháng 12"


async def test_writes_without_the_token_are_refused_with_the_schedulers_words(fake) -> None:  # type: ignore[no-untyped-def]
    _, client = fake
    api = ApiClient(client.url, token=None)
    try:
        with pytest.raises(ApiError) as error:
            await api.preview({"with": "all", "start": "2026-12-08 08:00", "duration": "1h"})
        assert error.value.status == 401 and "token" in error.value.message
    finally:
        await api.close()


async def test_a_stopped_scheduler_is_unreachable_not_an_error() -> None:
    api = ApiClient(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(Unreachable):
            await api.fleet()
    finally:
        await api.close()


async def test_a_route_the_scheduler_lacks_is_route_missing() -> None:
    app = web.Application()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api = ApiClient(f"http://127.0.0.1:{runner.addresses[0][1]}")
    try:
        with pytest.raises(RouteMissing):
            await api.slots("all", "1h")
        with pytest.raises(RouteMissing):
            await api.health()
    finally:
        await api.close()
        await runner.cleanup()


async def test_real_scheduler_answers_in_the_shapes_the_console_reads(
    server: Components,
) -> None:
    api = ApiClient(http_url(server), server.ctx.operator_token)
    try:
        health = await api.health()
        assert len(health["endpoints"]) == 192
        assert {e["state"] for e in health["endpoints"]} == {"unknown"}
        assert all(e["endpoint"] for e in health["endpoints"])
        detail = await api.endpoint_health("dt-hung-son")
        assert detail["endpoint"] == "dt-hung-son" and detail["history"] == []
        endpoints = await api.endpoints("district:h-dai-tu")
        assert len(endpoints) == 30 and endpoints[0]["area_name"] == "Huyện Đại Từ"
        assert await api.select("under:h-dai-tu") == [e["id"] for e in endpoints]
        with pytest.raises(ApiError, match="no level 'cluster'") as refused:
            await api.select("level:cluster")
        assert refused.value.status == 400
        assert await api.risk("24h") == []  # nothing booked: nothing at risk
        fleet = await api.fleet()
        assert fleet["levels"] == ["province", "district", "commune"]
        assert {"id": "h-dai-tu", "name": "Huyện Đại Từ", "level": "district"} in fleet["areas"]
    finally:
        await api.close()


async def test_real_schedulers_forecast_gives_the_sessions_screen_its_at_risk_counts(
    server: Components,
) -> None:
    start = (datetime.now(UTC) + timedelta(hours=5)).replace(second=0, microsecond=0)
    session = await server.ctx.store.write(book, server.ctx.fleet, "district:h-dai-tu", start)
    api = ApiClient(http_url(server), server.ctx.operator_token)
    try:
        forecast = await api.risk("24h")
    finally:
        await api.close()
    assert at_risk_counts(forecast) == {session.id: 30}  # nobody reported yet: all at risk
    assert forecast[0]["total"] == 30 and forecast[0]["ready"] == 0


async def test_live_feed_reports_a_change_then_a_lost_scheduler_then_reconnects() -> None:
    port = free_port()
    scheduler = FakeScheduler(long_poll_s=1.0, sessions=False)
    runner, url = await serve(scheduler, port)
    api = ApiClient(url, scheduler.token)
    changes: list[int] = []
    statuses: list[bool] = []
    feed = LiveFeed(
        api,
        on_change=lambda r: _record(changes, r),
        on_status=lambda ok, texts: statuses.append(ok),
        min_interval=0.0,
        backoff=(0.05,),
    )
    task = asyncio.create_task(feed.run())
    try:
        await _until(lambda: changes == [0])
        scheduler.set_state("ioc", "down")
        await _until(lambda: changes == [0, 1])
        await runner.cleanup()
        await _until(lambda: statuses[-1] is False)
        scheduler2 = FakeScheduler(long_poll_s=1.0, sessions=False)
        runner, _ = await serve(scheduler2, port)
        await _until(lambda: statuses[-1] is True and len(changes) == 3)
        assert changes[-1] == 0  # a restarted scheduler starts counting again: re-read anyway
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.close()
        await runner.cleanup()


async def _record(changes: list[int], revision: int) -> None:
    changes.append(revision)


async def _until(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)
