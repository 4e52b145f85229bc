"""Readiness stages: when before a session the scheduler looks at its rooms, and how.

A fleet setting (``fleet: readiness_stages:``), by default a forecast from current health a day
before, a self-test an hour before and a self-test at the setup time. Each stage's "ready N of M"
is kept; a room fixed between stages turns ready at the next look. Pure: the caller hands in the
occurrence's start and setup lead and ``now``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class StageKind(StrEnum):
    FORECAST = "forecast"
    """From each room's current health (nothing is asked of the room)."""
    SELFTEST = "selftest"
    """Every room's agent is asked to self-test."""


@dataclass(frozen=True, slots=True, order=True)
class ReadinessStage:
    """One look at a session's rooms, ``before`` its start (None: at its setup time)."""

    kind: StageKind
    before: timedelta | None = None

    @property
    def name(self) -> str:
        """``forecast 24h``, ``selftest 60m``, ``selftest setup``: as the fleet file says it."""
        return f"{self.kind.value} {'setup' if self.before is None else _span(self.before)}"

    def at(self, start: datetime, setup: timedelta) -> datetime:
        """When this stage looks, for an occurrence starting at ``start``."""
        return start - (setup if self.before is None else self.before)


DEFAULT_STAGES: tuple[ReadinessStage, ...] = (
    ReadinessStage(StageKind.FORECAST, timedelta(hours=24)),
    ReadinessStage(StageKind.SELFTEST, timedelta(minutes=60)),
    ReadinessStage(StageKind.SELFTEST, None),
)
MAX_LEAD = timedelta(days=7)
_STAGE = re.compile(r"^(forecast|selftest) +(setup|(\d{1,4})(m|h|d))$")


def parse_stage(text: str) -> ReadinessStage:
    """``forecast 24h`` / ``selftest 60m`` / ``selftest setup``; ValueError says what is wrong."""
    match = _STAGE.match(text.strip().lower())
    if not match:
        raise ValueError(
            f"readiness stage {text!r} must look like 'forecast 24h', 'selftest 60m' or "
            "'selftest setup'"
        )
    kind = StageKind(match.group(1))
    if match.group(2) == "setup":
        if kind is StageKind.FORECAST:
            raise ValueError("a forecast stage needs a lead such as 'forecast 24h'")
        return ReadinessStage(kind, None)
    scale = {"m": 60, "h": 3600, "d": 86400}[match.group(4)]
    before = timedelta(seconds=int(match.group(3)) * scale)
    if not timedelta(minutes=1) <= before <= MAX_LEAD:
        raise ValueError(f"readiness stage {text!r}: the lead must be from 1m to 7d")
    return ReadinessStage(kind, before)


def ordered(stages: Sequence[ReadinessStage], setup: timedelta) -> list[ReadinessStage]:
    """Earliest first, for a session with this setup lead."""
    return sorted(stages, key=lambda s: -(setup if s.before is None else s.before))


def due_stage(
    stages: Sequence[ReadinessStage],
    start: datetime,
    setup: timedelta,
    now: datetime,
    done: Collection[str],
) -> ReadinessStage | None:
    """The latest stage whose time has come (before the start) and that has not looked yet.

    A stage missed while the scheduler was down is skipped once a later one is due: only the
    latest look is useful.
    """
    if now >= start:
        return None
    came = [s for s in ordered(stages, setup) if s.at(start, setup) <= now]
    if not came or came[-1].name in done:
        return None
    return came[-1]


def first_selftest_at(
    stages: Sequence[ReadinessStage], start: datetime, setup: timedelta
) -> datetime | None:
    """When the first self-test stage looks (rooms are asked again from then on), if any."""
    times = [s.at(start, setup) for s in stages if s.kind is StageKind.SELFTEST]
    return min(times) if times else None


def lead(stages: Sequence[ReadinessStage], setup: timedelta) -> timedelta:
    """How long before a start the earliest stage looks."""
    return max((setup if s.before is None else s.before for s in stages), default=setup)


def _span(value: timedelta) -> str:
    """``2d``, ``24h``, ``60m``: days from two days, hours from two hours, else minutes."""
    minutes = int(value.total_seconds() // 60)
    if minutes >= 2880 and minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
