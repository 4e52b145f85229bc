"""How a session's invites are doing: what ``sessions show`` and the API report per message."""

from __future__ import annotations

from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from confsched.domain.invites import Delivery, DeliveryStatus
from confsched.store import invites as outbox


def invites_view(db: sqlite_utils.Database, session_id: str, tz: ZoneInfo) -> dict[str, Any]:
    """``invites``: every message of the session; ``invites_waiting``: changes not yet
    turned into messages (no mailer running, or it has not got to them yet)."""
    return {
        "invites": [_delivery_view(d, tz) for d in outbox.session_deliveries(db, session_id)],
        "invites_waiting": outbox.unhandled_changes(db, session_id),
    }


def _delivery_view(delivery: Delivery, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "recipient": delivery.recipient.address,
        "name": delivery.recipient.name,
        "action": delivery.action.value,
        "occurrence": (
            delivery.recurrence_id.astimezone(tz).isoformat() if delivery.recurrence_id else None
        ),
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "error": delivery.last_error,
        "sent_at": delivery.sent_at.astimezone(tz).isoformat() if delivery.sent_at else None,
        "message_id": delivery.message_id,
    }


def invites_lines(view: dict[str, Any]) -> list[str]:
    """The text ``sessions show`` prints under "Invites:"."""
    messages: list[dict[str, Any]] = view["invites"]
    counts = Counter(m["status"] for m in messages)
    parts = [f"{counts[s.value]} {s.value}" for s in DeliveryStatus if counts[s.value]]
    waiting = view["invites_waiting"]
    if waiting:
        parts.append(f"{waiting} change{'s' if waiting != 1 else ''} not yet mailed")
    lines = [f"  Invites:    {', '.join(parts) or 'none'}"]
    for m in messages:
        which = m["occurrence"][:16].replace("T", " ") if m["occurrence"] else "series"
        who = f"{m['name']} <{m['recipient']}>"
        line = f"              {m['status']:7} {m['action']:7} {which:16} {who}"
        if m["status"] == DeliveryStatus.FAILED:
            line += f" — failed after {m['attempts']} attempts: {m['error']}"
        elif m["attempts"]:
            line += f" — retrying after {m['attempts']} refusals: {m['error']}"
        lines.append(line)
    return lines
