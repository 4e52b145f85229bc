"""The invite an announced change becomes: the iTIP object and the words around it.

The mailer calls :func:`compose` for each change recorded by a booking transaction; the same
iTIP bytes are what ``sessions show --ics`` prints (``--room`` for what a room's agency got), so
a user can check what was mailed. The organizer is told every bridge; an agency with rooms in
the session only the bridges its rooms dial, each with its dial-in.
A change to the whole session sends the series (REQUEST with its moved sittings, or CANCEL);
a change to one sitting sends that sitting alone, named by its RECURRENCE-ID.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlite_utils

from confsched.calendar import ics, text
from confsched.domain.calendar import CalendarEntry
from confsched.domain.invites import Invitation, InviteAction, InviteChange, Letter, recipients
from confsched.domain.model import Fleet, Occurrence
from confsched.errors import NotFound
from confsched.store import booking as booking_store
from confsched.store.calendar import calendar_entry


def _subject_word(action: InviteAction, sitting: bool, updated: bool) -> str:
    """Invited, rescheduled, cancelled (the whole session), one sitting cancelled."""
    if action is InviteAction.CANCEL:
        return "Hủy buổi họp" if sitting else "Hủy họp"
    return "Thay đổi lịch họp" if sitting or updated else "Mời họp"


def sitting_of(db: sqlite_utils.Database, entry: CalendarEntry, moment: datetime) -> Occurrence:
    """The stored sitting of ``entry``'s series that originally started at ``moment``."""
    found = booking_store.occurrence(db, entry.session.id, moment)
    if found is None or not entry.session.rrule:
        raise NotFound("occurrence", f"{moment.isoformat()} of session {entry.session.id}")
    return found


def compose(
    db: sqlite_utils.Database,
    fleet: Fleet,
    change: InviteChange,
    sender: str,
    now: datetime,
) -> Invitation | None:
    """The invitation for ``change``; None when everything it announces has taken place."""
    entry = calendar_entry(db, change.session_id)
    sitting = sitting_of(db, entry, change.recurrence_id) if change.recurrence_id else None
    if _over(db, entry, sitting, now):
        return None
    method = ics.Method.CANCEL if change.action is InviteAction.CANCEL else ics.Method.REQUEST
    start = sitting.start if sitting else entry.session.start
    tz = ZoneInfo(fleet.timezone)
    when = start.astimezone(tz).strftime("%H:%M %d/%m/%Y")
    word = _subject_word(change.action, sitting is not None, entry.sequence > 0)
    subject = f"{word}: {text.printable(entry.session.title)} ({when})"

    def letter(rooms: tuple[str, ...] | None) -> Letter:
        """The words and iTIP object for a reader of ``rooms`` (None: every bridge)."""
        calendar = ics.invite(
            entry, fleet, now, method, sitting=sitting, organizer=sender, rooms=rooms
        )
        return Letter(_body(fleet, entry, sitting, change.action, subject, tz, rooms), calendar)

    everyone = letter(None)
    told = recipients(fleet, entry.session)
    own = {r.address.lower(): letter(r.rooms) for r in told if r.rooms}
    return Invitation(subject, everyone.text, everyone.calendar, method.value, told, own)


def _over(
    db: sqlite_utils.Database, entry: CalendarEntry, sitting: Occurrence | None, now: datetime
) -> bool:
    if sitting is not None:
        return sitting.end <= now
    last = booking_store.occurrences_of(db, entry.session.id)
    ends = [o.end for o in last] or [entry.session.end]
    return max(ends) <= now and not entry.session.rrule


def _body(
    fleet: Fleet,
    entry: CalendarEntry,
    sitting: Occurrence | None,
    action: InviteAction,
    subject: str,
    tz: ZoneInfo,
    rooms: tuple[str, ...] | None = None,
) -> str:
    """The plain-text part: what a reader without a calendar client needs to act (for a
    reader of ``rooms``, only the bridges they dial)."""
    session = entry.session
    start, end = (sitting.start, sitting.end) if sitting else (session.start, session.end)
    span = f"{start.astimezone(tz):%H:%M}–{end.astimezone(tz):%H:%M, %d/%m/%Y}"
    lines = [subject, ""]
    if action is InviteAction.CANCEL:
        lines.append(f"Buổi họp lúc {span} đã bị hủy." if sitting else "Cuộc họp đã bị hủy.")
    else:
        lines.append(f"Thời gian: {span}")
        if session.rrule and sitting is None:
            lines.append(f"Lặp lại: {session.rrule}")
    lines.append(f"Địa điểm: {text.location(fleet, session)}")
    lines += ["", text.description(fleet, session, start, tz, True, rooms), ""]
    lines.append("Lời mời kèm theo (invite.ics) mở được bằng Outlook, Gmail, Thunderbird.")
    return "\n".join(lines)
