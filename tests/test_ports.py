"""Bridge port allocation: fewest bridges, home bridges, cascade link costs, never over-full."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from confsched.domain.model import Bridge, Fleet
from confsched.domain.ports import (
    Load,
    Participant,
    allocate,
    fits,
    free_ports,
    peak_usage,
    ports_needed,
    usage,
)
from tests.test_booking_properties import best_cascade, cascade_fits

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)


def bridges(*ports: int) -> dict[str, Bridge]:
    return {f"b{i}": Bridge(f"b{i}", f"Bridge {i}", p) for i, p in enumerate(ports, 1)}


def people(n: int, home: str | None = None) -> list[Participant]:
    return [Participant(f"e{i}", home) for i in range(n)]


def test_whole_sample_province_cascades_across_both_bridges_home_bridges_kept(
    sample_fleet: Fleet,
) -> None:
    participants = [Participant(e.id, e.bridge) for e in sample_fleet.endpoints.values()]
    free = {b.id: b.ports for b in sample_fleet.bridges.values()}
    allocation = allocate(participants, sample_fleet.bridges, free)
    assert allocation is not None
    assert allocation.links == (("mcu-tinh-1", "mcu-tinh-2"),)
    assert usage(allocation) == {"mcu-tinh-1": 114, "mcu-tinh-2": 80}
    for bridge, members in allocation.by_bridge.items():
        assert all(sample_fleet.endpoints[e].bridge == bridge for e in members)


def test_rooms_of_two_home_bridges_cascade_rather_than_move() -> None:
    participants = [Participant("a", "b1"), Participant("b", "b2"), Participant("c", "b2")]
    allocation = allocate(participants, bridges(10, 10), {"b1": 10, "b2": 10})
    assert allocation is not None
    assert allocation.links == (("b1", "b2"),)
    assert allocation.by_bridge == {"b1": ("a",), "b2": ("b", "c")}


def test_a_room_moves_when_its_home_bridge_has_no_port_left_for_the_link() -> None:
    participants = [*people(5, "b1"), Participant("x", "b2")]
    allocation = allocate(participants, bridges(10, 10), {"b1": 10, "b2": 1})
    assert allocation is not None
    assert allocation.by_bridge == {"b1": ("e0", "e1", "e2", "e3", "e4", "x")}
    assert allocation.moved == {"x": "b2"}


def test_one_bridge_when_everyone_is_at_home_there() -> None:
    allocation = allocate(people(4, "b2"), bridges(10, 10), {"b1": 10, "b2": 10})
    assert allocation is not None
    assert allocation.by_bridge == {"b2": ("e0", "e1", "e2", "e3")}
    assert allocation.links == ()


def test_city_session_keeps_every_room_at_home_across_six_bridges() -> None:
    participants = [Participant(f"r{i}", f"b{i % 6 + 1}") for i in range(192)]
    pool = bridges(*[120] * 6)
    allocation = allocate(participants, pool, {b: 120 for b in pool})
    assert allocation is not None
    assert list(allocation.moved) == []
    assert len(allocation.links) == 5


def test_link_ports_go_where_they_cost_no_home_room() -> None:
    # b1 is full of its own rooms; the hub of the three-bridge star must be b2 or b3.
    participants = [*people(6, "b1"), Participant("x", "b2"), Participant("y", "b3")]
    allocation = allocate(participants, bridges(7, 4, 4), {"b1": 7, "b2": 4, "b3": 4})
    assert allocation is not None
    assert list(allocation.moved) == []
    assert usage(allocation)["b1"] == 7
    assert allocation.ports_used("b1") - len(allocation.by_bridge["b1"]) == 1


def test_cascade_link_costs_a_port_on_each_side() -> None:
    # 10 participants on bridges of 6 and 6: 10 + 2 link ports = 12 fits exactly.
    allocation = allocate(people(10), bridges(6, 6), {"b1": 6, "b2": 6})
    assert allocation is not None
    assert usage(allocation) == {"b1": 6, "b2": 6}
    assert sum(len(m) for m in allocation.by_bridge.values()) == 10
    # 11 would need 13 ports: refused.
    assert allocate(people(11), bridges(6, 6), {"b1": 6, "b2": 6}) is None


def test_three_bridges_form_a_star_around_the_largest() -> None:
    allocation = allocate(people(20), bridges(8, 10, 8), {"b1": 8, "b2": 10, "b3": 8})
    assert allocation is not None
    assert set(allocation.links) == {("b2", "b1"), ("b2", "b3")}
    assert sum(usage(allocation).values()) == 20 + 4


def test_equal_small_bridges_chain_when_no_star_fits() -> None:
    # Four bridges of 3 free ports: a star's hub would need 3 link ports; a chain holds 6.
    allocation = allocate(people(6), bridges(3, 3, 3, 3), {"b1": 3, "b2": 3, "b3": 3, "b4": 3})
    assert allocation is not None
    assert len(allocation.links) == 3
    assert usage(allocation) == {"b1": 3, "b2": 3, "b3": 3, "b4": 3}


def test_home_bridges_preferred_over_fewer_bridges() -> None:
    participants = people(3, "b1") + [Participant(f"f{i}", "b2") for i in range(3)]
    allocation = allocate(participants, bridges(4, 10), {"b1": 4, "b2": 10})
    assert allocation is not None
    assert list(allocation.by_bridge) == ["b1", "b2"]
    assert list(allocation.moved) == []


def test_overflow_moves_the_fewest_rooms() -> None:
    # 8 rooms at home on b1, which has 5 ports: 4 stay (one port is the link), 4 move to b2.
    allocation = allocate(people(8, "b1"), bridges(5, 10), {"b1": 5, "b2": 10})
    assert allocation is not None
    assert len(allocation.moved) == 4
    assert set(allocation.moved.values()) == {"b1"}


def test_busy_ports_are_respected() -> None:
    assert allocate(people(5), bridges(10), {"b1": 4}) is None
    assert allocate(people(4), bridges(10), {"b1": 4}) is not None


def test_peak_usage_counts_only_overlapping_instants() -> None:
    loads = [
        Load(T0, T0 + 2 * H, {"b1": 5}),
        Load(T0 + 2 * H, T0 + 3 * H, {"b1": 7}),  # touches the first: never together
        Load(T0 + H, T0 + 4 * H, {"b1": 1, "b2": 2}),
        Load(T0 + 5 * H, T0 + 6 * H, {"b1": 50}),  # outside the window
    ]
    assert peak_usage(loads, T0, T0 + 4 * H) == {"b1": 8, "b2": 2}
    assert free_ports(bridges(10, 10), loads, T0, T0 + 4 * H) == {"b1": 2, "b2": 8}


def test_ports_needed_for_reporting() -> None:
    assert ports_needed(192, [120, 96]) == (194, 2)
    assert ports_needed(30, [120, 96]) == (30, 1)


@settings(max_examples=150, deadline=None)
@given(
    capacities=st.lists(st.integers(1, 12), min_size=1, max_size=5),
    homes=st.lists(st.integers(0, 4), min_size=1, max_size=30),
    busy=st.lists(st.integers(0, 12), min_size=5, max_size=5),
)
def test_allocation_places_everyone_once_and_never_overfills(
    capacities: list[int], homes: list[int], busy: list[int]
) -> None:
    pool = bridges(*capacities)
    free = {b: max(0, pool[b].ports - used) for b, used in zip(pool, busy, strict=False)}
    participants = [Participant(f"e{i}", f"b{h}" if h else None) for i, h in enumerate(homes)]
    allocation = allocate(participants, pool, free)
    if allocation is None:
        assert not cascade_fits(len(participants), list(free.values()))
        return
    placed = [e for members in allocation.by_bridge.values() for e in members]
    assert sorted(placed) == sorted(p.endpoint for p in participants)
    assert fits(allocation, free)
    assert all(allocation.by_bridge.values())  # no bridge in the cascade without a participant
    assert len(allocation.links) == len(allocation.by_bridge) - 1
    assert _connected(allocation.links, set(allocation.by_bridge))


@settings(max_examples=200, deadline=None)
@given(
    capacities=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    homes=st.lists(st.integers(0, 4), min_size=1, max_size=6),
    busy=st.lists(st.integers(0, 6), min_size=4, max_size=4),
)
def test_allocation_moves_no_more_rooms_and_uses_no_more_links_than_brute_force(
    capacities: list[int], homes: list[int], busy: list[int]
) -> None:
    pool = bridges(*capacities)
    free = {b: max(0, pool[b].ports - used) for b, used in zip(pool, busy, strict=False)}
    participants = [Participant(f"e{i}", f"b{h}" if h else None) for i, h in enumerate(homes)]
    allocation = allocate(participants, pool, free)
    best = best_cascade([p.home for p in participants], free)
    if allocation is None:
        assert best is None
        return
    assert fits(allocation, free)
    home_of = dict(participants)
    placed = {e: b for b, members in allocation.by_bridge.items() for e in members}
    off_home = {e: h for e, b in placed.items() if (h := home_of[e]) in pool and h != b}
    assert allocation.moved == off_home
    assert (len(allocation.moved), len(allocation.links)) == best


def _connected(links: tuple[tuple[str, str], ...], nodes: set[str]) -> bool:
    reached = {next(iter(nodes))}
    for _ in nodes:
        reached |= {b for a, b in links if a in reached} | {a for a, b in links if b in reached}
    return reached == nodes
