"""What every part of a running scheduler shares: the store, the current fleet, change notices.

:class:`ServerContext` is the change-watching context: it reloads the fleet when another process
imports one, wakes the console's long polls (``touch``) and tells listeners which areas changed.
It sits below the adapters (agent link, web, calendar) so each can take it, and knows none of
them; the composition root (``confsched.runtime``) builds the components around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from confsched.config import Settings, operator_token
from confsched.domain.access import Role, token_digest
from confsched.domain.model import Fleet
from confsched.services.inventory import import_unless_imported, require_fleet
from confsched.store.db import revisions
from confsched.store.runner import StoreRunner
from confsched.store.tokens import AREA as TOKENS_AREA
from confsched.store.tokens import live_digests

ChangeListener = Callable[[set[str]], Awaitable[None] | None]

CHANGE_POLL_SECONDS = 0.25


@dataclass
class ServerContext:
    """What every component of a running scheduler shares."""

    settings: Settings
    store: StoreRunner
    fleet: Fleet
    operator_token: str
    revision: int = 0
    """Grows on every change an operator should see; the console long-polls it."""
    api_tokens: dict[str, Role] = field(default_factory=dict)
    """The live tokens of ``confsched tokens`` by digest, reloaded when that command changes
    them (a revoked token stops working within a second)."""
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
                async with asyncio.timeout(timeout):  # not wait_for: on 3.11 it can eat a cancel
                    await self._wakeup.wait()
        return self.revision

    def role_of(self, token: str) -> Role | None:
        """What ``token`` may do: the operator's file token, or a made one; None if neither."""
        if token and hmac.compare_digest(token.encode(), self.operator_token.encode()):
            return Role.OPERATOR
        return self.api_tokens.get(token_digest(token)) if token else None

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
        if TOKENS_AREA in changed:
            self.api_tokens = await self.store.read(live_digests)
        self.touch()
        for listener in list(self._listeners):
            result = listener(changed)
            if asyncio.iscoroutine(result):
                await result
        return changed


async def open_context(settings: Settings) -> ServerContext:
    store = StoreRunner(settings.data_dir)
    try:
        if settings.rooms_file is not None:  # refused when it would break a booked sitting
            await store.write(import_unless_imported, settings.rooms_file)
        fleet = await store.read(require_fleet)
    except BaseException:
        store.close()
        raise
    ctx = ServerContext(settings, store, fleet, operator_token(settings.data_dir))
    ctx.api_tokens = await store.read(live_digests)
    ctx._revisions = await store.read(revisions)
    return ctx


async def watch_changes(ctx: ServerContext, since: int) -> None:
    """Poll SQLite's data_version (cheap) and look closer only when another connection wrote.

    ``since`` is the version read before anyone could write (before ``ready``), so a write
    made at once by the first client is noticed too."""
    last = since
    while True:
        await asyncio.sleep(CHANGE_POLL_SECONDS)
        version = await ctx.store.data_version()
        if version != last:
            last = version
            await ctx.notice_changes()
