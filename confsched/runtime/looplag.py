"""A probe of the event loop's lag: how long a ready callback waited before the loop ran it.

Everything the scheduler does for agents, the API and the metrics runs on one event loop, so one
callback that holds it (a sweep over 10,000 rooms, a garbage collection over 10,000 connections,
a large JSON body) delays every report, ack and request behind it. The probe sleeps
:data:`PERIOD` seconds at a time and measures how late it wakes: a hold of ``h`` seconds that
covers one of its wake-ups shows as a lag of at least ``h - PERIOD``, so a short period catches
short holds (40 wake-ups a second cost well under 0.1 % of a core).

``recent`` is the worst lag over the last one or two :data:`WINDOW` s (what
``confsched_event_loop_lag_seconds`` exports: a scrape every 15 s sees every hold since the one
before); ``worst`` is the worst since :meth:`reset` (benchmarks read it over their window).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

PERIOD = 0.025
WINDOW = 15.0


class LoopLagProbe:
    """Measures the loop's lag while started; ``start``/``stop`` as a runtime component."""

    def __init__(self, period: float = PERIOD, window: float = WINDOW) -> None:
        self.period = period
        self.window = window
        self.worst = 0.0
        """Worst lag in seconds since the start or the last :meth:`reset`."""
        self.samples = 0
        self._current = 0.0
        self._previous = 0.0
        self._window_ends = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def recent(self) -> float:
        """Worst lag in seconds over the current and the previous window."""
        self._roll(time.monotonic())
        return max(self._current, self._previous)

    def reset(self) -> None:
        self.worst = 0.0
        self.samples = 0

    def record(self, lag: float, now: float) -> None:
        """One measurement of ``lag`` seconds taken at monotonic time ``now``."""
        self._roll(now)
        self.samples += 1
        if lag > self._current:
            self._current = lag
        if lag > self.worst:
            self.worst = lag

    def _roll(self, now: float) -> None:
        if now < self._window_ends:
            return
        # A window with no sample (the loop held through it) keeps what the late sample shows.
        stale = now >= self._window_ends + self.window
        self._previous = 0.0 if stale else self._current
        self._current = 0.0
        self._window_ends = now + self.window

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        clock = time.monotonic
        period = self.period
        while True:
            due = clock() + period
            await asyncio.sleep(period)
            now = clock()
            self.record(max(0.0, now - due), now)
