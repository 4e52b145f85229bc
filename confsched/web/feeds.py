"""Calendar over HTTP: subscribable feeds behind tokens, and a session's invite.

``GET /feeds/agency/{token}.ics`` and ``GET /feeds/room/{token}.ics`` serve a feed (METHOD:
PUBLISH) with a strong ETag and Last-Modified, answering 304 to If-None-Match (preferred) or
If-Modified-Since. A client that accepts gzip gets the feed compressed (about 1/40 of its
size), with its own ETag (``Vary: Accept-Encoding``); either ETag revalidates.

Any token that does not open a feed — never issued, revoked, rotated away,
of the other kind — gets exactly the router's own 404, so the answer says nothing about whether
an agency or room exists.

``GET /api/v1/sessions/{id}/invite.ics[?method=request|cancel][&occurrence=T][&room=ID]`` is
the session's iTIP invite (``occurrence``: that sitting alone, with its RECURRENCE-ID; ``room``:
as that room reads it, naming only the bridge it dials).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from email.utils import format_datetime

from aiohttp import web

from confsched.calendar.cache import FeedBody
from confsched.calendar.service import FeedService, gzip_etag
from confsched.calendar.usecases import invite_for_session
from confsched.domain.calendar import FeedKind
from confsched.server import ServerContext
from confsched.services.booking_reads import parse_instant
from confsched.web.common import CTX

CALENDAR_TYPE = "text/calendar; charset=utf-8"
FEED_PATH = r"/feeds/{kind:agency|room}/{token:[A-Za-z0-9_-]{1,256}}.ics"
SLICE = 256 << 10
CACHE_CONTROL = "private, no-cache"
"""Clients keep the feed but revalidate each time: a 304 is cheap, a stale calendar is not."""

FEEDS = web.AppKey("feeds", FeedService)


async def serve_feed(request: web.Request) -> web.StreamResponse:
    service = request.app[FEEDS]
    kind = FeedKind(request.match_info["kind"])
    await service.ready()  # the tokens, read in the background at start-up
    key = service.lookup(kind, request.match_info["token"])
    if key is None:
        raise web.HTTPNotFound()
    feed = await service.feed(key)
    if feed is None:  # the token outlived its agency or room
        raise web.HTTPNotFound()
    compressed = accepts_gzip(request)
    headers = {
        "ETag": gzip_etag(feed.etag) if compressed else feed.etag,
        "Last-Modified": format_datetime(feed.last_modified, usegmt=True),
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
    }
    matched = not_modified(request, feed)
    if matched:
        if matched is not True:
            headers["ETag"] = matched  # the representation the client holds
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = CALENDAR_TYPE
    if compressed:
        data = await service.gzipped(key, feed)
        headers["Content-Encoding"] = "gzip"
        return await send(request, (data,), len(data), headers)
    return await send(request, feed.parts, feed.length, headers)


def accepts_gzip(request: web.Request) -> bool:
    """``Accept-Encoding`` names gzip (or ``*``) without ``q=0``."""
    for item in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip", "*"):
            quality = params.strip().lower().removeprefix("q=")
            try:
                return not params or float(quality) > 0
            except ValueError:
                return False
    return False


async def send(
    request: web.Request, parts: tuple[bytes, ...], length: int, headers: dict[str, str]
) -> web.StreamResponse:
    """Write the feed's parts in slices of about ``SLICE`` bytes, yielding after each one.

    Never one 20 MB buffer: building it would fault in megabytes of fresh pages and handing it
    to the transport would copy it in one go. And ``write`` does not yield while the kernel
    takes the bytes (a loopback socket takes megabytes), so each slice yields by itself:
    every step of the event loop stays well under a millisecond.
    """
    response = web.StreamResponse(headers=headers)
    response.content_length = length
    await response.prepare(request)
    if request.method != "HEAD":
        for piece in _slices(parts):
            await response.write(piece)
            await asyncio.sleep(0)
    await response.write_eof()
    return response


def _slices(parts: tuple[bytes, ...]) -> Iterator[bytes]:
    group: list[bytes] = []
    size = 0
    for part in parts:
        group.append(part)
        size += len(part)
        if size >= SLICE:
            yield b"".join(group)
            group, size = [], 0
    if group:
        yield b"".join(group)


def not_modified(request: web.Request, feed: FeedBody) -> str | bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present, else If-Modified-Since.

    Returns the ETag the client holds when it names one of the feed's two (plain, gzip),
    True for ``*`` or an If-Modified-Since that is not older, else False.
    """
    match = request.headers.get("If-None-Match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        if "*" in tags:
            return True
        held = [t for t in (feed.etag, gzip_etag(feed.etag)) if t in tags]
        return held[0] if held else False
    since = request.if_modified_since
    return since is not None and feed.last_modified <= since


_METHOD_LINE = re.compile(rb"\r\nMETHOD:([A-Z]+)\r\n")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


async def session_invite(request: web.Request) -> web.Response:
    ctx: ServerContext = request.app[CTX]
    session_id = request.match_info["id"]
    method = request.query.get("method")
    occurrence = parse_instant(request.query.get("occurrence"), ctx.fleet)
    room = request.query.get("room")
    body = await ctx.store.read(
        invite_for_session, ctx.fleet, session_id, method, None, occurrence, room
    )
    found = _METHOD_LINE.search(body)
    itip = found.group(1).decode() if found else "REQUEST"
    filename = _UNSAFE.sub("_", session_id) + ".ics"
    headers = {
        "Content-Type": f"{CALENDAR_TYPE}; method={itip}",
        "Content-Disposition": f'attachment; filename="{filename}"',
    }
    return web.Response(body=body, headers=headers)


def setup(app: web.Application, feeds: FeedService) -> None:
    app[FEEDS] = feeds
    app.router.add_get(FEED_PATH, serve_feed)
    app.router.add_get("/api/v1/sessions/{id}/invite.ics", session_invite)
