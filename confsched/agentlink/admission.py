"""Letting a crowd of agents in: the rate logins complete at, and the times handed to the excess.

When a whole fleet reconnects at once (the scheduler restarted), more agents knock than can
handshake at once. Holding them all (a deep listen queue) makes each wait past its own login
timeout; refusing them sends each into a blind backoff and they knock again together. Instead
the scheduler gives each agent it cannot take soon a time to come back: appointments spaced at
the rate logins are completing, after the ones already handed out, so the crowd returns as a
queue that the handshakes keep up with. The rate is measured, not configured: the same code
paces a big server and a small one, and a handshake slowed down by a loaded machine (or by
agents' own slow CPUs) lowers it by itself.

The door itself is a few bytes: the SSH identification line and an unencrypted
``SSH_MSG_DISCONNECT`` (code ``wire.BUSY_CODE``) whose description names the delay. No key
exchange, no crypto: turning 10,000 agents away costs the scheduler less than letting in 100.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import struct
from collections import deque

from confsched_agent import wire

BANNER = b"SSH-2.0-confsched\r\n"
"""The same identification line the SSH server sends (no library version to probe for)."""
MSG_DISCONNECT = 1


class Turns:
    """Times to come back, one after another at a pace, after every time handed out before."""

    def __init__(self) -> None:
        self._next = 0.0
        """The latest time handed out (loop time)."""

    def take(self, now: float, ahead: float, step: float, horizon: float = math.inf) -> float:
        """Seconds from ``now`` until the next free turn: at least ``ahead`` seconds away (those
        already let in go first), ``step`` after the previous turn, and never beyond
        ``horizon`` (the turns after it come together at the horizon)."""
        self._next = min(max(self._next, now + ahead) + step, now + horizon)
        return self._next - now


class Pacer:
    """The pace logins complete at when every handshake place is taken, and the appointments
    it gives to the agents that cannot be let in soon.

    The pace follows Little's law: with ``places`` handshakes under way at once and each taking
    ``seconds`` (smoothed over the last few dozen), logins complete at ``places / seconds``. A
    loaded scheduler has slower handshakes, so a lower pace, at once: no waiting for completions
    to be counted (the first completions of a crowd all come together after the first
    handshakes' long shared start, and would read as a trickle). A stalled one completes none:
    the time since the last one counts as a handshake's duration meanwhile, up to ``longest``
    (the login grace: no handshake holds its place longer). Times are seconds.

    The pace is never below the completions actually counted over the last ``counted_seconds``:
    the smoothed duration lags behind a crowd's first handshakes (long, sharing the CPU with
    the scheduler's own start), and an agent told to come back too late leaves its place idle,
    while one that comes too early is only told again (a few bytes).

    Before any handshake has completed, one is taken to last ``first_seconds``. That guess spaces
    the whole first crowd's appointments, so it leans fast (0.5 s: 512 logins a second with 256
    places, about what two cores complete): a guess of 2 s spaced a 10,000-agent cold start at
    128 a second, a quarter of what the handshakes could take (90.3 s all back), while one told to
    come too early only waits in the waiting room, which holds ``waiting_seconds`` of logins.

    No appointment is more than ``horizon`` seconds away. The pace a crowd's first seconds
    measure is the lowest of its reconnect (every handshake is starting together, the scheduler
    itself may be starting), and times spaced at it ran a minute and more ahead of what the
    handshakes took later: a cold start of 10,000 agents sat at 8,593 back for 14 s, places
    idle, its last agents waiting for times given 80 s before. An agent back at the horizon to
    a still-full scheduler is only told again, at the pace measured by then.
    """

    def __init__(
        self,
        places: int,
        *,
        first_seconds: float = 0.5,
        weight: float = 0.05,
        waiting_seconds: float = 10.0,
        longest: float = 8.0,
        counted_seconds: float = 2.0,
        horizon: float = 20.0,
    ) -> None:
        self.places = places
        self._seconds = first_seconds
        """Smoothed duration of one handshake, accept to done."""
        self._weight = weight
        self._waiting_seconds = waiting_seconds
        self._longest = longest
        self._turns = Turns()
        self._counted_seconds = counted_seconds
        self._done: deque[float] = deque()
        """When the handshakes of the last ``counted_seconds`` ended (loop time)."""
        self._horizon = horizon

    def seconds(self, stalled: float = 0.0) -> float:
        """How long one handshake takes now; ``stalled``: seconds since one last completed."""
        return max(self._seconds, min(stalled, self._longest))

    def rate(self, stalled: float = 0.0, now: float | None = None) -> float:
        """Logins per second the scheduler completes with every place taken (at ``now``, loop
        time: at least those counted over the last ``counted_seconds``)."""
        estimate = self.places / self.seconds(stalled)
        if now is None:
            return estimate
        while self._done and self._done[0] < now - self._counted_seconds:
            self._done.popleft()
        return max(estimate, len(self._done) / self._counted_seconds)

    def completed(self, seconds: float, now: float | None = None) -> None:
        """A handshake ended (logged in, refused or given up) after ``seconds`` in its place,
        at ``now`` (loop time)."""
        self._seconds += self._weight * (max(seconds, 1e-3) - self._seconds)
        if now is not None:
            self._done.append(now)

    def room(self, stalled: float = 0.0, now: float | None = None) -> int:
        """How many accepted connections may wait for a place: ``waiting_seconds`` of logins at
        the current pace (at least 32, at most 4,096), well within an agent's login timeout."""
        return max(32, min(4096, int(self.rate(stalled, now) * self._waiting_seconds)))

    def appointment(self, now: float, ahead: int, stalled: float = 0.0) -> float:
        """Seconds from ``now`` until an agent turned away now should come back: after the
        ``ahead`` connections already waiting or handshaking, and after everyone told before;
        never more than ``horizon`` seconds away."""
        step = 1.0 / self.rate(stalled, now)
        return self._turns.take(now, ahead * step, step, self._horizon)


def disconnect_packet(code: int, description: str) -> bytes:
    """An unencrypted SSH binary packet (RFC 4253 §6) carrying ``SSH_MSG_DISCONNECT``: what a
    server may send right after its identification line, before any key exchange."""
    text = description.encode()
    payload = struct.pack(f">BII{len(text)}sI", MSG_DISCONNECT, code, len(text), text, 0)
    padding = 8 - (len(payload) + 5) % 8
    if padding < 4:
        padding += 8
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)


async def say_busy(sock: socket.socket, seconds: float, linger: float = 2.0) -> None:
    """Tell the agent on ``sock`` to come back in ``seconds``, then close. The agent's own
    identification line is read and dropped until it hangs up (at most ``linger`` seconds):
    closing with its bytes unread would send a reset, which may destroy our answer unread."""
    loop = asyncio.get_running_loop()
    message = BANNER + disconnect_packet(wire.BUSY_CODE, wire.busy_text(seconds))
    try:
        with contextlib.suppress(OSError, TimeoutError):
            await loop.sock_sendall(sock, message)
            sock.shutdown(socket.SHUT_WR)
            async with asyncio.timeout(linger):
                while await loop.sock_recv(sock, 4096):
                    pass
    finally:
        sock.close()
