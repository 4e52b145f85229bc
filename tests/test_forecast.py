"""The forecast and the reasons behind silence: pure rules, with their invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from confsched.domain.forecast import (
    Enrolment,
    RoomFacts,
    bridge_shortfalls,
    explain,
    forecast,
)
from confsched.domain.health import Observation, Restart, at, judge
from confsched.domain.model import EndpointHealth, EndpointState, PortAllocation
from confsched.domain.transitions import state_changes

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
TEN = timedelta(seconds=10)


def healthy(endpoint: str, when: datetime = T0) -> EndpointHealth:
    return judge(Observation(endpoint, when, {"camera": True}))


def silent(endpoint: str, state: EndpointState) -> EndpointHealth:
    return EndpointHealth(endpoint, state, ("no report for 44 s",), codes=("no_report",))


def test_revoked_room_says_its_key_was_revoked_before_the_silence() -> None:
    health = explain(RoomFacts(silent("a", EndpointState.OFFLINE), Enrolment.REVOKED))
    assert health.reasons == ("agent key revoked", "no report for 44 s")
    assert health.codes[0] == "key_revoked"


def test_never_enrolled_room_says_so() -> None:
    never = EndpointHealth("a", reasons=("never reported",), codes=("never_reported",))
    health = explain(RoomFacts(never, Enrolment.NOT_ENROLLED))
    assert health.reasons == ("no agent enrolled", "never reported")


def test_offline_room_gives_its_last_disconnect_reason() -> None:
    facts = RoomFacts(silent("a", EndpointState.OFFLINE), Enrolment.ENROLLED, "connection lost")
    assert explain(facts).reasons[0] == "disconnected: connection lost"


def test_a_reporting_room_keeps_its_own_reasons() -> None:
    down = judge(Observation("a", T0, {"camera": False}))
    assert explain(RoomFacts(down, Enrolment.REVOKED)).reasons == ("camera missing",)


def test_forecast_lists_down_first_and_leaves_ok_rooms_out() -> None:
    facts = {
        "ok": RoomFacts(healthy("ok")),
        "down": RoomFacts(judge(Observation("down", T0, {"camera": False}))),
        "gone": RoomFacts(silent("gone", EndpointState.OFFLINE), Enrolment.REVOKED),
    }
    allocation = PortAllocation({"b1": ("ok", "down", "gone", "nobody")})
    risk = forecast("s", T0, T0, ["ok", "down", "gone", "nobody"], facts, allocation, {"b1": 10})
    assert [r.endpoint for r in risk.rooms] == ["down", "gone", "nobody"]
    assert (risk.ready, risk.total) == (1, 4)
    assert risk.rooms[2].reasons == ("no agent enrolled", "never reported")
    assert all(r.bridge == "b1" for r in risk.rooms)


def test_a_bridge_short_of_ports_puts_even_its_ok_rooms_at_risk() -> None:
    allocation = PortAllocation({"b1": ("a",), "b2": ("b", "c")}, links=(("b1", "b2"),))
    assert bridge_shortfalls(allocation, {"b1": 2, "b2": 2}) == {"b2": 1}
    facts = {e: RoomFacts(healthy(e)) for e in "abc"}
    risk = forecast("s", T0, T0, ["a", "b", "c"], facts, allocation, {"b1": 2, "b2": 2})
    assert [r.endpoint for r in risk.rooms] == ["b", "c"]
    assert risk.rooms[0].reasons == ("bridge b2 short of 1 ports",)


STATES = st.sampled_from(list(EndpointState))
ENROLMENTS = st.sampled_from(list(Enrolment))


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=4), st.tuples(STATES, ENROLMENTS)))
def test_every_room_is_either_ready_or_listed_once_with_a_reason(rooms: dict) -> None:
    facts = {
        e: RoomFacts(EndpointHealth(e, state, ("why",), codes=("x",)), enrolment)
        for e, (state, enrolment) in rooms.items()
    }
    endpoints = list(rooms)
    risk = forecast("s", T0, T0, endpoints, facts, PortAllocation({"b": tuple(rooms)}), {"b": 999})
    listed = [r.endpoint for r in risk.rooms]
    assert len(listed) == len(set(listed))
    assert risk.ready + len(listed) == len(endpoints)
    assert all(r.reasons for r in risk.rooms)
    assert {e for e, (s, _) in rooms.items() if s is not EndpointState.OK} == set(listed)


# --- no false alarm after a restart -----------------------------------------------------------


def test_rooms_silent_because_the_scheduler_was_down_are_not_offline_during_the_grace() -> None:
    health = healthy("a")  # reported at T0, then the scheduler stopped for 15 s
    restart = Restart(up_since=T0 + timedelta(seconds=16), heard_until=T0)
    during = at(health, T0 + timedelta(seconds=40), TEN, restart=restart)
    assert during.state is EndpointState.OK
    after = at(health, T0 + timedelta(seconds=46), TEN, restart=restart)
    assert after.state is EndpointState.OFFLINE


def test_a_room_already_silent_before_the_outage_stays_offline_after_a_restart() -> None:
    health = healthy("a")
    restart = Restart(up_since=T0 + timedelta(minutes=10), heard_until=T0 + timedelta(minutes=9))
    seen = at(health, T0 + timedelta(minutes=10, seconds=5), TEN, restart=restart)
    assert seen.state is EndpointState.OFFLINE


@given(st.integers(0, 600), st.integers(0, 600), st.integers(0, 600))
def test_grace_never_lasts_past_three_intervals_after_the_start(
    before: int, outage: int, after: int
) -> None:
    heard = T0 + timedelta(seconds=before)
    restart = Restart(heard + timedelta(seconds=outage), heard)
    now = restart.up_since + timedelta(seconds=after)
    seen = at(healthy("a"), now, TEN, restart=restart)
    plain = at(healthy("a"), now, TEN)
    if after >= 30:
        assert seen == plain
    if plain.state is EndpointState.OK:
        assert seen.state is EndpointState.OK


def test_offline_room_keeps_the_fault_of_its_last_report() -> None:
    down = judge(Observation("a", T0, {"camera": False}))
    late = at(down, T0 + timedelta(minutes=5), TEN)
    assert late.reasons == ("no report for 5 min", "last report: camera missing")


# --- state changes from history ----------------------------------------------------------------


def test_state_changes_include_the_silences_as_offline() -> None:
    reports = [
        (healthy("a", T0), TEN),
        (healthy("a", T0 + timedelta(seconds=10)), TEN),
        (judge(Observation("a", T0 + timedelta(seconds=20), {"camera": False})), TEN),
        (healthy("a", T0 + timedelta(minutes=5)), TEN),
    ]
    changes = state_changes(reports, until=T0 + timedelta(minutes=5, seconds=5))
    assert [(c.state.value, int((c.at - T0).total_seconds())) for c in changes] == [
        ("ok", 0),
        ("down", 20),
        ("offline", 50),
        ("ok", 300),
    ]
    assert changes[1].reasons == ("camera missing",)
