"""The report writer's promises, one at a time, on a real store file: each sender acknowledged
once per commit with its highest stored seq, a resend acknowledged but stored once, nothing
acknowledged while the store cannot write (yet the board stays current), small slices after a
fault growing back, and sessions paused while too much waits. ``test_fault_disk.py`` shows the
same on a really full disk with real agents; this pins the rules fast enough for the mutation
run (docs/mutation.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from confsched.domain.health import Observation, judge
from confsched.errors import StoreUnavailable
from confsched.services import health as writer
from confsched.services.health import HealthBoard, HealthService
from confsched.store.health import StoredHealth
from confsched.store.runner import StoreRunner
from tests.conftest import reports_kept
from tests.test_agentlink import eventually
from tests.test_fault_disk import Sink

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def report(endpoint: str, seq: int, instance: str = "a" * 32, at: int = 0) -> StoredHealth:
    when = NOW + timedelta(seconds=at if at else seq)
    health = judge(Observation(endpoint, when, {"camera": True}))
    return StoredHealth(health, seq, when, 10.0, instance)


class FlakyStore:
    """The real store, made to fail its first ``failures`` writes as a full disk does."""

    def __init__(self, runner: StoreRunner, failures: int = 0) -> None:
        self.runner, self.failures = runner, failures
        self.chunks: list[tuple[int, bool]] = []
        """(reports in the write, whether it was stored), in order."""

    async def write(self, fn: Any, items: list[StoredHealth], *args: Any) -> Any:
        if self.failures:
            self.failures -= 1
            self.chunks.append((len(items), False))
            raise StoreUnavailable("disk_full", "database or disk is full")
        self.chunks.append((len(items), True))
        return await self.runner.write(fn, items, *args)


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[StoreRunner]:
    runner = StoreRunner(tmp_path / "data")
    yield runner
    runner.close()


async def test_each_sender_is_acked_once_per_commit_with_its_highest_seq(
    store: StoreRunner,
) -> None:
    board = HealthBoard()
    service = HealthService(board, store.write)
    a, b = Sink(), Sink()
    for seq in (1, 2, 3):
        service.submit(report("tinh-uy", seq), a)
    service.submit(report("ubnd-tinh", 7), b)
    service.submit(report("tinh-uy", 2), a)  # a resend: its ack was lost
    service.start()
    try:
        await eventually(lambda: a.acks and b.acks)
    finally:
        await service.stop()
    assert a.acks == [(3, 4)] and b.acks == [(7, 1)]
    assert (board.reports_accepted, board.reports_duplicate, service.batches) == (4, 1, 1)
    assert await store.read(reports_kept, "tinh-uy", NOW) == 3
    assert board.latest["tinh-uy"].seq == 3 and board.latest["ubnd-tinh"].seq == 7
    assert board.version == 1 and not a.refusals


def test_a_resend_is_told_apart_from_a_new_life_and_from_a_new_report() -> None:
    service = HealthService(HealthBoard(), lambda *a: None)
    service.submit(report("e", 5, "a" * 32), Sink())
    assert service.is_duplicate(report("e", 5, "a" * 32))
    assert service.is_duplicate(report("e", 4, "a" * 32))
    assert not service.is_duplicate(report("e", 6, "a" * 32))
    assert not service.is_duplicate(report("e", 1, "b" * 32))  # reinstalled: a new life
    assert not service.is_duplicate(report("e", 1, ""))  # one side named its life
    assert not service.is_duplicate(report("other", 1, "a" * 32))
    old = HealthService(HealthBoard(), lambda *a: None)
    old.submit(report("e", 5, "", at=50), Sink())  # an agent without a hello
    assert old.is_duplicate(report("e", 5, "", at=50))
    assert old.is_duplicate(report("e", 4, "", at=40))
    assert not old.is_duplicate(report("e", 4, "", at=60))  # a later report: clock reset
    assert not old.is_duplicate(report("e", 6, "", at=40))


async def test_nothing_is_acked_while_the_store_cannot_write_and_slices_grow_back(
    store: StoreRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "RETRY_SECONDS", 0.01)
    flaky = FlakyStore(store, failures=2)
    board = HealthBoard()
    service = HealthService(board, flaky.write)
    sink = Sink()
    service.start()
    try:
        for seq in range(1, 121):
            service.submit(report("tinh-uy", seq), sink)
        await eventually(lambda: service.faulted_since is not None)
        assert board.latest["tinh-uy"].seq == 120  # shown while waiting for the store
        await eventually(lambda: sink.acks)
    finally:
        await service.stop()
    assert flaky.chunks == [(120, False), (50, False), (50, True), (70, True)]
    assert sink.acks == [(120, 120)]
    assert service.faulted_since is None
    assert await store.read(reports_kept, "tinh-uy", NOW) == 120


async def test_while_faulted_reports_submitted_show_at_once(
    store: StoreRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "RETRY_SECONDS", 0.05)
    flaky = FlakyStore(store, failures=4)
    board = HealthBoard()
    service = HealthService(board, flaky.write)
    service.start()
    try:
        service.submit(report("tinh-uy", 1), Sink())
        await eventually(lambda: service.faulted_since is not None)
        service.submit(report("ubnd-tinh", 1), Sink())
        assert "ubnd-tinh" in board.latest  # before any commit
        assert board.reports_accepted == 0
    finally:
        await service.stop()


async def test_sessions_pause_while_too_much_waits_and_resume_oldest_first(
    store: StoreRunner,
) -> None:
    service = HealthService(HealthBoard(), store.write)
    for seq in range(1, writer.QUEUE_HIGH):
        service.submit(report("tinh-uy", seq), Sink())
    assert not service.crowded
    service.submit(report("tinh-uy", writer.QUEUE_HIGH), Sink())
    assert service.crowded
    resumed: list[str] = []
    service.wait_for_room(lambda: resumed.append("first"))
    service.wait_for_room(lambda: resumed.append("second"))
    service.start()
    try:
        await eventually(lambda: len(resumed) == 2)
    finally:
        await service.stop()
    assert resumed == ["first", "second"]
    assert not service.crowded


async def test_a_commit_holds_at_most_max_batch_reports(store: StoreRunner) -> None:
    counted = FlakyStore(store)
    service = HealthService(HealthBoard(), counted.write)
    sink = Sink()
    for seq in range(1, writer.MAX_BATCH + 2):
        service.submit(report("tinh-uy", seq), sink)
    service.start()
    try:
        await eventually(lambda: sum(c for _, c in sink.acks) == writer.MAX_BATCH + 1)
    finally:
        await service.stop()
    assert counted.chunks == [(writer.MAX_BATCH, True), (1, True)]
    assert sink.acks == [(writer.MAX_BATCH, writer.MAX_BATCH), (writer.MAX_BATCH + 1, 1)]
    assert service.pending_high_water == writer.MAX_BATCH


def test_a_stopped_writer_that_never_started_stops_quietly() -> None:
    asyncio.run(HealthService(HealthBoard(), lambda *a: None).stop())
