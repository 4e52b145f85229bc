"""The report writer's promises the first writer tests left loose, on a real store file: a report
the store cannot hold refused alone (and said, and counted across commits), the fault and
recovery lines an operator reads, paused sessions held until the queue is really short, the
delays it reports, the board's own interval and restart grace, and a board loaded from the
store. Each case is one a mutation of ``confsched/services/health.py`` survived before."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from confsched.domain import health as rules
from confsched.domain.health import Observation, judge
from confsched.domain.model import EndpointState, Fleet
from confsched.errors import NotFound, StoreUnavailable
from confsched.services import health as writer
from confsched.services.health import HealthBoard, HealthService, load_board
from confsched.store.db import open_db
from confsched.store.health import StoredHealth, enroll_key, save_health
from confsched.store.health_history import HistoryKeeper
from confsched.store.inventory import save_fleet
from confsched.store.runner import StoreRunner
from tests.conftest import reports_kept
from tests.test_agentlink import eventually
from tests.test_cli_health import KEY

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
UNSTORABLE = 2**64
"""A seq SQLite cannot hold (OverflowError) as a room's latest report: the store refuses the
report for its content."""
FULL = StoreUnavailable("disk_full", "database or disk is full")


def report(
    endpoint: str, seq: int, instance: str = "a" * 32, at: datetime | None = None
) -> StoredHealth:
    when = at or NOW + timedelta(seconds=seq)
    health = judge(Observation(endpoint, when, {"camera": True}))
    return StoredHealth(health, seq, when, 10.0, instance)


class Sink:
    """Records what the writer tells one sender, refusals with their detail."""

    def __init__(self) -> None:
        self.acks: list[tuple[int, int]] = []
        self.refusals: list[tuple[int, str, str]] = []

    def acked(self, seq: int, count: int) -> None:
        self.acks.append((seq, count))

    def refused(self, seq: int, reason: str, detail: str) -> None:
        self.refusals.append((seq, reason, detail))


class Scripted:
    """The real store behind a script of full-disk failures: ``True`` in ``fail`` fails that
    write as a full disk does; the writes' sizes are kept in order."""

    def __init__(self, runner: StoreRunner, fail: list[bool] | None = None) -> None:
        self.runner, self.fail = runner, list(fail or [])
        self.sizes: list[int] = []
        self.gate: asyncio.Event | None = None

    async def write(self, fn: Any, items: list[StoredHealth], *args: Any) -> Any:
        self.sizes.append(len(items))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail and self.fail.pop(0):
            raise FULL
        return await self.runner.write(fn, items, *args)


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[StoreRunner]:
    runner = StoreRunner(tmp_path / "data")
    yield runner
    runner.close()


async def test_a_report_the_store_cannot_hold_is_refused_alone_said_and_counted(
    store: StoreRunner, caplog: pytest.LogCaptureFixture
) -> None:
    """Split around the bad report in halves, in order; it alone is refused to its sender, with
    the store's reason; the rest stored and acknowledged; the count grows commit after commit."""
    scripted = Scripted(store)
    board = HealthBoard()
    service = HealthService(board, scripted.write)
    sink = Sink()
    items = [report("tinh-uy", seq) for seq in range(1, 9)]
    items[5] = report("so-y-te", UNSTORABLE, at=NOW)  # its room's only, so its latest, report
    for item in items:
        service.submit(item, sink)
    with caplog.at_level(logging.WARNING, "confsched.services.health"):
        service.start()
        try:
            await eventually(lambda: sum(count for _, count in sink.acks) == 8)
            assert scripted.sizes == [8, 4, 4, 2, 1, 2, 1, 2]
            later = replace(report("ubnd-tinh", 1), seq=UNSTORABLE)
            service.submit(later, sink)
            await eventually(lambda: len(sink.refusals) == 2)
        finally:
            await service.stop()
    assert [(seq, reason) for seq, reason, _ in sink.refusals] == [(UNSTORABLE, "unstorable")] * 2
    detail = sink.refusals[0][2]
    assert detail.startswith("the store refused this report: ") and len(detail) <= 200
    why = detail.removeprefix("the store refused this report: ")
    assert why and why != "None"
    assert [r.getMessage() for r in caplog.records] == [
        f"so-y-te: report seq {UNSTORABLE} refused by the store: {why}",
        f"ubnd-tinh: report seq {UNSTORABLE} refused by the store: {why}",
    ]
    assert board.reports_rejected == {"unstorable": 2}
    assert (board.reports_accepted, service.batches, board.version) == (7, 2, 2)
    assert board.latest["tinh-uy"].seq == 8
    assert "so-y-te" not in board.latest and "ubnd-tinh" not in board.latest
    assert await store.read(reports_kept, "tinh-uy", NOW) == 7


async def test_resends_are_counted_across_commits(store: StoreRunner) -> None:
    board = HealthBoard()
    service = HealthService(board, store.write)
    sink = Sink()
    service.start()
    try:
        for round_ in range(2):
            service.submit(report("tinh-uy", round_ + 1), sink)
            service.submit(report("tinh-uy", round_ + 1), sink)  # its ack was lost
            await eventually(lambda n=round_: len(sink.acks) == n + 1)
    finally:
        await service.stop()
    assert (board.reports_accepted, board.reports_duplicate) == (2, 2)


async def test_a_full_store_is_said_once_per_fault_with_what_waits_and_its_end_with_its_length(
    store: StoreRunner, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(writer, "RETRY_SECONDS", 0.01)
    # 500 fail, 50 fail, 50 and 100 stored, 200 fail (a new fault), then the rest is stored
    scripted = Scripted(store, fail=[True, True, False, False, True])
    service = HealthService(HealthBoard(), scripted.write)
    sink = Sink()
    for seq in range(1, 601):  # one commit's 500 and 100 more behind it
        service.submit(report("tinh-uy", seq), sink)
    with caplog.at_level(logging.WARNING, "confsched.services.health"):
        service.start()
        try:
            await eventually(lambda: sum(count for _, count in sink.acks) == 600, timeout=20)
        finally:
            await service.stop()
    said = [r.getMessage() for r in caplog.records]
    waiting = "reports wait unacknowledged (the agents keep theirs), retrying every 0.01 s"
    assert said[0] == f"{FULL}; 600 {waiting}"
    assert said[2] == f"{FULL}; 450 {waiting}"  # the new fault: 350 of the commit, 100 behind
    assert len(said) == 4
    for line in (said[1], said[3]):
        found = re.fullmatch(r"the store writes again after (\d+\.\d) s", line)
        assert found and float(found.group(1)) < 30
    assert service.faulted_since is None


async def test_paused_sessions_wait_until_fewer_than_the_low_mark_wait(
    store: StoreRunner,
) -> None:
    scripted = Scripted(store)
    scripted.gate = asyncio.Event()
    service = HealthService(HealthBoard(), scripted.write)
    for seq in range(1, writer.MAX_BATCH + writer.QUEUE_LOW + 1):
        service.submit(report("tinh-uy", seq), Sink())
    resumed: list[int] = []
    service.wait_for_room(lambda: resumed.append(1))
    service.start()
    try:
        await eventually(lambda: scripted.sizes == [writer.MAX_BATCH])
        await asyncio.sleep(0.05)
        assert resumed == []  # QUEUE_LOW still wait: not short yet
        scripted.gate.set()
        await eventually(lambda: resumed == [1])
    finally:
        await service.stop()


async def test_the_delays_it_reports_are_the_real_ones(store: StoreRunner) -> None:
    delays: list[float] = []
    acks: list[float] = []
    service = HealthService(HealthBoard(), store.write, observe_delay=delays.append)
    service.observe_ack = acks.append
    assert service.pending_high_water == 0
    now = datetime.now(UTC)
    sink = Sink()
    service.submit(report("tinh-uy", 1, at=now - timedelta(seconds=5)), sink)
    service.submit(report("tinh-uy", 1, at=now - timedelta(seconds=5)), sink)  # a resend
    service.start()
    try:
        await eventually(lambda: sink.acks)
    finally:
        await service.stop()
    assert len(delays) == 1 and 4.0 <= delays[0] < 60.0
    assert len(acks) == 2 and all(0.0 <= wait < 30.0 for wait in acks)


async def test_the_writer_is_a_named_task_gone_once_stopped(store: StoreRunner) -> None:
    service = HealthService(HealthBoard(), store.write)
    service.start()
    named = [t for t in asyncio.all_tasks() if t.get_name() == "health-writer"]
    assert len(named) == 1
    await service.stop()
    assert named[0].done()


async def test_while_faulted_each_report_shown_is_a_change_of_the_board(
    store: StoreRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "RETRY_SECONDS", 0.05)
    board = HealthBoard()
    service = HealthService(board, Scripted(store, fail=[True] * 100).write)
    service.start()
    try:
        service.submit(report("tinh-uy", 1), Sink())
        await eventually(lambda: service.faulted_since is not None)
        before = board.version
        service.submit(report("ubnd-tinh", 1), Sink())
        service.submit(report("so-y-te", 1), Sink())
        assert board.version == before + 2
    finally:
        await service.stop()


def test_a_room_is_judged_by_its_own_interval_and_the_schedulers_restart() -> None:
    board = HealthBoard(default_interval=timedelta(seconds=10))
    slow = report("slow", 1, at=NOW)
    board.latest["slow"] = replace(slow, interval=60.0)
    board.latest["fleet"] = replace(report("fleet", 1, at=NOW), interval=None)
    assert board.interval("slow") == timedelta(seconds=60)
    assert board.interval("fleet") == timedelta(seconds=10)
    assert board.interval("never-seen") == timedelta(seconds=10)
    later = NOW + timedelta(seconds=45)  # four of the fleet's intervals, under one of its own
    assert board.health("slow", later).state is not EndpointState.OFFLINE
    assert board.health("fleet", later).state is EndpointState.OFFLINE
    board.restart = rules.Restart(NOW + timedelta(seconds=40), NOW)  # back up 5 s ago
    assert board.health("fleet", later).state is not EndpointState.OFFLINE


async def test_a_board_loaded_from_the_store_holds_the_latest_and_this_start(
    store: StoreRunner,
) -> None:
    start = NOW + timedelta(hours=1)
    empty = await store.read(load_board, timedelta(seconds=30), start)
    assert empty.latest == {} and empty.restart == rules.Restart(start, None)
    keeper = HistoryKeeper(limits=HealthBoard().thresholds)
    first, second = report("tinh-uy", 1), report("ubnd-tinh", 1, at=NOW + timedelta(minutes=5))
    await store.write(save_health, [first, second], keeper)
    board = await store.read(load_board, timedelta(seconds=30), start)
    assert board.default_interval == timedelta(seconds=30)
    assert {e: s.seq for e, s in board.latest.items()} == {"tinh-uy": 1, "ubnd-tinh": 1}
    assert board.restart == rules.Restart(start, second.health.last_report_at)


def test_revoking_names_a_room_the_fleet_has_not_and_cuts_a_known_one_once(
    tmp_path: Path, sample_fleet: Fleet
) -> None:
    db = open_db(tmp_path / "data")
    with pytest.raises(NotFound) as no_fleet:
        writer.revoke(db, "tinh-uy", NOW)
    assert (no_fleet.value.kind, no_fleet.value.ident) == ("endpoint", "tinh-uy")
    save_fleet(db, sample_fleet)
    with pytest.raises(NotFound) as unknown:
        writer.revoke(db, "phong-khong-co", NOW)
    assert str(unknown.value) == "unknown endpoint 'phong-khong-co'"
    assert (unknown.value.kind, unknown.value.ident) == ("endpoint", "phong-khong-co")
    room = next(iter(sample_fleet.endpoints))
    enroll_key(db, room, KEY, NOW)
    assert writer.revoke(db, room, NOW) is True
    assert writer.revoke(db, room, NOW) is False  # no active key left
