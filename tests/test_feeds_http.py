"""Feeds over the real HTTP server: tokens, 404s that reveal nothing, ETag/304, rotation."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Mapping
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import icalendar
import pytest

from confsched.calendar.service import FeedService
from confsched.config import Settings
from confsched.runtime.components import Components
from tests.conftest import http_url, running
from tests.test_cli_feeds import url_of


def feed_path(cli: Any, kind: str, subject: str) -> str:
    """The feed's path (the token is the secret part), from ``feeds list``."""
    result = cli("feeds", "list", "--json")
    url = url_of(result.json(), kind, subject)
    assert url is not None
    return urlsplit(url).path


async def fetch(ctx: Components, path: str, **headers: str) -> tuple[int, Mapping[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(http_url(ctx, path), headers=headers) as resp,
    ):
        return resp.status, resp.headers.copy(), await resp.read()


async def until_status(ctx: Components, path: str, status: int) -> None:
    """The server notices other processes' writes by polling (every 0.25 s): allow 2 s."""
    for _ in range(40):
        if (await fetch(ctx, path))[0] == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never answered {status}")


async def test_feed_served_with_calendar_type_etag_and_last_modified(
    server: Components, cli: Any
) -> None:
    status, headers, body = await fetch(server, feed_path(cli, "agency", "ubnd-h-dai-tu"))
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["ETag"].startswith('"') and headers["Last-Modified"].endswith("GMT")
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar["X-WR-CALNAME"] == "Lịch họp trực tuyến — UBND huyện Đại Từ"
    status, _, _ = await fetch(server, feed_path(cli, "room", "dt-hung-son"))
    assert status == 200


async def test_conditional_requests_get_304(server: Components, cli: Any) -> None:
    path = feed_path(cli, "agency", "ioc")
    _, headers, _ = await fetch(server, path)
    status, again, body = await fetch(server, path, **{"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    assert again["ETag"] == headers["ETag"]
    status, _, _ = await fetch(server, path, **{"If-None-Match": 'W/"other", ' + headers["ETag"]})
    assert status == 304
    status, _, _ = await fetch(server, path, **{"If-None-Match": '"other"'})
    assert status == 200
    status, _, _ = await fetch(server, path, **{"If-Modified-Since": headers["Last-Modified"]})
    assert status == 304
    earlier = parsedate_to_datetime(headers["Last-Modified"]) - timedelta(days=1)
    status, _, _ = await fetch(
        server, path, **{"If-Modified-Since": format_datetime(earlier, usegmt=True)}
    )
    assert status == 200


async def test_bad_revoked_or_misplaced_tokens_all_get_the_same_404(
    server: Components, cli: Any
) -> None:
    token = feed_path(cli, "agency", "ioc").rsplit("/", 1)[1]
    revoked = feed_path(cli, "agency", "ubnd-tinh")
    assert cli("feeds", "revoke", "ubnd-tinh").code == 0
    await until_status(server, revoked, 404)
    answers = []
    for path in (
        revoked,
        "/feeds/agency/not-a-token.ics",
        f"/feeds/room/{token}",  # an agency's token on the room path
        "/feeds/agency/" + "A" * 43 + ".ics",
        "/feeds/agency/../../etc/passwd",
        "/feeds/agency/%00.ics",
        "/feeds/calendar/" + token,
    ):
        status, headers, body = await fetch(server, path)
        answers.append((status, headers.get("Content-Type"), body))
    assert {a[0] for a in answers} == {404}
    assert len(set(answers)) == 1, answers


async def test_rotation_closes_the_old_url_at_once(server: Components, cli: Any) -> None:
    old = feed_path(cli, "agency", "so-tttt")
    assert (await fetch(server, old))[0] == 200
    assert cli("feeds", "rotate", "so-tttt").code == 0
    new = feed_path(cli, "agency", "so-tttt")
    await until_status(server, old, 404)
    assert (await fetch(server, new))[0] == 200
    unknown_status, _, unknown_body = await fetch(server, "/feeds/agency/nope.ics")
    old_status, _, old_body = await fetch(server, old)
    assert (old_status, old_body) == (unknown_status, unknown_body)


async def test_feeds_list_prints_where_the_server_answers(server: Components, cli: Any) -> None:
    expected = http_url(server, "/feeds/agency/")
    for _ in range(40):
        result = cli("feeds", "list", "--kind", "agency")
        if expected in result.out:
            break
        await asyncio.sleep(0.05)
    assert expected in result.out


async def test_head_gives_the_headers_without_the_body(server: Components, cli: Any) -> None:
    path = feed_path(cli, "agency", "ubnd-tinh")
    _, full, body = await raw_get(server, path)
    async with (
        aiohttp.ClientSession(skip_auto_headers=["Accept-Encoding"]) as http,
        http.head(http_url(server, path)) as resp,
    ):
        assert resp.status == 200
        assert resp.headers["ETag"] == full["ETag"]
        assert int(resp.headers["Content-Length"]) == len(body)
        assert await resp.read() == b""


async def raw_get(
    ctx: Components, path: str, **headers: str
) -> tuple[int, Mapping[str, str], bytes]:
    """As a calendar client sends it: only the headers given (no Accept-Encoding by default)."""
    async with (
        aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=["Accept-Encoding"]) as http,
        http.get(http_url(ctx, path), headers=headers) as resp,
    ):
        return resp.status, resp.headers.copy(), await resp.read()


async def test_feed_gzipped_on_request_with_its_own_etag(server: Components, cli: Any) -> None:
    path = feed_path(cli, "agency", "ubnd-tinh")
    status, plain_headers, plain = await raw_get(server, path)
    assert status == 200 and "Content-Encoding" not in plain_headers
    assert plain_headers["Vary"] == "Accept-Encoding"
    status, headers, packed = await raw_get(server, path, **{"Accept-Encoding": "br, gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed) == plain and len(packed) < len(plain)
    assert int(headers["Content-Length"]) == len(packed)
    assert headers["ETag"] != plain_headers["ETag"]
    icalendar.Calendar.from_ical(gzip.decompress(packed))
    refused = await raw_get(server, path, **{"Accept-Encoding": "gzip;q=0"})
    assert refused[0] == 200 and "Content-Encoding" not in refused[1]
    for held in (headers["ETag"], plain_headers["ETag"]):
        status, again, body = await raw_get(
            server, path, **{"Accept-Encoding": "gzip", "If-None-Match": held}
        )
        assert (status, body, again["ETag"]) == (304, b"", held)


async def test_a_feed_asked_for_while_the_tokens_load_waits_for_them(
    settings: Settings, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP opens before the feeds' tokens are read (start-up's first API read needs none): a
    feed asked for meanwhile is answered once they are, never with a 404."""
    path = feed_path(cli, "agency", "ubnd-h-dai-tu")
    gate = asyncio.Event()
    real_load = FeedService.load_tokens

    async def held_load(self: FeedService) -> None:
        await gate.wait()
        await real_load(self)

    monkeypatch.setattr(FeedService, "load_tokens", held_load)
    async with running(settings) as server:
        asked = asyncio.ensure_future(fetch(server, path))
        await asyncio.sleep(0.2)
        assert not asked.done()  # waiting for the tokens, not refused
        gate.set()
        status, headers, _ = await asyncio.wait_for(asked, 20)
        assert status == 200 and headers["Content-Type"] == "text/calendar; charset=utf-8"
