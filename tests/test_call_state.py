"""In a call, and with whom: from an agent's report over real SSH and from a polled codec, into
the store, the API's health and ``rooms show``; unknown stays unknown, never "not in a call"."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from confsched_agent.probes import Findings
from confsched_agent.wire import Call

from confsched.codecs.status import CodecStatus, observation
from confsched.domain.health import judge
from confsched.domain.model import CallState
from confsched.runtime.components import Components
from confsched.store.db import open_db
from confsched.store.health import load_latest
from tests.conftest import api_session, http_url
from tests.test_agentlink import ENDPOINT, OTHER, Room, enrolled, eventually, make_agent
from tests.test_codecs_server import _state, polled  # noqa: F401 - the fixture

BRIDGE = "mcu2.vc.thainguyen.gov.vn"


class InCall(Room):
    def __init__(self, call: Call | None) -> None:
        super().__init__()
        self.call = call

    async def run(self) -> Findings:
        found = await super().run()
        found.call = self.call
        return found


async def api_health(ctx: Components, endpoint: str) -> dict[str, Any]:
    url = http_url(ctx, f"/api/v1/endpoints/{endpoint}/health")
    async with api_session(ctx) as http, http.get(url) as resp:
        assert resp.status == 200
        return await resp.json()


async def test_an_agent_in_a_call_is_stored_served_and_shown(server: Components, cli) -> None:
    rooms = {ENDPOINT: InCall(Call(True, BRIDGE)), OTHER: InCall(None)}
    runs = []
    for endpoint, room in rooms.items():
        agent, link, _ = make_agent(await enrolled(server, endpoint), room)
        runs.append((agent, link, asyncio.create_task(link.run())))
    try:
        for agent, _, _ in runs:
            await agent.report_once()
        await eventually(lambda: set(rooms) <= set(server.board.latest))
        one = await api_health(server, ENDPOINT)
        other = await api_health(server, OTHER)
    finally:
        for _, link, task in runs:
            link.stop()
            await task
    assert one["call"] == {"active": True, "remote": BRIDGE}
    assert other["call"] is None  # its agent could not tell
    stored = {
        s.health.endpoint: s.health.call for s in load_latest(open_db(server.ctx.settings.data_dir))
    }
    assert stored[ENDPOINT] == CallState(True, BRIDGE) and stored[OTHER] is None
    shown = await asyncio.to_thread(cli, "rooms", "show", ENDPOINT)
    assert f"Call:      in a call with {BRIDGE}" in shown.out
    assert "Call:      unknown" in (await asyncio.to_thread(cli, "rooms", "show", OTHER)).out
    as_json = (await asyncio.to_thread(cli, "rooms", "show", ENDPOINT, "--json")).json()
    assert as_json["health"]["call"] == {"active": True, "remote": BRIDGE}


async def test_a_codec_says_its_call_and_remote(polled) -> None:  # noqa: F811
    ctx, _ = polled
    remote = "sip:hop@mcu1.vc.thainguyen.gov.vn"
    await _state(ctx, "ioc", ("ok",), 10)
    await eventually(lambda: ctx.board.health("ioc", datetime.now(UTC)).call is not None, 10)
    assert ctx.board.health("ioc", datetime.now(UTC)).call == CallState(True, remote)
    assert (await api_health(ctx, "ioc"))["call"] == {"active": True, "remote": remote}
    idle = await _state(ctx, "tinh-uy", ("ok",), 10)
    assert idle.call == CallState(False)


def test_a_codec_status_becomes_a_call_state_and_idle_has_no_remote() -> None:
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    busy = CodecStatus(cameras=(True,), microphones=(True,), displays=(True,), in_call=True,
                       remote="sip:hop@mcu1")  # fmt: skip
    assert judge(observation("ioc", busy, now)).call == CallState(True, "sip:hop@mcu1")
    idle = CodecStatus(in_call=False, remote="stale")
    assert judge(observation("ioc", idle, now)).call == CallState(False)
