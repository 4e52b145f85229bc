"""Readiness checks: at each occurrence's setup time, ask every participant's agent to self-test.

Per endpoint the answer is ``ready``, ``not_ready`` (with the reasons the self-test showed) or
``no_answer`` (agent not connected, or silent for ``SELFTEST_TIMEOUT``). Rows are written as
answers come in, so the console sees "ready N of M" fill in. Which occurrences are due comes from
the use cases in ``confsched.services.readiness``; :meth:`ReadinessChecker.check` needs only
the occurrence and its endpoints.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

from confsched_agent.wire import SelftestResult

from confsched.agentlink.server import AgentLink
from confsched.domain.health import Observation, Thresholds, is_ready, judge
from confsched.domain.model import Occurrence, Readiness
from confsched.server import ServerContext
from confsched.services.readiness import due_occurrences, unready_endpoints
from confsched.store.health import ReadinessRow, checked_occurrences, save_readiness

log = logging.getLogger(__name__)

SELFTEST_TIMEOUT = 30.0
POLL_SECONDS = 5.0
RECHECK_SECONDS = 30.0
"""During the setup window, rooms not yet ready are asked again this often: a room whose agent
connects (or whose camera is plugged back in) before the start turns ready."""

Key = tuple[str, datetime]


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


class ReadinessChecker:
    """The runtime component: watches for occurrences entering their setup window."""

    def __init__(self, ctx: ServerContext, link: AgentLink) -> None:
        self.ctx = ctx
        self.link = link
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="readiness")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def check(
        self, occurrence: Occurrence, endpoints: Sequence[str], *, first: bool = True
    ) -> list[ReadinessRow]:
        """Self-test ``endpoints`` now; rows are stored as the answers arrive.

        The first check marks every participant pending; a re-check keeps the earlier answer
        visible until the new one arrives.
        """
        ctx, link = self.ctx, self.link
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

    async def _watch(self) -> None:
        wake = asyncio.Event()
        self.ctx.on_change(lambda areas: wake.set() if "sessions" in areas else None)
        running: dict[Key, asyncio.Task[list[ReadinessRow]]] = {}
        try:
            await self._poll(wake, running)
        finally:
            for task in running.values():
                task.cancel()

    async def _poll(
        self, wake: asyncio.Event, running: dict[Key, asyncio.Task[list[ReadinessRow]]]
    ) -> None:
        last_checked: dict[Key, datetime] = {}
        while True:
            await self._round(running, last_checked)
            wake.clear()
            try:
                async with asyncio.timeout(POLL_SECONDS):
                    await wake.wait()
            except TimeoutError:
                pass

    async def _round(
        self,
        running: dict[Key, asyncio.Task[list[ReadinessRow]]],
        last_checked: dict[Key, datetime],
    ) -> None:
        """Start a check for every due occurrence not being checked and not checked lately."""
        store, now = self.ctx.store, datetime.now(UTC)
        try:
            due = await store.read(due_occurrences, now)
            done = await store.read(checked_occurrences, now - timedelta(days=1))
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
                targets = await store.read(unready_endpoints, *key)
            else:
                continue
            last_checked[key] = now
            if not targets:
                continue
            log.info("readiness check for %s (%d rooms)", occurrence.session_id, len(targets))
            task = asyncio.create_task(self.check(occurrence, targets, first=first))
            running[key] = task
            task.add_done_callback(partial(_forget, running, key))


def _forget(running: dict[Key, asyncio.Task[list[ReadinessRow]]], key: Key, _task: object) -> None:
    running.pop(key, None)
