"""``/api/v1/fleet`` and ``/api/v1/endpoints``: the inventory as the console and scripts see it."""

from __future__ import annotations

from aiohttp import web

from confsched.domain.inventory import expand_selectors
from confsched.server import ServerContext
from confsched.services.inventory import endpoint_view, find_endpoint
from confsched.web.app import CTX, json_response


async def fleet_summary(request: web.Request) -> web.Response:
    fleet = request.app[CTX].fleet
    return json_response(
        {
            "name": fleet.name,
            "timezone": fleet.timezone,
            "report_interval_s": fleet.report_interval.total_seconds(),
            "bridges": [
                {"id": b.id, "name": b.name, "ports": b.ports, "dial_in": b.dial_in}
                for b in fleet.bridges.values()
            ],
            "agencies": [{"id": a.id, "name": a.name} for a in fleet.agencies.values()],
            "districts": [
                {"id": s.id, "name": s.name} for s in fleet.sites.values() if s.level == "district"
            ],
            "endpoint_count": len(fleet.endpoints),
        }
    )


async def list_endpoints(request: web.Request) -> web.Response:
    fleet = request.app[CTX].fleet
    selectors = request.query.get("with", "all").split(",")
    chosen = expand_selectors(fleet, selectors)
    return json_response([endpoint_view(fleet, e) for e in chosen])


async def show_endpoint(request: web.Request) -> web.Response:
    return json_response(find_endpoint(request.app[CTX].fleet, request.match_info["id"]))


def setup(app: web.Application, ctx: ServerContext) -> None:
    app.router.add_get("/api/v1/fleet", fleet_summary)
    app.router.add_get("/api/v1/endpoints", list_endpoints)
    app.router.add_get("/api/v1/endpoints/{id}", show_endpoint)
