"""Health use cases: take judged reports, store them in batches, keep the board current.

The :class:`HealthBoard` (``services.health_board``, without asyncio for the CLI's sake) is the
in-memory picture every reader uses (API, metrics, console, readiness) without touching SQLite:
the latest stored state per endpoint, plus the counters the metrics export. The
:class:`HealthService` owns the write path: reports queue up while the previous batch is being
written (group commit), so one transaction carries as many reports as arrived meanwhile — one
report alone when the fleet is quiet, thousands during a reconnect storm.
A report is acknowledged to its agent only after its batch committed.

Commits are bounded (:data:`MAX_BATCH` reports), and so is what waits for them: once
:data:`QUEUE_HIGH` reports wait, a session that brings more pauses its reading
(:meth:`HealthService.wait_for_room`) and is resumed, one at a time and oldest first, as the
queue drains. The rest of a saturated fleet's backlog waits in the agents' spools and SSH
windows, not here, so a report the scheduler has read is acknowledged within a few commits
(a commit of 5,000 reports held every ack behind it for seconds).

When the store cannot write (a full disk, an I/O error, a lock held too long) the writer keeps
the batch, tries again every second with a small slice of it (a disk with a megabyte free takes
that, where a 500-report transaction might not), logs one line a minute, and acknowledges
nothing meanwhile: the agents keep their reports spooled, their windows fill and they wait.
The board still shows the reports as they arrive, so connected rooms do not turn offline
because the disk is full. A batch the store refuses for its content is split until the
report at fault is found: that one is refused to its agent and counted (``unstorable``), the
rest are stored; nothing is retried forever.

Counters on the board (read by the metrics collector):
  ``reports_accepted``           reports stored
  ``reports_duplicate``          resent reports already stored (acknowledged, not stored twice)
  ``reports_rejected[reason]``   lines refused: not_json, bad_version, bad_type, bad_field,
                                 too_long, wrong_endpoint, unexpected, unstorable
  ``logins_accepted``            SSH logins accepted
  ``logins_refused[reason]``     SSH logins refused: unknown_endpoint, not_enrolled, revoked,
                                 wrong_key, too_many_connections, too_many_from_address
  ``logins_deferred``            connections told at the door when to come back (a crowd)
  ``connections_closed[reason]`` live connections the scheduler closed: revoked, replaced,
                                 garbage
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlite_utils

from confsched.domain.retention import Retention
from confsched.errors import NotFound, StoreUnavailable
from confsched.services.health_board import HealthBoard, load_board, restart_of
from confsched.store.faults import CONTENT_ERRORS
from confsched.store.health import StoredHealth, revoke_key, save_health
from confsched.store.health_history import HistoryKeeper
from confsched.store.inventory import load_fleet

__all__ = ["AckSink", "HealthBoard", "HealthService", "load_board", "restart_of", "revoke"]

log = logging.getLogger(__name__)

MAX_BATCH = 500
"""Reports per commit at most: one commit's time bounds the wait of the acks behind it."""
QUEUE_HIGH = 500
"""Reports waiting for a commit past which sessions pause their reading (see the module)."""
QUEUE_LOW = QUEUE_HIGH // 2
"""Waiting reports below which paused sessions are resumed."""
PROBE_BATCH = 50
"""Reports tried at once while the store is faulted: small enough for a nearly full disk."""
ACKS_PER_TURN = 100
"""Acks sent before the writer gives the event loop a turn: each is an SSH packet to encrypt
and send, and a commit's 500 held the loop for tens of milliseconds in one stretch."""
RETRY_SECONDS = 1.0
LOG_EVERY_SECONDS = 60.0
"""While the store stays faulted, the writer says so once a minute, not at every retry."""


class AckSink(Protocol):
    """Whoever sent a report: told, once per batch, the highest seq now durably stored and how
    many of its reports that acknowledgement covers; told first of any report the store refused
    for good (it will never be acknowledged)."""

    def acked(self, seq: int, count: int) -> None: ...

    def refused(self, seq: int, reason: str, detail: str) -> None: ...


@dataclass(slots=True)
class _Pending:
    item: StoredHealth | None  # None: a duplicate, acknowledged in order but not stored
    sink: AckSink
    seq: int
    taken_at: float
    """Monotonic time the report was submitted (for ``observe_ack``)."""


class HealthService:
    """The write path: ``submit`` judged reports, get them stored and acknowledged in order."""

    def __init__(
        self,
        board: HealthBoard,
        write: Callable[..., object],
        *,
        retention: Callable[[], Retention] = Retention,
        observe_delay: Callable[[float], None] | None = None,
    ) -> None:
        self.board = board
        self._write = write  # StoreRunner.write
        self._keeper = HistoryKeeper(limits=board.thresholds)
        self._retention = retention
        """The fleet's ``health_history:`` windows, asked before each write (a re-import may
        change them)."""
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._accepted: dict[str, StoredHealth] = dict(board.latest)
        self.observe_delay = observe_delay
        """Called with each stored report's report-to-visible delay in seconds (benchmarks)."""
        self.observe_ack: Callable[[float], None] | None = None
        """Called with each report's wait from submit to acknowledgement in seconds."""
        self._waiting: deque[Callable[[], None]] = deque()
        """Paused sessions' resume callbacks, oldest first (see ``wait_for_room``)."""
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.pending_high_water = 0
        self.faulted_since: float | None = None
        """Monotonic time the current store fault began (None: the store writes)."""
        self._logged_at = 0.0
        self._slice = MAX_BATCH
        """Reports tried per transaction now (smaller after a fault, see ``_store``)."""

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._writer(), name="health-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def is_duplicate(self, item: StoredHealth) -> bool:
        """A resent report (its ack was lost), already taken: acknowledged but not stored twice.

        Within one life of the agent (the same hello instance) seq numbers only grow, so a seq
        at or below the last taken one is a resend. A report of another life never is, however
        its seq and clock compare. Only when neither side named its life (agents without a
        hello) do seq and time together stand in for it.
        """
        last = self._accepted.get(item.health.endpoint)
        if last is None:
            return False
        if item.instance or last.instance:
            return item.instance == last.instance and item.seq <= last.seq
        return item.seq <= last.seq and item.report_time <= last.report_time

    @property
    def crowded(self) -> bool:
        """Enough reports wait for the store that whoever brings more should wait first.

        Never while the store is faulted: then the reports read keep the board current (the
        per-session bound still caps them), and the rooms do not turn offline meanwhile."""
        return len(self._queue) >= QUEUE_HIGH and self.faulted_since is None

    def wait_for_room(self, resume: Callable[[], None]) -> None:
        """Call ``resume()`` once the queue has room again (after those already waiting)."""
        self._waiting.append(resume)

    def _admit(self) -> None:
        """Resume paused sessions one at a time while the queue is short: a resumed session
        delivers what it buffered at once and pauses again if that fills the queue."""
        while self._waiting and (len(self._queue) < QUEUE_LOW or self.faulted_since is not None):
            self._waiting.popleft()()

    def submit(self, item: StoredHealth, sink: AckSink) -> None:
        """Queue a judged report; ``sink.acked`` follows once it is durably stored."""
        now = time.monotonic()
        if self.is_duplicate(item):
            self._queue.append(_Pending(None, sink, item.seq, now))
        else:
            self._accepted[item.health.endpoint] = item
            self._queue.append(_Pending(item, sink, item.seq, now))
            if self.faulted_since is not None:
                self._show([item])
        self._wakeup.set()

    async def _writer(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                self.pending_high_water = max(self.pending_high_water, len(batch))
                self._admit()
                await asyncio.sleep(0)  # the resumed sessions' reads were a stretch already
                await self._write_batch(batch)

    async def _write_batch(self, batch: list[_Pending]) -> None:
        items = [p.item for p in batch if p.item is not None]
        refused = await self._store(items)
        self.batches += 1
        self._publish([item for item in items if id(item) not in refused])
        highest: dict[int, tuple[AckSink, int, int]] = {}
        for pending in batch:
            if pending.item is not None and id(pending.item) in refused:
                pending.sink.refused(pending.seq, "unstorable", refused[id(pending.item)])
            key = id(pending.sink)
            _, seq, count = highest.get(key, (pending.sink, 0, 0))
            highest[key] = (pending.sink, max(seq, pending.seq), count + 1)
        for n, (sink, seq, count) in enumerate(highest.values(), 1):
            sink.acked(seq, count)
            if n % ACKS_PER_TURN == 0:
                await asyncio.sleep(0)  # let reads and requests in between the acks
        if self.observe_ack is not None:
            now = time.monotonic()
            for pending in batch:
                self.observe_ack(now - pending.taken_at)
        self.board.reports_duplicate += len(batch) - len(items)
        if refused:
            self.board.reports_rejected["unstorable"] += len(refused)

    async def _store(self, items: list[StoredHealth]) -> dict[int, str]:
        """Store ``items``, waiting out store faults; returns id → why for those refused.

        Slices go in order: whole while the store is well, :data:`PROBE_BATCH` after a fault
        and doubling with each success (a nearly full disk takes small transactions first),
        halves around a report the store refuses for its content.
        """
        refused: dict[int, str] = {}
        pos = 0
        while pos < len(items):
            chunk = items[pos : pos + self._slice]
            self._keeper.retention = self._retention()
            try:
                await self._write(save_health, chunk, self._keeper)  # type: ignore[misc]
            except StoreUnavailable as exc:
                self._faulted(exc, items[pos:])
                self._slice = PROBE_BATCH
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except CONTENT_ERRORS as exc:
                if len(chunk) > 1:
                    self._slice = (len(chunk) + 1) // 2
                    continue
                refused[id(chunk[0])] = f"the store refused this report: {exc}"[:200]
                log.warning(
                    "%s: report seq %d refused by the store: %s",
                    chunk[0].health.endpoint,
                    chunk[0].seq,
                    exc,
                )
            else:
                self._recovered()
            pos += len(chunk)
            self._slice = min(MAX_BATCH, self._slice * 2)
        return refused

    def _faulted(self, exc: StoreUnavailable, waiting: list[StoredHealth]) -> None:
        now = time.monotonic()
        if self.faulted_since is None:
            self.faulted_since = now
            self._show(waiting)
            self._admit()  # no pausing while faulted: the board keeps what arrives
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            self._logged_at = now
            log.warning(
                "%s; %d reports wait unacknowledged (the agents keep theirs), retrying every %g s",
                exc,
                len(waiting) + len(self._queue),
                RETRY_SECONDS,
            )

    def _recovered(self) -> None:
        if self.faulted_since is not None:
            log.warning(
                "the store writes again after %.1f s", time.monotonic() - self.faulted_since
            )
            self.faulted_since = None
            self._logged_at = 0.0

    def _show(self, items: list[StoredHealth]) -> None:
        """Put reports on the board before they are stored (the store is faulted): the rooms'
        state stays current, acknowledgement still waits for the commit."""
        for item in items:
            self.board.latest[item.health.endpoint] = item
        self.board.version += 1

    def _publish(self, items: list[StoredHealth]) -> None:
        latest = self.board.latest
        for item in items:
            latest[item.health.endpoint] = item
        self.board.reports_accepted += len(items)
        self.board.version += 1
        if self.observe_delay is not None and items:
            now = time.time()
            for item in items:
                self.observe_delay(now - item.report_time.timestamp())


def revoke(db: sqlite_utils.Database, endpoint: str, now: datetime) -> bool:
    """Cut the endpoint's agent off: its next login fails, a running server closes it now."""
    fleet = load_fleet(db)
    if fleet is None or endpoint not in fleet.endpoints:
        raise NotFound("endpoint", endpoint)
    return revoke_key(db, endpoint, now)
