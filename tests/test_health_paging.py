"""``GET /api/v1/health`` as a live console and scripts need it at 10,000 rooms (issue 17):
selectors and states, pages, ETag/304, and the rooms changed since a token; through a real
scheduler over real HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp

from confsched.domain.health import Observation, judge
from confsched.runtime.components import Components
from confsched.store.health import StoredHealth
from tests.conftest import http_url

HEALTH = "/api/v1/health"


class _Sink:
    def acked(self, seq: int, count: int) -> None:
        pass

    def refused(self, seq: int, reason: str, detail: str) -> None:
        pass


async def _report(server: Components, endpoint: str, seq: int, *, camera: bool = True) -> None:
    """One judged report handed to the health service, as the agent link does; returns once
    the board shows it."""
    now = datetime.now(UTC)
    checks = dict.fromkeys(("audio", "display", "bridge", "client", "host"), True)
    observation = Observation(endpoint, now, {**checks, "camera": camera}, measurements={})
    item = StoredHealth(judge(observation), seq=seq, report_time=now, interval=10.0)
    before = server.board.version
    server.health_service.submit(item, _Sink())
    for _ in range(500):
        if server.board.version != before:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the report never reached the board")


async def _get(
    http: aiohttp.ClientSession, server: Components, query: str = "", **headers: str
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with http.get(http_url(server, HEALTH + query), headers=headers) as response:
        body = await response.json() if response.status != 304 else None
        return response.status, body, response


async def test_the_unpaged_answer_keeps_its_shape_and_gives_a_since_token(
    server: Components, api_http: aiohttp.ClientSession
) -> None:
    status, body, response = await _get(api_http, server)
    assert status == 200
    assert {"now", "version", "counts", "endpoints", "counters", "since"} <= set(body)
    assert "next_cursor" not in body
    assert len(body["endpoints"]) == len(server.ctx.fleet.endpoints)
    assert response.headers["ETag"].startswith('"')


async def test_pages_walk_the_whole_fleet_once_in_fleet_order(
    server: Components, api_http: aiohttp.ClientSession
) -> None:
    seen: list[str] = []
    query = "?limit=50"
    while True:
        status, body, _ = await _get(api_http, server, query)
        assert status == 200
        assert len(body["endpoints"]) <= 50
        seen.extend(e["endpoint"] for e in body["endpoints"])
        if body["next_cursor"] is None:
            break
        query = f"?limit=50&cursor={body['next_cursor']}"
    assert seen == list(server.ctx.fleet.endpoints)
    assert body["counts"]["unknown"] == len(seen)  # counts cover every room, not the page


async def test_a_selector_and_a_state_narrow_the_rooms_and_the_counts(
    server: Components, api_http: aiohttp.ClientSession
) -> None:
    district = next(iter(server.ctx.fleet.endpoints.values()))
    await _report(server, district.id, 1, camera=False)
    status, body, _ = await _get(api_http, server, f"?with={district.id}")
    assert status == 200
    assert [e["endpoint"] for e in body["endpoints"]] == [district.id]
    assert sum(body["counts"].values()) == 1
    assert body["counts"]["down"] == 1
    status, body, _ = await _get(api_http, server, "?with=all&state=down")
    assert [e["endpoint"] for e in body["endpoints"]] == [district.id]
    assert sum(body["counts"].values()) == len(server.ctx.fleet.endpoints)


async def test_if_none_match_answers_304_until_a_room_changes(
    server: Components, api_http: aiohttp.ClientSession
) -> None:
    _, _, first = await _get(api_http, server, "?limit=10")
    etag = first.headers["ETag"]
    status, _, again = await _get(api_http, server, "?limit=10", **{"If-None-Match": etag})
    assert status == 304
    assert again.headers["ETag"] == etag
    _, _, other = await _get(api_http, server, "?limit=20")
    assert other.headers["ETag"] != etag  # another question, another answer
    room = next(iter(server.ctx.fleet.endpoints))
    await _report(server, room, 1)
    status, body, changed = await _get(api_http, server, "?limit=10", **{"If-None-Match": etag})
    assert status == 200
    assert changed.headers["ETag"] != etag
    assert body["endpoints"][0]["endpoint"] == room


async def test_since_answers_only_the_rooms_that_changed_and_a_new_token(
    server: Components, api_http: aiohttp.ClientSession
) -> None:
    _, whole, _ = await _get(api_http, server)
    token = whole["since"]
    status, body, _ = await _get(api_http, server, f"?since={token}")
    assert status == 200
    assert body["endpoints"] == []
    assert body["since"] == token
    first, second = list(server.ctx.fleet.endpoints)[3:5]
    await _report(server, first, 1)
    await _report(server, second, 1, camera=False)
    status, body, _ = await _get(api_http, server, f"?since={token}")
    assert {e["endpoint"]: e["state"] for e in body["endpoints"]} == {first: "ok", second: "down"}
    assert body["since"] != token
    assert body["counts"]["down"] == 1  # the counts are the whole fleet's still
    status, body, _ = await _get(api_http, server, f"?since={body['since']}")
    assert body["endpoints"] == []


async def test_bad_cursors_limits_and_tokens_are_refused_in_one_json_line(
    server: Components, api_http: aiohttp.ClientSession
) -> None:
    _, whole, _ = await _get(api_http, server)
    run = whole["since"].partition(".")[0]
    other_run = "0" * len(run) if run != "0" * len(run) else "1" * len(run)
    refusals = {
        "?limit=0": (400, "limit"),
        "?limit=ten": (400, "limit"),
        "?limit=10&cursor=%%%": (400, "cursor"),
        "?limit=10&cursor=YXRsYW50aXM": (400, "no longer in the fleet"),  # "atlantis"
        "?cursor=YXRsYW50aXM": (400, "cursor goes with limit"),
        "?since=yesterday": (400, "since"),
        f"?since={run}.99999": (410, "restarted"),
        f"?since={other_run}.1": (410, "restarted"),
        f"?since={whole['since']}&limit=5": (400, "drop limit"),
        "?with=tag:khong-co": (400, ""),
        "?state=asleep": (400, "state"),
    }
    for query, (expected, words) in refusals.items():
        status, body, response = await _get(api_http, server, query)
        assert status == expected, (query, status, body)
        assert response.content_type == "application/json"
        assert words in body["error"], (query, body)
        assert "\n" not in body["error"]
