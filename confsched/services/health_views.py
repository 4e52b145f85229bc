"""How health and the forecast look to people and scripts (CLI ``--json`` and the API alike).

Times are shown in the fleet's local time with its offset; counts always carry all five states.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from confsched.domain.forecast import RoomRisk
from confsched.domain.model import CallState, EndpointHealth, EndpointState, Fleet
from confsched.services.risk import AtRisk

STATES: tuple[str, ...] = tuple(s.value for s in EndpointState)


def parse_states(text: str | None) -> set[EndpointState] | None:
    """``down,offline`` → the states; None for no filter; a clear error for a misspelt one."""
    from confsched.errors import InvalidInput

    if not text:
        return None
    wanted = set()
    for part in (p.strip() for p in text.split(",")):
        if part not in STATES:
            raise InvalidInput(f"state {part!r} must be one of {', '.join(STATES)}")
        wanted.add(EndpointState(part))
    return wanted


def state_counts(healths: Iterable[EndpointHealth]) -> dict[str, int]:
    """Rooms per state, every one of the five present (zero included)."""
    counts = dict.fromkeys(STATES, 0)
    for health in healths:
        counts[health.state.value] += 1
    return counts


def local_iso(moment: datetime | None, tz: tzinfo) -> str | None:
    return moment.astimezone(tz).isoformat() if moment is not None else None


def age_seconds(moment: datetime | None, now: datetime) -> int | None:
    return max(0, int((now - moment).total_seconds())) if moment is not None else None


def age_text(moment: datetime | None, now: datetime) -> str:
    """ "12 s ago", "5 min ago", "3 h ago", "never"."""
    seconds = age_seconds(moment, now)
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def room_row(
    fleet: Fleet, health: EndpointHealth, now: datetime, tz: tzinfo, bridge: str | None = None
) -> dict[str, Any]:
    """One room's health line: state, reasons, last report (local, and its age), bridge."""
    endpoint = fleet.endpoints.get(health.endpoint)
    return {
        "endpoint": health.endpoint,
        "endpoint_name": endpoint.name if endpoint else health.endpoint,
        "state": health.state.value,
        "reasons": list(health.reasons),
        "codes": list(health.codes),
        "last_report_at": local_iso(health.last_report_at, tz),
        "last_report_age_s": age_seconds(health.last_report_at, now),
        "bridge": bridge or (endpoint.bridge if endpoint else None),
        "call": call_view(health.call),
    }


def call_view(call: CallState | None) -> dict[str, Any] | None:
    """``{"active": true, "remote": "sip:…"}``; None when the room's source cannot tell."""
    return None if call is None else {"active": call.active, "remote": call.remote}


def call_text(view: dict[str, Any] | None) -> str:
    """A :func:`call_view` in words, for ``rooms show``."""
    if view is None:
        return "unknown (its source cannot tell)"
    if not view["active"]:
        return "not in a call"
    return f"in a call with {view['remote']}" if view["remote"] else "in a call"


def risk_room_view(fleet: Fleet, room: RoomRisk, now: datetime, tz: tzinfo) -> dict[str, Any]:
    endpoint = fleet.endpoints.get(room.endpoint)
    return {
        "endpoint": room.endpoint,
        "endpoint_name": endpoint.name if endpoint else room.endpoint,
        "state": room.state.value,
        "reasons": list(room.reasons),
        "codes": list(room.codes),
        "bridge": room.bridge,
        "last_report_at": local_iso(room.last_report_at, tz),
        "last_report_age_s": age_seconds(room.last_report_at, now),
    }


def risk_view(fleet: Fleet, item: AtRisk, now: datetime, tz: tzinfo) -> dict[str, Any]:
    """One upcoming occurrence's forecast, as ``sessions risk --json`` and the API give it."""
    risk, occurrence = item.risk, item.occurrence
    return {
        "session_id": item.session.id,
        "title": item.session.title,
        "occurrence": local_iso(occurrence.recurrence_id, tz),
        "start": local_iso(occurrence.start, tz),
        "end": local_iso(occurrence.end, tz),
        "setup_at": local_iso(occurrence.busy_from, tz),
        "starts_in_s": int((occurrence.start - now).total_seconds()),
        "total": risk.total,
        "ready": risk.ready,
        "at_risk": len(risk.rooms),
        "text": f"ready {risk.ready} of {risk.total}",
        "rooms": [risk_room_view(fleet, r, now, tz) for r in risk.rooms],
    }


def check_rows(health: EndpointHealth) -> list[tuple[str, bool]]:
    return sorted(health.checks.items())


def by_state(
    healths: Mapping[str, EndpointHealth], wanted: set[EndpointState] | None
) -> list[EndpointHealth]:
    """The rooms to list: those in ``wanted``, or every room that is not ok; worst first."""
    order = {
        s: i
        for i, s in enumerate(
            (
                EndpointState.DOWN,
                EndpointState.OFFLINE,
                EndpointState.UNKNOWN,
                EndpointState.DEGRADED,
                EndpointState.OK,
            )
        )
    }
    chosen = [
        h
        for h in healths.values()
        if (h.state in wanted if wanted is not None else h.state is not EndpointState.OK)
    ]
    return sorted(chosen, key=lambda h: (order[h.state], h.endpoint))
