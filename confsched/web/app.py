"""The aiohttp application: error mapping, operator-token check for writes, route modules.

Each resource's routes live in their own module with ``setup(app, ctx)``; ``ROUTE_MODULES``
lists them.
"""

from __future__ import annotations

import hmac
import importlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from confsched.errors import BookingRefused, ConfschedError, InvalidInput, NotFound, Unauthorized
from confsched.server import ServerContext, Stopper

log = logging.getLogger(__name__)

CTX = web.AppKey("ctx", ServerContext)

# Order matters where paths overlap: static routes before ``/api/v1/endpoints/{id}``.
ROUTE_MODULES: tuple[str, ...] = (
    "confsched.web.api_health",
    "confsched.web.api_rooms",
    "confsched.web.api_booking",
    "confsched.web.feeds",
    "confsched.web.metrics",
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(
        data, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False, default=str)
    )


def error_response(status: int, message: str, **extra: Any) -> web.Response:
    return json_response({"error": message, **extra}, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """User errors become JSON with a status code; the service keeps running."""
    try:
        return await handler(request)
    except BookingRefused as exc:
        conflicts = [getattr(c, "as_dict", lambda c=c: str(c))() for c in exc.conflicts]
        return error_response(409, str(exc), conflicts=conflicts)
    except NotFound as exc:
        return error_response(404, str(exc))
    except Unauthorized as exc:
        return error_response(401, str(exc))
    except ConfschedError as exc:
        return error_response(400, str(exc))


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Writes to the API need the operator token (``Authorization: Bearer …``)."""
    if request.path.startswith("/api/") and request.method not in ("GET", "HEAD", "OPTIONS"):
        expected = request.app[CTX].operator_token
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized("operator token missing or wrong")
    return await handler(request)


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object")
    return body


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


def make_app(ctx: ServerContext) -> web.Application:
    app = web.Application(middlewares=[errors_middleware, auth_middleware], client_max_size=1 << 20)
    app[CTX] = ctx
    app.router.add_get("/healthz", healthz)
    for module_name in ROUTE_MODULES:
        importlib.import_module(module_name).setup(app, ctx)
    return app


async def start(ctx: ServerContext) -> Stopper:
    """Start hook: serve HTTP on the configured address; the bound port goes in components."""
    runner = web.AppRunner(make_app(ctx), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, ctx.settings.http_host, ctx.settings.http_port)
    await site.start()
    ctx.components["http_port"] = runner.addresses[0][1]

    async def stop() -> None:
        ctx.touch()  # answer pending long polls now rather than after their 20 s
        await runner.cleanup()

    return stop
