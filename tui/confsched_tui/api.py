"""The console's HTTP client for the scheduler's JSON API (``docs/api.md``).

Exceptions::

    ApiProblem                the scheduler could not give us what we asked for
    ├── Unreachable           no answer at all (refused, reset, timed out): it may come back
    └── ApiError              an answer with an error status and the scheduler's one-line message
        ├── RouteMissing      404 without a JSON body: this scheduler does not offer the route yet
        └── Refused           409: a booking refused, with every conflict

The client holds one aiohttp session, created on first use inside the running loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from confsched_tui import normalize
from confsched_tui.i18n import _

JSON = Any
REQUEST_TIMEOUT_S = 10.0
LONG_POLL_TIMEOUT_S = 30.0
"""Longer than the scheduler's 20 s long-poll wait."""


class ApiProblem(Exception):
    """The scheduler could not give us what we asked for."""


class Unreachable(ApiProblem):
    """No answer: the scheduler is down, restarting or the network is in the way."""


class ApiError(ApiProblem):
    """The scheduler answered with an error status and said why."""

    def __init__(self, status: int, message: str, body: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body: Mapping[str, Any] = body or {}


class RouteMissing(ApiError):
    """The scheduler answered 404 without a JSON error: the route is not there (older server)."""


class Refused(ApiError):
    """A booking refused; ``conflicts`` lists every conflicting endpoint, session or port need."""

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        return list(self.body.get("conflicts") or [])


class ApiClient:
    """One scheduler's API. Every method is a coroutine returning parsed JSON."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def close(self) -> None:
        """Close for good: a request a screen's worker makes after the console unmounted is
        told the scheduler is out of reach, instead of opening a session nobody closes."""
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def role(self) -> str:
        """``operator`` or ``viewer``: what this client's token may do (ApiError 401 for no
        token or one the scheduler does not know; RouteMissing from an older scheduler)."""
        body = await self.get("/api/v1/whoami")
        return str(body.get("role") or "")

    # -- inventory -------------------------------------------------------------------------
    async def fleet(self) -> JSON:
        return await self.get("/api/v1/fleet")

    async def endpoints(self, selectors: str | None = None) -> list[JSON]:
        params = {"with": selectors} if selectors else None
        return await self.get("/api/v1/endpoints", params)

    async def select(self, selectors: str) -> list[str]:
        """The ids the scheduler's selector language chooses (``under:h-dai-tu,tag:x``); an
        unknown key, level or site is an ApiError (400) saying which."""
        body = await self.get("/api/v1/select", {"with": selectors})
        return [str(i) for i in body.get("endpoints") or []]

    async def endpoint(self, endpoint_id: str) -> JSON:
        return await self.get(f"/api/v1/endpoints/{quote(endpoint_id)}")

    # -- health and readiness --------------------------------------------------------------
    async def health(self) -> JSON:
        """Every endpoint's health."""
        return normalize.fleet_health(await self.get("/api/v1/health"))

    async def endpoint_health(self, endpoint_id: str, hours: float = 3) -> JSON:
        """Current health plus the last ``hours`` of history."""
        path = f"/api/v1/endpoints/{quote(endpoint_id)}/health"
        body = await self.get(path, {"hours": f"{hours:g}"})
        return normalize.endpoint_health(body)

    async def readiness(self, session_id: str) -> JSON:
        body = await self.get(f"/api/v1/sessions/{quote(session_id)}/readiness")
        return normalize.readiness(body)

    async def risk(self, within: str = "24h") -> list[JSON]:
        """The forecast: occurrences starting within ``within`` (or running), each with its
        rooms that would not be ready now (``at_risk`` counts them)."""
        body = await self.get("/api/v1/risk", {"within": within})
        return list(body.get("sessions") or [])

    # -- sessions and booking --------------------------------------------------------------
    async def sessions(self, start: str | None = None, end: str | None = None) -> list[JSON]:
        params = {k: v for k, v in (("from", start), ("to", end)) if v}
        listing = await self.get("/api/v1/sessions", params)
        return [normalize.session(s) for s in listing]

    async def session(self, session_id: str) -> JSON:
        return normalize.session(await self.get(f"/api/v1/sessions/{quote(session_id)}"))

    async def preview(self, booking: Mapping[str, Any]) -> JSON:
        return await self.post("/api/v1/sessions/preview", booking)

    async def book(self, booking: Mapping[str, Any]) -> JSON:
        return normalize.session(await self.post("/api/v1/sessions", booking))

    async def cancel(self, session_id: str, occurrence: str | None = None) -> JSON:
        """The whole session (a series from now on), or the one sitting whose original start
        is ``occurrence``."""
        body = {"occurrence": occurrence} if occurrence else {}
        path = f"/api/v1/sessions/{quote(session_id)}/cancel"
        return normalize.session(await self.post(path, body))

    async def move(
        self,
        session_id: str,
        start: str,
        duration: str | None = None,
        occurrence: str | None = None,
    ) -> JSON:
        """To ``start`` (local), the whole session or the sitting ``occurrence``; Refused (409)
        with every conflict when the rooms or ports are taken then."""
        body = {"start": start} | ({"duration": duration} if duration else {})
        body |= {"occurrence": occurrence} if occurrence else {}
        path = f"/api/v1/sessions/{quote(session_id)}/move"
        return normalize.session(await self.post(path, body))

    async def slots(
        self, selectors: str, duration: str, within: str = "7d", count: int = 5
    ) -> list[JSON]:
        params = {"with": selectors, "duration": duration, "within": within, "count": str(count)}
        return await self.get("/api/v1/slots", params)

    # -- live changes ----------------------------------------------------------------------
    async def changes(self, since: int) -> int:
        """The scheduler's revision once it differs from ``since`` (waits up to ~20 s)."""
        body = await self.get("/api/v1/changes", {"since": str(since)}, timeout=LONG_POLL_TIMEOUT_S)
        return int(body["revision"])

    # -- plumbing --------------------------------------------------------------------------
    async def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT_S,
    ) -> JSON:
        return await self._request("GET", path, params=params, timeout=timeout)

    async def post(self, path: str, body: Mapping[str, Any]) -> JSON:
        return await self._request("POST", path, body=body, timeout=REQUEST_TIMEOUT_S)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        timeout: float,
    ) -> JSON:
        session = self._client()
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        try:
            async with session.request(
                method,
                self.url + path,
                params=params,
                data=data,
                headers=self._headers(body is not None),
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                text = await response.text(encoding="utf-8")
                return _decode(response.status, text, method, path)
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
            raise Unreachable(_describe(exc)) from None

    def _headers(self, has_body: bool) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if has_body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise Unreachable(_("the console is closing"))
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session


def _decode(status: int, text: str, method: str, path: str) -> JSON:
    """The JSON body of a success, or the right exception for an error status."""
    try:
        body = json.loads(text) if text else None
    except json.JSONDecodeError:
        body = None
    if status < 400:
        if body is None and text:
            raise ApiError(
                status,
                _("{method} {path}: the answer is not JSON").format(method=method, path=path),
            )
        return body
    if not isinstance(body, dict):
        if status in (404, 405):
            route = path.split("?")[0]
            raise RouteMissing(
                status, _("this scheduler does not offer {route} yet").format(route=route)
            )
        raise ApiError(status, f"{method} {path}: HTTP {status}")
    message = str(body.get("error") or f"HTTP {status}")
    if status == 409:
        raise Refused(status, message, body)
    raise ApiError(status, message, body)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return _("no answer in time")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _("cannot connect to {host}:{port}").format(host=exc.host, port=exc.port)
    return str(exc) or type(exc).__name__
