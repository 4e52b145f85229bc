"""Session detail: when, who, every bridge with its load across all sessions, the sittings that
need attention, a series' sittings in view (moved and cancelled marked) with its rule in words,
and every room's readiness, the ones not ready first. ``c`` cancels and ``m`` moves: a single
session, or for a series the sitting highlighted or the whole series (the dialog asks)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from confsched_tui.api import ApiProblem, Refused, RouteMissing
from confsched_tui.i18n import N_, _
from confsched_tui.screens.base import LiveScreen
from confsched_tui.screens.sitting import ONE, CancelScreen, Move, MoveScreen
from confsched_tui.sessionview import (
    attention_lines,
    bridge_detail,
    conflict_text,
    current_occurrence,
    current_sitting,
    readiness_label,
    readiness_rows,
    readiness_text,
    session_state,
    sitting_cancelled,
    state_label,
    when_text,
)
from confsched_tui.sittings import Sitting, rrule_text, sittings
from confsched_tui.text import (
    fmt_day_time,
    fmt_span,
    fmt_time,
    form_time,
    nfc,
    parse_time,
    wrap_all,
)


def room_name(name: str | None) -> str:
    """``UBND xã Phúc Lạc`` for ``Phòng họp UBND xã Phúc Lạc``: the words that tell rooms apart."""
    text = nfc(name)
    return text.removeprefix("Phòng họp ") or text


def complete_rows(
    readiness: Mapping[str, Any] | None,
    session: Mapping[str, Any],
    names: Mapping[str, Mapping[str, Any]],
) -> Mapping[str, Any] | None:
    """Every participant gets a row: schedulers that list only the rooms not ready leave the
    others out, and those are ready (or still pending when the counts say so)."""
    if not readiness or not readiness.get("summary"):
        return readiness
    rows = [dict(r) for r in readiness.get("endpoints") or []]
    listed = {r.get("endpoint") for r in rows}
    others = [e for e in session.get("endpoints") or [] if e not in listed]
    ready = int(readiness["summary"].get("ready") or 0)
    status = "ready" if ready >= len(others) else "pending"
    rows += [{"endpoint": e, "status": status, "reasons": []} for e in others]
    for row in rows:
        if not row.get("endpoint_name"):
            row["endpoint_name"] = names.get(str(row.get("endpoint")), {}).get("name", "")
    return {**readiness, "endpoints": rows}


COLUMNS = (
    ("readiness", N_("Readiness")),
    ("room", N_("Room")),
    ("answered", N_("Answered")),
    ("why", N_("Why")),
    ("endpoint", N_("Endpoint")),
)
"""The answer time before the reasons: at 80 columns the reasons wrap, the time stays."""


def readiness_widths(rows: Sequence[Sequence[Text | str]], width: int) -> list[int]:
    """Column widths for the readiness table: the status, the room and the answer time as
    wide as they need, and the reasons the rest of the screen (wrapped: at 80 columns nothing
    but the endpoint id, last, goes past the edge)."""
    needs = [
        max([len(_(label))] + [len(str(row[i])) for row in rows])
        for i, (_key, label) in enumerate(COLUMNS)
    ]
    needs[1] = min(needs[1], 28)
    fixed = 2 + 2 * len(COLUMNS) + needs[0] + needs[1] + needs[2]
    if fixed + needs[3] + needs[4] <= width:
        return needs
    needs[3] = max(12, width - fixed)  # the endpoint id past the edge, Why to the edge
    return needs


STATUS_STYLE = {"not_ready": "bold red", "no_answer": "yellow", "pending": "dim", "ready": "green"}


class SessionScreen(LiveScreen):
    REFRESH_EVERY = 5.0
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", N_("Back")),
        Binding("c", "cancel_session", N_("Cancel")),
        Binding("m", "move_session", N_("Move")),
        Binding("r", "reload", N_("Reload"), show=False),
    ]

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id
        self.session: Mapping[str, Any] = {}
        self.sittings: list[Sitting] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(id="session-info")
        yield DataTable(id="sittings", cursor_type="row", show_header=False)
        yield Static(id="readiness-summary")
        yield DataTable(id="readiness", cursor_type="row", zebra_stripes=True)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.sub_title = _("Session {id}").format(id=self.session_id)
        self.query_one("#readiness", DataTable).focus()
        sittings_table = self.query_one("#sittings", DataTable)
        sittings_table.add_column(_("Sitting"), key="when")
        sittings_table.add_column("", key="mark")
        sittings_table.display = False

    async def load(self) -> None:
        api = self.console.api
        session, readiness = await asyncio.gather(api.session(self.session_id), self._readiness())
        self.session = session
        catalog = await self.console.catalog.get()
        self._show_info(session)
        self._show_sittings(session)
        self._show_readiness(complete_rows(readiness, session, catalog.by_id))
        self.refresh_bindings()  # `c` and `m` are offered only while there is something to change

    @property
    def cancelled(self) -> bool:
        return self.session.get("status") == "cancelled"

    @property
    def sitting_cancelled(self) -> bool:
        """The session, or the sitting of a series it is at now, is cancelled."""
        return bool(self.session) and sitting_cancelled(self.session, self.console.now())

    @property
    def repeats(self) -> bool:
        return bool(self.session.get("rrule"))

    def chosen_sitting(self) -> Sitting | None:
        """The sitting highlighted in the list (a series), else None."""
        table = self.query_one("#sittings", DataTable)
        if not (self.repeats and self.sittings and table.row_count):
            return None
        return self.sittings[min(table.cursor_row, len(self.sittings) - 1)]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Cancel and move are not offered (False hides the key from the footer too) for a
        cancelled session, nor on a cancelled sitting of a series: highlight a live one."""
        if action not in ("cancel_session", "move_session"):
            return True
        if self.cancelled or not self.session:
            return False
        chosen = self.chosen_sitting()
        if chosen is not None:
            return not chosen.cancelled
        return not self.sitting_cancelled

    @on(DataTable.RowHighlighted, "#sittings")
    def _sitting_highlighted(self) -> None:
        self.refresh_bindings()

    async def _readiness(self) -> Mapping[str, Any] | None:
        try:
            return await self.console.api.readiness(self.session_id)
        except RouteMissing:
            return None

    def _show_info(self, session: Mapping[str, Any]) -> None:
        now, tz = self.console.now(), self.console.tz
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        title = Text()
        if self.sitting_cancelled:
            title.append(" " + _("Cancelled") + " ", style="bold reverse red")
            title.append("  ")
        title.append(nfc(session.get("title")), style="bold")
        sitting = current_sitting(session, now)
        if not self.cancelled and self.sitting_cancelled and sitting is not None:
            when = fmt_span(sitting.get("start"), sitting.get("end"), tz)
            cancelled = _("the sitting of {when} is cancelled").format(when=when)
            title.append(f"   {cancelled}", style="italic")
        elif not self.cancelled:
            title.append(f"   {state_label(session_state(session, now))}", style="italic")
        setup = _("(setup {minutes} min)").format(minutes=session.get("setup_minutes"))
        rows: list[tuple[str, Text | str]] = [
            (_("Title"), title),
            (_("When"), f"{when_text(session, now, tz)} {setup}"),
            (_("Organizer"), nfc(session.get("organizer_name") or session.get("organizer"))),
            (_("Chair"), str(session.get("chair") or "—")),
            (
                _("Rooms"),
                f"{session.get('endpoint_count')} · {', '.join(session.get('selectors') or [])}",
            ),
            (_("Bridges"), self._bridges(session)),
            (_("Repeats"), self._repeats(session)),
        ]
        attention = attention_lines(session, tz)
        if attention:
            rows.append((_("Attention"), Text("\n".join(attention), style="bold red")))
        for label, value in rows:
            grid.add_row(label, value)
        self.query_one("#session-info", Static).update(grid)

    def _repeats(self, session: Mapping[str, Any]) -> str:
        """The rule in words, the sittings it skips, and the keys to change one."""
        tz = self.console.tz
        text = rrule_text(session.get("rrule"), tz)
        skipped = [fmt_day_time(d, tz) for d in session.get("exdates") or []]
        if skipped:
            text += ", " + _("except {dates}").format(dates=", ".join(skipped))
        if session.get("rrule") and not self.cancelled:
            text += "\n" + _("↑↓ a sitting below: c cancels, m moves it or the series")
        return text

    def _show_sittings(self, session: Mapping[str, Any]) -> None:
        """A series' sittings in view, the one it is at now highlighted at first."""
        table = self.query_one("#sittings", DataTable)
        first = not self.sittings
        chosen = self.chosen_sitting()
        self.sittings = sittings(session, self.console.now(), self.console.tz)
        table.display = self.repeats and bool(self.sittings)
        table.clear()
        for sitting in self.sittings:
            mark = Text(sitting.mark, style="bold red" if sitting.cancelled else "yellow")
            when = Text(sitting.when, style="dim" if sitting.ended or sitting.cancelled else "")
            table.add_row(when, mark, key=sitting.key)
        keep = chosen.key if chosen is not None else self._current_key(session)
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        if first and table.display:
            table.focus()

    def _current_key(self, session: Mapping[str, Any]) -> str | None:
        sitting = current_sitting(session, self.console.now())
        if sitting is None:
            return None
        return str(sitting.get("recurrence_id") or sitting.get("start"))

    def _bridges(self, session: Mapping[str, Any]) -> str:
        """Every bridge of the cascade on its own line, with its load then across all sessions."""
        bridges = (session.get("allocation") or {}).get("bridges") or []
        width = max((len(str(b.get("bridge"))) for b in bridges), default=0)
        lines = [bridge_detail(b, width) for b in bridges]
        links = (session.get("allocation") or {}).get("links") or []
        lines += [_("cascade {bridges}").format(bridges=" ⇄ ".join(link)) for link in links]
        return "\n".join(lines) or "—"

    def _show_readiness(self, readiness: Mapping[str, Any] | None) -> None:
        table = self.query_one("#readiness", DataTable)
        table.clear(columns=True)
        summary = (readiness or {}).get("summary")
        if not summary:
            text = Text(_("Readiness: {state}").format(state=self._no_readiness_yet()), "dim")
            self.query_one("#readiness-summary", Static).update(text)
            return
        style = "yellow" if summary.get("not_ready") or summary.get("no_answer") else "green"
        text = Text(_("Readiness: {state}").format(state=""), style="bold")
        text.append(readiness_text(summary), style=style)
        self.query_one("#readiness-summary", Static).update(text)
        rows = [
            (
                Text(readiness_label(status), style=STATUS_STYLE.get(status, "")),
                room_name(row.get("endpoint_name")),
                fmt_time(row.get("at"), self.console.tz, seconds=True),
                "; ".join(nfc(r) for r in row.get("reasons") or []),
                str(row.get("endpoint")),
            )
            for row in readiness_rows(readiness or {})
            for status in [str(row.get("status"))]
        ]
        widths = readiness_widths(rows, self.size.width or 80)
        for (key, heading), width in zip(COLUMNS, widths, strict=True):
            table.add_column(_(heading), key=key, width=width)
        for label, name, answered, why, endpoint in rows:
            lines = wrap_all(why, widths[3])  # the reasons wrap, never cut
            reasons = Text("\n".join(lines), style="bold")
            table.add_row(label, name, answered, reasons, endpoint, key=endpoint, height=len(lines))

    def _no_readiness_yet(self) -> str:
        """Why there is no readiness: no self-test is promised where none will run."""
        state = session_state(self.session, self.console.now())
        if state == "cancelled":
            return _("none (the session is cancelled, no self-test will run)")
        if self.sitting_cancelled:
            return _("none (this sitting is cancelled, no self-test will run for it)")
        if state == "ended":
            return _("none (the session has ended)")
        return _("not checked yet (the self-test runs at the setup time)")

    @on(DataTable.RowSelected, "#readiness")
    def _open_endpoint(self, event: DataTable.RowSelected) -> None:
        from confsched_tui.screens.endpoint import EndpointScreen

        self.app.push_screen(EndpointScreen(str(event.row_key.value)))

    def action_cancel_session(self) -> None:
        if self.console.refuse_write() or not self.check_action("cancel_session", ()):
            return
        chosen = self.chosen_sitting()
        title = nfc(self.session.get("title") or self.session_id)
        screen = CancelScreen(title, chosen.when if chosen else None)
        self.app.push_screen(screen, lambda scope: self._cancel_chosen(scope, chosen))

    def _cancel_chosen(self, scope: str | None, chosen: Sitting | None) -> None:
        if scope is None:
            return
        occurrence = chosen.key if scope == ONE and chosen else None
        self.run_worker(self._cancel(occurrence), group="cancel", exit_on_error=False)

    async def _cancel(self, occurrence: str | None) -> None:
        try:
            await self.console.api.cancel(self.session_id, occurrence)
        except ApiProblem as exc:
            self.notify(str(exc), title=_("not cancelled"), severity="error")
            return
        what = _("sitting cancelled, the rest stay") if occurrence else _("session cancelled")
        self.notify(what, title=nfc(self.session.get("title")))
        self.request_reload()

    def action_move_session(self) -> None:
        if self.console.refuse_write() or not self.check_action("move_session", ()):
            return
        chosen = self.chosen_sitting()
        start_text, _end = current_occurrence(self.session, self.console.now())
        start = form_time(chosen.start if chosen else start_text, self.console.tz)
        title = nfc(self.session.get("title") or self.session_id)
        screen = MoveScreen(title, start, chosen.when if chosen else None)
        self.app.push_screen(screen, lambda move: self._move_chosen(move, chosen))

    def _move_chosen(self, move: Move | None, chosen: Sitting | None) -> None:
        if move is None or not move.start:
            return
        if move.scope == ONE and chosen:
            start, occurrence = move.start, chosen.key
        else:
            start, occurrence = self._series_start(move.start, chosen), None
        duration = move.duration or None
        self.run_worker(self._move(start, duration, occurrence), group="move",
                        exit_on_error=False)  # fmt: skip

    def _series_start(self, entered: str, chosen: Sitting | None) -> str:
        """The whole series moves as the sitting shown in the dialog does: its first start
        shifted by as much (what the operator typed, when no sitting was chosen)."""
        tz = self.console.tz
        try:
            moved_to = datetime.strptime(entered, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
        except ValueError:
            return entered
        first = parse_time(self.session.get("start"))
        was = parse_time(chosen.start) if chosen else None
        if first is None or was is None:
            return entered
        shift: timedelta = moved_to - was
        return (first + shift).astimezone(tz).isoformat()

    async def _move(self, start: str, duration: str | None, occurrence: str | None) -> None:
        try:
            await self.console.api.move(self.session_id, start, duration, occurrence)
        except Refused as exc:
            lines = [conflict_text(c, self.console.tz) for c in exc.conflicts[:5]]
            self.notify("\n".join([exc.message, *lines]), title=_("not moved"), severity="error")
            return
        except ApiProblem as exc:
            self.notify(str(exc), title=_("not moved"), severity="error")
            return
        what = _("sitting moved") if occurrence else _("session moved")
        self.notify(what, title=nfc(self.session.get("title")))
        self.request_reload()

    def action_reload(self) -> None:
        self.request_reload()
