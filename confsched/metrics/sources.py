"""What the metrics collector reads at scrape time: small typed snapshot sources.

The collector never touches SQLite on a scrape (the scrape handler runs on the event loop). It
reads two things:

* the health board: in-memory latest judged health per endpoint plus the cumulative
  counters of the agent link (reports accepted/rejected, SSH logins refused). The health board
  keeps these anyway; reading them is a dict lookup per endpoint.
* a :class:`BookingSnapshot`: bridge ports in use, sessions by state, who is booked next and
  the readiness of sessions starting within the hour. These come from the store, so a
  background task refreshes the snapshot off the event loop (on every change of the
  "sessions"/"readiness" areas and every few seconds, as "in use now" moves with the clock)
  and the scrape only reads the last one.

Everything here is plain data so that tests can hand the collector in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from confsched.domain.model import EndpointHealth, Readiness

SESSION_STATES: tuple[str, ...] = ("upcoming", "setup", "running", "finished", "cancelled")
"""States of a session (series) by its current or next occurrence, for ``confsched_sessions``."""

READINESS_STATES: tuple[Readiness, ...] = (
    Readiness.PENDING,
    Readiness.READY,
    Readiness.NOT_READY,
    Readiness.NO_ANSWER,
)


@dataclass(frozen=True, slots=True)
class HealthCounters:
    """Cumulative counters of the agent link since the scheduler started.

    Reason keys are short bounded codes (``bad_json``, ``too_long``, ``wrong_endpoint``,
    ``unknown_key``, ``revoked_key`` …), never free text: they become label values.
    """

    reports_accepted: int = 0
    reports_rejected: Mapping[str, int] = field(default_factory=dict)
    logins_refused: Mapping[str, int] = field(default_factory=dict)
    logins_deferred: int = 0


class HealthEntry(Protocol):
    """One endpoint's latest judged report as the health board keeps it (``StoredHealth``)."""

    @property
    def health(self) -> EndpointHealth: ...

    @property
    def interval(self) -> float:
        """The agent's report interval in seconds (0: the fleet's); ages the state."""
        ...


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """The store's fault as the writer last met it (``fault`` empty: it writes), and the
    writes it could not take since the scheduler started, by reason."""

    fault: str = ""
    fault_since: float = 0.0
    """Unix time the fault began (0 without one)."""
    write_failures: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BookingSnapshot:
    """Booking-derived state at ``taken_at`` (Unix seconds), refreshed in the background."""

    taken_at: float = 0.0
    ports_in_use: Mapping[str, int] = field(default_factory=dict)
    """bridge id → ports taken now by occurrences in their setup or running window."""
    sessions: Mapping[str, int] = field(default_factory=dict)
    """state (one of SESSION_STATES) → number of sessions."""
    next_start: Mapping[str, float] = field(default_factory=dict)
    """endpoint id → Unix start time of the next occurrence it is booked for (horizon: a day)."""
    next_setup: Mapping[str, float] = field(default_factory=dict)
    """endpoint id → Unix time that occurrence's setup window (its self-test) opens."""
    upcoming_sessions: int = 0
    """Occurrences in their setup window or starting within the next hour."""
    readiness: Mapping[str, Readiness] = field(default_factory=dict)
    """endpoint id → its readiness for the occurrence it is booked for within the next hour."""
    at_risk: Mapping[str, bool] = field(default_factory=dict)
    """endpoint id → whether it would not be ready now, for every room of an occurrence starting
    within 24 h (or running): the forecast of ``confsched sessions risk``."""
    sessions_at_risk: Mapping[str, int] = field(default_factory=dict)
    """area label ("" for the province's own rooms) → occurrences within 24 h with a room of
    that area at risk."""
    refusals: Mapping[str, int] = field(default_factory=dict)
    """reason → bookings refused so far, as counted in the store by whichever process refused."""
    invites: Mapping[str, int] = field(default_factory=dict)
    """Invite messages in the outbox by status (pending, sent, failed, skipped), ever."""


EMPTY_BOOKING = BookingSnapshot()
EMPTY_COUNTERS = HealthCounters()
