"""The console application: screens on keys, a live feed from the scheduler, a status line.

``ConsoleApp(url=…, token=…)`` is all a caller needs (``confsched tui``, ``confsched demo``).
Tests and benchmarks may pass ``clock`` (a frozen "now") and read ``milestones``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import CommandPalette, Provider
from textual.reactive import reactive

from confsched_tui import i18n
from confsched_tui.access import Access, access_from
from confsched_tui.api import ApiClient, ApiProblem
from confsched_tui.catalog import CatalogCache
from confsched_tui.commands import ConsoleCommands
from confsched_tui.host import Console
from confsched_tui.i18n import N_, _
from confsched_tui.live import LiveFeed
from confsched_tui.screens.base import LiveScreen
from confsched_tui.screens.booking import BookingScreen
from confsched_tui.screens.fleet import FleetScreen
from confsched_tui.screens.help import HelpScreen
from confsched_tui.screens.sessions import SessionsScreen
from confsched_tui.text import fmt_time

FIRST_REVISION_WAIT_S = 1.0
FLEET_LANGUAGE_WAIT_S = 2.0
"""How long the start waits for the fleet's language when neither ``--lang`` nor the locale
chose one (then Vietnamese, the product's first language)."""


class ConsoleApp(App[None]):
    """The IT staff's console for one scheduler."""

    CSS_PATH = "console.tcss"
    TITLE = "confsched"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {ConsoleCommands}
    """Ours only: Textual's own commands (theme, screenshot…) would speak English alone."""
    MODES: ClassVar[dict[str, Any]] = {
        "fleet": FleetScreen,
        "sessions": SessionsScreen,
        "book": BookingScreen,
    }
    DEFAULT_MODE = "fleet"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", N_("Help")),
        Binding("question_mark", "help", N_("Help"), show=False),
        Binding("f2", "go('fleet')", N_("Fleet")),
        Binding("f", "go('fleet')", N_("Fleet"), show=False),
        Binding("f3", "go('sessions')", N_("Sessions")),
        Binding("s", "go('sessions')", N_("Sessions"), show=False),
        Binding("f4", "go('book')", N_("Book")),
        Binding("b", "go('book')", N_("Book"), show=False),
        Binding("ctrl+q", "quit", N_("Quit"), priority=True),
        Binding("ctrl+p", "command_palette", N_("Commands"), show=False, priority=True),
    ]

    status_forms: reactive[tuple[str, ...]] = reactive(())
    """The status line's text, longest reading first: it shows the longest that fits."""
    connected: reactive[bool] = reactive(True)
    access_note: reactive[tuple[str, ...]] = reactive(())
    """``read-only (viewer token)``, then ``read-only``, while writes would be refused (empty
    when the console may write); the status line shows the longest that fits."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:8080",
        token: str | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        min_interval: float = 0.5,
        lang: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """``lang``: ``vi`` or ``en``; None chooses from the locale (``environ``, the process's
        by default), else from the fleet's ``language`` setting or time zone."""
        super().__init__()
        self.language = i18n.choose(lang, os.environ if environ is None else environ, None)
        if self.language is not None:
            i18n.use(self.language)
        self.status_forms = (_("connecting…"),)
        self.url = url
        self.api = ApiClient(url, token)
        self.catalog = CatalogCache(self.api)
        self.revision = -1
        self.milestones: dict[str, float] = {"start": time.perf_counter()}
        self._clock = clock
        self._left_mode = "fleet"
        self.access = Access.UNKNOWN
        self._first_revision = asyncio.Event()
        self._prefetch: asyncio.Future[Any] | None = None
        self.feed = LiveFeed(self.api, self._on_change, self._on_status, min_interval=min_interval)

    # -- time ------------------------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return self.catalog.current.tz

    def now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(UTC)

    def next_hour(self) -> datetime:
        now = self.now().astimezone(self.tz)
        return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)

    def window_start(self) -> str:
        """Ask for sessions from 12 hours back, so the live ones are included."""
        return (self.now() - timedelta(hours=12)).astimezone(self.tz).isoformat(timespec="seconds")

    # -- life cycle ------------------------------------------------------------------------
    async def on_load(self) -> None:
        """Before the terminal and the first screen are set up: start fetching the fleet, so
        the network and Textual's start-up overlap; only when the language is the fleet's to
        choose does the start wait for the fleet's summary."""
        self._prefetch = asyncio.ensure_future(self._prefetch_fleet())
        if self.language is None:
            self.language = await self._fleet_language()
            i18n.use(self.language)
            self.status_forms = (_("connecting…"),)

    async def _fleet_language(self) -> str:
        try:
            fleet = await asyncio.wait_for(self.api.fleet(), FLEET_LANGUAGE_WAIT_S)
        except (TimeoutError, ApiProblem):
            return "vi"
        return i18n.from_fleet(fleet)

    async def _prefetch_fleet(self) -> Any:
        fetches = (self.catalog.get(), self.api.health())
        results = await asyncio.gather(*fetches, return_exceptions=True)
        return results[1]

    async def prefetched_health(self) -> Any:
        """The health fetched at start-up, once (None afterwards, or if that fetch failed)."""
        task, self._prefetch = self._prefetch, None
        if task is None:
            return None
        result = await task
        return None if isinstance(result, BaseException) else result

    def on_mount(self) -> None:
        self.run_worker(self.feed.run(), name="live", group="live", exit_on_error=False)
        self._check_access()

    def _check_access(self) -> None:
        self.run_worker(self._ask_access(), group="access", exclusive=True, exit_on_error=False)

    async def _ask_access(self) -> None:
        """Ask the scheduler what our token may do (again after each reconnection: it may have
        been revoked meanwhile); say so at once when it may not write."""
        access = await access_from(self.api)
        if access is None or access is self.access:
            return
        self.access = access
        self.access_note = access.notes()
        self._retitle()
        if access.read_only:
            self.notify(access.explain(), title=_("read-only"), severity="warning", timeout=20)

    @property
    def read_only(self) -> bool:
        return self.access.read_only

    def refuse_write(self) -> bool:
        """True (and the reason told) when this console may not write: the caller stops."""
        if self.access.read_only:
            self.notify(self.access.explain(), title=_("read-only"), severity="error", timeout=20)
        return self.access.read_only

    async def on_unmount(self) -> None:
        if self._prefetch is not None:
            self._prefetch.cancel()
        with contextlib.suppress(Exception):
            await self.api.close()

    async def wait_first_revision(self) -> None:
        """Let the first load carry a known revision (or go ahead after a short wait)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_revision.wait(), FIRST_REVISION_WAIT_S)

    async def _on_change(self, revision: int) -> None:
        self.revision = revision
        self._first_revision.set()
        self.status_forms = self._connected_text()
        screen = self.screen
        if isinstance(screen, LiveScreen):
            screen.request_reload()

    @property
    def status(self) -> str:
        """The status line's text in full (whatever the line has room for)."""
        return self.status_forms[0] if self.status_forms else ""

    def _on_status(self, ok: bool, texts: tuple[str, ...]) -> None:
        if ok and not self.connected:
            self._check_access()
        self.connected = ok
        self.status_forms = texts if not ok else self._connected_text()
        if not ok:
            self._first_revision.set()

    def _connected_text(self) -> tuple[str, ...]:
        """Connected, in four readings: all; without the URL; short words; time and revision
        only. The revision stays in every one (it is what one compares with the CLI)."""
        name = self.catalog.current.name
        updated = fmt_time(self.now(), self.tz, seconds=True)
        full = _("● connected · updated {updated} · {where} · revision {revision}")
        short = _("● {updated} · {where} · rev. {revision}")
        wheres = [f"{name} · {self.url}" if name else self.url, *([name] if name else [])]
        forms = [full.format(updated=updated, where=where, revision=self.revision)
                 for where in wheres]  # fmt: skip
        forms.append(short.format(updated=updated, where=wheres[-1], revision=self.revision))
        forms.append(_("● {updated} · rev. {revision}").format(
            updated=updated, revision=self.revision))  # fmt: skip
        return tuple(forms)

    def loaded(self, view: str, count: int) -> None:
        """A view has shown its data: the benchmark and tests read ``milestones``."""
        self.milestones.setdefault(f"{view}:{count}", time.perf_counter())
        self._retitle()

    def _retitle(self) -> None:
        name = self.catalog.current.name
        title = f"confsched — {name}" if name else "confsched"
        if self.access.read_only:
            title += f" — {_('read-only')}"
        if self.title != title:
            self.title = title

    # -- actions ---------------------------------------------------------------------------
    async def action_go(self, mode: str) -> None:
        """F2/F3/F4: that list (or the form) itself, not a detail screen left open over it in
        that mode; the mode left is remembered for :meth:`leave`."""
        if mode != self.current_mode:
            self._left_mode = self.current_mode
            await self.switch_mode(mode)
        while len(self.screen_stack) > 1:
            await self.pop_screen()

    async def action_leave(self) -> None:
        """Back to the mode the operator came from (Esc on the Book screen)."""
        await self.action_go(self._left_mode if self._left_mode != self.current_mode else "fleet")

    def action_command_palette(self) -> None:
        """Ctrl+P, its prompt in the console's language."""
        if not isinstance(self.screen, CommandPalette):
            placeholder = _("A screen, an action, a room or a session…")
            self.push_screen(CommandPalette(placeholder=placeholder, id="--command-palette"))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def _is_a_console(app: ConsoleApp) -> Console:
    """mypy checks here that the app gives screens all that ``host.Console`` promises."""
    return app
