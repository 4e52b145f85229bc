"""One agent's session channel on the scheduler: parse lines, judge reports, answer.

The endpoint is the one the SSH key authenticated, never what a line claims: a report naming
another endpoint is refused. Every refused line is counted by reason and answered with a
``reject`` (carrying the report's seq when known, so the agent drops it); the connection stays
up unless it sends nothing but garbage. Reading pauses while too many of this agent's reports
wait for the store, so one fast agent cannot fill the scheduler's memory, and while the health
service is crowded (too many of every agent's reports wait), so what the scheduler has read is
acknowledged soon; the rest waits on the agent's side.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Protocol

import asyncssh
from confsched_agent import wire

from confsched.domain.health import Observation, judge
from confsched.domain.model import CallState
from confsched.services.health import HealthBoard, HealthService
from confsched.store.health import StoredHealth

log = logging.getLogger(__name__)

MAX_PENDING = 2048
"""Reports of one connection waiting for the store before its reading pauses."""
MAX_BAD_LINES = 100
"""Refused lines after which a connection is taken for garbage and closed."""


class Link(Protocol):
    """What a session needs of the agent link (``AgentLink``), which creates the sessions."""

    board: HealthBoard
    service: HealthService

    def session_closed(self, session: AgentSession) -> None: ...

    def close_endpoint(self, endpoint: str, reason: str) -> bool: ...


class AgentSession(asyncssh.SSHServerSession):
    def __init__(self, link: Link, endpoint: str) -> None:
        self._link = link
        self.endpoint = endpoint
        self._lines = wire.LineSplitter()
        self._chan: asyncssh.SSHServerChannel | None = None
        self._pending = 0
        self._paused = False
        """Paused for this session's own pending reports (``MAX_PENDING``)."""
        self._waiting = False
        """Paused until the health service has room (``HealthService.wait_for_room``)."""
        self._held: list[bytes] = []
        """Bytes that came while the service was crowded, read once it has room."""
        self.bad_lines = 0
        self.instance = ""
        """The agent's life, from its hello ('' until then, and for agents that send none)."""
        self.selftests: dict[int, asyncio.Future[wire.SelftestResult]] = {}
        self.closed = False

    # -- asyncssh callbacks -----------------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self._chan = chan

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False

    def data_received(self, data: bytes, datatype: object) -> None:
        if self._held or (self._link.service.crowded and self._chan is not None):
            self._hold(data)
            return
        self._read(data)

    def _hold(self, data: bytes) -> None:
        """The health service is crowded: keep these bytes unread until it has room (what the
        agent sends meanwhile waits in asyncssh's buffer and the agent's SSH window), so that
        no session adds to the queue past its mark, however many sessions there are."""
        self._held.append(data)
        if not self._waiting and self._chan is not None and not self.closed:
            self._waiting = True
            if not self._paused:
                self._chan.pause_reading()
            self._link.service.wait_for_room(self._room)

    def _room(self) -> None:
        """The health service has room again: read what was held, then read on (unless our
        own limit holds us; a crowded service again holds what comes next)."""
        self._waiting = False
        held, self._held = self._held, []
        if self.closed or self._chan is None:
            return
        for data in held:
            self._read(data)
        if not self._paused:
            self._chan.resume_reading()

    def _read(self, data: bytes) -> None:
        received_at = datetime.now(UTC)
        for line in self._lines.feed(data):
            if isinstance(line, wire.WireError):
                self._refuse(line)
                continue
            try:
                msg = wire.decode(line)
            except wire.WireError as exc:
                self._refuse(exc)
                continue
            if isinstance(msg, wire.Report):
                self._take_report(msg, received_at)
            elif isinstance(msg, wire.Hello):
                self.instance = msg.instance
            elif isinstance(msg, wire.SelftestResult):
                self._take_selftest(msg)
            else:
                kind = type(msg).__name__.lower()
                self._refuse(wire.WireError("unexpected", f"agents do not send {kind}"))

    def eof_received(self) -> bool:
        return False  # the agent is done: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for future in self.selftests.values():
            if not future.done():
                future.set_exception(ConnectionResetError("the agent disconnected"))
        self._link.session_closed(self)

    # -- reports ----------------------------------------------------------------------------------

    def _take_report(self, report: wire.Report, received_at: datetime) -> None:
        if report.endpoint is not None and report.endpoint != self.endpoint:
            detail = f"this key belongs to {self.endpoint}, not {report.endpoint}"
            self._refuse(wire.WireError("wrong_endpoint", detail, report.seq))
            return
        obs = Observation(
            self.endpoint,
            received_at,
            {name: c.ok for name, c in report.checks.items()},
            {name: c.detail for name, c in report.checks.items() if c.detail},
            report.measurements,
            call=CallState(report.call.active, report.call.remote) if report.call else None,
        )
        board = self._link.board
        health = judge(obs, board.thresholds)
        interval = report.interval or board.default_interval.total_seconds()
        stored = StoredHealth(health, report.seq, report.time, interval, self.instance)
        self._link.service.submit(stored, self)
        self._pending += 1
        if self._pending >= MAX_PENDING and not self._paused and self._chan is not None:
            self._paused = True
            if not self._waiting:
                self._chan.pause_reading()

    def acked(self, seq: int, count: int) -> None:
        """Called by the health service once a batch holding our reports committed."""
        self._pending -= count
        if self.closed or self._chan is None:
            return
        self._chan.write(wire.encode_ack(seq))
        if self._paused and self._pending < MAX_PENDING // 2:
            self._paused = False
            if not self._waiting:
                self._chan.resume_reading()

    def refused(self, seq: int, reason: str, detail: str) -> None:
        """The store refused one of our reports for good: the agent drops it from its spool
        (the ack that follows covers the rest of the batch, not this one)."""
        if self.closed or self._chan is None:
            return
        self._chan.write(wire.encode(wire.Reject(reason, detail[: wire.MAX_DETAIL], seq)))

    def _take_selftest(self, result: wire.SelftestResult) -> None:
        future = self.selftests.pop(result.id, None)
        if future is not None and not future.done():
            future.set_result(result)

    # -- commands ---------------------------------------------------------------------------------

    def send(self, command: wire.Command) -> None:
        if self._chan is not None and not self.closed:
            self._chan.write(wire.encode(command))

    # -- refusals ---------------------------------------------------------------------------------

    def _refuse(self, error: wire.WireError) -> None:
        self._link.board.reports_rejected[error.reason] += 1
        self.bad_lines += 1
        log.info("%s: refused a line: %s", self.endpoint, error)
        if self._chan is None or self.closed:
            return
        self._chan.write(wire.encode(wire.Reject(error.reason, error.detail[:200], error.seq)))
        if self.bad_lines >= MAX_BAD_LINES:
            log.warning("%s: %d bad lines, closing its connection", self.endpoint, self.bad_lines)
            self._link.close_endpoint(self.endpoint, "garbage")
