"""A report leaves the agent's spool when the scheduler acknowledges it, not when it is sent.

The scheduler here is a real asyncssh server on loopback that takes every line and never
answers: a scheduler that dies (or whose store is full) between receiving and acknowledging.
"""

from __future__ import annotations

import asyncio
import random

import asyncssh
from confsched_agent.agent import Agent
from confsched_agent.link import Link
from confsched_agent.spool import MemorySpool

from tests.test_agentlink import Room, eventually

ENDPOINT = "tinh-uy"


class _SilentSession(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    def __init__(self, lines: list[bytes]) -> None:
        self._lines = lines
        self._buffer = b""

    def data_received(self, data: bytes, datatype: object) -> None:
        self._buffer += data
        *complete, self._buffer = self._buffer.split(b"\n")
        self._lines.extend(complete)

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        return True


async def test_sent_but_unacknowledged_reports_stay_in_the_spool() -> None:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    received: list[bytes] = []

    class Server(asyncssh.SSHServer):
        def session_requested(self) -> asyncssh.SSHServerSession:  # type: ignore[type-arg]
            return _SilentSession(received)

    listener = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_factory=Server,
        server_host_keys=[host_key],
        authorized_client_keys=asyncssh.import_authorized_keys(
            client_key.export_public_key().decode()
        ),
        encoding=None,
    )
    port = listener.sockets[0].getsockname()[1]
    spool = MemorySpool()
    agent = Agent(ENDPOINT, [Room()], spool, interval=1.0)
    link = Link(
        ENDPOINT,
        ("127.0.0.1", port),
        client_key,
        host_key.export_public_key().decode().strip(),
        spool,
        agent.handle,
        rng=random.Random(1),
    )
    agent.on_report = link.wake
    task = asyncio.create_task(link.run())
    try:
        await asyncio.wait_for(link.connected.wait(), 10)
        for _ in range(3):
            await agent.report_once()
        await eventually(lambda: len(received) >= 4, timeout=10)  # the hello and three reports
        await asyncio.sleep(0.2)
        assert len(spool) == 3  # sent, never acknowledged: all still kept to resend
        assert [seq for seq, _ in spool.pending(0, 10)] == [1, 2, 3]
    finally:
        link.stop()
        await asyncio.wait_for(task, 10)
        listener.close()
        await listener.wait_closed()
