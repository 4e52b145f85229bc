"""Sessions: live and upcoming sessions with every bridge (its ports for the session and in use
across all sessions) and readiness; a session a forced fleet re-import broke says so; Enter
opens one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from confsched_tui.api import RouteMissing
from confsched_tui.i18n import N_, _, ngettext
from confsched_tui.screens.base import LiveScreen
from confsched_tui.sessionview import (
    at_risk_counts,
    at_risk_text,
    bridge_lines,
    readiness_text,
    session_state,
    sessions_summary,
    state_label,
    visible_sessions,
    when_text,
)
from confsched_tui.text import ellipsize, nfc

STATE_STYLE = {"live": "bold green", "setup": "bold yellow", "upcoming": "", "ended": "dim"}


class SessionsScreen(LiveScreen):
    REFRESH_EVERY = 10.0
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", N_("Open session"), show=False),
        Binding("n", "app.go('book')", N_("New booking")),
        Binding("r", "reload", N_("Reload"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[Mapping[str, Any]] = []
        self.at_risk: dict[str, int] = {}
        """Session id → rooms that would not be ready now (sessions within 24 h)."""

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(id="sessions-summary")
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.sub_title = _("Sessions")
        table = self.query_one(DataTable)
        table.add_column(_("When"), key="when")
        table.add_column(_("Title · organizer"), key="title")
        table.add_column(_("Rooms"), key="rooms")
        table.add_column(_("Bridges: ports used · in use"), key="bridges")
        table.add_column(_("Readiness"), key="readiness")
        table.focus()

    async def load(self) -> None:
        try:
            listing = await self.console.api.sessions(start=self.console.window_start())
        except RouteMissing as exc:
            self.query_one("#sessions-summary", Static).update(Text(str(exc), style="yellow"))
            return
        await self.console.catalog.get()
        self.sessions = visible_sessions(listing, self.console.now())
        self.at_risk = await self._forecast()
        self._fill()

    async def _forecast(self) -> dict[str, int]:
        """Rooms at risk per session from ``/api/v1/risk`` (none from an older scheduler)."""
        try:
            return at_risk_counts(await self.console.api.risk("24h"))
        except RouteMissing:
            return {}

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        keep = _cursor_key(table)
        table.clear()
        now, tz = self.console.now(), self.console.tz
        title_width = max(20, self.size.width - 94)
        for session in self.sessions:
            state = session_state(session, now)
            when = Text(when_text(session, now, tz))
            when.append(f"\n{state_label(state)}", style=STATE_STYLE.get(state, ""))
            if session.get("needs_attention"):
                when.append(" ⚠ " + _("attention"), style="bold red")
            title = Text(ellipsize(nfc(session.get("title")), title_width), style="bold")
            organizer = nfc(session.get("organizer_name") or session.get("organizer"))
            title.append("\n" + ellipsize(organizer, title_width), style="dim")
            bridges = bridge_lines(session.get("allocation"))
            cell = _readiness_cell(session.get("readiness"), self.at_risk.get(str(session["id"])))
            table.add_row(
                when,
                title,
                str(session.get("endpoint_count") or ""),
                "\n".join(bridges),
                cell,
                key=str(session["id"]),
                # every bridge of the cascade, not the first two; the forecast under readiness
                height=max(2, len(bridges), len(cell.plain.splitlines())),
            )
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        broken = sum(1 for s in self.sessions if s.get("needs_attention"))
        attention = (
            ", " + ngettext("{n} needs attention", "{n} need attention", broken).format(n=broken)
            if broken
            else ""
        )
        summary = _("{summary} — Enter opens one").format(
            summary=sessions_summary(self.sessions, now) + attention
        )
        self.query_one("#sessions-summary", Static).update(summary)

    @on(DataTable.RowSelected, "#sessions")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._open(str(event.row_key.value))

    def action_open(self) -> None:
        key = _cursor_key(self.query_one(DataTable))
        if key is not None:
            self._open(key)

    def _open(self, session_id: str) -> None:
        from confsched_tui.screens.session import SessionScreen

        self.app.push_screen(SessionScreen(session_id))

    def action_reload(self) -> None:
        self.request_reload()


def _cursor_key(table: DataTable[Any]) -> str | None:
    if not table.row_count:
        return None
    try:
        row_key, _column = table.coordinate_to_cell_key(table.cursor_coordinate)
    except Exception:  # an empty or just-cleared table has no cell under the cursor
        return None
    return str(row_key.value)


def _readiness_cell(readiness: Mapping[str, Any] | None, at_risk: int | None) -> Text:
    """ "ready N of M" and what is missing (once checked), then the forecast's rooms at risk
    (for a session within 24 h): "not checked yet" / "1 room at risk"."""
    if not readiness:
        text = Text(_("not checked yet"), style="dim")
    else:
        bad = readiness.get("not_ready") or readiness.get("no_answer")
        first, _sep, rest = readiness_text(readiness).partition(" · ")
        text = Text(first, style="bold yellow" if bad else "bold green")
        if rest:
            text.append("\n" + rest.replace(" · ", ", "), style="yellow")
    if at_risk is not None:
        risk = (
            _("{rooms} at risk").format(rooms=at_risk_text(at_risk))
            if at_risk
            else _("none at risk")
        )
        text.append(f"\n{risk}", style="yellow" if at_risk else "green")
    return text
