"""Text helpers shared by the screens: Vietnamese-aware matching and local time display.

Pure functions (no Textual, no clock): the screens pass ``now`` in, so snapshots can freeze it.
Dates follow the console's language (``Mon 07 Dec`` / ``Th 2, 07/12``) from our own tables,
not the process's C locale, so they read the same on every machine.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, tzinfo

from confsched_tui import i18n
from confsched_tui.i18n import _, ngettext

WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "vi": ("Th 2", "Th 3", "Th 4", "Th 5", "Th 6", "Th 7", "CN"),
}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def nfc(text: str | None) -> str:
    """Precomposed form: decomposed diacritics would take extra cells in a terminal."""
    return unicodedata.normalize("NFC", text or "")


class _Bare(dict[int, str]):
    """Code point → the letter without its marks (``ữ`` → ``u``), worked out the first time a
    letter is met: one ``str.translate`` then folds a text in C, about thirty times faster
    than decomposing it and dropping combining marks in Python (10,000 rooms: 1.7 s → 60 ms)."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFD", chr(code))
        bare = "".join(c for c in decomposed if not unicodedata.combining(c))
        self[code] = bare
        return bare


_BARE = _Bare({ord("đ"): "d"})


def fold(text: str | None) -> str:
    """Lower case without diacritics, so an operator can type ``dai tu`` for ``Đại Từ``."""
    text = (text or "").lower()
    return text if text.isascii() else text.translate(_BARE)


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


def fmt_day(moment: datetime, language: str | None = None) -> str:
    """``Mon 07 Dec`` in English, ``Th 2, 07/12`` in Vietnamese (the console's by default)."""
    language = language or i18n.current()
    weekday = WEEKDAYS.get(language, WEEKDAYS["en"])[moment.weekday()]
    if language == "vi":
        return f"{weekday}, {moment:%d/%m}"
    return f"{weekday} {moment:%d} {MONTHS_EN[moment.month - 1]}"


def fmt_day_time(value: str | datetime | None, tz: tzinfo, language: str | None = None) -> str:
    """``Mon 07 Dec 08:00`` / ``Th 2, 07/12 08:00`` in the fleet's time zone."""
    moment = local(value, tz)
    return f"{fmt_day(moment, language)} {moment:%H:%M}" if moment else "—"


def fmt_time(value: str | datetime | None, tz: tzinfo, seconds: bool = False) -> str:
    moment = local(value, tz)
    if moment is None:
        return "—"
    return moment.strftime("%H:%M:%S" if seconds else "%H:%M")


def fmt_span(start: str | None, end: str | None, tz: tzinfo, language: str | None = None) -> str:
    """``Mon 07 Dec 08:00–10:00`` (the end's date only when it differs)."""
    first, last = local(start, tz), local(end, tz)
    if first is None:
        return "—"
    if last is None:
        return fmt_day_time(first, tz, language)
    same_day = last.date() == first.date()
    tail = last.strftime("%H:%M") if same_day else fmt_day_time(last, tz, language)
    return f"{fmt_day_time(first, tz, language)}–{tail}"


def fmt_span_lines(start: str | None, end: str | None, tz: tzinfo) -> list[str]:
    """``["Mon 07 Dec", "08:00–10:00"]``: :func:`fmt_span` in two short lines (three when the
    end is on another day), for an 80-column screen."""
    first, last = local(start, tz), local(end, tz)
    if first is None:
        return ["—"]
    if last is None:
        return [fmt_day(first), fmt_time(first, tz)]
    if last.date() == first.date():
        return [fmt_day(first), f"{fmt_time(first, tz)}–{fmt_time(last, tz)}"]
    return [fmt_day(first), f"{fmt_time(first, tz)}–", fmt_day_time(last, tz)]


def wrap(text: str, width: int, lines: int) -> list[str]:
    """``text`` in at most ``lines`` lines of ``width`` cells, broken at spaces where it can,
    the last line ellipsized if the text does not fit."""
    if width <= 0 or lines <= 0:
        return []
    out: list[str] = []
    rest = text.strip()
    while rest and len(out) < lines - 1 and len(rest) > width:
        cut = rest.rfind(" ", 0, width + 1)
        cut = cut if cut > 0 else width
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not out:
        out.append(ellipsize(rest, width))
    return out


def wrap_all(text: str, width: int) -> list[str]:
    """``text`` in as many lines of ``width`` cells as it needs (at least one)."""
    return wrap(text, width, max(1, len(text))) or [""]


def fmt_ago(then: str | datetime | None, now: datetime) -> str:
    """``12 s ago`` / ``5 min ago`` / ``3 h ago`` / ``never``."""
    moment = parse_time(then) if isinstance(then, str) or then is None else then
    if moment is None:
        return _("never")
    return _("{age} ago").format(age=fmt_age(now - moment))


def fmt_age(age: timedelta) -> str:
    """``12 s`` / ``5 min`` / ``3 h`` / ``2 d``: how old something is, roughly."""
    seconds = max(0, int(age.total_seconds()))
    if seconds < 90:
        return _("{n} s").format(n=seconds)
    if seconds < 90 * 60:
        return _("{n} min").format(n=seconds // 60)
    if seconds < 48 * 3600:
        return _("{n} h").format(n=seconds // 3600)
    return _("{n} d").format(n=seconds // 86400)


def form_time(value: str | datetime | None, tz: tzinfo) -> str:
    """``2026-12-07 08:00``: the local form the booking form shows and the API accepts."""
    moment = local(value, tz)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def count_rooms(count: int) -> str:
    """``1 room`` / ``2 rooms`` (gettext plurals: Vietnamese has one form, ``2 phòng``)."""
    return ngettext("{n} room", "{n} rooms", count).format(n=count)


def count_links(count: int) -> str:
    return ngettext("{n} link", "{n} links", count).format(n=count)


def count_sessions(count: int) -> str:
    return ngettext("{n} session", "{n} sessions", count).format(n=count)


def count_conflicts(count: int) -> str:
    return ngettext("{n} conflict", "{n} conflicts", count).format(n=count)
