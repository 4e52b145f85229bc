"""No lock-out before login: idle TCP connections from one address cannot keep agents out."""

from __future__ import annotations

import asyncio
import contextlib

from confsched.agentlink.server import AgentLink, Limits
from confsched.runtime.components import Components
from tests.test_agentlink import ENDPOINT, enrolled, eventually, make_agent

IDLE_FROM = "127.0.0.2"
IDLE_CONNECTIONS = 1000


async def _idle_connections(port: int, count: int) -> list[asyncio.StreamWriter]:
    """Open ``count`` TCP connections from another loopback address and say nothing on them."""
    writers: list[asyncio.StreamWriter] = []
    for start in range(0, count, 100):
        opened = await asyncio.gather(
            *(
                asyncio.open_connection("127.0.0.1", port, local_addr=(IDLE_FROM, 0))
                for _ in range(min(100, count - start))
            ),
            return_exceptions=True,
        )
        writers.extend(pair[1] for pair in opened if isinstance(pair, tuple))
    return writers


async def test_an_agent_logs_in_within_2s_while_1000_idle_connections_come_from_elsewhere(
    server: Components,
) -> None:
    config = await enrolled(server, ENDPOINT)
    port = server.ssh_port
    idle = await _idle_connections(port, IDLE_CONNECTIONS)
    links = server.agentlink
    board = server.board
    assert len(idle) > 900  # the crowd is really there
    _agent, link, _ = make_agent(config)
    started = asyncio.get_running_loop().time()
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: ENDPOINT in links.agents, timeout=2.0)
        assert asyncio.get_running_loop().time() - started < 2.0
        assert board.logins_refused["too_many_from_address"] > 0
        assert board.logins_refused["too_many_connections"] == 0
    finally:
        link.stop()
        await task
        for writer in idle:
            writer.close()
        for writer in idle:
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def test_a_silent_connection_loses_its_place_after_the_login_grace(
    server: Components,
) -> None:
    assert Limits().login_timeout <= 6.0
    link = AgentLink(server.ctx, server.health_service, Limits(login_timeout=0.5))
    port = await link.listen("127.0.0.1", 0)
    _reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(IDLE_FROM, 0))
    try:
        await eventually(lambda: link.unauthenticated == 1, timeout=2.0)
        await eventually(lambda: link.unauthenticated == 0, timeout=3.0)
    finally:
        writer.close()
        await link.close()
