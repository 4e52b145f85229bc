"""The sessions and slots API on a real scheduler (aiohttp on loopback, real SQLite)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from confsched.runtime.components import Components
from tests.conftest import http_url, operator_auth

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_today = datetime.now(TZ).date()
MONDAY = (_today + timedelta(days=14 - _today.weekday())).isoformat()


class Api:
    def __init__(self, ctx: Components, http: aiohttp.ClientSession) -> None:
        self.ctx, self.http = ctx, http
        self.auth = operator_auth(ctx)

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        async with self.http.post(http_url(self.ctx, path), json=body, headers=self.auth) as resp:
            return resp.status, await resp.json()

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(http_url(self.ctx, path), headers=self.auth) as resp:
            return resp.status, await resp.json()


def province(**extra: Any) -> dict[str, Any]:
    return {
        "title": "Hội nghị toàn tỉnh",
        "with": "all",
        "start": f"{MONDAY} 08:00",
        "duration": "2h",
        **extra,
    }


async def test_book_show_list_and_conflict_over_http(server: Components) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(server, http)
        revision = server.ctx.revision
        status, session = await api.post("/api/v1/sessions", province(organizer="ubnd-tinh"))
        assert status == 201, session
        assert server.ctx.revision > revision  # the console's long poll wakes
        assert session["title"] == "Hội nghị toàn tỉnh"
        assert session["organizer_name"] == "Ủy ban nhân dân tỉnh Thái Nguyên"
        assert session["start"] == f"{MONDAY}T08:00:00+07:00"
        assert session["endpoint_count"] == 192 and session["setup_minutes"] == 15
        assert session["allocation"]["links"] == [["mcu-tinh-1", "mcu-tinh-2"]]
        assert session["occurrences"][0]["cancelled"] is False

        status, shown = await api.get(f"/api/v1/sessions/{session['id']}")
        assert status == 200 and shown["id"] == session["id"]
        status, listed = await api.get(f"/api/v1/sessions?to={MONDAY}%2023:00")
        assert [s["id"] for s in listed] == [session["id"]]

        body = {
            "title": "Đại Từ",
            "with": ["district:h-dai-tu"],
            "start": f"{MONDAY} 08:30",
            "end": f"{MONDAY} 09:30",
        }
        status, refused = await api.post("/api/v1/sessions", body)
        assert status == 409
        assert refused["error"].startswith("booking refused: 30 rooms")
        kinds = [c["kind"] for c in refused["conflicts"]]
        assert kinds.count("endpoint") == 30 and kinds.count("ports") == 1
        room = refused["conflicts"][0]
        assert room["session"] == session["id"] and room["title"] == "Hội nghị toàn tỉnh"
        assert room["endpoint_name"] == "Phòng họp UBND huyện Đại Từ"


async def test_preview_is_a_dry_run(server: Components) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(server, http)
        status, answer = await api.post("/api/v1/sessions/preview", province())
        assert status == 200 and answer["ok"] is True and answer["conflicts"] == []
        assert [b["ports_used"] for b in answer["allocation"]["bridges"]] == [114, 80]
        await api.post("/api/v1/sessions", province())
        status, answer = await api.post("/api/v1/sessions/preview", province())
        assert answer["ok"] is False and len(answer["conflicts"]) == 193
        assert answer["allocation"] is None
        status, listed = await api.get("/api/v1/sessions?status=all")
        assert len(listed) == 1
        untitled = {k: v for k, v in province().items() if k != "title"}
        status, answer = await api.post("/api/v1/sessions/preview", untitled)
        assert status == 200 and answer["ok"] is False  # previews while the title is empty


async def test_move_and_cancel_bump_sequence_and_free_the_rooms(server: Components) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(server, http)
        _, series = await api.post(
            "/api/v1/sessions",
            {
                "title": "Giao ban",
                "with": "district:h-vo-nhai",
                "start": f"{MONDAY} 14:00",
                "duration": "1h",
                "repeat": "FREQ=WEEKLY;BYDAY=MO",
                "setup": "30m",
            },
        )
        assert series["rrule"] == "FREQ=WEEKLY;BYDAY=MO" and series["setup_minutes"] == 30
        second = (datetime.fromisoformat(MONDAY) + timedelta(days=7)).date().isoformat()
        status, moved = await api.post(
            f"/api/v1/sessions/{series['id']}/move",
            {"start": f"{second} 09:00", "occurrence": f"{second} 14:00"},
        )
        assert status == 200, moved
        sitting = next(o for o in moved["occurrences"] if o["moved"])
        assert sitting["start"] == f"{second}T09:00:00+07:00" and sitting["sequence"] == 1
        assert sitting["recurrence_id"] == f"{second}T14:00:00+07:00"

        status, whole = await api.post(
            f"/api/v1/sessions/{series['id']}/move", {"start": f"{MONDAY} 15:00", "duration": "90m"}
        )
        # the SEQUENCE agencies' calendars see: the moved sitting's own moves count too
        assert status == 200 and whole["sequence"] == 3 and whole["end"].endswith("16:30:00+07:00")

        status, cancelled = await api.post(f"/api/v1/sessions/{series['id']}/cancel", {})
        assert (
            status == 200
            and cancelled["status"] == "cancelled"
            and cancelled["sequence"] > whole["sequence"]
        )
        status, again = await api.post(
            "/api/v1/sessions",
            {
                "title": "Thay thế",
                "with": "h-vo-nhai",
                "start": f"{MONDAY} 15:00",
                "duration": "1h",
            },
        )
        assert status == 201, again


async def test_bad_requests_get_400_and_unknown_ids_404(server: Components) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(server, http)
        bad = [
            province(start="yesterday"),
            province(duration=5),
            province(**{"with": "district:nowhere"}),
            province(repeat="FREQ=WEEKLY;BYMONTH=1"),
            {**province(), "colour": "red"},
            {"with": "all", "start": f"{MONDAY} 08:00", "duration": "1h"},
            province(end=f"{MONDAY} 07:00", duration=None),
        ]
        for body in bad:
            status, answer = await api.post("/api/v1/sessions", body)
            assert status == 400, body
            assert answer["error"]
        async with http.post(
            http_url(server, "/api/v1/sessions"), data=b"not json", headers=api.auth
        ) as resp:
            assert resp.status == 400
        assert (await api.get("/api/v1/sessions/nope"))[0] == 404
        assert (await api.post("/api/v1/sessions/nope/cancel", {}))[0] == 404
        assert (await api.post("/api/v1/sessions/nope/move", {"start": f"{MONDAY} 09:00"}))[
            0
        ] == 404
        assert (await api.get("/api/v1/slots?with=all"))[0] == 400
        assert (await api.get("/api/v1/sessions?status=maybe"))[0] == 400
        _, listed = await api.get("/api/v1/sessions?status=all")
        assert listed == []


async def test_slots_over_http(server: Components) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(server, http)
        await api.post("/api/v1/sessions", province())
        status, slots = await api.get(
            f"/api/v1/slots?with=district:h-dai-tu&duration=1h&count=2&from={MONDAY}%2008:30"
        )
        assert status == 200
        assert slots == [
            {"start": f"{MONDAY}T10:15:00+07:00", "end": f"{MONDAY}T11:15:00+07:00"},
            {"start": f"{MONDAY}T11:15:00+07:00", "end": f"{MONDAY}T12:15:00+07:00"},
        ]


async def test_two_api_calls_at_once_never_both_win(server: Components) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(server, http)
        bodies = [province(title=f"Người {i}", **{"with": "district:h-phu-binh"}) for i in range(4)]
        answers = await asyncio.gather(*(api.post("/api/v1/sessions", b) for b in bodies))
        assert sorted(status for status, _ in answers) == [201, 409, 409, 409]


async def test_readiness_shown_once_the_setup_time_has_come(server: Components) -> None:
    soon = (datetime.now(TZ) + timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M")
    async with aiohttp.ClientSession() as http:
        api = Api(server, http)
        _, later = await api.post("/api/v1/sessions", province())
        assert later["readiness"] is None  # its setup time is a week away
        status, now = await api.post(
            "/api/v1/sessions",
            {"title": "Họp gấp", "with": "district:h-vo-nhai", "start": soon, "duration": "30m"},
        )
        assert status == 201, now
        readiness = now["readiness"]
        assert readiness["total"] == 16
        parts = ("ready", "not_ready", "no_answer", "pending")
        assert sum(readiness[k] for k in parts) == 16
