"""Booking: a form with completion, a live conflict preview, the next free slots, and Book.

The preview is a dry run on the scheduler (``POST /sessions/preview``), debounced and run in an
exclusive worker, so typing never waits for the network and only the latest form is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from confsched_tui.api import ApiError, ApiProblem, Refused, RouteMissing
from confsched_tui.complete import Completer, selector_candidates
from confsched_tui.i18n import N_, _
from confsched_tui.screens.base import LiveScreen
from confsched_tui.sessionview import PREVIEW_NEEDS, booking_body, missing
from confsched_tui.sittings import rrule_text
from confsched_tui.text import fmt_span, form_time, nfc
from confsched_tui.widgets.fitted import FittedInput
from confsched_tui.widgets.preview import (
    render_booked,
    render_preview,
    render_problem,
    render_refusal,
)

DEBOUNCE_S = 0.35
FIELDS = (
    ("title", N_("Title"), ("Giao ban trực tuyến …",)),
    ("organizer", N_("Organizer"), (N_("agency id"),)),
    ("chair", N_("Chair"), (N_("endpoint id"),)),
    ("with", N_("With"), (N_("all, level:…, under:…, tag:…, ids …"), N_("all, level:…, ids …"))),
    ("start", N_("Start"), (N_("YYYY-MM-DD HH:MM (local)"), "YYYY-MM-DD HH:MM")),
    ("duration", N_("Duration"), ("90m, 2h, 1h30m",)),
    ("setup", N_("Setup"), (N_("15m (connection test before the start)"),
                            N_("15m (test before the start)"), "15m")),
    ("repeat", N_("Repeat"), (N_("FREQ=WEEKLY;BYDAY=MO (optional)"),
                              N_("FREQ=WEEKLY;BYDAY=MO (opt.)"), "FREQ=WEEKLY;BYDAY=MO")),
    ("except", N_("Except"), (N_("sittings to skip: 2026-12-21, … (a series)"),
                              N_("skip: 2026-12-21, …"), "2026-12-21, …")),
)  # fmt: skip
"""Name, label and placeholders of every field, longest first: the field shows the longest
that fits its width (labels and placeholders translated when shown; the title's is Vietnamese
in both languages, like the meetings)."""
HINTED = ("organizer", "chair", "repeat")


class BookingScreen(LiveScreen):
    NARROW_HIDES = LiveScreen.NARROW_HIDES | {"ctrl+s", "ctrl+n"}
    """The form's buttons name Ctrl+S and Ctrl+N already."""
    BINDINGS: ClassVar[list[BindingType]] = [
        # Tab moves focus before the next key is handed to a field: as a screen binding it
        # waited in the field's queue behind the keys typed after it, which then landed in the
        # field just left (fast typing, pasted text, a terminal sending a burst).
        Binding("tab", "app.focus_next", N_("Next field"), show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", N_("Previous field"), show=False, priority=True),
        Binding("escape", "app.leave", N_("Back")),
        Binding("ctrl+s", "book", N_("Book")),
        Binding("ctrl+n", "find_slots", N_("Next free slot")),
        Binding("ctrl+l", "clear", N_("Clear form"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._timer: Timer | None = None
        self._completers = {
            "organizer": Completer(),
            "chair": Completer(),
            "with": Completer(multiple=True),
        }
        self.last_preview: Mapping[str, Any] | None = None
        self._outcome = False
        """A booking is on its way or its answer (booked, refused) is shown: a quiet re-check
        after the scheduler changed must not replace it; the next edit of the form does."""

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with Horizontal(id="booking"):
            with VerticalScroll(id="booking-form"):
                for name, label, placeholders in FIELDS:
                    with Horizontal(classes="field"):
                        yield Label(_(label), classes="field-label")
                        yield FittedInput(
                            placeholders=[_(form) for form in placeholders],
                            id=f"f-{name}",
                            suggester=self._completers.get(name),
                            compact=True,
                        )
                    if name in HINTED:
                        yield Static("", id=f"hint-{name}", classes="hint")
                with Horizontal(id="booking-buttons"):
                    yield Button(_("Book ^s"), id="book", variant="primary", compact=True)
                    yield Button(_("Free slots ^n"), id="slots-button", compact=True)
                    yield Button(_("Clear ^l"), id="clear", compact=True)
            with Vertical(id="preview-pane"):
                yield Static(
                    _("Next free slots — Enter takes one"), id="slots-title", classes="section"
                )
                yield OptionList(id="slots")
                yield Static(_("Conflict preview"), classes="section")
                with VerticalScroll(id="preview-scroll"):
                    yield Static(id="preview")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.sub_title = _("Book a session")
        self._show_slots(False)
        self.query_one("#f-title", Input).focus()
        self._show(render_problem(_("Fill in with, start and duration to see conflicts."), "dim"))

    # -- data ------------------------------------------------------------------------------
    async def load(self) -> None:
        catalog = await self.console.catalog.get()
        ids = [str(e["id"]) for e in catalog.endpoints]
        self._completers["organizer"].candidates = list(catalog.agencies())
        self._completers["chair"].candidates = ids
        self._completers["with"].candidates = selector_candidates(
            ids, catalog.levels(), catalog.areas(), catalog.tags()
        )
        examples = catalog.examples()
        self._placeholders(
            "organizer",
            _("agency id, e.g. {agency}").format(agency=examples.agency),
            _("e.g. {agency}").format(agency=examples.agency),
        )
        self._placeholders(
            "chair",
            _("endpoint id, e.g. {endpoint}").format(endpoint=examples.endpoint),
            _("e.g. {endpoint}").format(endpoint=examples.endpoint),
        )
        self._placeholders(
            "with",
            *(_("all, {selectors}, ids …").format(selectors=examples.selectors(n))
              for n in (3, 2, 1)),
            _("all, level:…, ids …"),
        )  # fmt: skip
        if not self.query_one("#f-start", Input).value:
            next_hour = form_time(self.console.next_hour(), self.console.tz)
            self._placeholders("start", _("{time} (local)").format(time=next_hour), next_hour)
        if not missing(self.fields(), PREVIEW_NEEDS):
            await self._preview(quiet=True)

    def _placeholders(self, name: str, *forms: str) -> None:
        self.query_one(f"#f-{name}", FittedInput).placeholders = forms

    def fields(self) -> dict[str, str]:
        return {
            name: self.query_one(f"#f-{name}", Input).value for name, _label, _placeholder in FIELDS
        }

    def set_fields(self, **values: str) -> None:
        for name, value in values.items():
            self.query_one(f"#f-{name}", Input).value = value

    # -- preview ---------------------------------------------------------------------------
    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("f-")
        self._outcome = False
        if name in HINTED:
            self._hint(name, event.value.strip())
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, self._schedule_preview)

    def _hint(self, name: str, value: str) -> None:
        catalog = self.console.catalog.current
        if name == "organizer":
            text = catalog.agencies().get(value, _("unknown agency") if value else "")
        elif name == "repeat":
            text = rrule_text(value, catalog.tz) if value else ""
        else:
            text = str(
                catalog.by_id.get(value, {}).get("name") or (_("unknown endpoint") * bool(value))
            )
        self.query_one(f"#hint-{name}", Static).update(nfc(text))

    def _schedule_preview(self) -> None:
        self.run_worker(self._preview(), group="preview", exclusive=True, exit_on_error=False)

    async def _preview(self, quiet: bool = False) -> None:
        """``quiet``: a re-check after a change elsewhere; keep the last answer up meanwhile."""
        fields = self.fields()
        needed = missing(fields, PREVIEW_NEEDS)
        if quiet and self._outcome:
            return
        if needed:
            text = _("Fill in {fields} to see conflicts.").format(fields=field_names(needed))
            self._show(render_problem(text, "dim"))
            return
        if not quiet:
            self._show(render_problem(_("Checking…"), "dim"))
        try:
            body = booking_body(fields)
            body.setdefault("title", "(preview)")  # some schedulers check the whole body
            result = await self.console.api.preview(body)
        except RouteMissing as exc:
            self._show(render_problem(str(exc), "yellow"))
            return
        except ApiProblem as exc:
            self._show(render_problem(str(exc), "yellow"))
            return
        if quiet and self._outcome:
            return  # a booking started while this re-check was on its way
        self.last_preview = result
        self._show(render_preview(result, self.console.tz))

    def _show(self, content: Text) -> None:
        self.query_one("#preview", Static).update(content)

    # -- booking ---------------------------------------------------------------------------
    @on(Button.Pressed, "#book")
    def action_book(self) -> None:
        if self.console.refuse_write():
            return
        fields = self.fields()
        needed = missing(fields, ("title", *PREVIEW_NEEDS))
        if needed:
            text = _("To book, fill in {fields}.").format(fields=field_names(needed))
            self._show(render_problem(text, "yellow"))
            self.query_one(f"#f-{needed[0]}", Input).focus()
            return
        if self._timer is not None:
            self._timer.stop()
        self.run_worker(self._book(booking_body(fields)), group="preview", exclusive=True,
                        exit_on_error=False)  # fmt: skip

    async def _book(self, body: dict[str, Any]) -> None:
        self._outcome = True
        self._show(render_problem(_("Booking…"), "dim"))
        try:
            session = await self.console.api.book(body)
        except Refused as exc:
            self._show(render_refusal(exc.message, exc.conflicts, self.console.tz))
            self.notify(exc.message, title=_("booking refused"), severity="error")
            return
        except ApiProblem as exc:
            self._show(render_problem(str(exc), "bold red"))
            self.notify(str(exc), title=_("not booked"), severity="error")
            return
        self._show(render_booked(session, self.console.tz))
        title = nfc(session.get("title"))
        self.notify(_("«{title}» booked").format(title=title), title=_("booked"))
        from confsched_tui.screens.session import SessionScreen

        self.app.push_screen(SessionScreen(str(session["id"])))

    # -- free slots ------------------------------------------------------------------------
    @on(Button.Pressed, "#slots-button")
    def action_find_slots(self) -> None:
        fields = self.fields()
        needed = missing(fields, ("with", "duration"))
        if needed:
            text = _("To find a slot, fill in {fields}.").format(fields=field_names(needed))
            self._show(render_problem(text, "yellow"))
            return
        self.run_worker(self._slots(fields), group="slots", exclusive=True, exit_on_error=False)

    async def _slots(self, fields: Mapping[str, str]) -> None:
        slots_list = self.query_one("#slots", OptionList)
        try:
            slots = await self.console.api.slots(fields["with"].strip(), fields["duration"].strip())
        except (ApiError, ApiProblem) as exc:
            self._show(render_problem(str(exc), "yellow"))
            return
        slots_list.clear_options()
        tz = self.console.tz
        for slot in slots:
            label = f"{fmt_span(slot['start'], slot['end'], tz)}"
            slots_list.add_option(Option(label, id=form_time(slot["start"], tz)))
        self._show_slots(bool(slots))
        if slots:
            slots_list.highlighted = 0
            slots_list.focus()
        else:
            self._show(render_problem(_("No free slot in the next 7 days."), "yellow"))

    def _show_slots(self, shown: bool) -> None:
        self.query_one("#slots", OptionList).display = shown
        self.query_one("#slots-title", Static).display = shown

    @on(OptionList.OptionSelected, "#slots")
    def _slot_chosen(self, event: OptionList.OptionSelected) -> None:
        self.set_fields(start=str(event.option.id))
        self._show_slots(False)
        self.query_one("#f-start", Input).focus()

    @on(Button.Pressed, "#clear")
    def action_clear(self) -> None:
        for name, _label, _placeholder in FIELDS:
            self.query_one(f"#f-{name}", Input).value = ""
        self._show_slots(False)
        self.query_one("#f-title", Input).focus()


def field_names(names: list[str]) -> str:
    """``with, start`` as the form labels them, in the console's language (lower case)."""
    labels = {name: label for name, label, _placeholder in FIELDS}
    return ", ".join(_(labels[n]).lower() if n in labels else n for n in names)
