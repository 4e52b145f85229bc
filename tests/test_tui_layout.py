"""The console at 80×24 keeps what matters, and wide screens use their width (issue 16).

Asserted on the text the screen renders (what a terminal would show), not on a snapshot: every
session's start, readiness and every bridge's figures at 80 columns, the answer times of the
session detail, fleet tiles that fill the row and grow with the screen.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from confsched_tui import i18n
from confsched_tui.access import Access
from confsched_tui.app import ConsoleApp
from confsched_tui.i18n import _
from confsched_tui.screens.booking import BookingScreen
from confsched_tui.screens.endpoint import EndpointScreen
from confsched_tui.screens.fleet import FleetScreen
from confsched_tui.screens.session import SessionScreen, readiness_widths
from confsched_tui.screens.sessions import SessionsScreen
from confsched_tui.sessionrows import PAD, SCROLLBAR, cells, columns_for, session_row
from confsched_tui.text import fmt_time, wrap
from confsched_tui.widgets.fitted import FittedInput, fitting
from confsched_tui.widgets.fleet_grid import LABEL_WIDTH, FleetGrid
from confsched_tui.widgets.status import fit_status
from rich.cells import cell_len
from rich.console import Console
from textual.pilot import Pilot

from tests.fakes.console_api import FIXED_NOW, TZ, FakeScheduler, serve

SIZES = [(80, 24), (160, 50), (200, 60)]


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[FakeScheduler, str]]:
    scheduler = FakeScheduler(long_poll_s=30.0)
    runner, url = await serve(scheduler)
    yield scheduler, url
    scheduler.touch()
    await runner.cleanup()


def screen_text(app: ConsoleApp) -> str:
    """The whole screen as a terminal shows it, one line per row."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True,
                      force_terminal=True, legacy_windows=False, safe_box=False)  # fmt: skip
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


async def shown(pilot: Pilot[Any], kind: type, timeout: float = 20.0) -> None:
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (isinstance(app.screen, kind) and app.screen.loads > 0):  # type: ignore[attr-defined]
        assert loop.time() < deadline, f"{kind.__name__} never loaded"
        await pilot.pause(0.02)
    await pilot.pause(0.1)


def console(url: str, lang: str = "en") -> ConsoleApp:
    return ConsoleApp(url=url, token="operator-secret", clock=lambda: FIXED_NOW, lang=lang)


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    """The console's language is the process's: put English back for the next test."""
    yield
    i18n.use("en")


def expected_sessions(scheduler: FakeScheduler) -> list[dict[str, Any]]:
    return [scheduler.session_view(s) for s in scheduler.booker.sessions]


@pytest.mark.parametrize(("size", "lang"), [*((size, "en") for size in SIZES), ((80, 24), "vi")])
async def test_sessions_show_start_readiness_and_every_bridge_at_any_width(
    fake: tuple[FakeScheduler, str], size: tuple[int, int], lang: str
) -> None:
    """The words come from the catalog of the language shown (Vietnamese is the longer)."""
    scheduler, url = fake
    app = console(url, lang)
    async with app.run_test(size=size) as pilot:
        await pilot.press("f3")
        await shown(pilot, SessionsScreen)
        text = screen_text(app)
    lines = text.splitlines()
    assert all(len(line.rstrip()) <= size[0] for line in lines)
    compact = size[0] < 120
    bridges_seen = 0
    for session in expected_sessions(scheduler):
        start = fmt_time(session["occurrences"][0]["start"], TZ)
        assert start in text, f"the start of {session['title']} is cut"
        first_word = session["title"].split()[0]
        assert first_word in text
        readiness = session["readiness"]
        if readiness:
            assert _("ready {ready} of {total}").format(**readiness) in text
            if readiness["not_ready"]:
                assert _("{n} not ready").format(n=readiness["not_ready"]) in text
            if readiness["no_answer"]:
                assert _("{n} no answer").format(n=readiness["no_answer"]) in text
        else:
            assert _("not checked yet") in text
        for bridge in session["allocation"]["bridges"]:
            figures = f"{bridge['ports_used']}/{bridge['capacity']}"
            in_use = _("{n} in use").format(n=bridge["in_use"])
            load = f"·{bridge['in_use']}" if compact else f"· {in_use}"
            line = f"{bridge['bridge']} {figures} {load}"
            assert line in text, f"{line!r} is cut at {size[0]} columns"
            bridges_seen += 1
    assert bridges_seen >= 7  # the live session cascades over three bridges
    assert not [line for line in lines if "…" in line.partition("mcu-")[2]], "a bridge is cut"


async def test_session_detail_keeps_answer_times_and_reasons_at_80_columns(
    fake: tuple[FakeScheduler, str],
) -> None:
    scheduler, url = fake
    app = console(url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await shown(pilot, SessionsScreen)
        await pilot.press("enter")
        await shown(pilot, SessionScreen)
        text = screen_text(app)
    live = scheduler.booker.sessions[0]
    rows = scheduler.readiness(live)["endpoints"]  # type: ignore[index]
    not_ready = [r for r in rows if r["status"] == "not_ready"]
    answered = fmt_time(not_ready[0]["at"], TZ, seconds=True)
    assert _("Answered") in text and answered in text
    label = _("✖ not ready")
    shown_rows = [line for line in text.splitlines() if label in line and answered in line]
    assert shown_rows, "no not-ready row shows its answer time"
    for line in shown_rows:
        assert any(reason in line for r in not_ready for reason in r["reasons"])


def test_readiness_reasons_take_the_rest_of_a_narrow_screen_and_wrap() -> None:
    long_reason = "rtt 197 ms to bridge; jitter 43 ms to bridge; loss 3% to bridge"
    rows = [("✖ not ready", "UBND thị trấn Đình Cả", "09:31:00", long_reason, "x-dinh-ca")]
    widths = readiness_widths(rows, 80)
    assert sum(widths[:4]) + 2 * 4 + 2 <= 80
    assert len(wrap(long_reason, widths[3], 9)) == 3
    wide = readiness_widths(rows, 200)
    assert wide[3] == len(long_reason)
    vietnamese = [("✖ chưa sẵn sàng", "UBND xã Phúc Lạc", "09:31:00", "bridge unreachable", "x")]
    assert sum(readiness_widths(vietnamese, 80)[:4]) + 2 * 4 + 2 <= 80  # the reasons not cut


def test_session_columns_fit_every_width_and_cut_no_figure() -> None:
    scheduler = FakeScheduler()
    sessions = expected_sessions(scheduler)
    rows = [session_row(s, FIXED_NOW, TZ, 3) for s in sessions]
    for width in range(80, 221, 10):
        columns = columns_for(rows, width)
        if width <= 100 or width >= 140:
            assert columns.compact == (width <= 100)
        assert sum(columns.widths) + PAD * len(columns.widths) + SCROLLBAR <= width
        for row in rows:
            shown, height = cells(row, columns)
            for cell, cell_width in zip(shown, columns.widths, strict=True):
                text = cell if isinstance(cell, str) else cell.plain
                assert len(text.split("\n")) <= height
                assert all(len(line) <= cell_width for line in text.split("\n"))
            assert "…" not in str(shown[3])  # the bridges, in both layouts


def test_long_bridge_ids_are_cut_before_their_figures() -> None:
    from confsched_tui.sessionview import bridge_lines

    allocation = {"bridges": [{"bridge": "mcu-trung-tam-du-lieu-quoc-gia-1", "ports_used": 88,
                               "capacity": 120, "in_use": 118}]}  # fmt: skip
    (line,) = bridge_lines(allocation, compact=True, width=20)
    assert line.endswith(" 88/120 ·118") and len(line) == 20


@pytest.mark.parametrize("size", SIZES)
async def test_fleet_tiles_fill_the_row_and_grow_with_the_screen(
    fake: tuple[FakeScheduler, str], size: tuple[int, int]
) -> None:
    _, url = fake
    app = console(url)
    async with app.run_test(size=size) as pilot:
        await shown(pilot, FleetScreen)
        grid = app.screen.query_one(FleetGrid)
        width = grid.scrollable_content_region.width
        per_row = max(len(row.tiles) for row in grid._rows)
        used = LABEL_WIDTH + per_row * (grid._tile_width + 1)
        assert width - used < grid._tile_width + 1, "a whole tile's width left unused"
        if size[0] == 80:
            assert grid._tile_width >= 15  # "Hoàng Văn Thụ", "Quyết Thắng" whole
        else:  # wide enough for every name in full
            assert grid._texts == [tile.label for tile in grid._tiles]


ROUTES: dict[str, tuple[tuple[str, ...], type]] = {
    "fleet": ((), FleetScreen),
    "sessions": (("f3",), SessionsScreen),
    "session": (("f3", "enter"), SessionScreen),
    "endpoint": (("3", "enter"), EndpointScreen),
    "book": (("f4",), BookingScreen),
}
"""Every full screen, as the operator reaches it."""


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("width", [80, 160])
@pytest.mark.parametrize("route", list(ROUTES))
async def test_the_status_line_keeps_its_revision_and_the_footer_its_last_key(
    fake: tuple[FakeScheduler, str], route: str, width: int, lang: str
) -> None:
    """At 80 columns a shorter reading of the status line, not the full one cut before the
    revision; the footer leaves out Ctrl+Q (and the Book form's keys its buttons name) so F4
    is whole, in Vietnamese too; at 160 everything in full."""
    _scheduler, url = fake
    keys, kind = ROUTES[route]
    app = console(url, lang)
    async with app.run_test(size=(width, 24)) as pilot:
        await shown(pilot, FleetScreen)
        if keys:
            await pilot.press(*keys)
            await shown(pilot, kind)
        await until_revision(pilot, app)
        *_rows, status, footer = screen_text(app).rstrip("\n").splitlines()
    revision = str(app.revision)
    assert status.rstrip().endswith(revision), f"the revision is cut: {status!r}"
    assert (status.strip() == app.status) == (width == 160)
    assert footer.rstrip().endswith(f"f4 {_('Book')}"), f"the footer is cut: {footer!r}"
    assert (f"^q {_('Quit')}" in footer) == (width == 160)


async def until_revision(pilot: Pilot[Any], app: ConsoleApp) -> None:
    """Until the status line says connected with a revision (the live feed's first answer)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while app.revision < 0 or not app.status.endswith(str(app.revision)):
        assert loop.time() < deadline, "never connected"
        await pilot.pause(0.02)
    await pilot.pause(0.1)


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("width", [80, 160])
async def test_the_book_forms_placeholders_fit_their_fields(
    fake: tuple[FakeScheduler, str], width: int, lang: str
) -> None:
    """Each placeholder is the longest of its readings that fits: whole at 80 columns (no
    explanation cut mid-word), the full explanation on a wide screen."""
    _scheduler, url = fake
    app = console(url, lang)
    async with app.run_test(size=(width, 30)) as pilot:
        await pilot.press("f4")
        await shown(pilot, BookingScreen)
        fields = list(app.screen.query(FittedInput))
        assert len(fields) == 9
        for field in fields:
            room = field.content_size.width - 1
            assert cell_len(field.placeholder) <= room, f"{field.id}: {field.placeholder!r}"
            if width == 160:
                assert field.placeholder == field.placeholders[0], field.id
        text = screen_text(app)
        for button in (_("Book ^s"), _("Free slots ^n"), _("Clear ^l")):
            assert button in text, f"the button {button!r} is cut"
        assert app.screen.query_one("#f-setup", FittedInput).placeholder.startswith("15m")


def test_the_status_line_takes_its_longest_reading_that_fits() -> None:
    i18n.use("vi")
    notes = Access.VIEWER.notes()
    forms = ("● đã kết nối · cập nhật 09:40:00 · Tỉnh Thái Nguyên · http://x:8080 · phiên bản 7",
             "● đã kết nối · cập nhật 09:40:00 · Tỉnh Thái Nguyên · phiên bản 7",
             "● 09:40:00 · Tỉnh Thái Nguyên · bản 7", "● 09:40:00 · bản 7")  # fmt: skip
    assert fit_status(notes, forms, 200) == f"{notes[0]} · {forms[0]}"
    assert fit_status((), forms, 78) == forms[1]
    assert fit_status(notes, forms, 78) == f"chỉ xem · {forms[1]}"
    assert fit_status(notes, forms, 50) == f"chỉ xem · {forms[2]}"
    assert fit_status(notes, forms, 10) == f"chỉ xem · {forms[3]}"  # the shortest, cut
    assert fit_status(notes, forms, 0) == f"{notes[0]} · {forms[0]}"  # before the layout
    assert fitting(("long form", "short"), 6) == "short"
    assert fitting(("long form", "short"), 3) == "short"
    assert fitting((), 3) == ""
