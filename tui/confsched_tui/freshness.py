"""Whether an endpoint's values are current or only the last ones it sent.

An offline room keeps its last report: shown as if current, its ✔ marks and "now 25 ms" would
tell an operator the room is fine when nothing is known. Pure (``now`` is passed in), so the
screens and their snapshots agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from confsched_tui.text import parse_time

STALE_AFTER_INTERVALS = 2
"""Values older than this many report intervals are last-known (one report missed, with room
for a report that is merely late; the scheduler calls the room offline after three)."""


def last_known_age(health: Mapping[str, Any], now: datetime) -> timedelta | None:
    """How old the endpoint's values are when they are no longer current; None while they are
    (or when there are none)."""
    last = parse_time(health.get("last_report_at"))
    if last is None:
        return None
    age = max(now - last, timedelta(0))
    if health.get("state") == "offline":
        return age
    interval = float(health.get("interval_seconds") or 0)
    if interval and age > timedelta(seconds=interval * STALE_AFTER_INTERVALS):
        return age
    return None
