"""``/metrics`` of a real scheduler on loopback: promtool-clean, negotiated, gzipped, and
showing what a real agent reported over SSH."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import subprocess
import time

import aiohttp
import asyncssh
import pytest
from prometheus_client.parser import text_string_to_metric_families

from confsched.runtime.components import Components
from tests.conftest import http_url
from tests.test_agentlink import ENDPOINT, Room, enrolled, eventually, make_agent

PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


async def scrape(ctx: Components, **headers: str) -> tuple[bytes, aiohttp.ClientResponse]:
    """The raw body (aiohttp's client would ask for gzip and unpack it: ask for identity)."""
    headers.setdefault("Accept-Encoding", "identity")
    async with (
        aiohttp.ClientSession(auto_decompress=False) as http,
        http.get(http_url(ctx, "/metrics"), headers=headers) as resp,
    ):
        assert resp.status == 200
        return await resp.read(), resp


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, frozenset(labels.items()))]


async def report_from_agent(ctx: Components, room: Room) -> None:
    config = await enrolled(ctx, ENDPOINT)
    agent, link, _ = make_agent(config, room)
    task = asyncio.create_task(link.run())
    try:
        await agent.report_once()
        await eventually(lambda: ENDPOINT in ctx.board.latest)
    finally:
        link.stop()
        await task


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) missing")
async def test_real_scrape_is_clean_under_promtool(server: Components) -> None:
    await report_from_agent(server, Room(camera=False))
    body, resp = await scrape(server)
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    done = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b"", done


async def test_agent_report_over_ssh_shows_in_the_series(server: Components) -> None:
    before = time.time()
    await report_from_agent(server, Room(camera=False))
    text = (await scrape(server))[0].decode()
    ep = {"endpoint": ENDPOINT}
    area = server.ctx.fleet.endpoints[ENDPOINT].area or ""
    agency = server.ctx.fleet.endpoints[ENDPOINT].agency
    state = {"endpoint": ENDPOINT, "area": area, "agency": agency}
    assert value(text, "confsched_endpoint_state", **state, state="down") == 1.0
    assert value(text, "confsched_endpoint_state", **state, state="ok") == 0.0
    assert value(text, "confsched_endpoint_problem", **ep, reason="camera") == 1.0
    assert value(text, "confsched_endpoint_check_ok", **ep, check="camera") == 0.0
    assert value(text, "confsched_endpoint_check_ok", **ep, check="audio") == 1.0
    assert value(text, "confsched_endpoint_network_rtt_seconds", **ep) == pytest.approx(0.012)
    assert value(text, "confsched_endpoint_network_packet_loss_ratio", **ep) == 0.0
    last = value(text, "confsched_endpoint_last_report_timestamp_seconds", **ep)
    assert before - 1 <= last <= time.time()
    assert value(text, "confsched_reports_accepted_total") == 1.0
    others = [e for e in server.ctx.fleet.endpoints if e != ENDPOINT]
    unknown = {"endpoint": others[0], "reason": "never_reported"}
    assert value(text, "confsched_endpoint_problem", **unknown) == 1.0
    states = samples(text)
    unknown_count = sum(
        v
        for (name, labels), v in states.items()
        if name == "confsched_endpoint_state" and ("state", "unknown") in labels
    )
    assert unknown_count == len(others)


async def test_refused_login_is_counted_by_reason(server: Components) -> None:
    port = server.ssh_port
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect(
            "127.0.0.1",
            port,
            username="tinh-uy",
            client_keys=[asyncssh.generate_private_key("ssh-ed25519")],
            known_hosts=None,
            agent_path=None,
            config=[],
        )
    board = server.board
    await eventually(lambda: board.logins_refused.get("not_enrolled") == 1)
    text = (await scrape(server))[0].decode()
    assert value(text, "confsched_ssh_logins_refused_total", reason="not_enrolled") == 1.0
    assert value(text, "confsched_ssh_logins_refused_total", reason="revoked") == 0.0


async def test_gzip_when_the_scraper_asks(server: Components) -> None:
    plain, _ = await scrape(server)
    packed, resp = await scrape(server, **{"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    unpacked = gzip.decompress(packed)
    assert len(packed) < len(unpacked) / 5
    skip = ("confsched_metrics_", "confsched_booking_snapshot", "confsched_event_loop_")
    keep = lambda t: {k: v for k, v in samples(t).items() if not k[0].startswith(skip)}  # noqa: E731
    assert keep(unpacked.decode()) == keep(plain.decode())


async def test_openmetrics_when_prometheus_asks(server: Components) -> None:
    body, resp = await scrape(server, Accept=PROMETHEUS_ACCEPT)
    assert resp.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    text = body.decode()
    assert text.endswith("# EOF\n")
    assert "# TYPE confsched_endpoint info\n" in text
    assert "# UNIT confsched_endpoint_network_rtt_seconds seconds\n" in text


async def test_head_answers_headers_only(server: Components) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.head(http_url(server, "/metrics")) as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        assert await resp.read() == b""
