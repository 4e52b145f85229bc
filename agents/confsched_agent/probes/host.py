"""The host itself: CPU, memory, disk and uptime, read from /proc and statvfs."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from confsched_agent.probes import Findings
from confsched_agent.wire import Check


class HostProbe:
    """CPU busy ratio since the previous run, memory used, disk free, uptime."""

    name = "host"

    def __init__(self, proc: Path = Path("/proc"), disk: Path = Path("/")) -> None:
        self._proc = proc
        self._disk = disk
        self._last_cpu: tuple[int, int] | None = None

    async def run(self) -> Findings:
        if self._last_cpu is None:
            self._last_cpu = self._cpu_times()
            await asyncio.sleep(0.1)
        busy, total = self._cpu_times()
        d_busy, d_total = busy - self._last_cpu[0], total - self._last_cpu[1]
        self._last_cpu = (busy, total)
        m = {
            "cpu_ratio": round(d_busy / d_total, 3) if d_total > 0 else 0.0,
            "memory_used_ratio": round(self._memory_used(), 3),
            "uptime_s": float(int(self._uptime())),
        }
        stat = os.statvfs(self._disk)
        m["disk_free_ratio"] = round(stat.f_bavail / stat.f_blocks, 3) if stat.f_blocks else 0.0
        m["disk_free_bytes"] = float(stat.f_bavail * stat.f_frsize)
        return Findings({"host": Check(True)}, m)

    def _cpu_times(self) -> tuple[int, int]:
        first = (self._proc / "stat").read_text().split("\n", 1)[0].split()
        values = [int(v) for v in first[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        total = sum(values[:8])
        return total - idle, total

    def _memory_used(self) -> float:
        info: dict[str, int] = {}
        for line in (self._proc / "meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            info[key] = int(rest.split()[0])
        total = info["MemTotal"]
        available = info.get("MemAvailable", info.get("MemFree", 0))
        return 1 - available / total if total else 0.0

    def _uptime(self) -> float:
        return float((self._proc / "uptime").read_text().split()[0])
