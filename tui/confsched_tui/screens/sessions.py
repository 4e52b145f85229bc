"""Sessions: live and upcoming sessions with every bridge (its ports for the session and in use
across all sessions) and readiness; a session a forced fleet re-import broke says so; Enter
opens one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from confsched_tui.api import RouteMissing
from confsched_tui.i18n import N_, _, ngettext
from confsched_tui.screens.base import LiveScreen
from confsched_tui.sessionrows import Columns, cells, columns_for, session_row
from confsched_tui.sessionview import at_risk_counts, sessions_summary, visible_sessions


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
        self.columns: Columns | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(id="sessions-summary")
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.sub_title = _("Sessions")
        self.query_one(DataTable).focus()

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

    def on_resize(self, _event: events.Resize) -> None:
        """Also the footer's (``LiveScreen.on_resize``: Textual calls both)."""
        if self.sessions:
            self._fill()

    def _fill(self) -> None:
        """Rows fitted to the screen's width (``sessionrows``); the columns are rebuilt only
        when their widths change."""
        table = self.query_one(DataTable)
        keep = _cursor_key(table)
        table.clear()
        now, tz = self.console.now(), self.console.tz
        rows = [session_row(s, now, tz, self.at_risk.get(str(s["id"]))) for s in self.sessions]
        columns = columns_for(rows, self.size.width or 80)
        if columns != self.columns:
            table.clear(columns=True)
            for (label, key), width in zip(columns.labels, columns.widths, strict=True):
                table.add_column(_(label), key=key, width=width)
            self.columns = columns
        for row in rows:
            shown, height = cells(row, columns)
            table.add_row(*shown, key=row.key, height=height)
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
