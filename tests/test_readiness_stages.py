"""Readiness stages, a fleet setting: a forecast a day before, a self-test an hour before and at
the setup time by default; each stage's "ready N of M" kept and shown; a room fixed between
stages turns ready."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import sqlite_utils

from confsched.domain.model import Readiness
from confsched.domain.stages import (
    DEFAULT_STAGES,
    ReadinessStage,
    StageKind,
    due_stage,
    parse_stage,
)
from confsched.errors import FleetInvalid
from confsched.fleetfile import parse_fleet_text
from confsched.runtime.components import Components
from confsched.services.readiness import readiness_summary
from confsched.store.health import StageRecord, load_stages, save_stage
from confsched.store.inventory import load_fleet, save_fleet
from tests.conftest import http_url
from tests.test_agentlink import Room, enrolled, make_agent
from tests.test_fleetfile import GOOD
from tests.test_metrics_booking import book

START = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
SETUP = timedelta(minutes=15)
READY, ABSENT = "tinh-uy", "hdnd-tinh"


def test_the_default_stages_are_a_forecast_a_day_before_then_two_self_tests() -> None:
    assert [s.name for s in DEFAULT_STAGES] == ["forecast 24h", "selftest 60m", "selftest setup"]
    assert [parse_stage(s.name) for s in DEFAULT_STAGES] == list(DEFAULT_STAGES)
    assert parse_stage("selftest 2d") == ReadinessStage(StageKind.SELFTEST, timedelta(days=2))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("forecast", "must look like"),
        ("selftest 90 minutes", "must look like"),
        ("forecast setup", "needs a lead"),
        ("selftest 30d", "from 1m to 7d"),
    ],
)
def test_a_malformed_stage_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_stage(text)


@pytest.mark.parametrize(
    ("before", "done", "due"),
    [
        (timedelta(hours=25), set(), None),
        (timedelta(hours=20), set(), "forecast 24h"),
        (timedelta(hours=20), {"forecast 24h"}, None),
        (timedelta(minutes=50), {"forecast 24h"}, "selftest 60m"),
        (timedelta(minutes=50), set(), "selftest 60m"),  # a missed forecast is skipped
        (timedelta(minutes=10), {"forecast 24h", "selftest 60m"}, "selftest setup"),
        (timedelta(minutes=10), {"selftest setup"}, None),
        (-timedelta(minutes=1), set(), None),  # started: no stage looks any more
    ],
)
def test_the_latest_stage_that_came_looks_once(
    before: timedelta, done: set[str], due: str | None
) -> None:
    stage = due_stage(DEFAULT_STAGES, START, SETUP, START - before, done)
    assert (stage.name if stage else None) == due


def test_the_stages_are_a_fleet_setting_stored_with_the_fleet(db: sqlite_utils.Database) -> None:
    text = GOOD.replace(
        "  timezone: Asia/Ho_Chi_Minh\n",
        "  timezone: Asia/Ho_Chi_Minh\n  readiness_stages: [forecast 2d, selftest 30m]\n",
    )
    fleet = parse_fleet_text(text, "f.yaml")
    assert [s.name for s in fleet.readiness_stages] == ["forecast 2d", "selftest 30m"]
    save_fleet(db, fleet)
    stored = load_fleet(db)
    assert stored is not None and stored.readiness_stages == fleet.readiness_stages
    assert parse_fleet_text(GOOD, "f.yaml").readiness_stages == DEFAULT_STAGES


def test_a_bad_stage_in_the_fleet_file_is_refused_with_its_line() -> None:
    text = GOOD.replace(
        "  timezone: Asia/Ho_Chi_Minh\n",
        "  timezone: Asia/Ho_Chi_Minh\n  readiness_stages:\n    - selftest 60m\n    - soon\n",
    )
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(text, "f.yaml")
    assert [str(p) for p in refused.value.problems] == [
        "f.yaml:6: readiness stage 'soon' must look like 'forecast 24h', 'selftest 60m' or "
        "'selftest setup'"
    ]


async def until(check, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_each_stage_keeps_its_count_and_a_room_fixed_between_stages_turns_ready(
    server: Components, monkeypatch: pytest.MonkeyPatch
) -> None:
    from confsched.runtime import readiness

    monkeypatch.setattr(readiness, "RECHECK_SECONDS", 0.3)
    monkeypatch.setattr(readiness, "POLL_SECONDS", 0.1)
    store, fleet = server.ctx.store, server.ctx.fleet
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    tomorrow = await store.write(book, fleet, f"{READY},{ABSENT}", now + timedelta(hours=20))
    soon = await store.write(book, fleet, f"{READY},{ABSENT}", now + timedelta(minutes=45))

    async def stages(session_id: str, start: datetime) -> list[tuple[str, str]]:
        records = await store.read(load_stages, session_id, start)
        return [(r.stage, f"ready {r.ready} of {r.total}") for r in records]

    async def forecast_kept() -> bool:
        return await stages(tomorrow.id, tomorrow.start) == [("forecast 24h", "ready 0 of 2")]

    async def selftest_kept() -> bool:
        return await stages(soon.id, soon.start) == [("selftest 60m", "ready 0 of 2")]

    await until(forecast_kept)  # nobody has reported: neither would be ready
    await until(selftest_kept)  # nobody connected: no answer from either
    _agent, link, _ = make_agent(await enrolled(server, READY), Room())
    task = asyncio.create_task(link.run())

    async def turned_ready() -> bool:
        summary = await store.read(readiness_summary, soon.id, None)
        return {r.endpoint: r.status for r in summary.rows}.get(READY) is Readiness.READY

    try:
        await until(turned_ready)  # asked again before the next stage: ready now
    finally:
        link.stop()
        await task
    assert await selftest_kept()  # the stage's own count is kept as it was
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            http_url(server, f"/api/v1/sessions/{soon.id}/readiness"),
            headers={"Authorization": f"Bearer {server.ctx.operator_token}"},
        ) as resp,
    ):
        body = await resp.json()
    assert body["text"] == "ready 1 of 2"
    assert [(s["stage"], s["text"]) for s in body["stages"]] == [("selftest 60m", "ready 0 of 2")]
    assert body["stages"][0]["at"].endswith("+07:00")


def test_sessions_show_lists_each_stage_kept(
    db: sqlite_utils.Database,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    fleet = load_fleet(db)
    assert fleet is not None
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=40)
    session = book(db, fleet, f"{READY},{ABSENT}", start)
    asked = start - timedelta(hours=23)
    save_stage(db, StageRecord(session.id, start, "forecast 24h", asked, 1, 2))
    save_stage(db, StageRecord(session.id, start, "selftest 60m", start - timedelta(hours=1), 2, 2))
    shown = cli("sessions", "show", session.id)
    assert shown.code == 0, shown.err
    assert "Stages:" in shown.out
    assert "forecast 24h" in shown.out and "ready 1 of 2" in shown.out
    assert "selftest 60m" in shown.out and "ready 2 of 2" in shown.out
    data = cli("sessions", "show", session.id, "--json")
    kept = json.loads(data.out)["readiness_detail"]["stages"]
    assert [(s["stage"], s["ready"], s["total"]) for s in kept] == [
        ("forecast 24h", 1, 2),
        ("selftest 60m", 2, 2),
    ]
