"""Snapshots of every console screen at 120×40 (the fleet, sessions and a session at 80×24 too),
pixel-stable: fixed data from the stand-in scheduler, a frozen clock, a fixed URL in the status
line; and every screen again at 80×24 and 160×50 in Vietnamese and in English (the matrix at
the end).

Plain ``def`` tests (the snapshot fixture runs its own event loop). After a deliberate change
of a screen: ``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from confsched_tui.app import ConsoleApp
from confsched_tui.screens.base import LiveScreen
from textual.pilot import Pilot
from textual.widgets import Input

from tests.fakes.console_api import FIXED_NOW, FakeServerThread

SIZE = (120, 40)
SHOWN_URL = "http://127.0.0.1:8080"

Snap = Callable[..., bool]


@pytest.fixture
def fake() -> Iterator[FakeServerThread]:
    with FakeServerThread(long_poll_s=30.0) as thread:
        yield thread


def console(fake: FakeServerThread, lang: str = "en", token: str = "operator-secret") -> ConsoleApp:
    return ConsoleApp(url=fake.url, token=token, clock=lambda: FIXED_NOW, lang=lang)


async def settle(pilot: Pilot[Any], screen: type = LiveScreen, timeout: float = 10.0) -> None:
    """Until the visible screen (of that type) has shown its data, then one more frame."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (isinstance(app.screen, screen) and getattr(app.screen, "loads", 1) > 0):
        assert loop.time() < deadline, f"{screen.__name__} never loaded"
        await pilot.pause(0.02)
    await pilot.pause()
    app.url = SHOWN_URL  # type: ignore[attr-defined]
    app.status_forms = app._connected_text()  # type: ignore[attr-defined]
    await pilot.pause()


def steps(*keys: str, then: type = LiveScreen) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot, then)

    return run


def test_fleet_screen(snap_compare: Snap, fake: FakeServerThread) -> None:
    assert snap_compare(console(fake), terminal_size=SIZE, run_before=steps())


def test_fleet_screen_fits_80x24_and_scrolls(snap_compare: Snap, fake: FakeServerThread) -> None:
    assert snap_compare(console(fake), terminal_size=(80, 24), run_before=steps())


def test_fleet_screen_of_a_two_tier_province_has_one_province_band(snap_compare: Snap) -> None:
    with FakeServerThread(long_poll_s=30.0, sessions=False, two_tier=True) as two_tier:
        assert snap_compare(console(two_tier), terminal_size=SIZE, run_before=steps())


def test_fleet_tiles_grow_on_a_wall_screen_and_no_two_read_alike(snap_compare: Snap) -> None:
    with FakeServerThread(long_poll_s=30.0, sessions=False, two_tier=True) as two_tier:
        assert snap_compare(console(two_tier), terminal_size=(200, 50), run_before=steps())


def test_fleet_filtered_to_rooms_down(snap_compare: Snap, fake: FakeServerThread) -> None:
    assert snap_compare(console(fake), terminal_size=SIZE, run_before=steps("3"))


def test_sessions_screen(snap_compare: Snap, fake: FakeServerThread) -> None:
    from confsched_tui.screens.sessions import SessionsScreen

    assert snap_compare(
        console(fake), terminal_size=SIZE, run_before=steps("f3", then=SessionsScreen)
    )


def test_sessions_screen_at_80x24_keeps_readiness_and_every_bridge(
    snap_compare: Snap, fake: FakeServerThread
) -> None:
    from confsched_tui.screens.sessions import SessionsScreen

    run = steps("f3", then=SessionsScreen)
    assert snap_compare(console(fake), terminal_size=(80, 24), run_before=run)


def test_session_detail_at_80x24_keeps_answer_times(
    snap_compare: Snap, fake: FakeServerThread
) -> None:
    from confsched_tui.screens.session import SessionScreen

    run = steps("f3", "enter", then=SessionScreen)
    assert snap_compare(console(fake), terminal_size=(80, 24), run_before=run)


def test_session_detail_lists_rooms_not_ready_first(
    snap_compare: Snap, fake: FakeServerThread
) -> None:
    from confsched_tui.screens.session import SessionScreen

    run = steps("f3", "enter", then=SessionScreen)
    assert snap_compare(console(fake), terminal_size=SIZE, run_before=run)


def test_endpoint_detail_of_a_room_that_is_down(snap_compare: Snap, fake: FakeServerThread) -> None:
    from confsched_tui.screens.endpoint import EndpointScreen

    run = steps("3", "enter", then=EndpointScreen)
    assert snap_compare(console(fake), terminal_size=SIZE, run_before=run)


def test_endpoint_detail_of_an_offline_room_shows_last_known_values(
    snap_compare: Snap, fake: FakeServerThread
) -> None:
    from confsched_tui.screens.endpoint import EndpointScreen

    run = steps("4", "enter", then=EndpointScreen)
    assert snap_compare(console(fake), terminal_size=SIZE, run_before=run)


def test_cancelled_session_says_so_and_offers_no_cancel(
    snap_compare: Snap, fake: FakeServerThread
) -> None:
    from confsched_tui.screens.session import SessionScreen

    async def run(pilot: Pilot[Any]) -> None:
        await steps("f3", "enter", then=SessionScreen)(pilot)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("y")
        screen = pilot.app.screen
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not getattr(screen, "cancelled", False):
            assert loop.time() < deadline, "the session was never shown cancelled"
            await pilot.pause(0.05)
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(console(fake), terminal_size=SIZE, run_before=run)


def test_session_detail_of_a_session_a_reimport_broke(
    snap_compare: Snap, fake: FakeServerThread
) -> None:
    """Its sitting needing attention, in bold red with the reason the scheduler gives."""
    from confsched_tui.screens.session import SessionScreen

    run = steps("f3", "down", "down", "down", "enter", then=SessionScreen)
    assert snap_compare(console(fake), terminal_size=SIZE, run_before=run)


def test_cancelled_sitting_says_so_and_offers_no_cancel(
    snap_compare: Snap, fake: FakeServerThread
) -> None:
    """The weekly session's sitting of today is cancelled: headline, no `c`, no self-test."""
    from confsched_tui.screens.session import SessionScreen

    def cancel_today(scheduler: Any) -> None:
        weekly = next(s for s in scheduler.booker.sessions if s["rrule"])
        weekly["occurrences"][0]["cancelled"] = True

    fake.call(cancel_today)  # the series now sorts by its next live sitting: last of four
    run = steps("f3", "down", "down", "down", "enter", then=SessionScreen)
    assert snap_compare(console(fake), terminal_size=SIZE, run_before=run)


BOOKED = {"title": "Họp khẩn phòng chống lũ", "organizer": "ubnd-h-dai-tu",
          "chair": "h-dai-tu", "with": "district:h-dai-tu,ioc",
          "start": "2026-12-07 10:00", "duration": "1h"}  # fmt: skip
"""What the operator types into the Book form (the screens show it back)."""


async def book_with_conflicts(pilot: Pilot[Any]) -> None:
    """The Book form filled in for a session that collides, its preview shown."""
    from confsched_tui.screens.booking import BookingScreen

    await steps("f4", then=BookingScreen)(pilot)
    screen = pilot.app.screen
    for name, value in BOOKED.items():
        screen.query_one(f"#f-{name}", Input).value = value
    screen.query_one("#book").focus()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while screen.last_preview is None:  # type: ignore[attr-defined]
        assert loop.time() < deadline
        await pilot.pause(0.05)
    await pilot.pause()


async def open_help(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("f1")
    await pilot.pause()


def test_booking_form_with_conflicts_in_the_preview(
    snap_compare: Snap, fake: FakeServerThread
) -> None:
    assert snap_compare(console(fake), terminal_size=SIZE, run_before=book_with_conflicts)


def test_help_screen(snap_compare: Snap, fake: FakeServerThread) -> None:
    assert snap_compare(console(fake), terminal_size=SIZE, run_before=open_help)


async def ask_to_cancel(pilot: Pilot[Any]) -> None:
    """The session detail with the cancel question over it."""
    from confsched_tui.screens.sitting import CancelScreen

    await _dialog(pilot, "c", CancelScreen)


async def ask_to_move(pilot: Pilot[Any]) -> None:
    """The session detail with the move dialog over it."""
    from confsched_tui.screens.sitting import MoveScreen

    await _dialog(pilot, "m", MoveScreen)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False  # the focused start's cursor, drawn the same every time
    await pilot.pause()


async def _dialog(pilot: Pilot[Any], key: str, dialog: type) -> None:
    from confsched_tui.screens.session import SessionScreen

    await steps("f3", "enter", then=SessionScreen)(pilot)
    await pilot.press(key)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not isinstance(pilot.app.screen, dialog):
        assert loop.time() < deadline, f"{dialog.__name__} never showed"
        await pilot.pause(0.05)
    await pilot.pause()


async def palette(pilot: Pilot[Any]) -> None:
    """Ctrl+P with a room's name typed without diacritics: the rooms and sessions it finds."""
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    await settle(pilot)
    await pilot.press("ctrl+p")
    await until_shown(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    pilot.app.screen.query_one(Input).cursor_blink = False
    await pilot.press(*"dai tu")
    hits = pilot.app.screen.query_one(OptionList)
    await until_shown(pilot, lambda: hits.option_count >= 10)
    await pilot.pause(0.3)  # the last hits of the search in
    await pilot.pause()


async def read_only(pilot: Pilot[Any]) -> None:
    """A viewer's console: the fleet, the note on the status line and title, and how to give
    an operator token (the notification)."""
    await until_shown(pilot, lambda: getattr(pilot.app, "read_only", False))
    await settle(pilot)
    await pilot.pause(0.2)


async def until_shown(pilot: Pilot[Any], done: Callable[[], object], timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        assert loop.time() < deadline, "the console never got there"
        await pilot.pause(0.05)


def _screens() -> dict[str, Callable[[Pilot[Any]], Awaitable[None]]]:
    from confsched_tui.screens.endpoint import EndpointScreen
    from confsched_tui.screens.session import SessionScreen
    from confsched_tui.screens.sessions import SessionsScreen

    return {
        "fleet": steps(),
        "sessions": steps("f3", then=SessionsScreen),
        "session": steps("f3", "enter", then=SessionScreen),
        "endpoint": steps("3", "enter", then=EndpointScreen),
        "book": book_with_conflicts,
        "help": open_help,
        "cancel": ask_to_cancel,
        "move": ask_to_move,
        "palette": palette,
        "read-only": read_only,
    }


SCREENS = _screens()
"""Every screen of the console (and its dialog), as the operator reaches it."""
TOKENS = {"read-only": "viewer-secret"}
"""The console's token for a screen (the operator's where not named)."""


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_every_screen_in_both_languages_small_and_large(
    snap_compare: Snap, fake: FakeServerThread, screen: str, lang: str, size: tuple[int, int]
) -> None:
    app = console(fake, lang, TOKENS.get(screen, "operator-secret"))
    assert snap_compare(app, terminal_size=size, run_before=SCREENS[screen])


def test_cancel_dialog_of_a_series_asks_which_at_80x24_in_vietnamese(
    snap_compare: Snap, fake: FakeServerThread
) -> None:
    """The weekly session's second sitting chosen, then `c`: this sitting or the whole series."""
    from confsched_tui.screens.session import SessionScreen
    from confsched_tui.screens.sitting import CancelScreen

    async def run(pilot: Pilot[Any]) -> None:
        await steps("f3", "down", "enter", then=SessionScreen)(pilot)
        await pilot.press("down", "c")
        await settle(pilot, CancelScreen)

    assert snap_compare(console(fake, "vi"), terminal_size=(80, 24), run_before=run)


def test_move_dialog_of_a_series_at_80x24(snap_compare: Snap, fake: FakeServerThread) -> None:
    from confsched_tui.screens.session import SessionScreen
    from confsched_tui.screens.sitting import MoveScreen

    async def run(pilot: Pilot[Any]) -> None:
        await steps("f3", "down", "enter", then=SessionScreen)(pilot)
        await pilot.press("down", "m")
        await settle(pilot, MoveScreen)

    assert snap_compare(console(fake), terminal_size=(80, 24), run_before=run)
