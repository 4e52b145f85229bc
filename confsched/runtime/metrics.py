"""The running scheduler as a metrics source: what a scrape reads, and the booking refresher.

A scrape reads, with no I/O (the handler runs on the event loop):

* the health board: its ``latest`` dict is read as is — no copy — and its counters become the
  ``_total`` families;
* the booking snapshot, refreshed in the background by a :class:`BookingRefresher` that this
  component runs (``start`` / ``stop``); it carries the booking refusals the store counted
  (the CLI's in another process as well as the API's) and the forecast of the sessions within
  24 h (``confsched_endpoint_at_risk``, ``confsched_sessions_at_risk``), made from a still copy
  of the board at each refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime

from confsched import __version__
from confsched.metrics.booking import BookingRefresher, RiskSource, booking_snapshot
from confsched.metrics.exporter import MetricsExporter
from confsched.metrics.families import ScrapeInput
from confsched.metrics.sources import BookingSnapshot, HealthCounters, StoreStatus
from confsched.runtime.looplag import LoopLagProbe
from confsched.server import ServerContext
from confsched.services.health import HealthBoard


class LiveMetrics:
    """Reads a running scheduler for the exporter; owns the booking refresher."""

    def __init__(
        self,
        ctx: ServerContext,
        board: HealthBoard,
        looplag: LoopLagProbe | None = None,
        refresh_seconds: float | None = None,
    ) -> None:
        self.ctx = ctx
        self.board = board
        self.looplag = looplag
        kwargs = {} if refresh_seconds is None else {"interval": refresh_seconds}
        self.booking = BookingRefresher(self._read_booking, **kwargs)
        self.exporter = MetricsExporter(self.read)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.ctx.on_change(self.booking.changed)
        self._task = asyncio.create_task(self.booking.run(), name="metrics-booking")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _read_booking(self, now: datetime) -> BookingSnapshot:
        return await self.ctx.store.read(booking_snapshot, now, self._risk_source())

    def _risk_source(self) -> RiskSource:
        """The fleet and a still copy of the board (two dict copies on the event loop; the
        aging and the forecast run on the store's thread, where the board must not move)."""
        board = self.board
        still = HealthBoard(
            board.default_interval,
            board.thresholds,
            dict(board.latest),
            restart=board.restart,
            disconnects=dict(board.disconnects),
        )
        return RiskSource(self.ctx.fleet, still)

    def read(self) -> ScrapeInput:
        board = self.board
        return ScrapeInput(
            now=time.time(),
            fleet=self.ctx.fleet,
            health=board.latest,
            counters=HealthCounters(
                reports_accepted=board.reports_accepted,
                reports_rejected=dict(board.reports_rejected),
                logins_refused=dict(board.logins_refused),
                logins_deferred=board.logins_deferred,
            ),
            booking=self.booking.snapshot,
            refusals=self.booking.snapshot.refusals,
            version=__version__,
            default_interval=board.default_interval,
            limits=board.thresholds,
            restart=board.restart,
            store=self._store_status(),
            loop_lag_seconds=self.looplag.recent if self.looplag is not None else 0.0,
        )

    def _store_status(self) -> StoreStatus:
        faults = self.ctx.store.faults
        fault = faults.fault
        return StoreStatus(
            fault=fault.reason if fault else "",
            fault_since=fault.since if fault else 0.0,
            write_failures=dict(faults.failures),
        )
