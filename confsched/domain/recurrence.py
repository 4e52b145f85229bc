"""Recurrence rules: the part of RFC 5545 RRULE a meeting scheduler needs, expanded in local time.

Supported: ``FREQ=DAILY|WEEKLY|MONTHLY``, ``INTERVAL``, ``BYDAY`` (weekdays; with MONTHLY also
ordinals such as ``1MO`` or ``-1FR``), ``COUNT`` and ``UNTIL``. Anything else is refused by name,
so an operator never gets a series that silently means something other than what was typed.

Occurrences keep the wall-clock time of the first one in the fleet's zone (a weekly 08:00 stays
08:00 local), and are returned as UTC. Weeks start on Monday (RFC 5545's default WKST).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from confsched.errors import InvalidInput

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY")
SUPPORTED = ("FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL")
MAX_COUNT = 1000
MAX_INTERVAL = 366
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL = re.compile(r"^(\d{8})(?:T(\d{6})(Z?))?$")
_FAR = timedelta(days=366 * 100)


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed RRULE. ``byday`` holds (ordinal, weekday) pairs; ordinal 0 means every such day."""

    freq: str
    interval: int = 1
    byday: tuple[tuple[int, int], ...] = ()
    count: int | None = None
    until: datetime | None = None  # UTC, inclusive

    def __str__(self) -> str:
        """Canonical text (UNTIL in UTC, as RFC 5545 wants next to a DTSTART with a TZID)."""
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            days = (f"{n or ''}{WEEKDAYS[d]}" for n, d in self.byday)
            parts.append("BYDAY=" + ",".join(days))
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            parts.append("UNTIL=" + self.until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
        return ";".join(parts)


def parse_rrule(text: str, tz: ZoneInfo) -> Rule:
    """Read an RRULE (``FREQ=WEEKLY;BYDAY=MO``, an ``RRULE:`` prefix is allowed)."""
    cleaned = text.strip().upper().removeprefix("RRULE:")
    if not cleaned:
        raise InvalidInput("empty repeat rule: use e.g. FREQ=WEEKLY;BYDAY=MO")
    fields: dict[str, str] = {}
    for part in cleaned.split(";"):
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise InvalidInput(f"bad repeat rule part {part!r} in {text!r}: expected KEY=VALUE")
        if key not in SUPPORTED:
            raise InvalidInput(
                f"repeat rule part {key} is not supported (use {', '.join(SUPPORTED)})"
            )
        if key in fields:
            raise InvalidInput(f"repeat rule gives {key} twice")
        fields[key] = value
    return _build(fields, tz)


def _build(fields: dict[str, str], tz: ZoneInfo) -> Rule:
    freq = fields.get("FREQ")
    if freq is None:
        raise InvalidInput("repeat rule needs FREQ (DAILY, WEEKLY or MONTHLY)")
    if freq not in FREQUENCIES:
        raise InvalidInput(f"FREQ={freq} is not supported (use DAILY, WEEKLY or MONTHLY)")
    if "COUNT" in fields and "UNTIL" in fields:
        raise InvalidInput("repeat rule may give COUNT or UNTIL, not both")
    interval = _number(fields, "INTERVAL", 1, MAX_INTERVAL) or 1
    count = _number(fields, "COUNT", 1, MAX_COUNT)
    byday = _byday(fields.get("BYDAY"), freq)
    until = _until(fields["UNTIL"], tz) if "UNTIL" in fields else None
    return Rule(freq, interval, byday, count, until)


def _number(fields: dict[str, str], key: str, low: int, high: int) -> int | None:
    raw = fields.get(key)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidInput(f"{key}={raw} must be a whole number from {low} to {high}")
    return int(raw)


def _byday(raw: str | None, freq: str) -> tuple[tuple[int, int], ...]:
    if raw is None:
        return ()
    days: list[tuple[int, int]] = []
    for item in raw.split(","):
        match = _BYDAY.match(item)
        if not match:
            raise InvalidInput(f"BYDAY value {item!r} must be a weekday (MO…SU), e.g. MO or 1MO")
        ordinal = int(match.group(1) or 0)
        if ordinal and freq != "MONTHLY":
            raise InvalidInput(f"BYDAY={item}: a numbered weekday needs FREQ=MONTHLY")
        if not -5 <= ordinal <= 5:
            raise InvalidInput(f"BYDAY={item}: the number must be from -5 to 5")
        pair = (ordinal, WEEKDAYS.index(match.group(2)))
        if pair not in days:
            days.append(pair)
    return tuple(sorted(days, key=lambda p: (p[1], p[0])))


def _until(raw: str, tz: ZoneInfo) -> datetime:
    match = _UNTIL.match(raw)
    if not match:
        raise InvalidInput(f"UNTIL={raw} must look like 20261231 or 20261231T170000Z")
    day_text, clock, zulu = match.groups()
    try:
        day = datetime.strptime(day_text, "%Y%m%d").date()
        moment = datetime.strptime(clock, "%H%M%S").time() if clock else time(23, 59, 59)
    except ValueError:
        raise InvalidInput(f"UNTIL={raw} is not a real date or time") from None
    zone = UTC if zulu else tz  # a date or a floating time is read in the fleet's zone
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


# --- expansion --------------------------------------------------------------------------------


def expand(rule: Rule, dtstart: datetime, tz: ZoneInfo, until: datetime) -> Iterator[datetime]:
    """Occurrence starts (UTC) of ``rule`` from ``dtstart`` on, those starting before ``until``.

    COUNT counts from ``dtstart``. Candidates before ``dtstart`` are skipped, as RFC 5545 says.
    """
    local = dtstart.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    limit = until if rule.until is None else min(until, rule.until + timedelta(seconds=1))
    produced = 0
    for day in _candidate_days(rule, local.date(), limit.astimezone(tz).date()):
        moment = datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)
        if moment < dtstart:
            continue
        if moment >= limit:
            return
        yield moment
        produced += 1
        if rule.count is not None and produced >= rule.count:
            return


def _candidate_days(rule: Rule, first: date, last: date) -> Iterator[date]:
    """Days matching the rule's pattern, in order, from the period of ``first`` to ``last``."""
    if rule.freq == "DAILY":
        yield from _daily(rule, first, last)
    elif rule.freq == "WEEKLY":
        yield from _weekly(rule, first, last)
    else:
        yield from _monthly(rule, first, last)


def _daily(rule: Rule, first: date, last: date) -> Iterator[date]:
    weekdays = {d for _, d in rule.byday}
    day = first
    while day <= last:
        if not weekdays or day.weekday() in weekdays:
            yield day
        day += timedelta(days=rule.interval)


def _weekly(rule: Rule, first: date, last: date) -> Iterator[date]:
    weekdays = sorted({d for _, d in rule.byday}) or [first.weekday()]
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        for weekday in weekdays:
            yield monday + timedelta(days=weekday)
        monday += timedelta(weeks=rule.interval)


def _monthly(rule: Rule, first: date, last: date) -> Iterator[date]:
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        yield from _month_days(rule, year, month, first.day)
        month += rule.interval
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1


def _month_days(rule: Rule, year: int, month: int, day_of_month: int) -> list[date]:
    length = calendar.monthrange(year, month)[1]
    if not rule.byday:  # the first occurrence's day of the month; months without it are skipped
        return [date(year, month, day_of_month)] if day_of_month <= length else []
    days: set[date] = set()
    for ordinal, weekday in rule.byday:
        matching = [
            date(year, month, d)
            for d in range(1, length + 1)
            if date(year, month, d).weekday() == weekday
        ]
        if ordinal == 0:
            days.update(matching)
        elif abs(ordinal) <= len(matching):
            days.add(matching[ordinal - 1 if ordinal > 0 else ordinal])
    return sorted(days)


# --- helpers for the booking engine -----------------------------------------------------------


def check_first(rule: Rule, dtstart: datetime, tz: ZoneInfo) -> None:
    """The first occurrence must be ``dtstart`` itself, so the series means what it says."""
    first = next(expand(rule, dtstart, tz, dtstart + _FAR), None)
    if first != dtstart:
        local = dtstart.astimezone(tz)
        raise InvalidInput(
            f"the start {local:%Y-%m-%d %H:%M} ({WEEKDAYS[local.weekday()]}) is not an "
            f"occurrence of the repeat rule {rule}"
        )


def last_start(rule: Rule, dtstart: datetime, tz: ZoneInfo) -> datetime | None:
    """The start of the last occurrence of a finite series; None when it never ends."""
    if rule.count is None and rule.until is None:
        return None
    last = None
    for last in expand(rule, dtstart, tz, dtstart + _FAR):  # noqa: B007
        pass
    return last


def shift(rule: Rule, delta: timedelta, old_start: datetime, tz: ZoneInfo) -> Rule:
    """The same rule for a series moved by ``delta``: weekdays and UNTIL move with it."""
    new_start = old_start + delta
    days = (new_start.astimezone(tz).date() - old_start.astimezone(tz).date()).days
    byday = tuple(sorted(((n, (d + days) % 7) for n, d in rule.byday), key=lambda p: (p[1], p[0])))
    until = rule.until + delta if rule.until is not None else None
    return replace(rule, byday=byday, until=until)
