"""An acknowledged report is never dropped: an agent's lives (a wiped or reinstalled spool
starts numbering again) are told apart by the instance in its hello, whatever its clock did."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncssh
from confsched_agent.agent import Agent
from confsched_agent.link import Link
from confsched_agent.spool import DiskSpool
from confsched_agent.wire import Hello, decode, encode

from confsched.runtime.components import Components
from confsched.store.health import load_latest
from tests.conftest import reports_kept
from tests.test_agentlink import ENDPOINT, Room, enrolled, eventually


async def _one_life(config, spool: DiskSpool, clock, reports: int) -> None:  # type: ignore[no-untyped-def]
    agent = Agent(config.endpoint, [Room()], spool, interval=1.0, clock=clock)
    link = Link(
        config.endpoint,
        config.scheduler_address,
        asyncssh.read_private_key(config.key),
        config.host_key,
        spool,
        agent.handle,
        rng=random.Random(1),
    )
    agent.on_report = link.wake
    task = asyncio.create_task(link.run())
    try:
        for _ in range(reports):
            await agent.report_once()
        await eventually(lambda: len(spool) == 0)  # every report acknowledged
    finally:
        link.stop()
        await task


async def test_a_reinstalled_agent_behind_its_old_clock_has_every_acked_report_stored(
    server: Components, tmp_path: Path
) -> None:
    config = await enrolled(server, ENDPOINT)
    ahead = datetime.now(UTC) + timedelta(days=1)
    first = DiskSpool(tmp_path / "spool-1")
    await _one_life(config, first, lambda: ahead, 3)
    second = DiskSpool(tmp_path / "spool-2")  # reinstalled: a new spool, numbering from 1
    assert second.instance != first.instance
    await _one_life(config, second, lambda: datetime.now(UTC), 3)
    assert await server.ctx.store.read(reports_kept, ENDPOINT) == 6  # both lives' three
    (latest,) = await server.ctx.store.read(load_latest, [ENDPOINT])
    assert (latest.instance, latest.seq) == (second.instance, 3)


async def test_a_resend_within_one_life_is_acknowledged_but_stored_once(
    server: Components, tmp_path: Path
) -> None:
    config = await enrolled(server, ENDPOINT)
    spool = DiskSpool(tmp_path / "spool")
    await _one_life(config, spool, lambda: datetime.now(UTC), 2)
    service = server.health_service
    again = service.board.latest[ENDPOINT]
    assert service.is_duplicate(again)
    assert not service.is_duplicate(type(again)(again.health, 1, again.report_time, 10, "x" * 12))

    class Sink:
        def __init__(self) -> None:
            self.acks: list[tuple[int, int]] = []

        def acked(self, seq: int, count: int) -> None:
            self.acks.append((seq, count))

        def refused(self, seq: int, reason: str, detail: str) -> None:
            raise AssertionError(f"a resend was refused: {reason}")

    sink, duplicates = Sink(), service.board.reports_duplicate
    service.submit(again, sink)  # the agent resends seq 2: its ack was lost on the way
    await eventually(lambda: sink.acks == [(2, 1)])  # acknowledged again…
    assert await server.ctx.store.read(reports_kept, ENDPOINT) == 2  # …but stored once
    assert service.board.reports_duplicate == duplicates + 1


def test_the_spool_keeps_its_instance_across_restarts_and_a_wiped_one_gets_a_new_one(
    tmp_path: Path,
) -> None:
    instance = DiskSpool(tmp_path / "spool").instance
    assert DiskSpool(tmp_path / "spool").instance == instance
    (tmp_path / "spool" / "instance").unlink()
    assert DiskSpool(tmp_path / "spool").instance != instance


def test_hello_round_trips_and_a_bad_instance_is_refused() -> None:
    assert decode(encode(Hello("a" * 32))) == Hello("a" * 32)
    for bad in ("", "short", "x" * 65, "has space!"):
        try:
            decode(encode(Hello(bad)))
        except ValueError as exc:
            assert "instance" in str(exc)
        else:
            raise AssertionError(f"{bad!r} accepted")
