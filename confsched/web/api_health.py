"""``/api/v1/health``, ``/api/v1/endpoints/{id}/health`` and session readiness (docs/api.md).

The fleet view reads the in-memory board (and the agent keys), shared between requests for a
moment (``health_changes``), so the console can poll it every second at 10,000 endpoints: by
page, by selector, with ``If-None-Match`` or only the rooms changed since its last look. One
endpoint's history comes from the store's readers.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from aiohttp import web

from confsched.domain.history import Cell
from confsched.domain.model import EndpointHealth, EndpointState
from confsched.domain.selectors import expand_selectors
from confsched.domain.timeparse import parse_duration
from confsched.domain.transitions import StateChange
from confsched.errors import InvalidInput, NotFound
from confsched.server import ServerContext
from confsched.services.health import HealthBoard
from confsched.services.health_views import (
    STATES,
    call_view,
    local_iso,
    parse_states,
    risk_view,
)
from confsched.services.readiness import readiness_summary
from confsched.services.risk import explained, room_changes, room_facts, upcoming_risks
from confsched.store.health import list_keys
from confsched.store.health_history import load_points
from confsched.web.common import (
    CTX,
    encode_json,
    encoded_response,
    error_response,
    json_response,
)
from confsched.web.health_changes import (
    HealthChanges,
    Look,
    SinceExpired,
    decode_cursor,
    encode_cursor,
)

MAX_HISTORY = 5000
MAX_HOURS = 24 * 30


@dataclass(frozen=True, slots=True)
class HealthParts:
    """The in-memory board, and who is connected now (the agent link's live agents)."""

    board: HealthBoard
    connected: Callable[[], Collection[str]]
    changes: HealthChanges = field(default_factory=HealthChanges)
    """The shared look at the fleet and which rooms changed when (``?since=``)."""


HEALTH = web.AppKey("health", HealthParts)


def health_view(
    health: EndpointHealth, tz: tzinfo, connected: bool | None = None
) -> dict[str, Any]:
    """One endpoint's health as docs/api.md shows it (times in the fleet's local time)."""
    view: dict[str, Any] = {
        "endpoint": health.endpoint,
        "state": health.state.value,
        "reasons": list(health.reasons),
        "codes": list(health.codes),
        "last_report_at": local_iso(health.last_report_at, tz),
        "checks": dict(health.checks),
        "rtt_ms": health.rtt_ms,
        "jitter_ms": health.jitter_ms,
        "loss_ratio": health.loss_ratio,
        "measurements": dict(health.measurements),
        "call": call_view(health.call),
    }
    if connected is not None:
        view["connected"] = connected
    return view


def _point_view(cell: Cell, tz: tzinfo) -> dict[str, Any]:
    """One minute or hour of a room's history: its worst state and highest measurements."""
    return {
        "at": local_iso(cell.start, tz),
        "minutes": int(cell.span.total_seconds() // 60),
        "state": cell.worst.value if cell.worst is not None else None,
        "reports": cell.reports,
        "ok_reports": cell.ok,
        "rtt_ms": cell.rtt_ms,
        "loss_ratio": cell.loss_ratio,
    }


def _change_view(change: StateChange, tz: tzinfo) -> dict[str, Any]:
    return {
        "at": local_iso(change.at, tz),
        "state": change.state.value,
        "reasons": list(change.reasons),
    }


def counters(board: HealthBoard) -> dict[str, Any]:
    return {
        "reports_accepted": board.reports_accepted,
        "reports_duplicate": board.reports_duplicate,
        "logins_accepted": board.logins_accepted,
        "logins_deferred": board.logins_deferred,
        "reports_rejected": dict(board.reports_rejected),
        "logins_refused": dict(board.logins_refused),
        "connections_closed": dict(board.connections_closed),
    }


async def explained_health(
    ctx: ServerContext, board: HealthBoard, now: datetime
) -> dict[str, EndpointHealth]:
    """Every endpoint's health at ``now``, silent ones with their cause (key, disconnect)."""
    healths = board.snapshot(list(ctx.fleet.endpoints), now)
    keys = await ctx.store.read(list_keys)
    return explained(room_facts(ctx.fleet, healths, keys, board.disconnects))


MAX_PAGE = 10_000
ENCODE_ELSEWHERE = 1000
"""Rooms from which a health body is encoded on a worker thread, not the event loop."""


async def fleet_look(ctx: ServerContext, parts: HealthParts) -> Look:
    """Every room's view now, or the shared look while nothing changed (``HealthChanges``)."""
    key = (parts.board.version, ctx.revision)
    look = parts.changes.current(key)
    if look is None:
        connected = set(parts.connected())
        healths = await explained_health(ctx, parts.board, datetime.now(UTC))
        views = {e: health_view(h, ctx.tz, e in connected) for e, h in healths.items()}
        look = parts.changes.take(views, counters(parts.board), key)
    return look


@dataclass(frozen=True, slots=True)
class HealthQuery:
    """What ``GET /api/v1/health`` was asked, checked before any work."""

    states: set[EndpointState] | None
    chosen: set[str] | None
    limit: int | None
    cursor: str | None
    since: str | None

    @classmethod
    def of(cls, request: web.Request) -> HealthQuery:
        query = request.query
        limit_text = query.get("limit")
        if limit_text is not None and not (
            limit_text.isascii() and limit_text.isdigit() and 1 <= int(limit_text) <= MAX_PAGE
        ):
            raise InvalidInput(f"limit must be a whole number from 1 to {MAX_PAGE}")
        since = query.get("since")
        if since is not None and ("limit" in query or "cursor" in query):
            raise InvalidInput("since answers every changed room at once: drop limit and cursor")
        if "cursor" in query and limit_text is None:
            raise InvalidInput("cursor goes with limit (the page size)")
        chosen = None
        if query.get("with"):
            chosen = set(expand_selectors(request.app[CTX].fleet, query["with"]))
        return cls(
            parse_states(query.get("state")),
            chosen,
            int(limit_text) if limit_text is not None else None,
            query.get("cursor"),
            since,
        )


async def fleet_health(request: web.Request) -> web.Response:
    """Every endpoint's state and why; ``counts`` always has all five states (of the rooms
    ``with`` chose). Opt-in: a page (``limit``, ``cursor``), the rooms changed ``since`` a
    token, and ``If-None-Match`` with the ETag of an earlier answer."""
    ctx, parts = request.app[CTX], request.app[HEALTH]
    asked = HealthQuery.of(request)
    look = await fleet_look(ctx, parts)
    etag = parts.changes.etag(look, request.query_string, parts.board.version)
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers={"ETag": etag})
    try:
        changed = parts.changes.changed_after(asked.since) if asked.since is not None else None
    except SinceExpired as exc:
        return error_response(410, str(exc))
    rooms = [e for e in look.views if asked.chosen is None or e in asked.chosen]
    counts = dict.fromkeys(STATES, 0)
    for endpoint in rooms:
        counts[look.views[endpoint]["state"]] += 1
    states = {s.value for s in asked.states} if asked.states is not None else None
    listed = [
        e
        for e in rooms
        if (states is None or look.views[e]["state"] in states)
        and (changed is None or e in changed)
    ]
    body: dict[str, Any] = {
        "now": datetime.now(UTC).astimezone(ctx.tz).isoformat(),
        "version": parts.board.version,
        "counts": counts,
        "endpoints": [],
        "counters": dict(look.counters),
        "since": parts.changes.token(look),
    }
    if asked.limit is not None:
        listed, body["next_cursor"] = _page(listed, look, asked.limit, asked.cursor)
    body["endpoints"] = [look.views[e] for e in listed]
    return await _encoded(body, len(listed), etag)


def _page(
    listed: list[str], look: Look, limit: int, cursor: str | None
) -> tuple[list[str], str | None]:
    """The rooms of one page (fleet order) and the cursor of the next (None: the last)."""
    first = 0
    if cursor is not None:
        positions = {e: i for i, e in enumerate(look.views)}
        after = decode_cursor(cursor, positions)
        first = bisect_left([positions[e] for e in listed], after)
    page = listed[first : first + limit]
    more = first + limit < len(listed)
    return page, encode_cursor(page[-1]) if more and page else None


async def _encoded(body: dict[str, Any], rooms: int, etag: str) -> web.Response:
    """The JSON answer with its ETag; thousands of rooms are encoded off the event loop."""
    if rooms < ENCODE_ELSEWHERE:
        return json_response(body, headers={"ETag": etag})
    data = await asyncio.get_running_loop().run_in_executor(None, encode_json, body)
    response = encoded_response(data)
    response.headers["ETag"] = etag
    return response


async def endpoint_health(request: web.Request) -> web.Response:
    ctx, parts = request.app[CTX], request.app[HEALTH]
    endpoint = request.match_info["id"]
    if endpoint not in ctx.fleet.endpoints:
        raise NotFound("endpoint", endpoint)
    limit, hours = _history_window(request)
    now = datetime.now(UTC)
    health = (await explained_health(ctx, parts.board, now))[endpoint]
    window = timedelta(hours=hours if hours is not None else MAX_HOURS)
    points = await ctx.store.read(load_points, endpoint, now - window, now) if limit else []
    changes = await ctx.store.read(room_changes, ctx.fleet, endpoint, now, window)
    view = health_view(health, ctx.tz, endpoint in parts.connected())
    view["interval_seconds"] = parts.board.interval(endpoint).total_seconds()
    view["history"] = [_point_view(cell, ctx.tz) for cell in points[-limit:]] if limit else []
    view["changes"] = [_change_view(change, ctx.tz) for change in changes]
    return json_response(view)


def _history_window(request: web.Request) -> tuple[int, float | None]:
    """``?hours=3`` (a time window, capped at MAX_HISTORY points) or ``?limit=N`` points (the
    last N of the longest window)."""
    try:
        limit = int(request.query.get("limit", str(MAX_HISTORY)))
        hours = float(request.query["hours"]) if "hours" in request.query else None
    except ValueError:
        raise InvalidInput("limit must be a whole number and hours a number") from None
    if not 0 <= limit <= MAX_HISTORY:
        raise InvalidInput(f"limit must be between 0 and {MAX_HISTORY}")
    if hours is not None and not 0 < hours <= MAX_HOURS:
        raise InvalidInput(f"hours must be between 0 and {MAX_HOURS}")
    if hours is None and "limit" not in request.query:
        hours = 3.0
    return limit, hours


async def session_risks(request: web.Request) -> web.Response:
    """The forecast: upcoming occurrences (``?within=24h``) with their rooms at risk."""
    ctx = request.app[CTX]
    now = datetime.now(UTC)
    within = parse_duration(request.query.get("within", "24h"))
    board = request.app[HEALTH].board
    healths = board.snapshot(list(ctx.fleet.endpoints), now)
    keys = await ctx.store.read(list_keys)
    facts = room_facts(ctx.fleet, healths, keys, board.disconnects)
    found = await ctx.store.read(upcoming_risks, ctx.fleet, facts, now, within)
    views = [risk_view(ctx.fleet, item, now, ctx.tz) for item in found]
    return json_response({"now": now.astimezone(ctx.tz).isoformat(), "sessions": views})


async def session_readiness(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    summary = await ctx.store.read(readiness_summary, request.match_info["id"], None)
    return json_response(summary.as_dict(ctx.fleet, ctx.tz))


def setup(
    app: web.Application, board: HealthBoard, connected: Callable[[], Collection[str]]
) -> None:
    app[HEALTH] = HealthParts(board, connected)
    app.router.add_get("/api/v1/health", fleet_health)
    app.router.add_get("/api/v1/endpoints/{id}/health", endpoint_health)
    app.router.add_get("/api/v1/sessions/{id}/readiness", session_readiness)
    app.router.add_get("/api/v1/risk", session_risks)
