"""``/api/v1/health``, ``/api/v1/endpoints/{id}/health`` and session readiness (docs/api.md).

The fleet view reads the in-memory board only (no SQLite), so the console can poll it every
second at 10,000 endpoints; one endpoint's history comes from the store's reader thread.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from aiohttp import web

from confsched.domain.model import EndpointHealth
from confsched.domain.timeparse import parse_duration
from confsched.errors import InvalidInput, NotFound
from confsched.server import ServerContext
from confsched.services.health import HealthBoard
from confsched.services.health_views import (
    call_view,
    local_iso,
    parse_states,
    risk_view,
    state_counts,
)
from confsched.services.readiness import readiness_summary
from confsched.services.risk import explained, room_facts, upcoming_risks
from confsched.store.health import StoredHealth, history, list_keys
from confsched.web.common import CTX, json_response

MAX_HISTORY = 5000


@dataclass(frozen=True, slots=True)
class HealthParts:
    """The in-memory board, and who is connected now (the agent link's live agents)."""

    board: HealthBoard
    connected: Callable[[], Collection[str]]


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


def _history_view(item: StoredHealth, tz: tzinfo) -> dict[str, Any]:
    h = item.health
    return {
        "seq": item.seq,
        "at": local_iso(item.report_time, tz),
        "received_at": local_iso(h.last_report_at, tz),
        "state": h.state.value,
        "reasons": list(h.reasons),
        "rtt_ms": h.rtt_ms,
        "jitter_ms": h.jitter_ms,
        "loss_ratio": h.loss_ratio,
    }


def counters(board: HealthBoard) -> dict[str, Any]:
    return {
        "reports_accepted": board.reports_accepted,
        "reports_duplicate": board.reports_duplicate,
        "logins_accepted": board.logins_accepted,
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


async def fleet_health(request: web.Request) -> web.Response:
    """Every endpoint's state and why; ``counts`` always has all five states."""
    ctx, parts = request.app[CTX], request.app[HEALTH]
    board, now = parts.board, datetime.now(UTC)
    wanted = parse_states(request.query.get("state"))
    connected = set(parts.connected())
    healths = await explained_health(ctx, board, now)
    views = [
        health_view(h, ctx.tz, e in connected)
        for e, h in healths.items()
        if wanted is None or h.state in wanted
    ]
    return json_response(
        {
            "now": now.astimezone(ctx.tz).isoformat(),
            "version": board.version,
            "counts": state_counts(healths.values()),
            "endpoints": views,
            "counters": counters(board),
        }
    )


async def endpoint_health(request: web.Request) -> web.Response:
    ctx, parts = request.app[CTX], request.app[HEALTH]
    endpoint = request.match_info["id"]
    if endpoint not in ctx.fleet.endpoints:
        raise NotFound("endpoint", endpoint)
    limit, hours = _history_window(request)
    now = datetime.now(UTC)
    health = (await explained_health(ctx, parts.board, now))[endpoint]
    since = now - timedelta(hours=hours) if hours is not None else None
    rows = await ctx.store.read(history, endpoint, limit, since) if limit else []
    view = health_view(health, ctx.tz, endpoint in parts.connected())
    view["interval_seconds"] = parts.board.interval(endpoint).total_seconds()
    view["history"] = [_history_view(item, ctx.tz) for item in rows]
    return json_response(view)


def _history_window(request: web.Request) -> tuple[int, float | None]:
    """``?hours=3`` (a time window, capped at MAX_HISTORY rows) or ``?limit=N`` rows."""
    try:
        limit = int(request.query.get("limit", str(MAX_HISTORY)))
        hours = float(request.query["hours"]) if "hours" in request.query else None
    except ValueError:
        raise InvalidInput("limit must be a whole number and hours a number") from None
    if not 0 <= limit <= MAX_HISTORY:
        raise InvalidInput(f"limit must be between 0 and {MAX_HISTORY}")
    if hours is not None and not 0 < hours <= 24 * 30:
        raise InvalidInput("hours must be between 0 and 720")
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
