"""The impact of a re-imported fleet file on booked sittings: pure, over plain data."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from confsched.domain.fleet_impact import Booked, BridgeShort, RoomRemoved, impact, project
from confsched.domain.model import Bridge, Fleet, PortAllocation
from confsched.domain.ports import usage
from confsched.fleetfile import parse_fleet_text

T0 = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)

FLEET = parse_fleet_text(
    """\
fleet: {name: Xã Thử, timezone: Asia/Ho_Chi_Minh}
bridges:
  - {id: mcu-a, name: MCU A, ports: 4}
  - {id: mcu-b, name: MCU B, ports: 10}
agencies:
  - {id: ubnd, name: Ủy ban nhân dân}
sites:
  - {id: tinh, name: Tỉnh Thử, level: province}
endpoints:
  - {id: a1, name: Phòng Á 1, site: tinh, agency: ubnd, kind: pc, bridge: mcu-a}
  - {id: a2, name: Phòng Á 2, site: tinh, agency: ubnd, kind: pc, bridge: mcu-a}
  - {id: a3, name: Phòng Á 3, site: tinh, agency: ubnd, kind: pc, bridge: mcu-a}
  - {id: b1, name: Phòng Bê 1, site: tinh, agency: ubnd, kind: pc, bridge: mcu-b}
  - {id: b2, name: Phòng Bê 2, site: tinh, agency: ubnd, kind: pc, bridge: mcu-b}
""",
    "small",
)


def sitting(session: str, hour: int, allocation: PortAllocation, length: int = 1) -> Booked:
    start = T0 + timedelta(hours=hour)
    rooms = tuple(e for members in allocation.by_bridge.values() for e in members)
    return Booked(
        session,
        f"Họp {session}",
        start,
        start,
        start + timedelta(hours=length),
        start - timedelta(minutes=15),
        rooms,
        allocation,
    )


def with_bridge_ports(fleet: Fleet, bridge: str, ports: int) -> Fleet:
    bridges = dict(fleet.bridges)
    bridges[bridge] = replace(bridges[bridge], ports=ports)
    return replace(fleet, bridges=bridges)


HOME_A = PortAllocation({"mcu-a": ("a1", "a2")})
CASCADE = PortAllocation({"mcu-a": ("a1", "a2", "a3"), "mcu-b": ("b1",)}, (("mcu-a", "mcu-b"),))


def test_same_fleet_breaks_nothing() -> None:
    found = impact(FLEET, FLEET, [sitting("s1", 0, CASCADE), sitting("s2", 3, HOME_A)])
    assert found.affected == ()
    assert not found.refused
    assert found.projected == {}


def test_removed_booked_room_breaks_its_sitting() -> None:
    smaller = replace(FLEET, endpoints={k: v for k, v in FLEET.endpoints.items() if k != "a2"})
    found = impact(FLEET, smaller, [sitting("s1", 0, HOME_A), sitting("s2", 5, CASCADE)])
    assert [(a.booked.session_id, a.problems) for a in found.affected] == [
        ("s1", (RoomRemoved("a2"),)),
        ("s2", (RoomRemoved("a2"),)),
    ]
    assert found.refused


def test_shrunk_bridge_counts_every_session_at_the_same_instant() -> None:
    """Each sitting alone fits three ports; together they need five at 09:00."""
    alone = PortAllocation({"mcu-a": ("a1", "a2")})
    other = PortAllocation({"mcu-a": ("a3",), "mcu-b": ("b1",)}, (("mcu-a", "mcu-b"),))
    booked = [sitting("s1", 0, alone), sitting("s2", 0, other), sitting("s3", 3, alone)]
    found = impact(FLEET, with_bridge_ports(FLEET, "mcu-a", 3), booked)
    assert {a.booked.session_id for a in found.affected} == {"s1", "s2"}
    assert found.affected[0].problems == (BridgeShort("mcu-a", 4, 3),)


def test_sittings_that_do_not_overlap_do_not_add_up() -> None:
    booked = [sitting("s1", 0, CASCADE), sitting("s2", 2, CASCADE)]
    assert impact(FLEET, with_bridge_ports(FLEET, "mcu-a", 4), booked).affected == ()


def test_removed_bridge_breaks_what_is_booked_on_it() -> None:
    bridges = {"mcu-a": FLEET.bridges["mcu-a"]}
    endpoints = {k: replace(v, bridge="mcu-a") for k, v in FLEET.endpoints.items()}
    found = impact(
        FLEET,
        replace(FLEET, bridges=bridges, endpoints=endpoints),
        [sitting("s1", 0, PortAllocation({"mcu-b": ("b1", "b2")}))],
    )
    # b1 and b2 were at home on mcu-b: they follow their home to mcu-a, where two ports are free
    assert found.affected == ()
    assert found.projected is not None
    assert list(found.projected.values()) == [PortAllocation({"mcu-a": ("b1", "b2")})]


def test_removed_bridge_with_a_room_placed_off_home_breaks() -> None:
    placed = PortAllocation({"mcu-b": ("a1",)}, (), {"a1": "mcu-a"})
    smaller = replace(FLEET, bridges={"mcu-a": FLEET.bridges["mcu-a"]})
    found = impact(FLEET, smaller, [sitting("s1", 0, placed)])
    assert found.affected[0].problems == (BridgeShort("mcu-b", 1, 0),)


def test_rehomed_rooms_overfilling_their_new_bridge_break_the_sitting() -> None:
    rehomed = {
        k: replace(v, bridge="mcu-a") if k.startswith("b") else v
        for k, v in FLEET.endpoints.items()
    }
    found = impact(FLEET, replace(FLEET, endpoints=rehomed), [sitting("s1", 0, CASCADE)])
    # a1..a3 and b1 on mcu-a: four ports (the link to an empty mcu-b is dropped)
    assert found.affected == ()
    booked = [sitting("s1", 0, CASCADE), sitting("s2", 0, PortAllocation({"mcu-b": ("b2",)}))]
    found = impact(FLEET, replace(FLEET, endpoints=rehomed), booked)
    assert [a.booked.session_id for a in found.affected] == ["s1", "s2"]
    assert found.affected[0].problems == (BridgeShort("mcu-a", 5, 4),)


def test_a_room_at_home_follows_a_new_home_through_a_new_link() -> None:
    endpoints = dict(FLEET.endpoints)
    endpoints["a3"] = replace(endpoints["a3"], bridge="mcu-b")
    at_home = PortAllocation({"mcu-a": ("a1", "a2", "a3")})
    projected = project(at_home, FLEET, replace(FLEET, endpoints=endpoints))
    assert projected == PortAllocation(
        {"mcu-a": ("a1", "a2"), "mcu-b": ("a3",)}, (("mcu-a", "mcu-b"),)
    )


def test_known_broken_sittings_do_not_refuse_again() -> None:
    smaller = replace(FLEET, endpoints={k: v for k, v in FLEET.endpoints.items() if k != "a2"})
    known = replace(sitting("s1", 0, HOME_A), attention="room a2 is removed from the fleet")
    found = impact(FLEET, smaller, [known])
    assert len(found.affected) == 1
    assert not found.refused


# --- properties: against a brute force over every instant ---------------------------------


ROOMS = [f"r{i}" for i in range(6)]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Fleet, Fleet, list[Booked]]:
    names = ["x", "y", "z"]
    ports = {b: draw(st.integers(1, 6)) for b in names}
    homes = {r: draw(st.sampled_from(names)) for r in ROOMS}
    old = _fleet(ports, homes, set(ROOMS))
    booked = []
    for n in range(draw(st.integers(0, 5))):
        rooms = draw(st.lists(st.sampled_from(ROOMS), min_size=1, max_size=4, unique=True))
        by_bridge: dict[str, list[str]] = {}
        moved = {}
        for room in rooms:
            bridge = draw(st.sampled_from(names))
            by_bridge.setdefault(bridge, []).append(room)
            if bridge != homes[room]:
                moved[room] = homes[room]
        hosts = list(by_bridge)
        links = tuple((hosts[0], b) for b in hosts[1:])
        allocation = PortAllocation({b: tuple(m) for b, m in by_bridge.items()}, links, moved)
        booked.append(
            sitting(f"s{n}", draw(st.integers(0, 4)), allocation, draw(st.integers(1, 3)))
        )
    new_ports = {b: draw(st.integers(0, 7)) for b in names}
    new_ports = {b: p for b, p in new_ports.items() if p}
    new_homes = {r: draw(st.sampled_from([*names, homes[r]])) for r in ROOMS}
    kept = set(draw(st.lists(st.sampled_from(ROOMS), unique=True, min_size=3)))
    new_homes = {r: h if h in new_ports else None for r, h in new_homes.items()}
    return old, _fleet(new_ports, new_homes, kept), booked


def _fleet(ports: dict[str, int], homes: dict[str, str | None], rooms: set[str]) -> Fleet:
    endpoints = {
        r: replace(FLEET.endpoints["a1"], id=r, name=r, bridge=homes[r])
        for r in ROOMS
        if r in rooms
    }
    bridges = {b: Bridge(b, b, p) for b, p in ports.items()}
    return replace(FLEET, bridges=bridges, endpoints=endpoints)


def _brute_force(old: Fleet, new: Fleet, booked: list[Booked]) -> set[str]:
    uses = {b.session_id: usage(project(b.allocation, old, new)) for b in booked}
    broken = {b.session_id for b in booked if any(e not in new.endpoints for e in b.endpoints)}
    instants = {b.busy_from for b in booked}
    for b in booked:
        for t in instants:
            if not b.busy_from <= t < b.end:
                continue
            for bridge, mine in uses[b.session_id].items():
                total = sum(
                    uses[o.session_id].get(bridge, 0) for o in booked if o.busy_from <= t < o.end
                )
                capacity = new.bridges[bridge].ports if bridge in new.bridges else 0
                if mine and total > capacity:
                    broken.add(b.session_id)
    return broken


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_impact_names_exactly_the_sittings_a_brute_force_finds(
    scenario: tuple[Fleet, Fleet, list[Booked]],
) -> None:
    old, new, booked = scenario
    found = impact(old, new, booked)
    assert {a.booked.session_id for a in found.affected} == _brute_force(old, new, booked)
    assert found.refused == bool(found.affected)


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_projection_keeps_every_kept_room_once_and_drops_the_removed(
    scenario: tuple[Fleet, Fleet, list[Booked]],
) -> None:
    old, new, booked = scenario
    for b in booked:
        projected = project(b.allocation, old, new)
        placed = [e for members in projected.by_bridge.values() for e in members]
        assert sorted(placed) == sorted(e for e in b.endpoints if e in new.endpoints)
        for a, c in projected.links:
            assert a in projected.by_bridge or a in b.allocation.by_bridge
            assert c in projected.by_bridge or c in b.allocation.by_bridge


def touching(session: str, hour: int, allocation: PortAllocation) -> Booked:
    """A sitting with no setup time: the next one may begin the instant it ends."""
    return replace(sitting(session, hour, allocation), busy_from=T0 + timedelta(hours=hour))


def test_a_sitting_is_not_blamed_for_the_overfull_one_that_begins_as_it_ends() -> None:
    small = PortAllocation({"mcu-a": ("a1",)})
    big = PortAllocation({"mcu-a": ("a1", "a2", "a3")})
    two_ports = with_bridge_ports(FLEET, "mcu-a", 2)
    before_big = impact(FLEET, two_ports, [touching("s1", 0, small), touching("s2", 1, big)])
    assert [(a.booked.session_id, a.problems) for a in before_big.affected] == [
        ("s2", (BridgeShort("mcu-a", 3, 2),))
    ]
    after_big = impact(FLEET, two_ports, [touching("s1", 0, big), touching("s2", 1, small)])
    assert [(a.booked.session_id, a.problems) for a in after_big.affected] == [
        ("s1", (BridgeShort("mcu-a", 3, 2),))
    ]
