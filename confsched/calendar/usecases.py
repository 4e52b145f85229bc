"""Calendar use cases the CLI and the API share: a session's invite.

It lives with the calendar adapter (not in ``confsched.services``) because it renders
iCalendar: services never import an adapter. Feed tokens and URLs are ``calendar.tokens``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from confsched.calendar import ics
from confsched.calendar.invitations import sitting_of
from confsched.domain.model import Fleet
from confsched.errors import InvalidInput
from confsched.store.calendar import calendar_entry


def invite_for_session(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session_id: str,
    method: str | None = None,
    now: datetime | None = None,
    occurrence: datetime | None = None,
    room: str | None = None,
) -> bytes:
    """The iTIP invite of one session: REQUEST, or CANCEL once cancelled (``method`` forces one).

    DTSTAMP is the send time (``now``); SEQUENCE is the session's, so a client that saw an
    earlier invite applies this one as an update. ``occurrence`` (a sitting's original start)
    gives that sitting alone, with its RECURRENCE-ID: what was mailed when it was moved or
    cancelled. ``room``: the invite as that room reads it, naming only the bridge it dials.
    """
    chosen = None
    if method is not None:
        if method.upper() not in (ics.Method.REQUEST, ics.Method.CANCEL):
            raise InvalidInput(f"invite method {method!r}: use request or cancel")
        chosen = ics.Method(method.upper())
    entry = calendar_entry(db, session_id)
    sitting = sitting_of(db, entry, occurrence) if occurrence is not None else None
    if room is not None and room not in entry.session.endpoints:
        raise InvalidInput(f"room {room!r} does not take part in session {session_id}")
    rooms = None if room is None else [room]
    stamp = now or datetime.now(UTC)
    return ics.invite(entry, fleet, stamp, chosen, sitting=sitting, rooms=rooms)
