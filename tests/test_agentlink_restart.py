"""Scheduler restarts: nothing acknowledged is lost, spooled reports arrive in order, and a
crowd of agents comes back spread over time, not in one second."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import asyncssh
import pytest
from confsched_agent.agent import Agent
from confsched_agent.link import Link
from confsched_agent.spool import DiskSpool, MemorySpool

from confsched.agentlink.enrol import enroll
from confsched.agentlink.keys import ensure_host_key, public_text
from confsched.config import Settings
from confsched.runtime.components import Components
from confsched.runtime.root import run_server
from confsched.services.inventory import import_fleet
from confsched.simulate import enroll_simulated, synthetic_fleet
from confsched.store.db import open_db
from confsched.store.health import load_latest
from tests.conftest import reports_kept
from tests.test_agentlink import ENDPOINT, Room, eventually


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Scheduler:
    """A real scheduler that can be stopped and started again on the same ports and data."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ctx: Components | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Components:
        ready: asyncio.Future[Components] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(run_server(self.settings, ready=ready.set_result))
        done, _ = await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            self._task.result()
        self.ctx = ready.result()
        return self.ctx

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


@pytest.fixture
def fixed_settings(settings: Settings) -> Settings:
    return replace(settings, ssh_port=free_port())


async def test_restart_loses_no_acknowledged_report_and_spool_arrives_in_order(
    fixed_settings: Settings, tmp_path: Path
) -> None:
    scheduler = Scheduler(fixed_settings)
    ctx = await scheduler.start()
    config = await ctx.ctx.store.write(
        enroll,
        fixed_settings.data_dir,
        ENDPOINT,
        f"127.0.0.1:{fixed_settings.ssh_port}",
        datetime.now(UTC),
    )
    spool = DiskSpool(tmp_path / "spool")
    agent = Agent(ENDPOINT, [Room()], spool, interval=1.0)
    key = asyncssh.read_private_key(config.key)
    link = Link(
        ENDPOINT,
        config.scheduler_address,
        key,
        config.host_key,
        spool,
        agent.handle,
        rng=random.Random(3),
        backoff_first=0.5,
    )
    agent.on_report = link.wake
    task = asyncio.create_task(link.run())
    try:
        for _ in range(5):
            await agent.report_once()
        await eventually(lambda: len(spool) == 0)  # 1..5 acknowledged
        await scheduler.stop()
        for _ in range(10):  # 6..15 made while the scheduler is away
            await agent.report_once()
            await asyncio.sleep(0.01)
        assert len(spool) == 10
        await scheduler.start()
        await eventually(lambda: len(spool) == 0, timeout=10)
    finally:
        link.stop()
        await task
        await scheduler.stop()
    db = open_db(fixed_settings.data_dir)
    kept, (latest,) = reports_kept(db, ENDPOINT), load_latest(db, [ENDPOINT])
    db.close()
    assert (kept, latest.seq) == (15, 15)


async def test_two_hundred_agents_come_back_spread_over_seconds(
    fixed_settings: Settings, tmp_path: Path
) -> None:
    db = open_db(fixed_settings.data_dir)
    import_fleet(db, synthetic_fleet(tmp_path / "fleet.yaml", 200))
    db.close()
    scheduler = Scheduler(fixed_settings)
    ctx = await scheduler.start()
    endpoints = list(ctx.ctx.fleet.endpoints)
    assert len(endpoints) == 200
    keys = await asyncio.to_thread(enroll_simulated, fixed_settings.data_dir, endpoints)
    host_key = public_text(ensure_host_key(fixed_settings.data_dir))
    address = ("127.0.0.1", fixed_settings.ssh_port)
    links = []
    for i, endpoint in enumerate(endpoints):
        spool = MemorySpool()
        link = Link(
            endpoint,
            address,
            keys[endpoint],
            host_key,
            spool,
            _no_command,
            rng=random.Random(i),
            backoff_first=4.0,
        )
        links.append(link)
    tasks = [asyncio.create_task(link.run()) for link in links]
    try:
        await eventually(lambda: all(link.connected.is_set() for link in links), timeout=20)
        await scheduler.stop()
        await eventually(lambda: not any(link.connected.is_set() for link in links))
        ctx = await scheduler.start()
        board = ctx.board
        per_tick: list[int] = []
        loop = asyncio.get_running_loop()
        start = loop.time()
        while board.logins_accepted < len(links) and loop.time() - start < 15:
            before = board.logins_accepted
            await asyncio.sleep(0.25)
            per_tick.append(board.logins_accepted - before)
        assert board.logins_accepted == len(links)
        busiest_second = max(sum(per_tick[i : i + 4]) for i in range(len(per_tick)))
        assert busiest_second < len(links) * 0.5, per_tick
        assert len(per_tick) >= 8  # at least two seconds from first to last reconnect
    finally:
        for link in links:
            link.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await scheduler.stop()


async def _no_command(command):  # type: ignore[no-untyped-def]
    return None
