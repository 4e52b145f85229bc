"""A series' sittings as the session screen lists them, its rule in words, and the exception
dates the Book form takes, computed without Textual.

The scheduler keeps a series as an RRULE plus its sittings (``occurrences``, each with its
original start, ``recurrence_id``, which names it when one sitting alone is moved or cancelled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from confsched_tui import i18n
from confsched_tui.i18n import N_, _
from confsched_tui.text import MONTHS_EN, fmt_day_time, fmt_span, parse_time

DAY_NAMES = {
    "MO": N_("Monday"),
    "TU": N_("Tuesday"),
    "WE": N_("Wednesday"),
    "TH": N_("Thursday"),
    "FR": N_("Friday"),
    "SA": N_("Saturday"),
    "SU": N_("Sunday"),
}
FREQUENCIES = {
    "DAILY": (N_("daily"), N_("every {n} days")),
    "WEEKLY": (N_("weekly"), N_("every {n} weeks")),
    "MONTHLY": (N_("monthly"), N_("every {n} months")),
    "YEARLY": (N_("yearly"), N_("every {n} years")),
}
ORDINALS = {
    1: N_("the first {day}"),
    2: N_("the second {day}"),
    3: N_("the third {day}"),
    4: N_("the fourth {day}"),
    5: N_("the fifth {day}"),
    -1: N_("the last {day}"),
}
_SAID = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL", "WKST"}


def rrule_text(rule: str | None, tz: tzinfo) -> str:
    """``FREQ=WEEKLY;BYDAY=MO`` as ``weekly on Monday``; ``every 2 weeks on Monday and
    Thursday, 10 times``; ``monthly on the last Friday until 31 Jan 2027``. A part it cannot
    put in words keeps the rule beside them, so nothing the scheduler holds is hidden."""
    if not rule:
        return _("no")
    parts = _parts(rule)
    freq = FREQUENCIES.get(parts.get("FREQ", ""))
    if freq is None:
        return rule
    interval = _number(parts.get("INTERVAL")) or 1
    text = _(freq[0]) if interval == 1 else _(freq[1]).format(n=interval)
    days = [_day(d) for d in parts.get("BYDAY", "").split(",") if d]
    if days and all(days):
        text = _("{rule} on {days}").format(rule=text, days=_and([d for d in days if d]))
    monthdays = [d for d in parts.get("BYMONTHDAY", "").split(",") if d]
    if monthdays:
        text = _("{rule} on day {days}").format(rule=text, days=_and(monthdays))
    count = _number(parts.get("COUNT"))
    if count:
        text = _("{rule}, {n} times").format(rule=text, n=count)
    until = _until(parts.get("UNTIL"), tz)
    if until:
        text = _("{rule} until {date}").format(rule=text, date=until)
    if set(parts) - _SAID or (days and not all(days)):
        text += f" ({rule})"
    return text


def _parts(rule: str) -> dict[str, str]:
    pairs = (p.partition("=") for p in rule.upper().removeprefix("RRULE:").split(";") if p)
    return {key.strip(): value.strip() for key, _, value in pairs}


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() else None


def _day(code: str) -> str | None:
    """``MO`` → ``Monday``; ``1MO`` → ``the first Monday``; ``-1FR`` → ``the last Friday``."""
    name = DAY_NAMES.get(code[-2:])
    ordinal_text = code[:-2]
    if name is None:
        return None
    if not ordinal_text:
        return _(name)
    try:
        ordinal = ORDINALS.get(int(ordinal_text))
    except ValueError:
        return None
    return _(ordinal).format(day=_(name)) if ordinal else None


def _and(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return _("{items} and {last}").format(items=", ".join(items[:-1]), last=items[-1])


def _until(text: str | None, tz: tzinfo) -> str:
    """An RRULE UNTIL (``20270131T000000Z`` or ``20270131``) as a local date."""
    if not text:
        return ""
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y%m%d"):
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if fmt.endswith("Z"):
            moment = moment.replace(tzinfo=UTC).astimezone(tz)
        if i18n.current() == "vi":
            return f"{moment:%d/%m/%Y}"
        return f"{moment:%d} {MONTHS_EN[moment.month - 1]} {moment:%Y}"
    return ""


@dataclass(frozen=True, slots=True)
class Sitting:
    """One sitting as the list shows it; ``key`` is its original start, as the API names it."""

    key: str
    start: str
    """Where it is now (moved or not): the move dialog starts from it."""
    when: str
    mark: str
    """``cancelled``, ``moved from Mon 14 Dec 08:00``, or ""."""
    cancelled: bool
    ended: bool


def sittings(session: Mapping[str, Any], now: datetime, tz: tzinfo) -> list[Sitting]:
    """The sittings in view, in time order, each marked when moved or cancelled."""
    rows = []
    for occurrence in session.get("occurrences") or []:
        original = str(occurrence.get("recurrence_id") or occurrence.get("start"))
        mark = ""
        if occurrence.get("cancelled"):
            mark = _("cancelled")
        elif occurrence.get("moved") or _moved(original, occurrence.get("start")):
            mark = _("moved from {when}").format(when=fmt_day_time(original, tz))
        end = parse_time(occurrence.get("end"))
        rows.append(
            Sitting(
                key=original,
                start=str(occurrence.get("start") or original),
                when=fmt_span(occurrence.get("start"), occurrence.get("end"), tz),
                mark=mark,
                cancelled=bool(occurrence.get("cancelled")),
                ended=end is not None and end <= now,
            )
        )
    return sorted(rows, key=lambda r: parse_time(r.start) or now)


def _moved(original: str, start: Any) -> bool:
    first, then = parse_time(original), parse_time(start if isinstance(start, str) else None)
    return first is not None and then is not None and first != then


def exception_dates(text: str, start: str) -> list[str]:
    """The Book form's ``Except`` field as the API's ``exdates``: comma-separated local times
    of sittings to skip; a date alone takes the time of the form's start (``2026-12-14`` with
    a start at 08:00 is ``2026-12-14 08:00``)."""
    clock = start.strip()[11:16] if len(start.strip()) >= 16 else ""
    dates = []
    for item in text.split(","):
        value = item.strip()
        if not value:
            continue
        if len(value) == 10 and clock:
            value = f"{value} {clock}"
        dates.append(value)
    return dates
