"""Codec rooms through a real scheduler: polled simulated codecs (HTTPS on loopback) show in
the same health board, API and metrics as agent rooms, and their credentials show nowhere."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio

from confsched.config import Settings
from confsched.devsim.codec_fleet import CodecFaults, attach_simulated_codecs
from confsched.devsim.codec_server import CodecLab
from confsched.domain.model import EndpointState
from confsched.runtime.components import Components
from confsched.runtime.root import run_server
from tests.conftest import api_session, http_url

FAULTS = CodecFaults(
    camera_unplugged=frozenset({"h-vo-nhai"}),
    wrong_password=frozenset({"so-tttt"}),
    in_call={"ioc": "sip:hop@mcu1.vc.thainguyen.gov.vn"},
)


@pytest_asyncio.fixture
async def polled(settings: Settings) -> AsyncIterator[tuple[Components, CodecLab]]:
    lab = await attach_simulated_codecs(settings.data_dir, FAULTS)
    ready: asyncio.Future[Components] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_server(settings, ready=ready.set_result))
    ctx = await asyncio.wait_for(ready, 30)
    # restarted on the short interval: a first round that ended before ``ready`` (a slow start,
    # fsync at each commit) would otherwise have scheduled the next one a fleet interval away
    await ctx.codecs.stop()
    ctx.codecs.poller.interval = 2.0
    await ctx.codecs.start()
    try:
        yield ctx, lab
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await lab.close()


async def _state(ctx: Components, endpoint: str, want: tuple[str, ...], within: float):
    board = ctx.board
    deadline = time.monotonic() + within
    while True:
        health = board.health(endpoint, datetime.now(UTC))
        if (health.state.value, *health.reasons) == want or time.monotonic() > deadline:
            return health
        await asyncio.sleep(0.05)


async def test_codec_rooms_show_polled_states(polled: tuple[Components, CodecLab]) -> None:
    ctx, _ = polled
    ok = await _state(ctx, "tinh-uy", ("ok",), 10)
    assert ok.state is EndpointState.OK and ok.measurements["cameras"] == 1.0
    camera = await _state(ctx, "h-vo-nhai", ("down", "camera disconnected"), 5)
    assert (camera.state, camera.reasons) == (EndpointState.DOWN, ("camera disconnected",))
    auth = await _state(ctx, "so-tttt", ("down", "codec auth failed (HTTP 401)"), 5)
    assert auth.reasons == ("codec auth failed (HTTP 401)",)
    call = await _state(ctx, "ioc", ("ok",), 5)
    assert call.measurements["in_call"] == 1.0


async def test_camera_unplugged_turns_down_within_one_interval(
    polled: tuple[Components, CodecLab],
) -> None:
    ctx, lab = polled
    await _state(ctx, "h-dai-tu", ("ok",), 10)
    lab.codecs["h-dai-tu"].cameras = [False]
    unplugged = time.monotonic()
    health = await _state(ctx, "h-dai-tu", ("down", "camera disconnected"), 5)
    assert health.reasons == ("camera disconnected",)
    interval = ctx.codecs.poller.interval
    assert time.monotonic() - unplugged < interval + 1.5  # a round + commit, loaded


async def test_credentials_never_leave_the_data_directory(
    polled: tuple[Components, CodecLab],
) -> None:
    ctx, lab = polled
    await _state(ctx, "so-tttt", ("down", "codec auth failed (HTTP 401)"), 10)
    passwords = [c.password for c in lab.codecs.values()]
    async with api_session(ctx) as http:
        bodies = []
        for path in ("/api/v1/health", "/api/v1/endpoints", "/metrics", "/api/v1/fleet"):
            async with http.get(http_url(ctx, path)) as response:
                bodies.append(await response.text())
    store = (ctx.ctx.settings.data_dir / "confsched.db").read_bytes()
    for password in passwords:
        assert all(password not in body for body in bodies)
        assert password.encode() not in store
