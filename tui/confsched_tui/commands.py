"""The command palette (Ctrl+P): the screens, the console's actions, and a jump to any room or
session by name or id (typed without diacritics: ``dai tu`` finds ``Đại Từ``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from confsched_tui.api import ApiProblem
from confsched_tui.host import Console
from confsched_tui.i18n import _
from confsched_tui.text import fold, nfc

MAX_HITS = 40
"""Enough to choose from; a national fleet would otherwise fill the palette with 10,000 rows."""


class ConsoleCommands(Provider):
    """Screens and actions first (also shown before anything is typed), then rooms, then the
    sessions in view."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._targets: list[tuple[str, str, Callable[[], object]]] = []
        """(text shown, its folded form matched against, what choosing it does)."""

    @property
    def console(self) -> Console:
        return cast(Console, self.app)

    async def startup(self) -> None:
        sessions: list[Any] = []
        with contextlib.suppress(ApiProblem):  # rooms and screens jump without the scheduler
            sessions = await self.console.api.sessions(start=self.console.window_start())
        targets = [*self._actions(), *self._rooms(), *self._sessions(sessions)]
        self._targets = [(text, fold(text), run) for text, run in targets]

    def _actions(self) -> Iterator[tuple[str, Callable[[], object]]]:
        app: Any = self.app
        yield _("Fleet: every room at a glance (F2)"), partial(app.run_action, "go('fleet')")
        yield _("Sessions: live and upcoming (F3)"), partial(app.run_action, "go('sessions')")
        yield _("Book a session (F4)"), partial(app.run_action, "go('book')")
        yield _("Help: every key (F1)"), partial(app.run_action, "help")
        yield _("Reload this screen"), self._reload
        yield _("Quit"), partial(app.run_action, "quit")

    def _rooms(self) -> Iterator[tuple[str, Callable[[], object]]]:
        for endpoint in self.console.catalog.current.endpoints:
            room = str(endpoint["id"])
            text = _("Room {name} ({id})").format(name=nfc(endpoint.get("name")), id=room)
            yield text, partial(self._open_room, room)

    def _sessions(self, sessions: list[Any]) -> Iterator[tuple[str, Callable[[], object]]]:
        for session in sessions:
            sid = str(session["id"])
            text = _("Session {title} ({id})").format(title=nfc(session.get("title")), id=sid)
            yield text, partial(self._open_session, sid)

    def _open_room(self, room: str) -> None:
        from confsched_tui.screens.endpoint import EndpointScreen

        self.app.push_screen(EndpointScreen(room))

    def _open_session(self, session_id: str) -> None:
        from confsched_tui.screens.session import SessionScreen

        self.app.push_screen(SessionScreen(session_id))

    def _reload(self) -> None:
        reload = getattr(self.screen, "request_reload", None)
        if callable(reload):
            reload()

    async def discover(self) -> Hits:
        for text, _folded, run in self._targets[:5]:
            yield DiscoveryHit(text, run)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(fold(query))
        scored = []
        for text, folded, run in self._targets:
            score = matcher.match(folded)
            if score > 0:
                scored.append((score, text, run))
        scored.sort(key=lambda hit: -hit[0])
        for score, text, run in scored[:MAX_HITS]:
            yield Hit(score, text, run, text=text)
