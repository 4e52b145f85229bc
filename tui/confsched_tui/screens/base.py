"""What every live screen shares: re-reading its data in a worker when the scheduler changes.

The app tells the visible screen ``request_reload()`` after each new revision; a screen that
comes back into view reloads if it missed one. Loads never overlap: a request during a load is
folded into one more load after it, so a busy scheduler cannot pile up requests.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from textual import events
from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.screen import Screen
from textual.widgets import Footer, Header

from confsched_tui.api import ApiProblem, Unreachable
from confsched_tui.host import Console
from confsched_tui.i18n import _
from confsched_tui.widgets.status import StatusLine

NARROW_BELOW = 120
"""Narrower than this, the footer leaves out a screen's ``NARROW_HIDES``: at 80 columns that
is the room the last key, F4 Book, needs in Vietnamese."""


def translated(bindings: dict[str, ActiveBinding]) -> dict[str, ActiveBinding]:
    """The bindings with their descriptions in the console's language.

    ``BINDINGS`` are class attributes, made at import, before the language is chosen: their
    descriptions are msgids (marked with ``N_``) and the footer, the help panel and the
    command palette read them through ``active_bindings``, translated here."""
    return {
        key: active._replace(
            binding=dataclasses.replace(active.binding, description=_(active.binding.description))
        )
        for key, active in bindings.items()
    }


class LiveScreen(Screen[Any]):
    """Subclasses implement ``load()`` (fetch through ``self.console.api`` and show)."""

    loaded_revision: int = -2
    NARROW_HIDES: frozenset[str] = frozenset({"ctrl+q"})
    """Keys the footer leaves out on a narrow terminal: Ctrl+Q is Textual's own quit key and
    in the help (F1), which stays."""
    REFRESH_EVERY: float | None = None
    """Also re-read this often while shown: a safety net for changes a scheduler does not
    announce through ``/api/v1/changes`` (older schedulers did not for health or readiness),
    and for times shown relative to now."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loading = False
        self.loads = 0
        self._narrow = False

    @property
    def console(self) -> Console:
        return cast(Console, self.app)

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The footer's keys in the console's language (without Ctrl+Q when narrow)."""
        bindings = translated(super().active_bindings)
        for key in self.NARROW_HIDES if self._narrow else ():
            if key in bindings:
                hidden = dataclasses.replace(bindings[key].binding, show=False)
                bindings[key] = bindings[key]._replace(binding=hidden)
        return bindings

    def compose_header(self) -> ComposeResult:
        yield Header(icon="◉")

    def compose_footer(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield Footer(show_command_palette=False)  # Ctrl+P is in the help: the row is full

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW_BELOW
        if narrow != self._narrow:
            self._narrow = narrow
            self.refresh_bindings()

    def on_mount(self) -> None:
        if self.REFRESH_EVERY:
            self.set_interval(self.REFRESH_EVERY, self._tick)

    def _tick(self) -> None:
        if self.is_current and self.console.connected:
            self.request_reload()

    def on_screen_resume(self) -> None:
        if self.loaded_revision != self.console.revision or self.loaded_revision < 0:
            self.request_reload()

    def request_reload(self) -> None:
        if not self._loading:
            self._loading = True
            self.run_worker(self._reload(), group="reload", exit_on_error=False)

    async def _reload(self) -> None:
        try:
            await self.console.wait_first_revision()
            while True:
                revision = self.console.revision
                try:
                    await self.load()
                except ApiProblem as exc:
                    self.problem(exc)
                    return
                self.loads += 1
                self.loaded_revision = revision
                if self.console.revision == revision:
                    return
        finally:
            self._loading = False

    async def load(self) -> None:
        raise NotImplementedError

    def problem(self, exc: ApiProblem) -> None:
        """A load failed: the live feed reports lost connections; say other failures here."""
        if not isinstance(exc, Unreachable):
            self.notify(str(exc), title=_("scheduler"), severity="warning")
