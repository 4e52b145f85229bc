"""``/api/v1/fleet``, ``/api/v1/endpoints`` (the inventory) and ``/api/v1/changes`` (long poll)."""

from __future__ import annotations

from aiohttp import web

from confsched.domain.selectors import expand_selectors
from confsched.domain.sitetree import areas
from confsched.errors import InvalidInput
from confsched.services.inventory import endpoint_view, find_endpoint
from confsched.web.common import CTX, json_response

LONG_POLL_SECONDS = 20.0


async def fleet_summary(request: web.Request) -> web.Response:
    fleet = request.app[CTX].fleet
    return json_response(
        {
            "name": fleet.name,
            "timezone": fleet.timezone,
            "language": fleet.language or None,
            "report_interval_s": fleet.report_interval.total_seconds(),
            "bridges": [
                {"id": b.id, "name": b.name, "ports": b.ports, "dial_in": b.dial_in}
                for b in fleet.bridges.values()
            ],
            "agencies": [{"id": a.id, "name": a.name} for a in fleet.agencies.values()],
            "levels": list(fleet.levels),
            "areas": [
                {"id": s.id, "name": s.name, "level": s.level}
                for s in areas(fleet.sites, fleet.levels)
            ],
            "endpoint_count": len(fleet.endpoints),
        }
    )


async def list_endpoints(request: web.Request) -> web.Response:
    fleet = request.app[CTX].fleet
    chosen = expand_selectors(fleet, request.query.get("with", "all"))
    return json_response([endpoint_view(fleet, e) for e in chosen])


async def select_endpoints(request: web.Request) -> web.Response:
    """The ids a selector expression chooses: the console's filter resolves its selector words
    here, so that it speaks the scheduler's one selector language without importing it."""
    fleet = request.app[CTX].fleet
    text = request.query.get("with", "")
    if not text.strip():
        raise InvalidInput("give the selectors to resolve: ?with=under:h-dai-tu,tag:vung-cao")
    return json_response({"with": text, "endpoints": list(expand_selectors(fleet, text))})


async def show_endpoint(request: web.Request) -> web.Response:
    return json_response(find_endpoint(request.app[CTX].fleet, request.match_info["id"]))


async def changes(request: web.Request) -> web.Response:
    """Long poll: answer when the revision moves past ``since`` (or after 20 s)."""
    ctx = request.app[CTX]
    try:
        since = int(request.query.get("since", "-1"))
    except ValueError:
        raise InvalidInput("since must be a whole number") from None
    return json_response({"revision": await ctx.wait_for_change(since, LONG_POLL_SECONDS)})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/changes", changes)
    app.router.add_get("/api/v1/fleet", fleet_summary)
    app.router.add_get("/api/v1/endpoints", list_endpoints)
    app.router.add_get("/api/v1/select", select_endpoints)
    app.router.add_get("/api/v1/endpoints/{id}", show_endpoint)
