"""``/api/v1/sessions`` and ``/api/v1/slots``: booking over HTTP (docs/api.md).

Store work runs on the store's threads (``ctx.store.write`` / ``read``), never on the event loop;
every accepted change calls ``ctx.touch()`` so the console's long poll wakes at once.

Session views carry the readiness of their next or current occurrence once its setup time has
come (read from the readiness rows the readiness check stores), ``null`` before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlite_utils
from aiohttp import web

from confsched.domain.model import Fleet, Session
from confsched.domain.timeparse import parse_duration, parse_local_time
from confsched.errors import InvalidInput
from confsched.server import ServerContext
from confsched.services import booking as svc
from confsched.services.invites import invites_view
from confsched.services.session_listing import Listed, listed_sessions
from confsched.store.pacing import checkpoint
from confsched.web.common import CTX, encode_json, encoded_response, json_response, read_json

DEFAULT_WINDOW = timedelta(days=30)


def _load(
    db: sqlite_utils.Database, sessions: Sequence[Session], start: datetime, end: datetime
) -> list[Listed]:
    """On a store thread: each session with its sittings in the window and its readiness."""
    return listed_sessions(db, sessions, start, end, svc.now_utc())


def _render(
    ctx: ServerContext, loaded: Sequence[Listed], rooms: bool = False
) -> list[dict[str, Any]]:
    return [
        svc.session_view(
            ctx.fleet,
            one.session,
            one.occurrences,
            ctx.tz,
            one.readiness,
            one.load,
            rooms,
            attention=one.attention,
            sequence=one.sequence,
        )
        for one in loaded
    ]


ROOM_LISTS = ("endpoints", "selectors")
"""The two long lists of a listed session (192 rooms each at most): nine tenths of a listing's
bytes, and the same from one listing to the next."""


@lru_cache(maxsize=8192)
def _encoded_list(items: tuple[str, ...]) -> bytes:
    return encode_json(list(items))


def _encode_listing(ctx: ServerContext, loaded: Sequence[Listed]) -> bytes:
    """The listing's JSON, each session's room lists spliced in from their encoded bytes,
    kept across listings (a month at national scale: 5 MB, half the time spent encoding)."""
    parts = []
    for one in loaded:
        checkpoint()
        parts.append(_encode_one(ctx, one))
    return b"[" + b", ".join(parts) + b"]"


def _encode_one(ctx: ServerContext, one: Listed) -> bytes:
    (view,) = _render(ctx, [one])
    for key in ROOM_LISTS:
        del view[key]
    head = encode_json(view)[:-1]
    lists = (one.session.endpoints, one.session.selectors)
    tail = b"".join(
        b', "%s": %s' % (key.encode(), _encoded_list(tuple(items)))
        for key, items in zip(ROOM_LISTS, lists, strict=True)
    )
    return head + tail + b"}"


def _window(request: web.Request, fleet: Fleet) -> tuple[datetime, datetime]:
    start = svc.parse_bound(request.query.get("from"), fleet) or svc.now_utc()
    end = svc.parse_bound(request.query.get("to"), fleet) or start + DEFAULT_WINDOW
    if end <= start:
        raise InvalidInput("'to' must be after 'from'")
    return start, end


async def list_sessions(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    start, end = _window(request, ctx.fleet)
    status = request.query.get("status", "scheduled")

    def work(db: sqlite_utils.Database) -> bytes:
        """Read, shape and encode on a long-read thread: a month at national scale is
        megabytes of JSON, which would otherwise hold up every other request on the event
        loop; it gives way to short reads (a session's detail) at its checkpoints."""
        sessions = svc.list_sessions(db, start, end, status)
        return _encode_listing(ctx, _load(db, sessions, start, end))

    return encoded_response(await ctx.store.read_long(work))


async def show_session(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    start, end = _window(request, ctx.fleet)
    session_id = request.match_info["id"]

    def work(db: sqlite_utils.Database) -> bytes:
        """Shaped and encoded on the store thread too (its 192 rooms are 40 kB of JSON): the
        event loop only sends the bytes."""
        loaded = _load(db, [svc.get_session(db, session_id)], start, end)
        return encode_json(
            _render(ctx, loaded, rooms=True)[0] | invites_view(db, session_id, ctx.tz)
        )

    return encoded_response(await ctx.store.read(work))


async def _respond_with_session(
    ctx: ServerContext, session: Session, status: int = 200
) -> web.Response:
    ctx.touch()
    now = svc.now_utc()

    loaded = await ctx.store.read(_load, [session], now, now + DEFAULT_WINDOW)
    return json_response(_render(ctx, loaded, rooms=True)[0], status=status)


async def create_session(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    booking = svc.request_from_json(ctx.fleet, await read_json(request))
    session = await ctx.store.write(svc.book, ctx.fleet, booking)
    return await _respond_with_session(ctx, session, status=201)


async def preview_session(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    body = await read_json(request)
    body.setdefault("title", "(preview)")  # a dry run while the operator is still typing
    booking = svc.request_from_json(ctx.fleet, body)
    answer = await ctx.store.read(svc.preview, ctx.fleet, booking)
    allocation = svc.allocation_view(ctx.fleet, answer.allocation) if answer.allocation else None
    return json_response(
        {
            "ok": answer.ok,
            "conflicts": [c.as_dict() for c in answer.conflicts],
            "allocation": allocation,
        }
    )


async def _body(request: web.Request, allowed: set[str]) -> dict[str, Any]:
    body = await read_json(request) if request.can_read_body else {}
    for key, value in body.items():
        if key not in allowed:
            raise InvalidInput(f"unknown field {key!r} (allowed: {', '.join(sorted(allowed))})")
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"field {key!r} must be a string")
    return body


async def move_session(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    body = await _body(request, {"start", "duration", "occurrence"})
    if not body.get("start"):
        raise InvalidInput("missing field 'start'")
    start = parse_local_time(body["start"], ctx.tz)
    duration = parse_duration(body["duration"]) if body.get("duration") else None
    occurrence = svc.parse_instant(body.get("occurrence"), ctx.fleet)
    session = await ctx.store.write(
        _move, ctx.fleet, request.match_info["id"], start, duration, occurrence
    )
    return await _respond_with_session(ctx, session)


def _move(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session_id: str,
    start: datetime,
    duration: timedelta | None,
    occurrence: datetime | None,
) -> Session:
    return svc.move(db, fleet, session_id, start, duration=duration, occurrence=occurrence)


async def cancel_session(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    body = await _body(request, {"occurrence"})
    occurrence = svc.parse_instant(body.get("occurrence"), ctx.fleet)
    session = await ctx.store.write(_cancel, ctx.fleet, request.match_info["id"], occurrence)
    return await _respond_with_session(ctx, session)


def _cancel(
    db: sqlite_utils.Database, fleet: Fleet, session_id: str, occurrence: datetime | None
) -> Session:
    return svc.cancel(db, fleet, session_id, occurrence=occurrence)


async def free_slots(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    query = request.query
    if not query.get("with") or not query.get("duration"):
        raise InvalidInput("slots need 'with' and 'duration'")
    count_text = query.get("count", "5")
    if not (count_text.isascii() and count_text.isdigit()):
        raise InvalidInput("count must be a whole number")
    duration = parse_duration(query["duration"])
    within = parse_duration(query.get("within", "7d"))
    setup = parse_duration(query.get("setup", "15m"))
    earliest = svc.parse_bound(query.get("from"), ctx.fleet)
    selectors = query["with"].split(",")

    def work(db: sqlite_utils.Database) -> list[dict[str, str]]:
        found = svc.find_slots(
            db,
            ctx.fleet,
            selectors,
            duration,
            within=within,
            count=int(count_text),
            setup=setup,
            earliest=earliest,
        )
        tz = ctx.tz
        return [
            {"start": s.start.astimezone(tz).isoformat(), "end": s.end.astimezone(tz).isoformat()}
            for s in found
        ]

    return json_response(await ctx.store.read(work))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/sessions", list_sessions)
    app.router.add_post("/api/v1/sessions", create_session)
    app.router.add_post("/api/v1/sessions/preview", preview_session)
    app.router.add_get("/api/v1/sessions/{id}", show_session)
    app.router.add_post("/api/v1/sessions/{id}/move", move_session)
    app.router.add_post("/api/v1/sessions/{id}/cancel", cancel_session)
    app.router.add_get("/api/v1/slots", free_slots)
