"""The ``fleet:`` header of a fleet file: name, timezone, report interval, working hours, levels."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from confsched.domain.located import SLUG, Checker, LocatedList, LocatedMap
from confsched.domain.model import DEFAULT_LEVELS, WorkingHours
from confsched.domain.retention import DEFAULT_RETENTION, Retention, parse_span, span_text
from confsched.domain.retention import LIMITS as RETENTION_LIMITS
from confsched.domain.stages import DEFAULT_STAGES, ReadinessStage, parse_stage

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    **{d: i for i, d in enumerate(DAYS)},
    **{n: i for i, n in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday"))},
    "saturday": 5,
    "sunday": 6,
}
_DURATION = re.compile(r"^(\d{1,7})(s|m|h)$")
MIN_INTERVAL = timedelta(seconds=1)
MAX_INTERVAL = timedelta(hours=1)
MAX_LEVELS = 8


@dataclass(frozen=True, slots=True)
class FleetHeader:
    name: str
    timezone: str
    working_hours: WorkingHours
    report_interval: timedelta
    levels: tuple[str, ...]
    client_process: str = ""
    """The conferencing client every room PC runs, unless its endpoint names its own."""
    readiness_stages: tuple[ReadinessStage, ...] = DEFAULT_STAGES
    language: str = ""
    health_history: Retention = DEFAULT_RETENTION


LANGUAGES = ("vi", "en")
"""The console's languages (``fleet: language:``)."""


def read_header(check: Checker, root: LocatedMap) -> FleetHeader | None:
    """The fleet's settings, or None when the ``fleet:`` mapping is missing (a problem noted)."""
    fleet = root.get("fleet")
    if not isinstance(fleet, LocatedMap):
        check.problem(
            root.lines.get("fleet", root.line), "missing 'fleet:' mapping (name, timezone)"
        )
        return None
    check.keys(fleet, "fleet")
    name = check.name(fleet) or "fleet"
    tz = check.text(fleet, "timezone", "Asia/Ho_Chi_Minh")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        check.problem(check.line(fleet, "timezone"), f"unknown timezone {tz!r}")
    return FleetHeader(
        name,
        tz,
        _working_hours(check, fleet),
        _interval(check, fleet),
        _levels(check, fleet),
        read_client(check, fleet),
        _stages(check, fleet),
        _language(check, fleet),
        _health_history(check, fleet),
    )


def _health_history(check: Checker, fleet: LocatedMap) -> Retention:
    """``health_history: {changes: 30d, minutes: 6h, hourly: 13mo}``: how long each part of
    the health history is kept; a part left out keeps its default."""
    raw = fleet.get("health_history")
    if raw is None:
        return Retention()
    line = check.line(fleet, "health_history")
    if not isinstance(raw, LocatedMap):
        check.problem(line, "health_history must be a mapping such as {changes: 30d, hourly: 13mo}")
        return Retention()
    spans = {}
    for key, value in raw.items():
        key_line = raw.lines.get(key, line)
        if key not in RETENTION_LIMITS:
            known = ", ".join(RETENTION_LIMITS)
            check.problem(key_line, f"unknown key {key!r} in health_history (known: {known})")
            continue
        low, high = RETENTION_LIMITS[key]
        try:
            span = parse_span(value) if isinstance(value, str) else parse_span(repr(value))
        except ValueError as exc:
            check.problem(key_line, f"health_history {key}: {exc}")
            continue
        if not low <= span <= high:
            check.problem(
                key_line,
                f"health_history {key} {value!r} must be from {span_text(low)} "
                f"to {span_text(high)}",
            )
            continue
        spans[key] = span
    return replace(Retention(), **spans)


def _language(check: Checker, fleet: LocatedMap) -> str:
    """``language: vi`` or ``en``: the console's language for this fleet ("" when not given)."""
    if "language" not in fleet:
        return ""
    raw = fleet["language"]
    if not isinstance(raw, str) or raw.strip().lower() not in LANGUAGES:
        check.problem(check.line(fleet, "language"), f"language {raw!r} must be vi or en")
        return ""
    return raw.strip().lower()


def _stages(check: Checker, fleet: LocatedMap) -> tuple[ReadinessStage, ...]:
    """``readiness_stages: [forecast 24h, selftest 60m, selftest setup]``: one to eight
    distinct stages (the default when not given)."""
    raw = fleet.get("readiness_stages")
    if raw is None:
        return DEFAULT_STAGES
    line = check.line(fleet, "readiness_stages")
    if not isinstance(raw, LocatedList) or not 1 <= len(raw) <= 8:
        check.problem(
            line, "readiness_stages must be a list such as [forecast 24h, selftest setup]"
        )
        return DEFAULT_STAGES
    stages: list[ReadinessStage] = []
    for item, item_line in zip(raw, raw.lines, strict=True):
        try:
            stage = parse_stage(item) if isinstance(item, str) else parse_stage(repr(item))
        except ValueError as exc:
            check.problem(item_line, str(exc))
            continue
        if stage in stages:
            check.problem(item_line, f"readiness stage {stage.name!r} is given twice")
        else:
            stages.append(stage)
    return tuple(stages) or DEFAULT_STAGES


_PROCESS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,63}$")


def read_client(check: Checker, item: LocatedMap) -> str:
    """``client: {process: NAME}``: the conferencing client's process name the room agent looks
    for (``vcclient``, ``Zoom.exe``): a program name, not a path; "" when not given."""
    if "client" not in item:
        return ""
    raw, line = item["client"], check.line(item, "client")
    if not isinstance(raw, LocatedMap) or set(raw) != {"process"}:
        check.problem(line, "client must be a map with exactly process: {process: Zoom.exe}")
        return ""
    name = raw["process"]
    if not isinstance(name, str) or not _PROCESS.match(name):
        check.problem(
            line,
            f"client process {name!r} must be a program name such as Zoom.exe "
            "(letters, digits, space . _ + -, at most 64, no path)",
        )
        return ""
    return name


def _interval(check: Checker, fleet: LocatedMap) -> timedelta:
    raw = fleet.get("report_interval", "10s")
    match = _DURATION.match(str(raw))
    line = check.line(fleet, "report_interval")
    if isinstance(raw, bool) or not match:
        check.problem(line, f"report_interval {raw!r} must look like 10s, 1m")
        return timedelta(seconds=10)
    scale = {"s": 1, "m": 60, "h": 3600}[match.group(2)]
    interval = timedelta(seconds=int(match.group(1)) * scale)
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        check.problem(line, f"report_interval {raw!r} must be from 1s to 1h")
        return timedelta(seconds=10)
    return interval


def _levels(check: Checker, fleet: LocatedMap) -> tuple[str, ...]:
    """Level names, top-down: distinct slugs, one to eight of them."""
    raw = fleet.get("levels")
    if raw is None:
        return DEFAULT_LEVELS
    line = check.line(fleet, "levels")
    if not isinstance(raw, LocatedList) or not 1 <= len(raw) <= MAX_LEVELS:
        check.problem(line, "levels must be a list of 1 to 8 names, top-down: [province, commune]")
        return DEFAULT_LEVELS
    levels: list[str] = []
    for item, item_line in zip(raw, raw.lines, strict=True):
        if not isinstance(item, str) or not SLUG.match(item):
            check.problem(item_line, f"level {item!r} must be a slug such as commune")
        elif item in levels:
            check.problem(item_line, f"level {item!r} is declared twice")
        elif item in ("all", "level", "under", "site", "agency", "tag"):
            check.problem(item_line, f"level {item!r} would clash with the selector '{item}:'")
        else:
            levels.append(item)
    return tuple(levels) or DEFAULT_LEVELS


def _working_hours(check: Checker, fleet: LocatedMap) -> WorkingHours:
    hours = fleet.get("working_hours")
    if hours is None:
        return WorkingHours()
    line = fleet.lines["working_hours"]
    if not isinstance(hours, LocatedMap):
        check.problem(line, "working_hours must be a mapping of days, start, end")
        return WorkingHours()
    for key in hours:
        if key not in {"days", "start", "end"}:
            check.problem(hours.key_lines[key], f"unknown key {key!r} in working_hours")
    days = _days(check, hours, line)
    start = _clock(check, hours, "start", time(7, 30))
    end = _clock(check, hours, "end", time(17, 0))
    if start >= end:
        check.problem(line, "working_hours start must be before end")
    return WorkingHours(days, start, end)


def _days(check: Checker, hours: LocatedMap, line: int) -> frozenset[int]:
    days = hours.get("days", list(DAYS[:5]))
    if not isinstance(days, list) or not days:
        check.problem(hours.lines.get("days", line), "days must be a list such as [mon, tue, wed]")
        return WorkingHours().days
    numbers = set()
    for day in days:
        number = _DAY_NAMES.get(str(day).lower()) if isinstance(day, str) else None
        if number is None:
            check.problem(hours.lines.get("days", line), f"unknown day {day!r} (mon, tue, … sun)")
        else:
            numbers.add(number)
    return frozenset(numbers)


def _clock(check: Checker, hours: LocatedMap, key: str, default: time) -> time:
    raw = hours.get(key)
    if raw is None:
        return default
    try:
        return time.fromisoformat(str(raw).zfill(5))
    except ValueError:
        check.problem(hours.lines[key], f'{key} {raw!r} must be a time such as "07:30"')
        return default
