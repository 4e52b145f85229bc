"""``rooms import`` never breaks a booking silently: refused (exit 3) listing every broken
sitting, ``--check`` stores nothing, ``--force`` re-allocates or marks "needs attention"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from confsched.config import Settings
from tests.conftest import http_url
from tests.test_api_booking import MONDAY
from tests.test_cli_booking import booked_id
from tests.test_session_bridges import SMALL, small_fleet

ALL = ("--start", f"{MONDAY} 08:00", "--duration", "1h", "--with", "all")


def edited(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "edited.yaml"
    assert old in SMALL
    path.write_text(SMALL.replace(old, new), encoding="utf-8")
    return path


def stored_unchanged(cli, tmp_path: Path, data: Path) -> bool:  # type: ignore[no-untyped-def]
    """Nothing stored: importing the original file again changes nothing."""
    return cli("rooms", "import", str(tmp_path / "small.yaml"), data=data).out.endswith(
        "no changes\n"
    )


@pytest.fixture
def booked(cli, tmp_path: Path) -> tuple[Path, str]:  # type: ignore[no-untyped-def]
    """The five rooms booked on Monday 08:00: mcu-a full (2 rooms + link), mcu-b 3 + link."""
    data = small_fleet(cli, tmp_path)
    return data, booked_id(cli("book", "Họp toàn xã", *ALL, data=data).out)


def test_shrinking_a_booked_bridge_is_refused_naming_the_sitting(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, session_id = booked
    smaller = edited(tmp_path, "ports: 10", "ports: 3")
    result = cli("rooms", "import", str(smaller), data=data)
    assert result.code == 3
    assert "import refused: 1 booked sitting of 1 session would break; nothing stored" in result.err
    assert (
        f"{session_id} {MONDAY} 08:00–09:00 Họp toàn xã: bridge mcu-b would need 4 ports, has 3"
        in result.err
    )
    assert stored_unchanged(cli, tmp_path, data)


def test_removing_a_booked_bridge_is_refused(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, _ = booked
    text = SMALL.replace(
        '  - {id: mcu-b, name: "MCU B — Dự phòng", ports: 10, dial_in: "sip:hop@b.example"}\n', ""
    )
    path = tmp_path / "edited.yaml"
    path.write_text(text.replace("bridge: mcu-b", "bridge: mcu-a"), encoding="utf-8")
    result = cli("rooms", "import", str(path), data=data)
    assert result.code == 3
    assert "bridge mcu-b is removed" in result.err
    assert stored_unchanged(cli, tmp_path, data)


def test_removing_a_booked_room_is_refused(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, session_id = booked
    path = edited(
        tmp_path,
        "  - {id: a2, name: Phòng Á 2, site: tinh, agency: ubnd, kind: pc, bridge: mcu-a}\n",
        "",
    )
    result = cli("rooms", "import", str(path), data=data)
    assert result.code == 3
    assert (
        f"{session_id} {MONDAY} 08:00–09:00 Họp toàn xã: room a2 is removed from the fleet"
        in result.err
    )
    assert [r["id"] for r in cli("rooms", "list", "--json", data=data).json()].count("a2") == 1  # type: ignore[union-attr]


def test_rehoming_rooms_onto_a_full_bridge_is_refused(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, _ = booked
    path = edited(tmp_path, "kind: pc, bridge: mcu-b}", "kind: pc, bridge: mcu-a}")
    result = cli("rooms", "import", str(path), data=data)
    assert result.code == 3
    assert "bridge mcu-a would need 4 ports, has 3" in result.err
    assert stored_unchanged(cli, tmp_path, data)


def test_every_sitting_of_a_series_is_listed(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = small_fleet(cli, tmp_path)
    series = booked_id(
        cli("book", "Giao ban tuần", *ALL, "--repeat", "FREQ=WEEKLY;COUNT=3", data=data).out
    )
    result = cli("rooms", "import", str(edited(tmp_path, "ports: 10", "ports: 3")), data=data)
    assert result.code == 3
    assert "3 booked sittings of 1 session would break" in result.err
    assert result.err.count(f"  {series} ") == 3


def test_a_change_no_booking_needs_is_applied(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, _ = booked
    result = cli("rooms", "import", str(edited(tmp_path, "ports: 10", "ports: 4")), data=data)
    assert result.code == 0, result.err
    assert result.out == "bridges: 1 updated\n"


def test_a_cancelled_booking_does_not_hold_the_fleet_back(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, session_id = booked
    assert cli("sessions", "cancel", session_id, data=data).code == 0
    result = cli("rooms", "import", str(edited(tmp_path, "ports: 10", "ports: 1")), data=data)
    assert result.code == 0, result.err


def test_check_prints_changes_and_impact_and_stores_nothing(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, session_id = booked
    result = cli(
        "rooms", "import", str(edited(tmp_path, "ports: 10", "ports: 3")), "--check", data=data
    )
    assert result.code == 3
    assert result.out.startswith(
        "bridges: 1 updated\nimpact on booked sittings (nothing stored):\n"
    )
    assert f"  {session_id} {MONDAY} 08:00–09:00 Họp toàn xã: bridge mcu-b" in result.out
    assert stored_unchanged(cli, tmp_path, data)
    harmless = cli(
        "rooms", "import", str(edited(tmp_path, "ports: 10", "ports: 12")), "--check", data=data
    )
    assert harmless.code == 0
    assert harmless.out == "bridges: 1 updated\nimpact on booked sittings: none (nothing stored)\n"
    assert stored_unchanged(cli, tmp_path, data)


def test_check_and_force_together_is_a_usage_error(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, _ = booked
    result = cli("rooms", "import", str(tmp_path / "small.yaml"), "--check", "--force", data=data)
    assert result.code == 2


def test_force_reallocates_over_a_new_bridge(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, session_id = booked
    bigger = SMALL.replace("ports: 10", "ports: 2").replace(
        "agencies:", '  - {id: mcu-c, name: "MCU C — Mới", ports: 10}\nagencies:'
    )
    path = tmp_path / "edited.yaml"
    path.write_text(bigger, encoding="utf-8")
    result = cli("rooms", "import", str(path), "--force", data=data)
    assert result.code == 0, result.err
    assert "re-allocated over the new bridges: 1 sitting" in result.out
    view: Any = cli("sessions", "show", session_id, "--json", data=data).json()
    assert view["needs_attention"] == []
    used = {b["bridge"]: b["ports_used"] for b in view["allocation"]["bridges"]}
    assert all(used[b] <= {"mcu-a": 3, "mcu-b": 2, "mcu-c": 10}[b] for b in used)
    assert sum(b["participants"] for b in view["allocation"]["bridges"]) == 5


def test_force_marks_what_cannot_be_reallocated(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, session_id = booked
    result = cli(
        "rooms", "import", str(edited(tmp_path, "ports: 10", "ports: 3")), "--force", data=data
    )
    assert result.code == 0, result.err
    assert "bridges: 1 updated\nneeds attention (move or cancel): 1 sitting\n" in result.out
    listed = cli("sessions", "list", "--from", MONDAY, data=data).out
    assert "scheduled, needs attention" in listed
    shown = cli("sessions", "show", session_id, data=data).out
    assert (
        "  Attention:  1 sitting needs attention (a forced re-import broke it: move or cancel)"
        in shown
    )
    assert f"{MONDAY} 08:00–09:00: bridge mcu-b would need 4 ports, has 3" in shown
    view: Any = cli("sessions", "show", session_id, "--json", data=data).json()
    assert [s["reason"] for s in view["needs_attention"]] == [
        "bridge mcu-b would need 4 ports, has 3"
    ]
    assert view["occurrences"][0]["attention"] == "bridge mcu-b would need 4 ports, has 3"
    # known now: the same file again is not refused, and restoring the bridge clears the mark
    assert cli("rooms", "import", str(tmp_path / "edited.yaml"), data=data).code == 0
    assert cli("rooms", "import", str(tmp_path / "small.yaml"), data=data).code == 0
    again: Any = cli("sessions", "show", session_id, "--json", data=data).json()
    assert again["needs_attention"] == []


def test_force_with_a_removed_room_marks_the_sitting(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, _ = booked
    path = edited(
        tmp_path,
        "  - {id: a2, name: Phòng Á 2, site: tinh, agency: ubnd, kind: pc, bridge: mcu-a}\n",
        "",
    )
    result = cli("rooms", "import", str(path), "--force", "--json", data=data)
    assert result.code == 0, result.err
    report: Any = result.json()
    assert report["endpoints"]["removed"] == ["a2"]
    assert report["needs_attention"][0]["problems"] == ["room a2 is removed from the fleet"]
    assert report["stored"] is True


def test_moving_the_sitting_clears_the_mark(cli, tmp_path, booked) -> None:  # type: ignore[no-untyped-def]
    data, session_id = booked
    cli("rooms", "import", str(edited(tmp_path, "ports: 10", "ports: 4")), data=data)
    cli("rooms", "import", str(edited(tmp_path, "ports: 10", "ports: 3")), "--force", data=data)
    assert cli("sessions", "cancel", session_id, data=data).code == 0
    listed = cli("sessions", "list", "--from", MONDAY, "--status", "all", data=data).out
    assert "needs attention" not in listed


@pytest.fixture
def settings(booked: tuple[Path, str]) -> Settings:
    """The API tests' server runs on the small fleet's data directory."""
    return Settings(data_dir=booked[0], http_port=0, ssh_port=0)


async def test_api_session_views_carry_needs_attention(cli, tmp_path, booked, server) -> None:  # type: ignore[no-untyped-def]
    data, session_id = booked
    cli("rooms", "import", str(edited(tmp_path, "ports: 10", "ports: 3")), "--force", data=data)
    headers = {"Authorization": f"Bearer {server.ctx.operator_token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(http_url(server, f"/api/v1/sessions/{session_id}")) as resp:
            assert resp.status == 200
            view = await resp.json()
        async with http.get(http_url(server, "/api/v1/sessions"), params={"from": MONDAY}) as resp:
            listing = await resp.json()
    assert view["needs_attention"][0]["reason"] == "bridge mcu-b would need 4 ports, has 3"
    assert listing[0]["needs_attention"][0]["start"].startswith(f"{MONDAY}T08:00")


async def test_serve_refuses_to_start_on_a_file_that_breaks_a_booking(
    cli, tmp_path, booked
) -> None:  # type: ignore[no-untyped-def]
    from confsched.errors import FleetImportRefused
    from confsched.server import open_context

    data, _ = booked
    smaller = edited(tmp_path, "ports: 10", "ports: 3")
    with pytest.raises(FleetImportRefused, match="1 booked sitting of 1 session would break"):
        await open_context(Settings(data_dir=data, http_port=0, ssh_port=0, rooms_file=smaller))
    assert stored_unchanged(cli, tmp_path, data)
