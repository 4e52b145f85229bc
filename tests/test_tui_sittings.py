"""A series' sittings in the console: its rule in words, the sittings in view with moved and
cancelled marked, one sitting (or the whole series) cancelled or moved from the session screen
against a real scheduler, and sittings skipped from the Book form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils
from confsched_tui.api import ApiClient
from confsched_tui.app import ConsoleApp
from confsched_tui.screens.booking import BookingScreen
from confsched_tui.screens.session import SessionScreen
from confsched_tui.screens.sitting import CancelScreen, MoveScreen
from confsched_tui.sittings import exception_dates, rrule_text, sittings
from textual.widgets import DataTable, Input

from confsched.runtime.components import Components
from confsched.services import booking as svc
from tests.conftest import http_url, viewer_token
from tests.test_tui_pilot import SIZE, fill, loaded, scheduler, text_of, until

__all__ = ["scheduler"]  # the fixture, shared with the Pilot tests

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def test_rules_read_in_words() -> None:
    assert rrule_text("FREQ=WEEKLY;BYDAY=MO", HCM) == "weekly on Monday"
    assert rrule_text("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10", HCM) == (
        "every 2 weeks on Monday and Thursday, 10 times"
    )
    assert rrule_text("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20270130T170000Z", HCM) == (
        "monthly on the last Friday until 31 Jan 2027"
    )
    assert rrule_text("FREQ=MONTHLY;BYDAY=1MO", HCM) == "monthly on the first Monday"
    assert rrule_text("FREQ=DAILY", HCM) == "daily"
    assert rrule_text(None, HCM) == "no"


def test_a_rule_part_without_words_keeps_the_rule_beside_them() -> None:
    assert rrule_text("FREQ=YEARLY;BYMONTH=3", HCM) == "yearly (FREQ=YEARLY;BYMONTH=3)"
    assert rrule_text("FREQ=WEEKLY;BYDAY=XX", HCM) == "weekly (FREQ=WEEKLY;BYDAY=XX)"
    assert rrule_text("BYDAY=MO", HCM) == "BYDAY=MO"


def test_sittings_are_marked_moved_or_cancelled_in_local_time() -> None:
    session = {
        "occurrences": [
            {"recurrence_id": "2026-12-07T08:00:00+07:00", "start": "2026-12-07T08:00:00+07:00",
             "end": "2026-12-07T09:00:00+07:00", "cancelled": False, "moved": False},
            {"recurrence_id": "2026-12-14T01:00:00+00:00", "start": "2026-12-14T01:00:00+00:00",
             "end": "2026-12-14T02:00:00+00:00", "cancelled": True, "moved": False},
            {"recurrence_id": "2026-12-21T08:00:00+07:00", "start": "2026-12-22T10:00:00+07:00",
             "end": "2026-12-22T11:00:00+07:00", "cancelled": False, "moved": True},
        ]
    }  # fmt: skip
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 10:00 local: the first has ended
    rows = sittings(session, now, HCM)
    assert [(r.when, r.mark) for r in rows] == [
        ("Mon 07 Dec 08:00–09:00", ""),
        ("Mon 14 Dec 08:00–09:00", "cancelled"),
        ("Tue 22 Dec 10:00–11:00", "moved from Mon 21 Dec 08:00"),
    ]
    assert [r.ended for r in rows] == [True, False, False]
    assert rows[2].key == "2026-12-21T08:00:00+07:00"  # the API names a sitting by it


def test_exception_dates_take_the_start_time_when_given_a_date() -> None:
    assert exception_dates("2026-12-21, 2026-12-28 09:30,", "2026-12-07 08:00") == [
        "2026-12-21 08:00",
        "2026-12-28 09:30",
    ]
    assert exception_dates("  ", "2026-12-07 08:00") == []


def weekly_start(ctx: Components, days: int = 3) -> tuple[datetime, str]:
    start = (datetime.now(ctx.ctx.tz) + timedelta(days=days)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return start, f"FREQ=WEEKLY;BYDAY={DAYS[start.weekday()]}"


async def book_weekly(ctx: Components) -> tuple[str, datetime]:
    start, rule = weekly_start(ctx)
    api = ApiClient(http_url(ctx), ctx.ctx.operator_token)
    booked = await api.book({"title": "Giao ban tuần các huyện", "with": "level:district",
                             "start": start.strftime("%Y-%m-%d %H:%M"), "duration": "1h",
                             "repeat": rule})  # fmt: skip
    await api.close()
    return str(booked["id"]), start


async def stored(ctx: Components, session_id: str) -> list[tuple[datetime, bool, datetime]]:
    now = datetime.now(UTC)

    def read(db: sqlite_utils.Database) -> list[tuple[datetime, bool, datetime]]:
        found = svc.session_occurrences(db, session_id, now, now + timedelta(days=40))
        return [(o.recurrence_id, o.cancelled, o.start) for o in found]

    return await ctx.ctx.store.read(read)


async def test_one_sitting_of_a_weekly_meeting_is_cancelled_and_the_rest_stay(
    scheduler: Components,
) -> None:
    session_id, start = await book_weekly(scheduler)
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(SessionScreen(session_id))
        await until(pilot, lambda: loaded(app, SessionScreen))
        info = text_of(app, "#session-info")
        assert f"weekly on {start.strftime('%A')}" in info and "FREQ=" not in info
        table = app.screen.query_one("#sittings", DataTable)
        assert table.display and table.row_count >= 4 and app.focused is table
        await pilot.press("down", "c")  # the second sitting
        await until(pilot, lambda: isinstance(app.screen, CancelScreen))
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        screen = app.screen
        await until(pilot, lambda: any(s.cancelled for s in screen.sittings))  # type: ignore[attr-defined]
        marks = [s.mark for s in screen.sittings]  # type: ignore[attr-defined]
        assert marks[:3] == ["", "cancelled", ""]
    rows = await stored(scheduler, session_id)
    second = start + timedelta(weeks=1)
    assert [cancelled for _, cancelled, _ in rows][:3] == [False, True, False]
    assert rows[1][0] == second.astimezone(UTC)


async def test_the_whole_series_is_cancelled_when_the_dialog_is_told_so(
    scheduler: Components,
) -> None:
    session_id, _ = await book_weekly(scheduler)
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(SessionScreen(session_id))
        await until(pilot, lambda: loaded(app, SessionScreen))
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CancelScreen))
        await pilot.press("a")
        await until(pilot, lambda: "Cancelled" in text_of(app, "#session-info"))
    api = ApiClient(http_url(scheduler), scheduler.ctx.operator_token)
    assert (await api.session(session_id))["status"] == "cancelled"
    await api.close()


async def test_one_sitting_moved_from_the_console_is_marked_moved(
    scheduler: Components,
) -> None:
    session_id, start = await book_weekly(scheduler)
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(SessionScreen(session_id))
        await until(pilot, lambda: loaded(app, SessionScreen))
        await pilot.press("down", "m")
        await until(pilot, lambda: isinstance(app.screen, MoveScreen))
        field = app.screen.query_one("#move-start", Input)
        second = start + timedelta(weeks=1)
        assert field.value == second.strftime("%Y-%m-%d %H:%M")
        field.value = (second + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
        await pilot.click("#one")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        screen = app.screen
        await until(pilot, lambda: screen.sittings[1].mark.startswith("moved from"))  # type: ignore[attr-defined]
        assert screen.sittings[1].when.endswith("11:00–12:00")  # type: ignore[attr-defined]
    rows = await stored(scheduler, session_id)
    assert rows[1][2] == (second + timedelta(hours=2)).astimezone(UTC)
    assert rows[2][2] == (start + timedelta(weeks=2)).astimezone(UTC)


async def test_the_book_form_skips_the_sittings_given_as_exceptions(
    scheduler: Components,
) -> None:
    start, rule = weekly_start(scheduler)
    skipped = start + timedelta(weeks=1)
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: loaded(app, BookingScreen))
        fields = {"with": "level:district", "except": skipped.strftime("%Y-%m-%d")}
        await fill(pilot, title="Giao ban tuần", duration="1h", repeat=rule,
                   start=start.strftime("%Y-%m-%d %H:%M"), **fields)  # fmt: skip
        assert f"weekly on {start.strftime('%A')}" in text_of(app, "#hint-repeat")
        await until(pilot, lambda: "Free: no conflict" in text_of(app, "#preview"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: loaded(app, SessionScreen))
        assert "except " + skipped.strftime("%a %d %b %H:%M") in text_of(app, "#session-info")
        session_id = app.screen.session_id  # type: ignore[attr-defined]
    rows = await stored(scheduler, session_id)
    assert skipped.astimezone(UTC) not in [original for original, _, _ in rows]
    assert (start + timedelta(weeks=2)).astimezone(UTC) in [original for original, _, _ in rows]


async def test_the_whole_series_is_moved_when_the_dialog_is_told_so(
    scheduler: Components,
) -> None:
    """The second sitting chosen, moved two hours later for the whole series: every sitting
    moves as it did (the first too), none is marked moved alone."""
    session_id, start = await book_weekly(scheduler)
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(SessionScreen(session_id))
        await until(pilot, lambda: loaded(app, SessionScreen))
        await pilot.press("down", "m")
        await until(pilot, lambda: isinstance(app.screen, MoveScreen))
        second = start + timedelta(weeks=1)
        later = (second + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
        app.screen.query_one("#move-start", Input).value = later
        await pilot.click("#series")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        screen = app.screen
        await until(pilot, lambda: screen.sittings[0].when.endswith("11:00–12:00"))  # type: ignore[attr-defined]
        assert not [s for s in screen.sittings if s.mark]  # type: ignore[attr-defined]
    rows = await stored(scheduler, session_id)
    assert [moved for _, _, moved in rows[:3]] == [
        (start + timedelta(weeks=n, hours=2)).astimezone(UTC) for n in range(3)
    ]


async def test_a_viewer_can_neither_cancel_nor_move_a_sitting(scheduler: Components) -> None:
    """Read-only mode on the sittings: no dialog opens, the refusal says how to give an
    operator token, the scheduler keeps every sitting as booked."""
    session_id, start = await book_weekly(scheduler)
    app = ConsoleApp(url=http_url(scheduler), token=await viewer_token(scheduler), lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.read_only)
        app.push_screen(SessionScreen(session_id))
        await until(pilot, lambda: loaded(app, SessionScreen))
        for key in ("c", "m"):
            app.clear_notifications()
            await pilot.press("down", key)
            await until(pilot, lambda: any("operator token" in str(n.message)
                                           for n in app._notifications))  # fmt: skip
            assert isinstance(app.screen, SessionScreen), f"{key} opened a dialog"
    rows = await stored(scheduler, session_id)
    assert [(cancelled, moved) for _, cancelled, moved in rows[:3]] == [
        (False, (start + timedelta(weeks=n)).astimezone(UTC)) for n in range(3)
    ]
