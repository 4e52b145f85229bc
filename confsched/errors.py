"""The exception tree of the scheduler.

    ConfschedError                  anything the user can act on; never a bug
    ├── InvalidInput                 a value given on the CLI or in the API is malformed
    ├── NotFound                     an id names nothing (endpoint, group, session, agency, …)
    ├── FleetInvalid                 the fleet file was refused; carries every problem
    ├── BookingRefused               the booking engine said no; carries every conflict
    ├── FleetImportRefused           a re-import would break booked sittings; carries them
    ├── Unauthorized                 a token or key was missing or wrong
    │   └── Forbidden                a good token that may not do this (a viewer writing)
    └── StoreUnavailable             the store cannot write now (disk full, busy); nothing was
                                     written, the same request may succeed later

Only the CLI and the HTTP layer turn these into exit codes, messages and status codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ConfschedError(Exception):
    """Base of every error a user can cause and fix."""


class InvalidInput(ConfschedError):
    """A malformed value: the message says which and why."""


class NotFound(ConfschedError):
    """An identifier that names nothing stored."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"unknown {kind} {ident!r}")
        self.kind = kind
        self.ident = ident


class Unauthorized(ConfschedError):
    """Missing or wrong credentials."""


class Forbidden(Unauthorized):
    """Credentials that are good but not enough for this (a viewer token asked to write)."""


@dataclass(frozen=True, slots=True)
class FleetProblem:
    """One thing wrong in a fleet file, located at a line."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FleetInvalid(ConfschedError):
    """The fleet file is refused whole; every problem found is kept, the first 50 are told."""

    SHOWN = 50

    def __init__(self, problems: Sequence[FleetProblem]) -> None:
        self.problems = tuple(problems)
        lines = [str(p) for p in self.problems[: self.SHOWN]]
        if len(self.problems) > self.SHOWN:
            lines.append(f"… {len(self.problems)} problems in all; the first {self.SHOWN} shown")
        super().__init__("\n".join(lines))


class FleetImportRefused(ConfschedError):
    """A re-imported fleet file would break booked sittings; ``outcome`` holds the changes and
    every affected sitting (see ``confsched.services.fleet_import``). Nothing was stored."""

    def __init__(self, message: str, outcome: object) -> None:
        super().__init__(message)
        self.outcome = outcome


class BookingRefused(ConfschedError):
    """The booking engine refused; ``conflicts`` holds structured reasons (see domain.booking)."""

    def __init__(self, message: str, conflicts: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.conflicts = tuple(conflicts)


_STORE_MESSAGES = {
    "disk_full": "the store cannot write: the disk is full",
    "busy": "the store is busy (another process holds its write lock); try again",
    "io_error": "the store cannot write: an I/O error",
    "read_only": "the store cannot write: its file or directory is read-only",
}


class StoreUnavailable(ConfschedError):
    """The store could not take a write for a reason outside the request: the disk is full, the
    write lock stayed held past the busy timeout, an I/O error. ``reason`` is a short bounded code
    (``disk_full``, ``busy``, ``io_error``, ``read_only``): it becomes a metrics label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        message = _STORE_MESSAGES.get(reason, f"the store cannot write ({reason})")
        super().__init__(f"{message} ({detail})" if detail else message)
        self.reason = reason
