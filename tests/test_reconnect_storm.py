"""A restart brings the fleet back: 300 agents (each from its own loopback address, as rooms'
PCs are) reconnect together after a scheduler restart, every one is back and reporting soon,
and not one login is refused: the scheduler paces the crowd's handshakes instead of turning
the excess away (which sent those agents into a long backoff)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import replace
from pathlib import Path

import asyncssh
import pytest
from confsched_agent.agent import Agent
from confsched_agent.link import BACKOFF_FIRST, NOT_LISTENING_CAP, NOT_LISTENING_FAST, Link
from confsched_agent.spool import MemorySpool

from confsched.agentlink.admission import Pacer
from confsched.agentlink.keys import ensure_host_key, public_text
from confsched.agentlink.server import AgentLink, Limits
from confsched.config import Settings
from confsched.runtime.components import Components
from confsched.services.inventory import import_fleet
from confsched.simulate import enroll_simulated, synthetic_fleet
from confsched.store.db import open_db
from tests.test_agentlink import ENDPOINT, Room, enrolled, eventually, make_agent
from tests.test_agentlink_restart import Scheduler, free_port

AGENTS = 300


class MarkedSpool(MemorySpool):
    """Knows whether a report was acknowledged since the last ``mark()``."""

    back = False

    def mark(self) -> None:
        self.back = False

    def acknowledge(self, seq: int) -> int:
        self.back = True
        return super().acknowledge(seq)


@pytest.fixture
def fixed_settings(settings: Settings) -> Settings:
    return replace(settings, ssh_port=free_port())


async def _no_command(command):  # type: ignore[no-untyped-def]
    return None


async def test_300_agents_are_back_after_a_restart_and_no_login_is_refused(
    fixed_settings: Settings, tmp_path: Path
) -> None:
    db = open_db(fixed_settings.data_dir)
    import_fleet(db, synthetic_fleet(tmp_path / "fleet.yaml", AGENTS))
    db.close()
    scheduler = Scheduler(fixed_settings)
    ctx = await scheduler.start()
    endpoints = [e.id for e in ctx.ctx.fleet.endpoints.values()]
    keys = await asyncio.to_thread(enroll_simulated, fixed_settings.data_dir, endpoints)
    host_key = public_text(ensure_host_key(fixed_settings.data_dir))
    address = ("127.0.0.1", fixed_settings.ssh_port)
    spools, links, tasks = [], [], []
    for i, endpoint in enumerate(endpoints):
        spool = MarkedSpool()
        agent = Agent(endpoint, [Room()], spool, interval=2.0)
        link = Link(
            endpoint,
            address,
            keys[endpoint],
            host_key,
            spool,
            _no_command,
            rng=random.Random(i),
            backoff_first=0.3,  # the whole crowd is back at the door within 0.3 s: a storm
            local_address=f"127.3.{i // 200}.{i % 200 + 1}",
        )
        agent.on_report = link.wake
        spools.append(spool)
        links.append(link)
        tasks += [asyncio.create_task(agent.run()), asyncio.create_task(link.run())]
    try:
        await eventually(lambda: all(s.back for s in spools), timeout=60)
        await scheduler.stop()
        await eventually(lambda: not any(link.connected.is_set() for link in links))
        for spool in spools:
            spool.mark()
        ctx = await scheduler.start()
        await eventually(lambda: all(s.back for s in spools), timeout=45)
        assert sum(ctx.board.logins_refused.values()) == 0, ctx.board.logins_refused
        assert ctx.board.logins_accepted >= len(links)
    finally:
        for link in links:
            link.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await scheduler.stop()


async def test_an_agent_retries_a_scheduler_that_is_not_listening_within_15_s() -> None:
    """Connection refused (the scheduler restarting) is retried within ``BACKOFF_FIRST`` (5 s)
    for the outage's first half-minute, which is longer than a restart takes, and within 15 s
    however long it lasts, so no agent sits out a minute of backoff after the scheduler is
    back."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    host_key = public_text(asyncssh.generate_private_key("ssh-ed25519"))
    link = Link(
        "room",
        ("127.0.0.1", free_port()),
        key,
        host_key,
        MemorySpool(),
        _no_command,
        rng=random.Random(5),
    )
    delays: list[float] = []

    async def record(delay: float) -> None:  # instead of waiting: note the delay
        delays.append(delay)
        if len(delays) == 40:
            link.stop()

    link._sleep = record  # type: ignore[method-assign]
    await asyncio.wait_for(link.run(), 30)
    assert link.failures == 40
    early = [d for i, d in enumerate(delays) if sum(delays[:i]) < NOT_LISTENING_FAST]
    assert 6 <= len(early) < 40
    assert max(early) <= BACKOFF_FIRST == 5.0
    assert max(delays) <= NOT_LISTENING_CAP == 15.0
    assert max(delays) > BACKOFF_FIRST  # a long outage does back off, up to the cap


async def test_a_session_the_scheduler_acknowledged_starts_the_backoff_again() -> None:
    """Failures grow the wait; then a session the scheduler acknowledged reports on, dropped
    after a few seconds (the scheduler killed): the next attempt comes within
    ``BACKOFF_FIRST`` again, and the agent is asked to report at once when it is back."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    host_key = public_text(asyncssh.generate_private_key("ssh-ed25519"))
    link = Link(
        "room", ("127.0.0.1", 9), key, host_key, MemorySpool(), _no_command, rng=random.Random(3)
    )
    script = ["timeout"] * 5 + ["acked", "timeout", "acked"]
    delays: list[float] = []
    reports_asked = []
    link.on_reconnected = lambda: reports_asked.append(link.connects)

    async def session() -> None:
        step = script.pop(0)
        if step == "timeout":
            raise TimeoutError
        link.connects += 1
        if link.connects > 1:
            link.on_reconnected()
        link.acks += 1  # the scheduler acknowledged a report, then went away

    async def record(delay: float) -> None:
        delays.append(delay)
        if not script:
            link.stop()

    link._connected_session = session  # type: ignore[method-assign]
    link._sleep = record  # type: ignore[method-assign]
    await asyncio.wait_for(link.run(), 30)
    assert max(delays[:5]) > BACKOFF_FIRST  # five failures in a row: the wait grew
    after_sessions = [delays[5], delays[7]]
    assert max(after_sessions) <= BACKOFF_FIRST
    assert delays[6] <= 2 * BACKOFF_FIRST  # one failure since: the second step, not the sixth
    assert reports_asked == [2]


async def test_an_agent_beyond_the_waiting_room_is_told_when_to_come_back_and_comes(
    server: Components,
) -> None:
    """The one handshake place and the whole waiting room are taken (idle connections from
    another address): the agent is told at the door when to come back, which is no failure
    for it; it comes back at that time and logs in once the crowd is gone."""
    config = await enrolled(server, ENDPOINT)
    link = AgentLink(server.ctx, server.health_service, Limits(max_unauthenticated=1))
    link.pacer = Pacer(1, first_seconds=0.01, waiting_seconds=0.01)  # 32 wait; back soon
    port = await link.listen("127.0.0.1", 0)
    crowd = [
        await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
        for _ in range(1 + link.pacer.room())
    ]
    agent_link: Link | None = None
    task: asyncio.Task[None] | None = None
    try:
        await eventually(lambda: link.unauthenticated == len(crowd))
        _agent, agent_link, _spool = make_agent(replace(config, scheduler=f"127.0.0.1:{port}"))
        task = asyncio.create_task(agent_link.run())
        await eventually(lambda: server.board.logins_deferred >= 1)
        for _reader, writer in crowd:
            writer.close()
        await eventually(lambda: ENDPOINT in link.agents, timeout=10)
        assert agent_link.deferrals >= 1
        assert agent_link.failures == 0  # no backoff grown, no error logged
        assert sum(server.board.logins_refused.values()) == 0
    finally:
        if agent_link is not None and task is not None:
            agent_link.stop()
            await task
        await link.close()
