"""``confsched book``, ``sessions``, ``slots`` through main(): output, JSON, exit codes."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def next_monday(weeks_ahead: int = 1) -> str:
    """A Monday at least a week away in local time (the CLI reads the real clock)."""
    today = datetime.now(TZ).date()
    monday = today + timedelta(days=7 - today.weekday() + 7 * weeks_ahead)
    return monday.isoformat()


MONDAY = next_monday()


def booked_id(out: str) -> str:
    match = re.search(r"^Booked (\w+):", out, re.M)
    assert match, out
    return match.group(1)


def test_done_when_province_then_district_refused_then_slots_then_ports(cli) -> None:  # type: ignore[no-untyped-def]
    province = cli(
        "book",
        "Hội nghị trực tuyến toàn tỉnh",
        "--start",
        f"{MONDAY} 08:00",
        "--duration",
        "2h",
        "--with",
        "all",
    )
    assert province.code == 0, province.err
    session_id = booked_id(province.out)

    district = cli(
        "book",
        "Giao ban huyện Đại Từ",
        "--start",
        f"{MONDAY} 08:30",
        "--duration",
        "1h",
        "--with",
        "district:h-dai-tu",
    )
    assert district.code == 3
    assert "30 rooms already booked by 1 session" in district.err
    assert f"session {session_id} “Hội nghị trực tuyến toàn tỉnh” {MONDAY} 08:00–10:00" in (
        district.err
    )
    for room in ("h-dai-tu", "dt-la-bang", "dt-cat-ne", "Phòng họp UBND xã La Bằng"):
        assert room in district.err
    assert "ports:" in district.err
    assert "Traceback" not in district.err

    slots = cli(
        "slots",
        "--with",
        "district:h-dai-tu",
        "--duration",
        "1h",
        "--from",
        f"{MONDAY} 08:30",
        "--count",
        "1",
    )
    assert slots.code == 0, slots.err
    assert slots.out.strip() == f"Mon {MONDAY} 10:15–11:15"
    assert (
        cli(
            "book",
            "Giao ban huyện Đại Từ",
            "--start",
            f"{MONDAY} 10:15",
            "--duration",
            "1h",
            "--with",
            "district:h-dai-tu",
        ).code
        == 0
    )

    shown = cli("sessions", "show", session_id)
    assert shown.code == 0, shown.err
    assert re.search(r"Ports:\s+mcu-tinh-1\s+114/120\s+113 rooms \+ 1 cascade link", shown.out)
    assert re.search(r"mcu-tinh-2\s+80/96\s+79 rooms \+ 1 cascade link", shown.out)
    assert "cascade mcu-tinh-1 ⇄ mcu-tinh-2" in shown.out
    view = cli("sessions", "show", session_id, "--json").json()
    assert view["endpoint_count"] == 192  # type: ignore[index]
    assert sum(b["participants"] for b in view["allocation"]["bridges"]) == 192  # type: ignore[index]


def test_book_refusal_as_json_lists_every_conflict(cli) -> None:  # type: ignore[no-untyped-def]
    assert (
        cli(
            "book",
            "A",
            "--start",
            f"{MONDAY} 08:00",
            "--duration",
            "1h",
            "--with",
            "level:district",
        ).code
        == 0
    )
    refused = cli(
        "book",
        "B",
        "--start",
        f"{MONDAY} 08:30",
        "--duration",
        "1h",
        "--with",
        "level:district,level:province",
        "--json",
    )
    assert refused.code == 3
    body = refused.json()
    assert body["error"].startswith("booking refused: 9 rooms")  # type: ignore[index]
    assert len(body["conflicts"]) == 9  # type: ignore[index]
    assert body["conflicts"][0]["start"] == f"{MONDAY}T08:00:00+07:00"  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--start", f"{MONDAY} 08:00", "--end", f"{MONDAY} 07:00", "--with", "all"],
            "is not after the start",
        ),
        (["--start", f"{MONDAY} 08:00", "--duration", "1h", "--with", "atlantis"], "'atlantis'"),
        (["--start", f"{MONDAY} 08:00", "--duration", "1h", "--with", ","], "no rooms chosen"),
        (["--start", "2020-01-06 08:00", "--duration", "1h", "--with", "all"], "in the past"),
        (
            [
                "--start",
                f"{MONDAY} 08:00",
                "--duration",
                "1h",
                "--with",
                "all",
                "--repeat",
                "FREQ=SECONDLY",
            ],
            "FREQ=SECONDLY is not supported",
        ),
        (
            [
                "--start",
                f"{MONDAY} 08:00",
                "--duration",
                "1h",
                "--with",
                "all",
                "--organizer",
                "nobody",
            ],
            "unknown agency 'nobody'",
        ),
        (
            [
                "--start",
                f"{MONDAY} 08:00",
                "--duration",
                "1h",
                "--with",
                "all",
                "--chair",
                "nobody",
            ],
            "unknown endpoint 'nobody'",
        ),
        (["--start", f"{MONDAY} 08:00", "--with", "all"], "give either a duration or an end"),
        (["--start", "tomorrow", "--duration", "1h", "--with", "all"], "bad time 'tomorrow'"),
        (["--start", f"{MONDAY} 08:00", "--duration", "ages", "--with", "all"], "bad duration"),
    ],
)
def test_bad_booking_is_one_line_error_exit_1_and_nothing_stored(cli, args, message) -> None:  # type: ignore[no-untyped-def]
    result = cli("book", "Họp", *args)
    assert result.code == 1
    assert result.err.startswith("error: ") and message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert cli("sessions", "list", "--status", "all", "--json").json() == []


def test_sessions_list_move_cancel_and_an_occurrence(cli) -> None:  # type: ignore[no-untyped-def]
    series = booked_id(
        cli(
            "book",
            "Giao ban tuần Võ Nhai",
            "--start",
            f"{MONDAY} 14:00",
            "--duration",
            "1h",
            "--with",
            "district:h-vo-nhai",
            "--repeat",
            "FREQ=WEEKLY;BYDAY=MO",
        ).out
    )
    single = booked_id(
        cli(
            "book",
            "Họp Sở",
            "--start",
            f"{MONDAY} 09:00",
            "--duration",
            "30m",
            "--with",
            "so-tttt",
        ).out
    )
    listing = cli("sessions", "list")
    assert listing.code == 0
    assert listing.out.index(single) < listing.out.index(series)
    assert "Giao ban tuần Võ Nhai" in listing.out and "2 sessions" in listing.out

    second = (date.fromisoformat(MONDAY) + timedelta(days=7)).isoformat()
    moved = cli(
        "sessions", "move", series, "--occurrence", f"{second} 14:00", "--start", f"{second} 16:00"
    )
    assert moved.code == 0, moved.err
    assert f"Mon {second} 16:00–17:00  (moved, sequence 1)" in moved.out

    cancelled = cli("sessions", "cancel", single, "--json")
    assert cancelled.code == 0
    assert cancelled.json()["status"] == "cancelled"  # type: ignore[index]
    assert cancelled.json()["sequence"] == 1  # type: ignore[index]
    assert [s["id"] for s in cli("sessions", "list", "--json").json()] == [series]  # type: ignore[union-attr]
    assert [s["id"] for s in cli("sessions", "list", "--status", "cancelled", "--json").json()] == [
        single
    ]  # type: ignore[union-attr]

    again = cli("sessions", "move", single, "--start", f"{MONDAY} 10:00")
    assert again.code == 1 and "is cancelled" in again.err


def test_unknown_session_id_exits_1_with_a_clear_line(cli) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ["show", "nope"],
        ["cancel", "nope"],
        ["move", "nope", "--start", f"{MONDAY} 08:00"],
    ):
        result = cli("sessions", *args)
        assert result.code == 1
        assert result.err.strip() == "error: unknown session 'nope'"


def test_slots_json_and_help(cli) -> None:  # type: ignore[no-untyped-def]
    found = cli("slots", "--with", "all", "--duration", "90m", "--within", "30d", "--json")
    assert found.code == 0, found.err
    slots = found.json()
    assert len(slots) == 5  # type: ignore[arg-type]
    first = datetime.fromisoformat(slots[0]["start"])  # type: ignore[index]
    assert first.minute % 15 == 0 and first.utcoffset() == timedelta(hours=7)
    for command in (["book"], ["sessions"], ["sessions", "show"], ["slots"]):
        assert cli(*command, "--help", data=None).code == 0


def test_sessions_show_ics_writes_the_invite_then_the_cancellation(cli) -> None:  # type: ignore[no-untyped-def]
    from icalendar import Calendar

    booked = cli(
        "book",
        "Giao ban Phú Bình",
        "--start",
        f"{MONDAY} 14:00",
        "--duration",
        "1h",
        "--with",
        "district:h-phu-binh",
    )
    session_id = booked_id(booked.out)
    invite = cli("sessions", "show", session_id, "--ics")
    assert invite.code == 0, invite.err
    assert "\r\n" in invite.out
    calendar = Calendar.from_ical(invite.out.encode())
    assert str(calendar["METHOD"]) == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Giao ban Phú Bình"

    assert cli("sessions", "cancel", session_id).code == 0
    cancelled = Calendar.from_ical(cli("sessions", "show", session_id, "--ics").out.encode())
    assert str(cancelled["METHOD"]) == "CANCEL"
    assert int(cancelled.walk("VEVENT")[0]["SEQUENCE"]) > int(event["SEQUENCE"])
    assert cli("sessions", "show", "nope", "--ics").code == 1


def test_show_tells_the_sequence_the_invite_carries_and_a_sitting_cancel_says_so(cli) -> None:  # type: ignore[no-untyped-def]
    from icalendar import Calendar

    series = booked_id(
        cli("book", "Giao ban tuần", "--start", f"{MONDAY} 14:00", "--duration", "1h",
            "--with", "tinh-uy", "--repeat", "FREQ=WEEKLY;BYDAY=MO").out
    )  # fmt: skip
    second = (date.fromisoformat(MONDAY) + timedelta(days=7)).isoformat()
    third = (date.fromisoformat(MONDAY) + timedelta(days=14)).isoformat()
    moved = cli("sessions", "move", series, "--occurrence", f"{second} 14:00",
                "--start", f"{second} 15:00")  # fmt: skip
    assert moved.code == 0, moved.err
    cancelled = cli("sessions", "cancel", series, "--occurrence", f"{third} 14:00")
    assert cancelled.code == 0, cancelled.err
    assert cancelled.out.startswith(f"Cancelled the sitting of {third} 14:00 in {series}: ")
    invite = Calendar.from_ical(cli("sessions", "show", series, "--ics").out.encode())
    sequence = max(int(e["SEQUENCE"]) for e in invite.walk("VEVENT"))
    assert sequence >= 2
    shown = cli("sessions", "show", series).out
    assert f"scheduled (calendar sequence {sequence})" in shown
    assert cli("sessions", "show", series, "--json").json()["sequence"] == sequence  # type: ignore[index]
    listed = cli("sessions", "list", "--from", MONDAY, "--json").json()
    assert next(v for v in listed if v["id"] == series)["sequence"] == sequence  # type: ignore[union-attr]
    assert " 1 room;" in shown and "1 rooms" not in shown  # ports: "1 room; … in use then"
