"""``confsched demo``: the scheduler, a simulated agent in every PC room, a simulated codec
(polled over HTTPS) in every codec room, and the console.

The scheduler and the simulated agents run on their own event loop in a background thread, so
the console (main thread) stays responsive and talks to the scheduler over HTTP like any operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import sqlite_utils

from confsched.config import Settings
from confsched.domain.model import Fleet
from confsched.errors import ConfschedError
from confsched.runtime.components import Components
from confsched.runtime.root import run_server
from confsched.services.booking import book, list_sessions, parse_request

log = logging.getLogger(__name__)


def packaged_sample() -> Path:
    """The sample province shipped inside the package, so the demo runs from anywhere."""
    return Path(str(resources.files("confsched") / "sample_rooms.yaml"))


def _next_working_day(local: datetime, fleet: Fleet) -> datetime:
    day = local + timedelta(days=1)
    while day.weekday() not in fleet.working_hours.days:
        day += timedelta(days=1)
    return day


def seed_sessions(db: sqlite_utils.Database, fleet: Fleet, now: datetime) -> list[str]:
    """Book a few sessions so the console has something to show, unless some are upcoming.

    One district meeting whose setup time has just begun (its readiness fills in at once), a
    province-wide meeting on the next working day, and a weekly leaders' briefing.
    """
    if list_sessions(db, start=now):
        return []
    local = now.astimezone(ZoneInfo(fleet.timezone)).replace(second=0, microsecond=0)
    soon = local + timedelta(minutes=14)
    tomorrow = _next_working_day(local, fleet)
    monday = local + timedelta(days=(7 - local.weekday()) % 7 or 7)
    plans = [
        ("Giao ban trực tuyến huyện Võ Nhai", "district:h-vo-nhai", soon, "1h", None),
        ("Hội nghị trực tuyến toàn tỉnh", "all", tomorrow.replace(hour=8, minute=0), "2h", None),
        (
            "Giao ban UBND tỉnh với các huyện",
            "level:province,level:district",
            monday.replace(hour=14, minute=0),
            "1h",
            "FREQ=WEEKLY;BYDAY=MO",
        ),
    ]
    booked = []
    for title, with_, start, duration, repeat in plans:
        request = parse_request(
            fleet,
            title=title,
            with_=with_,
            start=start.strftime("%Y-%m-%d %H:%M"),
            duration=duration,
            repeat=repeat,
        )
        try:
            booked.append(book(db, fleet, request, now=now).id)
        except ConfschedError as exc:  # the operator's own sessions come first
            log.info("demo: not booking %r: %s", title, exc)
    return booked


class DemoBackend:
    """Runs the scheduler and the simulation in a thread until ``stop``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ready = threading.Event()
        self.components: Components | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._simulation: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, name="confsched-demo", daemon=True)

    def start(self) -> Components:
        self._thread.start()
        self.ready.wait()
        if self.error is not None or self.components is None:
            raise click.ClickException(f"the scheduler did not start: {self.error}")
        return self.components

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the main thread, which exits cleanly
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        from confsched.devsim.codec_fleet import DEMO_FAULTS
        from confsched.simulate import run_simulation

        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()

        async def on_ready(components: Components) -> None:
            self.components = components
            ctx = components.ctx
            await ctx.store.write(seed_sessions, ctx.fleet, datetime.now(UTC))
            self._simulation = asyncio.create_task(
                run_simulation(
                    self.settings,
                    len(ctx.fleet.endpoints),
                    ssh_port=components.ssh_port,
                    codecs=DEMO_FAULTS,
                )
            )
            self.ready.set()

        with contextlib.suppress(asyncio.CancelledError):
            await run_server(self.settings, ready=on_ready)

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=10)


def run_demo(settings: Settings, *, headless: bool = False) -> None:
    backend = DemoBackend(settings)
    components = backend.start()
    ctx = components.ctx
    url = f"http://{settings.http_host}:{components.http_port}"
    try:
        if headless:
            click.echo(f"confsched demo: {len(ctx.fleet.endpoints)} simulated rooms; API {url}")
            click.echo("press Ctrl-C to stop")
            threading.Event().wait()
        else:
            from confsched_tui.app import ConsoleApp

            ConsoleApp(url=url, token=ctx.operator_token).run()
    except KeyboardInterrupt:
        pass
    finally:
        backend.stop()
