"""The merged province of 2025 (two tiers, no districts) through the core flows: import, book
every room over three bridges, invites and feeds, metrics, the console's grouping, the demo."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from confsched_tui.fleetview import group_endpoints
from prometheus_client import generate_latest

from confsched.calendar.text import description, location
from confsched.demo import demo_rooms, seed_sessions
from confsched.domain.model import Fleet
from confsched.metrics.families import FamiliesCollector, ScrapeInput, build_families
from confsched.services.booking import book, parse_request
from confsched.services.inventory import endpoint_view, import_fleet, require_fleet
from confsched.store.db import open_db
from tests.conftest import TWO_TIER
from tests.fakes.metrics_synthetic import fill_board

NOW = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def tn_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = open_db(tmp_path / "data")
    import_fleet(db, TWO_TIER)
    yield db
    db.close()


def test_the_merged_province_has_92_communes_and_wards_under_the_province(
    two_tier_fleet: Fleet,
) -> None:
    fleet = two_tier_fleet
    communes = [s for s in fleet.sites.values() if s.level == "commune"]
    assert len(communes) == 92 and {s.parent for s in communes} == {"tinh"}
    assert "Phường Phan Đình Phùng" in {s.name for s in communes}
    assert "Xã Chợ Đồn" in {s.name for s in communes}
    assert {e.area for e in fleet.endpoints.values()} == {None}
    ports = sorted((b.ports for b in fleet.bridges.values()), reverse=True)
    assert ports[0] + ports[1] - 2 < len(fleet.endpoints) <= sum(ports) - 2 * (len(ports) - 1)


def test_rooms_import_and_list_show_no_district(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "tn"
    assert cli("rooms", "import", str(TWO_TIER), data=data).code == 0
    rooms = cli("rooms", "list", "--with", "level:commune", "--json", data=data).json()
    assert len(rooms) == 92 and {r["area"] for r in rooms} == {None}
    refused = cli("rooms", "list", "--with", "district:tinh", data=data)
    assert refused.code == 1 and "no level 'district' in this fleet" in refused.err


def test_a_session_of_every_room_cascades_over_three_bridges(tn_db) -> None:  # type: ignore[no-untyped-def]
    fleet = require_fleet(tn_db)
    request = parse_request(
        fleet, title="Hội nghị toàn tỉnh", with_="all", start="2026-12-07 08:00", duration="2h"
    )
    session = book(tn_db, fleet, request, now=NOW)
    assert len(session.endpoints) == 97
    assert {b for b, rooms in session.allocation.by_bridge.items() if rooms} == set(fleet.bridges)
    assert len(session.allocation.links) == 2
    tz = ZoneInfo(fleet.timezone)
    text = description(fleet, session, session.start, tz, invited=True)
    assert "Cấp tỉnh (5)" in text and "Cấp xã (92)" in text
    assert "huyện" not in text.lower() and "Huyện" not in location(fleet, session)
    lean = description(fleet, session, session.start, tz)
    assert "Các điểm cầu (97): Cấp tỉnh 5, Cấp xã 92" in lean
    for endpoint_id in session.endpoints:  # every room is told the one bridge it dials
        own = description(fleet, session, session.start, tz, rooms=[endpoint_id])
        dialled = fleet.bridges[session.allocation.bridge_of(endpoint_id) or ""]
        assert own.count("sip:") == 1 and dialled.dial_in in own, endpoint_id


def test_metrics_give_no_room_an_area_and_name_no_district(two_tier_fleet: Fleet) -> None:
    board = fill_board(two_tier_fleet, NOW, random.Random(3), silent=0.1)
    inp = ScrapeInput(now=NOW.timestamp(), fleet=two_tier_fleet, health=board.entries())
    text = generate_latest(FamiliesCollector(build_families(inp))).decode()
    assert "district" not in text
    info = [line for line in text.splitlines() if line.startswith("confsched_endpoint_info{")]
    assert len(info) == 97 and all('area=""' in line for line in info)


def test_the_console_groups_every_room_in_one_province_band(two_tier_fleet: Fleet) -> None:
    views = [endpoint_view(two_tier_fleet, e) for e in two_tier_fleet.endpoints]
    groups = group_endpoints(views, {}, list(two_tier_fleet.levels))
    assert [g.label for g in groups] == ["Province"]
    assert [t.label for t in groups[0].tiles[:2]] == ["Tỉnh ủy", "UBND tỉnh"]
    assert "Phan Đình Phùng" in {t.label for t in groups[0].tiles}


def test_demo_seeds_its_sessions_from_the_tree(tn_db) -> None:  # type: ignore[no-untyped-def]
    fleet = require_fleet(tn_db)
    assert len(seed_sessions(tn_db, fleet, NOW)) == 3


def test_demo_finds_the_shipped_example_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    found = demo_rooms(Path("examples/thai-nguyen-2025.yaml"))
    assert found.is_file() and found.read_bytes() == TWO_TIER.read_bytes()
