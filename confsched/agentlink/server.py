"""The agents' SSH server: public-key logins against the store, paced admission, limits, commands.

Each login reads the endpoint's key from the store (so ``agents enroll`` takes effect at once,
from another process, without a restart); the user name is the endpoint id and the key proves
it. A revocation (or a re-enrolment with a new key) closes that agent's live connection within
the server's change-poll interval. One connection per endpoint: a new login replaces the old.

Admission is paced (``admission``): every connection is accepted at once; at most
``max_unauthenticated`` are in their handshake at the same time (they share the CPU; more at
once only makes each slower and run into the login grace), a few seconds' worth wait in memory
for the next free place, and the rest are told at the door when to come back, each a different
time, spread at the rate logins complete. A fleet that reconnects together after a restart
comes back as a queue instead of being refused, backing off blindly and knocking together again.
Limits: total connections, unauthenticated connections per source address (idle TCP
connections from one address cannot take every handshake place), a short login grace, line
length and pending reports per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from collections import Counter, deque
from collections.abc import Coroutine
from dataclasses import dataclass

import asyncssh
from confsched_agent import wire

from confsched.agentlink.admission import Pacer, Turns, say_busy
from confsched.agentlink.keys import ensure_host_key, public_text
from confsched.agentlink.session import AgentSession
from confsched.server import ServerContext
from confsched.services.health import HealthBoard, HealthService
from confsched.store.health import KEYS_AREA, active_keys, key_status

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int = 20000
    max_unauthenticated: int = 256
    """Logins in their handshake at once; the next waits for a place or is told when to come
    back (not refused)."""
    max_unauthenticated_per_source: int = 64
    """Logins in flight (or waiting) from one address: a quarter of ``max_unauthenticated``, so
    one address cannot hold every place; agents behind one NAT beyond it are told when to come
    back, like any crowd (and counted as ``too_many_from_address``)."""
    listen_backlog: int = 512
    """The kernel's queue, for the moments the accept loop is not running: connections are
    taken from it as they come and judged here, where the queue's length is known."""
    max_wait: float = 15.0
    """Longest a connection waits in memory for a handshake place; one that waited longer is
    told when to come back instead (agents give up a login after 30 s)."""
    login_timeout: float = 6.0
    """Grace from TCP accept to authenticated: a slow-loris connection frees its place soon."""
    keepalive_interval: int = 30
    """Idle seconds before the kernel probes an agent's connection (TCP keepalive, see
    :func:`_keep_alive`), then every ``keepalive_interval // 3`` s."""
    keepalive_count_max: int = 3
    """Unanswered probes after which the connection is dropped: a vanished agent (power cut,
    cable out) is gone within ``keepalive_interval * 2`` s."""
    window: int = 256 * 1024
    """SSH channel window: bytes an agent may send ahead of our reading."""


CLOSE_WORDS = {
    "revoked": "closed by the scheduler: key revoked",
    "garbage": "closed by the scheduler: garbage on the channel",
}


def _lost_reason(exc: Exception | None) -> str:
    """A disconnect in words: the agent hung up, or the connection broke (and how)."""
    if exc is None:
        return "closed by the agent"
    return f"connection lost: {str(exc)[:80] or type(exc).__name__}"


class _Login(asyncssh.SSHServer):
    """One incoming connection, from TCP accept to the end of its agent session."""

    def __init__(self, link: AgentLink) -> None:
        self._link = link
        self._conn: asyncssh.SSHServerConnection | None = None
        self._allowed: str | None = None
        self._refusal: str | None = None
        self.endpoint: str | None = None
        self.key_text: str | None = None
        self.session: AgentSession | None = None
        self.close_reason: str | None = None
        """Why the scheduler closed this connection, in words (None: it did not)."""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._link.connection_opened(self)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.endpoint is None and self._refusal is not None:
            self._link.board.logins_refused[self._refusal] += 1
        self._link.connection_closed(self, self.close_reason or _lost_reason(exc))

    # -- authentication: public keys only ---------------------------------------------------------

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def begin_auth(self, username: str) -> bool:
        self._allowed, self._refusal = None, None
        if username not in self._link.ctx.fleet.endpoints:
            self._refusal = "unknown_endpoint"
            return True
        status = await self._link.ctx.store.read(key_status, username)
        if status is None:
            self._refusal = "not_enrolled"
        elif status.revoked_at is not None:
            self._refusal = "revoked"
        else:
            self._allowed = status.public_key
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self._allowed is None:
            return False
        if public_text(key) != self._allowed:
            self._refusal = "wrong_key"
            return False
        self.key_text = self._allowed
        return True

    def auth_completed(self) -> None:
        if self._conn is not None:
            self.endpoint = self._conn.get_extra_info("username")
            self._link.logged_in(self, self.endpoint)

    # -- channels: exactly one session, nothing else ----------------------------------------------

    def session_requested(self) -> AgentSession | bool:
        if self.endpoint is None or self.session is not None:
            return False
        self.session = AgentSession(self._link, self.endpoint)
        return self.session


class AgentLink:
    """Every live agent, and the way to reach one (self-test, close)."""

    def __init__(
        self,
        ctx: ServerContext,
        service: HealthService,
        limits: Limits = Limits(),
    ) -> None:
        self.ctx = ctx
        self.service = service
        self.board: HealthBoard = service.board
        self.limits = limits
        self.agents: dict[str, _Login] = {}
        self._open: set[_Login] = set()
        self._command_ids = itertools.count(1)
        self._interval = ctx.fleet.report_interval
        self._in_handshake = 0
        self._from: Counter[str] = Counter()
        """Connections per source address, from accept to authenticated (or gone)."""
        self._waiting: deque[tuple[socket.socket, str, float]] = deque()
        """Accepted connections waiting for a handshake place: socket, source, since when."""
        self.pacer = Pacer(limits.max_unauthenticated, longest=limits.login_timeout + 2.0)
        self._progress = 0.0
        """Loop time a handshake last started or ended: a scheduler that does neither while
        agents wait is stalled, and the pacer hears of it."""
        self._source_turns: dict[str, Turns] = {}
        """Times handed to agents of an address over its share (forgotten with its last one)."""
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        """Handshakes and door answers under way (cancelled on close)."""
        self.port = 0
        """The bound SSH port, once started (the configured one may be 0: any free port)."""

    @property
    def connected(self) -> int:
        return len(self.agents)

    @property
    def unauthenticated(self) -> int:
        """Connections accepted and not logged in yet (in their handshake or waiting for it)."""
        return self._in_handshake + len(self._waiting)

    async def start(self) -> None:
        """Listen for agents on the configured address; close revoked keys' connections."""
        settings = self.ctx.settings
        self.port = await self.listen(settings.ssh_host, settings.ssh_port)
        self.ctx.on_change(self._on_change)

    async def stop(self) -> None:
        await self.close()

    async def _on_change(self, areas: set[str]) -> None:
        if KEYS_AREA in areas:
            await self.enforce_keys()
        if "inventory" in areas and self.ctx.fleet.report_interval != self._interval:
            self.interval_changed()

    def interval_changed(self) -> int:
        """The fleet file's ``report_interval`` changed: judge silence by it and tell every
        connected agent (``set_interval``), which reports at the new pace from then on.
        Returns how many agents were told."""
        self._interval = interval = self.ctx.fleet.report_interval
        self.board.default_interval = interval
        seconds = interval.total_seconds()
        return sum(self.set_interval(endpoint, seconds) for endpoint in list(self.agents))

    async def listen(self, host: str, port: int) -> int:
        """Bind ``host:port`` and take connections from its queue as handshake places free up."""
        host_key = ensure_host_key(self.ctx.settings.data_dir)
        self._options = asyncssh.SSHServerConnectionOptions(
            server_factory=lambda: _Login(self),
            server_host_keys=[host_key],
            encoding=None,
            allow_pty=False,
            line_editor=False,  # binary lines, no terminal: the editor's wrapper only costs
            x11_forwarding=False,
            agent_forwarding=False,
            sftp_factory=None,
            allow_scp=False,
            keepalive_interval=0,  # the kernel's TCP keepalive instead (see _keep_alive)
            login_timeout=self.limits.login_timeout,
            window=self.limits.window,
            server_version="confsched",  # the banner names no library version to probe for
            kex_algs=wire.KEX_ALGS,
            gss_host=None,  # no GSS (else asyncssh looks up this host's FQDN at every login)
        )
        self._listener = _listening_socket(host, port, self.limits.listen_backlog)
        self._accepting = asyncio.create_task(self._accept(self._listener))
        return int(self._listener.getsockname()[1])

    async def _accept(self, listener: socket.socket) -> None:
        """Take every connection as it comes; ``_arrived`` decides what becomes of it."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, peer = await loop.sock_accept(listener)
            except OSError as exc:  # out of descriptors, say: wait, then try again
                log.warning("cannot accept an agent connection: %s", exc)
                await asyncio.sleep(0.5)
                continue
            self._arrived(sock, str(peer[0]))

    def _arrived(self, sock: socket.socket, source: str) -> None:
        """A handshake place if one is free, else a place in the waiting room, else the door
        with a time to come back. One address never holds more than its share of either."""
        now = asyncio.get_running_loop().time()
        if self._from[source] >= self.limits.max_unauthenticated_per_source:
            self.board.logins_refused["too_many_from_address"] += 1
            self._track(say_busy(sock, self._source_turn(source, now)))
            return
        if self._in_handshake < self.limits.max_unauthenticated:
            self._from[source] += 1
            self._start(sock, source)
        elif len(self._waiting) < self.pacer.room(now=now):
            self._from[source] += 1
            self._waiting.append((sock, source, now))
        else:
            self._defer(sock, now)

    def _defer(self, sock: socket.socket, now: float) -> None:
        """Tell the agent on ``sock`` when its turn will come, at the pace logins complete."""
        self.board.logins_deferred += 1
        ahead = self._in_handshake + len(self._waiting)
        self._track(say_busy(sock, self.pacer.appointment(now, ahead, now - self._progress)))

    def _source_turn(self, source: str, now: float) -> float:
        """A time for an agent of an address over its share (agents behind one NAT), on that
        address's own schedule: its places complete at its share of the pace. One address
        knocking in a loop pushes back only its own agents' times, never the fleet's."""
        turns = self._source_turns.setdefault(source, Turns())
        step = self.pacer.seconds(now - self._progress) / self.limits.max_unauthenticated_per_source
        return turns.take(now, self._from[source] * step, step)

    def _start(self, sock: socket.socket, source: str) -> None:
        _keep_alive(sock, self.limits.keepalive_interval, self.limits.keepalive_count_max)
        self._in_handshake += 1
        self._progress = now = asyncio.get_running_loop().time()
        self._track(self._handshake(sock, source, now))

    def _track(self, work: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handshake(self, sock: socket.socket, source: str, started: float) -> None:
        """One login from accept to authenticated (or refused), holding a place meanwhile; the
        place goes to the next waiting connection after the login grace (and a little) at the
        latest, whatever asyncssh does."""
        try:
            async with asyncio.timeout(self.limits.login_timeout + 2.0):
                await asyncssh.run_server(sock, options=self._options)
        except (OSError, asyncssh.Error, TimeoutError):
            pass  # refused, timed out or hung up: counted by _Login, nothing to do here
        finally:
            self._in_handshake -= 1
            self._gone(source)
            self._progress = now = asyncio.get_running_loop().time()
            self.pacer.completed(now - started, now)
            self._next_waiting(now)

    def _next_waiting(self, now: float) -> None:
        """Free places to the connections waiting longest; those that waited past ``max_wait``
        are told to come back instead (their agents would give up during the handshake)."""
        while self._waiting and self._in_handshake < self.limits.max_unauthenticated:
            sock, source, since = self._waiting.popleft()
            if now - since <= self.limits.max_wait:
                self._start(sock, source)
            else:
                self._gone(source)
                self._defer(sock, now)

    def _gone(self, source: str) -> None:
        self._from[source] -= 1
        if self._from[source] <= 0:
            del self._from[source]
            self._source_turns.pop(source, None)

    async def close(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        if self._listener is not None:
            self._listener.close()
        for sock, _source, _since in self._waiting:
            sock.close()
        self._waiting.clear()
        for task in list(self._tasks):
            task.cancel()
        for login in list(self._open):
            login.close()
        for _ in range(50):  # give the transports a moment to go
            if not self._open:
                break
            await asyncio.sleep(0.02)

    # -- bookkeeping, called by _Login ------------------------------------------------------------

    def connection_opened(self, login: _Login) -> None:
        self._open.add(login)
        if len(self._open) > self.limits.max_connections:
            login._refusal = "too_many_connections"
            login.close()

    def logged_in(self, login: _Login, endpoint: str) -> None:
        self.board.logins_accepted += 1
        self.board.disconnects.pop(endpoint, None)
        old = self.agents.get(endpoint)
        self.agents[endpoint] = login
        if old is not None and old is not login:
            self.board.connections_closed["replaced"] += 1
            old.close()

    def connection_closed(self, login: _Login, reason: str) -> None:
        self._open.discard(login)
        if login.endpoint is not None and self.agents.get(login.endpoint) is login:
            del self.agents[login.endpoint]
            self.board.disconnects[login.endpoint] = reason

    def session_closed(self, session: AgentSession) -> None:
        login = self.agents.get(session.endpoint)
        if login is not None and login.session is session:
            login.close()

    # -- acting on agents -------------------------------------------------------------------------

    def close_endpoint(self, endpoint: str, reason: str) -> bool:
        login = self.agents.get(endpoint)
        if login is None:
            return False
        self.board.connections_closed[reason] += 1
        login.close_reason = CLOSE_WORDS.get(reason, reason)
        login.close()
        return True

    async def enforce_keys(self) -> None:
        """Close every live connection whose key is no longer the endpoint's active key."""
        active = await self.ctx.store.read(active_keys)
        for endpoint, login in list(self.agents.items()):
            if active.get(endpoint) != login.key_text:
                log.info("%s: key revoked or replaced, closing its connection", endpoint)
                self.close_endpoint(endpoint, "revoked")

    async def selftest(self, endpoint: str, timeout: float = 30.0) -> wire.SelftestResult | None:
        """Ask one agent to test itself now; None if it is not connected or does not answer."""
        login = self.agents.get(endpoint)
        session = login.session if login is not None else None
        if session is None or session.closed:
            return None
        command = wire.Command(next(self._command_ids), "selftest")
        future: asyncio.Future[wire.SelftestResult] = asyncio.get_running_loop().create_future()
        session.selftests[command.id] = future
        session.send(command)
        try:
            return await asyncio.wait_for(future, timeout)
        except (TimeoutError, ConnectionError):
            return None
        finally:
            session.selftests.pop(command.id, None)

    def set_interval(self, endpoint: str, seconds: float) -> bool:
        login = self.agents.get(endpoint)
        if login is None or login.session is None:
            return False
        login.session.send(wire.Command(next(self._command_ids), "set_interval", seconds))
        return True


def _keep_alive(sock: socket.socket, idle: int, count: int) -> None:
    """Let the kernel find dead agents: after ``idle`` s without a packet it probes the
    connection every ``idle // 3`` s and drops it after ``count`` unanswered probes (or when
    data sent stays unacknowledged that long), which asyncssh sees as a lost connection.

    This replaces asyncssh's own keepalive, which re-armed an event-loop timer (a cancel and
    a new heap entry) at every packet an agent sent: about 7 us of the scheduler's CPU per
    report, 6 % of ingest. What the kernel cannot see is an agent process that hangs while
    its host stays up; its room shows offline from its silence as before, and its connection
    is replaced when it logs in again. The agents keep their own SSH keepalive (they must
    notice a scheduler that stopped answering)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    interval = max(1, idle // 3)
    for option, value in (
        ("TCP_KEEPIDLE", idle),
        ("TCP_KEEPINTVL", interval),
        ("TCP_KEEPCNT", count),
        # the same bound while an ack we sent waits unacknowledged (probes only start on an
        # idle connection; without it the kernel would retransmit for a quarter of an hour)
        ("TCP_USER_TIMEOUT", 1000 * (idle + count * interval)),
    ):
        if hasattr(socket, option):  # Linux has them all; elsewhere the system's defaults
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def _listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening socket on ``host`` (a name is resolved; "" or "::" is every
    address, IPv4 too where the system allows)."""
    every = host in ("", "::")
    family = socket.AF_INET6 if every and socket.has_dualstack_ipv6() else socket.AF_INET
    if not every:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, address = info[0][0], info[0][4][0]
    else:
        address = "" if family == socket.AF_INET6 else "0.0.0.0"
    sock = socket.create_server(
        (address, port),
        family=family,
        backlog=backlog,
        dualstack_ipv6=every and family == socket.AF_INET6,
    )
    sock.setblocking(False)
    return sock
