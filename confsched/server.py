"""The ``serve`` runtime: the store, the current fleet, change notices, and the components.

Components (agent link, readiness, calendar cache, metrics, …) are started by hooks listed in
``STARTUP_HOOKS``: each is ``async def start(ctx) -> Stopper | None`` in its own module, so the
runtime knows their names and nothing else about them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from confsched.calendar.invitations import compose as compose_invitation
from confsched.config import Settings, operator_token
from confsched.domain.model import Fleet
from confsched.mail.mailer import Mailer
from confsched.services.inventory import import_fleet, require_fleet
from confsched.store.db import data_version, revisions
from confsched.store.runner import StoreRunner

log = logging.getLogger(__name__)

Stopper = Callable[[], Awaitable[None]]
ChangeListener = Callable[[set[str]], Awaitable[None] | None]

# "module:function" of every component's start hook, started in this order.
STARTUP_HOOKS: tuple[str, ...] = (
    "confsched.services.health:start",
    "confsched.agentlink.server:start",
    "confsched.codecs.poller:start",
    "confsched.services.readiness:start",
    "confsched.services.calendar:start",
    "confsched.web.app:start",
)

CHANGE_POLL_SECONDS = 0.25


@dataclass
class ServerContext:
    """What every component of a running scheduler shares."""

    settings: Settings
    store: StoreRunner
    fleet: Fleet
    operator_token: str
    components: dict[str, Any] = field(default_factory=dict)
    revision: int = 0
    """Grows on every change an operator should see; the console long-polls it."""
    _listeners: list[ChangeListener] = field(default_factory=list)
    _revisions: dict[str, int] = field(default_factory=dict)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self) -> None:
        """Something visible changed (a health state, a readiness answer, a booking)."""
        self.revision += 1
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    async def wait_for_change(self, since: int, timeout: float) -> int:
        """The current revision, as soon as it differs from ``since`` or after ``timeout``."""
        if self.revision == since:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)
        return self.revision

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.fleet.timezone)

    def on_change(self, listener: ChangeListener) -> None:
        """Call ``listener(areas)`` whenever any process commits a change to those areas."""
        self._listeners.append(listener)

    async def notice_changes(self) -> set[str]:
        """Compare revisions with the store; reload what changed and tell the listeners."""
        current = await self.store.read(revisions)
        changed = {a for a, r in current.items() if self._revisions.get(a) != r}
        self._revisions = current
        if not changed:
            return changed
        if "inventory" in changed:
            self.fleet = await self.store.read(require_fleet)
        self.touch()
        for listener in list(self._listeners):
            result = listener(changed)
            if asyncio.iscoroutine(result):
                await result
        return changed


async def open_context(settings: Settings) -> ServerContext:
    store = StoreRunner(settings.data_dir)
    if settings.rooms_file is not None:
        await store.write(import_fleet, settings.rooms_file)
    fleet = await store.read(require_fleet)
    ctx = ServerContext(settings, store, fleet, operator_token(settings.data_dir))
    ctx._revisions = await store.read(revisions)
    return ctx


async def watch_changes(ctx: ServerContext) -> None:
    """Poll SQLite's data_version (cheap) and look closer only when another connection wrote."""
    last = await ctx.store.read(data_version)
    while True:
        await asyncio.sleep(CHANGE_POLL_SECONDS)
        version = await ctx.store.read(data_version)
        if version != last:
            last = version
            await ctx.notice_changes()


async def run_server(
    settings: Settings, ready: Callable[[ServerContext], Awaitable[None] | None] | None = None
) -> None:
    """Run until cancelled: start every component, then watch the store for changes."""
    ctx = await open_context(settings)
    stoppers: list[Stopper] = []
    try:
        for hook in STARTUP_HOOKS:
            stopper = await _load_hook(hook)(ctx)
            if stopper is not None:
                stoppers.append(stopper)
        if settings.smtp is not None:
            mailer = Mailer(ctx, settings.smtp, compose_invitation)
            await mailer.start()
            ctx.components["mailer"] = mailer
            stoppers.append(mailer.stop)
        # What start-up loaded (modules, the fleet, the latest states) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise pause the loop.
        gc.freeze()
        if ready is not None:
            result = ready(ctx)
            if asyncio.iscoroutine(result):
                await result
        await watch_changes(ctx)
    finally:
        for stopper in reversed(stoppers):
            try:
                await stopper()
            except Exception:  # one component failing to stop must not keep the others running
                log.exception("stopping a component failed")
        ctx.store.close()


def _load_hook(target: str) -> Callable[[ServerContext], Awaitable[Stopper | None]]:
    module_name, _, attribute = target.partition(":")
    start: Callable[[ServerContext], Awaitable[Stopper | None]] = getattr(
        importlib.import_module(module_name), attribute
    )
    return start
