"""Three pure rules the operator reads the result of, pinned at their edges: the state changes
rebuilt from stored reports, a series' calendar SEQUENCE and exceptions, and the forecast of a
room nobody ever heard from (gaps found by the mutation run, docs/mutation.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from confsched.domain.calendar import CalendarEntry, exceptions_of, sittings_sequence
from confsched.domain.forecast import Enrolment, RoomFacts, bridge_shortfalls, explain, forecast
from confsched.domain.health import Observation, Thresholds, judge
from confsched.domain.model import (
    EndpointHealth,
    EndpointState,
    Occurrence,
    PortAllocation,
    Session,
    SessionStatus,
)
from confsched.domain.transitions import StateChange, state_changes

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
TEN = timedelta(seconds=10)
OK, DOWN, OFFLINE = EndpointState.OK, EndpointState.DOWN, EndpointState.OFFLINE


def report(seconds: float, camera: bool = True) -> tuple[EndpointHealth, timedelta]:
    return judge(Observation("a", T0 + timedelta(seconds=seconds), {"camera": camera})), TEN


def test_a_gap_of_exactly_offline_after_intervals_shows_offline_at_its_moment() -> None:
    changes = state_changes([report(0), report(30)], until=T0 + timedelta(seconds=35))
    assert changes == [
        StateChange(T0, OK, ()),
        StateChange(T0 + timedelta(seconds=30), OFFLINE, ("no report",)),
        StateChange(T0 + timedelta(seconds=30), OK, ()),
    ]
    assert state_changes([report(0), report(29.9)], until=T0 + timedelta(seconds=30)) == [
        StateChange(T0, OK, ())
    ]


def test_the_silence_after_the_last_report_counts_up_to_the_end_of_the_window() -> None:
    quiet = state_changes([report(0)], until=T0 + timedelta(seconds=30))
    assert quiet[-1] == StateChange(T0 + timedelta(seconds=30), OFFLINE, ("no report",))
    assert state_changes([report(0)], until=T0 + timedelta(seconds=29)) == [StateChange(T0, OK, ())]
    patient = Thresholds(offline_after=5)
    assert len(state_changes([report(0)], T0 + timedelta(seconds=49), patient)) == 1
    assert state_changes([report(0)], T0 + timedelta(seconds=50), patient)[-1].state is OFFLINE


def test_a_report_without_a_time_is_skipped_and_the_rest_still_count() -> None:
    timeless = (EndpointHealth("a", DOWN, ("camera missing",)), TEN)
    changes = state_changes([report(0), timeless, report(10, camera=False)], T0 + TEN)
    assert [(c.state, c.at) for c in changes] == [(OK, T0), (DOWN, T0 + TEN)]
    assert changes[1].reasons == ("camera missing",)
    assert state_changes([], T0) == []


def test_only_a_change_of_state_is_a_change() -> None:
    changes = state_changes(
        [report(0), report(10), report(20, camera=False)], T0 + timedelta(seconds=25)
    )
    assert [c.state for c in changes] == [OK, DOWN]


WEEKLY = Session(
    "s1",
    "Giao ban tuần",
    "op",
    None,
    ("a",),
    (),
    T0,
    T0 + timedelta(hours=2),
    rrule="FREQ=WEEKLY;COUNT=6",
)


def sitting(week: int, **changes) -> Occurrence:
    original = T0 + timedelta(weeks=week)
    base = {"start": original, "end": original + timedelta(hours=2)}
    return Occurrence("s1", original, **{**base, **changes})


def test_a_series_sequence_grows_with_every_sitting_changed_on_its_own() -> None:
    assert sittings_sequence([]) == 0
    assert sittings_sequence([sitting(0), sitting(1)]) == 0
    assert sittings_sequence([sitting(0, sequence=3), sitting(1, sequence=1)]) == 3
    one_moved = [sitting(0, sequence=1, moved=True), sitting(1)]
    assert sittings_sequence(one_moved) == 2
    moved_and_cancelled = [sitting(0, sequence=1, moved=True), sitting(1, cancelled=True)]
    assert sittings_sequence(moved_and_cancelled) == 3
    both_on_one = [sitting(0, sequence=1, moved=True, cancelled=True)]
    assert sittings_sequence(both_on_one) == 2


def test_the_exceptions_of_a_series_are_the_sittings_its_rule_alone_would_not_give() -> None:
    later = T0 + timedelta(weeks=2, hours=3)
    sittings = [
        sitting(0),
        sitting(1, cancelled=True),
        sitting(2, start=later, end=later + timedelta(hours=2)),  # moved by its times only
        sitting(3, end=T0 + timedelta(weeks=3, hours=1)),  # shortened
        sitting(4, moved=True),  # moved, then moved back: still its own
        sitting(5),
    ]
    odd = exceptions_of(WEEKLY, reversed(sittings))
    assert [o.recurrence_id for o in odd] == [T0 + timedelta(weeks=w) for w in (1, 2, 3, 4)]
    cancelled = replace(WEEKLY, status=SessionStatus.CANCELLED)
    assert [o.recurrence_id for o in exceptions_of(cancelled, sittings)] == [
        T0 + timedelta(weeks=w) for w in (2, 3, 4)
    ]
    one_off = replace(WEEKLY, rrule=None)
    assert exceptions_of(one_off, sittings) == ()


def test_a_room_nobody_ever_heard_from_is_forecast_never_reported_and_not_enrolled() -> None:
    allocation = PortAllocation({"mcu-1": ("a", "b")})
    known = {"b": RoomFacts(judge(Observation("b", T0, {"camera": True})))}
    risk = forecast("s1", T0, T0, ["a", "b"], known, allocation, {"mcu-1": 10})
    assert (risk.total, risk.ready) == (2, 1)
    (room,) = risk.rooms
    assert (room.endpoint, room.state, room.bridge) == ("a", EndpointState.UNKNOWN, "mcu-1")
    assert room.reasons == ("no agent enrolled", "never reported")
    assert room.codes == ("not_enrolled", "never_reported")
    assert known["b"].enrolment is Enrolment.ENROLLED


def test_a_codec_never_polled_and_a_dropped_agent_say_why_they_are_silent() -> None:
    never = EndpointHealth("c", reasons=("never reported",), codes=("never_reported",))
    polled = explain(RoomFacts(never, Enrolment.POLLED))
    assert polled.codes == ("never_polled", "never_reported")
    assert polled.reasons == ("codec not polled yet", "never reported")
    offline = EndpointHealth("c", OFFLINE, ("no report for 5 min",), codes=("no_report",))
    assert explain(RoomFacts(offline, Enrolment.POLLED)) == offline
    dropped = explain(RoomFacts(offline, Enrolment.ENROLLED, "connection lost"))
    assert dropped.codes == ("disconnected", "no_report")
    assert dropped.reasons == ("disconnected: connection lost", "no report for 5 min")
    revoked = explain(RoomFacts(offline, Enrolment.REVOKED, "key revoked"))
    assert revoked.codes == ("key_revoked", "no_report")
    assert explain(RoomFacts(offline, Enrolment.ENROLLED)) == offline
    working = judge(Observation("c", T0, {"camera": False}))
    assert explain(RoomFacts(working, Enrolment.ENROLLED, "connection lost")) == working


def test_a_short_bridge_puts_even_a_working_room_at_risk_and_adds_to_a_failing_ones() -> None:
    allocation = PortAllocation({"mcu-1": ("a",), "mcu-2": ("b",)}, links=(("mcu-1", "mcu-3"),))
    assert bridge_shortfalls(allocation, {"mcu-1": 1, "mcu-2": 1}) == {"mcu-1": 1, "mcu-3": 1}
    assert bridge_shortfalls(allocation, {"mcu-1": 2, "mcu-2": 1, "mcu-3": 1}) == {}
    ok_a = RoomFacts(judge(Observation("a", T0, {"camera": True})))
    down_b = RoomFacts(judge(Observation("b", T0, {"camera": False})))
    risk = forecast("s1", T0, T0 + TEN, ["a", "b"], {"a": ok_a, "b": down_b}, allocation,
                    {"mcu-1": 1, "mcu-2": 0})  # fmt: skip
    assert (risk.session_id, risk.recurrence_id, risk.start) == ("s1", T0, T0 + TEN)
    assert [r.endpoint for r in risk.rooms] == ["b", "a"]  # down first
    b, a = risk.rooms
    assert (b.codes, b.reasons) == (
        ("camera", "bridge_short"),
        ("camera missing", "bridge mcu-2 short of 1 ports"),
    )
    assert (a.state, a.codes, a.reasons, a.last_report_at) == (
        OK,
        ("bridge_short",),
        ("bridge mcu-1 short of 1 ports",),
        T0,
    )
    assert risk.at_risk and risk.ready == 0


def test_an_entrys_version_changes_with_what_is_rendered_and_only_then() -> None:
    entry = CalendarEntry(WEEKLY)
    assert entry.version() == CalendarEntry(WEEKLY).version()
    assert len(entry.version()) == 16
    renamed = CalendarEntry(replace(WEEKLY, title="Giao ban tháng"))
    assert renamed.version() != entry.version()
    assert CalendarEntry(WEEKLY, (sitting(1, cancelled=True),)).version() != entry.version()
    assert CalendarEntry(WEEKLY, (), 2).version() != entry.version()
