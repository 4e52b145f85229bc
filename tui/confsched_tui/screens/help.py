"""Help: every key, and what the symbols on the fleet screen mean."""

from __future__ import annotations

from typing import ClassVar, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from confsched_tui.fleetview import STATES, symbol
from confsched_tui.host import Console

KEYS = (
    ("Anywhere", ""),
    ("F2 / f", "Fleet: every endpoint at a glance"),
    ("F3 / s", "Sessions: live and upcoming, with readiness"),
    ("F4 / b", "Book a session"),
    ("F1 / ?", "This help"),
    ("Esc", "Back (close a detail screen, leave the Book screen)"),
    ("Ctrl+Q", "Quit"),
    ("Fleet", ""),
    ("arrows, Home, End", "Move between rooms"),
    ("Enter / click", "Open the room: checks, RTT and loss, its sessions"),
    ("/", "Filter: words (no diacritics needed), state:down, {selectors}"),
    ("1 … 5", "Show only ok / degraded / down / offline / unknown (toggle)"),
    ("0", "Clear the filters"),
    ("Sessions", ""),
    ("Enter", "Open the session: the rooms not ready, and why"),
    ("n", "New booking"),
    ("c (in a session)", "Cancel the session"),
    ("Booking", ""),
    ("Tab / Shift+Tab", "Next / previous field (its text selected: typing replaces it)"),
    ("→", "Accept the grey completion (groups, rooms, agencies)"),
    ("Ctrl+S", "Book (the preview on the right shows conflicts first)"),
    ("Ctrl+N", "Find the next free slots for these rooms"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "dismiss", "Close")
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(self._keys(self._selectors()))
            yield Static(self._legend())

    def _selectors(self) -> str:
        """Selector examples of the loaded fleet (placeholders before it has loaded)."""
        catalog = cast(Console, self.app).catalog.current
        return catalog.examples().selectors() if catalog.endpoints else "under:SITE, level:LEVEL"

    @staticmethod
    def _keys(selectors: str) -> Table:
        table = Table(title="confsched console — keys", expand=True, show_header=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, what in KEYS:
            if what:
                table.add_row(key, what.format(selectors=selectors))
            else:
                table.add_row(Text(key, style="bold underline"), "")
        return table

    @staticmethod
    def _legend() -> Text:
        text = Text("\nStates  ", style="bold")
        meaning = {
            "ok": "all checks pass",
            "degraded": "usable, something to fix",
            "down": "not usable",
            "offline": "no report for 3 intervals",
            "unknown": "never reported",
        }
        for state in STATES:
            text.append(f"{symbol(state)} {state}", style="bold")
            text.append(f" {meaning[state]}   ")
        text.append("\n\nChanges in the scheduler show within 2 s; the status line says when it ")
        text.append("cannot be reached, and the console reconnects by itself.")
        return text
