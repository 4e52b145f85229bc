"""The booking side of the metrics, read from the store off the event loop.

:func:`booking_snapshot` runs on the store's reader thread (``ctx.store.read``) and reads through
the booking service's read functions (``occurrences_with_sessions``, ``bridge_usage``) and the
readiness store, so it never blocks a scrape: the scrape uses the last snapshot, which
:class:`BookingRefresher` renews when sessions or readiness change and every few seconds (what
is "in use now" moves with the clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from confsched.domain.booking import HORIZON
from confsched.domain.model import Fleet, Occurrence, Readiness, Session
from confsched.metrics.families import area_label
from confsched.metrics.sources import BookingSnapshot
from confsched.services.booking_reads import bridge_usage, occurrences_with_sessions
from confsched.services.health import HealthBoard
from confsched.services.risk import DEFAULT_WITHIN, AtRisk, room_facts, upcoming_risks
from confsched.store.booking import all_session_ids
from confsched.store.health import list_keys, load_readiness
from confsched.store.invites import delivery_counts
from confsched.store.refusals import AREA as REFUSALS_AREA
from confsched.store.refusals import refusal_counts

NEXT_SESSION_HORIZON = timedelta(days=1)
READINESS_HORIZON = timedelta(hours=1)
STATE_HORIZON = HORIZON
REFRESH_SECONDS = 10.0
AREAS = frozenset({"sessions", "readiness", "inventory", "mail", REFUSALS_AREA})

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RiskSource:
    """What the forecast needs besides the store: the fleet and a still copy of the health
    board (taken on the event loop, read on the store's thread)."""

    fleet: Fleet
    board: HealthBoard


def booking_snapshot(
    db: sqlite_utils.Database, now: datetime, risk: RiskSource | None = None
) -> BookingSnapshot:
    """Ports in use, sessions by state, who is booked next, readiness within the hour, the
    refusals counted so far, and (given the board) the forecast for the next 24 hours."""
    pairs = occurrences_with_sessions(db, now, now + STATE_HORIZON)
    sessions: dict[str, Session] = {s.id: s for s, _ in pairs}
    live = [o for _, o in pairs]
    soon = [o for o in live if o.end > now and o.busy_from < now + NEXT_SESSION_HORIZON]
    upcoming = [o for o in live if _starting_soon(o, now)]
    next_start, next_setup = _next_start(soon, sessions)
    at_risk, by_area = _forecast(db, now, risk, next_start) if risk else ({}, {})
    return BookingSnapshot(
        taken_at=now.timestamp(),
        ports_in_use=dict(bridge_usage(db, now)),
        sessions=_session_states(db, live, now),
        next_start=next_start,
        next_setup=next_setup,
        upcoming_sessions=len(upcoming),
        readiness=_readiness(db, upcoming, sessions),
        at_risk=at_risk,
        sessions_at_risk=by_area,
        refusals=refusal_counts(db),
        invites={k.value: v for k, v in delivery_counts(db).items()},
    )


def _forecast(
    db: sqlite_utils.Database, now: datetime, risk: RiskSource, booked: Iterable[str]
) -> tuple[dict[str, bool], dict[str, int]]:
    """Each room of an occurrence within 24 h: at risk or not; per area, the occurrences with
    a room at risk. Only the booked rooms are aged (not the whole fleet)."""
    fleet, board = risk.fleet, risk.board
    healths = board.snapshot([e for e in booked if e in fleet.endpoints], now)
    facts = room_facts(fleet, healths, list_keys(db), board.disconnects)
    found = upcoming_risks(db, fleet, facts, now, DEFAULT_WITHIN)
    at_risk: dict[str, bool] = {}
    by_area: dict[str, int] = {}
    for item in found:
        risky = {r.endpoint for r in item.risk.rooms}
        for endpoint in item.session.endpoints:
            at_risk[endpoint] = at_risk.get(endpoint, False) or endpoint in risky
        for area in _areas(fleet, item):
            by_area[area] = by_area.get(area, 0) + 1
    return at_risk, by_area


def _areas(fleet: Fleet, item: AtRisk) -> set[str]:
    return {
        area_label(fleet.endpoints[r.endpoint])
        for r in item.risk.rooms
        if r.endpoint in fleet.endpoints
    }


def _starting_soon(o: Occurrence, now: datetime) -> bool:
    """In its setup window, or starting within the next hour."""
    return o.start > now and (o.busy_from <= now or o.start < now + READINESS_HORIZON)


def _session_states(
    db: sqlite_utils.Database, live: Sequence[Occurrence], now: datetime
) -> dict[str, int]:
    """A scheduled session is running, in setup, upcoming (an occurrence within the booking
    horizon) or finished (none left)."""
    rank = {"upcoming": 0, "setup": 1, "running": 2}
    state: dict[str, str] = {}
    for o in live:
        s = "running" if o.start <= now < o.end else "setup" if o.busy_from <= now else "upcoming"
        if o.end > now and rank[s] >= rank[state.get(o.session_id, "upcoming")]:
            state[o.session_id] = s
    scheduled = all_session_ids(db, "scheduled")
    counts = dict.fromkeys(("upcoming", "setup", "running"), 0)
    for s in state.values():
        counts[s] += 1
    counts["finished"] = sum(1 for sid in scheduled if sid not in state)
    counts["cancelled"] = len(all_session_ids(db, "cancelled"))
    return counts


def _next_start(
    soon: Iterable[Occurrence], sessions: dict[str, Session]
) -> tuple[dict[str, float], dict[str, float]]:
    """Each booked endpoint's current or next occurrence: its start and its setup time."""
    start: dict[str, float] = {}
    setup: dict[str, float] = {}
    for o in sorted(soon, key=lambda o: o.start):
        session = sessions.get(o.session_id)
        for ep in session.endpoints if session else ():
            if ep not in start:
                start[ep] = o.start.timestamp()
                setup[ep] = o.busy_from.timestamp()
    return start, setup


def _readiness(
    db: sqlite_utils.Database, upcoming: Iterable[Occurrence], sessions: dict[str, Session]
) -> dict[str, Readiness]:
    """Participants of occurrences starting soon: their self-test answer, or pending."""
    out: dict[str, Readiness] = {}
    for o in sorted(upcoming, key=lambda o: o.start):
        session = sessions.get(o.session_id)
        if session is None:
            continue
        answered = {r.endpoint: r.status for r in load_readiness(db, o.session_id, o.recurrence_id)}
        for ep in session.endpoints:
            out.setdefault(ep, answered.get(ep, Readiness.PENDING))
    return out


class BookingRefresher:
    """Keeps the latest :class:`BookingSnapshot`; renewed on change and every few seconds."""

    def __init__(
        self,
        read: Callable[[datetime], Awaitable[BookingSnapshot]],
        interval: float = REFRESH_SECONDS,
    ) -> None:
        self._read = read
        self._interval = interval
        self._wake = asyncio.Event()
        self.snapshot = BookingSnapshot()

    def changed(self, areas: set[str]) -> None:
        """A ``ServerContext.on_change`` listener."""
        if areas & AREAS:
            self._wake.set()

    async def refresh(self) -> BookingSnapshot:
        started = time.perf_counter()
        self.snapshot = await self._read(datetime.now(UTC))
        log.debug("booking snapshot in %.1f ms", (time.perf_counter() - started) * 1000)
        return self.snapshot

    async def run(self) -> None:
        """Refresh until cancelled; a failing read keeps the last snapshot (its timestamp ages,
        which ``confsched_booking_snapshot_timestamp_seconds`` shows)."""
        while True:
            self._wake.clear()
            try:
                await self.refresh()
            except Exception:
                log.exception("metrics: cannot read the booking snapshot")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns (swallowing the
            # cancel) when the event is set just as the task is cancelled, and stop() then
            # waited for ever (seen at shutdown, where a last change wakes this loop).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
