"""A series whose bridges are free at different sittings: one allocation where it fits, its own
where not, and a refusal naming the sitting that fits nowhere; pure, in the booking engine
(``decide`` and ``with_allocations``), with the loads handed in as the store would."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from confsched.domain.booking import decide, materialise, series_end, with_allocations
from confsched.domain.conflicts import PortsConflict
from confsched.domain.model import Occurrence, PortAllocation, Session
from confsched.domain.ports import Load
from confsched.fleetfile import parse_fleet_text

FLEET = parse_fleet_text(
    """\
fleet: {name: Xã Thử, timezone: Asia/Ho_Chi_Minh}
bridges:
  - {id: mcu-a, ports: 3}
  - {id: mcu-b, ports: 3}
agencies: [{id: ubnd, name: UBND}]
sites: [{id: tinh, name: Tỉnh, level: province}]
endpoints:
  - {id: a1, name: A1, site: tinh, agency: ubnd, bridge: mcu-a}
  - {id: a2, name: A2, site: tinh, agency: ubnd, bridge: mcu-a}
""",
    "small",
)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
WEEK = timedelta(weeks=1)
SETUP = timedelta(minutes=15)
SERIES = Session(
    "s1", "Giao ban", "ubnd", "a1", ("a1", "a2"), ("a1", "a2"), T0, T0 + timedelta(hours=1),
    SETUP, rrule="FREQ=WEEKLY;COUNT=3",
)  # fmt: skip


def busy(bridge: str, ports: int, week: int) -> Load:
    start = T0 + week * WEEK
    return Load(start - SETUP, start + timedelta(hours=1), {bridge: ports}, "other", start)


def test_each_sitting_gets_the_bridge_free_at_its_time_when_none_is_free_at_all() -> None:
    sittings = materialise(SERIES, TZ, None, T0 + 4 * WEEK)
    loads = {  # mcu-a full in week 1, mcu-b full in week 0 and 2
        sittings[0].recurrence_id: [busy("mcu-b", 3, 0)],
        sittings[1].recurrence_id: [busy("mcu-a", 3, 1)],
        sittings[2].recurrence_id: [busy("mcu-b", 3, 2)],
    }
    decision = decide(FLEET, SERIES, sittings, {}, loads)
    assert decision.ok
    assert decision.allocation == PortAllocation({"mcu-a": ("a1", "a2")})
    moved = PortAllocation({"mcu-b": ("a1", "a2")}, moved={"a1": "mcu-a", "a2": "mcu-a"})
    assert decision.overrides == {sittings[1].recurrence_id: moved}  # off home, and says so
    placed = with_allocations(sittings, decision)
    assert [o.allocation for o in placed] == [
        None,
        decision.overrides[placed[1].recurrence_id],
        None,
    ]
    assert [o.start for o in placed] == [o.start for o in sittings]


def test_a_sitting_that_fits_on_no_bridge_is_named_with_what_is_free() -> None:
    sittings = materialise(SERIES, TZ, None, T0 + 4 * WEEK)
    full = sittings[2].recurrence_id
    loads = {full: [busy("mcu-a", 2, 2), busy("mcu-b", 2, 2)]}
    decision = decide(FLEET, SERIES, sittings, {}, loads)
    assert decision.allocation is None and decision.overrides == {}
    (conflict,) = decision.conflicts
    assert isinstance(conflict, PortsConflict)
    assert (conflict.needed, conflict.free, conflict.start) == (2, 2, sittings[2].start)
    assert conflict.free_by_bridge == {"mcu-a": 1, "mcu-b": 1}


def test_a_preferred_allocation_is_kept_where_it_still_fits() -> None:
    sittings = materialise(SERIES, TZ, None, T0 + 4 * WEEK)
    on_b = PortAllocation({"mcu-b": ("a1", "a2")}, moved={"a1": "mcu-a", "a2": "mcu-a"})
    assert decide(FLEET, SERIES, sittings, {}, {}, on_b).allocation == on_b
    assert decide(FLEET, SERIES, sittings, {}, {}).allocation == PortAllocation(
        {"mcu-a": ("a1", "a2")}
    )
    nothing_live = [Occurrence("s1", T0, T0, T0 + timedelta(hours=1), cancelled=True)]
    assert decide(FLEET, SERIES, nothing_live, {}, {}, on_b).allocation == on_b
    assert decide(FLEET, SERIES, nothing_live, {}, {}).allocation == PortAllocation({})


def test_sittings_in_a_window_and_the_end_of_a_series() -> None:
    sittings = materialise(SERIES, TZ, T0 + WEEK, T0 + 4 * WEEK)
    assert [o.start for o in sittings] == [T0 + WEEK, T0 + 2 * WEEK]
    assert all(o.end - o.start == timedelta(hours=1) and o.setup == SETUP for o in sittings)
    numbered = replace(SERIES, sequence=4)
    assert {o.sequence for o in materialise(numbered, TZ, None, T0 + WEEK)} == {4}
    assert series_end(SERIES, TZ) == T0 + 2 * WEEK + timedelta(hours=1)
    endless = replace(SERIES, rrule="FREQ=WEEKLY")
    assert series_end(endless, TZ) is None
    once = replace(SERIES, rrule=None)
    assert series_end(once, TZ) == once.end
    assert [o.start for o in materialise(once, TZ, None, T0 + WEEK)] == [T0]
    assert materialise(once, TZ, None, T0) == []
