"""Help: every key, and what the symbols on the fleet screen mean."""

from __future__ import annotations

from typing import ClassVar, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from confsched_tui.fleetview import STATES, state_name, symbol
from confsched_tui.host import Console
from confsched_tui.i18n import N_, _
from confsched_tui.screens.base import translated

KEYS = (
    (N_("Anywhere"), ""),
    ("F2 / f", N_("Fleet: every endpoint at a glance")),
    ("F3 / s", N_("Sessions: live and upcoming, with readiness")),
    ("F4 / b", N_("Book a session")),
    ("F1 / ?", N_("This help")),
    ("Esc", N_("Back (close a detail screen, leave the Book screen)")),
    ("Ctrl+P", N_("Commands: screens, actions, a room or session by name or id")),
    ("Ctrl+Q", N_("Quit")),
    (N_("Fleet"), ""),
    (N_("arrows, Home, End"), N_("Move between rooms")),
    (N_("Enter / click"), N_("Open the room: checks, RTT and loss, its sessions")),
    ("/", N_("Filter: words (no diacritics needed), state:down, reason:camera, {selectors}")),
    ("1 … 5", N_("Show only ok / degraded / down / offline / unknown (toggle)")),
    ("0", N_("Clear the filters")),
    (N_("Sessions"), ""),
    ("Enter", N_("Open the session: the rooms not ready, and why")),
    ("n", N_("New booking")),
    (N_("↑↓ (in a series)"), N_("Choose one of its sittings")),
    (
        N_("c / m (in a session)"),
        N_("Cancel / move it; a series: the sitting chosen or all (asked)"),
    ),
    (N_("Booking"), ""),
    ("Tab / Shift+Tab", N_("Next / previous field (its text selected: typing replaces it)")),
    ("→", N_("Accept the grey completion (groups, rooms, agencies)")),
    ("Ctrl+S", N_("Book (the preview on the right shows conflicts first)")),
    ("Ctrl+N", N_("Find the next free slots for these rooms")),
)
"""Keys and what they do (msgids: translated when the help is drawn); key names that are
the keyboard's own stay as they are."""
MEANING = {
    "ok": N_("all checks pass"),
    "degraded": N_("usable, something to fix"),
    "down": N_("not usable"),
    "offline": N_("no report for 3 intervals"),
    "unknown": N_("never reported"),
}


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "dismiss", N_("Close"))
    ]

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return translated(super().active_bindings)

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
        table = Table(title=_("confsched console — keys"), expand=True, show_header=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, what in KEYS:
            if what:
                table.add_row(_(key), _(what).format(selectors=selectors))
            else:
                table.add_row(Text(_(key), style="bold underline"), "")
        return table

    @staticmethod
    def _legend() -> Text:
        text = Text("\n" + _("States") + "  ", style="bold")
        for state in STATES:
            text.append(f"{symbol(state)} {state_name(state)}", style="bold")
            text.append(f" {_(MEANING[state])}   ")
        text.append("\n\n")
        text.append(
            _(
                "Changes in the scheduler show within 2 s; the status line says when it "
                "cannot be reached, and the console reconnects by itself."
            )
        )
        return text
