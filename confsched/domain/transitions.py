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
