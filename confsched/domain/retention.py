"""How long each part of a room's health history is kept (``health_history:`` in the fleet
file): pure; the cells themselves are ``domain/history.py``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

MONTH = timedelta(days=31)
"""``mo`` in a retention: 31 days, so ``13mo`` always covers thirteen calendar months."""


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each part of the health history is kept (``health_history:``)."""

    changes: timedelta = timedelta(days=30)
    minutes: timedelta = timedelta(hours=6)
    hourly: timedelta = 13 * MONTH


LIMITS = {
    "changes": (timedelta(hours=1), timedelta(days=400)),
    "minutes": (timedelta(hours=1), timedelta(days=7)),
    "hourly": (timedelta(days=1), timedelta(days=5 * 366)),
}
"""The range each window may take: a week of minute cells at 10,000 rooms is already 0.9 GB."""

_SPAN = re.compile(r"^(\d{1,5})(h|d|w|mo|y)$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1), "mo": MONTH}


def parse_span(text: str) -> timedelta:
    """``6h``, ``30d``, ``8w``, ``13mo``, ``2y`` (a year is 366 days); ValueError otherwise."""
    match = _SPAN.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} must be a span such as 6h, 30d, 8w, 13mo or 2y")
    count, unit = int(match.group(1)), match.group(2)
    return timedelta(days=366 * count) if unit == "y" else _UNITS[unit] * count


def span_text(span: timedelta) -> str:
    """The shortest of ``parse_span``'s forms that gives ``span`` back."""
    for unit, size in (("y", timedelta(days=366)), ("mo", MONTH), ("d", timedelta(days=1))):
        if span >= size and span % size == timedelta(0):
            return f"{span // size}{unit}"
    return f"{span // timedelta(hours=1)}h"


DEFAULT_RETENTION = Retention()
