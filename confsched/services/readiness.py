"""Readiness: at each occurrence's setup time, ask every participant's agent for a self-test.

Per endpoint the answer is ``ready``, ``not_ready`` (with the reasons the self-test showed) or
``no_answer`` (agent not connected, or silent for ``SELFTEST_TIMEOUT``). Rows are written as
answers come in, so the console sees "ready N of M" fill in. Which occurrences are due comes from
the booking store (``due_occurrences``); the check itself (``check_occurrence``) needs only the
occurrence and its endpoints.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import sqlite_utils

from confsched.domain.health import Observation, Thresholds, is_ready, judge
from confsched.domain.model import Fleet, Occurrence, Readiness
from confsched.store import booking as booking_store
from confsched.store.health import (
    ReadinessRow,
    checked_occurrences,
    load_readiness,
    save_readiness,
)

if TYPE_CHECKING:
    from confsched_agent.wire import SelftestResult

    from confsched.agentlink.server import AgentLink
    from confsched.server import ServerContext, Stopper

log = logging.getLogger(__name__)

SELFTEST_TIMEOUT = 30.0
POLL_SECONDS = 5.0
RECHECK_SECONDS = 30.0
"""During the setup window, rooms not yet ready are asked again this often: a room whose agent
connects (or whose camera is plugged back in) before the start turns ready."""


@dataclass(frozen=True, slots=True)
class ReadinessSummary:
    session_id: str
    recurrence_id: datetime | None
    rows: tuple[ReadinessRow, ...]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def ready(self) -> int:
        return sum(1 for r in self.rows if r.status is Readiness.READY)

    def as_dict(self, fleet: Fleet, tz: tzinfo) -> dict[str, Any]:
        """The docs/api.md shape: counts, the occurrence, and every participant's answer."""
        counts = {status.value: 0 for status in Readiness}
        for row in self.rows:
            counts[row.status.value] += 1
        return {
            "session_id": self.session_id,
            "occurrence": self.recurrence_id.astimezone(tz).isoformat()
            if self.recurrence_id
            else None,
            "summary": {**counts, "total": self.total},
            "text": f"ready {self.ready} of {self.total}" if self.total else "not checked yet",
            "endpoints": [_row_view(r, fleet, tz) for r in self.rows],
        }


def _row_view(row: ReadinessRow, fleet: Fleet, tz: tzinfo) -> dict[str, Any]:
    endpoint = fleet.endpoints.get(row.endpoint)
    return {
        "endpoint": row.endpoint,
        "endpoint_name": endpoint.name if endpoint else row.endpoint,
        "status": row.status.value,
        "reasons": [part for part in row.reason.split("; ") if part],
        "at": row.answered_at.astimezone(tz).isoformat() if row.answered_at else None,
    }


def readiness_summary(
    db: sqlite_utils.Database, session_id: str, recurrence_id: datetime | None
) -> ReadinessSummary:
    """'ready N of M' for one occurrence (or the session's latest checked one)."""
    rows = tuple(load_readiness(db, session_id, recurrence_id))
    occurrence = rows[0].recurrence_id if rows else recurrence_id
    return ReadinessSummary(session_id, occurrence, rows)


def verdict(
    result: SelftestResult | None, endpoint: str, connected: bool, now: datetime, limits: Thresholds
) -> tuple[Readiness, str]:
    """One endpoint's readiness from its self-test answer (None: it never came)."""
    if result is None:
        why = "no answer to the self-test" if connected else "agent not connected"
        return Readiness.NO_ANSWER, why
    obs = Observation(
        endpoint,
        now,
        {name: c.ok for name, c in result.checks.items()},
        {name: c.detail for name, c in result.checks.items() if c.detail},
        result.measurements,
    )
    health = judge(obs, limits)
    reason = "; ".join(health.reasons)
    return (Readiness.READY if is_ready(health) else Readiness.NOT_READY), reason


async def check_occurrence(
    ctx: ServerContext, occurrence: Occurrence, endpoints: Sequence[str], *, first: bool = True
) -> list[ReadinessRow]:
    """Self-test ``endpoints`` now; rows are stored as the answers arrive.

    The first check marks every participant pending; a re-check keeps the earlier answer
    visible until the new one arrives.
    """
    link: AgentLink = ctx.components["agentlink"]
    limits = link.board.thresholds
    asked = datetime.now(UTC)
    key = (occurrence.session_id, occurrence.recurrence_id)
    if first:
        pending = [ReadinessRow(*key, e, Readiness.PENDING, "", asked) for e in endpoints]
        await ctx.store.write(save_readiness, pending)

    async def one(endpoint: str) -> ReadinessRow:
        connected = endpoint in link.agents
        result = await link.selftest(endpoint, SELFTEST_TIMEOUT) if connected else None
        now = datetime.now(UTC)
        status, reason = verdict(result, endpoint, connected, now, limits)
        row = ReadinessRow(*key, endpoint, status, reason, asked, now)
        await ctx.store.write(save_readiness, [row])
        ctx.touch()
        return row

    return list(await asyncio.gather(*(one(e) for e in endpoints)))


def due_occurrences(
    db: sqlite_utils.Database, now: datetime
) -> list[tuple[Occurrence, tuple[str, ...]]]:
    """Occurrences inside their setup window (busy_from <= now < start), with participants."""
    occurrences = booking_store.occurrences_between(db, now, now)
    due = [o for o in occurrences if o.busy_from <= now < o.start]
    sessions = booking_store.load_sessions(db, {o.session_id for o in due})
    return [(o, sessions[o.session_id].endpoints) for o in due if o.session_id in sessions]


def unready_endpoints(
    db: sqlite_utils.Database, session_id: str, recurrence_id: datetime
) -> list[str]:
    rows = load_readiness(db, session_id, recurrence_id)
    return [r.endpoint for r in rows if r.status in (Readiness.NOT_READY, Readiness.NO_ANSWER)]


async def _watch(ctx: ServerContext) -> None:
    wake = asyncio.Event()
    ctx.on_change(lambda areas: wake.set() if "sessions" in areas else None)
    running: dict[tuple[str, datetime], asyncio.Task[list[ReadinessRow]]] = {}
    try:
        await _poll(ctx, wake, running)
    finally:
        for task in running.values():
            task.cancel()


async def _poll(
    ctx: ServerContext,
    wake: asyncio.Event,
    running: dict[tuple[str, datetime], asyncio.Task[list[ReadinessRow]]],
) -> None:
    last_checked: dict[tuple[str, datetime], datetime] = {}
    while True:
        now = datetime.now(UTC)
        try:
            due = await ctx.store.read(due_occurrences, now)
            done = await ctx.store.read(checked_occurrences, now - timedelta(days=1))
        except Exception:  # never let a store hiccup stop readiness checks for good
            log.exception("readiness: cannot list due occurrences")
            due, done = [], set()
        for occurrence, endpoints in due:
            key = (occurrence.session_id, occurrence.recurrence_id)
            if occurrence.cancelled or key in running:
                continue
            first = key not in done and key not in last_checked
            since = (now - last_checked.get(key, now)).total_seconds()
            if first:
                targets: Sequence[str] = endpoints
            elif since >= RECHECK_SECONDS or key not in last_checked:
                targets = await ctx.store.read(unready_endpoints, *key)
            else:
                continue
            last_checked[key] = now
            if not targets:
                continue
            log.info("readiness check for %s (%d rooms)", occurrence.session_id, len(targets))
            task = asyncio.create_task(check_occurrence(ctx, occurrence, targets, first=first))
            running[key] = task
            task.add_done_callback(lambda _t, key=key: running.pop(key, None))
        wake.clear()
        try:
            async with asyncio.timeout(POLL_SECONDS):
                await wake.wait()
        except TimeoutError:
            pass


async def start(ctx: ServerContext) -> Stopper:
    task = asyncio.create_task(_watch(ctx), name="readiness")

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return stop
