"""The host itself: CPU, memory, the spool's disk and uptime, through psutil.

psutil gives one code path for Linux and Windows (no /proc on a Windows room PC). The disk
measured is the spool's: that is the disk whose filling stops the agent keeping reports while
the link is down, and on Windows it need not be C:.
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from confsched_agent.probes import Findings
from confsched_agent.wire import Check


class HostProbe:
    """CPU busy ratio since the previous run, memory used, the spool disk's free space, uptime."""

    name = "host"

    def __init__(self, disk: Path = Path(".")) -> None:
        self._disk = disk
        psutil.cpu_percent(interval=None)  # primes the counter: the first run compares to now

    async def run(self) -> Findings:
        disk = _existing(self._disk)
        usage = psutil.disk_usage(str(disk))
        m = {
            "cpu_ratio": round(min(psutil.cpu_percent(interval=None) / 100, 1.0), 3),
            "memory_used_ratio": round(psutil.virtual_memory().percent / 100, 3),
            "uptime_s": float(max(0, int(time.time() - psutil.boot_time()))),
            "disk_free_ratio": round(usage.free / usage.total, 3) if usage.total else 0.0,
            "disk_free_bytes": float(usage.free),
        }
        return Findings({"host": Check(True)}, m)


def _existing(path: Path) -> Path:
    """The nearest folder that exists (the spool may not be made yet on the first run)."""
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path
