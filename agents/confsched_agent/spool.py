"""Reports waiting for the scheduler's acknowledgement, kept on disk in sequence order.

Every report goes through the spool, connected or not: it is written (one small file per
report, written then renamed, so a crash never leaves half a report) before it is sent, and
removed only once the scheduler acknowledged it. The spool is bounded: past ``limit`` reports
the oldest are dropped and counted, so a room that stayed offline for weeks cannot fill the disk.
The last acknowledged sequence number is kept too (written durably: a lost marker after a power
cut would restart numbering below what the scheduler already stored), so numbering survives an
empty spool and a restart. Each spool has an ``instance`` id, made when the spool is created: the
agent names it in its hello, so a wiped or reinstalled spool, whose numbering starts again, is
told apart from a resend of the old one.
"""

from __future__ import annotations

import os
import uuid
from collections import deque
from collections.abc import Iterator
from pathlib import Path

_SUFFIX = ".report"
_ACKED = "acked"
_INSTANCE = "instance"


def new_instance() -> str:
    """A fresh, unguessable-enough id for one life of a spool."""
    return uuid.uuid4().hex


class DiskSpool:
    def __init__(self, directory: Path, limit: int = 10000, durable: bool = True) -> None:
        self._dir = directory
        self._limit = limit
        self._durable = durable
        self.dropped = 0
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for stale in directory.glob("*.tmp"):
            stale.unlink(missing_ok=True)
        self._seqs: deque[int] = deque(sorted(self._scan()))
        self._acked = self._read_acked()
        self.instance = self._read_instance()

    # -- numbering ------------------------------------------------------------------------------

    def next_seq(self) -> int:
        last = self._seqs[-1] if self._seqs else 0
        return max(last, self._acked) + 1

    def __len__(self) -> int:
        return len(self._seqs)

    # -- writing --------------------------------------------------------------------------------

    def append(self, seq: int, line: bytes) -> None:
        """Keep one encoded report line; ``seq`` must be above every seq already kept."""
        if self._seqs and seq <= self._seqs[-1]:
            raise ValueError(f"seq {seq} is not after {self._seqs[-1]}")
        final = self._path(seq)
        tmp = final.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            handle.write(line)
            if self._durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, final)
        self._seqs.append(seq)
        while len(self._seqs) > self._limit:
            self._path(self._seqs.popleft()).unlink(missing_ok=True)
            self.dropped += 1

    def acknowledge(self, seq: int) -> int:
        """Drop every report up to and including ``seq``; returns how many were dropped."""
        dropped = 0
        while self._seqs and self._seqs[0] <= seq:
            self._path(self._seqs.popleft()).unlink(missing_ok=True)
            dropped += 1
        if seq > self._acked:
            self._acked = seq
            self._write_acked(seq)
        return dropped

    def discard(self, seq: int) -> None:
        """Forget one report the scheduler refused for good (it would never be acknowledged)."""
        if seq in self._seqs:
            self._seqs.remove(seq)
            self._path(seq).unlink(missing_ok=True)

    # -- reading --------------------------------------------------------------------------------

    def pending(self, after: int, limit: int) -> Iterator[tuple[int, bytes]]:
        """Up to ``limit`` kept reports with a seq above ``after``, oldest first."""
        taken = 0
        for seq in self._seqs:
            if seq <= after:
                continue
            if taken >= limit:
                return
            try:
                yield seq, self._path(seq).read_bytes()
            except FileNotFoundError:
                continue
            taken += 1

    # -- files ----------------------------------------------------------------------------------

    def _path(self, seq: int) -> Path:
        return self._dir / f"{seq:016d}{_SUFFIX}"

    def _scan(self) -> Iterator[int]:
        for path in self._dir.glob("*" + _SUFFIX):
            stem = path.name[: -len(_SUFFIX)]
            if stem.isdigit():
                yield int(stem)

    def _read_acked(self) -> int:
        try:
            return int((self._dir / _ACKED).read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _write_acked(self, seq: int) -> None:
        self._write_small(_ACKED, f"{seq}\n")

    def _read_instance(self) -> str:
        """This spool's life: kept in the directory, made afresh when the directory is new."""
        try:
            text = (self._dir / _INSTANCE).read_text().strip()
        except FileNotFoundError:
            text = ""
        if len(text) >= 8 and text.isalnum():
            return text
        instance = new_instance()
        self._write_small(_INSTANCE, instance + "\n")
        return instance

    def _write_small(self, name: str, text: str) -> None:
        """Replace one small file whole; fsynced (file and directory) when durable."""
        tmp = self._dir / (name + ".tmp")
        with open(tmp, "w") as handle:
            handle.write(text)
            if self._durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, self._dir / name)
        if self._durable:
            _fsync_dir(self._dir)


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX; a no-op where directories cannot open)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class MemorySpool:
    """The same interface in memory, for simulated agents (thousands of them in one process)."""

    def __init__(self, limit: int = 10000) -> None:
        self._items: deque[tuple[int, bytes]] = deque()
        self._limit = limit
        self._acked = 0
        self.dropped = 0
        self.instance = new_instance()

    def next_seq(self) -> int:
        last = self._items[-1][0] if self._items else 0
        return max(last, self._acked) + 1

    def __len__(self) -> int:
        return len(self._items)

    def append(self, seq: int, line: bytes) -> None:
        self._items.append((seq, line))
        while len(self._items) > self._limit:
            self._items.popleft()
            self.dropped += 1

    def acknowledge(self, seq: int) -> int:
        dropped = 0
        while self._items and self._items[0][0] <= seq:
            self._items.popleft()
            dropped += 1
        self._acked = max(self._acked, seq)
        return dropped

    def discard(self, seq: int) -> None:
        self._items = deque(item for item in self._items if item[0] != seq)

    def pending(self, after: int, limit: int) -> Iterator[tuple[int, bytes]]:
        taken = 0
        for seq, line in self._items:
            if seq <= after:
                continue
            if taken >= limit:
                return
            yield seq, line
            taken += 1
