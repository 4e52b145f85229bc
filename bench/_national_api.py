"""The national year through the real API: a ``confsched serve`` process on the built data
directory, asked over HTTP on loopback as the console and scripts ask it.

Starts it twice. The first start (cold) writes what a server keeps across restarts (its
calendar event cache, and its modules compiled as an installed package has them): measured
until ``/healthz`` answers and until its CPU falls quiet. The second is measured as an operator
meets it after any restart: until ``/healthz`` answers and until its first API read is
answered; then, once it is quiet, its memory (RSS once started, and the peak after the reads),
a month's listing, a session's detail on its own and while month listings run without pause on
other connections, and the fleet's health (whole, one page, a
304, a changes-since with no change).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """The process's resident set (``VmHWM``: its peak) from /proc, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / 1e6
    raise LookupError(field)


@dataclass(frozen=True, slots=True)
class Window:
    """Local dates as ``?from=&to=`` take them."""

    start: str
    end: str

    def query(self) -> str:
        return f"from={self.start}&to={self.end}"


async def _timed_get(http: aiohttp.ClientSession, url: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    async with http.get(url) as response:
        body = await response.read()
    return (time.perf_counter() - started) * 1000, response.status, body


async def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    async with aiohttp.ClientSession() as http:
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited with {proc.returncode}")
            try:
                async with http.get(base + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.02)
    raise TimeoutError("serve did not answer /healthz")


async def _detail_while_listing(
    http: aiohttp.ClientSession, base: str, month: Window, session_id: str, runs: int
) -> list[float]:
    """Detail reads while two clients list the month back to back the whole time."""
    stop = asyncio.Event()

    async def lister() -> None:
        while not stop.is_set():
            await _timed_get(http, f"{base}/api/v1/sessions?{month.query()}")

    listers = [asyncio.create_task(lister()) for _ in range(2)]
    await asyncio.sleep(0.05)
    times = []
    for _ in range(runs):
        ms, status, _ = await _timed_get(http, f"{base}/api/v1/sessions/{session_id}")
        assert status == 200, status
        times.append(ms)
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.gather(*listers)
    return times


async def _health(http: aiohttp.ClientSession, base: str, runs: int) -> dict[str, float]:
    url = f"{base}/api/v1/health"
    whole = [await _timed_get(http, url) for _ in range(runs)]
    page = [await _timed_get(http, url + "?limit=200") for _ in range(runs)]
    async with http.get(url) as response:
        etag = response.headers.get("ETag", "")
        token = (await response.json()).get("since", "")
    started = time.perf_counter()
    async with http.get(url, headers={"If-None-Match": etag}) as response:
        not_modified = response.status
    not_modified_ms = (time.perf_counter() - started) * 1000
    since = [await _timed_get(http, f"{url}?since={token}") for _ in range(runs)]
    return {
        "health_ms": round(statistics.median(t for t, _, _ in whole), 1),
        "health_kb": round(len(whole[0][2]) / 1000),
        "health_page_ms": round(statistics.median(t for t, _, _ in page), 1),
        "health_page_kb": round(len(page[0][2]) / 1000, 1),
        "health_304": not_modified,
        "health_304_ms": round(not_modified_ms, 1),
        "health_since_ms": round(statistics.median(t for t, _, _ in since), 1),
        "health_since_kb": round(len(since[0][2]) / 1000, 1),
    }


async def _measure(
    base: str,
    data: Path,
    proc: subprocess.Popen[bytes],
    launched: float,
    month: Window,
    week: Window,
    runs: int,
) -> dict[str, float | int]:
    await _wait_ready(base, proc, timeout=120)
    ready_s = time.perf_counter() - launched
    token = (data / "operator.token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        first_ms, status, body = await _timed_get(http, f"{base}/api/v1/sessions?{week.query()}")
        assert status == 200, (status, body[:200])
        first_s = time.perf_counter() - launched
        rss_started = rss_mb(proc.pid)
        quiet_s = await _quiet(proc, launched)
        listing = [
            await _timed_get(http, f"{base}/api/v1/sessions?{month.query()}") for _ in range(runs)
        ]
        listed = listing[0][2].count(b'"organizer_name"')
        some = (await (await http.get(f"{base}/api/v1/sessions?{week.query()}")).json())[0]["id"]
        alone = [
            (await _timed_get(http, f"{base}/api/v1/sessions/{some}"))[0] for _ in range(runs * 4)
        ]
        busy = await _detail_while_listing(http, base, month, some, runs * 4)
        health = await _health(http, base, runs)
    return {
        "serve_ready_s": round(ready_s, 2),
        "first_read_ms": round(first_ms, 1),
        "first_read_after_launch_s": round(first_s, 2),
        "serve_rss_mb": round(rss_started),
        "serve_quiet_s": round(quiet_s, 1),
        "serve_peak_rss_mb": round(rss_mb(proc.pid, "VmHWM")),
        "api_listed_month": listed,
        "api_list_month_ms": round(statistics.median(t for t, _, _ in listing), 1),
        "api_list_month_kb": round(len(listing[0][2]) / 1000),
        "api_detail_ms": round(statistics.median(alone), 1),
        "api_detail_while_listing_ms": round(statistics.median(busy), 1),
        "api_detail_while_listing_max_ms": round(max(busy), 1),
        **health,
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU the process has used (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _quiet(proc: subprocess.Popen[bytes], launched: float) -> float:
    """Wait until a second passes with under 5 % of a core used (start-up work done, caches
    loaded); seconds since launch."""
    last = cpu_seconds(proc.pid)
    while time.perf_counter() - launched < 600:
        await asyncio.sleep(1.0)
        now = cpu_seconds(proc.pid)
        if now - last < 0.05:
            break
        last = now
    return time.perf_counter() - launched


async def _settle(base: str, proc: subprocess.Popen[bytes], launched: float) -> dict[str, float]:
    """The cold start: until /healthz, then until quiet."""
    await _wait_ready(base, proc, timeout=300)
    ready = time.perf_counter() - launched
    settled = await _quiet(proc, launched)
    return {
        "cold_ready_s": round(ready, 2),
        "cold_settled_s": round(settled, 1),
        "cold_peak_rss_mb": round(rss_mb(proc.pid, "VmHWM")),
    }


def measure_serve(
    data: Path, fleet_file: Path, month: Window, week: Window, runs: int
) -> dict[str, float | int]:
    """Start ``confsched serve`` on ``data`` (``--rooms fleet_file``) cold, let it settle,
    stop it; start it again and measure."""
    cold = _serve(data, fleet_file, lambda base, proc, at: _settle(base, proc, at))
    warm = _serve(
        data,
        fleet_file,
        lambda base, proc, at: _measure(base, data, proc, at, month, week, runs),
    )
    return {**cold, **warm}


def _serve(data: Path, fleet_file: Path, work: Any) -> dict[str, float | int]:
    """Run ``work(base_url, process, launched)`` against a fresh ``confsched serve``."""
    http, ssh = free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "confsched",
        "serve",
        "--data",
        str(data),
        "--rooms",
        str(fleet_file),
        "--http",
        f"127.0.0.1:{http}",
        "--ssh",
        f"127.0.0.1:{ssh}",
    ]
    # As installed: modules compiled once and kept (the first start compiles them), as the CLI
    # figures are measured; PYTHONDONTWRITEBYTECODE would count compiling the whole package as
    # start-up work at every launch.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(data.parent / "serve-pycache")
    launched = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        base = f"http://127.0.0.1:{http}"
        result: dict[str, float | int] = asyncio.run(work(base, proc, launched))
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
