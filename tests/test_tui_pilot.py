"""The console driven by keys (Textual Pilot) against a real scheduler on loopback.

Every screen, a booking through the form, a refusal with its conflicts, an endpoint changing
state live; and, against the stand-in, a scheduler that goes away and comes back.
"""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from confsched_tui.app import ConsoleApp
from confsched_tui.screens.booking import BookingScreen
from confsched_tui.screens.endpoint import EndpointScreen
from confsched_tui.screens.fleet import FleetScreen
from confsched_tui.screens.help import HelpScreen
from confsched_tui.screens.session import SessionScreen
from confsched_tui.screens.sessions import SessionsScreen
from confsched_tui.widgets.fleet_grid import FleetGrid
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Static

from confsched.runtime.components import Components
from tests.conftest import http_url
from tests.fakes.console_api import FakeScheduler, serve

SIZE = (120, 40)


@pytest_asyncio.fixture
async def scheduler(server: Components) -> AsyncIterator[Components]:
    """The real scheduler; afterwards its pending long polls are woken, so it stops at once
    (otherwise the HTTP server's clean-up waits out the console's 20 s long poll)."""
    yield server
    server.ctx.touch()


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 20.0) -> float:
    """Wait (letting the app run) until ``condition()``; return how long it took. The bound is
    generous for a loaded machine: tests that care about speed assert on the time returned."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not condition():
        assert loop.time() - started < timeout, "timed out waiting for the console"
        await pilot.pause(0.02)
    return loop.time() - started


def loaded(app: ConsoleApp, kind: type) -> bool:
    return isinstance(app.screen, kind) and app.screen.loads > 0  # type: ignore[attr-defined]


def text_of(app: ConsoleApp, selector: str) -> str:
    """The widget's content as plain text (all of it, not only the part in view)."""
    widget = app.screen.query_one(selector, Static)
    console = Console(width=widget.size.width or 120, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def tile_state(app: ConsoleApp, endpoint: str) -> str | None:
    grid = app.screen.query_one(FleetGrid)
    return next((t.state for t in grid._tiles if t.id == endpoint), None)


def local_start(ctx: Components, days: int, hour: int) -> str:
    day = datetime.now(ctx.ctx.tz) + timedelta(days=days)
    return day.replace(hour=hour, minute=0).strftime("%Y-%m-%d %H:%M")


async def fill(pilot: Pilot[Any], **fields: str) -> None:
    screen = pilot.app.screen
    for name, value in fields.items():
        widget = screen.query_one(f"#f-{name}", Input)
        widget.focus()
        widget.value = value
    await pilot.pause()


async def test_every_screen_opens_from_its_key(scheduler: Components) -> None:
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: loaded(app, FleetScreen))
        assert app.screen.query_one(FleetGrid).tile_count == 192
        assert "192 endpoints" in text_of(app, "#counts")
        await pilot.press("enter")
        await until(pilot, lambda: loaded(app, EndpointScreen))
        assert "Phòng họp Tỉnh ủy" in text_of(app, "#endpoint-title")
        await pilot.press("escape", "f3")
        await until(pilot, lambda: loaded(app, SessionsScreen))
        await pilot.press("f4")
        await until(pilot, lambda: loaded(app, BookingScreen))
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape", "f2")
        await until(pilot, lambda: isinstance(app.screen, FleetScreen))
        assert app.connected and "connected" in app.status


async def test_booking_through_the_form_then_the_same_rooms_are_refused(
    scheduler: Components,
) -> None:
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    start = local_start(scheduler, days=3, hour=9)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: loaded(app, BookingScreen))
        await fill(pilot, title="Họp UBND huyện Đại Từ", organizer="ubnd-h-dai-tu",
                   chair="h-dai-tu", start=start, duration="90m")  # fmt: skip
        # completion: "district:h-d" completes from the inventory
        with_input = app.screen.query_one("#f-with", Input)
        with_input.focus()
        await pilot.press(*"district:h-dai")
        await until(pilot, lambda: with_input._suggestion == "district:h-dai-tu")
        await pilot.press("right")
        assert with_input.value == "district:h-dai-tu"
        await until(pilot, lambda: "Free: no conflict" in text_of(app, "#preview"))
        assert "30 rooms" in text_of(app, "#preview")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: loaded(app, SessionScreen))
        assert "Họp UBND huyện Đại Từ" in text_of(app, "#session-info")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, BookingScreen))
        await fill(pilot, title="Trùng lịch", chair="", organizer="", **{"with": "dt-hung-son"})
        await until(pilot, lambda: "1 conflict:" in text_of(app, "#preview"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Refused" in text_of(app, "#preview"))
        preview = text_of(app, "#preview")
        assert "dt-hung-son" in preview and "«Họp UBND huyện Đại Từ»" in preview


async def test_fleet_filter_resolves_selectors_through_the_scheduler(
    scheduler: Components,
) -> None:
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: loaded(app, FleetScreen))
        grid = app.screen.query_one(FleetGrid)
        app.screen.query_one("#fleet-filter", Input).value = "under:h-dai-tu"
        await until(pilot, lambda: len(grid._tiles) == 30)
        assert {t.id for t in grid._tiles} == {
            e.id for e in scheduler.ctx.fleet.endpoints.values() if e.area == "h-dai-tu"
        }
        app.screen.query_one("#fleet-filter", Input).value = "distrct:h-dai-tu"
        await until(pilot, lambda: "unknown selector key 'distrct'" in text_of(app, "#counts"))
        assert grid._tiles == []


async def test_sessions_screen_lists_the_booking_and_opens_it(scheduler: Components) -> None:
    from confsched_tui.api import ApiClient

    api = ApiClient(http_url(scheduler), scheduler.ctx.operator_token)
    booked = await api.book({"title": "Giao ban tuần các huyện", "with": "level:district",
                             "start": local_start(scheduler, 2, 8), "duration": "1h"})  # fmt: skip
    await api.close()
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await until(pilot, lambda: loaded(app, SessionsScreen))
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 1)
        await pilot.press("enter")
        await until(pilot, lambda: loaded(app, SessionScreen))
        assert app.screen.session_id == booked["id"]  # type: ignore[attr-defined]
        assert "mcu-tinh-1" in text_of(app, "#session-info")


async def test_an_endpoint_changing_state_shows_within_two_seconds(
    scheduler: Components,
) -> None:
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: loaded(app, FleetScreen))
        assert tile_state(app, "dt-hung-son") == "unknown"
        report(scheduler, "dt-hung-son", camera=False)
        took = await until(pilot, lambda: tile_state(app, "dt-hung-son") == "down", timeout=3)
        assert took < 2.0
        assert "✖ down 1" in text_of(app, "#counts")


async def test_an_offline_rooms_values_show_as_last_known_with_their_age(
    scheduler: Components,
) -> None:
    report(scheduler, "dt-hung-son", camera=True, ago=300)  # then silent: offline by now
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: loaded(app, FleetScreen))
        await until(pilot, lambda: tile_state(app, "dt-hung-son") == "offline")
        app.push_screen(EndpointScreen("dt-hung-son"))
        await until(pilot, lambda: loaded(app, EndpointScreen))
        assert "offline" in text_of(app, "#endpoint-title")
        checks = text_of(app, "#endpoint-checks")
        assert "last known, 5 min ago:" in checks and "✔ camera" in checks


async def test_console_says_when_the_scheduler_is_gone_and_reconnects_by_itself() -> None:
    port = free_port()
    app = ConsoleApp(url=f"http://127.0.0.1:{port}", token=FakeScheduler().token, lang="en")
    app.feed.backoff = (0.1,)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: not app.connected)  # started before the scheduler
        assert "unreachable" in text_of(app, "#status")
        runner, _ = await serve(FakeScheduler(long_poll_s=1.0), port)
        await until(pilot, lambda: loaded(app, FleetScreen) and app.connected)
        assert app.screen.query_one(FleetGrid).tile_count == 192
        await runner.cleanup()
        await until(pilot, lambda: not app.connected)
        assert "unreachable" in text_of(app, "#status")
        runner, _ = await serve(FakeScheduler(long_poll_s=1.0), port)
        await until(pilot, lambda: app.connected)
        assert "connected" in text_of(app, "#status")
    await runner.cleanup()


async def test_next_free_slot_fills_the_start_from_the_scheduler(
    scheduler: Components,
) -> None:
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: loaded(app, BookingScreen))
        await fill(pilot, title="Giao ban", duration="1h", **{"with": "level:district"})
        await pilot.press("ctrl+n")
        slots = app.screen.query_one("#slots", OptionList)
        await until(pilot, lambda: slots.display and slots.option_count > 0)
        await pilot.press("enter")
        start = app.screen.query_one("#f-start", Input).value
        assert start == str(slots.get_option_at_index(0).id)
        await until(pilot, lambda: "Free: no conflict" in text_of(app, "#preview"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Sink:
    def acked(self, seq: int, count: int) -> None:
        pass


_SEQ = iter(range(1, 1_000_000))


def report(ctx: Components, endpoint: str, *, camera: bool, ago: float = 0.0) -> None:
    """What an agent's report does once it is in: judged, handed to the health service."""
    from confsched.domain.health import Observation, judge
    from confsched.store.health import StoredHealth

    now = datetime.now(UTC) - timedelta(seconds=ago)
    checks = dict.fromkeys(("audio", "display", "bridge", "client", "host"), True)
    observation = Observation(endpoint, now, {**checks, "camera": camera},
                              measurements={"rtt_ms": 20.0, "loss_ratio": 0.0})  # fmt: skip
    item = StoredHealth(judge(observation), seq=next(_SEQ), report_time=now, interval=10.0)
    ctx.health_service.submit(item, _Sink())
