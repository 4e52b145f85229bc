"""Every room is told its bridge: the allocation per room, the rooms moved off their home bridge,
and each bridge's load across all sessions, in ``sessions show`` (text and JSON) and the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from confsched.server import ServerContext
from tests.test_api_booking import MONDAY, Api
from tests.test_cli_booking import booked_id

SMALL = """\
fleet: {name: Xã Thử, timezone: Asia/Ho_Chi_Minh}
bridges:
  - {id: mcu-a, name: "MCU A — Trung tâm", ports: 3, dial_in: "sip:hop@a.example"}
  - {id: mcu-b, name: "MCU B — Dự phòng", ports: 10, dial_in: "sip:hop@b.example"}
agencies:
  - {id: ubnd, name: Ủy ban nhân dân}
sites:
  - {id: tinh, name: Tỉnh Thử, level: province}
endpoints:
  - {id: a1, name: Phòng Á 1, site: tinh, agency: ubnd, kind: pc, bridge: mcu-a}
  - {id: a2, name: Phòng Á 2, site: tinh, agency: ubnd, kind: pc, bridge: mcu-a}
  - {id: a3, name: Phòng Á 3, site: tinh, agency: ubnd, kind: pc, bridge: mcu-a}
  - {id: a4, name: Phòng Á 4, site: tinh, agency: ubnd, kind: pc, bridge: mcu-a}
  - {id: b1, name: Phòng Bê 1, site: tinh, agency: ubnd, kind: pc, bridge: mcu-b}
"""


def small_fleet(cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A data directory with five rooms: four at home on a three-port bridge, one on the other."""
    (tmp_path / "small.yaml").write_text(SMALL, encoding="utf-8")
    data = tmp_path / "data"
    assert cli("rooms", "import", str(tmp_path / "small.yaml"), data=data).code == 0
    return data


def test_show_rooms_names_each_rooms_bridge_and_the_ones_moved(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = small_fleet(cli, tmp_path)
    args = ("--start", f"{MONDAY} 08:00", "--duration", "1h", "--with", "all")
    session_id = booked_id(cli("book", "Họp thử", *args, data=data).out)
    shown = cli("sessions", "show", session_id, "--rooms", data=data)
    assert shown.code == 0, shown.err
    assert "a1                       Phòng Á 1  → mcu-a\n" in shown.out
    assert "Phòng Á 4  → mcu-b (moved off its home bridge mcu-a)" in shown.out
    assert "b1                       Phòng Bê 1  → mcu-b\n" in shown.out
    assert "mcu-a           3/3    2 rooms + 1 cascade link; 3/3 in use then" in shown.out
    summary = cli("sessions", "show", session_id, data=data).out
    assert "2 moved off their home bridge" in summary


def test_show_json_carries_the_allocation_per_room(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = small_fleet(cli, tmp_path)
    args = ("--start", f"{MONDAY} 08:00", "--duration", "1h", "--with", "all")
    session_id = booked_id(cli("book", "Họp thử", *args, data=data).out)
    view: Any = cli("sessions", "show", session_id, "--json", data=data).json()
    rooms = {r["endpoint"]: r for r in view["allocation"]["rooms"]}
    assert len(rooms) == 5
    moved = {r["endpoint"] for r in view["allocation"]["moved"]}
    assert len(moved) == 2 and moved <= {"a1", "a2", "a3", "a4"}
    for endpoint in moved:
        assert rooms[endpoint]["bridge"] == "mcu-b" and rooms[endpoint]["home"] == "mcu-a"
        assert rooms[endpoint]["dial_in"] == "sip:hop@b.example"
    assert rooms["b1"] == {
        "endpoint": "b1",
        "endpoint_name": "Phòng Bê 1",
        "bridge": "mcu-b",
        "bridge_name": "MCU B — Dự phòng",
        "dial_in": "sip:hop@b.example",
        "home": "mcu-b",
        "moved": False,
    }
    assert [b["in_use"] for b in view["allocation"]["bridges"]] == [3, 4]


async def test_api_session_shows_every_bridge_with_its_load_across_sessions(
    server: ServerContext,
) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(server, http)
        base = {"start": f"{MONDAY} 08:00", "duration": "2h"}
        status, dai_tu = await api.post(
            "/api/v1/sessions", {"title": "Đại Từ", "with": "district:h-dai-tu", **base}
        )
        assert status == 201
        status, phu_binh = await api.post(
            "/api/v1/sessions", {"title": "Phú Bình", "with": "district:h-phu-binh", **base}
        )
        assert status == 201
        status, view = await api.get(f"/api/v1/sessions/{dai_tu['id']}")
    assert status == 200
    bridges = {b["bridge"]: b for b in view["allocation"]["bridges"]}
    assert set(bridges) == {"mcu-tinh-1", "mcu-tinh-2"}
    assert bridges["mcu-tinh-2"]["ports_used"] == 30  # 29 communes and the link
    other = {b["bridge"]: b["ports_used"] for b in phu_binh["allocation"]["bridges"]}
    for bridge_id, bridge in bridges.items():  # this session's ports and the other's
        assert bridge["in_use"] == bridge["ports_used"] + other[bridge_id]
    assert view["load_at"] == f"{MONDAY}T08:00:00+07:00"
    assert {r["bridge"] for r in view["allocation"]["rooms"]} == {"mcu-tinh-1", "mcu-tinh-2"}
    assert len(view["allocation"]["rooms"]) == 30


def test_the_listing_names_the_chair_and_the_moved_rooms_as_the_detail_does(
    cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """``sessions list`` loads only the rooms its views name (not the whole fleet): the chair
    and the rooms moved off their home bridge still come with their names."""
    data = small_fleet(cli, tmp_path)
    args = ("--start", f"{MONDAY} 08:00", "--duration", "1h", "--with", "all", "--chair", "b1")
    session_id = booked_id(cli("book", "Họp thử", *args, data=data).out)
    listed: Any = cli("sessions", "list", "--from", MONDAY, "--json", data=data).json()
    detail: Any = cli("sessions", "show", session_id, "--json", data=data).json()
    assert [s["id"] for s in listed] == [session_id]
    assert listed[0]["chair_name"] == "Phòng Bê 1"
    moved = listed[0]["allocation"]["moved"]
    assert len(moved) == 2 and all(m["endpoint_name"].startswith("Phòng Á ") for m in moved)
    assert moved == detail["allocation"]["moved"]
