"""The booking decision itself (``domain.booking.decide``), fed plain data.

The store pre-selects what may hold a room or a port; these tests hand the engine candidates
that do not overlap too, so the engine's own rule (``model.overlaps``) is what they pin down: a
store that passed more candidates must not change the answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confsched.domain.booking import decide
from confsched.domain.conflicts import EndpointConflict, Holder, PortsConflict
from confsched.domain.model import Fleet, Occurrence, Session, overlaps
from confsched.domain.ports import Load

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 08:00 in the province
SETUP = timedelta(minutes=15)
HOUR = timedelta(hours=1)


def _session(fleet: Fleet, rooms: int = 2) -> Session:
    endpoints = tuple(list(fleet.endpoints)[:rooms])
    return Session(
        id="new",
        title="Giao ban",
        organizer=fleet.endpoints[endpoints[0]].agency,
        chair=endpoints[0],
        endpoints=endpoints,
        selectors=endpoints,
        start=T0,
        end=T0 + HOUR,
        setup=SETUP,
    )


def _sitting(start: datetime = T0, cancelled: bool = False) -> Occurrence:
    return Occurrence("new", start, start, start + HOUR, SETUP, cancelled=cancelled)


def _holder(endpoint: str, start: datetime, end: datetime, setup: timedelta = SETUP) -> Holder:
    return Holder(endpoint, "old", "Họp cũ", start, end, start - setup, start)


def _conflicts(fleet: Fleet, holders: list[Holder], sitting: Occurrence | None = None) -> list:
    sitting = sitting or _sitting()
    decision = decide(fleet, _session(fleet), [sitting], {sitting.recurrence_id: holders}, {})
    return list(decision.conflicts)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 2), (2, 4), False),  # touching: the first ends as the second begins
        ((2, 4), (0, 2), False),
        ((0, 2), (1, 3), True),
        ((0, 4), (1, 2), True),  # contained
        ((1, 2), (0, 4), True),
        ((0, 1), (3, 4), False),
        ((0, 2), (0, 2), True),
    ],
)
def test_the_one_overlap_rule_is_half_open(a: tuple, b: tuple, expected: bool) -> None:
    def at(h: int) -> datetime:
        return T0 + h * HOUR

    assert overlaps(at(a[0]), at(a[1]), at(b[0]), at(b[1])) is expected


def test_a_holder_ending_at_the_setup_time_is_no_conflict(sample_fleet: Fleet) -> None:
    room = _session(sample_fleet).endpoints[0]
    ends_at_setup = _holder(room, T0 - 2 * HOUR, T0 - SETUP)
    assert _conflicts(sample_fleet, [ends_at_setup]) == []


def test_a_holder_starting_setup_as_the_sitting_ends_is_no_conflict(sample_fleet: Fleet) -> None:
    room = _session(sample_fleet).endpoints[0]
    after = _holder(room, T0 + HOUR + SETUP, T0 + 2 * HOUR)  # its busy_from is T0 + HOUR
    assert _conflicts(sample_fleet, [after]) == []


def test_holders_far_away_in_time_are_ignored(sample_fleet: Fleet) -> None:
    """A store handing in more candidates than needed changes nothing."""
    room = _session(sample_fleet).endpoints[0]
    far = [
        _holder(room, T0 - timedelta(days=1), T0 - timedelta(days=1) + HOUR),
        _holder(room, T0 + timedelta(days=1), T0 + timedelta(days=1) + HOUR),
    ]
    assert _conflicts(sample_fleet, far) == []


def test_the_setup_time_counts_as_taken(sample_fleet: Fleet) -> None:
    """A meeting ending at 07:50 collides with one starting 08:00 (setup from 07:45)."""
    room = _session(sample_fleet).endpoints[0]
    found = _conflicts(sample_fleet, [_holder(room, T0 - HOUR, T0 - timedelta(minutes=10))])
    assert [(c.endpoint, c.session) for c in found] == [(room, "old")]


@pytest.mark.parametrize(
    ("start", "end"),
    [(T0 - HOUR, T0 + timedelta(minutes=1)), (T0 + timedelta(minutes=10), T0 + 2 * HOUR)],
    ids=["overlapping", "contained-then-beyond"],
)
def test_overlapping_holders_conflict(sample_fleet: Fleet, start: datetime, end: datetime) -> None:
    rooms = _session(sample_fleet).endpoints
    found = _conflicts(sample_fleet, [_holder(r, start, end) for r in rooms])
    assert all(isinstance(c, EndpointConflict) for c in found)
    assert sorted(c.endpoint for c in found) == sorted(rooms)


def test_a_cancelled_sitting_of_the_booking_is_not_checked(sample_fleet: Fleet) -> None:
    room = _session(sample_fleet).endpoints[0]
    sitting = _sitting(cancelled=True)
    assert _conflicts(sample_fleet, [_holder(room, T0, T0 + HOUR)], sitting) == []


def test_each_sitting_of_a_series_is_judged_by_its_own_holders(sample_fleet: Fleet) -> None:
    session = _session(sample_fleet)
    room = session.endpoints[0]
    week = timedelta(days=7)
    first, second = _sitting(T0), _sitting(T0 + week)
    holders = {
        first.recurrence_id: [],
        second.recurrence_id: [_holder(room, T0 + week, T0 + week + HOUR)],
    }
    decision = decide(sample_fleet, session, [first, second], holders, {})
    assert [(c.endpoint, c.start) for c in decision.conflicts] == [(room, T0 + week)]


def test_ports_taken_only_before_the_sitting_leave_the_bridge_free(sample_fleet: Fleet) -> None:
    session = _session(sample_fleet)
    full = {b.id: b.ports for b in sample_fleet.bridges.values()}
    before = Load(T0 - 2 * HOUR, T0 - SETUP, full)  # ends as our setup begins
    sitting = _sitting()
    decision = decide(sample_fleet, session, [sitting], {}, {sitting.recurrence_id: [before]})
    assert decision.ok and decision.allocation is not None


def test_ports_taken_during_the_sitting_refuse_it(sample_fleet: Fleet) -> None:
    session = _session(sample_fleet)
    full = {b.id: b.ports for b in sample_fleet.bridges.values()}
    during = Load(T0 - SETUP, T0 + timedelta(minutes=30), full)
    sitting = _sitting()
    decision = decide(sample_fleet, session, [sitting], {}, {sitting.recurrence_id: [during]})
    assert [type(c) for c in decision.conflicts] == [PortsConflict]
    assert decision.allocation is None


def test_ports_taken_only_after_the_sitting_leave_the_bridge_free(sample_fleet: Fleet) -> None:
    session = _session(sample_fleet)
    full = {b.id: b.ports for b in sample_fleet.bridges.values()}
    after = Load(T0 + HOUR, T0 + 3 * HOUR, full)  # its setup begins as our sitting ends
    sitting = _sitting()
    decision = decide(sample_fleet, session, [sitting], {}, {sitting.recurrence_id: [after]})
    assert decision.ok and decision.allocation is not None
