"""Reading the times and durations people type: ``2026-12-07 08:00``, ``1h30m``, ``7d``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from confsched.errors import InvalidInput

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse_duration(text: str) -> timedelta:
    """``90m``, ``2h``, ``1h30m``, ``7d``, ``30s`` (a bare number means minutes)."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.isdigit():
        return timedelta(minutes=int(cleaned))
    match = _DURATION.match(cleaned)
    if not cleaned or not match or not any(match.groups()):
        raise InvalidInput(f"bad duration {text!r}: use forms like 90m, 2h, 1h30m or 7d")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_local_time(text: str, tz: ZoneInfo) -> datetime:
    """A local ``YYYY-MM-DD HH:MM`` in ``tz``, or ISO 8601 with an offset; returned in UTC."""
    cleaned = text.strip()
    for fmt in _LOCAL_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=tz).astimezone(UTC)
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
    return parsed.astimezone(UTC)


def parse_window_bound(text: str, tz: ZoneInfo) -> datetime:
    """A window's edge (``--from``, ``--to``): a local time, or a date alone meaning its local
    midnight (``2026-12-08`` is 2026-12-08 00:00), as people type a day; returned in UTC."""
    cleaned = text.strip()
    try:
        day = datetime.strptime(cleaned, "%Y-%m-%d")
    except ValueError:
        return parse_local_time(cleaned, tz)
    return day.replace(tzinfo=tz).astimezone(UTC)


def format_duration(span: timedelta) -> str:
    total = int(span.total_seconds()) // 60
    hours, minutes = divmod(total, 60)
    if hours and minutes:
        return f"{hours}h{minutes:02d}m"
    return f"{hours}h" if hours else f"{minutes}m"
