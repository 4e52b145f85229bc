"""The status line every screen shows: connected or not, and what the console last heard."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from textual import events
from textual.widgets import Static


def fit_status(notes: Sequence[str], forms: Sequence[str], width: int) -> str:
    """The longest reading of the line that fits ``width`` cells: each form of the status
    (longest first) with the access note in full, then short, before a shorter form; the
    shortest of all when nothing fits (a 40-column terminal).

    Why not simply cut: what comes last (the revision) is what an operator compares with the
    CLI's, and a cut line loses it at 80 columns, where the URL alone takes 22."""
    candidates = [f"{note} · {form}" if note else form for form in forms for note in notes or [""]]
    if not candidates:
        return ""
    if width <= 0:
        return candidates[0]
    return next((text for text in candidates if cell_len(text) <= width), candidates[-1])


class StatusLine(Static):
    """Mirrors the app's ``status_forms`` (its status, longest reading first), after its
    ``access_note`` (``read-only (viewer token)``, then ``read-only``) when it has one; the
    reading shown is the longest that fits; red while the scheduler cannot be reached."""

    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    StatusLine.-down { background: $error 40%; color: $text; text-style: bold; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "status_forms", self._show, init=True)
        self.watch(self.app, "access_note", self._show, init=True)
        self.watch(self.app, "connected", self._mark, init=True)

    def on_resize(self, _event: events.Resize) -> None:
        self._show(None)

    def _show(self, _changed: object) -> None:
        notes = tuple(getattr(self.app, "access_note", ()))
        forms = tuple(getattr(self.app, "status_forms", ()))
        self.update(fit_status(notes, forms, self.content_size.width))

    def _mark(self, connected: bool) -> None:
        self.set_class(not connected, "-down")
