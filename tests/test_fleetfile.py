"""The fleet file: the sample province, and every refusal naming its line, storing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from confsched.domain.model import Fleet
from confsched.domain.selectors import expand_selectors
from confsched.errors import FleetInvalid, InvalidInput
from confsched.fleetfile import parse_fleet_text
from confsched.services.inventory import import_fleet
from confsched.store.db import open_db
from confsched.store.inventory import load_fleet

GOOD = """\
fleet:
  name: Tỉnh Thử
  timezone: Asia/Ho_Chi_Minh
bridges:
  - {id: mcu-1, name: MCU 1, ports: 10}
agencies:
  - {id: ubnd, name: Ủy ban nhân dân}
sites:
  - {id: tinh, name: Tỉnh, level: province}
  - {id: h-a, name: Huyện A, level: district}
  - {id: x-b, name: Xã Bình, level: commune, district: h-a}
endpoints:
  - {id: ep-tinh, name: Phòng họp tỉnh, site: tinh, agency: ubnd, bridge: mcu-1}
  - {id: ep-b, name: Phòng họp xã Bình, site: x-b, agency: ubnd, tags: [vung-cao]}
"""


def test_sample_province_has_192_endpoints_by_level(sample_fleet: Fleet) -> None:
    levels = [e.level for e in sample_fleet.endpoints.values()]
    assert len(levels) == 192
    assert levels.count("province") == 5
    assert levels.count("district") == 9
    assert levels.count("commune") == 178
    assert sample_fleet.levels == ("province", "district", "commune")
    assert sample_fleet.timezone == "Asia/Ho_Chi_Minh"


def test_sample_districts_carry_their_real_names(sample_fleet: Fleet) -> None:
    names = " ".join(s.name for s in sample_fleet.sites.values() if s.level == "district")
    for district in (
        "Thái Nguyên",
        "Sông Công",
        "Phổ Yên",
        "Định Hóa",
        "Phú Lương",
        "Đồng Hỷ",
        "Võ Nhai",
        "Đại Từ",
        "Phú Bình",
    ):
        assert district in names


def test_sample_bridges_force_a_province_session_to_cascade(sample_fleet: Fleet) -> None:
    ports = [b.ports for b in sample_fleet.bridges.values()]
    assert len(ports) >= 2
    assert max(ports) < 192 <= sum(ports) - 2 * (len(ports) - 1)


def test_selectors_expand_groups_without_duplicates(sample_fleet: Fleet) -> None:
    district = expand_selectors(sample_fleet, ["district:h-dai-tu"])
    assert district[0] == "h-dai-tu" and len(district) == 1 + 29
    assert len(expand_selectors(sample_fleet, ["all", "level:commune", "tinh-uy"])) == 192
    assert len(expand_selectors(sample_fleet, ["level:province"])) == 5
    assert expand_selectors(sample_fleet, ["tag:lanh-dao", "tinh-uy"]) == expand_selectors(
        sample_fleet, ["level:province"]
    )


@pytest.mark.parametrize(
    "selector", ["district:nowhere", "tag:none", "no-such-room", "level:planet", "colour:red"]
)
def test_selector_that_matches_nothing_is_refused_by_name(
    sample_fleet: Fleet, selector: str
) -> None:
    with pytest.raises(InvalidInput, match=selector.split(":")[0]):
        expand_selectors(sample_fleet, [selector])


def test_small_fleet_parses_with_derived_areas() -> None:
    fleet = parse_fleet_text(GOOD, "f.yaml")
    assert fleet.endpoints["ep-b"].area == "h-a"
    assert fleet.endpoints["ep-tinh"].area is None
    assert fleet.sites["h-a"].parent == "tinh"  # no parent written: under the province
    assert fleet.endpoints["ep-b"].tags == ("vung-cao",)


BROKEN = [
    # (what, replacement of a GOOD line or extra text, expected line, expected message part)
    (
        "unknown key",
        (
            "  - {id: mcu-1, name: MCU 1, ports: 10}",
            "  - {id: mcu-1, name: MCU 1, ports: 10, colour: red}",
        ),
        5,
        "unknown key 'colour'",
    ),
    (
        "duplicate endpoint id",
        ("  - {id: ep-b, name", "  - {id: ep-tinh, name"),
        14,
        "duplicate endpoint id 'ep-tinh'",
    ),
    ("dangling agency", ("agency: ubnd, tags", "agency: nobody, tags"), 14, "agency 'nobody'"),
    ("dangling site", ("site: tinh, agency", "site: atlantis, agency"), 13, "site 'atlantis'"),
    ("dangling bridge", ("bridge: mcu-1}", "bridge: mcu-9}"), 13, "bridge 'mcu-9'"),
    ("bridge without ports", (", ports: 10}", "}"), 5, "missing key 'ports'"),
    ("bridge with zero ports", ("ports: 10", "ports: 0"), 5, "ports must be from 1 to 100,000"),
    ("bad timezone", ("Asia/Ho_Chi_Minh", "Asia/Hanoi_City"), 3, "unknown timezone"),
    ("wrong type", ("ports: 10", "ports: many"), 5, "ports must be a whole number"),
    ("unknown parent", ("district: h-a}", "district: h-z}"), 11, "parent 'h-z' is not a known"),
    (
        "commune under a commune",
        ("level: district}", "level: commune}"),
        11,
        "'x-b' (commune) cannot hang under 'h-a' (commune)",
    ),
    ("bad level", ("level: province", "level: kingdom"), 9, "level 'kingdom' is not declared"),
    ("id not a slug", ("{id: ep-b,", "{id: Ep B,"), 14, "must be a slug"),
    (
        "YAML syntax",
        ("  - {id: ubnd, name: Ủy ban nhân dân}", "  - {id: ubnd, name: [oops}"),
        7,
        "YAML syntax",
    ),
    (
        "duplicate key",
        ("  timezone: Asia/Ho_Chi_Minh", "  timezone: Asia/Ho_Chi_Minh\n  name: Again"),
        4,
        "duplicate key 'name'",
    ),
    ("unknown section", ("agencies:", "agencys:"), 6, "unknown section 'agencys'"),
]


@pytest.mark.parametrize(("what", "change", "line", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_fleet_file_names_the_line_and_stores_nothing(
    tmp_path: Path, what: str, change: tuple[str, str], line: int, message: str
) -> None:
    data = tmp_path / "data"
    db = open_db(data)
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    import_fleet(db, good)
    before = load_fleet(db)
    old, new = change
    assert old in GOOD, what
    broken = tmp_path / "broken.yaml"
    broken.write_text(GOOD.replace(old, new, 1), encoding="utf-8")

    with pytest.raises(FleetInvalid) as refused:
        import_fleet(db, broken)

    located = [str(p) for p in refused.value.problems]
    assert any(p.startswith(f"{broken}:{line}: ") and message in p for p in located), located
    assert load_fleet(db) == before


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = GOOD.replace("ports: 10", "ports: -1").replace("agency: ubnd, tags", "agency: x, tags")
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(text, "f.yaml")
    assert [p.line for p in refused.value.problems] == [5, 14]


def test_missing_file_and_empty_file_are_refused(tmp_path: Path) -> None:
    from confsched.fleetfile import load_fleet_file

    with pytest.raises(FleetInvalid, match="no such file"):
        load_fleet_file(tmp_path / "absent.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(FleetInvalid, match="empty"):
        load_fleet_file(empty)
