"""Reading the times and durations people type: ``2026-12-07 08:00``, ``1h30m``, ``7d``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from confsched.errors import InvalidInput

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$", re.ASCII)
MAX_DURATION = timedelta(days=366)
"""Longer than any booking, window or look-ahead the scheduler takes: beyond it is a typo."""
FIRST_YEAR, LAST_YEAR = 1970, 2199
"""Times outside these years are refused (year 1 or 9999 would overflow on the way to UTC or
once a duration is added)."""
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse_duration(text: str) -> timedelta:
    """``90m``, ``2h``, ``1h30m``, ``7d``, ``30s`` (a bare number means minutes)."""
    cleaned = text.strip().lower().replace(" ", "")
    if len(cleaned) > 40:
        raise InvalidInput(f"bad duration {text[:40]!r}…: too long")
    if cleaned.isascii() and cleaned.isdigit():
        return _bounded(text, minutes=int(cleaned))
    match = _DURATION.match(cleaned)
    if not cleaned or not match or not any(match.groups()):
        raise InvalidInput(f"bad duration {text!r}: use forms like 90m, 2h, 1h30m or 7d")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return _bounded(text, days=days, hours=hours, minutes=minutes, seconds=seconds)


def _bounded(
    text: str, days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0
) -> timedelta:
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds  # ints: no overflow here
    if total > MAX_DURATION.total_seconds():
        raise InvalidInput(f"bad duration {text!r}: at most {MAX_DURATION.days} days")
    return timedelta(seconds=total)


def parse_local_time(text: str, tz: ZoneInfo) -> datetime:
    """A local ``YYYY-MM-DD HH:MM`` in ``tz``, or ISO 8601 with an offset; returned in UTC."""
    cleaned = text.strip()
    for fmt in _LOCAL_FORMATS:
        try:
            return _in_range(text, datetime.strptime(cleaned, fmt).replace(tzinfo=tz))
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput(
            f"bad time {text!r}: use 'YYYY-MM-DD HH:MM' (local time) or ISO 8601 with an offset"
        )
    return _in_range(text, parsed)


def _in_range(text: str, moment: datetime) -> datetime:
    """``moment`` (aware) in UTC, or InvalidInput when its year is out of range."""
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise InvalidInput(f"bad time {text!r}: years {FIRST_YEAR} to {LAST_YEAR} only")
    return moment.astimezone(UTC)


def parse_window_bound(text: str, tz: ZoneInfo) -> datetime:
    """A window's edge (``--from``, ``--to``): a local time, or a date alone meaning its local
    midnight (``2026-12-08`` is 2026-12-08 00:00), as people type a day; returned in UTC."""
    cleaned = text.strip()
    try:
        day = datetime.strptime(cleaned, "%Y-%m-%d")
    except ValueError:
        return parse_local_time(cleaned, tz)
    return _in_range(text, day.replace(tzinfo=tz))


def format_duration(span: timedelta) -> str:
    total = int(span.total_seconds()) // 60
    hours, minutes = divmod(total, 60)
    if hours and minutes:
        return f"{hours}h{minutes:02d}m"
    return f"{hours}h" if hours else f"{minutes}m"
