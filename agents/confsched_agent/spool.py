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

A report the disk cannot take (disk full, read-only, I/O error) is kept in memory instead, so
live reporting goes on: ``failure`` says why ("disk full") until a write succeeds again, and the
agent reports it as its ``spool`` check. Those reports are lost if the agent restarts before
they are acknowledged; nothing else is.
"""

from __future__ import annotations

import errno
import logging
import os
import uuid
from collections import deque
from collections.abc import Iterator
from pathlib import Path

_SUFFIX = ".report"
_ACKED = "acked"
_INSTANCE = "instance"

log = logging.getLogger("confsched.agent")


def failure_text(exc: OSError) -> str:
    """A write failure as the operator reads it: "disk full", "read-only file system", …"""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full"
    return (exc.strerror or type(exc).__name__).lower()


def new_instance() -> str:
    """A fresh, unguessable-enough id for one life of a spool."""
    return uuid.uuid4().hex


class DiskSpool:
    def __init__(self, directory: Path, limit: int = 10000, durable: bool = True) -> None:
        self._dir = directory
        self._limit = limit
        self._durable = durable
        self.dropped = 0
        self.failure = ""
        """Why the last report could not be written to disk ("" once writes work again)."""
        self._memory: dict[int, bytes] = {}
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
        try:
            self._write_report(seq, line)
        except OSError as exc:
            self._note_failure(failure_text(exc))
            self._memory[seq] = line
        else:
            self._note_failure("")
        self._seqs.append(seq)
        if len(self._seqs) > self._limit and self.dropped == 0:
            log.warning("spool full at %d reports: dropping the oldest", self._limit)
        while len(self._seqs) > self._limit:
            self._forget(self._seqs.popleft())
            self.dropped += 1

    def _write_report(self, seq: int, line: bytes) -> None:
        final = self._path(seq)
        tmp = final.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as handle:
                handle.write(line)
                if self._durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, final)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise

    def _note_failure(self, failure: str) -> None:
        """Log a write failure when it starts or changes, and once when it ends."""
        if failure != self.failure:
            if failure:
                log.error(
                    "spool %s: %s; reports kept in memory until it clears", self._dir, failure
                )
            else:
                log.warning("spool %s: writing again", self._dir)
        self.failure = failure

    def _forget(self, seq: int) -> None:
        if self._memory.pop(seq, None) is None:
            self._path(seq).unlink(missing_ok=True)

    def acknowledge(self, seq: int) -> int:
        """Drop every report up to and including ``seq``; returns how many were dropped."""
        dropped = 0
        while self._seqs and self._seqs[0] <= seq:
            self._forget(self._seqs.popleft())
            dropped += 1
        if seq > self._acked:
            self._acked = seq
            try:
                self._write_acked(seq)
            except OSError as exc:  # the marker catches up on the next acknowledgement
                self._note_failure(failure_text(exc))
        return dropped

    def discard(self, seq: int) -> None:
        """Forget one report the scheduler refused for good (it would never be acknowledged)."""
        if seq in self._seqs:
            self._seqs.remove(seq)
            self._forget(seq)

    # -- reading --------------------------------------------------------------------------------

    def pending(self, after: int, limit: int) -> Iterator[tuple[int, bytes]]:
        """Up to ``limit`` kept reports with a seq above ``after``, oldest first."""
        taken = 0
        for seq in self._seqs:
            if seq <= after:
                continue
            if taken >= limit:
                return
            line = self._memory.get(seq)
            if line is None:
                try:
                    line = self._path(seq).read_bytes()
                except FileNotFoundError:
                    continue
            yield seq, line
            taken += 1

    # -- files ----------------------------------------------------------------------------------

    def _path(self, seq: int) -> Path:
        return self._dir / f"{seq:016d}{_SUFFIX}"

    def _scan(self) -> Iterator[int]:
        for path in self._dir.glob("*" + _SUFFIX):
            stem = path.name[: -len(_SUFFIX)]
            if stem.isascii() and stem.isdigit():
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
        self.failure = ""
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
