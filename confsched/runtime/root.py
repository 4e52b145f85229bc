"""Build the scheduler from its parts and run it until cancelled."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from confsched.agentlink.server import AgentLink
from confsched.calendar.invitations import compose as compose_invitation
from confsched.calendar.service import FeedService
from confsched.codecs.poller import CodecPolling
from confsched.config import Settings
from confsched.mail.mailer import Mailer
from confsched.runtime.components import Component, Components
from confsched.runtime.health import HealthRuntime
from confsched.runtime.looplag import LoopLagProbe
from confsched.runtime.metrics import LiveMetrics
from confsched.runtime.readiness import ReadinessChecker
from confsched.server import ServerContext, open_context, watch_changes
from confsched.services.health import load_board
from confsched.web.app import HttpServer, WebParts, make_app

log = logging.getLogger(__name__)

Ready = Callable[[Components], Awaitable[None] | None]

GC_YOUNG = 50_000
"""Tracked objects the young generation may grow by before a collection (Python's default is
700). A report's objects live a few milliseconds to a commit, but a fleet keeps thousands of
reports in flight: at 700, they were collected young again and again and those in flight moved
on to the old generation, whose full passes over every connection's objects then held the
event loop 140–230 ms at a time and took a tenth to a fifth of the scheduler's CPU at
saturation (``bench/ingest.py`` measures both). What lives long (connections, the board) still
reaches the old generation, just without the churn."""


async def build(ctx: ServerContext) -> Components:
    """Every component, wired to what it uses; nothing started yet."""
    board = await ctx.store.read(load_board, ctx.fleet.report_interval, datetime.now(UTC))
    health = HealthRuntime(ctx, board)
    link = AgentLink(ctx, health.service)
    calendar = FeedService(ctx)
    looplag = LoopLagProbe()
    metrics = LiveMetrics(ctx, board, looplag)
    parts = WebParts(board, lambda: link.agents, calendar, metrics.exporter)
    return Components(
        ctx=ctx,
        looplag=looplag,
        health=health,
        agentlink=link,
        codecs=CodecPolling(ctx, health.service),
        readiness=ReadinessChecker(ctx, link),
        calendar=calendar,
        metrics=metrics,
        http=HttpServer(ctx, make_app(ctx, parts)),
        mailer=_mailer(ctx),
    )


def _mailer(ctx: ServerContext) -> Mailer | None:
    smtp = ctx.settings.smtp
    return Mailer(ctx, smtp, compose_invitation) if smtp is not None else None


async def run_server(settings: Settings, ready: Ready | None = None) -> None:
    """Run until cancelled: start every component, then watch the store for changes."""
    ctx = await open_context(settings)
    started: list[Component] = []
    try:
        components = await build(ctx)
        for component in components.in_start_order():
            started.append(component)  # stopped even if its start fails half-way
            await component.start()
        await components.calendar.publish_base_url(components.http.public_url)
        # What start-up loaded (modules, the fleet, the latest states) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise pause the loop.
        gc.freeze()
        gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
        since = await ctx.store.data_version()
        if ready is not None:
            result = ready(components)
            if asyncio.iscoroutine(result):
                await result
        await watch_changes(ctx, since)
    finally:
        await _stop(started)
        ctx.store.close()


async def _stop(started: list[Component]) -> None:
    for component in reversed(started):
        try:
            await component.stop()
        except Exception:  # one component failing to stop must not keep the others running
            log.exception("stopping %s failed", type(component).__name__)
