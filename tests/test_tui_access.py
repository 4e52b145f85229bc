"""The console without an operator's token: it says it is read-only (status line, title) and
how to give one, and refuses every write with that message; the scheduler stores nothing.
And the command palette: screens, actions, a jump to a room or a session by name."""

from __future__ import annotations

from confsched_tui.app import ConsoleApp
from confsched_tui.screens.booking import BookingScreen
from confsched_tui.screens.endpoint import EndpointScreen
from confsched_tui.screens.fleet import FleetScreen
from confsched_tui.screens.session import SessionScreen
from confsched_tui.screens.sessions import SessionsScreen
from textual.command import CommandPalette

from confsched.runtime.components import Components
from tests.conftest import http_url, viewer_token
from tests.test_tui_pilot import SIZE, fill, loaded, local_start, scheduler, text_of, until

__all__ = ["scheduler"]  # the fixture, shared with the Pilot tests


def notified(app: ConsoleApp, words: str) -> bool:
    return any(words in str(n.message) for n in app._notifications)


async def sessions_stored(ctx: Components) -> int:
    def count(db) -> int:  # type: ignore[no-untyped-def]
        return int(db.execute("SELECT count(*) FROM sessions").fetchone()[0])

    return await ctx.ctx.store.read(count)


async def test_a_viewer_token_makes_the_console_read_only_and_refuses_to_book(
    scheduler: Components,
) -> None:
    token = await viewer_token(scheduler)
    app = ConsoleApp(url=http_url(scheduler), token=token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: loaded(app, FleetScreen) and app.read_only)
        await until(pilot, lambda: "read-only (viewer token)" in text_of(app, "#status"))
        assert "read-only" in app.title
        assert notified(app, "confsched tokens create")
        await pilot.press("f4")
        await until(pilot, lambda: loaded(app, BookingScreen))
        await fill(pilot, title="Giao ban", duration="1h", start=local_start(scheduler, 2, 9),
                   **{"with": "level:district"})  # fmt: skip
        await until(pilot, lambda: "Free: no conflict" in text_of(app, "#preview"))  # may look
        app.clear_notifications()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: notified(app, "viewer token"))
        assert notified(app, "operator token") and isinstance(app.screen, BookingScreen)
    assert await sessions_stored(scheduler) == 0


async def test_no_token_says_how_to_give_one_and_cancel_is_refused(scheduler: Components) -> None:
    from confsched_tui.api import ApiClient

    api = ApiClient(http_url(scheduler), scheduler.ctx.operator_token)
    booked = await api.book({"title": "Giao ban", "with": "level:district",
                             "start": local_start(scheduler, 2, 9), "duration": "1h"})  # fmt: skip
    await api.close()
    app = ConsoleApp(url=http_url(scheduler), token=None, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.read_only)
        await until(pilot, lambda: "read-only (no token)" in text_of(app, "#status"))
        assert notified(app, "--token") and notified(app, "DATA/operator.token")
        app.push_screen(SessionScreen(str(booked["id"])))
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        app.clear_notifications()
        app.screen.action_cancel_session()  # type: ignore[attr-defined]
        await until(pilot, lambda: notified(app, "no token"))
        assert isinstance(app.screen, SessionScreen)  # no dialog: nothing to confirm
    api = ApiClient(http_url(scheduler), scheduler.ctx.operator_token)
    assert (await api.session(str(booked["id"])))["status"] == "scheduled"
    await api.close()


async def test_an_operator_token_is_not_read_only(scheduler: Components) -> None:
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: loaded(app, FleetScreen))
        await until(pilot, lambda: app.access.value == "operator")
        assert "read-only" not in text_of(app, "#status") and "read-only" not in app.title


async def test_the_palette_jumps_to_a_room_typed_without_diacritics_and_to_a_screen(
    scheduler: Components,
) -> None:
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: loaded(app, FleetScreen))
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"hung son")
        palette = app.screen
        await until(pilot, lambda: "Hùng Sơn" in _first_hit(palette))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EndpointScreen))
        assert app.screen.endpoint_id == "dt-hung-son"  # type: ignore[attr-defined]
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"sessions")
        palette = app.screen
        await until(pilot, lambda: "Sessions" in _first_hit(palette))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionsScreen))


def _first_hit(palette: object) -> str:
    from textual.widgets import OptionList

    options = palette.query_one(OptionList)  # type: ignore[attr-defined]
    if not options.option_count:
        return ""
    return str(options.get_option_at_index(0).prompt)
