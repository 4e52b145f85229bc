"""The pure health model: states and reasons from reports, offline from silence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from confsched.domain.health import Observation, Thresholds, at, is_ready, judge, unknown
from confsched.domain.model import EndpointState

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
ALL_OK = {"camera": True, "audio": True, "display": True, "bridge": True, "client": True}
GOOD_NET = {"rtt_ms": 20.0, "jitter_ms": 2.0, "loss_ratio": 0.0}


def obs(checks: dict | None = None, measurements: dict | None = None, details=None) -> Observation:
    return Observation(
        "tn-ubnd",
        T0,
        {**ALL_OK, **(checks or {})},
        details or {},
        {**GOOD_NET, **(measurements or {})},
    )


def test_all_checks_passing_is_ok_with_no_reasons() -> None:
    health = judge(obs())
    assert health.state is EndpointState.OK
    assert health.reasons == ()
    assert health.rtt_ms == 20.0 and health.last_report_at == T0


def test_missing_camera_is_down_and_says_so() -> None:
    health = judge(obs({"camera": False}))
    assert health.state is EndpointState.DOWN
    assert health.reasons == ("camera missing",)
    assert health.codes == ("camera",)


def test_packet_loss_is_degraded_with_the_percentage() -> None:
    health = judge(obs(measurements={"loss_ratio": 0.04}))
    assert health.state is EndpointState.DEGRADED
    assert health.reasons == ("loss 4% to bridge",)


def test_heavy_loss_is_down_and_total_loss_means_unreachable() -> None:
    assert judge(obs(measurements={"loss_ratio": 0.4})).state is EndpointState.DOWN
    health = judge(obs(measurements={"loss_ratio": 1.0}))
    assert health.reasons == ("bridge unreachable",)


def test_thresholds_come_from_configuration() -> None:
    strict = Thresholds(rtt_degraded_ms=10)
    assert judge(obs(), strict).reasons == ("rtt 20 ms to bridge",)


def test_failed_probe_is_degraded_and_names_the_probe() -> None:
    health = judge(obs({"display": None}, details={"display": "PermissionError: denied"}))
    assert health.state is EndpointState.DEGRADED
    assert health.reasons == ("display check failed: PermissionError: denied",)


def test_worst_findings_come_first() -> None:
    health = judge(obs({"client": False, "camera": False}, {"cpu_ratio": 0.99}))
    assert health.state is EndpointState.DOWN
    assert health.reasons[0] == "camera missing"
    assert set(health.reasons[1:]) == {"conferencing client not running", "cpu 99% busy"}


def test_offline_after_three_missed_intervals_not_before() -> None:
    health = judge(obs())
    interval = timedelta(seconds=10)
    assert at(health, T0 + timedelta(seconds=29), interval).state is EndpointState.OK
    late = at(health, T0 + timedelta(seconds=30), interval)
    assert late.state is EndpointState.OFFLINE
    assert late.reasons == ("no report for 30 s",)


def test_never_reported_is_unknown() -> None:
    health = at(unknown("tn-ubnd"), T0, timedelta(seconds=10))
    assert health.state is EndpointState.UNKNOWN
    assert health.reasons == ("never reported",)


def test_degraded_rooms_are_still_ready_down_rooms_are_not() -> None:
    assert is_ready(judge(obs(measurements={"loss_ratio": 0.04})))
    assert not is_ready(judge(obs({"audio": False})))


@given(
    checks=st.dictionaries(
        st.sampled_from(["camera", "audio", "display", "bridge", "client", "host", "fan"]),
        st.sampled_from([True, False, None]),
    ),
    loss=st.floats(0, 1),
    rtt=st.floats(0, 5000),
)
def test_state_is_ok_exactly_when_there_is_no_reason(checks, loss, rtt) -> None:
    health = judge(Observation("e", T0, checks, {}, {"loss_ratio": loss, "rtt_ms": rtt}))
    assert (health.state is EndpointState.OK) == (health.reasons == ())
    assert len(health.reasons) == len(health.codes)
