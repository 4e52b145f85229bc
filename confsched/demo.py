"""``confsched demo``: the scheduler, a simulated agent in every room, and the console.

The scheduler and the simulated agents run on their own event loop in a background thread, so
the console (main thread) stays responsive and talks to the scheduler over HTTP like any operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from importlib import resources
from pathlib import Path

import click

from confsched.config import Settings
from confsched.server import ServerContext, run_server


def packaged_sample() -> Path:
    """The sample province shipped inside the package, so the demo runs from anywhere."""
    return Path(str(resources.files("confsched") / "sample_rooms.yaml"))


class DemoBackend:
    """Runs the scheduler and the simulation in a thread until ``stop``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ready = threading.Event()
        self.ctx: ServerContext | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._simulation: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, name="confsched-demo", daemon=True)

    def start(self) -> ServerContext:
        self._thread.start()
        self.ready.wait()
        if self.error is not None or self.ctx is None:
            raise click.ClickException(f"the scheduler did not start: {self.error}")
        return self.ctx

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the main thread, which exits cleanly
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        from confsched.simulate import run_simulation

        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()

        async def on_ready(ctx: ServerContext) -> None:
            self.ctx = ctx
            ssh_port = ctx.components.get("ssh_port", self.settings.ssh_port)
            self._simulation = asyncio.create_task(
                run_simulation(self.settings, len(ctx.fleet.endpoints), ssh_port=ssh_port)
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
    ctx = backend.start()
    url = f"http://{settings.http_host}:{ctx.components.get('http_port', settings.http_port)}"
    try:
        if headless:
            click.echo(f"confsched demo: {len(ctx.fleet.endpoints)} simulated rooms; API {url}")
            click.echo("press Ctrl-C to stop")
            threading.Event().wait()
        else:
            from tui.app import ConsoleApp

            ConsoleApp(url=url, token=ctx.operator_token).run()
    except KeyboardInterrupt:
        pass
    finally:
        backend.stop()
