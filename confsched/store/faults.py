"""Store faults: which SQLite errors mean "cannot write now" rather than "this write is wrong".

A full disk, a write lock held past the busy timeout, an I/O error or a read-only file say
nothing about the rows being written: the same write succeeds once the fault is gone, so callers
keep what they hold and retry or answer "try later" (:class:`~confsched.errors.StoreUnavailable`).
Anything else a write raises is about its content (a constraint, a value SQLite cannot hold):
retrying it would fail forever, so it is refused.

:class:`FaultState` is the running scheduler's picture of its store, kept by the
:class:`~confsched.store.runner.StoreRunner` from the outcome of every write: read by
``/healthz`` and the metrics without touching SQLite.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from confsched.errors import StoreUnavailable

FAULT_REASONS = ("disk_full", "busy", "io_error", "read_only")
"""Every reason :func:`unavailable` gives (bounded: they become label values)."""

_CODES = {
    sqlite3.SQLITE_FULL: "disk_full",
    sqlite3.SQLITE_BUSY: "busy",
    sqlite3.SQLITE_LOCKED: "busy",
    sqlite3.SQLITE_IOERR: "io_error",
    sqlite3.SQLITE_READONLY: "read_only",
    sqlite3.SQLITE_CANTOPEN: "io_error",
}

CONTENT_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.IntegrityError,
    sqlite3.DataError,
    sqlite3.InterfaceError,
    ValueError,
    OverflowError,
    TypeError,
)
"""What a write raises when a row itself cannot be stored (never fixed by waiting)."""


def unavailable(exc: sqlite3.Error) -> StoreUnavailable | None:
    """The fault ``exc`` reports, or None when it is about the write itself (or a bug)."""
    code = getattr(exc, "sqlite_errorcode", None)
    reason = _CODES.get(code & 0xFF) if isinstance(code, int) else None
    if reason is None:
        text = str(exc).lower()
        if "disk is full" in text:
            reason = "disk_full"
        elif "locked" in text or "busy" in text:
            reason = "busy"
    return None if reason is None else StoreUnavailable(reason, str(exc))


@dataclass(frozen=True, slots=True)
class StoreFault:
    """The store stopped taking writes at ``since`` (Unix seconds) for ``reason``."""

    reason: str
    since: float


@dataclass
class FaultState:
    """The current fault (None: the last write succeeded) and failed writes by reason.

    A busy store is counted but is no fault: the lock is another process's, held for a moment,
    and the write that met it is answered "try again". A full disk, an I/O error or a read-only
    file last until someone acts, so they are the fault until a write succeeds again.
    """

    fault: StoreFault | None = None
    failures: Counter[str] = field(default_factory=Counter)

    def failed(self, reason: str, now: float) -> None:
        self.failures[reason] += 1
        if reason != "busy" and (self.fault is None or self.fault.reason != reason):
            self.fault = StoreFault(reason, now)

    def succeeded(self) -> None:
        self.fault = None
