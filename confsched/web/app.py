"""The aiohttp application: error mapping, the token check, the route modules.

Each resource's routes live in their own module with a ``setup(app, …)`` that takes exactly the
parts it serves; :func:`make_app` calls them in order (static routes before
``/api/v1/endpoints/{id}``). :class:`HttpServer` is the runtime component that serves it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from confsched.calendar.service import FeedService
from confsched.domain.access import Role
from confsched.errors import (
    BookingRefused,
    ConfschedError,
    Forbidden,
    NotFound,
    StoreUnavailable,
    Unauthorized,
)
from confsched.metrics.exporter import MetricsExporter
from confsched.server import ServerContext
from confsched.services.health import HealthBoard
from confsched.web import api_booking, api_health, api_rooms, feeds, metrics
from confsched.web.common import CTX, error_response, json_response
from confsched.web.hosts import (
    answers_to,
    clear_text_warning,
    machine_names,
    misdirected,
    public_base_url,
    served_names,
)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MACHINE: web.AppKey[tuple[str, ...]] = web.AppKey("machine_names")
"""This host's names, looked up once when the application is made."""
SERVED: web.AppKey[frozenset[str]] = web.AppKey("served_names")
"""Every name the API answers to (``Host`` header)."""


@dataclass(frozen=True, slots=True)
class WebParts:
    """What the routes serve besides the context: each named seam to another adapter."""

    board: HealthBoard
    connected: Callable[[], Collection[str]]
    """Endpoints whose agent is connected now (the agent link)."""
    feeds: FeedService
    exporter: MetricsExporter


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
    except Forbidden as exc:
        return error_response(403, str(exc))
    except Unauthorized as exc:
        challenge = {"WWW-Authenticate": 'Bearer realm="confsched"'}
        return error_response(401, str(exc), headers=challenge)
    except StoreUnavailable as exc:
        log.warning("%s %s: %s", request.method, request.path, exc)
        return error_response(503, str(exc), reason=exc.reason, headers={"Retry-After": "5"})
    except ConfschedError as exc:
        return error_response(400, str(exc))


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_POSTS = frozenset({"/api/v1/sessions/preview"})
"""POSTs that change nothing (a booking tried, not made): a viewer may send them."""
NO_TOKEN = (
    "this API needs a token: send 'Authorization: Bearer TOKEN' (the operator's, in "
    "DATA/operator.token, or one from 'confsched tokens create')"
)
BAD_TOKEN = "token not recognised (mistyped, or revoked with 'confsched tokens revoke')"
VIEWER_WRITES = "a viewer token can only read; this needs an operator token"


def open_path(request: web.Request) -> bool:
    """What anyone may fetch without an API token: the health check, the feeds (their URL holds
    their own token), ``/metrics`` unless ``serve --metrics-need-token`` closed it, and the
    router's plain 404 outside the API (the same answer a bad feed URL gets). Any route added
    later is closed until it is named here."""
    path = request.path
    if path == "/healthz" or path.startswith("/feeds/"):
        return True
    if request.match_info.http_exception is not None and not path.startswith("/api/"):
        return True
    return path == "/metrics" and not request.app[CTX].settings.metrics_need_token


@web.middleware
async def host_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The API answers only to the names it is served as (DNS rebinding, see
    :mod:`confsched.web.hosts`), before the token is even looked at. The feeds, ``/metrics``
    and ``/healthz`` answer any name: calendar apps keep the URL they were given and Prometheus
    scrapes by whatever name its target says, and what a rebinding page could read there is
    what any host on the network reads (the feeds and a closed ``/metrics`` need their token)."""
    host = request.headers.get("Host")
    if request.path.startswith("/api/") and not answers_to(host, request.app[SERVED]):
        return error_response(421, misdirected(host or ""))
    return await handler(request)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route but the open ones needs a token (``Authorization: Bearer …``): reads take a
    viewer's or the operator's, writes the operator's. Without it, anyone who reaches the port
    would read every room's address, every session and the bridges' dial-ins."""
    if open_path(request):
        return await handler(request)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized(NO_TOKEN)
    role = request.app[CTX].role_of(given.strip())
    if role is None:
        raise Unauthorized(BAD_TOKEN)
    writes = request.method not in READ_METHODS and request.path not in READ_POSTS
    if writes and role is not Role.OPERATOR:
        raise Forbidden(VIEWER_WRITES)
    return await handler(request)


async def whoami(request: web.Request) -> web.Response:
    """What the caller's token may do (``operator`` or ``viewer``): the console shows itself
    read-only before an operator tries a write it would be refused."""
    _scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    role = request.app[CTX].role_of(given.strip())
    return json_response({"role": role.value if role is not None else None})


async def healthz(request: web.Request) -> web.Response:
    """200 while the store takes writes; 503 naming the fault (a full disk) while it cannot, so
    a load balancer or a probe sees what the agents see: reports no longer acknowledged."""
    fault = request.app[CTX].store.faults.fault
    if fault is None:
        return json_response({"status": "ok"})
    since = datetime.fromtimestamp(fault.since, UTC).isoformat(timespec="seconds")
    body = {"status": "store_fault", "reason": fault.reason, "since": since}
    return json_response(body, status=503)


def make_app(ctx: ServerContext, parts: WebParts) -> web.Application:
    app = web.Application(
        middlewares=[errors_middleware, host_middleware, auth_middleware],
        client_max_size=1 << 20,
    )
    app[CTX] = ctx
    machine = machine_names()
    app[MACHINE] = machine
    app[SERVED] = served_names(ctx.settings, machine)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/whoami", whoami)
    api_health.setup(app, parts.board, parts.connected)
    api_rooms.setup(app)
    api_booking.setup(app)
    feeds.setup(app, parts.feeds)
    metrics.setup(app, parts.exporter)
    return app


class OneLineBadRequests(logging.Filter):
    """aiohttp answers a malformed request (a header over 8 KB, a garbled request line) with a
    400 and logs it with a traceback; anyone can send one, so it is one line here."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            reason = " ".join(str(exc.message).split())[:160]
            record.msg = f"refused a malformed HTTP request: {record.getMessage()}: {reason}"
            record.args = ()
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


BAD_REQUESTS = OneLineBadRequests()


class HttpServer:
    """Serves the application on the configured address; ``port`` is the bound one and
    ``public_url`` what feed links start with (``--public-url``, else a reachable address)."""

    def __init__(self, ctx: ServerContext, app: web.Application) -> None:
        logging.getLogger("aiohttp.server").addFilter(BAD_REQUESTS)
        self.ctx = ctx
        self._app = app
        self._runner = web.AppRunner(app, access_log=None)
        self._set_up = False
        self.port = 0
        self.public_url = ""

    async def start(self) -> None:
        await self._runner.setup()
        self._set_up = True
        settings = self.ctx.settings
        site = web.TCPSite(self._runner, settings.http_host, settings.http_port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        machine: tuple[str, ...] = self._app[MACHINE]
        self.public_url = public_base_url(settings, self.port, machine)
        bound = [str(address[0]) for address in self._runner.addresses]
        warning = clear_text_warning(settings, bound, self.port)
        if warning is not None:
            log.warning("%s", warning)

    async def stop(self) -> None:
        self.ctx.touch()  # answer pending long polls now rather than after their 20 s
        if self._set_up:
            await self._runner.cleanup()
