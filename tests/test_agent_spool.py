"""The agent's spool: ordered, bounded, durable across restarts, dropped only when acked."""

from __future__ import annotations

from pathlib import Path

import pytest
from confsched_agent.spool import DiskSpool, MemorySpool


def fill(spool: DiskSpool | MemorySpool, count: int) -> None:
    for _ in range(count):
        seq = spool.next_seq()
        spool.append(seq, f"report {seq}\n".encode())


@pytest.fixture(params=["disk", "memory"])
def spool(request: pytest.FixtureRequest, tmp_path: Path) -> DiskSpool | MemorySpool:
    return DiskSpool(tmp_path / "spool", limit=5) if request.param == "disk" else MemorySpool(5)


def test_pending_reports_come_out_in_order_after_a_point(spool) -> None:
    fill(spool, 4)
    assert [seq for seq, _ in spool.pending(after=1, limit=10)] == [2, 3, 4]
    assert [seq for seq, _ in spool.pending(after=0, limit=2)] == [1, 2]


def test_acknowledge_drops_everything_up_to_seq(spool) -> None:
    fill(spool, 4)
    assert spool.acknowledge(2) == 2
    assert [line for _, line in spool.pending(0, 10)] == [b"report 3\n", b"report 4\n"]


def test_the_oldest_go_first_when_full(spool) -> None:
    fill(spool, 8)
    assert [seq for seq, _ in spool.pending(0, 10)] == [4, 5, 6, 7, 8]
    assert spool.dropped == 3


def test_numbering_continues_after_everything_was_acknowledged(spool) -> None:
    fill(spool, 3)
    spool.acknowledge(3)
    assert len(spool) == 0 and spool.next_seq() == 4


def test_disk_spool_survives_a_restart(tmp_path: Path) -> None:
    first = DiskSpool(tmp_path / "s")
    fill(first, 5)
    first.acknowledge(2)
    (tmp_path / "s" / "0000000000000009.tmp").write_bytes(b"half a rep")  # a crash mid-write
    again = DiskSpool(tmp_path / "s")
    assert [seq for seq, _ in again.pending(0, 10)] == [3, 4, 5]
    assert again.next_seq() == 6
    again.acknowledge(5)
    assert DiskSpool(tmp_path / "s").next_seq() == 6
    assert not list((tmp_path / "s").glob("*.tmp"))


def test_discard_forgets_one_refused_report(spool) -> None:
    fill(spool, 3)
    spool.discard(2)
    assert [seq for seq, _ in spool.pending(0, 10)] == [1, 3]
