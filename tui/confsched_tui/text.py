"""Text helpers shared by the screens: Vietnamese-aware matching and local time display.

Pure functions (no Textual, no clock): the screens pass ``now`` in, so snapshots can freeze it.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, tzinfo


def nfc(text: str | None) -> str:
    """Precomposed form: decomposed diacritics would take extra cells in a terminal."""
    return unicodedata.normalize("NFC", text or "")


def fold(text: str | None) -> str:
    """Lower case without diacritics, so an operator can type ``dai tu`` for ``Đại Từ``."""
    decomposed = unicodedata.normalize("NFD", (text or "").lower())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.replace("đ", "d")


def plural(count: int, word: str) -> str:
    """``1 room``, ``2 rooms`` (the console's counted words are all regular in English)."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def ellipsize(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis (Vietnamese letters are one cell)."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time from the API (always with an offset), or None."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def local(value: str | datetime | None, tz: tzinfo) -> datetime | None:
    moment = parse_time(value) if isinstance(value, str) or value is None else value
    return moment.astimezone(tz) if moment is not None else None


def fmt_day_time(value: str | datetime | None, tz: tzinfo) -> str:
    """``Mon 07 Dec 08:00`` in the fleet's time zone."""
    moment = local(value, tz)
    return moment.strftime("%a %d %b %H:%M") if moment else "—"


def fmt_time(value: str | datetime | None, tz: tzinfo, seconds: bool = False) -> str:
    moment = local(value, tz)
    if moment is None:
        return "—"
    return moment.strftime("%H:%M:%S" if seconds else "%H:%M")


def fmt_span(start: str | None, end: str | None, tz: tzinfo) -> str:
    """``Mon 07 Dec 08:00–10:00`` (the end's date only when it differs)."""
    first, last = local(start, tz), local(end, tz)
    if first is None:
        return "—"
    if last is None:
        return fmt_day_time(first, tz)
    tail = last.strftime("%H:%M") if last.date() == first.date() else fmt_day_time(last, tz)
    return f"{fmt_day_time(first, tz)}–{tail}"


def fmt_ago(then: str | datetime | None, now: datetime) -> str:
    """``12 s ago`` / ``5 min ago`` / ``3 h ago`` / ``never``."""
    moment = parse_time(then) if isinstance(then, str) or then is None else then
    if moment is None:
        return "never"
    return f"{fmt_age(now - moment)} ago"


def fmt_age(age: timedelta) -> str:
    """``12 s`` / ``5 min`` / ``3 h`` / ``2 d``: how old something is, roughly."""
    seconds = max(0, int(age.total_seconds()))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def form_time(value: str | datetime | None, tz: tzinfo) -> str:
    """``2026-12-07 08:00``: the local form the booking form shows and the API accepts."""
    moment = local(value, tz)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""
