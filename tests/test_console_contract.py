"""One contract, two servers: every route the console calls, asked the same way of the stand-in
(``tests/fakes/console_api.py``) and of the real scheduler (real aiohttp, real SQLite file).

The console's snapshot tests and benchmark trust the stand-in; this test is what makes that trust
earned. Both servers must answer each request with the same status and the same JSON shape: the
same keys at every level (objects in lists compared through their first item) and the same kinds
of value. The data differ (the stand-in has its own province), so values are not compared; a
field the console reads that one side lacks, or a status one side gives and the other does not,
fails here before it fails a user.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest_asyncio

from confsched.runtime.components import Components
from tests.conftest import http_url, viewer_token
from tests.fakes.console_api import FakeScheduler, serve


@dataclass
class Side:
    name: str
    url: str
    token: str
    viewer: str
    http: aiohttp.ClientSession

    async def call(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        async with self.http.request(method, self.url + path, json=body, headers=headers) as rsp:
            assert rsp.content_type == "application/json", (self.name, path, rsp.content_type)
            return rsp.status, await rsp.json()


@pytest_asyncio.fixture
async def fake_side() -> AsyncIterator[Side]:
    scheduler = FakeScheduler(long_poll_s=0.5)
    runner, url = await serve(scheduler)
    async with aiohttp.ClientSession() as http:
        yield Side("fake", url, scheduler.token, scheduler.viewer_token, http)
    await runner.cleanup()


@pytest_asyncio.fixture
async def real_side(server: Components) -> AsyncIterator[Side]:
    viewer = await viewer_token(server)
    async with aiohttp.ClientSession() as http:
        yield Side("real", http_url(server), server.ctx.operator_token, viewer, http)


def shape(value: Any) -> Any:
    """The JSON's shape: keys and kinds, not values (a list by its first item)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


async def exchange(side: Side) -> dict[str, tuple[int, Any]]:
    """Each console route once, in the order a console session would use them."""
    out: dict[str, tuple[int, Any]] = {}
    out["fleet"] = await side.call("GET", "/api/v1/fleet")
    out["whoami"] = await side.call("GET", "/api/v1/whoami")
    out["whoami, unknown token"] = await side.call("GET", "/api/v1/whoami", token="wrong")
    out["whoami as viewer"] = await side.call("GET", "/api/v1/whoami", token=side.viewer)
    out["read without token"] = await side.call("GET", "/api/v1/fleet", token="")
    out["read with a wrong token"] = await side.call("GET", "/api/v1/health", token="wrong")
    out["read as viewer"] = await side.call("GET", "/api/v1/sessions", token=side.viewer)
    status, endpoints = await side.call("GET", "/api/v1/endpoints")
    out["endpoints"] = status, endpoints
    first = endpoints[0]["id"]
    out["endpoints?with"] = await side.call("GET", f"/api/v1/endpoints?with={quote(first)}")
    out["select"] = await side.call("GET", f"/api/v1/select?with={quote(first)}")
    out["endpoint"] = await side.call("GET", f"/api/v1/endpoints/{quote(first)}")
    out["endpoint 404"] = await side.call("GET", "/api/v1/endpoints/no-such-room")
    out["health"] = await side.call("GET", "/api/v1/health")
    out["endpoint health"] = await side.call(
        "GET", f"/api/v1/endpoints/{quote(first)}/health?hours=1"
    )
    out["changes"] = await side.call("GET", "/api/v1/changes?since=-1")
    booking = {"title": "Hợp đồng kiểm tra", "with": first, "start": "2026-12-15 14:00",
               "duration": "1h"}  # fmt: skip
    out["preview"] = await side.call("POST", "/api/v1/sessions/preview", booking)
    out["preview as viewer"] = await side.call(
        "POST", "/api/v1/sessions/preview", booking, token=side.viewer
    )
    out["book as viewer"] = await side.call("POST", "/api/v1/sessions", booking, token=side.viewer)
    out["book without token"] = await side.call("POST", "/api/v1/sessions", booking, token="wrong")
    status, booked = await side.call("POST", "/api/v1/sessions", booking)
    out["book"] = status, booked
    out["book again (409)"] = await side.call("POST", "/api/v1/sessions", booking)
    sid = quote(str(booked["id"]))
    start = quote("2026-12-01T00:00:00+07:00")
    out["sessions"] = await side.call("GET", f"/api/v1/sessions?start={start}")
    out["session"] = await side.call("GET", f"/api/v1/sessions/{sid}")
    out["readiness"] = await side.call("GET", f"/api/v1/sessions/{sid}/readiness")
    out["slots"] = await side.call("GET", f"/api/v1/slots?with={quote(first)}&duration=1h&count=2")
    out["cancel"] = await side.call("POST", f"/api/v1/sessions/{sid}/cancel", {})
    weekly = {**booking, "title": "Giao ban tuần", "start": "2026-12-14 14:00",
              "repeat": "FREQ=WEEKLY;BYDAY=MO"}  # fmt: skip
    status, series = await side.call("POST", "/api/v1/sessions", weekly)
    wid, second = quote(str(series["id"])), series["occurrences"][1]["recurrence_id"]
    out["book weekly"] = status, series
    move = {"start": "2026-12-22 15:00", "occurrence": second}
    out["move a sitting"] = await side.call("POST", f"/api/v1/sessions/{wid}/move", move)
    out["cancel a sitting"] = await side.call(
        "POST", f"/api/v1/sessions/{wid}/cancel", {"occurrence": second}
    )
    out["cancel a sitting 404"] = await side.call(
        "POST", f"/api/v1/sessions/{wid}/cancel", {"occurrence": "2026-12-16 14:00"}
    )
    out["session 404"] = await side.call("GET", "/api/v1/sessions/no-such-session")
    return out


CONSOLE = Path(__file__).resolve().parent.parent / "tui" / "confsched_tui"


def read_by_console(key: str) -> bool:
    """Whether the console reads ``key`` from a JSON object (``x["key"]``, ``.get("key"``)."""
    pattern = re.compile(rf"""(\[|\.get\(|\.pop\()\s*["']{re.escape(key)}["']""")
    return any(pattern.search(p.read_text(encoding="utf-8")) for p in CONSOLE.rglob("*.py"))


def compare(fake: Any, real: Any, where: str, real_only: list[str]) -> list[str]:
    """Where the stand-in's shape departs from the real one. A null, an empty list or an empty
    object on either side says nothing about its kind; keys only the real server sends are
    collected in ``real_only`` (the console may not read them, see the test)."""
    if fake in ("null", [], {}) or real in ("null", [], {}):
        return []
    if isinstance(fake, dict) and isinstance(real, dict):
        problems = [f"{where}.{k}: only the stand-in sends it" for k in fake.keys() - real.keys()]
        real_only.extend(f"{where}.{k}" for k in real.keys() - fake.keys())
        for key in fake.keys() & real.keys():
            problems += compare(fake[key], real[key], f"{where}.{key}", real_only)
        return problems
    if isinstance(fake, list) and isinstance(real, list):
        return compare(fake[0], real[0], f"{where}[]", real_only)
    return [] if fake == real else [f"{where}: the stand-in sends {fake}, the real one {real}"]


async def test_the_stand_in_answers_every_console_route_as_the_real_scheduler(
    fake_side: Side, real_side: Side
) -> None:
    fake, real = await exchange(fake_side), await exchange(real_side)
    assert fake.keys() == real.keys()
    statuses = {route: (fake[route][0], real[route][0]) for route in fake}
    assert all(f == r for f, r in statuses.values()), statuses
    assert statuses["book"] == (201, 201) and statuses["book again (409)"] == (409, 409)
    assert real["fleet"][1]["language"] is None  # the sample fleet leaves it to its time zone
    assert statuses["book without token"] == (401, 401)
    assert statuses["read without token"] == statuses["read with a wrong token"] == (401, 401)
    assert statuses["book as viewer"] == (403, 403)
    assert statuses["read as viewer"] == statuses["preview as viewer"] == (200, 200)
    for refused in ("read without token", "read with a wrong token", "book as viewer"):
        assert fake[refused][1] == real[refused][1], refused  # the same words, too
    problems: list[str] = []
    real_only: list[str] = []
    for route in fake:
        problems += compare(shape(fake[route][1]), shape(real[route][1]), route, real_only)
    assert not problems
    # What only the real scheduler sends, the console must not read: else the stand-in would
    # show screens the real one cannot (or hide what the real one shows) and must grow the field.
    read = [path for path in real_only if read_by_console(path.rsplit(".", 1)[-1])]
    assert not read, f"the console reads fields the stand-in lacks: {read}"


def test_the_console_reading_check_sees_a_field_read() -> None:
    """The guard above is not vacuous: it finds fields the console does read, and not others."""
    assert read_by_console("endpoint_count") and read_by_console("state")
    assert not read_by_console("invites_waiting")
