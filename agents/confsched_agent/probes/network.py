"""The network to the bridge: RTT, jitter and loss by repeated TCP connects.

TCP connects need no privileges (ICMP would) and go through the same firewalls as the call. A
connect that times out or is refused counts as lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import time

from confsched_agent.probes import Findings
from confsched_agent.wire import Check


class BridgeProbe:
    name = "bridge"

    def __init__(
        self, host: str, port: int, count: int = 5, timeout: float = 1.0, gap: float = 0.05
    ) -> None:
        self._host, self._port = host, port
        self._count, self._timeout, self._gap = count, timeout, gap

    async def run(self) -> Findings:
        rtts: list[float] = []
        for i in range(self._count):
            if i:
                await asyncio.sleep(self._gap)
            rtt = await self._connect_once()
            if rtt is not None:
                rtts.append(rtt)
        loss = 1 - len(rtts) / self._count
        m: dict[str, float] = {"loss_ratio": round(loss, 3)}
        if not rtts:
            return Findings({"bridge": Check(False, f"{self._host}:{self._port} unreachable")}, m)
        m["rtt_ms"] = round(statistics.median(rtts), 2)
        diffs = [abs(a - b) for a, b in itertools.pairwise(rtts)]
        m["jitter_ms"] = round(statistics.fmean(diffs), 2) if diffs else 0.0
        return Findings({"bridge": Check(True)}, m)

    async def _connect_once(self) -> float | None:
        start = time.perf_counter()
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), self._timeout
            )
        except (OSError, TimeoutError):
            return None
        rtt = (time.perf_counter() - start) * 1000
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return rtt
