"""Following the scheduler: long-poll ``/api/v1/changes`` and say when something moved.

No Textual here: the app runs :meth:`LiveFeed.run` in a worker and gets two callbacks, one when
the revision moves (re-read what is shown) and one when the connection comes or goes. Refreshes
are paced (``min_interval``) so a fleet changing every second costs a bounded amount of work,
and a lost scheduler is retried with a capped backoff, forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from confsched_tui.api import ApiClient, ApiError, ApiProblem
from confsched_tui.i18n import _

BACKOFF_S = (0.5, 1.0, 2.0, 3.0, 5.0)


class LiveFeed:
    def __init__(
        self,
        api: ApiClient,
        on_change: Callable[[int], Awaitable[None]],
        on_status: Callable[[bool, tuple[str, ...]], None],
        *,
        min_interval: float = 0.5,
        backoff: tuple[float, ...] = BACKOFF_S,
    ) -> None:
        self.api = api
        self.on_change = on_change
        self.on_status = on_status
        self.min_interval = min_interval
        self.backoff = backoff
        self.revision = -1
        self.connected: bool | None = None

    async def run(self) -> None:
        """Until cancelled."""
        failures = 0
        while True:
            try:
                revision = await self.api.changes(self.revision)
            except ApiProblem as exc:
                delay = self.backoff[min(failures, len(self.backoff) - 1)]
                failures += 1
                self._lost(exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            regained = self.connected is not True
            if regained:
                self.connected = True
                self.on_status(True, ())
            if revision != self.revision or regained:
                await self._changed(revision)

    def _lost(self, exc: ApiProblem, delay: float) -> None:
        """Said in full (the scheduler's problem) and short (the retry), for a narrow line."""
        if isinstance(exc, ApiError):
            text = _("the scheduler refused: {problem} — retrying in {delay} s")
            short = _("the scheduler refused — retrying in {delay} s")
        else:
            text = _("scheduler unreachable: {problem} — retrying in {delay} s")
            short = _("scheduler unreachable — retrying in {delay} s")
        self.connected = False
        wait = f"{delay:g}"
        self.on_status(False, (text.format(problem=exc, delay=wait), short.format(delay=wait)))

    async def _changed(self, revision: int) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.revision = revision
        await self.on_change(revision)
        pause = self.min_interval - (loop.time() - started)
        if pause > 0:
            await asyncio.sleep(pause)
