"""The earliest free slots for a set of endpoints: a walk along a 15-minute grid in local time.

A slot is offered when its whole meeting lies inside the fleet's working hours, every chosen
endpoint is free from the setup time to the end, and the bridges have the ports the session
needs. The walk jumps over busy intervals instead of testing each grid point, so a month of
bookings costs a few dozen steps.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from confsched.domain.model import Bridge, WorkingHours
from confsched.domain.ports import Load, free_ports

GRID = timedelta(minutes=15)

PortsCheck = Callable[[Mapping[str, int]], bool]


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class SlotQuery:
    """What to look for: a meeting of ``duration`` (rooms busy ``setup`` before), between
    ``earliest`` (the setup may not start before it) and ``latest`` (the last possible start)."""

    duration: timedelta
    setup: timedelta
    earliest: datetime
    latest: datetime
    hours: WorkingHours
    tz: ZoneInfo
    count: int = 5


def merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching intervals joined, sorted by start."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def find_slots(
    query: SlotQuery,
    busy: Iterable[tuple[datetime, datetime]],
    loads: Sequence[Load],
    bridges: Mapping[str, Bridge],
    ports_ok: PortsCheck,
) -> list[Slot]:
    """The earliest ``query.count`` slots, each starting at or after the previous one's end."""
    merged = merge(busy)
    starts = [s for s, _ in merged]
    cached_ok: dict[tuple[tuple[str, int], ...], bool] = {}
    slots: list[Slot] = []
    moment = _on_grid(query.earliest + query.setup, query.tz)
    while moment <= query.latest and len(slots) < query.count:
        placed = _in_hours(moment, query)
        if placed != moment:
            moment = placed
            continue
        blocker = _blocking(merged, starts, moment - query.setup, moment + query.duration)
        if blocker is not None:
            moment = _on_grid(blocker + query.setup, query.tz)
            continue
        free = free_ports(bridges, loads, moment - query.setup, moment + query.duration)
        key = tuple(sorted(free.items()))
        if key not in cached_ok:
            cached_ok[key] = ports_ok(free)
        if not cached_ok[key]:
            moment += GRID
            continue
        slots.append(Slot(moment, moment + query.duration))
        moment = _on_grid(moment + query.duration, query.tz)
    return slots


def _blocking(
    merged: list[tuple[datetime, datetime]], starts: list[datetime], start: datetime, end: datetime
) -> datetime | None:
    """The end of the busy interval overlapping ``[start, end)``, if any."""
    index = bisect_right(starts, end) - 1
    while index >= 0 and merged[index][0] >= end:
        index -= 1
    if index >= 0 and merged[index][1] > start:
        return merged[index][1]
    return None


def _in_hours(moment: datetime, query: SlotQuery) -> datetime:
    """``moment`` if a meeting starting then fits the working day; else the next start that may."""
    local = moment.astimezone(query.tz)
    day = local.date()
    for _ in range(15):  # at most two weeks of non-working days
        opens = _on_grid(_at(day, query.hours.start, query.tz), query.tz)
        closes = _at(day, query.hours.end, query.tz)
        if day.weekday() in query.hours.days and opens + query.duration <= closes:
            if moment <= opens:
                return opens
            if moment + query.duration <= closes:
                return moment
        day += timedelta(days=1)
        moment = _at(day, query.hours.start, query.tz)
    return query.latest + GRID  # no working day can hold it: stop the walk


def _at(day: object, clock: object, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)  # type: ignore[arg-type]


def _on_grid(moment: datetime, tz: ZoneInfo) -> datetime:
    """Round up to the next quarter hour of local time."""
    local = moment.astimezone(tz)
    past = timedelta(
        minutes=local.minute % 15, seconds=local.second, microseconds=local.microsecond
    )
    if not past:
        return moment
    return moment + (GRID - past)
