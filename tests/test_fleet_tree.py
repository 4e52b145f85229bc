"""The site tree: declared levels, parents (``district:`` still accepted), implicit parents, and
every refusal with its line; the selector language over the tree."""

from __future__ import annotations

import pytest

from confsched.domain.model import Fleet
from confsched.domain.selectors import expand_selectors, parse_selectors
from confsched.errors import FleetInvalid, InvalidInput
from confsched.fleetfile import parse_fleet_text

HEAD = """\
fleet:
  name: Tỉnh Thử
{levels}bridges:
  - {{id: mcu-1, name: MCU 1, ports: 10}}
agencies:
  - {{id: ubnd, name: Ủy ban nhân dân}}
sites:
"""

TWO_TIER = (
    HEAD.format(levels="  levels: [province, commune]\n")
    + """\
  - {id: tinh, name: Tỉnh Thử, level: province}
  - {id: phan-dinh-phung, name: Phường Phan Đình Phùng, level: commune}
  - {id: dai-phuc, name: Xã Đại Phúc, level: commune, parent: tinh}
endpoints:
  - {id: tinh-uy, name: Phòng họp Tỉnh ủy, site: tinh, agency: ubnd}
  - {id: pdp, name: Phòng họp phường Phan Đình Phùng, site: phan-dinh-phung, agency: ubnd}
  - {id: dp, name: Phòng họp xã Đại Phúc, site: dai-phuc, agency: ubnd, tags: [vung-cao]}
"""
)

CLUSTERS = (
    HEAD.format(levels="  levels: [province, cluster, commune]\n")
    + """\
  - {id: tinh, name: Tỉnh Thử, level: province}
  - {id: cum-bac, name: Cụm phía Bắc, level: cluster}
  - {id: xa-a, name: Xã A, level: commune, parent: cum-bac}
  - {id: xa-b, name: Xã B, level: commune}
endpoints:
  - {id: tinh-uy, name: Phòng họp Tỉnh ủy, site: tinh, agency: ubnd}
  - {id: cum, name: Phòng họp cụm phía Bắc, site: cum-bac, agency: ubnd}
  - {id: a, name: Phòng họp xã A, site: xa-a, agency: ubnd}
  - {id: b, name: Phòng họp xã B, site: xa-b, agency: ubnd}
"""
)


def test_communes_without_a_district_hang_under_the_province_and_have_no_area() -> None:
    fleet = parse_fleet_text(TWO_TIER, "tn.yaml")
    assert fleet.levels == ("province", "commune")
    assert fleet.sites["phan-dinh-phung"].parent == "tinh"
    assert {e.area for e in fleet.endpoints.values()} == {None}
    assert expand_selectors(fleet, "level:commune") == ("pdp", "dp")


def test_a_three_level_tree_of_clusters_groups_rooms_by_their_cluster() -> None:
    fleet = parse_fleet_text(CLUSTERS, "c.yaml")
    areas = {e.id: e.area for e in fleet.endpoints.values()}
    assert areas == {"tinh-uy": None, "cum": "cum-bac", "a": "cum-bac", "b": None}
    assert expand_selectors(fleet, "under:cum-bac") == ("cum", "a")
    assert expand_selectors(fleet, "cluster:cum-bac") == ("cum", "a")
    assert expand_selectors(fleet, "under:tinh") == ("tinh-uy", "cum", "a", "b")


def test_district_key_is_still_read_as_the_parent(sample_fleet: Fleet) -> None:
    assert sample_fleet.sites["dt-hung-son"].parent == "h-dai-tu"
    assert sample_fleet.sites["h-dai-tu"].parent == "tinh"
    assert sample_fleet.endpoints["dt-hung-son"].area == "h-dai-tu"
    assert sample_fleet.endpoints["h-dai-tu"].area == "h-dai-tu"
    assert sample_fleet.endpoints["tinh-uy"].area is None


TREE_REFUSALS = [
    # (what, old, new, line, message)
    ("undeclared level", "level: commune}", "level: district}", 10, "level 'district' is not"),
    ("unknown parent", "parent: tinh}", "parent: nowhere}", 11, "parent 'nowhere' is not a known"),
    (
        "child above its parent",
        "name: Xã Đại Phúc, level: commune, parent: tinh}",
        "name: Xã Đại Phúc, level: commune, parent: phan-dinh-phung}",
        11,
        "'dai-phuc' (commune) cannot hang under 'phan-dinh-phung' (commune)",
    ),
    (
        "a province under its own commune",
        "level: province}",
        "level: province, parent: dai-phuc}",
        9,
        "sites form a cycle: tinh → dai-phuc → tinh",
    ),
    ("parent and district both", "parent: tinh}", "parent: tinh, district: tinh}", 11, "not both"),
    ("a level twice", "[province, commune]", "[province, commune, province]", 3, "declared twice"),
    ("a level named like a key", "[province, commune]", "[province, tag]", 3, "would clash"),
]


@pytest.mark.parametrize(
    ("what", "old", "new", "line", "message"), TREE_REFUSALS, ids=[r[0] for r in TREE_REFUSALS]
)
def test_a_broken_tree_is_refused_with_its_line(
    what: str, old: str, new: str, line: int, message: str
) -> None:
    assert old in TWO_TIER, what
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(TWO_TIER.replace(old, new, 1), "tn.yaml")
    located = [str(p) for p in refused.value.problems]
    assert any(p.startswith(f"tn.yaml:{line}: ") and message in p for p in located), located


def test_a_cycle_is_refused_once_naming_every_site_on_it() -> None:
    text = CLUSTERS.replace(
        "{id: cum-bac, name: Cụm phía Bắc, level: cluster}",
        "{id: cum-bac, name: Cụm phía Bắc, level: cluster, parent: xa-a}",
    )
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(text, "c.yaml")
    cycles = [str(p) for p in refused.value.problems if "cycle" in p.message]
    assert cycles == ["c.yaml:10: sites form a cycle: cum-bac → xa-a → cum-bac"]


def test_two_provinces_need_their_communes_to_say_which() -> None:
    text = TWO_TIER.replace(
        "  - {id: phan-dinh-phung",
        "  - {id: tinh-2, name: Tỉnh Hai, level: province}\n  - {id: phan-dinh-phung",
    )
    with pytest.raises(FleetInvalid, match=r"tn.yaml:11: site 'phan-dinh-phung' needs a 'parent:'"):
        parse_fleet_text(text, "tn.yaml")


SELECTOR_REFUSALS = [
    ("distrct:h-dai-tu", "unknown selector key 'distrct'"),
    ("level:cluster", "no level 'cluster' in this fleet"),
    ("under:atlantis", "no site 'atlantis'"),
    ("site:atlantis", "no site 'atlantis'"),
    ("agency:nobody", "no agency 'nobody'"),
    ("district:dt-hung-son", "site 'dt-hung-son' is a commune, not a district"),
    ("district:nowhere", "no district 'nowhere'"),
    ("no-such-room", "no endpoint 'no-such-room'"),
    ("tag:", "needs a key and a value"),
    ("tag:khong-co", "'tag:khong-co' matches no endpoint"),
]


@pytest.mark.parametrize(("text", "message"), SELECTOR_REFUSALS)
def test_a_selector_that_names_nothing_says_what_is_wrong(
    sample_fleet: Fleet, text: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        expand_selectors(sample_fleet, text)


def test_district_selector_is_refused_where_the_fleet_has_no_district_level() -> None:
    fleet = parse_fleet_text(TWO_TIER, "tn.yaml")
    with pytest.raises(InvalidInput, match="no level 'district' in this fleet"):
        expand_selectors(fleet, "district:tinh")
    with pytest.raises(InvalidInput, match="no level 'district' in this fleet"):
        expand_selectors(fleet, "level:district")


def test_under_a_district_is_the_district_selector(sample_fleet: Fleet) -> None:
    under = expand_selectors(sample_fleet, "under:h-dai-tu")
    assert under == expand_selectors(sample_fleet, "district:h-dai-tu")
    assert len(under) == 30 and under[0] == "h-dai-tu"
    assert expand_selectors(sample_fleet, "site:h-dai-tu") == ("h-dai-tu",)
    assert len(expand_selectors(sample_fleet, "under:tinh")) == 192


def test_selectors_parse_from_text_or_lists_alike() -> None:
    assert parse_selectors(" all , tag:x,,") == parse_selectors(["all", "tag:x"])
    assert [str(s) for s in parse_selectors("under:a,b")] == ["under:a", "b"]
