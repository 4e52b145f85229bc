"""The agent's link against a scheduler stand-in on loopback (a real asyncssh server, or for the
'busy' answer the raw packet the real scheduler sends at the door): what it sends and from where,
the window, acks, refusals, bad lines and commands, and how it waits after each kind of trouble.

The waits are read, not slept: ``Quick`` keeps each wait the link asks for and waits 20 ms of
it, and ``Highest`` is a random source that answers the top of each range it is asked for, so the
backoff's figures are exact. Each case is one a mutation of ``confsched_agent/link.py`` survived
before.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable
from datetime import UTC, datetime

import asyncssh
import pytest
from confsched_agent.link import Link
from confsched_agent.spool import MemorySpool
from confsched_agent.wire import (
    BUSY_CODE,
    Ack,
    Command,
    Hello,
    Message,
    Reject,
    Report,
    SelftestResult,
    WireError,
    busy_text,
    decode,
    encode,
)

from confsched.agentlink.admission import BANNER, disconnect_packet
from tests.test_agentlink import eventually

ENDPOINT = "xa-yen-lac"
AT = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
GARBAGE = b"{not json at all\n"

HOST_KEY = asyncssh.generate_private_key("ssh-ed25519")
CLIENT_KEY = asyncssh.generate_private_key("ssh-ed25519")


def report_line(seq: int) -> bytes:
    return encode(Report(seq=seq, time=AT))


def spool_of(count: int) -> MemorySpool:
    spool = MemorySpool()
    for seq in range(1, count + 1):
        spool.append(seq, report_line(seq))
    return spool


class Highest(random.Random):
    """Answers the top of every range and keeps the ranges asked for."""

    def __init__(self) -> None:
        super().__init__(0)
        self.asked: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.asked.append((a, b))
        return b


class Quick(Link):
    """Keeps each wait the link asks for and waits at most 20 ms of it."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.slept: list[float] = []

    async def _sleep(self, delay: float) -> None:
        self.slept.append(delay)
        await super()._sleep(min(delay, 0.02))


async def no_command(command: Command) -> Message | None:
    return None


def link_to(port: int, spool: MemorySpool, kind: type[Link] = Link, **options) -> Link:  # type: ignore[no-untyped-def]
    host = options.pop("host", "127.0.0.1")
    pinned = options.pop("pinned", HOST_KEY)
    return kind(
        ENDPOINT,
        (host, port),
        CLIENT_KEY,
        pinned.export_public_key().decode().strip(),
        spool,
        options.pop("on_command", no_command),
        rng=options.pop("rng", random.Random(1)),
        **options,
    )


def free_port() -> int:
    """A loopback port nobody listens on (bound, read, closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stand:
    """The scheduler's side: takes every line, acks reports (or not), and lets a test speak."""

    def __init__(
        self,
        *,
        ack: bool = True,
        ack_delay: float = 0.0,
        answer: Callable[[int], bytes] | None = None,
        close_first: bool = False,
        close_after_ack: bool = False,
        allowed: asyncssh.SSHKey = CLIENT_KEY,
    ) -> None:
        self.ack, self.ack_delay, self.answer = ack, ack_delay, answer
        self.close_first, self.close_after_ack, self.allowed = close_first, close_after_ack, allowed
        self.lines: list[bytes] = []
        self.channels: list[asyncssh.SSHServerChannel] = []  # type: ignore[type-arg]
        self.connections: list[asyncssh.SSHServerConnection] = []
        self.listener: asyncssh.SSHAcceptor | None = None

    def reports(self) -> list[int]:
        return [m.seq for m in map(decode, self.lines) if isinstance(m, Report)]

    async def start(self, host: str = "127.0.0.1", **options) -> int:  # type: ignore[no-untyped-def]
        stand = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                stand.connections.append(conn)

            def session_requested(self) -> asyncssh.SSHServerSession:  # type: ignore[type-arg]
                return _Session(stand)

        self.listener = await asyncssh.listen(
            host,
            0,
            server_factory=Server,
            server_host_keys=[HOST_KEY],
            authorized_client_keys=asyncssh.import_authorized_keys(
                self.allowed.export_public_key().decode()
            ),
            encoding=None,
            **options,
        )
        return int(self.listener.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            await self.listener.wait_closed()


class _Session(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    def __init__(self, stand: Stand) -> None:
        self._stand = stand
        self._buffer = b""
        self._chan: asyncssh.SSHServerChannel | None = None  # type: ignore[type-arg]

    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:  # type: ignore[type-arg]
        self._chan = chan
        self._stand.channels.append(chan)

    def shell_requested(self) -> bool:
        return True

    def data_received(self, data: bytes, datatype: object) -> None:
        assert self._chan is not None
        self._buffer += data
        *complete, self._buffer = self._buffer.split(b"\n")
        for raw in complete:
            line = raw + b"\n"
            self._stand.lines.append(line)
            msg = decode(line)
            if isinstance(msg, Hello) and self._stand.close_first:
                self._stand.close_first = False
                self._chan.close()
                return
            if not isinstance(msg, Report):
                continue
            reply = encode(Ack(msg.seq)) if self._stand.ack else b""
            if self._stand.answer is not None:
                reply = self._stand.answer(msg.seq)
            if reply and self._stand.close_after_ack:
                self._chan.write(reply)
                self._chan.close()
                return
            if reply:
                chan = self._chan
                asyncio.get_running_loop().call_later(self._stand.ack_delay, chan.write, reply)


async def stopped(link: Link, task: asyncio.Task[None]) -> None:
    link.stop()
    await asyncio.wait_for(task, 10)


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def test_a_new_link_has_counted_nothing() -> None:
    link = link_to(22, MemorySpool())
    assert (link.connects, link.failures, link.deferrals, link.last_error) == (0, 0, 0, "")
    assert not link.connected.is_set()


async def test_the_link_connects_from_its_address_and_sends_hello_then_the_spool(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """From the agent's own loopback address (the system picks the port) to a scheduler that
    listens on another one, AES-GCM first; the hello names the spool's life; reports written
    together arrive as the same lines."""
    stand = Stand()
    port = await stand.start("127.0.0.2")
    spool = spool_of(3)
    link = link_to(port, spool, host="127.0.0.2", local_address="127.0.0.3")
    with caplog.at_level(logging.INFO, "confsched.agent"):
        task = asyncio.create_task(link.run())
        try:
            await eventually(lambda: len(stand.lines) >= 4, timeout=10)
            peer_host, peer_port = stand.connections[0].get_extra_info("peername")[:2]
            assert peer_host == "127.0.0.3" and peer_port >= 1024
            assert stand.connections[0].get_extra_info("recv_cipher") == "aes128-gcm@openssh.com"
            assert decode(stand.lines[0]) == Hello(spool.instance)
            assert stand.lines[1:] == [report_line(seq) for seq in (1, 2, 3)]
            assert link.connects == 1 and link.failures == 0
        finally:
            await stopped(link, task)
            await stand.close()
    assert f"{ENDPOINT}: connected to 127.0.0.2:{port}" in messages(caplog, logging.INFO)


async def test_no_more_than_the_window_goes_unacknowledged() -> None:
    stand = Stand(ack=False)
    port = await stand.start()
    link = link_to(port, spool_of(300))
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: len(stand.reports()) >= 256, timeout=10)
        await asyncio.sleep(0.3)
        assert stand.reports() == list(range(1, 257))  # the default window: 256
    finally:
        await stopped(link, task)
        await stand.close()


async def test_a_window_of_one_moves_on_with_each_ack() -> None:
    stand = Stand()
    port = await stand.start()
    spool = spool_of(20)
    link = link_to(port, spool, window=1, batch=1)
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: len(spool) == 0, timeout=5)  # 20 round trips, no pause between
        assert stand.reports() == list(range(1, 21))
        assert link.acks == 20
    finally:
        await stopped(link, task)
        await stand.close()


async def test_a_refused_report_is_dropped_and_a_bad_line_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The scheduler refuses report 2 for good, in the same write as a line the agent cannot
    read, and acknowledges nothing after 1: the line is logged and skipped, the refusal still
    taken (2 leaves the spool and the window, so 4 goes out), the session kept."""

    def answer(seq: int) -> bytes:
        if seq == 1:
            return encode(Ack(1))
        if seq == 2:
            return GARBAGE + encode(Reject("bad_report", "no checks", seq=2))
        return b""

    stand = Stand(answer=answer)
    port = await stand.start()
    spool = spool_of(4)
    link = link_to(port, spool, window=2)
    with pytest.raises(WireError) as unreadable:
        decode(GARBAGE)
    with caplog.at_level(logging.WARNING, "confsched.agent"):
        task = asyncio.create_task(link.run())
        try:
            await eventually(lambda: len(stand.reports()) == 4, timeout=10)
            await asyncio.sleep(0.2)
            assert stand.reports() == [1, 2, 3, 4]  # 2 was not sent again
            assert [seq for seq, _ in spool.pending(0, 10)] == [3, 4]
            assert link.connects == 1 and len(stand.connections) == 1
        finally:
            link.stop()
            task.cancel()  # 3 and 4 are never acknowledged: no drain to wait for
            await asyncio.gather(task, return_exceptions=True)
            await stand.close()
    assert messages(caplog, logging.WARNING) == [
        f"{ENDPOINT}: bad line from scheduler: {unreadable.value}",
        f"{ENDPOINT}: scheduler refused: bad_report no checks",
    ]


async def test_a_command_is_answered_on_its_channel_and_a_quiet_one_is_not() -> None:
    stand = Stand(ack=False)
    port = await stand.start()
    answered: list[int] = []

    async def on_command(command: Command) -> Message | None:
        answered.append(command.id)
        return SelftestResult(command.id, AT) if command.name == "selftest" else None

    failures: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: failures.append(ctx))
    link = link_to(port, MemorySpool(), on_command=on_command)
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: len(stand.lines) >= 1, timeout=10)
        stand.channels[0].write(
            encode(Command(8, "set_interval", 30.0)) + encode(Command(7, "selftest"))
        )
        await eventually(lambda: len(stand.lines) >= 2, timeout=5)
        await asyncio.sleep(0.2)
        assert answered == [8, 7]
        assert stand.lines[1:] == [encode(SelftestResult(7, AT))]
        assert link.connects == 1 and len(stand.connections) == 1
    finally:
        await stopped(link, task)
        await stand.close()
        asyncio.get_running_loop().set_exception_handler(None)
    assert failures == []


async def test_the_scheduler_closing_the_session_is_said_and_the_link_comes_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stand = Stand(close_first=True)
    port = await stand.start()
    link = link_to(port, spool_of(1), backoff_first=0.05)
    reconnected: list[int] = []
    link.on_reconnected = lambda: reconnected.append(link.connects)
    with caplog.at_level(logging.WARNING, "confsched.agent"):
        task = asyncio.create_task(link.run())
        try:
            await eventually(lambda: link.connects == 2 and stand.reports() == [1], timeout=10)
            assert link.failures == 0
            assert reconnected == [2]  # told once it is back, not at the first connection
        finally:
            await stopped(link, task)
            await stand.close()
    assert messages(caplog, logging.WARNING) == [
        f"{ENDPOINT}: disconnected: the scheduler closed the session"
    ]


async def test_a_scheduler_whose_host_key_is_not_the_pinned_one_is_refused_doubling_the_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stand = Stand()
    port = await stand.start()
    rng = Highest()
    other = asyncssh.generate_private_key("ssh-ed25519")
    link = link_to(port, spool_of(1), Quick, pinned=other, rng=rng, backoff_first=1.0)
    assert isinstance(link, Quick)
    with caplog.at_level(logging.WARNING, "confsched.agent"):
        task = asyncio.create_task(link.run())
        try:
            await eventually(lambda: len(link.slept) >= 7, timeout=20)
        finally:
            await stopped(link, task)
            await stand.close()
    assert link.slept[:7] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]  # capped at a minute
    assert rng.asked[:7] == [(0.1, top) for top in link.slept[:7]]
    assert len(link.slept) <= link.failures <= len(link.slept) + 1 and link.deferrals == 0
    assert link.last_error == "the scheduler's host key does not match the pinned one"
    assert link.connects == 0 and stand.lines == []
    said = messages(caplog, logging.WARNING)
    assert said and set(said) == {f"{ENDPOINT}: {link.last_error}"}


async def test_a_scheduler_without_curve25519_is_not_joined() -> None:
    stand = Stand()
    port = await stand.start(kex_algs=["ecdh-sha2-nistp256", "diffie-hellman-group14-sha256"])
    link = link_to(port, spool_of(1), Quick)
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: link.failures >= 1, timeout=10)
        assert link.connects == 0 and stand.lines == []
    finally:
        await stopped(link, task)
        await stand.close()


async def test_a_scheduler_not_listening_is_retried_quickly_for_30_s_then_within_15_s(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = Highest()
    link = link_to(free_port(), MemorySpool(), Quick, rng=rng, backoff_first=1.0)
    assert isinstance(link, Quick)
    with caplog.at_level(logging.WARNING, "confsched.agent"):
        task = asyncio.create_task(link.run())
        try:
            await eventually(lambda: len(link.slept) >= 32, timeout=20)
        finally:
            await stopped(link, task)
    assert link.slept[:32] == [1.0] * 30 + [15.0, 15.0]
    assert rng.asked[:32] == [(0.1, top) for top in link.slept[:32]]
    assert len(link.slept) <= link.failures <= len(link.slept) + 1 and link.deferrals == 0
    assert link.last_error == "the scheduler is not listening"
    said = messages(caplog, logging.WARNING)
    assert said and set(said) == {f"{ENDPOINT}: the scheduler is not listening"}


async def test_the_link_waits_out_its_backoff() -> None:
    link = link_to(free_port(), MemorySpool(), rng=Highest(), backoff_first=0.6)
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: link.failures >= 1, timeout=5)
        await asyncio.sleep(0.3)
        assert link.failures == 1  # the first wait is 0.6 s
        await eventually(lambda: link.failures >= 2, timeout=5)
    finally:
        await stopped(link, task)


async def test_a_busy_scheduler_is_come_back_to_when_it_said_and_is_no_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At the door, before any key exchange, as the real scheduler answers a crowd."""

    async def busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER + disconnect_packet(BUSY_CODE, busy_text(0.3)))
        await writer.drain()
        writer.close()

    door = await asyncio.start_server(busy, "127.0.0.1", 0)
    port = door.sockets[0].getsockname()[1]
    rng = Highest()
    link = link_to(port, spool_of(1), Quick, rng=rng)
    assert isinstance(link, Quick)
    with caplog.at_level(logging.INFO, "confsched.agent"):
        task = asyncio.create_task(link.run())
        try:
            await eventually(lambda: link.deferrals >= 2, timeout=10)
        finally:
            await stopped(link, task)
            door.close()
            await door.wait_closed()
    assert link.failures == 0 and link.last_error == ""
    assert link.deferrals == len(link.slept)
    assert rng.asked[:2] == [(1.0, 1.1), (1.0, 1.1)]
    assert link.slept[:2] == pytest.approx([0.33, 0.33])
    assert f"{ENDPOINT}: the scheduler is busy, back in 0.3 s" in messages(caplog, logging.INFO)


async def test_stop_gives_the_reports_in_flight_a_moment_to_be_acknowledged() -> None:
    stand = Stand(ack_delay=0.3)
    port = await stand.start()
    spool = spool_of(3)
    link = link_to(port, spool)
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: len(stand.reports()) == 3, timeout=10)
        assert len(spool) == 3
    finally:
        await stopped(link, task)
        await stand.close()
    assert len(spool) == 0


async def test_a_session_with_acknowledgements_starts_the_backoff_afresh() -> None:
    """Each session is cut after one acknowledgement: the scheduler worked, so every wait is
    the first one again, not a doubling."""
    stand = Stand(close_after_ack=True)
    port = await stand.start()
    rng = Highest()
    link = link_to(port, spool_of(4), Quick, rng=rng, window=1, backoff_first=0.5)
    assert isinstance(link, Quick)
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: len(link.slept) >= 3, timeout=15)
    finally:
        await stopped(link, task)
        await stand.close()
    assert link.slept[:3] == [0.5, 0.5, 0.5]


async def test_a_key_the_scheduler_does_not_know_is_said_so() -> None:
    stand = Stand(allowed=asyncssh.generate_private_key("ssh-ed25519"))
    port = await stand.start()
    link = link_to(port, spool_of(1), Quick)
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: link.failures >= 1, timeout=10)
        assert link.last_error == (
            "the scheduler refused this endpoint's key (not enrolled, or revoked)"
        )
        assert link.connects == 0
    finally:
        await stopped(link, task)
        await stand.close()
