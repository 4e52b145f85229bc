"""What the calendar needs of a session, and which feeds show it.

A calendar entry is the session (the series) plus only those occurrences that differ from what
its RRULE says (moved or cancelled sittings): these become RECURRENCE-ID overrides and EXDATEs.
Everything here is plain data, so it can be built in tests without a store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from confsched.domain.model import Fleet, Occurrence, Session, SessionStatus
from confsched.domain.recurrence import last_start, parse_rrule
from confsched.errors import InvalidInput


class FeedKind(StrEnum):
    AGENCY = "agency"
    ROOM = "room"


@dataclass(frozen=True, slots=True)
class FeedKey:
    """One subscribable feed: an agency's (organizer or participant) or a room's."""

    kind: FeedKind
    subject: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.subject}"


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """A session with its exceptional occurrences (moved or cancelled), by original start."""

    session: Session
    exceptions: tuple[Occurrence, ...] = ()
    occurrence_sequence: int = 0
    """What its sittings add to the series' SEQUENCE (see ``sittings_sequence``)."""

    @property
    def cancelled(self) -> bool:
        return self.session.status is SessionStatus.CANCELLED

    @property
    def moved(self) -> tuple[Occurrence, ...]:
        return tuple(o for o in self.exceptions if not o.cancelled)

    @property
    def cancelled_sittings(self) -> tuple[Occurrence, ...]:
        return tuple(o for o in self.exceptions if o.cancelled)

    @property
    def sequence(self) -> int:
        """The series' SEQUENCE: never below any change announced for one of its sittings."""
        sittings = (o.sequence for o in self.exceptions)
        return max([self.session.sequence, self.occurrence_sequence, *sittings])

    def version(self) -> bytes:
        """Changes whenever the rendered event would: the key of the event-bytes cache.

        A digest (bytes are never walked by the garbage collector) of every field rendered.
        """
        s = self.session
        fields = (
            s.sequence,
            s.updated_at,
            s.status,
            s.title,
            s.start,
            s.end,
            s.setup,
            s.rrule,
            s.exdates,
            s.chair,
            s.organizer,
            s.endpoints,
            tuple(sorted(s.allocation.by_bridge.items())),
            self.exceptions,
            self.occurrence_sequence,
        )
        return hashlib.blake2b(repr(fields).encode(), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class SessionChanges:
    """What changed in the store since the calendar last looked."""

    prints: dict[str, str]
    """Session id -> a summary of its stored rows that differs whenever they do."""
    entries: list[CalendarEntry]
    removed: set[str]


def exceptions_of(session: Session, occurrences: Iterable[Occurrence]) -> tuple[Occurrence, ...]:
    """The sittings of a recurring session that its RRULE alone would not give.

    Moved ones (even moved back: their SEQUENCE grew) become overrides, cancelled ones EXDATEs;
    once the whole series is cancelled its STATUS says so and only moved sittings stay apart.
    """
    if not session.rrule:
        return ()
    length = session.end - session.start
    series_off = session.status is SessionStatus.CANCELLED

    def apart(o: Occurrence) -> bool:
        if o.cancelled:
            return not series_off
        return o.moved or o.start != o.recurrence_id or o.end - o.start != length

    odd = [o for o in occurrences if apart(o)]
    return tuple(sorted(odd, key=lambda o: o.recurrence_id))


def sittings_sequence(occurrences: Iterable[Occurrence]) -> int:
    """A series' SEQUENCE as its sittings tell it: grows with every change to any one of them.

    The booking engine numbers each sitting on its own: moving one sitting and then cancelling
    another leaves both at 1, yet the series changed twice and an invite must say so with a
    higher SEQUENCE each time. The highest sitting number plus the count of sittings moved or
    cancelled on their own grows with each such change and never shrinks (sittings are never
    un-moved, un-cancelled or forgotten).
    """
    sittings = list(occurrences)
    highest = max((o.sequence for o in sittings), default=0)
    return highest + sum(1 for o in sittings if o.moved or o.cancelled)


def feeds_of(session: Session, fleet: Fleet) -> frozenset[FeedKey]:
    """The organizer's feed, the feed of every agency owning a room in it, every room's feed."""
    keys = {FeedKey(FeedKind.AGENCY, session.organizer)}
    for endpoint_id in session.endpoints:
        keys.add(FeedKey(FeedKind.ROOM, endpoint_id))
        endpoint = fleet.endpoints.get(endpoint_id)
        if endpoint is not None:
            keys.add(FeedKey(FeedKind.AGENCY, endpoint.agency))
    return frozenset(keys)


def last_end(entry: CalendarEntry, tz: ZoneInfo) -> datetime | None:
    """When the entry's last sitting ends (a moved one may end after the rule's last); None
    for a series that never ends (or whose stored rule cannot be read: shown, not hidden)."""
    session = entry.session
    ends = [o.end for o in entry.moved]
    if not session.rrule:
        return max([session.end, *ends])
    try:
        last = last_start(parse_rrule(session.rrule, tz), session.start, tz)
    except InvalidInput:
        return None
    if last is None:
        return None
    return max([last + (session.end - session.start), *ends])
