"""A session's detail over HTTP while listings run (issue 17): listings read on a lane of
their own, so a detail never waits for them, however many are in flight."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiohttp
import pytest
import sqlite_utils

from confsched.domain.model import Session
from confsched.runtime.components import Components
from confsched.services.session_listing import Listed
from confsched.store.runner import LONG_READERS
from confsched.web import api_booking
from tests.conftest import http_url
from tests.test_api_booking import MONDAY, province


async def test_a_detail_is_answered_while_listings_hold_every_long_read(
    server: Components, api_http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with api_http.post(http_url(server, "/api/v1/sessions"), json=province()) as resp:
        assert resp.status == 201
        booked = await resp.json()
    release = threading.Event()
    listings_waiting = threading.Semaphore(0)
    real_load = api_booking._load

    def held_load(
        db: sqlite_utils.Database, sessions: Sequence[Session], start: datetime, end: datetime
    ) -> list[Listed]:
        """A listing, held half-way on its long-read thread until the test lets it go."""
        if threading.current_thread().name.startswith("store-long"):
            listings_waiting.release()
            assert release.wait(timeout=30)
        return real_load(db, sessions, start, end)

    monkeypatch.setattr(api_booking, "_load", held_load)

    async def get(path: str) -> tuple[int, Any]:
        async with api_http.get(http_url(server, path)) as resp:
            return resp.status, await resp.json()

    listing = f"/api/v1/sessions?to={MONDAY}%2023:00"
    listings = [asyncio.ensure_future(get(listing)) for _ in range(LONG_READERS + 1)]
    try:
        for _ in range(LONG_READERS):  # every long-read connection busy, one more queued
            assert await asyncio.to_thread(listings_waiting.acquire, timeout=30)
        status, detail = await asyncio.wait_for(get(f"/api/v1/sessions/{booked['id']}"), 20)
        assert status == 200 and detail["id"] == booked["id"]
        assert len(detail["allocation"]["rooms"]) == 192
        assert not any(task.done() for task in listings)  # the detail came first
    finally:
        release.set()
    for status, listed in await asyncio.gather(*listings):
        assert status == 200 and [s["id"] for s in listed] == [booked["id"]]
