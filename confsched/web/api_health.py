"""``/api/v1/health``, ``/api/v1/endpoints/{id}/health`` and session readiness (docs/api.md).

The fleet view reads the in-memory board only (no SQLite), so the console can poll it every
second at 10,000 endpoints; one endpoint's history comes from the store's reader thread.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from confsched.domain.model import EndpointHealth
from confsched.errors import InvalidInput, NotFound
from confsched.server import ServerContext
from confsched.services.health import HealthBoard
from confsched.store.health import StoredHealth, history
from confsched.web.app import CTX, json_response

MAX_HISTORY = 5000


def health_view(health: EndpointHealth, connected: bool | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "endpoint": health.endpoint,
        "state": health.state.value,
        "reasons": list(health.reasons),
        "codes": list(health.codes),
        "last_report_at": health.last_report_at.isoformat() if health.last_report_at else None,
        "checks": dict(health.checks),
        "rtt_ms": health.rtt_ms,
        "jitter_ms": health.jitter_ms,
        "loss_ratio": health.loss_ratio,
        "measurements": dict(health.measurements),
    }
    if connected is not None:
        view["connected"] = connected
    return view


def _history_view(item: StoredHealth) -> dict[str, Any]:
    h = item.health
    return {
        "seq": item.seq,
        "at": item.report_time.isoformat(),
        "received_at": h.last_report_at.isoformat() if h.last_report_at else None,
        "state": h.state.value,
        "reasons": list(h.reasons),
        "rtt_ms": h.rtt_ms,
        "jitter_ms": h.jitter_ms,
        "loss_ratio": h.loss_ratio,
    }


def _board(ctx: ServerContext) -> HealthBoard:
    return ctx.components["health_board"]


def _connected(ctx: ServerContext) -> set[str]:
    link = ctx.components.get("agentlink")
    return set(link.agents) if link is not None else set()


def counters(board: HealthBoard) -> dict[str, Any]:
    return {
        "reports_accepted": board.reports_accepted,
        "reports_duplicate": board.reports_duplicate,
        "logins_accepted": board.logins_accepted,
        "reports_rejected": dict(board.reports_rejected),
        "logins_refused": dict(board.logins_refused),
        "connections_closed": dict(board.connections_closed),
    }


async def fleet_health(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    board, now = _board(ctx), datetime.now(UTC)
    endpoints = list(ctx.fleet.endpoints)
    wanted = set(state.split(",")) if (state := request.query.get("state")) else None
    connected = _connected(ctx)
    views = []
    counts: dict[str, int] = {}
    for endpoint in endpoints:
        health = board.health(endpoint, now)
        counts[health.state.value] = counts.get(health.state.value, 0) + 1
        if wanted is None or health.state.value in wanted:
            views.append(health_view(health, endpoint in connected))
    return json_response(
        {
            "now": now.isoformat(),
            "version": board.version,
            "counts": counts,
            "endpoints": views,
            "counters": counters(board),
        }
    )


async def endpoint_health(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    endpoint = request.match_info["id"]
    if endpoint not in ctx.fleet.endpoints:
        raise NotFound("endpoint", endpoint)
    limit, hours = _history_window(request)
    now = datetime.now(UTC)
    health = _board(ctx).health(endpoint, now)
    since = now - timedelta(hours=hours) if hours is not None else None
    rows = await ctx.store.read(history, endpoint, limit, since) if limit else []
    view = health_view(health, endpoint in _connected(ctx))
    view["history"] = [_history_view(item) for item in rows]
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


async def session_readiness(request: web.Request) -> web.Response:
    from confsched.services.readiness import readiness_summary

    ctx = request.app[CTX]
    summary = await ctx.store.read(readiness_summary, request.match_info["id"], None)
    return json_response(summary.as_dict(ctx.fleet, ctx.tz))


def setup(app: web.Application, ctx: ServerContext) -> None:
    app.router.add_get("/api/v1/health", fleet_health)
    app.router.add_get("/api/v1/endpoints/{id}/health", endpoint_health)
    app.router.add_get("/api/v1/sessions/{id}/readiness", session_readiness)
