"""The health runtime: the batch writer of judged reports and the visible-state watcher.

The board and the write path are use cases (``confsched.services.health``); what makes them a
running component is here: the writer task, and a sweep that touches the server's revision when
a state an operator sees changes, so the console's long poll wakes — after a report that changes
it, and when silence turns a room offline (no event marks that moment, hence the sweep).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from confsched.domain.model import EndpointState
from confsched.server import ServerContext
from confsched.services.health import HealthBoard, HealthService

STATE_WATCH_SECONDS = 1.0

Visible = dict[str, tuple[EndpointState, tuple[str, ...]]]


def visible_states(board: HealthBoard, endpoints: list[str], now: datetime) -> Visible:
    """What an operator sees per endpoint: its state and reasons (not its latest numbers)."""
    result = {}
    for endpoint in endpoints:
        health = board.health(endpoint, now)
        result[endpoint] = (health.state, health.reasons)
    return result


class HealthRuntime:
    """Runs the :class:`HealthService` writer and the state watcher over one board."""

    def __init__(self, ctx: ServerContext, board: HealthBoard) -> None:
        self.ctx = ctx
        self.board = board
        self.service = HealthService(board, ctx.store.write)
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
        previous: Visible = {}
        while True:
            now = datetime.now(UTC)
            current = visible_states(self.board, list(self.ctx.fleet.endpoints), now)
            if current != previous:
                previous = current
                self.ctx.touch()
            await asyncio.sleep(STATE_WATCH_SECONDS)
