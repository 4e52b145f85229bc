"""Input an operator can trust: keys typed faster than the console draws land where they were
typed, Esc leaves the Book screen, F2/F3/F4 go to their list (not to a detail left open).

Keys are sent as a terminal sends a burst (``tmux send-keys`` at full speed, a paste without
bracketed paste): all queued at once, none waiting for the console to handle the one before.
"""

from __future__ import annotations

from typing import Any

from confsched_tui.app import ConsoleApp
from confsched_tui.screens.booking import BookingScreen
from confsched_tui.screens.endpoint import EndpointScreen
from confsched_tui.screens.fleet import FleetScreen
from confsched_tui.screens.session import SessionScreen
from confsched_tui.screens.sessions import SessionsScreen
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widgets import Input

from confsched.runtime.components import Components
from tests.conftest import http_url
from tests.test_tui_pilot import SIZE, loaded, local_start, scheduler, until

__all__ = ["scheduler"]  # the fixture, shared with the Pilot tests

TYPED = {
    "title": "Giao ban tuần các huyện",
    "organizer": "ubnd-tinh",
    "chair": "tinh-uy",
    "with": "level:district",
    "start": "2026-12-10 08:00",
    "duration": "90m",
    "setup": "20m",
}


def burst(pilot: Pilot[Any], keys: list[str]) -> None:
    """Queue every key at once, as the terminal driver does with a burst of input."""
    driver = pilot.app._driver
    assert driver is not None
    for key in keys:
        char = key if len(key) == 1 else None
        event = events.Key(_character_to_key(key) if char else key, char)
        event.set_sender(pilot.app)
        driver.send_message(event)


def form_keys(values: dict[str, str]) -> list[str]:
    keys: list[str] = []
    for value in values.values():
        keys += [*value, "tab"]
    return keys


def form_values(app: ConsoleApp) -> dict[str, str]:
    return {name: app.screen.query_one(f"#f-{name}", Input).value for name in TYPED}


async def test_fast_typing_and_tab_fill_each_field_with_what_was_typed_there(
    scheduler: Components,
) -> None:
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: loaded(app, BookingScreen))
        burst(pilot, form_keys(TYPED))
        await until(pilot, lambda: form_values(app)["setup"] == TYPED["setup"])
        await pilot.pause(0.2)
        assert form_values(app) == TYPED
        assert app.focused is app.screen.query_one("#f-repeat", Input)
        burst(pilot, ["shift+tab", "shift+tab", *"2h"])  # a field entered has its text selected
        await until(pilot, lambda: form_values(app)["duration"] == "2h")
        assert form_values(app) == {**TYPED, "duration": "2h"}


async def test_escape_leaves_the_book_screen_for_the_one_the_operator_came_from(
    scheduler: Components,
) -> None:
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await until(pilot, lambda: loaded(app, SessionsScreen))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, BookingScreen))
        await pilot.press(*"Họp", "escape")  # from inside a field, too
        await until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        await pilot.press("f2", "f4")
        await until(pilot, lambda: isinstance(app.screen, BookingScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, FleetScreen))


async def test_f2_and_f3_go_to_their_list_even_with_a_detail_left_open_over_it(
    scheduler: Components,
) -> None:
    from confsched_tui.api import ApiClient

    api = ApiClient(http_url(scheduler), scheduler.ctx.operator_token)
    booked = await api.book({"title": "Giao ban", "with": "level:district",
                             "start": local_start(scheduler, 3, 9), "duration": "1h"})  # fmt: skip
    await api.close()
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: loaded(app, FleetScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EndpointScreen))
        await pilot.press("f3")
        await until(pilot, lambda: loaded(app, SessionsScreen))
        app.push_screen(SessionScreen(str(booked["id"])))
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, FleetScreen))
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, SessionsScreen))
