"""Two small pure rules at their edges: when each readiness stage looks and how it is named, and
what names a token may carry and how it is kept (found unpinned by the mutation run)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from confsched.domain.access import Role, new_token, token_digest, token_name_problem
from confsched.domain.stages import (
    DEFAULT_STAGES,
    ReadinessStage,
    StageKind,
    due_stage,
    first_selftest_at,
    lead,
    ordered,
    parse_stage,
)

START = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
SETUP = timedelta(minutes=30)
FORECAST, SELFTEST = StageKind.FORECAST, StageKind.SELFTEST


@pytest.mark.parametrize(
    ("text", "kind", "before", "name"),
    [
        ("forecast 24h", FORECAST, timedelta(hours=24), "forecast 24h"),
        (" SELFTEST  60m ", SELFTEST, timedelta(minutes=60), "selftest 60m"),
        ("selftest setup", SELFTEST, None, "selftest setup"),
        ("forecast 1m", FORECAST, timedelta(minutes=1), "forecast 1m"),
        ("forecast 7d", FORECAST, timedelta(days=7), "forecast 7d"),
        ("forecast 2d", FORECAST, timedelta(days=2), "forecast 2d"),
        ("forecast 1d", FORECAST, timedelta(days=1), "forecast 24h"),
        ("forecast 48h", FORECAST, timedelta(days=2), "forecast 2d"),
        ("forecast 36h", FORECAST, timedelta(hours=36), "forecast 36h"),
        ("selftest 2h", SELFTEST, timedelta(hours=2), "selftest 2h"),
        ("selftest 90m", SELFTEST, timedelta(minutes=90), "selftest 90m"),
        ("selftest 1h", SELFTEST, timedelta(hours=1), "selftest 60m"),
        ("selftest 119m", SELFTEST, timedelta(minutes=119), "selftest 119m"),
        ("forecast 2880m", FORECAST, timedelta(days=2), "forecast 2d"),
        ("forecast 2820m", FORECAST, timedelta(minutes=2820), "forecast 47h"),
    ],
)
def test_stages_read_and_named_as_the_fleet_file_says_them(text, kind, before, name) -> None:
    stage = parse_stage(text)
    assert (stage.kind, stage.before, stage.name) == (kind, before, name)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("forecast setup", "a forecast stage needs a lead such as 'forecast 24h'"),
        ("forecast 0m", "readiness stage 'forecast 0m': the lead must be from 1m to 7d"),
        ("selftest 8d", "readiness stage 'selftest 8d': the lead must be from 1m to 7d"),
        ("forecast 169h", "readiness stage 'forecast 169h': the lead must be from 1m to 7d"),
        (
            "forecast 24 h",
            "readiness stage 'forecast 24 h' must look like 'forecast 24h', 'selftest 60m' or "
            "'selftest setup'",
        ),
        (
            "forecast 12345m",
            "readiness stage 'forecast 12345m' must look like 'forecast 24h', 'selftest 60m' or "
            "'selftest setup'",
        ),
    ],
)
def test_a_bad_stage_says_why(text: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_stage(text)
    assert str(refused.value) == message


def test_each_stage_looks_at_its_lead_before_the_start_or_at_the_setup_time() -> None:
    forecast, hour, setup = DEFAULT_STAGES
    assert forecast.at(START, SETUP) == START - timedelta(hours=24)
    assert hour.at(START, SETUP) == START - timedelta(hours=1)
    assert setup.at(START, SETUP) == START - SETUP


def test_stages_are_ordered_earliest_first_for_the_sessions_setup_lead() -> None:
    stages = [DEFAULT_STAGES[2], DEFAULT_STAGES[0], DEFAULT_STAGES[1]]
    assert ordered(stages, SETUP) == list(DEFAULT_STAGES)
    long_setup = timedelta(hours=2)  # the setup look now comes before the hour's self-test
    assert ordered(stages, long_setup) == [DEFAULT_STAGES[0], DEFAULT_STAGES[2], DEFAULT_STAGES[1]]


@pytest.mark.parametrize(
    ("before_start", "done", "expected"),
    [
        (timedelta(hours=25), set(), None),
        (timedelta(hours=24), set(), "forecast 24h"),
        (timedelta(hours=24), {"forecast 24h"}, None),
        (timedelta(minutes=61), {"forecast 24h"}, None),
        (timedelta(minutes=60), {"forecast 24h"}, "selftest 60m"),
        (timedelta(minutes=30), set(), "selftest setup"),  # missed ones skipped: only the latest
        (timedelta(minutes=30), {"selftest setup"}, None),
        (timedelta(minutes=1), {"forecast 24h", "selftest 60m"}, "selftest setup"),
        (timedelta(0), set(), None),
        (-timedelta(minutes=5), set(), None),
    ],
)
def test_the_due_stage_is_the_latest_that_came_and_has_not_looked(
    before_start: timedelta, done: set[str], expected: str | None
) -> None:
    due = due_stage(DEFAULT_STAGES, START, SETUP, START - before_start, done)
    assert (due.name if due else None) == expected


def test_the_first_self_test_and_the_earliest_look() -> None:
    assert first_selftest_at(DEFAULT_STAGES, START, SETUP) == START - timedelta(hours=1)
    only_forecast = (ReadinessStage(FORECAST, timedelta(hours=3)),)
    assert first_selftest_at(only_forecast, START, SETUP) is None
    assert lead(DEFAULT_STAGES, SETUP) == timedelta(hours=24)
    assert lead((ReadinessStage(SELFTEST, None),), SETUP) == SETUP
    assert lead((), SETUP) == SETUP
    ten = timedelta(minutes=10)  # no setup look: the earliest look is the only one
    assert lead((ReadinessStage(SELFTEST, ten),), SETUP) == ten


def test_a_token_is_long_random_and_kept_as_its_sha256() -> None:
    first, second = new_token(), new_token()
    assert first != second and len(first) == 43  # 32 random bytes, URL-safe base64
    assert token_digest(first) == hashlib.sha256(first.encode()).hexdigest()
    assert token_digest("Đà Lạt") == hashlib.sha256("Đà Lạt".encode()).hexdigest()
    assert token_digest("\udcff")  # a lone surrogate from a mangled terminal: digested, no crash
    assert [r.value for r in Role] == ["operator", "viewer"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "a token needs a name (--name grafana, --name wall-display, …)"),
        ("   ", "a token needs a name (--name grafana, --name wall-display, …)"),
        ("x" * 65, "token name 'xxxxxxxxxxxxxxxxxxxx'… is longer than 64 characters"),
        ("wall\x1b[2J", "token name 'wall\\x1b[2J' holds a control character"),
        ("a\tb", "token name 'a\\tb' holds a control character"),
        ("x" * 64, None),
        ("Màn hình phòng họp", None),
    ],
)
def test_token_names_people_can_read(name: str, problem: str | None) -> None:
    assert token_name_problem(name) == problem
