"""The free-slot walk: working hours, the 15-minute grid, setup time, busy rooms and ports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from confsched.domain.model import Bridge, WorkingHours
from confsched.domain.ports import Load
from confsched.domain.slots import SlotQuery, find_slots, merge
from tests.conftest import local

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HOURS = WorkingHours(frozenset({0, 1, 2, 3, 4}), time(7, 30), time(17, 0))
BRIDGES = {"b1": Bridge("b1", "B1", 10)}
M = timedelta(minutes=1)


def shown(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%a %Y-%m-%d %H:%M")


def query(earliest: str, duration: int = 60, setup: int = 15, days: int = 7, count: int = 3):  # type: ignore[no-untyped-def]
    start = local(earliest)
    return SlotQuery(
        timedelta(minutes=duration),
        timedelta(minutes=setup),
        start,
        start + timedelta(days=days),
        HOURS,
        TZ,
        count,
    )


def always(free: Mapping[str, int]) -> bool:
    return True


def test_first_slot_of_a_free_week_is_opening_time_on_the_next_working_day() -> None:
    found = find_slots(query("2026-12-05 10:00"), [], [], BRIDGES, always)  # a Saturday
    assert [shown(s.start) for s in found] == [
        "Mon 2026-12-07 07:30",
        "Mon 2026-12-07 08:30",
        "Mon 2026-12-07 09:30",
    ]


def test_slots_start_on_the_quarter_hour_and_leave_setup_time_from_now() -> None:
    found = find_slots(query("2026-12-07 09:07"), [], [], BRIDGES, always)
    assert shown(found[0].start) == "Mon 2026-12-07 09:30"  # 09:07 + 15 min setup → 09:22 → 09:30


def test_busy_rooms_push_the_slot_past_their_end_plus_setup() -> None:
    busy = [(local("2026-12-07 07:45"), local("2026-12-07 10:00"))]
    found = find_slots(query("2026-12-07 06:00"), busy, [], BRIDGES, always)
    assert shown(found[0].start) == "Mon 2026-12-07 10:15"


def test_a_slot_that_would_run_past_closing_goes_to_the_next_working_day() -> None:
    found = find_slots(query("2026-12-11 15:30", duration=120), [], [], BRIDGES, always)  # Friday
    assert shown(found[0].start) == "Mon 2026-12-14 07:30"


def test_ports_taken_elsewhere_block_until_they_free() -> None:
    loads = [Load(local("2026-12-07 07:15"), local("2026-12-07 09:00"), {"b1": 8})]

    def needs_five(free: Mapping[str, int]) -> bool:
        return free["b1"] >= 5

    found = find_slots(query("2026-12-07 06:00"), [], loads, BRIDGES, needs_five)
    assert shown(found[0].start) == "Mon 2026-12-07 09:15"


def test_nothing_offered_when_the_meeting_is_longer_than_a_working_day() -> None:
    assert find_slots(query("2026-12-07 06:00", duration=600), [], [], BRIDGES, always) == []


def test_merge_joins_overlapping_and_touching_intervals() -> None:
    a, b, c = local("2026-12-07 08:00"), local("2026-12-07 09:00"), local("2026-12-07 10:00")
    assert merge([(b, c), (a, b), (c, c + M)]) == [(a, c + M)]


@settings(max_examples=80, deadline=None)
@given(
    busy=st.lists(st.tuples(st.integers(0, 7 * 96), st.integers(1, 24)), max_size=12),
    duration=st.integers(1, 8),
)
def test_every_offered_slot_is_free_in_hours_and_none_earlier_was_missed(
    busy: list[tuple[int, int]], duration: int
) -> None:
    base = local("2026-12-07 00:00")
    intervals = [(base + q * 15 * M, base + (q + n) * 15 * M) for q, n in busy]
    q = query("2026-12-07 00:00", duration=duration * 15, count=1)
    found = find_slots(q, intervals, [], BRIDGES, always)

    def works(start: datetime) -> bool:
        local_start, local_end = start.astimezone(TZ), (start + q.duration).astimezone(TZ)
        in_hours = (
            local_start.weekday() in HOURS.days
            and local_start.time() >= HOURS.start
            and local_end.date() == local_start.date()
            and local_end.time() <= HOURS.end
        )
        free = all(e <= start - q.setup or s >= start + q.duration for s, e in intervals)
        return in_hours and free and start - q.setup >= q.earliest

    candidates = [base + i * 15 * M for i in range(7 * 96)]
    first = next((c for c in candidates if works(c)), None)
    assert (found[0].start if found else None) == first
