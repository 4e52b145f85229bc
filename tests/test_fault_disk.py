"""A full disk is survived and left by itself: reads go on, ``/healthz`` and a metric name the
fault, nothing is acknowledged while the store cannot write (the agents keep their reports), one
log line a minute, writes resume within 5 s of a megabyte freed, and acknowledged = stored.

The disk is a real one: a small tmpfs (the tests run as root, as CI does) holding the data
directory, filled with a ballast file. The agents are real asyncssh agents on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from confsched_agent.agent import Agent

from confsched.config import Settings
from confsched.domain.health import Observation, judge
from confsched.domain.model import EndpointHealth
from confsched.runtime.components import Components
from confsched.services.health import HealthBoard, HealthService
from confsched.store.health import StoredHealth
from confsched.store.runner import StoreRunner
from tests.conftest import reports_kept, running
from tests.test_agentlink import enrolled, eventually, make_agent

ENDPOINTS = ("dhy-hoa-thuong", "tinh-uy", "ubnd-tinh")
MB = 1 << 20


@pytest.fixture
def small_disk(tmp_path: Path, data_dir: Path) -> Iterator[Path]:
    """A 32 MB tmpfs holding a copy of the imported data directory."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], check=True)
    try:
        shutil.copytree(data_dir, mount / "data")
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest_asyncio.fixture
async def disk_server(small_disk: Path) -> AsyncIterator[Components]:
    settings = Settings(data_dir=small_disk / "data", http_port=0, ssh_port=0)
    async with running(settings) as components:
        yield components


def fill(path: Path) -> None:
    """Write ``path`` until the disk says it is full (closing a file on a full disk can raise
    too: the last buffered bytes do not fit)."""
    chunk = b"\0" * (64 * 1024)
    with contextlib.suppress(OSError), path.open("wb") as f:
        while True:
            f.write(chunk)
            f.flush()


async def reporting(agents: list[Agent], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for agent in agents:
            await agent.report_once()
        await asyncio.sleep(0.05)


async def get(url: str, token: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        return resp.status, await resp.text()


async def test_full_disk_is_survived_and_left_by_itself_with_acknowledged_equal_to_stored(
    disk_server: Components, small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="confsched.services.health")
    server, store = disk_server, disk_server.ctx.store
    base, token = f"http://127.0.0.1:{disk_server.http_port}", disk_server.ctx.operator_token
    made = [make_agent(await enrolled(server, e)) for e in ENDPOINTS]
    agents, spools = [m[0] for m in made], [m[2] for m in made]
    links = [asyncio.create_task(m[1].run()) for m in made]
    stop = asyncio.Event()
    load = asyncio.create_task(reporting(agents, stop))
    try:
        await eventually(lambda: server.board.reports_accepted >= 30, timeout=15)
        await store.write(lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        ballast = small_disk / "ballast"
        fill(ballast)

        await eventually(lambda: store.faults.fault is not None, timeout=15)
        assert store.faults.fault is not None and store.faults.fault.reason == "disk_full"
        status, body = await get(f"{base}/healthz", token)
        assert status == 503 and "disk_full" in body
        status, body = await get(f"{base}/metrics", token)
        assert 'confsched_store_fault{reason="disk_full"} 1.0' in body
        status, body = await get(f"{base}/api/v1/health", token)
        assert status == 200, body  # reads keep working

        waiting = sum(len(s) for s in spools)
        await asyncio.sleep(3.0)  # the agents keep theirs: nothing is acknowledged
        assert sum(len(s) for s in spools) > waiting
        faulted = [r for r in caplog.records if "cannot write" in r.getMessage()]
        assert len(faulted) == 1, [r.getMessage() for r in caplog.records]
        assert not any(r.exc_info for r in caplog.records)

        with ballast.open("r+b") as f:  # one megabyte free
            f.truncate(ballast.stat().st_size - MB)
        freed = time.monotonic()
        await eventually(lambda: store.faults.fault is None, timeout=10)
        recovery = time.monotonic() - freed
        assert recovery < 5.0, recovery
        print(f"writes resumed {recovery:.2f} s after 1 MB was freed")

        ballast.unlink()
        stop.set()
        await load
        await eventually(lambda: all(len(s) == 0 for s in spools), timeout=30)
        status, _ = await get(f"{base}/healthz", token)
        assert status == 200
    finally:
        stop.set()
        await asyncio.gather(load, return_exceptions=True)
        for m in made:
            m[1].stop()
        await asyncio.gather(*links, return_exceptions=True)

    acknowledged = sum(s.next_seq() - 1 for s in spools)  # every report made, none waiting
    stored = 0
    for endpoint in ENDPOINTS:
        stored += await store.read(reports_kept, endpoint)
    print(f"acknowledged {acknowledged}, stored {stored}")
    assert stored == acknowledged
    assert server.board.reports_rejected["unstorable"] == 0


class Sink:
    """Records what the writer tells one sender."""

    def __init__(self) -> None:
        self.acks: list[tuple[int, int]] = []
        self.refusals: list[tuple[int, str]] = []

    def acked(self, seq: int, count: int) -> None:
        self.acks.append((seq, count))

    def refused(self, seq: int, reason: str, detail: str) -> None:
        self.refusals.append((seq, reason))


async def test_a_report_the_store_cannot_hold_is_refused_and_counted_the_rest_stored(
    data_dir: Path,
) -> None:
    runner = StoreRunner(data_dir)
    board = HealthBoard()
    service = HealthService(board, runner.write)
    writes = 0

    async def counted(fn, *args):  # type: ignore[no-untyped-def]
        nonlocal writes
        writes += 1
        return await runner.write(fn, *args)

    service._write = counted
    sink = Sink()
    now = datetime.now(UTC)
    template = StoredHealth(_health("dhy-hoa-thuong", now), 1, now, 10.0, "a" * 32)
    items = [replace(template, seq=seq) for seq in range(1, 41)]
    # SQLite cannot hold this seq (OverflowError) as the room's latest report (the last of
    # its batch: only the latest keeps its seq); another life, so no resend
    items[-1] = replace(items[-1], seq=2**64, instance="b" * 32)
    service.start()
    try:
        for item in items:
            service.submit(item, sink)
        await eventually(lambda: sum(c for _, c in sink.acks) == len(items))
    finally:
        await service.stop()
    assert sink.refusals == [(2**64, "unstorable")]
    assert board.reports_rejected["unstorable"] == 1
    assert await runner.read(reports_kept, "dhy-hoa-thuong") == len(items) - 1
    assert writes < 20  # split around the bad one, never retried forever
    runner.close()


def _health(endpoint: str, now: datetime) -> EndpointHealth:
    return judge(Observation(endpoint, now, {"camera": True}, {}, {}), HealthBoard().thresholds)
