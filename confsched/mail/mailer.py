"""The mailer: a runtime component that empties the invite outbox into the SMTP relay.

Booking transactions record changes (``store.invites``), in whatever process made them. The
mailer wakes when the store's "mail" area changes (and when a retry is due), turns each new
change into one message per recipient — kept in the store with its final bytes — and sends
what is due, one message at a time, on its own thread.

Promises, each with a test against a real SMTP server:

* a change is expanded once (its messages and its "handled" mark are one transaction);
* a message the relay accepted is marked sent before the next one is tried, and a sent message
  is never picked again; the remaining window (the relay accepted, the process died before the
  mark) can resend one message after a restart, with the same Message-ID;
* a refusal (4xx, 5xx, a dropped or refused connection) is kept with the relay's words and
  retried with exponential backoff and jitter, until ``attempts`` are spent: then the message
  is *failed*, visible in ``sessions show``, the API and the metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlite_utils

from confsched.config import SmtpSettings
from confsched.domain.invites import Delivery, Invitation, InviteChange
from confsched.domain.model import Fleet
from confsched.errors import ConfschedError
from confsched.mail.message import build, message_id
from confsched.mail.smtp import Relay, SendRefused
from confsched.store import invites as outbox

if TYPE_CHECKING:
    from confsched.server import ServerContext

log = logging.getLogger(__name__)

Composer = Callable[[sqlite_utils.Database, Fleet, InviteChange, str, datetime], Invitation | None]
"""Turns a recorded change into its invitation (None: nothing left to announce)."""

IDLE_SECONDS = 60.0
"""Look at the outbox at least this often even without a change notice."""
LONGEST_RETRY = timedelta(hours=1)


def retry_delay(settings: SmtpSettings, attempts: int, jitter: float) -> timedelta:
    """After ``attempts`` refusals: the first delay doubled each time, at most an hour.

    ``jitter`` in [0.8, 1.2] spreads retries so a relay coming back is not hit all at once.
    """
    seconds = settings.retry_seconds * 2 ** max(attempts - 1, 0) * jitter
    return min(timedelta(seconds=seconds), LONGEST_RETRY)


def expand_changes(
    db: sqlite_utils.Database,
    fleet: Fleet,
    compose: Composer,
    settings: SmtpSettings,
    now: datetime,
) -> int:
    """Turn every unhandled change into its messages (on the store's writer thread)."""
    handled = 0
    for change in outbox.pending_changes(db):
        try:
            invitation = compose(db, fleet, change, settings.sender, now)
        except ConfschedError as exc:  # the session is gone: nothing to announce
            log.warning("mail: change %d not announced: %s", change.id, exc)
            invitation = None
        outgoing = [] if invitation is None else _messages(fleet, change, invitation, settings, now)
        outbox.handle_change(db, change, outgoing, now)
        handled += 1
    return handled


def _messages(
    fleet: Fleet,
    change: InviteChange,
    invitation: Invitation,
    settings: SmtpSettings,
    now: datetime,
) -> list[outbox.Outgoing]:
    sender_name = f"Lịch họp trực tuyến — {fleet.name}"
    found = []
    for recipient in invitation.recipients:
        tag = hashlib.blake2b(recipient.address.lower().encode(), digest_size=5).hexdigest()
        msgid = message_id(f"confsched.{change.session_id}.{change.id}.{tag}", settings.sender)
        data = build(invitation, recipient, settings.sender, sender_name, msgid, now)
        found.append(outbox.Outgoing(recipient, msgid, data))
    return found


class Mailer:
    """Start/stop component of a running scheduler; see the module docstring."""

    def __init__(self, ctx: ServerContext, settings: SmtpSettings, compose: Composer) -> None:
        self.ctx = ctx
        self.settings = settings
        self._compose = compose
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="mailer")
        self._relay = Relay(settings)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.ctx.on_change(self._on_change)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.get_running_loop().run_in_executor(self._pool, self._relay.close)
        self._pool.shutdown(wait=True)

    def _on_change(self, areas: set[str]) -> None:
        if "mail" in areas or "inventory" in areas:
            self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.pass_once()
                delay = await self._idle_seconds()
            except (sqlite3.Error, ConfschedError):
                log.exception("mail: cannot read or write the outbox; trying again shortly")
                delay = self.settings.retry_seconds
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):  # not wait_for: on 3.11 it can eat a cancel
                    await self._wake.wait()

    async def pass_once(self) -> None:
        """Expand new changes, then send every message that is due."""
        now = datetime.now(UTC)
        await self.ctx.store.write(
            expand_changes, self.ctx.fleet, self._compose, self.settings, now
        )
        due = await self.ctx.store.read(outbox.due_deliveries, now)
        loop = asyncio.get_running_loop()
        try:
            for delivery, data in due:
                await self._send(loop, delivery, data)
        finally:
            await loop.run_in_executor(self._pool, self._relay.close)

    async def _send(self, loop: asyncio.AbstractEventLoop, delivery: Delivery, data: bytes) -> None:
        address = delivery.recipient.address
        try:
            await loop.run_in_executor(
                self._pool, self._relay.send, self.settings.sender, address, data
            )
        except SendRefused as refused:
            attempts = delivery.attempts + 1
            retry_at = None
            if attempts < self.settings.attempts:
                jitter = random.uniform(0.8, 1.2)
                retry_at = datetime.now(UTC) + retry_delay(self.settings, attempts, jitter)
            await self.ctx.store.write(outbox.mark_refused, delivery.id, refused.reason, retry_at)
            log.warning(
                "mail: %s refused for %s (attempt %d): %s%s",
                delivery.message_id,
                address,
                attempts,
                refused.reason,
                "" if retry_at else "; giving up",
            )
            return
        await self.ctx.store.write(outbox.mark_sent, delivery.id, datetime.now(UTC))
        log.info("mail: %s sent to %s", delivery.message_id, address)

    async def _idle_seconds(self) -> float:
        due = await self.ctx.store.read(outbox.next_due)
        if due is None:
            return IDLE_SECONDS
        wait = (due - datetime.now(UTC)).total_seconds()
        return min(max(wait, 0.0), IDLE_SECONDS)
