"""``confsched demo``: the scheduler, a simulated agent in every PC room, a simulated codec
(polled over HTTPS) in every codec room, and the console.

The scheduler and the simulated agents run on their own event loop in a background thread, so
the console (main thread) stays responsive and talks to the scheduler over HTTP like any operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import sqlite_utils

from confsched.config import Settings
from confsched.domain.model import Fleet
from confsched.domain.sitetree import areas
from confsched.errors import ConfschedError, InvalidInput
from confsched.runtime.components import Components
from confsched.runtime.root import run_server
from confsched.services.booking import book, list_sessions, parse_request
from confsched.store.db import open_db
from confsched.store.demo_mark import mark_demo, peek_fleet

log = logging.getLogger(__name__)

DEMO_DATA = Path("confsched-demo")
"""The demo's own data directory unless ``--data`` names one. Not ``$CONFSCHED_DATA``: that
names the real scheduler's, which the demo must never run on."""


def claim_demo_directory(directory: Path) -> None:
    """Make ``directory`` the demo's (a store marked as the demo's), or refuse it, changing
    nothing, when it holds a fleet the demo did not make: the demo would import its sample over
    that fleet and re-enrol every room's key, locking the real agents out."""
    try:
        stored = peek_fleet(directory)
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{directory}: its store cannot be read ({exc}); not using it") from None
    if stored is not None and not stored.demo:
        raise InvalidInput(
            f"{directory} holds the fleet {stored.name!r} ({stored.endpoints} rooms), not a "
            f"demo's: the demo would replace it and re-enrol its rooms' keys. Run the demo in "
            f"its own directory: leave out --data (it uses ./{DEMO_DATA}) or give an empty one"
        )
    db = open_db(directory)
    try:
        mark_demo(db)
    finally:
        db.close()


def packaged_sample() -> Path:
    """The sample province shipped inside the package, so the demo runs from anywhere."""
    return Path(str(resources.files("confsched") / "sample_rooms.yaml"))


def demo_rooms(path: Path) -> Path:
    """``path`` if it exists, else the fleet of that name shipped in the package
    (``examples/thai-nguyen-2025.yaml`` works from any directory after a wheel install)."""
    if path.exists():
        return path
    packaged = Path(str(resources.files("confsched") / path))
    if path.is_absolute() or not packaged.is_file():
        raise InvalidInput(f"--rooms {path}: no such file (nor one shipped with confsched)")
    return packaged


def _next_working_day(local: datetime, fleet: Fleet) -> datetime:
    day = local + timedelta(days=1)
    while day.weekday() not in fleet.working_hours.days:
        day += timedelta(days=1)
    return day


def seed_sessions(db: sqlite_utils.Database, fleet: Fleet, now: datetime) -> list[str]:
    """Book a few sessions so the console has something to show, unless some are upcoming.

    One area's meeting (Võ Nhai's in the sample; in a province with no areas, a dozen communes)
    whose setup time has just begun (its readiness fills in at once), a province-wide meeting on
    the next working day, and a weekly leaders' briefing with the areas' rooms.
    """
    if list_sessions(db, start=now):
        return []
    local = now.astimezone(ZoneInfo(fleet.timezone)).replace(second=0, microsecond=0)
    soon = local + timedelta(minutes=14)
    tomorrow = _next_working_day(local, fleet)
    monday = local + timedelta(days=(7 - local.weekday()) % 7 or 7)
    group_title, group, leaders = _groups(fleet)
    plans = [
        (group_title, group, soon, "1h", None),
        ("Hội nghị trực tuyến toàn tỉnh", "all", tomorrow.replace(hour=8, minute=0), "2h", None),
        (
            "Giao ban UBND tỉnh với các địa phương",
            leaders,
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


def _groups(fleet: Fleet) -> tuple[str, str, str]:
    """The demo's groups, from the fleet's own tree: (title, selectors of one area's meeting,
    selectors of the leaders' briefing)."""
    top = fleet.levels[0]
    grouped = areas(fleet.sites, fleet.levels)
    if grouped:
        area = fleet.sites.get("h-vo-nhai") or grouped[0]
        levels = f"level:{top},level:{area.level}"
        return f"Giao ban trực tuyến {area.name}", f"under:{area.id}", levels
    below = [e.id for e in fleet.endpoints.values() if e.level != top][:12]
    group = ",".join(below) or "all"
    return "Giao ban trực tuyến các xã, phường", group, f"level:{top},{group}"


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
    claim_demo_directory(settings.data_dir)
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
