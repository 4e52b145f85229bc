"""Feeds and invites of real bookings: booked, moved and cancelled through the JSON API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from confsched.config import Settings
from confsched.runtime.components import Components
from confsched.runtime.root import run_server
from tests.conftest import api_session, http_url, operator_auth
from tests.test_feeds_http import feed_path, fetch

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=HCM)


def next_monday(weeks_ahead: int = 2) -> date:
    today = datetime.now(HCM).date() + timedelta(weeks=weeks_ahead)
    return today + timedelta(days=(7 - today.weekday()) % 7)


async def api(ctx: Components, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with (
        api_session(ctx) as http,
        http.post(http_url(ctx, path), json=body) as resp,
    ):
        answer: dict[str, Any] = await resp.json()
        assert resp.status in (200, 201), answer
        return answer


async def changed_feed(ctx: Components, path: str, etag: str | None) -> tuple[str, bytes]:
    """The feed once its ETag differs from ``etag`` (the server notices writes within 0.25 s)."""
    for _ in range(60):
        status, headers, body = await fetch(ctx, path, **({"If-None-Match": etag} if etag else {}))
        if status == 200:
            return headers["ETag"], body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} did not change")


def vevents(body: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


async def test_booking_shows_in_agency_and_room_feeds_then_shows_cancelled(
    server: Components, cli: Any
) -> None:
    agency, room, other = (
        feed_path(cli, "agency", "ubnd-h-dai-tu"),
        feed_path(cli, "room", "dt-hung-son"),
        feed_path(cli, "room", "ioc"),
    )
    etag, _ = await changed_feed(server, agency, None)
    day = next_monday()
    session = await api(
        server,
        "/api/v1/sessions",
        {
            "title": "Họp triển khai chuyển đổi số huyện Đại Từ",
            "organizer": "so-tttt",
            "chair": "h-dai-tu",
            "with": "h-dai-tu,dt-hung-son",
            "start": f"{day} 08:00",
            "duration": "90m",
        },
    )
    etag, body = await changed_feed(server, agency, etag)
    (event,) = vevents(body)
    assert event["UID"] == f"{session['id']}@confsched"
    assert str(event["SUMMARY"]) == "Họp triển khai chuyển đổi số huyện Đại Từ"
    assert event["DTSTART"].dt == at(day, 8)
    assert event["STATUS"] == "CONFIRMED"
    assert len(vevents((await changed_feed(server, room, None))[1])) == 1
    assert vevents((await changed_feed(server, other, None))[1]) == []

    await api(server, f"/api/v1/sessions/{session['id']}/cancel", {})
    _, body = await changed_feed(server, agency, etag)
    (event,) = vevents(body)
    assert (event["STATUS"], event["SEQUENCE"]) == ("CANCELLED", 1)


async def test_moved_and_cancelled_sittings_of_a_series_show_in_the_feed(
    server: Components, cli: Any
) -> None:
    path = feed_path(cli, "room", "dt-phuc-luong")
    etag, _ = await changed_feed(server, path, None)
    day = next_monday()
    series = await api(
        server,
        "/api/v1/sessions",
        {
            "title": "Giao ban tuần",
            "with": "dt-phuc-luong,h-dai-tu",
            "chair": "h-dai-tu",
            "start": f"{day} 08:00",
            "duration": "1h",
            "repeat": "FREQ=WEEKLY;BYDAY=MO;COUNT=4",
        },
    )
    etag, _ = await changed_feed(server, path, etag)
    second, third = day + timedelta(weeks=1), day + timedelta(weeks=2)
    await api(
        server,
        f"/api/v1/sessions/{series['id']}/move",
        {"occurrence": f"{second} 08:00", "start": f"{second + timedelta(days=1)} 14:00"},
    )
    await api(server, f"/api/v1/sessions/{series['id']}/cancel", {"occurrence": f"{third} 08:00"})
    for _ in range(40):  # both changes, seen together or one after the other
        etag, body = await changed_feed(server, path, etag)
        if len(vevents(body)) == 2 and b"EXDATE" in body:
            break
    calendar = icalendar.Calendar.from_ical(body)
    master, override = calendar.walk("VEVENT")
    assert override["RECURRENCE-ID"].dt == at(second, 8)
    assert master["SEQUENCE"] == override["SEQUENCE"] == 3  # two changes, two steps up
    found = recurring_ical_events.of(calendar).between(day, day + timedelta(weeks=5))
    starts = [e["DTSTART"].dt.astimezone(HCM) for e in found]
    assert [(s.date(), s.hour) for s in starts] == [
        (day, 8),
        (second + timedelta(days=1), 14),
        (day + timedelta(weeks=3), 8),
    ]


async def test_invite_over_the_api_requests_then_cancels(server: Components) -> None:
    day = next_monday(3)
    session = await api(
        server,
        "/api/v1/sessions",
        {"title": "Họp HĐND", "with": "hdnd-tinh,ioc", "start": f"{day} 09:00", "duration": "1h"},
    )
    path = f"/api/v1/sessions/{session['id']}/invite.ics"
    auth = operator_auth(server)
    status, headers, body = await fetch(server, path, **auth)
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8; method=REQUEST"
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar["METHOD"] == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert datetime.now(UTC) - event["DTSTAMP"].dt < timedelta(minutes=1)  # the send time
    status, _, body = await fetch(server, path + "?room=ioc", **auth)
    (own,) = vevents(body)
    assert status == 200 and "Gọi vào cầu (MCU):" in str(own["DESCRIPTION"])
    assert (await fetch(server, path + "?room=dt-hung-son", **auth))[0] == 400  # not its room
    await api(server, f"/api/v1/sessions/{session['id']}/cancel", {})
    status, headers, body = await fetch(server, path, **auth)
    assert headers["Content-Type"].endswith("method=CANCEL")
    (event,) = vevents(body)
    assert (event["STATUS"], event["SEQUENCE"]) == ("CANCELLED", 1)
    assert (await fetch(server, "/api/v1/sessions/nope/invite.ics", **auth))[0] == 404
    assert (await fetch(server, path + "?method=publish", **auth))[0] == 400


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Components]:
    """A scheduler of our own (the ``server`` fixture runs one per test; this test restarts)."""
    ready: asyncio.Future[Components] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_server(settings, ready=ready.set_result))
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    try:
        yield ready.result()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_restart_serves_the_same_feed_without_serializing_again(
    settings: Settings, cli: Any
) -> None:
    path = feed_path(cli, "agency", "ioc")
    day = next_monday(4)
    async with running(settings) as first:
        await api(
            first,
            "/api/v1/sessions",
            {"title": "Giao ban IOC", "with": "ioc", "start": f"{day} 10:00", "duration": "1h"},
        )
        for _ in range(60):  # until the server has noticed the booking
            etag, body = await changed_feed(first, path, None)
            if vevents(body):
                break
            await asyncio.sleep(0.05)
        assert len(vevents(body)) == 1
    async with running(settings) as second:
        again_etag, again = await changed_feed(second, path, None)
        assert (again_etag, again) == (etag, body)
        assert second.calendar.builder.renders == 0
