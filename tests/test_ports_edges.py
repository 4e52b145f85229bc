"""Bridge ports at the edges the property tests do not reach by chance: the ports a conflict
names, a bridge missing from the free map or fully booked, loads listed out of time order, a
cascade bridge left with nobody, more bridges than the exact search takes, and small cascades
where each of the plan's counts decides the answer. Each case is one a mutation of
``confsched/domain/ports.py`` survived before (found by comparing the mutant with the code on
4,000 random instances, then written down by hand)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confsched.domain.model import Bridge, PortAllocation
from confsched.domain.ports import (
    Load,
    Participant,
    allocate,
    fits,
    free_ports,
    peak_usage,
    ports_needed,
)

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)


def fleet(free: dict[str, int]) -> dict[str, Bridge]:
    return {b: Bridge(b, f"Bridge {b}", 40) for b in free}


def homed(*homes: str | None) -> list[Participant]:
    return [Participant(f"e{i}", home) for i, home in enumerate(homes)]


def placed(allocation: PortAllocation) -> list[str]:
    return sorted(e for members in allocation.by_bridge.values() for e in members)


@pytest.mark.parametrize(
    ("participants", "capacities", "needed"),
    [
        (5, [10], (5, 1)),
        (2, [10], (2, 1)),
        (12, [8, 6, 6], (14, 2)),  # one link: 12 + 2 fits 8 + 6 exactly
        (12, [2, 8, 8], (14, 2)),  # the roomiest bridges first, whatever their order
        (30, [8, 6, 6], (34, 3)),  # fits nowhere: every bridge and its links
        (30, [8], (30, 1)),
        (5, [], (5, 0)),
    ],
)
def test_ports_needed_counts_participants_and_links(
    participants: int, capacities: list[int], needed: tuple[int, int]
) -> None:
    assert ports_needed(participants, capacities) == needed


def test_an_allocation_on_a_bridge_without_free_ports_does_not_fit() -> None:
    assert not fits(PortAllocation({"b9": ("e1",)}), {})
    assert not fits(PortAllocation({"b1": ("e1", "e2")}), {"b1": 1})
    assert fits(PortAllocation({"b1": ("e1", "e2")}), {"b1": 2})


def test_a_fully_or_over_booked_bridge_has_no_free_port() -> None:
    bridges = {"b1": Bridge("b1", "B1", 4), "b2": Bridge("b2", "B2", 4)}
    loads = [Load(T0, T0 + H, {"b1": 4, "b2": 6})]
    assert free_ports(bridges, loads, T0, T0 + H) == {"b1": 0, "b2": 0}


def test_loads_listed_out_of_time_order_are_all_counted() -> None:
    loads = [
        Load(T0 - 3 * H, T0 - 2 * H, {"b1": 9}),  # before the window: not counted, not the end
        Load(T0, T0 + H, {"b1": 2}),
    ]
    assert peak_usage(loads, T0, T0 + H) == {"b1": 2}


def test_a_load_starting_as_another_ends_is_not_added_to_it_in_any_listing_order() -> None:
    later = Load(T0 + H, T0 + 2 * H, {"b1": 3})
    earlier = Load(T0, T0 + H, {"b1": 2})
    assert peak_usage([later, earlier], T0, T0 + 2 * H) == {"b1": 3}
    assert peak_usage([earlier, later], T0, T0 + 2 * H) == {"b1": 3}


def test_a_cascade_bridge_nobody_calls_home_still_gets_a_room() -> None:
    """Three bridges of 3 free ports, each home to two rooms, cannot join without a hub: the
    hub (10 free, home to nobody) links all three, each keeps both its rooms, and one room moves
    to the hub (a bridge with nobody on it is a link wasted)."""
    free = {"a": 3, "b": 3, "d": 3, "hub": 10}
    allocation = allocate(homed("a", "a", "b", "b", "d", "d"), fleet(free), free)
    assert allocation is not None
    assert placed(allocation) == [f"e{i}" for i in range(6)]
    assert all(len(allocation.by_bridge[b]) >= 1 for b in free)
    assert len(allocation.by_bridge["hub"]) == 1 and len(allocation.moved) == 1
    assert len(allocation.links) == 3 and fits(allocation, free)


def test_a_bridge_keeping_two_home_rooms_is_used_beyond_the_exact_search() -> None:
    """Eight bridges of 2 free ports with one home room each fill the exact search; the last
    bridge, home to two rooms with 3 free ports, is in every best set and must not be cut. (The
    room from elsewhere goes to the hub, which holds the links.)"""
    free = {"hub": 30, **{f"d{i}": 2 for i in range(8)}, "x": 3}
    allocation = allocate(homed(*(f"d{i}" for i in range(8)), "x", "x", None), fleet(free), free)
    assert allocation is not None
    assert allocation.moved == {} and allocation.by_bridge["hub"] == ("e10",)
    assert sorted(allocation.by_bridge["x"]) == ["e8", "e9"]


@pytest.mark.parametrize(
    ("free", "homes", "moved", "links"),
    [
        # two rooms, each home on its own bridge of 2 ports: one link keeps both at home
        ({"a": 2, "b": 2}, ("a", "b"), 0, 1),
        # a room from elsewhere fills the middle bridge, so no bridge takes a home room
        ({"b0": 2, "b1": 4, "b2": 2}, ("b0", "zz", "b2"), 0, 2),
        # a room whose home has no port moves; the rest stay together on one bridge
        ({"b0": 0, "b1": 7, "b2": 8, "b3": 3, "b4": 0, "b5": 2}, ("b1", "b1", "b1", "b4"), 1, 0),
    ],
)
def test_small_cascades_move_the_fewest_rooms_then_use_the_fewest_links(
    free: dict[str, int], homes: tuple[str, ...], moved: int, links: int
) -> None:
    allocation = allocate(homed(*homes), fleet(free), free)
    assert allocation is not None and fits(allocation, free)
    assert (len(allocation.moved), len(allocation.links)) == (moved, links)
    assert placed(allocation) == [f"e{i}" for i in range(len(homes))]


def test_a_bridge_the_free_map_leaves_out_has_no_free_port() -> None:
    free = {"a": 5}
    allocation = allocate(homed("b", "b", None), fleet({"a": 5, "b": 5}), free)
    assert allocation is not None
    assert allocation.by_bridge == {"a": ("e0", "e1", "e2")}
    assert allocation.moved == {"e0": "b", "e1": "b"}


def test_a_hub_that_would_stand_empty_is_counted_as_taking_a_home_room() -> None:
    """Linking all four needs the hub, which must hold someone: that moves a room as surely as
    leaving the small bridge out, which costs a link less."""
    free = {"a": 3, "b": 3, "d": 2, "hub": 10}
    allocation = allocate(homed("a", "a", "b", "b", "d"), fleet(free), free)
    assert allocation is not None
    assert (len(allocation.moved), len(allocation.links)) == (1, 2)
