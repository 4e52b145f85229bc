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
from datetime import UTC, datetime, timedelta

import sqlite_utils

from confsched.domain.booking import HORIZON
from confsched.domain.model import Occurrence, Readiness, Session
from confsched.metrics.sources import BookingSnapshot
from confsched.services.booking_reads import bridge_usage, occurrences_with_sessions
from confsched.store.booking import all_session_ids
from confsched.store.health import load_readiness
from confsched.store.invites import delivery_counts
from confsched.store.refusals import AREA as REFUSALS_AREA
from confsched.store.refusals import refusal_counts

NEXT_SESSION_HORIZON = timedelta(days=1)
READINESS_HORIZON = timedelta(hours=1)
STATE_HORIZON = HORIZON
REFRESH_SECONDS = 10.0
AREAS = frozenset({"sessions", "readiness", "inventory", "mail", REFUSALS_AREA})

log = logging.getLogger(__name__)


def booking_snapshot(db: sqlite_utils.Database, now: datetime) -> BookingSnapshot:
    """Ports in use, sessions by state, who is booked next, readiness within the hour, and the
    refusals counted so far."""
    pairs = occurrences_with_sessions(db, now, now + STATE_HORIZON)
    sessions: dict[str, Session] = {s.id: s for s, _ in pairs}
    live = [o for _, o in pairs]
    soon = [o for o in live if o.end > now and o.busy_from < now + NEXT_SESSION_HORIZON]
    upcoming = [o for o in live if _starting_soon(o, now)]
    return BookingSnapshot(
        taken_at=now.timestamp(),
        ports_in_use=dict(bridge_usage(db, now)),
        sessions=_session_states(db, live, now),
        next_start=_next_start(soon, sessions),
        upcoming_sessions=len(upcoming),
        readiness=_readiness(db, upcoming, sessions),
        refusals=refusal_counts(db),
        invites={k.value: v for k, v in delivery_counts(db).items()},
    )


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


def _next_start(soon: Iterable[Occurrence], sessions: dict[str, Session]) -> dict[str, float]:
    """Each booked endpoint's current or next occurrence start (occurrences come by start)."""
    out: dict[str, float] = {}
    for o in sorted(soon, key=lambda o: o.start):
        session = sessions.get(o.session_id)
        for ep in session.endpoints if session else ():
            out.setdefault(ep, o.start.timestamp())
    return out


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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
