"""The health board: the latest stored state per endpoint and the counters, in memory.

Every reader uses it without touching SQLite (API, metrics, console, readiness); the write path
that keeps it current is ``services.health``. It lives apart from that writer, which needs
asyncio, so that a CLI command judging rooms from the store (``confsched health``, ``sessions
risk``) does not import the event loop's machinery (asyncio, ssl, sockets) it never runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlite_utils

from confsched.domain import health as rules
from confsched.domain.model import EndpointHealth, EndpointState
from confsched.store.health import StoredHealth, load_latest


@dataclass
class HealthBoard:
    """Latest stored state per endpoint, and the counters; lives in the event loop's thread."""

    default_interval: timedelta = timedelta(seconds=10)
    thresholds: rules.Thresholds = field(default_factory=rules.Thresholds)
    latest: dict[str, StoredHealth] = field(default_factory=dict)
    reports_accepted: int = 0
    reports_duplicate: int = 0
    reports_rejected: Counter[str] = field(default_factory=Counter)
    logins_refused: Counter[str] = field(default_factory=Counter)
    logins_accepted: int = 0
    logins_deferred: int = 0
    connections_closed: Counter[str] = field(default_factory=Counter)
    version: int = 0
    """Grows with every change of the board: a cheap 'anything new?' for pollers."""
    restart: rules.Restart | None = None
    """This scheduler's start: no room is judged offline for the silence of its own outage."""
    disconnects: dict[str, str] = field(default_factory=dict)
    """endpoint → why its last connection ended, while it has none (cleared on login)."""

    def health(self, endpoint: str, now: datetime) -> EndpointHealth:
        """The endpoint's state at ``now``: offline if silent too long, unknown if never seen."""
        stored = self.latest.get(endpoint)
        if stored is None:
            return rules.unknown(endpoint)
        return rules.at(stored.health, now, self.interval(endpoint), self.thresholds, self.restart)

    def interval(self, endpoint: str) -> timedelta:
        """How often the endpoint's agent reports (its own, else the fleet's): the age past
        which its last values are no longer current."""
        stored = self.latest.get(endpoint)
        return (
            timedelta(seconds=stored.interval)
            if stored and stored.interval
            else self.default_interval
        )

    def snapshot(self, endpoints: list[str], now: datetime) -> dict[str, EndpointHealth]:
        return {e: self.health(e, now) for e in endpoints}

    def counts(self, endpoints: list[str], now: datetime) -> dict[str, int]:
        counts = dict.fromkeys((s.value for s in EndpointState), 0)
        for endpoint in endpoints:
            counts[self.health(endpoint, now).state.value] += 1
        return counts


def restart_of(board: HealthBoard, now: datetime) -> rules.Restart:
    """This start, with the newest report the store held before it."""
    heard = [s.health.last_report_at for s in board.latest.values() if s.health.last_report_at]
    return rules.Restart(now, max(heard) if heard else None)


def load_board(
    db: sqlite_utils.Database, default_interval: timedelta, now: datetime
) -> HealthBoard:
    """A board holding the latest stored state of every endpoint, for a server starting ``now``
    (no room is judged offline for the silence of the server's own outage)."""
    board = HealthBoard(default_interval)
    for stored in load_latest(db):
        board.latest[stored.health.endpoint] = stored
    board.restart = restart_of(board, now)
    return board
