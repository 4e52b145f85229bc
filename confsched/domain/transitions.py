"""A room's state changes over a window, from its stored reports: pure, no clock.

History holds reports, not states: "offline" is never reported, it is the silence between two
reports (or after the last one) lasting ``offline_after`` intervals. :func:`state_changes`
rebuilds the sequence an operator would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from confsched.domain.health import Thresholds
from confsched.domain.model import EndpointHealth, EndpointState


@dataclass(frozen=True, slots=True)
class StateChange:
    at: datetime
    state: EndpointState
    reasons: tuple[str, ...]


def state_changes(
    reports: Sequence[tuple[EndpointHealth, timedelta]],
    until: datetime,
    limits: Thresholds | None = None,
) -> list[StateChange]:
    """Each moment the visible state changed, oldest first.

    ``reports`` are (judged report, its report interval), oldest first, each with its
    ``last_report_at``; ``until`` is the end of the window (now). The first report opens the
    list with its state.
    """
    limits = limits or Thresholds()
    changes: list[StateChange] = []
    previous: tuple[datetime, timedelta] | None = None
    for health, interval in reports:
        heard = health.last_report_at
        if heard is None:
            continue
        if previous is not None:
            _silence(changes, previous, heard, limits)
        if not changes or changes[-1].state is not health.state:
            changes.append(StateChange(heard, health.state, health.reasons))
        previous = (heard, interval)
    if previous is not None:
        _silence(changes, previous, until, limits)
    return changes


def _silence(
    changes: list[StateChange],
    previous: tuple[datetime, timedelta],
    next_heard: datetime,
    limits: Thresholds,
) -> None:
    """Add an offline change when the gap after the ``previous`` report lasted long enough."""
    heard, interval = previous
    offline_at = heard + interval * limits.offline_after
    if next_heard >= offline_at:
        changes.append(StateChange(offline_at, EndpointState.OFFLINE, ("no report",)))


# --- the change log: what is kept of a room's reports once they are summarised ----------------


@dataclass(frozen=True, slots=True)
class Heard:
    """What the change log remembers of a room's previous report: when, in which state, and
    how often it reports (its silence turns it offline after ``offline_after`` intervals)."""

    at: datetime
    state: EndpointState
    interval: timedelta


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One stored change: a report whose state differs from the report before it, or that
    ended a silence (``silent_from``: when that silence made the room offline)."""

    at: datetime
    state: EndpointState
    reasons: tuple[str, ...]
    codes: tuple[str, ...]
    silent_from: datetime | None = None


def change_of(
    previous: Heard | None, health: EndpointHealth, limits: Thresholds | None = None
) -> ChangeRecord | None:
    """The record ``health`` adds to the change log after ``previous`` (None: nothing changed).

    A room's first report opens its log; a silence long enough to be offline is recorded with
    the report that ends it, even in the same state, so :func:`replay` rebuilds exactly the
    changes :func:`state_changes` finds in every report.
    """
    heard = health.last_report_at
    if heard is None:
        return None
    silent_from = None
    if previous is not None:
        offline_at = previous.at + previous.interval * (limits or Thresholds()).offline_after
        silent_from = offline_at if heard >= offline_at else None
        if silent_from is None and previous.state is health.state:
            return None
    return ChangeRecord(heard, health.state, health.reasons, health.codes, silent_from)


def replay(
    records: Sequence[ChangeRecord],
    last: Heard | None,
    until: datetime,
    limits: Thresholds | None = None,
) -> list[StateChange]:
    """The state changes a change log holds, oldest first, with the silence after ``last``
    (the room's latest report) up to ``until``: what :func:`state_changes` gives from every
    report of the same stretch."""
    changes: list[StateChange] = []
    for record in records:
        if record.silent_from is not None and changes:
            changes.append(StateChange(record.silent_from, EndpointState.OFFLINE, ("no report",)))
        if not changes or changes[-1].state is not record.state:
            changes.append(StateChange(record.at, record.state, record.reasons))
    if last is not None and changes:
        _silence(changes, (last.at, last.interval), until, limits or Thresholds())
    return changes
