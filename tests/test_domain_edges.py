"""Edges of the slot walk, the selector messages and the series cut that the broader tests pass
over (each case kills a mutant that survived them, docs/mutation.md)."""

from __future__ import annotations

from datetime import UTC, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from confsched.domain.booking import cut_series
from confsched.domain.fleet_impact import BridgeShort, RoomRemoved, attention_text
from confsched.domain.model import Bridge, Fleet, PortAllocation, Session, WorkingHours
from confsched.domain.ports import allocate
from confsched.domain.selectors import expand_selectors
from confsched.domain.sitetree import areas
from confsched.domain.slots import find_slots
from confsched.errors import InvalidInput
from tests.conftest import local
from tests.test_slots import BRIDGES, always, query, shown

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_a_meeting_may_end_exactly_at_closing_time() -> None:
    found = find_slots(query("2026-12-07 15:45", duration=60, count=2), [], [], BRIDGES, always)
    assert [shown(s.start) for s in found] == ["Mon 2026-12-07 16:00", "Tue 2026-12-08 07:30"]
    assert [s.end - s.start for s in found] == [timedelta(hours=1)] * 2


def test_a_meeting_as_long_as_the_working_day_fits_it_exactly() -> None:
    found = find_slots(query("2026-12-07 06:00", duration=570, count=1), [], [], BRIDGES, always)
    assert [(shown(s.start), shown(s.end)) for s in found] == [
        ("Mon 2026-12-07 07:30", "Mon 2026-12-07 17:00")
    ]


def test_the_latest_start_is_itself_offered() -> None:
    q = query("2026-12-07 07:00", setup=0, days=0, count=1)
    q = type(q)(q.duration, q.setup, q.earliest, local("2026-12-07 07:30"), q.hours, q.tz, 1)
    assert [shown(s.start) for s in find_slots(q, [], [], BRIDGES, always)] == [
        "Mon 2026-12-07 07:30"
    ]


def test_seconds_and_microseconds_round_up_to_the_next_quarter_hour() -> None:
    earliest = local("2026-12-07 09:00") + timedelta(seconds=30)
    q = query("2026-12-07 09:00")
    q = type(q)(q.duration, q.setup, earliest, q.latest, q.hours, q.tz, 1)
    assert shown(find_slots(q, [], [], BRIDGES, always)[0].start) == "Mon 2026-12-07 09:30"
    earliest = local("2026-12-07 09:00") + timedelta(microseconds=1)
    q = type(q)(q.duration, q.setup, earliest, q.latest, q.hours, q.tz, 1)
    assert shown(find_slots(q, [], [], BRIDGES, always)[0].start) == "Mon 2026-12-07 09:30"


def test_a_busy_interval_starting_exactly_at_the_meetings_end_does_not_block_it() -> None:
    only_after = [(local("2026-12-07 08:30"), local("2026-12-07 09:00"))]
    found = find_slots(query("2026-12-07 06:00", count=1), only_after, [], BRIDGES, always)
    assert shown(found[0].start) == "Mon 2026-12-07 07:30"
    # ... while an earlier one that overlaps the setup still does
    both = [(local("2026-12-07 07:00"), local("2026-12-07 07:45")), *only_after]
    found = find_slots(query("2026-12-07 06:00", count=1), both, [], BRIDGES, always)
    assert shown(found[0].start) == "Mon 2026-12-07 09:15"


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (
            "kingdom:x",
            "unknown selector key 'kingdom' in kingdom:x "
            "(keys: level, under, site, agency, tag, province, district, commune)",
        ),
        ("level:ward", "no level 'ward' in this fleet (its levels: province, district, commune)"),
        ("district:nowhere", "no district 'nowhere' in this fleet"),
        ("site:nowhere", "no site 'nowhere' in this fleet"),
        ("agency:nobody", "no agency 'nobody' in this fleet"),
        ("tag:none-such", "selector 'tag:none-such' matches no endpoint"),
        ("tag:", "selector 'tag:' needs a key and a value, such as tag:vung-cao"),
    ],
)
def test_a_selector_naming_nothing_says_what_it_names_wrongly(
    sample_fleet: Fleet, selector: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        expand_selectors(sample_fleet, selector)
    assert str(refused.value) == message


def test_a_default_level_the_fleet_dropped_is_named_with_the_levels_it_has(
    two_tier_fleet: Fleet,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        expand_selectors(two_tier_fleet, "district:h-dai-tu")
    assert str(refused.value) == "no level 'district' in this fleet (its levels: province, commune)"


def weekly(rrule: str, exdates: tuple = ()) -> Session:
    start = local("2026-12-07 08:00")
    return Session(
        "s1", "Giao ban", "op", None, ("a",), (), start, start + timedelta(hours=1),
        rrule=rrule, exdates=exdates,
    )  # fmt: skip


def test_cutting_a_series_ends_it_at_the_last_sitting_kept_with_its_exdates_up_to_it() -> None:
    kept_off = local("2026-12-14 08:00")
    later_off = local("2026-12-28 08:00")
    last = local("2026-12-21 08:00")
    cut = cut_series(weekly("FREQ=WEEKLY;COUNT=8", (kept_off, last, later_off)), last, HCM)
    assert cut.rrule == "FREQ=WEEKLY;UNTIL=20261221T010000Z"
    assert cut.exdates == (kept_off, last)
    assert last.astimezone(UTC).hour == 1


def test_a_session_that_does_not_repeat_cannot_be_cut() -> None:
    with pytest.raises(InvalidInput) as refused:
        cut_series(weekly(""), local("2026-12-07 08:00"), HCM)
    assert str(refused.value) == "session s1 does not repeat: nothing to cut"


def test_why_a_sitting_needs_attention_is_one_line_naming_each_problem() -> None:
    problems = [RoomRemoved("xa-a"), BridgeShort("mcu-2", 12, 0), BridgeShort("mcu-1", 9, 8)]
    assert attention_text(problems) == (
        "room xa-a is removed from the fleet; "
        "bridge mcu-2 is removed, 12 ports in use then; "
        "bridge mcu-1 would need 9 ports, has 8"
    )
    assert attention_text([]) == ""


def test_nobody_to_place_needs_no_port() -> None:
    assert allocate([], {"b1": Bridge("b1", "B1", 10)}, {"b1": 0}) == PortAllocation({})
    placed = PortAllocation({"b1": ("a",), "b2": ("b", "c")})
    assert (placed.bridge_of("c"), placed.bridge_of("nobody")) == ("b2", None)


def test_the_areas_are_the_sites_some_room_counts_under(sample_fleet: Fleet) -> None:
    found = areas(sample_fleet.sites, sample_fleet.levels)
    assert [s.level for s in found] == ["district"] * 9
    assert found == [s for s in sample_fleet.sites.values() if s.level == "district"]


def test_an_evening_slot_is_placed_on_the_fleets_day_whatever_the_machines_zone() -> None:
    """18:00 in the province is already the next day at UTC+14 (the mutation run's TZ)."""
    late = WorkingHours(frozenset(range(7)), time(7, 30), time(21, 0))
    q = query("2026-12-07 17:45", count=1)
    q = type(q)(q.duration, q.setup, q.earliest, q.latest, late, q.tz, 1)
    assert [shown(s.start) for s in find_slots(q, [], [], BRIDGES, always)] == [
        "Mon 2026-12-07 18:00"
    ]
