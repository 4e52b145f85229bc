"""The agent's SSH link to the scheduler: connect, stream the spool, take acks and commands.

One long-lived connection carries reports up and commands down. Reports are sent from the
spool in sequence order, at most ``window`` unacknowledged at a time and up to ``batch`` lines
per write (a backlog after a reconnect goes out in large writes, live reports one by one). On
any failure the link waits with exponential backoff and full jitter (capped at 60 s) and
reconnects, resending whatever was not acknowledged. The backoff counts the failures of one
outage: a session the scheduler acknowledged reports on (or that lasted 30 s) starts the count
again, so a fleet that lost a restarted scheduler comes back within ``BACKOFF_FIRST`` seconds
whatever happened before; a scheduler that is not listening (restarting) is retried within
``BACKOFF_FIRST`` seconds for the outage's first ``NOT_LISTENING_FAST`` seconds, then within
``NOT_LISTENING_CAP``. A scheduler letting a crowd in may say at
the door when to come back (``wire.busy_text``): the link then comes back at that time (plus up
to a tenth), which is no failure and does not grow the backoff. The first line of every
connection is a ``hello`` naming the spool's instance, so the scheduler tells this life's
resends from a new life's reports. The scheduler's host key is pinned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, cast

import asyncssh

from confsched_agent.wire import (
    BUSY_CODE,
    KEX_ALGS,
    Ack,
    Command,
    Hello,
    LineSplitter,
    Message,
    Reject,
    WireError,
    busy_delay,
    decode,
    encode,
)

log = logging.getLogger("confsched.agent")

BACKOFF_FIRST = 5.0
"""Spread of the first reconnect: agents that all lost the scheduler at once come back over
this many seconds, not in the same one."""
BACKOFF_CAP = 60.0
NOT_LISTENING_CAP = 15.0
"""Cap while the scheduler is not listening (connection refused: it is restarting). Such an
attempt costs the scheduler nothing, and agents that waited a minute would come back long
after it is up again."""
NOT_LISTENING_FAST = 30.0
"""For this long (seconds waited between refused attempts) a scheduler that is not listening
is retried without growing the wait: a restart takes a few seconds, and agents whose wait had
doubled to 10 or 15 s meanwhile came back that long after it was up (a refused connection is
a SYN and a reset, nothing for the scheduler to do)."""
CIPHERS = ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com")
"""AES-GCM first: one AEAD call per packet (cheaper than ChaCha20-Poly1305 in asyncssh on
machines with AES instructions, on the scheduler's side too)."""
STABLE_AFTER = 30.0
"""A connection that lasted this long resets the backoff."""


class Channel(Protocol):
    """The session channel as the link uses it."""

    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...


class Spool(Protocol):
    instance: str

    def pending(self, after: int, limit: int): ...
    def acknowledge(self, seq: int) -> int: ...
    def discard(self, seq: int) -> None: ...


CommandHandler = Callable[[Command], Awaitable[Message | None]]


def backoff_delay(
    attempt: int, rng: random.Random, first: float = BACKOFF_FIRST, cap: float = BACKOFF_CAP
) -> float:
    """Full jitter: uniform over [0.1, min(cap, first * 2**attempt)]."""
    return rng.uniform(0.1, min(cap, first * 2**attempt))


class Link:
    def __init__(
        self,
        endpoint: str,
        address: tuple[str, int],
        client_key: asyncssh.SSHKey,
        host_key: str,
        spool: Spool,
        on_command: CommandHandler,
        *,
        window: int = 256,
        batch: int = 64,
        rng: random.Random | None = None,
        backoff_first: float = BACKOFF_FIRST,
        local_address: str = "",
    ) -> None:
        self.endpoint = endpoint
        self._local = (local_address, 0) if local_address else None
        """The address to connect from ("": the system's choice); the simulator gives each
        agent its own loopback address, as each room's PC has its own."""
        self._backoff_first = backoff_first
        self._address = address
        self._key = client_key
        host, port = address
        self._known_hosts = asyncssh.import_known_hosts(f"[{host}]:{port} {host_key}\n")
        self._spool = spool
        self._on_command = on_command
        self._window, self._batch = window, batch
        self._rng = rng or random.Random()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()
        self.connects = 0
        self.failures = 0
        """Connection attempts that failed (refused, timed out, lost before the session)."""
        self.deferrals = 0
        """Times the scheduler said it was busy and when to come back (not failures)."""
        self.acks = 0
        """Acknowledgements received, over every connection."""
        self.on_reconnected: Callable[[], None] = lambda: None
        """Called when a connection other than the first is up (the agent's ``report_now``:
        a scheduler that restarted hears how the room is at once, not one interval later)."""
        self.last_error = ""

    def wake(self) -> None:
        """A new report is in the spool (or something else changed): look again."""
        self._wakeup.set()

    def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()

    async def run(self) -> None:
        """Stay connected until ``stop()``; never raises for network or SSH trouble."""
        loop = asyncio.get_running_loop()
        attempt = 0
        waited = 0.0
        """Seconds slept between failed attempts since the last good session."""
        while not self._stopping:
            started, acked = loop.time(), self.acks
            cap = BACKOFF_CAP
            try:
                await self._connected_session()
                if not self._stopping:
                    log.warning("%s: disconnected: the scheduler closed the session", self.endpoint)
            except (OSError, asyncssh.Error, TimeoutError) as exc:
                delay = _busy(exc)
                if delay is not None:  # not a failure: the scheduler gave us our time
                    self.deferrals += 1
                    log.info("%s: the scheduler is busy, back in %.1f s", self.endpoint, delay)
                    await self._sleep(delay * self._rng.uniform(1.0, 1.1))
                    continue
                self.failures += 1
                self.last_error = _explain(exc)
                log.warning("%s: %s", self.endpoint, self.last_error)
                if isinstance(exc, ConnectionRefusedError):
                    fast = waited < NOT_LISTENING_FAST
                    cap = self._backoff_first if fast else NOT_LISTENING_CAP
            self.connected.clear()
            if self._stopping:
                break
            if self.acks > acked or loop.time() - started > STABLE_AFTER:
                attempt, waited = 0, 0.0  # the scheduler worked: a new outage starts now
            delay = backoff_delay(attempt, self._rng, self._backoff_first, cap)
            waited += delay
            await self._sleep(delay)
            attempt += 1

    async def _sleep(self, delay: float) -> None:
        self._wakeup.clear()
        try:
            async with asyncio.timeout(delay):
                while not self._stopping:
                    await self._wakeup.wait()
                    self._wakeup.clear()
        except TimeoutError:
            pass

    async def _connected_session(self) -> None:
        async with self._open() as (channel, session):
            channel.write(encode(Hello(self._spool.instance)))
            self.connects += 1
            self.connected.set()
            if self.connects > 1:
                self.on_reconnected()
            log.info("%s: connected to %s:%d", self.endpoint, *self._address)
            try:
                await self._stream(channel, session)
            finally:
                for task in list(self._tasks):
                    task.cancel()
            if self._stopping:
                await self._drain(session)
                channel.close()

    @contextlib.asynccontextmanager
    async def _open(self) -> AsyncIterator[tuple[Channel, _AgentSession]]:
        """Log in and open the session channel; closed on leaving. The one place that knows
        the SSH library (a benchmark swaps in its own lighter client here)."""
        host, port = self._address
        async with asyncssh.connect(
            host,
            port,
            local_addr=self._local,
            username=self.endpoint,
            client_keys=[self._key],
            known_hosts=self._known_hosts,
            agent_path=None,
            config=[],
            preferred_auth="publickey",
            encryption_algs=CIPHERS,
            kex_algs=KEX_ALGS,
            gss_host=None,  # public keys only: no GSS attempt at every connect
            keepalive_interval=30,
            keepalive_count_max=3,
            connect_timeout=30,  # a paced login waits its turn in the scheduler's queue
            login_timeout=30,
        ) as conn:
            channel, made = await conn.create_session(lambda: _AgentSession(self), encoding=None)
            yield channel, cast(_AgentSession, made)  # the factory above made it

    async def _stream(self, channel: Channel, session: _AgentSession) -> None:
        """Send spooled reports in order within the window until the channel or agent stops."""
        while not self._stopping and not session.closed:
            self._wakeup.clear()
            room = self._window - len(session.inflight)
            items = list(self._spool.pending(session.sent_through, min(self._batch, room)))
            if room > 0 and items:
                channel.write(b"".join(line for _, line in items))
                session.inflight.extend(seq for seq, _ in items)
                session.sent_through = items[-1][0]
                await asyncio.sleep(0)  # let acks and other agents in between batches
                continue
            await self._wakeup.wait()

    async def _drain(self, session: _AgentSession, timeout: float = 2.0) -> None:
        """On shutdown, give outstanding reports a moment to be acknowledged."""
        try:
            async with asyncio.timeout(timeout):
                while session.inflight and not session.closed:
                    self._wakeup.clear()
                    await self._wakeup.wait()
        except TimeoutError:
            pass

    # -- called by the session --------------------------------------------------------------------

    def _acked(self, session: _AgentSession, seq: int) -> None:
        self.acks += 1
        self._spool.acknowledge(seq)
        while session.inflight and session.inflight[0] <= seq:
            session.inflight.popleft()
        self._wakeup.set()

    def _rejected(self, session: _AgentSession, reject: Reject) -> None:
        log.warning("%s: scheduler refused: %s %s", self.endpoint, reject.reason, reject.detail)
        if reject.seq is not None:
            self._spool.discard(reject.seq)
            if reject.seq in session.inflight:
                session.inflight.remove(reject.seq)
            self._wakeup.set()

    def _command(self, session: _AgentSession, command: Command) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(session, command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, session: _AgentSession, command: Command) -> None:
        reply = await self._on_command(command)
        if reply is not None and not session.closed and session.channel is not None:
            session.channel.write(encode(reply))

    def _closed(self) -> None:
        self._wakeup.set()


class _AgentSession(asyncssh.SSHClientSession):
    """Parses the scheduler's lines and hands them to the link."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._lines = LineSplitter()
        self.channel: Channel | None = None
        self.inflight: deque[int] = deque()
        self.sent_through = 0
        self.closed = False

    def connection_made(self, chan: Channel) -> None:
        self.channel = chan

    def data_received(self, data: bytes, datatype: object) -> None:
        for line in self._lines.feed(data):
            try:
                if isinstance(line, WireError):
                    raise line
                msg = decode(line)
            except WireError as exc:
                log.warning("%s: bad line from scheduler: %s", self._link.endpoint, exc)
                continue
            if isinstance(msg, Ack):
                self._link._acked(self, msg.seq)
            elif isinstance(msg, Reject):
                self._link._rejected(self, msg)
            elif isinstance(msg, Command):
                self._link._command(self, msg)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._link._closed()


def _busy(exc: BaseException) -> float | None:
    """Seconds the scheduler said to come back in, if ``exc`` is its 'busy' answer."""
    if isinstance(exc, asyncssh.DisconnectError) and exc.code == BUSY_CODE:
        return busy_delay(exc.reason)
    return None


def _explain(exc: BaseException) -> str:
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return "the scheduler's host key does not match the pinned one"
    if isinstance(exc, asyncssh.PermissionDenied):
        return "the scheduler refused this endpoint's key (not enrolled, or revoked)"
    if isinstance(exc, TimeoutError):
        return "timed out connecting to the scheduler"
    if isinstance(exc, ConnectionRefusedError):
        return "the scheduler is not listening"
    return f"{exc.__class__.__name__}: {exc}"
