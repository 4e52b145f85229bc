"""The dialogs that change a session: cancel or move it, and for a series, which: the one
sitting chosen or the whole series (the dialog asks, never guesses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from confsched_tui.i18n import N_, _
from confsched_tui.screens.base import translated

ONE = "one"
SERIES = "series"


class CancelScreen(ModalScreen[str | None]):
    """Cancel what? ``ONE`` (the sitting named), ``SERIES``, or None (nothing)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "dismiss(None)", N_("No")),
        Binding("o", "dismiss('one')", N_("This sitting"), show=False),
        Binding("a", "dismiss('series')", N_("Whole series"), show=False),
        Binding("y", "yes", N_("Yes"), show=False),
    ]

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return translated(super().active_bindings)

    def __init__(self, title: str, sitting: str | None) -> None:
        """``sitting``: the sitting's time as shown, for a series; None for a single session."""
        super().__init__()
        self.title_text = title
        self.sitting = sitting

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            if self.sitting is None:
                question = _("Cancel «{title}» for every room? Invites go out as cancelled.")
            else:
                question = _(
                    "«{title}» repeats. Cancel only the sitting of {when}, or the whole series "
                    "(every sitting from now on)? Invites go out either way."
                )
            yield Static(question.format(title=self.title_text, when=self.sitting), id="question")
            with Horizontal(id="confirm-buttons"):
                if self.sitting is None:
                    yield Button(_("Yes (y)"), id="series", variant="error")
                else:
                    yield Button(_("This sitting (o)"), id="one", variant="error")
                    yield Button(_("Whole series (a)"), id="series", variant="error")
                yield Button(_("No (n)"), id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_yes(self) -> None:
        if self.sitting is None:
            self.dismiss(SERIES)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``o`` means something only for a series."""
        return not (action == "dismiss" and parameters == (ONE,) and self.sitting is None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id if event.button.id in (ONE, SERIES) else None)


@dataclass(frozen=True, slots=True)
class Move:
    """What the move dialog asks for: the scope, the new local start, a new duration or ""."""

    scope: str
    start: str
    duration: str


class MoveScreen(ModalScreen[Move | None]):
    """Move to when (the sitting's start, ready to edit) and, for a series, which."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", N_("Back")),
        Binding("tab", "app.focus_next", N_("Next field"), show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", N_("Previous field"), show=False, priority=True),
    ]

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return translated(super().active_bindings)

    def __init__(self, title: str, start: str, sitting: str | None) -> None:
        super().__init__()
        self.title_text = title
        self.start = start
        self.sitting = sitting

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            if self.sitting is None:
                question = _("Move «{title}» to:").format(title=self.title_text)
            else:
                question = _(
                    "Move «{title}»: the sitting of {when}, or the whole series (every sitting "
                    "moved as this one)?"
                ).format(title=self.title_text, when=self.sitting)
            yield Static(question, id="question")
            with Horizontal(classes="field"):
                yield Label(_("Start"), classes="field-label")
                yield Input(self.start, id="move-start", compact=True)
            with Horizontal(classes="field"):
                yield Label(_("Duration"), classes="field-label")
                yield Input(
                    placeholder=_("as it is (or 90m, 2h)"), id="move-duration", compact=True
                )
            with Horizontal(id="confirm-buttons"):
                if self.sitting is None:
                    yield Button(_("Move"), id=SERIES, variant="warning")
                else:
                    yield Button(_("This sitting"), id=ONE, variant="warning")
                    yield Button(_("Whole series"), id=SERIES, variant="warning")
                yield Button(_("Back (Esc)"), id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#move-start", Input).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id not in (ONE, SERIES):
            self.dismiss(None)
            return
        start = self.query_one("#move-start", Input).value.strip()
        duration = self.query_one("#move-duration", Input).value.strip()
        self.dismiss(Move(str(event.button.id), start, duration))
