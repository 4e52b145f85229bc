"""The conflicts as the API carries them (docs/api.md), checked on the domain objects themselves.

The API tests see these shapes only through a running server, which the mutation run of the
domain leaves out; these pin each key, the local times and the refusal reason's precedence.
"""

from __future__ import annotations

from datetime import UTC, datetime

from confsched.domain.conflicts import (
    REFUSAL_REASONS,
    EndpointConflict,
    PortsConflict,
    SizeConflict,
    refusal_reason,
)

TZ = "Asia/Ho_Chi_Minh"
START = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 08:00 in the province
END = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
SETUP = datetime(2026, 12, 7, 0, 45, tzinfo=UTC)


def endpoint_conflict(wanted: datetime | None = None) -> EndpointConflict:
    return EndpointConflict("ubnd-dai-tu", "UBND huyện Đại Từ", "s-1", "Giao ban tháng 12",
                            START, END, SETUP, TZ, wanted)  # fmt: skip


def test_an_endpoint_conflict_has_the_api_shape_in_local_time() -> None:
    assert endpoint_conflict(wanted=SETUP).as_dict() == {
        "kind": "endpoint",
        "endpoint": "ubnd-dai-tu",
        "endpoint_name": "UBND huyện Đại Từ",
        "session": "s-1",
        "title": "Giao ban tháng 12",
        "start": "2026-12-07T08:00:00+07:00",
        "end": "2026-12-07T09:30:00+07:00",
        "busy_from": "2026-12-07T07:45:00+07:00",
        "wanted_start": "2026-12-07T07:45:00+07:00",
    }
    assert endpoint_conflict().as_dict()["wanted_start"] is None


def test_a_ports_conflict_says_how_many_are_needed_and_free_per_bridge() -> None:
    conflict = PortsConflict(130, 96, START, END, TZ, {"mcu-tinh-1": 0, "mcu-tinh-2": 96})
    assert conflict.as_dict() == {
        "kind": "ports",
        "needed": 130,
        "free": 96,
        "start": "2026-12-07T08:00:00+07:00",
        "end": "2026-12-07T09:30:00+07:00",
        "message": "2026-12-07 08:00: needs 130 bridge ports, only 96 free "
        "(mcu-tinh-1 0, mcu-tinh-2 96)",
        "free_by_bridge": {"mcu-tinh-1": 0, "mcu-tinh-2": 96},
    }


def test_a_size_conflict_names_the_limit() -> None:
    assert SizeConflict(1200, 1000).as_dict() == {
        "kind": "size",
        "chosen": 1200,
        "limit": 1000,
        "message": "1200 endpoints chosen; a session holds at most 1000",
    }


def test_the_refusal_reason_is_a_room_taken_then_ports_then_size() -> None:
    ports = PortsConflict(130, 96, START, END, TZ)
    size = SizeConflict(1200, 1000)
    assert refusal_reason([size, ports, endpoint_conflict()]) == "endpoint_conflict"
    assert refusal_reason([size, ports]) == "ports_conflict"
    assert refusal_reason([size]) == "too_many_endpoints"
    assert refusal_reason([]) == "other"
    assert REFUSAL_REASONS == ("endpoint_conflict", "ports_conflict", "too_many_endpoints", "other")
