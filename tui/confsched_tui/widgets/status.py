"""The status line every screen shows: connected or not, and what the console last heard."""

from __future__ import annotations

from textual.widgets import Static


class StatusLine(Static):
    """Mirrors the app's ``status`` text, after its ``access_note`` (``read-only (viewer
    token)``) when it has one; red while the scheduler cannot be reached."""

    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    StatusLine.-down { background: $error 40%; color: $text; text-style: bold; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "status", self._show, init=True)
        self.watch(self.app, "access_note", self._show, init=True)
        self.watch(self.app, "connected", self._mark, init=True)

    def _show(self, _changed: str) -> None:
        note = str(getattr(self.app, "access_note", ""))
        status = str(getattr(self.app, "status", ""))
        self.update(f"{note} · {status}" if note else status)

    def _mark(self, connected: bool) -> None:
        self.set_class(not connected, "-down")
