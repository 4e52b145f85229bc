"""Readiness checks by stages (the fleet's ``readiness_stages``; by default a forecast a day
before, a self-test an hour before and at the setup time), each stage's "ready N of M" kept.

At a self-test stage every participant's agent is asked to self-test; at a forecast stage the
rooms' current health is counted.

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
from confsched.domain.stages import ReadinessStage, StageKind, due_stage, lead
from confsched.server import ServerContext
from confsched.services.readiness import Staged, staged_occurrences, unready_endpoints
from confsched.services.risk import room_facts, upcoming_forecast
from confsched.store.health import (
    ReadinessRow,
    StageRecord,
    list_keys,
    save_readiness,
    save_stage,
)

log = logging.getLogger(__name__)

SELFTEST_TIMEOUT = 30.0
POLL_SECONDS = 5.0
RECHECK_SECONDS = 30.0
"""From the first self-test stage to the start, rooms not yet ready are asked again this often:
a room whose agent connects (or whose camera is plugged back in) before the start turns ready."""
LONGEST_SETUP = timedelta(hours=24)
"""How far ahead to look for occurrences a stage "at the setup time" may be due for."""

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
        """For every occurrence whose next readiness stage has come, look (a forecast, or a
        self-test of every room); between self-tests, ask the rooms not yet ready again."""
        store, now = self.ctx.store, datetime.now(UTC)
        stages = self.ctx.fleet.readiness_stages
        try:
            found = await store.read(staged_occurrences, now, lead(stages, LONGEST_SETUP))
        except Exception:  # never let a store hiccup stop readiness checks for good
            log.exception("readiness: cannot list upcoming occurrences")
            found = []
        for item in found:
            occurrence = item.occurrence
            key = (occurrence.session_id, occurrence.recurrence_id)
            if key in running:
                continue
            stage = due_stage(stages, occurrence.start, occurrence.setup, now, item.done)
            if stage is not None and stage.kind is StageKind.FORECAST:
                await self._forecast(item, stage, now)
            elif stage is not None:
                self._start(running, key, item, item.session.endpoints, stage)
                last_checked[key] = now
            elif self._asked(item, stages) and _due_again(last_checked.get(key), now):
                last_checked[key] = now
                targets = await store.read(unready_endpoints, *key)
                if targets:
                    self._start(running, key, item, targets, None)

    @staticmethod
    def _asked(item: Staged, stages: Sequence[ReadinessStage]) -> bool:
        """A self-test stage already looked at this occurrence: re-ask the unready rooms."""
        return any(s.kind is StageKind.SELFTEST and s.name in item.done for s in stages)

    def _start(
        self,
        running: dict[Key, asyncio.Task[list[ReadinessRow]]],
        key: Key,
        item: Staged,
        targets: Sequence[str],
        stage: ReadinessStage | None,
    ) -> None:
        """A self-test of ``targets``: a stage's (every room, its count kept) or a re-ask."""
        log.info("readiness check for %s (%d rooms)", key[0], len(targets))
        first = stage is not None and not any(
            name.startswith(StageKind.SELFTEST.value) for name in item.done
        )  # the first self-test marks every room pending; later ones keep earlier answers
        task = asyncio.create_task(self._selftest(item, targets, stage, first))
        running[key] = task
        task.add_done_callback(partial(_forget, running, key))

    async def _selftest(
        self, item: Staged, targets: Sequence[str], stage: ReadinessStage | None, first: bool
    ) -> list[ReadinessRow]:
        asked = datetime.now(UTC)
        rows = await self.check(item.occurrence, targets, first=first)
        if stage is not None:
            ready = sum(1 for r in rows if r.status is Readiness.READY)
            await self._record(item, stage, asked, ready, len(targets))
        return rows

    async def _forecast(self, item: Staged, stage: ReadinessStage, now: datetime) -> None:
        """The forecast stage: every room's current health, counted, nothing asked."""
        fleet, board = self.ctx.fleet, self.link.board
        endpoints = [e for e in item.session.endpoints if e in fleet.endpoints]
        keys = await self.ctx.store.read(list_keys)
        facts = room_facts(fleet, board.snapshot(endpoints, now), keys, board.disconnects)
        risk = upcoming_forecast(fleet, item.session, item.occurrence, facts)
        await self._record(item, stage, now, risk.ready, risk.total)

    async def _record(
        self, item: Staged, stage: ReadinessStage, at: datetime, ready: int, total: int
    ) -> None:
        o = item.occurrence
        record = StageRecord(o.session_id, o.recurrence_id, stage.name, at, ready, total)
        await self.ctx.store.write(save_stage, record)
        self.ctx.touch()
        log.info("readiness %s for %s: ready %d of %d", stage.name, o.session_id, ready, total)


def _due_again(last: datetime | None, now: datetime) -> bool:
    return last is None or (now - last).total_seconds() >= RECHECK_SECONDS


def _forget(running: dict[Key, asyncio.Task[list[ReadinessRow]]], key: Key, _task: object) -> None:
    running.pop(key, None)
