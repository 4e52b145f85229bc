"""The running scheduler as a metrics source: what a scrape reads from the ``ServerContext``.

Components are looked up at every scrape (a dict lookup), so the order in which they start does
not matter and a component that is not part of the build simply contributes nothing:

* ``ctx.components["health_board"]``: the health board (``confsched.services.health``); its
  ``latest`` dict is read as is — no copy — and its counters become the ``_total`` families.
* the booking snapshot, refreshed in the background by :class:`BookingRefresher`; it carries
  the booking refusals the store counted (the CLI's in another process as well as the API's).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from confsched import __version__
from confsched.domain import health as judge
from confsched.metrics.booking import BookingRefresher, booking_snapshot
from confsched.metrics.families import ScrapeInput
from confsched.metrics.sources import EMPTY_COUNTERS, BookingSnapshot, HealthCounters
from confsched.server import ServerContext


class LiveSource:
    """Reads a running scheduler for the exporter; owns the booking refresher."""

    def __init__(self, ctx: ServerContext, refresh_seconds: float | None = None) -> None:
        self.ctx = ctx
        kwargs = {} if refresh_seconds is None else {"interval": refresh_seconds}
        self.booking = BookingRefresher(self._read_booking, **kwargs)
        ctx.on_change(self.booking.changed)

    async def _read_booking(self, now: datetime) -> BookingSnapshot:
        return await self.ctx.store.read(booking_snapshot, now)

    def read(self) -> ScrapeInput:
        ctx = self.ctx
        board = ctx.components.get("health_board")
        return ScrapeInput(
            now=time.time(),
            fleet=ctx.fleet,
            health=getattr(board, "latest", None) or {},
            counters=board_counters(board),
            booking=self.booking.snapshot,
            refusals=self.booking.snapshot.refusals,
            version=__version__,
            default_interval=getattr(board, "default_interval", None),
            limits=getattr(board, "thresholds", None) or judge.Thresholds(),
            restart=getattr(board, "restart", None),
        )

    async def running(self, app: object = None) -> AsyncIterator[None]:
        """An aiohttp ``cleanup_ctx``: refresh the booking snapshot while the app runs."""
        task = asyncio.create_task(self.booking.run(), name="metrics-booking")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def board_counters(board: Any) -> HealthCounters:
    """The health board's counters (``services.health.HealthBoard``), or zeros."""
    if board is None:
        return EMPTY_COUNTERS
    return HealthCounters(
        reports_accepted=int(getattr(board, "reports_accepted", 0)),
        reports_rejected=dict(getattr(board, "reports_rejected", {})),
        logins_refused=dict(getattr(board, "logins_refused", {})),
    )
