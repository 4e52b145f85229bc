"""What the scheduler holds of a saturating fleet is bounded: commits of at most ``MAX_BATCH``
reports, and past ``QUEUE_HIGH`` waiting reports the sessions pause their reading (the agents
keep the rest), so a report read is acknowledged within a few commits. Never while the store
is faulted (the board must keep showing what arrives). Real asyncssh agents on loopback for the
pausing itself."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime

import asyncssh
import pytest
from confsched_agent.link import Link
from confsched_agent.spool import MemorySpool
from confsched_agent.wire import Check, Report, encode

from confsched.errors import StoreUnavailable
from confsched.runtime.components import Components
from confsched.services import health as service_module
from confsched.services.health import MAX_BATCH, QUEUE_HIGH, QUEUE_LOW, HealthBoard, HealthService
from confsched.store.health import StoredHealth, history
from tests.test_agentlink import ENDPOINT, enrolled, eventually
from tests.test_fault_disk import Sink, _health


def _items(count: int) -> list[StoredHealth]:
    now = datetime.now(UTC)
    template = StoredHealth(_health(ENDPOINT, now), 1, now, 10.0, "a" * 32)
    return [replace(template, seq=seq) for seq in range(1, count + 1)]


class GatedStore:
    """A store write that records each commit's size and waits for the test to let it go."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.gate = asyncio.Event()
        self.fail_first = False

    async def write(self, fn, batch, trimmer) -> None:  # type: ignore[no-untyped-def]
        await self.gate.wait()
        if self.fail_first:
            self.fail_first = False
            raise StoreUnavailable("disk_full", "the disk is full")
        self.sizes.append(len(batch))


async def test_commits_are_bounded_and_a_crowded_queue_admits_one_waiter_at_a_time() -> None:
    store = GatedStore()
    service = HealthService(HealthBoard(), store.write)
    sink = Sink()
    items = _items(3 * MAX_BATCH + QUEUE_HIGH)
    resumed: list[int] = []
    service.start()
    try:
        for item in items:
            service.submit(item, sink)
        assert service.crowded
        service.wait_for_room(lambda: resumed.append(len(service._queue)))
        service.wait_for_room(lambda: resumed.append(len(service._queue)))
        await asyncio.sleep(0.05)  # the writer took its first batch and waits at the gate
        assert resumed == []
        store.gate.set()
        await eventually(lambda: sum(c for _, c in sink.acks) == len(items))
    finally:
        await service.stop()
    assert max(store.sizes) == MAX_BATCH and sum(store.sizes) == len(items)
    # Both waiters resumed once the queue fell under QUEUE_LOW, not before, in one pass.
    assert len(resumed) == 2 and all(n < QUEUE_LOW for n in resumed)
    assert not service.crowded


async def test_a_faulted_store_is_never_crowded_and_frees_every_waiter() -> None:
    store = GatedStore()
    store.fail_first = True
    service = HealthService(HealthBoard(), store.write)
    sink = Sink()
    resumed: list[tuple[str, bool, bool]] = []

    def waiter(name: str):  # type: ignore[no-untyped-def]
        return lambda: resumed.append((name, service.crowded, service.faulted_since is not None))

    service.start()
    try:
        for item in _items(QUEUE_HIGH + MAX_BATCH):
            service.submit(item, sink)
        assert service.crowded
        service.wait_for_room(waiter("first"))
        service.wait_for_room(waiter("second"))
        store.gate.set()  # the first commit meets a full disk
        await eventually(lambda: len(resumed) == 2)
    finally:
        await service.stop()
    # Resumed at the fault, with 1,000 reports still waiting: no pausing while faulted.
    assert resumed == [("first", False, True), ("second", False, True)]
    assert sink.acks == []  # and nothing acknowledged meanwhile


class Backlog:
    """A spool already holding ``count`` reports, as after a long outage."""

    def __init__(self, count: int) -> None:
        now = datetime.now(UTC)
        self.spool = MemorySpool()
        for _ in range(count):
            seq = self.spool.next_seq()
            report = Report(seq, now, {"camera": Check(True)}, {"rtt_ms": 12.0})
            self.spool.append(seq, encode(report))


async def test_a_flooding_agent_is_paused_not_held_and_everything_is_stored(
    server: Components, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_module, "QUEUE_HIGH", 60)
    monkeypatch.setattr(service_module, "QUEUE_LOW", 30)
    service = server.health_service
    real_write = service._write
    waiting_seen: list[int] = []

    async def slow_write(fn, batch, trimmer):  # type: ignore[no-untyped-def]
        waiting_seen.append(len(service._queue))
        await asyncio.sleep(0.01)
        return await real_write(fn, batch, trimmer)  # type: ignore[operator]

    service._write = slow_write
    config = await enrolled(server, ENDPOINT)
    backlog = Backlog(1500)
    link = Link(
        config.endpoint,
        config.scheduler_address,
        asyncssh.read_private_key(config.key),
        config.host_key,
        backlog.spool,
        _no_command,
        window=1500,
        batch=50,
        rng=random.Random(1),
    )
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: len(backlog.spool) == 0, timeout=60)
    finally:
        link.stop()
        await task
    stored = await server.ctx.store.read(history, ENDPOINT, 10_000)
    assert len(stored) == 1500
    # The session paused past 60 waiting: never more than that and one SSH packet's lines
    # (a write of 50) wait, where without pausing the whole backlog of 1500 would.
    assert max(waiting_seen) <= 60 + 50, max(waiting_seen)
    assert len(waiting_seen) > 1500 // MAX_BATCH


async def _no_command(command):  # type: ignore[no-untyped-def]
    return None
