"""The agent protocol: round trips, limits, and clear refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from confsched_agent import wire
from confsched_agent.wire import Ack, Call, Check, Command, LineSplitter, Reject, Report, WireError
from hypothesis import given
from hypothesis import strategies as st

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def report(**changes: object) -> Report:
    base = {
        "seq": 7,
        "time": T0,
        "checks": {"camera": Check(True), "audio": Check(False, "no microphone")},
        "measurements": {"rtt_ms": 18.5, "loss_ratio": 0.0},
        "interval": 10.0,
        "endpoint": "tn-ubnd",
    }
    base.update(changes)
    return Report(**base)  # type: ignore[arg-type]


def test_report_round_trips_as_one_line() -> None:
    line = wire.encode(report())
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert wire.decode(line) == report()


def test_vietnamese_detail_survives_the_wire() -> None:
    msg = report(checks={"client": Check(False, "Phần mềm hội nghị chưa chạy")})
    assert wire.decode(wire.encode(msg)).checks["client"].detail == "Phần mềm hội nghị chưa chạy"


def test_the_call_is_optional_and_round_trips() -> None:
    assert b'"call"' not in wire.encode(report())  # an agent that cannot tell says nothing
    for call in (Call(True, "sip:mcu-tinh@vc.thainguyen.gov.vn"), Call(False)):
        assert wire.decode(wire.encode(report(call=call))).call == call


@pytest.mark.parametrize(
    "msg", [Ack(12), Reject("bad_field", "seq must be…", 3), Command(1, "selftest")]
)
def test_control_messages_round_trip(msg: object) -> None:
    assert wire.decode(wire.encode(msg)) == msg  # type: ignore[arg-type]


def test_set_interval_needs_an_interval() -> None:
    line = json.dumps({"v": 1, "type": "command", "id": 1, "name": "set_interval"})
    with pytest.raises(WireError, match="needs an interval"):
        wire.decode(line)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json at all", "not_json"),
        (b"[1, 2]", "bad_message"),
        (b'{"v": 2, "type": "ack", "seq": 1}', "bad_version"),
        (b'{"v": true, "type": "ack", "seq": 1}', "bad_version"),
        (b'{"v": 1, "type": "shout"}', "bad_type"),
        (b'{"v": 1, "type": "ack", "seq": -1}', "bad_field"),
        (b'{"v": 1, "type": "ack", "seq": 1.5}', "bad_field"),
        (b'{"v": 1, "type": "report", "seq": 1, "time": "yesterday"}', "bad_field"),
        (b'{"v": 1, "type": "report", "seq": 1, "time": "2026-12-07T01:00:00"}', "bad_field"),
        (b'{"v": 1, "type": "report", "seq": 1, "time": "1970-01-01T00:00:00+00:00"}', "bad_field"),
        (b'\xff\xfe{"v": 1}', "not_json"),
    ],
)
def test_malformed_lines_are_refused_with_a_reason(line: bytes, reason: str) -> None:
    with pytest.raises(WireError) as caught:
        wire.decode(line)
    assert caught.value.reason == reason


def _raw_report(**fields: object) -> bytes:
    obj = {"v": 1, "type": "report", "seq": 3, "time": "2026-12-07T01:00:00+00:00"}
    obj.update(fields)
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    "fields",
    [
        {"measurements": {"rtt_ms": 1e300}},
        {"measurements": {"rtt_ms": "fast"}},
        {"measurements": {"rtt_ms": True}},
        {"measurements": {"rtt_ms": -3.0}},
        {"measurements": {"jitter_ms": -0.5}},
        {"measurements": {"loss_ratio": -0.1}},
        {"measurements": {"loss_ratio": 1.5}},
        {"measurements": {f"m{i}": 1 for i in range(wire.MAX_MEASUREMENTS + 1)}},
        {"checks": {"camera": {"ok": 1}}},
        {"checks": {"Camera!": {"ok": True}}},
        {"checks": {"camera": {"ok": False, "detail": "x" * 201}}},
        {"interval": 0.1},
        {"endpoint": "../../etc"},
        {"call": {"active": "yes"}},
        {"call": {"active": True, "remote": "x" * 201}},
        {"call": []},
    ],
)
def test_report_field_values_are_bounded(fields: dict[str, object]) -> None:
    with pytest.raises(WireError) as caught:
        wire.decode(_raw_report(**fields))
    assert caught.value.reason == "bad_field"
    assert caught.value.seq == 3  # so the scheduler can tell the agent which report it refused


def test_oversized_line_is_refused_before_parsing() -> None:
    with pytest.raises(WireError, match="too_long"):
        wire.decode(b"{" + b" " * wire.MAX_LINE + b"}")


def test_splitter_skips_an_oversized_line_and_keeps_the_next() -> None:
    splitter = LineSplitter(limit=100)
    out = splitter.feed(b"a" * 60) + splitter.feed(b"b" * 60) + splitter.feed(b"c\nok\n")
    assert isinstance(out[0], WireError) and out[0].reason == "too_long"
    assert out[1:] == [b"ok"]


def test_splitter_joins_lines_split_across_chunks() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b'{"a":') == []
    assert splitter.feed(b"1}\n\n{") == [b'{"a":1}']
    assert splitter.feed(b"}\n") == [b"{}"]


@given(
    seq=st.integers(0, wire.MAX_SEQ),
    values=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True),  # no unit suffix: any sign
        st.floats(-1e12, 1e12, allow_nan=False),
        max_size=10,
    ),
    detail=st.text(max_size=50),
)
def test_any_valid_report_round_trips(seq: int, values: dict[str, float], detail: str) -> None:
    msg = report(seq=seq, measurements=values, checks={"camera": Check(None, detail)})
    assert wire.decode(wire.encode(msg)) == msg


@pytest.mark.parametrize("seq", [0, 1, 17, 2**53])
def test_the_ack_fast_path_is_the_encoded_ack_byte_for_byte(seq: int) -> None:
    assert wire.encode_ack(seq) == wire.encode(wire.Ack(seq))
    assert wire.decode(wire.encode_ack(seq)) == wire.Ack(seq)


@pytest.mark.parametrize("seq", [-1, 2**53 + 1, True, 1.0])
def test_the_ack_fast_path_refuses_what_no_ack_carries(seq: object) -> None:
    with pytest.raises(wire.WireError):
        wire.encode_ack(seq)  # type: ignore[arg-type]


def test_a_measurement_name_seen_before_is_still_held_to_its_unit() -> None:
    """Each name's unit is worked out once and remembered: the rule holds the second time."""
    for name, good, bad in (
        ("uptime_s", 5.0, -5.0),
        ("cpu_ratio", 0.5, 1.01),
        ("temp_c", -4.0, 2e15),
    ):
        assert wire.decode(_raw_report(measurements={name: good})).measurements == {name: good}
        with pytest.raises(WireError):
            wire.decode(_raw_report(measurements={name: bad}))
    assert wire.decode(_raw_report(measurements={"temp_c": -40})).measurements == {"temp_c": -40.0}


@given(st.floats(min_value=0, max_value=wire.MAX_BUSY_DELAY, allow_nan=False))
def test_a_busy_answer_names_its_delay_to_a_tenth_of_a_second(seconds: float) -> None:
    said = wire.busy_text(seconds)
    heard = wire.busy_delay(said + " (error 12)")  # asyncssh appends the code
    assert heard is not None and abs(heard - seconds) <= 0.05 + 1e-9


@pytest.mark.parametrize(
    "text",
    ["", "too many connections", "busy: come back in soon s", "busy: come back in -3 s", "x" * 9],
)
def test_any_other_disconnect_text_is_no_busy_answer(text: str) -> None:
    assert wire.busy_delay(text) is None


def test_a_busy_answer_never_asks_for_more_than_ten_minutes() -> None:
    assert wire.busy_delay(wire.busy_text(1e9)) == wire.MAX_BUSY_DELAY == 600.0
    assert wire.busy_delay("busy: come back in 9999.9 s") == wire.MAX_BUSY_DELAY


@pytest.mark.parametrize(
    "line",
    [
        b'{"v":1,"type":"ack","seq":3}',
        b'{"v":1,"type":"ack","seq":3}\n',
        b'  {"v":1,"type":"ack","seq":3}\r\n',
        b'\xef\xbb\xbf{"v":1,"type":"ack","seq":3}',
        '{"v":1,"type":"ack","seq":3}',
        '{"v":1,"type":"ack","seq":3}'.encode("utf-16"),
    ],
)
def test_the_quick_parse_takes_what_json_loads_takes(line: bytes | str) -> None:
    assert json.loads(line) == {"v": 1, "type": "ack", "seq": 3}
    assert wire.decode(line) == Ack(3)


@pytest.mark.parametrize(
    "line",
    [
        b'{"v":1,"type":"ack","seq":3} x',
        b'{"v":1,"type":"ack","seq":3}{}',
        b"",
        b" ",
        b"{",
        b"\xff",
    ],
)
def test_the_quick_parse_refuses_what_json_loads_refuses(line: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(line)
    with pytest.raises(WireError) as refused:
        wire.decode(line)
    assert refused.value.reason == "not_json"


def test_a_check_with_more_than_ok_true_is_still_checked() -> None:
    line = b'{"v":1,"type":"report","seq":1,"time":"2026-12-07T01:00:00+00:00","checks":%s}'
    assert wire.decode(line % b'{"camera":{"ok":true}}').checks == {"camera": Check(True)}
    assert wire.decode(line % b'{"camera":{"ok":true,"detail":"x"}}').checks == {
        "camera": Check(True, "x")
    }
    for bad in (b'{"camera":{"ok":1}}', b'{"Camera!":{"ok":true}}', b'{"camera":[true]}'):
        with pytest.raises(WireError):
            wire.decode(line % bad)
