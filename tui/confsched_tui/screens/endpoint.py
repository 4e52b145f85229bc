"""Endpoint detail: identity, current checks and reasons, RTT and loss history, its sessions."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from confsched_tui.api import ApiError, RouteMissing
from confsched_tui.fleetview import call_text, state_name, symbol
from confsched_tui.freshness import last_known_age
from confsched_tui.i18n import N_, _
from confsched_tui.screens.base import LiveScreen
from confsched_tui.sessionview import readiness_text, sessions_for_endpoint, when_text
from confsched_tui.text import fmt_age, fmt_ago, fmt_day_time, nfc
from confsched_tui.widgets.trend import Trend

HOURS = 3
RTT_CEILING_MS = 50.0
LOSS_CEILING_PERCENT = 5.0
"""The sparklines' axes reach at least these, so steady low values draw as low, flat lines."""
CHECK_NAMES = {
    "camera": N_("camera"),
    "audio": N_("audio"),
    "display": N_("display"),
    "bridge": N_("bridge"),
    "registration": N_("registration"),
    "codec": N_("codec"),
    "client": N_("client"),
    "host": N_("host"),
}
"""The agent's check names as the operator reads them (an unknown one is shown as sent)."""
KIND_NAMES = {"codec": N_("codec"), "pc": N_("pc")}


class EndpointScreen(LiveScreen):
    REFRESH_EVERY = 10.0
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", N_("Back")),
        Binding("r", "reload", N_("Reload"), show=False),
    ]

    def __init__(self, endpoint_id: str) -> None:
        super().__init__()
        self.endpoint_id = endpoint_id
        self._session_cache: dict[tuple[str, int], Mapping[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with VerticalScroll(id="endpoint-body"):
            yield Static(id="endpoint-title")
            yield Static(id="endpoint-identity")
            yield Static(id="endpoint-checks")
            yield Static(id="rtt-label", classes="spark-label")
            yield Trend(RTT_CEILING_MS, id="rtt")
            yield Static(id="loss-label", classes="spark-label")
            yield Trend(LOSS_CEILING_PERCENT, id="loss")
            yield Static(_("Upcoming sessions"), classes="section")
            yield DataTable(id="endpoint-sessions", cursor_type="row", zebra_stripes=True)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.sub_title = _("Endpoint {id}").format(id=self.endpoint_id)
        table = self.query_one("#endpoint-sessions", DataTable)
        table.add_columns(_("When"), _("Title"), _("Rooms"), _("Readiness"))

    async def load(self) -> None:
        api = self.console.api
        catalog = await self.console.catalog.get(must_know=[self.endpoint_id])
        endpoint = catalog.by_id.get(self.endpoint_id) or await api.endpoint(self.endpoint_id)
        health, sessions = await asyncio.gather(self._health(), self._sessions())
        stale = last_known_age(health, self.console.now())
        self._show_identity(endpoint, health)
        self._show_checks(health, stale)
        self._show_history(health.get("history") or [], stale)
        self._show_sessions(sessions)

    async def _health(self) -> Mapping[str, Any]:
        try:
            return await self.console.api.endpoint_health(self.endpoint_id, HOURS)
        except RouteMissing:
            return {"state": "unknown", "reasons": [_("this scheduler reports no health yet")]}

    async def _sessions(self) -> list[Mapping[str, Any]]:
        """Upcoming sessions with their endpoint lists (fetched once per session version)."""
        try:
            listing = await self.console.api.sessions(start=self.console.window_start())
        except RouteMissing:
            return []
        wanted = [s for s in listing if s.get("status") != "cancelled"]
        missing = [s for s in wanted if "endpoints" not in s and _key(s) not in self._session_cache]
        details = await asyncio.gather(*(self._detail(s["id"]) for s in missing))
        for session, detail in zip(missing, details, strict=True):
            self._session_cache[_key(session)] = detail
        full = [s if "endpoints" in s else self._session_cache.get(_key(s), s) for s in wanted]
        merged = [{**f, "readiness": s.get("readiness")} for f, s in zip(full, wanted, strict=True)]
        return sessions_for_endpoint(merged, self.endpoint_id, self.console.now())

    async def _detail(self, session_id: str) -> Mapping[str, Any]:
        try:
            return await self.console.api.session(session_id)
        except ApiError:
            return {"id": session_id}

    def _show_identity(self, endpoint: Mapping[str, Any], health: Mapping[str, Any]) -> None:
        state = str(health.get("state") or "unknown")
        title = Text()
        colour = _COLOURS.get(state, "")
        title.append(f" {symbol(state)} {state_name(state)} ", style=f"bold reverse {colour}")
        title.append(f"  {nfc(endpoint.get('name'))}", style="bold")
        title.append(f"  ({endpoint.get('id')})", style="dim")
        self.query_one("#endpoint-title", Static).update(title)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")  # at 80 columns a long address folds, never cut
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        now = self.console.now()
        last = health.get("last_report_at")
        call = call_text(health.get("call"))
        kind = str(endpoint.get("kind") or "")
        rows = [
            (_("Agency"), endpoint.get("agency_name"), _("Kind"), _(KIND_NAMES.get(kind, kind))),
            (_("Site"), endpoint.get("site_name"), _("Level"), endpoint.get("level")),
            (_("Area"), endpoint.get("area_name") or "—", _("Address"), endpoint.get("address")),
            (_("Bridge"), endpoint.get("bridge_name") or endpoint.get("bridge") or "—",
             _("Tags"), ", ".join(endpoint.get("tags") or []) or "—"),
            (_("Last report"), f"{fmt_day_time(last, self.console.tz)} ({fmt_ago(last, now)})"
             if last else _("never"), _("Call") if call else "", call),
        ]  # fmt: skip
        for row in rows:
            grid.add_row(*(nfc(str(cell or "")) for cell in row))
        self.query_one("#endpoint-identity", Static).update(grid)

    def _show_checks(self, health: Mapping[str, Any], stale: timedelta | None) -> None:
        """The checks; once the values are old, dimmed and labelled with their age."""
        text = Text(_("Checks") + "  ", style="bold")
        checks = health.get("checks") or {}
        if checks and stale is not None:
            known = _("last known, {age} ago:").format(age=fmt_age(stale))
            text.append(f"{known}  ", style="bold yellow")
        for name, passed in checks.items():
            mark, style = {True: ("✔", "green"), False: ("✖", "bold red")}.get(passed, ("?", "dim"))
            label = _(CHECK_NAMES[name]) if name in CHECK_NAMES else name
            text.append(f"{mark} {label}  ", style="grey50" if stale is not None else style)
        if not checks:
            text.append(_("no report yet"), style="dim")
        reasons = health.get("reasons") or []
        text.append("\n" + _("Reasons") + " ", style="bold")
        text.append("; ".join(nfc(r) for r in reasons) if reasons else _("none"), style="")
        self.query_one("#endpoint-checks", Static).update(text)

    def _show_history(self, history: list[Mapping[str, Any]], stale: timedelta | None) -> None:
        rtt = [float(p["rtt_ms"]) for p in history if p.get("rtt_ms") is not None]
        loss = [float(p["loss_ratio"]) * 100 for p in history if p.get("loss_ratio") is not None]
        for key, values in (("#rtt", rtt), ("#loss", loss)):
            trend = self.query_one(key, Trend)
            trend.data, trend.stale = tuple(values), stale is not None
        self.query_one("#rtt-label", Static).update(
            spark_label(_("RTT to bridge, ms"), rtt, "{:.0f}", stale)
        )
        self.query_one("#loss-label", Static).update(
            spark_label(_("Packet loss, %"), loss, "{:.1f}", stale)
        )

    def _show_sessions(self, sessions: list[Mapping[str, Any]]) -> None:
        table = self.query_one("#endpoint-sessions", DataTable)
        table.clear()
        now, tz = self.console.now(), self.console.tz
        for session in sessions:
            table.add_row(
                when_text(session, now, tz),
                nfc(session.get("title")),
                str(session.get("endpoint_count") or len(session.get("endpoints") or [])),
                readiness_text(session.get("readiness")),
                key=str(session.get("id")),
            )
        if not sessions:
            table.add_row("—", _("no upcoming session"), "", "")

    def action_reload(self) -> None:
        self.request_reload()


_COLOURS = {"ok": "green", "degraded": "yellow", "down": "red", "offline": "grey50"}


def _key(session: Mapping[str, Any]) -> tuple[str, int]:
    return str(session.get("id")), int(session.get("sequence") or 0)


def spark_label(title: str, values: list[float], fmt: str, stale: timedelta | None) -> Text:
    """min, avg, max and the latest value: "now" while current, else "last" with its age."""
    text = Text(_("{title} — last {hours} h").format(title=title, hours=HOURS) + "  ", style="bold")
    if not values:
        text.append(_("no measurements"), style="dim")
        return text
    avg = sum(values) / len(values)
    latest = _("now") if stale is None else _("last")
    parts = [(_("min"), min(values)), (_("avg"), avg), (_("max"), max(values)),
             (latest, values[-1])]  # fmt: skip
    text.append("  ".join(f"{k} {fmt.format(v)}" for k, v in parts), style="dim")
    if stale is not None:
        text.append(" (" + _("{age} ago").format(age=fmt_age(stale)) + ")", style="bold yellow")
    return text
