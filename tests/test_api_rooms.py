"""The JSON API on a real aiohttp server: inventory reads, the operator token for writes."""

from __future__ import annotations

import aiohttp

from confsched.runtime.components import Components
from tests.conftest import api_session, http_url


async def test_healthz_and_endpoint_detail_keep_vietnamese(server: Components) -> None:
    async with api_session(server) as http:
        async with http.get(http_url(server, "/healthz")) as resp:
            assert resp.status == 200
        async with http.get(http_url(server, "/api/v1/endpoints/dhy-hoa-thuong")) as resp:
            body = await resp.json()
    assert body["name"] == "Phòng họp UBND xã Hóa Thượng"
    assert body["area_name"] == "Huyện Đồng Hỷ"


async def test_endpoints_by_selector_and_unknown_id(server: Components) -> None:
    async with api_session(server) as http:
        async with http.get(http_url(server, "/api/v1/endpoints?with=level:province")) as resp:
            assert len(await resp.json()) == 5
        async with http.get(http_url(server, "/api/v1/endpoints?with=district:nowhere")) as resp:
            assert resp.status == 400
            assert "nowhere" in (await resp.json())["error"]
        async with http.get(http_url(server, "/api/v1/endpoints/atlantis")) as resp:
            assert resp.status == 404
        async with http.get(http_url(server, "/api/v1/select?with=distrct:h-dai-tu")) as resp:
            assert resp.status == 400
            assert "unknown selector key 'distrct'" in (await resp.json())["error"]
        async with http.get(http_url(server, "/api/v1/select?with=under:h-dai-tu,tinh-uy")) as resp:
            chosen = (await resp.json())["endpoints"]
        assert len(chosen) == 31 and chosen[0] == "tinh-uy"


async def test_api_writes_without_operator_token_are_refused(server: Components) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(http_url(server, "/api/v1/sessions"), json={}) as resp:
            assert resp.status == 401
        headers = {"Authorization": "Bearer wrong"}
        async with http.post(
            http_url(server, "/api/v1/sessions"), json={}, headers=headers
        ) as resp:
            assert resp.status == 401


async def test_server_notices_an_import_by_another_process(server: Components, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from confsched.services.inventory import import_fleet
    from confsched.store.db import open_db
    from tests.conftest import SAMPLE

    edited = tmp_path / "edited.yaml"
    edited.write_text(
        SAMPLE.read_text(encoding="utf-8").replace("ports: 96", "ports: 90"), encoding="utf-8"
    )
    other = open_db(server.ctx.settings.data_dir)
    import_fleet(other, edited)
    other.close()
    for _ in range(40):
        if server.ctx.fleet.bridges["mcu-tinh-2"].ports == 90:
            break
        await asyncio.sleep(0.05)
    assert server.ctx.fleet.bridges["mcu-tinh-2"].ports == 90


async def test_changes_long_poll_answers_when_something_changes(server: Components) -> None:
    import asyncio

    async with api_session(server) as http:
        async with http.get(http_url(server, "/api/v1/changes?since=-1")) as resp:
            first = (await resp.json())["revision"]
        waiting = asyncio.ensure_future(
            http.get(http_url(server, f"/api/v1/changes?since={first}"))
        )
        await asyncio.sleep(0.2)
        assert not waiting.done()
        server.ctx.touch()
        async with await asyncio.wait_for(waiting, 2) as resp:
            assert (await resp.json())["revision"] == first + 1


async def test_bad_history_window_is_a_400_naming_the_parameter(server: Components) -> None:
    async with api_session(server) as http:
        for query in ("hours=abc", "hours=0", "hours=9999", "limit=-1"):
            url = http_url(server, f"/api/v1/endpoints/tinh-uy/health?{query}")
            async with http.get(url) as resp:
                assert resp.status == 400, query
                assert query.split("=")[0] in (await resp.json())["error"]


async def test_changed_timezone_and_working_hours_are_served_within_two_seconds(
    server: Components, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from confsched.services.inventory import import_fleet
    from confsched.store.db import open_db
    from tests.conftest import SAMPLE

    edited = tmp_path / "edited.yaml"
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("timezone: Asia/Ho_Chi_Minh", "timezone: Asia/Bangkok")
    text = text.replace('start: "07:30"', 'start: "08:00"')
    edited.write_text(text, encoding="utf-8")
    other = open_db(server.ctx.settings.data_dir)
    report = import_fleet(other, edited)
    other.close()
    assert sorted(report.settings) == ["timezone", "working_hours"]
    async with api_session(server) as http:
        for _ in range(40):
            async with http.get(http_url(server, "/api/v1/fleet")) as resp:
                if (await resp.json())["timezone"] == "Asia/Bangkok":
                    break
            await asyncio.sleep(0.05)
    assert server.ctx.fleet.timezone == "Asia/Bangkok"
    assert server.ctx.fleet.working_hours.start.hour == 8
