"""``confsched health``, ``rooms show``'s health, ``sessions risk`` and ``sessions show``'s
readiness, read from the store alone (no running scheduler)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

from confsched.domain.health import Observation, judge
from confsched.domain.model import Readiness
from confsched.services.booking import book, parse_request
from confsched.store.health import (
    ReadinessRow,
    StoredHealth,
    enroll_key,
    revoke_key,
    save_health,
    save_readiness,
)
from confsched.store.health_history import HistoryKeeper
from tests.conftest import SAMPLE_TZ

DOWN, SLOW, OK, REVOKED = "h-vo-nhai", "dt-la-bang", "tinh-uy", "ubnd-tinh"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdp0i8Ck2Y0I2dT3qC3v0b1j6mXx9n0Q0xJmHqf3Y9a test"


def report(
    db: sqlite_utils.Database,
    endpoint: str,
    checks: dict,
    ago: float = 2.0,
    seq: int = 1,
    measurements: dict | None = None,
) -> None:
    when = datetime.now(UTC) - timedelta(seconds=ago)
    health = judge(Observation(endpoint, when, checks, {}, measurements or {}))
    save_health(db, [StoredHealth(health, seq, when, 10.0)], HistoryKeeper())


def province(db: sqlite_utils.Database) -> None:
    """One room down, one degraded, one ok, one revoked and silent; the rest never reported."""
    now = datetime.now(UTC)
    for endpoint in (DOWN, SLOW, OK, REVOKED):
        enroll_key(db, endpoint, KEY, now)
    report(db, DOWN, {"camera": False})
    report(db, SLOW, {"camera": True}, measurements={"loss_ratio": 0.05})
    report(db, OK, {"camera": True})
    report(db, REVOKED, {"camera": True}, ago=300)
    revoke_key(db, REVOKED, now)


def book_tomorrow(db: sqlite_utils.Database, fleet, selectors: str = "all") -> str:  # type: ignore[no-untyped-def]
    """A session 12-13 hours ahead: inside the day-before forecast, before any self-test,
    whatever the hour the tests run at (a fixed 09:00 tomorrow is 33 h away just after midnight)."""
    ahead = (datetime.now(SAMPLE_TZ) + timedelta(hours=13)).replace(minute=0, second=0)
    request = parse_request(
        fleet,
        title="Họp tỉnh ngày mai",
        with_=selectors,
        start=f"{ahead:%Y-%m-%d %H:%M}",
        duration="2h",
    )
    return book(db, fleet, request).id


def test_health_counts_all_five_states_and_lists_every_room_not_ok(cli, db) -> None:  # type: ignore[no-untyped-def]
    province(db)
    result = cli("health", "--json")
    assert result.code == 0, result.err
    body = result.json()
    assert body["counts"] == {"ok": 1, "degraded": 1, "down": 1, "offline": 1, "unknown": 188}
    listed = {e["endpoint"]: e for e in body["endpoints"]}
    assert OK not in listed and len(listed) == 191
    assert listed[DOWN]["reasons"] == ["camera missing"]
    assert listed[DOWN]["bridge"] == "mcu-tinh-1"
    assert listed[DOWN]["last_report_at"].endswith("+07:00")
    assert listed[REVOKED]["reasons"][0] == "agent key revoked"
    assert listed["dt-cu-van"]["reasons"] == ["no agent enrolled", "never reported"]
    assert body["endpoints"][0]["endpoint"] == DOWN  # worst first


def test_health_state_filter_lists_only_down_rooms_in_text(cli, db) -> None:  # type: ignore[no-untyped-def]
    province(db)
    result = cli("health", "--state", "down")
    assert result.code == 0, result.err
    assert "ok 1 · degraded 1 · down 1 · offline 1 · unknown 188" in result.out
    lines = result.out.splitlines()
    assert len(lines) == 3 and DOWN in lines[2] and "camera missing" in lines[2]


def test_health_with_selectors_counts_only_those_rooms(cli, db) -> None:  # type: ignore[no-untyped-def]
    province(db)
    body = cli("health", "--with", f"{DOWN},{OK}", "--json").json()
    assert body["counts"] == {"ok": 1, "degraded": 0, "down": 1, "offline": 0, "unknown": 0}


def test_health_refuses_an_unknown_state_with_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("health", "--state", "down,broken")
    assert result.code == 1
    assert result.err.strip() == (
        "error: state 'broken' must be one of ok, degraded, down, offline, unknown"
    )


def test_rooms_show_gives_health_checks_and_the_changes_of_the_day(cli, db) -> None:  # type: ignore[no-untyped-def]
    enroll_key(db, DOWN, KEY, datetime.now(UTC))
    report(db, DOWN, {"camera": True, "audio": True}, ago=600, seq=1)
    report(db, DOWN, {"camera": False, "audio": True}, ago=5, seq=2)
    result = cli("rooms", "show", DOWN)
    assert result.code == 0, result.err
    assert "Health:    down — camera missing" in result.out
    assert "Checks:    audio ok, camera FAILED" in result.out
    body = cli("rooms", "show", DOWN, "--json").json()
    assert [c["state"] for c in body["health"]["changes"]] == ["ok", "offline", "down"]
    assert body["health"]["checks"] == {"audio": True, "camera": False}


def test_sessions_risk_names_tomorrows_session_and_its_down_rooms(cli, db, fleet) -> None:  # type: ignore[no-untyped-def]
    province(db)
    session_id = book_tomorrow(db, fleet)
    result = cli("sessions", "risk", "--within", "48h")
    assert result.code == 0, result.err
    assert session_id in result.out and "ready 1 of 192" in result.out
    down_line = next(line for line in result.out.splitlines() if DOWN in line)
    assert "down" in down_line and "camera missing" in down_line
    body = cli("sessions", "risk", "--within", "48h", "--json").json()
    (one,) = body
    assert one["session_id"] == session_id and one["at_risk"] == 191
    assert one["rooms"][0]["endpoint"] == DOWN
    revoked = next(r for r in one["rooms"] if r["endpoint"] == REVOKED)
    assert revoked["reasons"][0] == "agent key revoked"


def test_sessions_risk_says_so_when_nothing_is_at_risk(cli, db, fleet) -> None:  # type: ignore[no-untyped-def]
    province(db)
    book_tomorrow(db, fleet, OK)
    result = cli("sessions", "risk", "--within", "48h")
    assert result.out.strip() == "no session within 48h has a room at risk"


def test_sessions_show_in_setup_window_lists_every_rooms_readiness(cli, db, fleet) -> None:  # type: ignore[no-untyped-def]
    start = (datetime.now(SAMPLE_TZ) + timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M")
    request = parse_request(
        fleet, title="Giao ban", with_=f"{DOWN},{OK},{SLOW}", start=start, duration="1h"
    )
    session = book(db, fleet, request)
    answered = datetime.now(UTC).replace(microsecond=0)
    rows = [
        ReadinessRow(session.id, session.start, OK, Readiness.READY, "", answered, answered),
        ReadinessRow(
            session.id,
            session.start,
            DOWN,
            Readiness.NOT_READY,
            "camera missing",
            answered,
            answered,
        ),
    ]
    save_readiness(db, rows)
    result = cli("sessions", "show", session.id)
    assert result.code == 0, result.err
    assert "Readiness:  ready 1 of 3 (self-test)" in result.out
    down_line = next(line for line in result.out.splitlines() if line.strip().startswith(DOWN))
    assert "not_ready" in down_line and "camera missing" in down_line
    assert any(
        line.strip().startswith(SLOW) and "pending" in line for line in result.out.splitlines()
    )
    detail = cli("sessions", "show", session.id, "--json").json()["readiness_detail"]
    assert detail["stage"] == "selftest" and detail["text"] == "ready 1 of 3"
    by_room = {r["endpoint"]: r for r in detail["endpoints"]}
    assert by_room[DOWN] == {
        "endpoint": DOWN,
        "endpoint_name": fleet.endpoints[DOWN].name,
        "status": "not_ready",
        "reasons": ["camera missing"],
        "at": answered.astimezone(SAMPLE_TZ).isoformat(),
    }
    assert by_room[SLOW]["status"] == "pending" and by_room[SLOW]["at"] is None


def test_sessions_show_of_tomorrows_session_gives_the_forecast(cli, db, fleet) -> None:  # type: ignore[no-untyped-def]
    province(db)
    session_id = book_tomorrow(db, fleet, f"{DOWN},{OK}")
    result = cli("sessions", "show", session_id)
    assert "Readiness:  ready 1 of 2 (forecast from current health)" in result.out
    assert any(DOWN in line and "camera missing" in line for line in result.out.splitlines())


def test_health_without_a_fleet_says_what_to_do(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("health", data=tmp_path / "empty")
    assert result.code == 1 and "rooms import" in result.err


def test_rooms_show_history_sums_the_hour_cells_per_day_and_refuses_a_bad_span(cli, db) -> None:  # type: ignore[no-untyped-def]
    report(db, DOWN, {"camera": True}, ago=600, seq=1, measurements={"rtt_ms": 30.0})
    report(db, DOWN, {"camera": False}, ago=5, seq=2, measurements={"rtt_ms": 80.0})
    body = cli("rooms", "show", DOWN, "--history", "7d", "--json").json()
    days = body["history"]  # one local day, or two when the ten minutes cross midnight
    assert sum(d["reports"] for d in days) == 2 and sum(d["ok_reports"] for d in days) == 1
    # the ten silent minutes between them made the room offline: the worst of that hour
    assert days[-1]["worst"] == "offline" and max(d["rtt_ms_max"] for d in days) == 80.0
    text = cli("rooms", "show", DOWN, "--history", "7d")
    assert "History:" in text.out and "rtt max 80 ms" in text.out
    refused = cli("rooms", "show", DOWN, "--history", "7 days")
    assert refused.code == 1
    assert refused.err.strip() == (
        "error: --history: '7 days' must be a span such as 6h, 30d, 8w, 13mo or 2y"
    )


def test_the_text_tables_say_what_the_json_says(cli, db, fleet) -> None:  # type: ignore[no-untyped-def]
    """``health`` and ``sessions risk`` print their tables from the health and the forecast
    themselves (10,000 ``--json`` views were a fifth of their time): the same rooms, states,
    bridges and reasons, in the same order, as their ``--json`` (figures aside: a silence is a
    second longer by the second call, "4 min" may have become "5 min")."""
    province(db)
    session_id = book_tomorrow(db, fleet)
    text = cli("health").out.splitlines()[2:]  # counts, header
    rooms = cli("health", "--json").json()["endpoints"]
    assert len(text) == len(rooms) == 191
    for line, room in zip(text, rooms, strict=True):
        cells = [
            room["endpoint"],
            room["state"],
            room["bridge"],
            _figureless("; ".join(room["reasons"])),
        ]
        assert line.split()[:2] == cells[:2] and _figureless(line).endswith(cells[3]), line
        assert f"  {cells[2]}  " in line, line
    (risk,) = cli("sessions", "risk", "--within", "48h", "--json").json()
    lines = cli("sessions", "risk", "--within", "48h").out.splitlines()
    start = risk["start"][:16].replace("T", " ")
    assert lines[0] == f"{session_id}  {start}  {risk['title']}  — {risk['text']}"
    assert lines[-1] == "" and len(lines) == 2 + len(risk["rooms"]) + 1
    for line, room in zip(lines[2:-1], risk["rooms"], strict=True):
        cells = [
            room["endpoint"],
            room["state"],
            room["bridge"],
            _figureless("; ".join(room["reasons"])),
        ]
        assert line.split()[:3] == cells[:3] and _figureless(line).endswith(cells[3]), line


def _figureless(text: str) -> str:
    return re.sub(r"\d+", "N", text)
