"""A stand-in scheduler serving the ``docs/api.md`` contract from fixed data, on loopback.

For the console's snapshot tests (deterministic screens), its benchmark (any fleet size, state
churn on demand) and working on the console offline. It books with a simple overlap rule, not
the real engine. ``FakeServerThread`` runs it on its own loop so a synchronous caller (pytest's
snapshot fixture, a benchmark) can start, drive and stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from confsched.web.app import BAD_TOKEN, NO_TOKEN, READ_METHODS, READ_POSTS, VIEWER_WRITES
from tests.fakes import console_data as fakedata
from tests.fakes.console_booking import Booker, BookingError

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FIXED_NOW = datetime(2026, 12, 7, 9, 40, tzinfo=TZ)
"""A Monday morning in the province: the moment the snapshot tests freeze."""
FAKE_KEY: web.AppKey[FakeScheduler] = web.AppKey("fake")


class FakeScheduler:
    """The data and the handlers. Mutate with ``set_state`` / ``churn`` on the server's loop."""

    def __init__(
        self,
        endpoints: int = 192,
        now: datetime = FIXED_NOW,
        token: str = "operator-secret",
        viewer_token: str = "viewer-secret",
        long_poll_s: float = 20.0,
        sessions: bool = True,
        two_tier: bool = False,
    ) -> None:
        """``two_tier``: the merged province of 2025 instead of the synthetic three tiers."""
        self.now = now
        self.token = token
        self.viewer_token = viewer_token
        self.long_poll_s = long_poll_s
        self.endpoints = (
            fakedata.two_tier_endpoints() if two_tier else fakedata.make_endpoints(endpoints)
        )
        self.by_id = {e["id"]: e for e in self.endpoints}
        self.states = fakedata.initial_states(self.endpoints)
        self.health = {i: fakedata.health_entry(i, s, now) for i, s in self.states.items()}
        self.booker = Booker(self.endpoints, fakedata.BRIDGES, now)
        if sessions:
            self.booker.seed_sessions()
        self.revision = 0
        self.requests: list[str] = []
        self._changed = asyncio.Event()

    # -- driving it ------------------------------------------------------------------------
    def touch(self) -> None:
        self.revision += 1
        self._changed.set()
        self._changed = asyncio.Event()

    def set_state(self, endpoint_id: str, state: str) -> None:
        self.states[endpoint_id] = state
        self.health[endpoint_id] = fakedata.health_entry(endpoint_id, state, self.now)
        self.touch()

    def churn(self, step: int) -> None:
        """Every endpoint changes state (a benchmark's worst case), one revision."""
        cycle = ("ok", "degraded", "down", "offline")
        for index, endpoint in enumerate(self.endpoints):
            state = cycle[(index + step) % len(cycle)]
            self.states[endpoint["id"]] = state
            self.health[endpoint["id"]] = fakedata.health_entry(endpoint["id"], state, self.now)
        self.touch()

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("ok", "degraded", "down", "offline", "unknown"), 0)
        for state in self.states.values():
            counts[state] += 1
        return counts

    def readiness(self, session: dict[str, Any]) -> dict[str, Any] | None:
        """Derived from the states: ok/degraded ready, down not ready, silent no answer."""
        if not self.booker.in_setup_or_live(session):
            return None
        rows = []
        for eid in session["endpoints"]:
            state = self.states.get(eid, "unknown")
            status = {"ok": "ready", "degraded": "ready", "down": "not_ready"}.get(
                state, "no_answer"
            )
            reasons = self.health[eid]["reasons"] if status == "not_ready" else []
            at = None if status == "no_answer" else (self.now - timedelta(minutes=9)).isoformat()
            rows.append({"endpoint": eid, "endpoint_name": self.by_id[eid]["name"],
                         "status": status, "reasons": reasons, "at": at})  # fmt: skip
        summary = {k: 0 for k in ("ready", "not_ready", "no_answer", "pending")}
        for row in rows:
            summary[row["status"]] += 1
        summary["total"] = len(rows)
        return {"session_id": session["id"], "summary": summary, "occurrence": session["start"],
                "endpoints": rows}  # fmt: skip

    def session_view(self, session: dict[str, Any]) -> dict[str, Any]:
        """As the scheduler shows a session, in a listing too (the endpoint screen finds a
        room's sessions in the listing by their ``endpoints``)."""
        view = dict(session)
        view["allocation"] = self.booker.with_load(session)
        view["load_at"] = session["start"]
        ready = self.readiness(session)
        view["readiness"] = ready["summary"] if ready else None
        return view

    # -- the server ------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[_errors, _auth])
        app[FAKE_KEY] = self
        routes = _routes()
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        return app


def _json(data: Any, status: int = 200) -> web.Response:
    import json

    return web.json_response(data, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    fake = request.app[FAKE_KEY]
    fake.requests.append(f"{request.method} {request.path}")
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except BookingError as exc:
        if exc.conflicts:
            return _json({"error": str(exc), "conflicts": exc.conflicts}, 409)
        return _json({"error": str(exc)}, exc.status)


@web.middleware
async def _auth(request: web.Request, handler: Any) -> web.StreamResponse:
    """As the real scheduler: every API route needs a token, reads a viewer's or the
    operator's, writes (but a preview) the operator's; the same statuses and words."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    fake = request.app[FAKE_KEY]
    if scheme.lower() != "bearer" or not given.strip():
        return _json({"error": NO_TOKEN}, 401)
    if given.strip() not in (fake.token, fake.viewer_token):
        return _json({"error": BAD_TOKEN}, 401)
    writes = request.method not in READ_METHODS and request.path not in READ_POSTS
    if writes and given.strip() != fake.token:
        return _json({"error": VIEWER_WRITES}, 403)
    return await handler(request)  # type: ignore[no-any-return]


def _fake(request: web.Request) -> FakeScheduler:
    return request.app[FAKE_KEY]


async def _fleet(request: web.Request) -> web.Response:
    return _json(fakedata.fleet_summary(_fake(request).endpoints))


async def _endpoints(request: web.Request) -> web.Response:
    fake = _fake(request)
    chosen = fake.booker.expand(request.query.get("with", "all"))
    return _json([fake.by_id[i] for i in chosen])


async def _select(request: web.Request) -> web.Response:
    chosen = _fake(request).booker.expand(request.query.get("with", ""))
    return _json({"with": request.query.get("with", ""), "endpoints": chosen})


async def _whoami(request: web.Request) -> web.Response:
    """The operator's token or the viewer's; anything else is refused (401)."""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    fake = _fake(request)
    if given not in (fake.token, fake.viewer_token):
        return _json({"error": "token not recognised"}, 401)
    return _json({"role": "operator" if given == fake.token else "viewer"})


async def _endpoint(request: web.Request) -> web.Response:
    endpoint = _fake(request).by_id.get(request.match_info["id"])
    if endpoint is None:
        raise BookingError(f"no endpoint {request.match_info['id']!r}", status=404)
    return _json(endpoint)


async def _health(request: web.Request) -> web.Response:
    fake = _fake(request)
    return _json({"endpoints": [fake.health[e["id"]] for e in fake.endpoints],
                  "counts": fake.counts()})  # fmt: skip


async def _endpoint_health(request: web.Request) -> web.Response:
    fake = _fake(request)
    eid = request.match_info["id"]
    if eid not in fake.by_id:
        raise BookingError(f"no endpoint {eid!r}", status=404)
    hours = float(request.query.get("hours", "3"))
    rows = fakedata.history(eid, fake.states[eid], fake.now, hours)
    changes = [{"at": rows[0]["at"], "state": fake.states[eid], "reasons": []}] if rows else []
    return _json(
        {**fake.health[eid], "interval_seconds": 10.0, "history": rows, "changes": changes}
    )


async def _sessions(request: web.Request) -> web.Response:
    fake = _fake(request)
    return _json([fake.session_view(s) for s in fake.booker.listing()])


async def _session(request: web.Request) -> web.Response:
    fake = _fake(request)
    return _json(fake.session_view(fake.booker.find(request.match_info["id"])))


async def _readiness(request: web.Request) -> web.Response:
    fake = _fake(request)
    session = fake.booker.find(request.match_info["id"])
    empty = {"session_id": session["id"], "summary": None, "occurrence": None, "endpoints": []}
    return _json(fake.readiness(session) or empty)


async def _risk(request: web.Request) -> web.Response:
    """The forecast as the real scheduler words it: every room not ok of each session starting
    within 24 h (or running) is at risk."""
    fake = _fake(request)
    horizon = fake.now + timedelta(hours=24)
    found = []
    for session in fake.booker.listing():
        start, end = (datetime.fromisoformat(session[k]) for k in ("start", "end"))
        if session.get("status") == "cancelled" or end <= fake.now or start > horizon:
            continue
        rooms = [e for e in session["endpoints"] if fake.states.get(e, "unknown") != "ok"]
        found.append({"session_id": session["id"], "title": session["title"],
                      "start": session["start"], "total": len(session["endpoints"]),
                      "ready": len(session["endpoints"]) - len(rooms), "at_risk": len(rooms),
                      "rooms": [{"endpoint": e, "state": fake.states.get(e, "unknown")}
                                for e in rooms]})  # fmt: skip
    return _json({"now": fake.now.isoformat(), "sessions": found})


async def _book(request: web.Request) -> web.Response:
    fake = _fake(request)
    session = fake.booker.book(await request.json())
    fake.touch()
    return _json(fake.session_view(session), 201)


async def _preview(request: web.Request) -> web.Response:
    return _json(_fake(request).booker.preview(await request.json()))


async def _cancel(request: web.Request) -> web.Response:
    fake = _fake(request)
    body = await request.json() if request.can_read_body else {}
    session = fake.booker.cancel(request.match_info["id"], body.get("occurrence"))
    fake.touch()
    return _json(fake.session_view(session))


async def _move(request: web.Request) -> web.Response:
    fake = _fake(request)
    session = fake.booker.move(request.match_info["id"], await request.json())
    fake.touch()
    return _json(fake.session_view(session))


async def _slots(request: web.Request) -> web.Response:
    query = request.query
    slots = _fake(request).booker.slots(
        query.get("with", ""), query.get("duration", ""), int(query.get("count", "5"))
    )
    return _json(slots)


async def _changes(request: web.Request) -> web.Response:
    fake = _fake(request)
    since = int(request.query.get("since", "-1"))
    if since == fake.revision:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fake._changed.wait(), fake.long_poll_s)
    return _json({"revision": fake.revision})


def _routes() -> list[tuple[str, str, Callable[[web.Request], Any]]]:
    base = "/api/v1"
    return [
        ("GET", f"{base}/fleet", _fleet),
        ("GET", f"{base}/whoami", _whoami),
        ("GET", f"{base}/health", _health),
        ("GET", f"{base}/changes", _changes),
        ("GET", f"{base}/endpoints", _endpoints),
        ("GET", f"{base}/select", _select),
        ("GET", f"{base}/endpoints/{{id}}", _endpoint),
        ("GET", f"{base}/endpoints/{{id}}/health", _endpoint_health),
        ("GET", f"{base}/sessions", _sessions),
        ("POST", f"{base}/sessions", _book),
        ("POST", f"{base}/sessions/preview", _preview),
        ("GET", f"{base}/sessions/{{id}}", _session),
        ("GET", f"{base}/sessions/{{id}}/readiness", _readiness),
        ("POST", f"{base}/sessions/{{id}}/cancel", _cancel),
        ("POST", f"{base}/sessions/{{id}}/move", _move),
        ("GET", f"{base}/slots", _slots),
        ("GET", f"{base}/risk", _risk),
    ]


async def serve(fake: FakeScheduler, port: int = 0) -> tuple[web.AppRunner, str]:
    """Serve ``fake`` on 127.0.0.1; returns the runner (to clean up) and the base URL."""
    runner = web.AppRunner(fake.make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


class FakeServerThread:
    """The fake on its own event loop in a daemon thread; ``call`` runs code on that loop."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.fake: FakeScheduler | None = None
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-scheduler", daemon=True)
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> FakeServerThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
        self._loop.close()

    async def _start(self) -> None:
        self.fake = FakeScheduler(**self.options)
        self._runner, self.url = await serve(self.fake)

    def call(self, fn: Callable[[FakeScheduler], Any], timeout: float = 5) -> Any:
        """Run ``fn(fake)`` on the server's loop and return its result."""

        async def run() -> Any:
            assert self.fake is not None
            return fn(self.fake)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def stop(self) -> None:
        if self._loop.is_running():
            self.call(lambda fake: fake.touch())  # answer pending long polls: a quick clean-up
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
