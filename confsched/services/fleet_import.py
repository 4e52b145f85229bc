"""Re-importing the fleet file without breaking a booking silently.

One ``BEGIN IMMEDIATE`` transaction: the file's changes and their impact on every booked sitting
still to end (``confsched.domain.fleet_impact``) are worked out under the lock that bookings
take, so no booking can slip in between. Then, by mode:

- ``APPLY``: refused (``FleetImportRefused``, nothing stored) when a sitting would break;
  otherwise stored, and rooms re-homed in the file follow their home bridge in their sittings.
- ``CHECK``: the changes and the impact, nothing stored.
- ``FORCE``: stored; each broken sitting is re-allocated over the new bridges when it can be
  (the cascade re-run with the ports free then), else marked "needs attention" (kept with the
  sitting: ``sessions list/show``, the API and the console show it) until it is moved or
  cancelled. A sitting with a removed room always needs attention: only an operator can choose
  what replaces the room.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import sqlite_utils

from confsched import __version__
from confsched.domain.booking import participants_with_homes
from confsched.domain.fleet_impact import (
    Affected,
    Booked,
    Impact,
    Key,
    RoomRemoved,
    attention_text,
    impact,
    project,
)
from confsched.domain.model import Fleet, Occurrence, PortAllocation, Session
from confsched.domain.ports import allocate, fits, free_ports
from confsched.errors import FleetImportRefused
from confsched.fleetfile import load_fleet_file
from confsched.store import booking as store
from confsched.store.db import bump_revision, immediate
from confsched.store.inventory import (
    ImportReport,
    fleet_changes,
    imported_digest,
    load_fleet,
    mark_imported,
    write_fleet,
)


class ImportMode(StrEnum):
    APPLY = "apply"
    CHECK = "check"
    FORCE = "force"


@dataclass
class ImportOutcome(ImportReport):
    """The changes (``ImportReport``), what they do to booked sittings, and what was done."""

    impact: Impact = field(default_factory=Impact)
    stored: bool = False
    reallocated: list[Key] = field(default_factory=list)
    """Broken sittings given a new allocation over the new bridges (``FORCE``)."""
    attention: list[Affected] = field(default_factory=list)
    """Broken sittings no bridge could take, now marked as needing attention (``FORCE``)."""
    followed: int = 0
    """Sittings whose rooms followed a re-homed room's new home bridge."""


def import_fleet(
    db: sqlite_utils.Database,
    path: str | Path,
    *,
    mode: ImportMode = ImportMode.APPLY,
    now: datetime | None = None,
) -> ImportOutcome:
    """Validate the whole file first: a refused file changes nothing stored."""
    digest = file_digest(path)
    fleet = load_fleet_file(path)
    now = now or datetime.now(UTC)
    with immediate(db):
        old = load_fleet(db)
        sittings = store.sittings_to_come(db, now) if old is not None else []
        booked = [_booked(s, o) for s, o in sittings]
        found = impact(old, fleet, booked) if old is not None else Impact()
        if mode is ImportMode.CHECK or (mode is ImportMode.APPLY and found.refused):
            outcome = _outcome(fleet_changes(db, fleet), found)
            if mode is ImportMode.APPLY:
                raise FleetImportRefused(_refusal(found), outcome)
            return outcome
        outcome = _outcome(write_fleet(db, fleet), found, stored=True)
        mark_imported(db, digest)
        if old is not None:
            outcome.followed = _follow_homes(db, old, fleet, sittings, found)
            _clear_fixed(db, sittings, found)
        if mode is ImportMode.FORCE:
            _repair(db, fleet, found, outcome)
        if outcome.followed or outcome.reallocated or outcome.attention:
            bump_revision(db, "sessions")
    return outcome


def file_digest(path: str | Path) -> str:
    """The fleet file's bytes as this version of confsched reads them (a new version may read
    the same file differently, so it imports it again); "" for a file that cannot be read (the
    import then says why)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ""
    return hashlib.sha256(__version__.encode() + b"\0" + data).hexdigest()


def import_unless_imported(db: sqlite_utils.Database, path: str | Path) -> bool:
    """Import the file unless it is the one the store holds already (``serve --rooms`` at every
    start: at 10,000 rooms, parsing and comparing costs seconds); True if it imported."""
    digest = file_digest(path)
    if digest and imported_digest(db) == digest:
        return False
    import_fleet(db, path)
    return True


def _outcome(report: ImportReport, found: Impact, stored: bool = False) -> ImportOutcome:
    return ImportOutcome(report.changes, report.settings, found, stored)


def _booked(session: Session, occurrence: Occurrence) -> Booked:
    return Booked(
        session.id,
        session.title,
        occurrence.recurrence_id,
        occurrence.start,
        occurrence.end,
        occurrence.busy_from,
        session.endpoints,
        occurrence.allocation or session.allocation,
        occurrence.attention,
    )


def _refusal(found: Impact) -> str:
    sittings = [a for a in found.affected if not a.booked.attention]
    sessions = {a.booked.session_id for a in sittings}
    return (
        f"import refused: {len(sittings)} booked sitting{'s' if len(sittings) != 1 else ''} of "
        f"{len(sessions)} session{'s' if len(sessions) != 1 else ''} would break; nothing stored "
        "('confsched rooms import FILE --check' lists them; --force applies and marks what "
        "cannot be re-allocated)"
    )


# --- applying ---------------------------------------------------------------------------------


def _follow_homes(
    db: sqlite_utils.Database,
    old: Fleet,
    new: Fleet,
    sittings: Sequence[tuple[Session, Occurrence]],
    found: Impact,
) -> int:
    """Store the projected allocations: rooms re-homed in the file dial their new home."""
    changed = found.projected or {}
    touched = 0
    for session, occurrence in sittings:
        allocation = changed.get((session.id, occurrence.recurrence_id))
        if allocation is not None:
            _set_allocation(db, session.id, occurrence.recurrence_id, allocation, old, new)
            touched += 1
    return touched


def _clear_fixed(
    db: sqlite_utils.Database, sittings: Sequence[tuple[Session, Occurrence]], found: Impact
) -> None:
    """A sitting marked by an earlier forced import that the new file no longer breaks is fine."""
    broken = {a.booked.key for a in found.affected}
    for session, occurrence in sittings:
        if occurrence.attention and (session.id, occurrence.recurrence_id) not in broken:
            current = store.occurrence(db, session.id, occurrence.recurrence_id)
            if current is not None:
                store.replace_occurrence(db, session, replace(current, attention=""))


def _set_allocation(
    db: sqlite_utils.Database,
    session_id: str,
    rid: datetime,
    allocation: PortAllocation,
    old: Fleet | None = None,
    new: Fleet | None = None,
    attention: str = "",
) -> None:
    """Give one sitting ``allocation``: a single session's own allocation; a series' sitting
    its own unless the series' allocation (projected when ``old``/``new`` are given) is it."""
    session = store.load_session(db, session_id)
    occurrence = store.occurrence(db, session_id, rid)
    if session is None or occurrence is None:
        return
    if not session.rrule:
        session = replace(session, allocation=allocation)
        store.update_session(db, session)
    elif old is not None and new is not None:
        series = project(session.allocation, old, new)
        if series != session.allocation:
            session = replace(session, allocation=series)
            store.update_session(db, session)
    own = None if allocation == session.allocation else allocation
    store.replace_occurrence(db, session, replace(occurrence, allocation=own, attention=attention))


def _repair(db: sqlite_utils.Database, fleet: Fleet, found: Impact, outcome: ImportOutcome) -> None:
    """Re-run the cascade for each broken sitting, in time order; mark the ones that fail."""
    for affected in found.affected:
        booked = affected.booked
        if any(isinstance(p, RoomRemoved) for p in affected.problems):
            _mark(db, booked, attention_text(affected.problems), outcome, affected)
            continue
        loads = [
            load
            for load in store.loads(db, booked.busy_from, booked.end)
            if (load.session_id, load.recurrence_id) != booked.key
        ]
        free = free_ports(fleet.bridges, loads, booked.busy_from, booked.end)
        current = store.occurrence(db, *booked.key)
        session = store.load_session(db, booked.session_id)
        if current is None or session is None:
            continue
        held = current.allocation or session.allocation
        if fits(held, free) and all(b in fleet.bridges for b in held.by_bridge):
            outcome.reallocated.append(booked.key)  # others moving away made room
            _set_allocation(db, *booked.key, held)
            continue
        fresh = allocate(participants_with_homes(fleet, booked.endpoints), fleet.bridges, free)
        if fresh is None:
            _mark(db, booked, attention_text(affected.problems), outcome, affected)
        else:
            _set_allocation(db, *booked.key, fresh)
            outcome.reallocated.append(booked.key)


def _mark(
    db: sqlite_utils.Database,
    booked: Booked,
    text: str,
    outcome: ImportOutcome,
    affected: Affected,
) -> None:
    occurrence = store.occurrence(db, *booked.key)
    session = store.load_session(db, booked.session_id)
    if occurrence is None or session is None:
        return
    store.replace_occurrence(db, session, replace(occurrence, attention=text))
    outcome.attention.append(affected)
