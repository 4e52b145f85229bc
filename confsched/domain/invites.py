"""Invites by e-mail, as plain data: what changed, who is told, and what they are sent.

A booking change (book, move, cancel; of a whole series or of one sitting) is recorded as an
:class:`InviteChange` in the same transaction as the change itself; the mailer later turns it
into one message per :class:`Recipient`. Only real addresses are recipients: an agency without
an e-mail address is named in the invite's description, never given an invented mailbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from confsched.domain.model import Fleet, Session


class InviteAction(StrEnum):
    """The iTIP method a change is announced with."""

    REQUEST = "request"
    CANCEL = "cancel"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Waiting for its first attempt, or for a retry after a refusal."""
    SENT = "sent"
    FAILED = "failed"
    """Every attempt was refused: an operator must look (the reason is kept)."""
    SKIPPED = "skipped"
    """Not sent: the session or sitting had taken place before the mailer got to it."""


@dataclass(frozen=True, slots=True)
class InviteChange:
    """One announced change of a session, as the booking transaction recorded it."""

    id: int
    session_id: str
    action: InviteAction
    recurrence_id: datetime | None
    """The sitting changed on its own (UTC), or None for the whole session."""
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    name: str
    rooms: tuple[str, ...] = ()
    """The session's rooms this recipient answers for (told only the bridges they dial);
    empty for the organizer, who is told every bridge."""


@dataclass(frozen=True, slots=True)
class Letter:
    """The words and the iCalendar object as one recipient reads them."""

    text: str
    calendar: bytes


@dataclass(frozen=True, slots=True)
class Invitation:
    """What the recipients of one change are sent: the words and the iCalendar object, and for
    a recipient with rooms of its own, its own letter (its rooms' bridges and dial-in)."""

    subject: str
    text: str
    calendar: bytes
    method: str
    """REQUEST or CANCEL: the ``method`` parameter of the ``text/calendar`` part."""
    recipients: tuple[Recipient, ...]
    letters: Mapping[str, Letter] = field(default_factory=dict)
    """By address (lower case); a recipient without one gets ``text`` and ``calendar``."""

    def letter_for(self, recipient: Recipient) -> Letter:
        return self.letters.get(recipient.address.lower(), Letter(self.text, self.calendar))


def recipients(fleet: Fleet, session: Session) -> tuple[Recipient, ...]:
    """The organizer and every agency owning a room in the session, if it has an address.

    In fleet order, each address once (two agencies may share a secretariat's mailbox: it
    answers for the rooms of both; the organizer's mailbox for all of them).
    """
    owned: dict[str, list[str]] = {session.organizer: []}
    for endpoint_id in session.endpoints:
        endpoint = fleet.endpoints.get(endpoint_id)
        if endpoint is not None:
            owned.setdefault(endpoint.agency, []).append(endpoint_id)
    found: dict[str, Recipient] = {}
    for agency_id, rooms in owned.items():
        agency = fleet.agencies.get(agency_id)
        if agency is None or not agency.email:
            continue
        key = agency.email.lower()
        held = found.get(key)
        if held is None:
            chosen = () if agency_id == session.organizer else tuple(rooms)
            found[key] = Recipient(agency.email, agency.name, chosen)
        elif held.rooms:  # a shared mailbox (not the organizer's): both agencies' rooms
            found[key] = Recipient(held.address, held.name, (*held.rooms, *rooms))
    return tuple(found.values())


def unreachable(fleet: Fleet, session: Session) -> tuple[str, ...]:
    """Names of the participating agencies that have no address (named in the description)."""
    names: dict[str, None] = {}
    for endpoint_id in session.endpoints:
        endpoint = fleet.endpoints.get(endpoint_id)
        if endpoint is None:
            continue
        agency = fleet.agencies.get(endpoint.agency)
        if agency is not None and not agency.email:
            names[agency.name] = None
    return tuple(names)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to one recipient for one change, as the outbox keeps it."""

    id: int
    change_id: int
    session_id: str
    action: InviteAction
    recurrence_id: datetime | None
    recipient: Recipient
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    sent_at: datetime | None
    message_id: str
