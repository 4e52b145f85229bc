"""Codec drivers' parsers: pure, on the documents the simulators (and real codecs) send."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from confsched.codecs import cisco, poly
from confsched.codecs.status import (
    CodecStatus,
    FailureKind,
    PollFailure,
    failure_observation,
    observation,
)
from confsched.devsim.codec_state import (
    SimCodec,
    cisco_status_xml,
    poly_conferences,
    poly_mediastats,
    poly_status,
    poly_system,
)
from confsched.domain.health import judge
from confsched.domain.model import EndpointState

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def _cisco(**kwargs: object) -> CodecStatus:
    return cisco.parse_status(cisco_status_xml(SimCodec("tinh-uy", "cisco-xapi", "pw", **kwargs)))  # type: ignore[arg-type]


def _poly(**kwargs: object) -> CodecStatus:
    codec = SimCodec("h-dai-tu", "poly-rest", "pw", **kwargs)  # type: ignore[arg-type]
    status = poly.parse_devices(poly_status(codec), poly.parse_system(poly_system(codec)))
    conference, remote = poly.parse_conferences(poly_conferences(codec))
    if conference is None:
        return status
    loss, jitter = poly.parse_mediastats(poly_mediastats(codec))
    return CodecStatus(
        status.cameras, status.microphones, status.displays, status.registered,
        status.registrar, True, remote, loss, jitter, status.uptime_s, status.software,
    )  # fmt: skip


@pytest.mark.parametrize("parse", [_cisco, _poly])
def test_healthy_idle_codec_is_ok(parse) -> None:
    status = parse()
    health = judge(observation("x", status, NOW))
    assert health.state is EndpointState.OK and health.reasons == ()
    assert status.registered is True and status.in_call is False
    assert health.measurements["in_call"] == 0.0 and health.measurements["uptime_s"] > 0


@pytest.mark.parametrize("parse", [_cisco, _poly])
def test_unplugged_camera_is_down_camera_disconnected(parse) -> None:
    health = judge(observation("x", parse(cameras=[False]), NOW))
    assert health.state is EndpointState.DOWN
    assert health.reasons == ("camera disconnected",) and health.codes == ("camera",)


@pytest.mark.parametrize("parse", [_cisco, _poly])
def test_one_of_two_microphones_unplugged_names_it(parse) -> None:
    health = judge(observation("x", parse(microphones=[True, False]), NOW))
    assert health.state is EndpointState.DOWN
    assert health.reasons == ("microphone 2 disconnected",)


@pytest.mark.parametrize("parse", [_cisco, _poly])
def test_unregistered_codec_is_down_naming_its_registrar(parse) -> None:
    health = judge(observation("x", parse(registered=False, registrar="mcu1.vc.example"), NOW))
    assert health.state is EndpointState.DOWN
    assert health.reasons == ("not registered to mcu1.vc.example",)


@pytest.mark.parametrize("parse", [_cisco, _poly])
def test_in_call_reports_remote_and_loss(parse) -> None:
    status = parse(remote="sip:hop@mcu1.vc.example", loss_ratio=0.04)
    assert status.in_call and status.remote == "sip:hop@mcu1.vc.example"
    assert status.loss_ratio == pytest.approx(0.04, abs=0.002)
    health = judge(observation("x", status, NOW))
    assert health.state is EndpointState.DEGRADED
    assert health.reasons == ("loss 4% to bridge",) and health.measurements["in_call"] == 1.0


def test_display_off_on_cisco() -> None:
    health = judge(observation("x", _cisco(displays=[False]), NOW))
    assert health.reasons == ("display disconnected",)


def test_codec_with_no_camera_at_all_says_so() -> None:
    assert judge(observation("x", _cisco(cameras=[]), NOW)).reasons == ("no camera found",)


@pytest.mark.parametrize(
    "body",
    [b"<Status><Audio>", b"not xml at all", b"<?xml version='1.0'?><XmlDoc/>", b""],
)
def test_cisco_malformed_status_is_a_bad_response(body: bytes) -> None:
    with pytest.raises(PollFailure) as caught:
        cisco.parse_status(body)
    assert caught.value.kind is FailureKind.BAD_RESPONSE


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        (poly.parse_system, b'{"model": "G75'),
        (poly.parse_system, b"[]"),
        (lambda b: poly.parse_devices(b, CodecStatus()), b'{"camera": 1}'),
        (poly.parse_conferences, b'[{"connections": []}]'),
        (poly.parse_mediastats, b'{"rx": 1}'),
        (poly.parse_login, b'{"success": true, "session": {}}'),
    ],
)
def test_poly_malformed_json_is_a_bad_response(parse, body: bytes) -> None:
    with pytest.raises(PollFailure) as caught:
        parse(body)
    assert caught.value.kind is FailureKind.BAD_RESPONSE


def test_poly_login_refusal_is_an_auth_failure() -> None:
    with pytest.raises(PollFailure) as caught:
        poly.parse_login(b'{"success": false, "reason": "Invalid credentials"}')
    assert caught.value.kind is FailureKind.AUTH


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (PollFailure(FailureKind.AUTH, "HTTP 401"), "codec auth failed (HTTP 401)"),
        (PollFailure(FailureKind.UNREACHABLE, "connection refused"),
         "codec unreachable (connection refused)"),
        (PollFailure(FailureKind.TIMEOUT), "codec did not answer in time"),
    ],
)  # fmt: skip
def test_poll_failures_are_down_with_their_reason(failure: PollFailure, reason: str) -> None:
    health = judge(failure_observation("x", failure, NOW))
    assert health.state is EndpointState.DOWN
    assert health.reasons == (reason,) and health.codes == ("codec",)
