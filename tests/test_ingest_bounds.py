"""What the scheduler holds of a saturating fleet is bounded: commits of at most ``MAX_BATCH``
reports, and past ``QUEUE_HIGH`` waiting reports the sessions pause their reading (the agents
keep the rest), so a report read is acknowledged within a few commits. Never while the store
is faulted (the board must keep showing what arrives). Real asyncssh agents on loopback for the
pausing itself."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import asyncssh
import pytest
from confsched_agent.link import Link
from confsched_agent.spool import MemorySpool
from confsched_agent.wire import Check, Report, encode

from confsched.agentlink.session import AgentSession
from confsched.errors import StoreUnavailable
from confsched.runtime.components import Components
from confsched.services import health as service_module
from confsched.services.health import MAX_BATCH, QUEUE_HIGH, QUEUE_LOW, HealthBoard, HealthService
from confsched.store.health import StoredHealth
from tests.conftest import reports_kept
from tests.test_agentlink import ENDPOINT, enrolled, eventually
from tests.test_fault_disk import ENDPOINTS, Sink, _health


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
    backlogs, links = [], []
    for endpoint in ENDPOINTS:
        config = await enrolled(server, endpoint)
        backlog = Backlog(500)
        backlogs.append(backlog)
        links.append(
            Link(
                config.endpoint,
                config.scheduler_address,
                asyncssh.read_private_key(config.key),
                config.host_key,
                backlog.spool,
                _no_command,
                window=500,
                batch=50,
                rng=random.Random(1),
            )
        )
    tasks = [asyncio.create_task(link.run()) for link in links]
    try:
        await eventually(lambda: all(len(b.spool) == 0 for b in backlogs), timeout=60)
    finally:
        for link in links:
            link.stop()
        await asyncio.gather(*tasks)
    for endpoint in ENDPOINTS:
        assert await server.ctx.store.read(reports_kept, endpoint) == 500
    # Past 60 waiting, every session holds what comes: never more than the mark and one SSH
    # packet's lines (a write of 50) wait, however many agents flood at once (without the
    # pause the whole backlog of 1,500 would).
    assert max(waiting_seen) <= 60 + 50, max(waiting_seen)
    assert len(waiting_seen) > 1500 // MAX_BATCH


async def _no_command(command):  # type: ignore[no-untyped-def]
    return None


class _Chan:
    """The channel side a session uses: writes and reading paused or not."""

    def __init__(self) -> None:
        self.paused = False
        self.written: list[bytes] = []

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def write(self, data: bytes) -> None:
        self.written.append(data)


class _Crowded:
    """A health service that is crowded until told otherwise."""

    def __init__(self) -> None:
        self.crowded = True
        self.taken: list[int] = []
        self.waiting: list[Callable[[], None]] = []

    def submit(self, item: StoredHealth, sink: object) -> None:
        self.taken.append(item.seq)

    def wait_for_room(self, resume: Callable[[], None]) -> None:
        self.waiting.append(resume)


async def test_a_crowded_service_takes_nothing_more_from_any_session_until_it_has_room() -> None:
    service = _Crowded()
    link = SimpleNamespace(board=HealthBoard(), service=service)
    sessions = [AgentSession(link, e) for e in ENDPOINTS]  # type: ignore[arg-type]
    chans = [_Chan() for _ in sessions]
    now = datetime.now(UTC)
    for session, chan in zip(sessions, chans, strict=True):
        session.connection_made(chan)  # type: ignore[arg-type]
        lines = [encode(Report(seq, now, {"camera": Check(True)}, {})) for seq in (1, 2)]
        session.data_received(lines[0], None)
        session.data_received(lines[1], None)  # more comes before asyncssh sees the pause
    # Every session paused at its first bytes and read none of them: nothing past the mark.
    assert service.taken == [] and all(chan.paused for chan in chans)
    assert len(service.waiting) == len(sessions)  # each waits once, however much it holds
    service.crowded = False
    for resume in service.waiting:
        resume()
    assert service.taken == [1, 2] * len(sessions)  # in order, once room came
    assert not any(chan.paused for chan in chans)
