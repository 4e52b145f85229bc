"""The health runtime: the batch writer of judged reports and the visible-state watcher.

The board and the write path are use cases (``confsched.services.health``); what makes them a
running component is here: the writer task, and a sweep that touches the server's revision when
a state an operator sees changes, so the console's long poll wakes — after a report that changes
it, and when silence turns a room offline (no event marks that moment, hence the sweep).

The sweep runs every second over every room, so it must cost next to nothing per room: a room
whose latest report is the one already judged, and whose offline moment has not come, cannot
have changed (two dict reads); only the others are judged again. At 10,000 rooms judging them
all took 40–250 ms a second, all of it holding the event loop.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from confsched.domain import health as rules
from confsched.domain.model import EndpointState
from confsched.server import ServerContext
from confsched.services.health import HealthBoard, HealthService
from confsched.store.health import StoredHealth

STATE_WATCH_SECONDS = 1.0

Visible = dict[str, tuple[EndpointState, tuple[str, ...]]]
"""What an operator sees per endpoint: its state and reasons (not its latest numbers)."""


class StateWatcher:
    """Tells, at each sweep, whether any endpoint's visible state changed since the last one."""

    def __init__(self, board: HealthBoard) -> None:
        self.board = board
        self.visible: Visible = {}
        self._judged: dict[str, StoredHealth | None] = {}
        """The entry each endpoint's visible state was made from (None: never reported)."""
        self._until: dict[str, datetime] = {}
        """Until when that state holds without a new report (its offline moment)."""
        self.judged = 0
        """Endpoints judged anew by the last sweep (the rest were unchanged)."""
        self._basis: tuple[object, ...] = ()
        """What every state's offline moment was worked out from (the fleet's interval can
        change while the scheduler runs): when it changes, every room is judged anew."""

    def changed(self, endpoints: list[str], now: datetime) -> bool:
        board, visible, judged, until = self.board, self.visible, self._judged, self._until
        latest = board.latest
        basis = (board.default_interval, board.thresholds, board.restart)
        if basis != self._basis:
            self._basis = basis
            judged.clear()
        changed = len(visible) != len(endpoints)
        count = 0
        for endpoint in endpoints:
            stored = latest.get(endpoint)
            if endpoint in judged and judged[endpoint] is stored and now < until[endpoint]:
                continue
            count += 1
            seen, until[endpoint] = self._judge(endpoint, stored, now)
            if visible.get(endpoint) != seen:
                visible[endpoint] = seen
                changed = True
            judged[endpoint] = stored
        if len(visible) != len(endpoints):
            keep = set(endpoints)
            for gone in [e for e in visible if e not in keep]:
                del visible[gone], judged[gone], until[gone]
        self.judged = count
        return changed

    def _judge(
        self, endpoint: str, stored: StoredHealth | None, now: datetime
    ) -> tuple[tuple[EndpointState, tuple[str, ...]], datetime]:
        """What the endpoint shows now, and until when it shows that without a new report.

        Before its offline moment a room shows what its last report judged (no aging to work
        out); past it, its "no report for …" moves with the clock, so it is judged every sweep.
        """
        board = self.board
        last = stored.health.last_report_at if stored is not None else None
        if stored is not None and last is not None:
            patience = board.interval(endpoint) * board.thresholds.offline_after
            due = rules.offline_from(last, patience, board.restart)
            if now < due:
                return (stored.health.state, stored.health.reasons), due
            health = board.health(endpoint, now)
            return (health.state, health.reasons), now
        health = board.health(endpoint, now)  # unknown, or never heard: until a report comes
        return (health.state, health.reasons), datetime.max.replace(tzinfo=UTC)


class HealthRuntime:
    """Runs the :class:`HealthService` writer and the state watcher over one board."""

    def __init__(self, ctx: ServerContext, board: HealthBoard) -> None:
        self.ctx = ctx
        self.board = board
        self.service = HealthService(
            board, ctx.store.write, retention=lambda: ctx.fleet.health_history
        )
        self.watcher = StateWatcher(board)
        self._watcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.service.start()
        self._watcher = asyncio.create_task(self._watch_states(), name="health-states")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        await self.service.stop()

    async def _watch_states(self) -> None:
        while True:
            if self.watcher.changed(list(self.ctx.fleet.endpoints), datetime.now(UTC)):
                self.ctx.touch()
            await asyncio.sleep(STATE_WATCH_SECONDS)
