"""The benchmarks' lean SSH client (``bench/_leanssh.py``) against the real scheduler: it logs an
agent in, its report is acknowledged and stored, a wrong key and a wrong host key are refused,
and the door's 'busy' answer reaches it with its code and time. The reconnect benchmark's
figures are only worth what this client is: a real login, the same work on the scheduler."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from confsched_agent import wire
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from confsched.agentlink.admission import Pacer
from confsched.agentlink.server import AgentLink, Limits
from confsched.runtime.components import Components
from confsched.store.health import load_latest
from tests.conftest import reports_kept
from tests.test_agentlink import ENDPOINT, enrolled, eventually

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


leanssh = _load("_leanssh")


class Received:
    """What the channel delivered, cut into the scheduler's lines."""

    def __init__(self) -> None:
        self.lines = wire.LineSplitter()
        self.messages: list[wire.Message] = []
        self.closed: list[Exception | None] = []

    def data(self, data: bytes) -> None:
        for line in self.lines.feed(data):
            assert isinstance(line, bytes)
            self.messages.append(wire.decode(line))

    def close(self, exc: Exception | None) -> None:
        self.closed.append(exc)


async def connect_enrolled(server: Components, got: Received) -> leanssh.Channel:
    """A lean client logged in as a freshly enrolled room, its answers going to ``got``."""
    config = await enrolled(server, ENDPOINT)
    host, port = config.scheduler_address
    return await leanssh.connect(
        host,
        port,
        username=ENDPOINT,
        key=leanssh.load_private_key(config.key.read_bytes()),
        host_key=config.host_key,
        on_data=got.data,
        on_close=got.close,
    )


async def test_a_lean_client_logs_in_and_its_report_is_acknowledged_and_stored(
    server: Components,
) -> None:
    got = Received()
    channel = await connect_enrolled(server, got)
    try:
        sent_at = datetime.now(UTC).replace(microsecond=0)
        report = wire.Report(7, sent_at, {"camera": wire.Check(False)}, {"rtt_ms": 9.5})
        channel.write(wire.encode(wire.Hello("lean-instance-1")) + wire.encode(report))
        await eventually(lambda: wire.Ack(7) in got.messages)
        stored = await server.ctx.store.read(load_latest, [ENDPOINT])
        assert [(s.seq, s.report_time, s.health.rtt_ms) for s in stored] == [(7, sent_at, 9.5)]
        assert stored[0].instance == "lean-instance-1"
        assert await server.ctx.store.read(reports_kept, ENDPOINT) == 1
        assert ENDPOINT in server.agentlink.agents
        assert server.board.logins_accepted == 1
    finally:
        channel.close()
    assert got.closed == [None]
    await eventually(lambda: ENDPOINT not in server.agentlink.agents)


async def test_a_lean_client_sends_past_the_schedulers_window(server: Components) -> None:
    """More than the scheduler's channel window (256 KiB) in one write: the client waits for
    the window to open and every report arrives."""
    got = Received()
    channel = await connect_enrolled(server, got)
    try:
        now = datetime.now(UTC)
        checks = {f"probe_{i}": wire.Check(True, "x" * 150) for i in range(30)}
        lines = [wire.encode(wire.Report(seq, now, checks)) for seq in range(1, 101)]
        assert sum(map(len, lines)) > Limits().window
        channel.write(wire.encode(wire.Hello("lean-instance-2")) + b"".join(lines))
        await eventually(lambda: wire.Ack(100) in got.messages, timeout=20)
    finally:
        channel.close()


async def test_a_wrong_key_is_refused(server: Components) -> None:
    config = await enrolled(server, ENDPOINT)
    host, port = config.scheduler_address
    got = Received()
    with pytest.raises(leanssh.AuthFailed):
        await leanssh.connect(
            host,
            port,
            username=ENDPOINT,
            key=Ed25519PrivateKey.generate(),
            host_key=config.host_key,
            on_data=got.data,
            on_close=got.close,
        )
    await eventually(lambda: server.board.logins_refused["wrong_key"] == 1)
    assert ENDPOINT not in server.agentlink.agents


async def test_a_host_key_that_is_not_the_pinned_one_is_refused(server: Components) -> None:
    config = await enrolled(server, ENDPOINT)
    host, port = config.scheduler_address
    other = Ed25519PrivateKey.generate().public_key()
    impostor = (
        "ssh-ed25519 "
        + base64.b64encode(
            leanssh._string(b"ssh-ed25519") + leanssh._string(other.public_bytes_raw())
        ).decode()
    )
    with pytest.raises(leanssh.HostKeyMismatch):
        await leanssh.connect(
            host,
            port,
            username=ENDPOINT,
            key=leanssh.load_private_key(config.key.read_bytes()),
            host_key=impostor,
            on_data=Received().data,
            on_close=Received().close,
        )


async def test_the_doors_busy_answer_reaches_a_lean_client(server: Components) -> None:
    config = await enrolled(server, ENDPOINT)
    link = AgentLink(server.ctx, server.health_service, Limits(max_unauthenticated=1))
    link.pacer = Pacer(1, first_seconds=0.01, waiting_seconds=0.01)
    port = await link.listen("127.0.0.1", 0)
    crowd = [
        await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
        for _ in range(1 + link.pacer.room())
    ]
    try:
        await eventually(lambda: link.unauthenticated == len(crowd))
        with pytest.raises(leanssh.Disconnected) as refused:
            await leanssh.connect(
                "127.0.0.1",
                port,
                username=ENDPOINT,
                key=leanssh.load_private_key(config.key.read_bytes()),
                host_key=config.host_key,
                on_data=Received().data,
                on_close=Received().close,
            )
        assert refused.value.code == wire.BUSY_CODE
        assert wire.busy_delay(refused.value.reason) is not None
    finally:
        for _reader, writer in crowd:
            writer.close()
        await link.close()
