"""The spool's promises at their edges: the bound the README names, the words an operator reads,
a private directory, a durable default, files that vanish or do not belong, and a marker that
cannot be written. Each case is one a mutation of ``confsched_agent/spool.py`` survived before."""

from __future__ import annotations

import errno
import logging
import os
import re
from pathlib import Path

import pytest
from confsched_agent import spool as spool_module
from confsched_agent.spool import DiskSpool, MemorySpool, failure_text


def fill(spool: DiskSpool | MemorySpool, count: int) -> None:
    for _ in range(count):
        seq = spool.next_seq()
        spool.append(seq, f"report {seq}\n".encode())


def test_failure_text_is_the_systems_words_in_lower_case() -> None:
    assert failure_text(OSError(errno.ENOSPC, "No space left on device")) == "disk full"
    assert failure_text(OSError(errno.EDQUOT, "Disk quota exceeded")) == "disk full"
    assert failure_text(OSError(errno.EROFS, "Read-only file system")) == "read-only file system"
    assert failure_text(PermissionError()) == "permissionerror"  # no strerror: the kind


def test_the_bound_is_ten_thousand_reports_by_default(tmp_path: Path) -> None:
    memory = MemorySpool()
    fill(memory, 10_001)
    assert memory.dropped == 1 and len(memory) == 10_000
    disk = DiskSpool(tmp_path / "spool", durable=False)
    fill(disk, 10_001)
    assert disk.dropped == 1 and len(disk) == 10_000
    assert next(disk.pending(0, 1))[0] == 2


def test_a_disk_spool_is_durable_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    spool = DiskSpool(tmp_path / "spool")
    synced.clear()
    spool.append(1, b"r\n")
    assert synced, "a report is fsynced before it counts as kept"
    synced.clear()
    spool.acknowledge(1)
    assert len(synced) >= 2, "the acked marker is fsynced, file and directory"


def test_a_new_spool_is_private_healthy_and_has_its_own_life(tmp_path: Path) -> None:
    disk = DiskSpool(tmp_path / "spool")
    assert (tmp_path / "spool").stat().st_mode & 0o777 == 0o700
    assert disk.failure == "" and MemorySpool().failure == ""
    for spool in (disk, MemorySpool()):
        assert re.fullmatch(r"[0-9a-f]{32}", spool.instance)
    assert DiskSpool(tmp_path / "spool").instance == disk.instance
    assert MemorySpool().instance != MemorySpool().instance


def test_an_instance_of_eight_letters_is_kept_a_short_or_odd_one_replaced(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "spool"
    directory.mkdir()
    (directory / "instance").write_text("abcd1234\n")
    assert DiskSpool(directory).instance == "abcd1234"
    (directory / "instance").write_text("abc123\n")
    assert re.fullmatch(r"[0-9a-f]{32}", DiskSpool(directory).instance)
    (directory / "instance").write_text("not an id, at all\n")
    assert re.fullmatch(r"[0-9a-f]{32}", DiskSpool(directory).instance)


def test_a_seq_not_above_the_last_is_refused_and_named(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path / "spool", durable=False)
    for seq in (1, 2, 5):
        spool.append(seq, b"r\n")
    with pytest.raises(ValueError, match=r"^seq 4 is not after 5$"):
        spool.append(4, b"r\n")
    with pytest.raises(ValueError, match=r"^seq 5 is not after 5$"):
        spool.append(5, b"r\n")
    assert [seq for seq, _ in spool.pending(0, 10)] == [1, 2, 5]


def test_the_first_drop_is_logged_at_once_in_the_operators_words(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = DiskSpool(tmp_path / "spool", limit=2, durable=False)
    with caplog.at_level(logging.WARNING, "confsched.agent"):
        fill(spool, 3)
    assert [r.getMessage() for r in caplog.records] == [
        "spool full at 2 reports: dropping the oldest"
    ]


def test_a_failing_disk_and_its_end_are_logged_naming_the_spool(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "spool"
    spool = DiskSpool(directory, durable=False)
    (directory / f"{1:016d}.tmp").symlink_to("/dev/full")
    with caplog.at_level(logging.WARNING, "confsched.agent"):
        spool.append(1, b"r\n")
        spool.append(2, b"r\n")
    assert [r.getMessage() for r in caplog.records] == [
        f"spool {directory}: disk full; reports kept in memory until it clears",
        f"spool {directory}: writing again",
    ]


def test_a_report_that_cannot_even_be_opened_is_kept_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an agent not running as root meets on a spool directory it may not write: the open
    itself fails, no temporary file exists, and the failure is the open's, not a follow-up's."""
    spool = DiskSpool(tmp_path / "spool", durable=False)

    def refuse(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(spool_module, "open", refuse, raising=False)
    spool.append(1, b"report 1\n")
    assert spool.failure == "permission denied"
    assert list(spool.pending(0, 10)) == [(1, b"report 1\n")]
    monkeypatch.undo()
    spool.append(2, b"report 2\n")
    assert spool.failure == ""
    assert spool.acknowledge(2) == 2 and len(spool) == 0
    assert not spool._memory, "an acknowledged report kept in memory is freed"


def test_a_report_file_gone_from_disk_is_skipped_and_acknowledged_quietly(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "spool"
    spool = DiskSpool(directory, durable=False)
    fill(spool, 3)
    (directory / f"{2:016d}.report").unlink()  # an operator tidied up by hand
    assert [seq for seq, _ in spool.pending(0, 10)] == [1, 3]
    assert spool.acknowledge(3) == 3 and len(spool) == 0
    fill(spool, 1)
    (directory / f"{4:016d}.report").unlink()
    spool.discard(4)
    assert len(spool) == 0


def test_files_that_are_not_reports_are_left_alone(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    directory.mkdir()
    (directory / "notes.report").write_text("not a report\n")
    (directory / "²².report").write_text("not a report either\n")
    (directory / f"{7:016d}.report").write_bytes(b"report 7\n")
    spool = DiskSpool(directory)
    assert list(spool.pending(0, 10)) == [(7, b"report 7\n")]
    assert spool.next_seq() == 8


def test_an_empty_acked_marker_counts_from_zero(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    directory.mkdir()
    (directory / "acked").write_text("")
    assert DiskSpool(directory).next_seq() == 1


def test_an_acked_marker_the_disk_refuses_is_reported_and_catches_up(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    spool = DiskSpool(directory, durable=False)
    fill(spool, 2)
    (directory / "acked.tmp").symlink_to("/dev/full")
    assert spool.acknowledge(1) == 1
    assert spool.failure == "disk full"
    (directory / "acked.tmp").unlink()
    spool.acknowledge(2)
    assert (directory / "acked").read_text() == "2\n"
    assert DiskSpool(directory).next_seq() == 3
