"""The health rules at their edges: each threshold on both sides, the wording of every reason,
the order of findings, silence after a restart, and what an offline room keeps of its last report.

``test_health_domain.py`` shows the rules work; this file pins where each one switches, so that
a ``>=`` turned ``>`` or a reason reworded fails here (found by the mutation run, docs/mutation.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confsched.domain.health import (
    Observation,
    Restart,
    Thresholds,
    at,
    is_ready,
    judge,
    offline_from,
    unknown,
)
from confsched.domain.model import CallState, EndpointHealth, EndpointState

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
TEN_S = timedelta(seconds=10)
OK, DEGRADED, DOWN = EndpointState.OK, EndpointState.DEGRADED, EndpointState.DOWN


def judged(checks=None, measurements=None, details=None, reasons=None) -> EndpointHealth:
    return judge(
        Observation("ep", T0, checks or {}, details or {}, measurements or {}, reasons or {})
    )


@pytest.mark.parametrize(
    ("measurements", "state", "reasons", "codes"),
    [
        ({"loss_ratio": 0.0099}, OK, (), ()),
        ({"loss_ratio": 0.01}, DEGRADED, ("loss 1% to bridge",), ("loss",)),
        ({"loss_ratio": 0.2499}, DEGRADED, ("loss 25% to bridge",), ("loss",)),
        ({"loss_ratio": 0.25}, DOWN, ("loss 25% to bridge",), ("loss_high",)),
        ({"loss_ratio": 0.999}, DOWN, ("loss 100% to bridge",), ("loss_high",)),
        ({"loss_ratio": 1.0}, DOWN, ("bridge unreachable",), ("bridge",)),
        ({"rtt_ms": 149.9}, OK, (), ()),
        ({"rtt_ms": 150.0}, DEGRADED, ("rtt 150 ms to bridge",), ("rtt",)),
        ({"jitter_ms": 29.9}, OK, (), ()),
        ({"jitter_ms": 30.0}, DEGRADED, ("jitter 30 ms to bridge",), ("jitter",)),
        ({"cpu_ratio": 0.949}, OK, (), ()),
        ({"cpu_ratio": 0.95}, DEGRADED, ("cpu 95% busy",), ("cpu",)),
        ({"memory_used_ratio": 0.949}, OK, (), ()),
        ({"memory_used_ratio": 0.95}, DEGRADED, ("memory 95% used",), ("memory",)),
        ({"disk_free_ratio": 0.051}, OK, (), ()),
        ({"disk_free_ratio": 0.05}, DEGRADED, ("disk 5% free",), ("disk",)),
        ({"disk_free_ratio": 0.004}, DEGRADED, ("disk 0.4% free",), ("disk",)),
        ({"disk_free_ratio": 0.0}, DEGRADED, ("disk 0% free",), ("disk",)),
    ],
)
def test_each_threshold_switches_exactly_at_its_limit(measurements, state, reasons, codes) -> None:
    health = judged(measurements=measurements)
    assert (health.state, health.reasons, health.codes) == (state, reasons, codes)


def test_every_limit_comes_from_the_thresholds_given() -> None:
    limits = Thresholds(
        rtt_degraded_ms=10,
        jitter_degraded_ms=1,
        loss_degraded_ratio=0.001,
        loss_down_ratio=0.5,
        cpu_degraded_ratio=0.5,
        memory_degraded_ratio=0.5,
        disk_free_degraded_ratio=0.5,
    )
    m = {
        "rtt_ms": 10,
        "jitter_ms": 1,
        "loss_ratio": 0.4,
        "cpu_ratio": 0.5,
        "memory_used_ratio": 0.5,
        "disk_free_ratio": 0.5,
    }
    health = judge(Observation("ep", T0, {}, {}, m), limits)
    assert health.state is DEGRADED
    assert health.codes == ("loss", "rtt", "jitter", "cpu", "memory", "disk")
    assert health.reasons == (
        "loss 40% to bridge",
        "rtt 10 ms to bridge",
        "jitter 1 ms to bridge",
        "cpu 50% busy",
        "memory 50% used",
        "disk 50% free",
    )


@pytest.mark.parametrize(
    ("check", "state", "reason"),
    [
        ("camera", DOWN, "camera missing"),
        ("audio", DOWN, "no audio device"),
        ("display", DOWN, "display disconnected"),
        ("bridge", DOWN, "bridge unreachable"),
        ("registration", DOWN, "not registered to its bridge"),
        ("codec", DOWN, "codec unreachable"),
        ("client", DEGRADED, "conferencing client not running"),
        ("host", DEGRADED, "host resources low"),
        ("fan", DEGRADED, "fan failed"),
    ],
)
def test_each_failed_check_has_its_state_reason_and_code(check, state, reason) -> None:
    health = judged({check: False})
    assert (health.state, health.reasons) == (state, (reason,))
    assert health.codes == ((check,) if check != "fan" else ("other",))
    assert health.checks == {check: False}


def test_the_sources_own_words_replace_a_critical_reason_and_details_name_other_checks() -> None:
    health = judged({"camera": False, "spool": False}, details={"spool": "disk full"},
                    reasons={"camera": "camera disconnected"})  # fmt: skip
    assert health.reasons == ("camera disconnected", "spool: disk full")
    assert health.codes == ("camera", "other")
    assert judged({"camera": None}).reasons == ("camera check failed: no result",)
    assert judged({"camera": None}).codes == ("probe_failed",)
    assert judged({"camera": None}).checks == {}


def test_a_failed_bridge_check_is_not_reported_twice_by_the_loss_rule() -> None:
    health = judged({"bridge": False}, {"loss_ratio": 1.0})
    assert health.reasons == ("bridge unreachable",)
    assert judged({"bridge": True}, {"loss_ratio": 0.3}).codes == ("loss_high",)


def test_a_worse_finding_is_never_lowered_by_a_milder_one_and_critical_ones_lead() -> None:
    health = judged({"client": False, "audio": False, "host": False}, {"loss_ratio": 0.3})
    assert health.state is DOWN
    assert health.codes[:2] == ("audio", "loss_high")
    assert set(health.codes[2:]) == {"client", "host"}
    degraded_first = judged({"display": None, "client": False}, {"cpu_ratio": 0.99})
    assert degraded_first.state is DEGRADED
    assert degraded_first.codes == ("probe_failed", "client", "cpu")


def test_the_judged_health_keeps_the_report_as_it_came() -> None:
    call = CallState(True, "mcu-1")
    m = {"rtt_ms": 12.0, "jitter_ms": 3.0, "loss_ratio": 0.0, "uptime_s": 99.0}
    health = judge(Observation("ep", T0, {"camera": True}, {}, m, {}, call))
    assert (health.endpoint, health.last_report_at, health.call) == ("ep", T0, call)
    assert (health.rtt_ms, health.jitter_ms, health.loss_ratio) == (12.0, 3.0, 0.0)
    assert health.measurements == m
    assert health.checks == {"camera": True}


@pytest.mark.parametrize(
    ("silent_s", "reason"),
    [
        (30, "no report for 30 s"),
        (119, "no report for 119 s"),
        (120, "no report for 2 min"),
        (7199, "no report for 119 min"),
        (7200, "no report for 2 h"),
        (172_799, "no report for 47 h"),
        (172_800, "no report for 2 days"),
    ],
)
def test_silence_is_told_in_the_unit_a_person_reads(silent_s: int, reason: str) -> None:
    health = at(judged(), T0 + timedelta(seconds=silent_s), TEN_S)
    assert (health.state, health.reasons, health.codes) == (
        EndpointState.OFFLINE,
        (reason,),
        ("no_report",),
    )


def test_an_offline_room_keeps_the_worst_finding_of_its_last_report_not_an_ok_one() -> None:
    later = T0 + timedelta(minutes=5)
    down = at(judged({"camera": False, "client": False}), later, TEN_S)
    assert down.reasons == ("no report for 5 min", "last report: camera missing")
    assert at(judged(), later, TEN_S).reasons == ("no report for 5 min",)


def test_offline_after_counts_intervals_from_the_thresholds() -> None:
    patient = Thresholds(offline_after=5)
    assert at(judged(), T0 + timedelta(seconds=49), TEN_S, patient).state is OK
    assert at(judged(), T0 + timedelta(seconds=50), TEN_S, patient).state is EndpointState.OFFLINE


def test_after_a_restart_silence_counts_from_the_start_unless_the_room_was_already_silent() -> None:
    patience = timedelta(seconds=30)
    up = T0 + timedelta(minutes=10)
    heard_until = T0 + timedelta(seconds=20)
    # heard 20 s before the scheduler stopped hearing: forgiven until up + patience
    assert offline_from(T0, patience, Restart(up, heard_until)) == up + patience
    # already silent for exactly the patience when the scheduler stopped hearing: not forgiven
    assert offline_from(T0, patience, Restart(up, T0 + patience)) == T0 + patience
    # nothing stored before the start: nothing to forgive
    assert offline_from(T0, patience, Restart(up, None)) == T0 + patience
    assert offline_from(T0, patience, None) == T0 + patience
    # a report after the start is judged on its own time
    late = up + timedelta(minutes=1)
    assert offline_from(late, patience, Restart(up, heard_until)) == late + patience
    restart = Restart(up, heard_until)
    assert at(judged(), up + timedelta(seconds=29), TEN_S, restart=restart).state is OK
    assert at(judged(), up + patience, TEN_S, restart=restart).state is EndpointState.OFFLINE


def test_never_reported_says_so_whatever_it_held() -> None:
    never = unknown("ep")
    assert (never.endpoint, never.state, never.reasons, never.codes) == (
        "ep",
        EndpointState.UNKNOWN,
        ("never reported",),
        ("never_reported",),
    )
    bare = at(EndpointHealth("ep"), T0, TEN_S)
    assert (bare.reasons, bare.codes) == (("never reported",), ("never_reported",))
    kept = EndpointHealth("ep", EndpointState.UNKNOWN, reasons=("codec not polled yet",))
    assert at(kept, T0, TEN_S) == kept
    stored_down = EndpointHealth("ep", DOWN, reasons=("camera missing",))
    assert at(stored_down, T0, TEN_S) == stored_down


def test_only_ok_and_degraded_rooms_are_ready() -> None:
    assert [is_ready(EndpointHealth("ep", s)) for s in EndpointState] == [
        s in (OK, DEGRADED) for s in EndpointState
    ]
