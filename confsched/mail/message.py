"""One recipient's invite as a MIME message.

The structure is the one the big clients produce and recognise::

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain; charset=utf-8                    (the words, for any reader)
    │   └── text/calendar; method=REQUEST; charset=utf-8 (Outlook reads only this part)
    └── application/ics; name=invite.ics                 (attached, for clients that import)

Bodies are base64 UTF-8, so no line is too long and no 8-bit byte needs 8BITMIME. Headers
are RFC 2047 encoded words. The Subject is encoded here, in words of whole characters that
keep their spaces: Python 3.11's header folder drops the space between two encoded words it
folds apart ("huyện Đại Từ" arrives as "huyệnĐại Từ"); names are short enough not to fold.
"""

from __future__ import annotations

import base64
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from confsched.domain.invites import Invitation, Recipient

FILENAME = "invite.ics"
WORD_BYTES = 45
"""UTF-8 bytes per encoded word: 60 base64 characters, 72 with the markers (at most 75)."""
POLICY = SMTP.clone(max_line_length=998)
"""No folding by the standard library (see the module docstring)."""


def message_id(delivery_key: str, sender: str) -> str:
    """Stable per delivery: a retry carries the same Message-ID, so a client can drop a twin."""
    domain = sender.rpartition("@")[2] or "confsched.invalid"
    return f"<{delivery_key}@{domain}>"


def build(
    invitation: Invitation,
    recipient: Recipient,
    sender: str,
    sender_name: str,
    msgid: str,
    now: datetime,
) -> bytes:
    """The message for ``recipient``, as the bytes handed to the relay (CRLF line ends)."""
    message = EmailMessage(policy=POLICY)
    message["From"] = _address(sender_name, sender)
    message["To"] = _address(recipient.name, recipient.address)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = msgid
    message["Content-Class"] = "urn:content-classes:calendarmessage"  # Outlook's hint
    letter = invitation.letter_for(recipient)
    message.set_content(letter.text, charset="utf-8", cte="base64")
    message.add_alternative(
        letter.calendar,
        maintype="text",
        subtype="calendar",
        params={"method": invitation.method, "charset": "utf-8"},
        cte="base64",
    )
    message.add_attachment(
        letter.calendar, maintype="application", subtype="ics", filename=FILENAME
    )
    return b"Subject: " + encoded_words(invitation.subject) + b"\r\n" + message.as_bytes()


def encoded_words(text: str, budget: int = WORD_BYTES) -> bytes:
    """``text`` as folded RFC 2047 base64 words, each of at most ``budget`` UTF-8 bytes."""
    if text.isascii() and len(text) < 900 and "=?" not in text:
        return text.encode("ascii")
    words, chunk = [], ""
    for char in text:
        if len((chunk + char).encode()) > budget:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return b"\r\n ".join(b"=?utf-8?b?" + base64.b64encode(w.encode()) + b"?=" for w in words if w)


def _address(name: str, address: str) -> Address:
    user, _, domain = address.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)
