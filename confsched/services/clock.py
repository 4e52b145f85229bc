"""The use cases' clock: now, in UTC, to the second (what is stored and shown).

A module of its own so that a command needing only the time (``confsched health``) does not
import the booking service with it.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
