"""The event-loop lag probe: a hold of the loop shows, and it reaches /metrics of a real
scheduler as ``confsched_event_loop_lag_seconds``."""

from __future__ import annotations

import asyncio
import time

from confsched.runtime.components import Components
from confsched.runtime.looplag import LoopLagProbe
from tests.test_metrics_http import scrape, value


async def _hold(seconds: float) -> None:
    """Hold the loop as a long synchronous sweep would (no await inside)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


async def test_a_hold_of_the_loop_shows_as_lag() -> None:
    probe = LoopLagProbe(period=0.01, window=5.0)
    await probe.start()
    try:
        await asyncio.sleep(0.1)
        quiet = probe.worst
        await _hold(0.2)
        await asyncio.sleep(0.05)
        assert probe.samples > 3
        # A hold of 0.2 s covers a wake-up: the probe woke at least 0.19 s late.
        assert probe.worst >= 0.19
        assert probe.recent == probe.worst
        assert quiet < probe.worst
        probe.reset()
        assert probe.worst == 0.0
    finally:
        await probe.stop()


def test_recent_forgets_a_hold_two_windows_old() -> None:
    probe = LoopLagProbe(window=10.0)
    probe.record(0.3, now=100.0)
    probe.record(0.001, now=105.0)
    assert max(probe._current, probe._previous) == 0.3
    probe.record(0.002, now=111.0)  # next window: the 0.3 s hold is still within the last two
    assert max(probe._current, probe._previous) == 0.3
    probe.record(0.004, now=121.0)  # two windows on: forgotten
    assert max(probe._current, probe._previous) == 0.004
    probe.record(0.001, now=200.0)  # a long gap: the previous window is stale too
    assert max(probe._current, probe._previous) == 0.001
    assert probe.worst == 0.3


async def test_the_lag_is_exported(server: Components) -> None:
    await _hold(0.15)
    await asyncio.sleep(0.1)
    text = (await scrape(server))[0].decode()
    lag = value(text, "confsched_event_loop_lag_seconds")
    assert 0.1 <= lag <= 5.0  # the 0.15 s hold, less at most one probe period
