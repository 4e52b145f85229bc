"""The agent's heart: probe every interval, spool the report, let the link deliver it.

Transport-free on purpose: the real daemon and the simulator build the same ``Agent`` with
different probes and spools.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from confsched_agent.probes import Probe, run_all
from confsched_agent.wire import (
    Check,
    Command,
    Message,
    Report,
    SelftestResult,
    WireError,
    encode,
)

log = logging.getLogger("confsched.agent")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Agent:
    def __init__(
        self,
        endpoint: str,
        probes: Sequence[Probe],
        spool: object,
        interval: float,
        *,
        clock: Clock = utc_now,
        probe_timeout: float = 5.0,
    ) -> None:
        self.endpoint = endpoint
        self.probes = list(probes)
        self.spool = spool
        self.interval = interval
        self._clock = clock
        self._timeout = probe_timeout
        self._fresh_interval = asyncio.Event()
        self.on_report: Callable[[], None] = lambda: None
        """Called after each report is spooled (the link's ``wake``)."""

    async def report_once(self) -> Report:
        """Probe now, spool the report, tell the link."""
        found = await run_all(self.probes, self._timeout)
        seq = self.spool.next_seq()  # type: ignore[attr-defined]
        checks, measurements = dict(found.checks), dict(found.measurements)
        failure = getattr(self.spool, "failure", "")
        checks["spool"] = Check(False, failure) if failure else Check(True)
        measurements["spool_dropped"] = float(getattr(self.spool, "dropped", 0))
        report = Report(
            seq=seq,
            time=self._clock(),
            checks=checks,
            measurements=measurements,
            interval=self.interval,
            endpoint=self.endpoint,
            call=found.call,
        )
        try:
            line = encode(report)
        except WireError as exc:  # a probe produced something absurd: report that instead
            log.error("%s: report %d not encodable: %s", self.endpoint, seq, exc)
            return report
        self.spool.append(seq, line)  # type: ignore[attr-defined]
        self.on_report()
        return report

    def report_now(self) -> None:
        """Report at once and start the interval again from there (``run`` does it; the link
        calls this when it is connected again after losing the scheduler)."""
        self._fresh_interval.set()

    async def run(self) -> None:
        """Report every ``interval`` seconds until cancelled; a bad probe never stops this."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            await self.report_once()
            next_at = max(next_at + self.interval, loop.time())
            self._fresh_interval.clear()
            try:
                async with asyncio.timeout(next_at - loop.time()):
                    await self._fresh_interval.wait()
                next_at = loop.time()  # a new interval starts with a fresh report
            except TimeoutError:
                pass

    async def handle(self, command: Command) -> Message | None:
        """Answer the scheduler: a self-test result, or nothing."""
        if command.name == "set_interval" and command.interval is not None:
            log.info("%s: interval now %.0f s", self.endpoint, command.interval)
            self.interval = command.interval
            self._fresh_interval.set()
            return None
        if command.name == "selftest":
            found = await run_all(self.probes, self._timeout)
            return SelftestResult(command.id, self._clock(), found.checks, found.measurements)
        return None
