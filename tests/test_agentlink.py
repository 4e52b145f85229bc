"""The agent link over real loopback SSH: enrolment, reports, refusals, revocation."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import asyncssh
import pytest
from confsched_agent.agent import Agent
from confsched_agent.link import Link
from confsched_agent.probes import Findings
from confsched_agent.spool import MemorySpool
from confsched_agent.wire import Check

from confsched.agentlink.enrol import enroll
from confsched.domain.model import EndpointState
from confsched.runtime.components import Components
from confsched.services.health import revoke

ENDPOINT = "dhy-hoa-thuong"
OTHER = "tinh-uy"


class Room:
    """A fixed pretend room; tests flip its checks."""

    name = "room"

    def __init__(self, **checks: bool) -> None:
        self.checks = {"camera": True, "audio": True, "display": True, **checks}

    async def run(self) -> Findings:
        return Findings(
            {k: Check(v) for k, v in self.checks.items()},
            {"rtt_ms": 12.0, "loss_ratio": 0.0},
        )


async def enrolled(ctx: Components, endpoint: str):  # type: ignore[no-untyped-def]
    port = ctx.ssh_port
    now = datetime.now(UTC)
    return await ctx.ctx.store.write(
        enroll, ctx.ctx.settings.data_dir, endpoint, f"127.0.0.1:{port}", now
    )


def make_agent(config, room: Room | None = None):  # type: ignore[no-untyped-def]
    spool = MemorySpool()
    agent = Agent(config.endpoint, [room or Room()], spool, interval=1.0)
    link = Link(
        config.endpoint,
        config.scheduler_address,
        asyncssh.read_private_key(config.key),
        config.host_key,
        spool,
        agent.handle,
        rng=random.Random(1),
    )
    agent.on_report = link.wake
    return agent, link, spool


async def eventually(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_enrolled_agent_reports_and_its_state_appears(server: Components) -> None:
    config = await enrolled(server, ENDPOINT)
    agent, link, spool = make_agent(config, Room(camera=False))
    task = asyncio.create_task(link.run())
    try:
        await agent.report_once()
        board = server.board
        await eventually(lambda: ENDPOINT in board.latest)
        health = board.health(ENDPOINT, datetime.now(UTC))
        assert health.state is EndpointState.DOWN
        assert health.reasons == ("camera missing",)
        await eventually(lambda: len(spool) == 0)  # acknowledged, so dropped
        assert board.reports_accepted == 1
    finally:
        link.stop()
        await task


async def test_unknown_key_is_refused_and_counted(server: Components, tmp_path) -> None:
    config = await enrolled(server, ENDPOINT)
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    spool = MemorySpool()
    link = Link(ENDPOINT, config.scheduler_address, stranger, config.host_key, spool, _no_cmd)
    with pytest.raises(asyncssh.PermissionDenied):
        await link._connected_session()
    board = server.board
    await eventually(lambda: board.logins_refused["wrong_key"] == 1)


async def _no_cmd(command):  # type: ignore[no-untyped-def]
    return None


async def test_revoked_key_is_cut_off_at_once_and_refused_after(server: Components) -> None:
    config = await enrolled(server, ENDPOINT)
    _agent, link, _ = make_agent(config)
    task = asyncio.create_task(link.run())
    links = server.agentlink
    try:
        await eventually(lambda: ENDPOINT in links.agents)
        await server.ctx.store.write(revoke, ENDPOINT, datetime.now(UTC))
        await eventually(lambda: ENDPOINT not in links.agents, timeout=3)
        board = server.board
        assert board.connections_closed["revoked"] == 1
        with pytest.raises(asyncssh.PermissionDenied):
            await link._connected_session()
        await eventually(lambda: board.logins_refused["revoked"] >= 1)
    finally:
        link.stop()
        await task


async def test_a_changed_report_interval_reaches_a_running_agent_within_two_seconds(
    server: Components, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from confsched.services.inventory import import_fleet
    from confsched.store.db import open_db
    from tests.conftest import SAMPLE

    config = await enrolled(server, ENDPOINT)
    agent, link, _spool = make_agent(config)
    task = asyncio.create_task(link.run())
    try:
        await agent.report_once()
        await eventually(lambda: ENDPOINT in server.board.latest)
        edited = tmp_path / "edited.yaml"
        text = SAMPLE.read_text(encoding="utf-8").replace(
            "report_interval: 10s", "report_interval: 30s"
        )
        edited.write_text(text, encoding="utf-8")
        other = open_db(server.ctx.settings.data_dir)  # as `confsched rooms import` would
        report = import_fleet(other, edited)
        other.close()
        assert report.settings == ["report_interval"]
        await eventually(lambda: agent.interval == 30.0, timeout=2.0)
        assert server.board.default_interval.total_seconds() == 30.0
    finally:
        link.stop()
        await task


async def test_the_kernel_watches_an_agents_connection_not_a_timer_per_packet(
    server: Components,
) -> None:
    """Dead agents are found by TCP keepalive (idle 30 s, a probe every 10 s, dropped after 3
    unanswered); asyncssh's own keepalive, which re-armed a loop timer at every packet an agent
    sent, is off."""
    import socket

    config = await enrolled(server, ENDPOINT)
    agent, link, spool = make_agent(config)
    task = asyncio.create_task(link.run())
    links = server.agentlink
    try:
        await eventually(lambda: ENDPOINT in links.agents)
        conn = links.agents[ENDPOINT]._conn
        assert conn is not None
        sock = conn.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        tcp = socket.IPPROTO_TCP
        assert sock.getsockopt(tcp, socket.TCP_KEEPIDLE) == 30
        assert sock.getsockopt(tcp, socket.TCP_KEEPINTVL) == 10
        assert sock.getsockopt(tcp, socket.TCP_KEEPCNT) == 3
        assert sock.getsockopt(tcp, socket.TCP_USER_TIMEOUT) == 60_000  # an unacked ack too
        await agent.report_once()
        await eventually(lambda: len(spool) == 0)  # reports still flow and are acknowledged
        assert conn._keepalive_timer is None  # asyncssh arms no timer for what it receives
    finally:
        link.stop()
        await task
