"""The day-before forecast: which rooms of a session would not be ready if it started now.

Pure, no clock, no I/O: the caller hands in each room's current health (already aged at its
``now``), what the scheduler knows about the room's agent (enrolled, revoked, never enrolled,
polled codec, the last disconnect) and the session's bridge allocation with the bridges'
capacities. :func:`explain` turns a bare "offline" or "never reported" into the reason an
operator can act on; :func:`forecast` lists a session's rooms at risk, worst first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from confsched.domain.model import EndpointHealth, EndpointState, PortAllocation


class Enrolment(StrEnum):
    """How the room is watched: its own agent (enrolled or not, or cut off), or polled."""

    ENROLLED = "enrolled"
    NOT_ENROLLED = "not_enrolled"
    REVOKED = "revoked"
    POLLED = "polled"
    """A hardware codec, polled through its management API (no agent to enrol)."""


@dataclass(frozen=True, slots=True)
class RoomFacts:
    """Everything the scheduler knows about one room at ``now``."""

    health: EndpointHealth
    enrolment: Enrolment = Enrolment.ENROLLED
    disconnect: str | None = None
    """Why its last connection ended, in words ("key revoked", "connection lost"), if known."""


_SILENT = (EndpointState.OFFLINE, EndpointState.UNKNOWN)
_WHY_SILENT: Mapping[Enrolment, tuple[str, str]] = {
    Enrolment.REVOKED: ("key_revoked", "agent key revoked"),
    Enrolment.NOT_ENROLLED: ("not_enrolled", "no agent enrolled"),
}


def explain(facts: RoomFacts) -> EndpointHealth:
    """The room's health with the cause first when it is silent and the cause is known.

    A working room keeps its own reasons; an offline or unknown one gains, in this order, its
    key state (revoked, never enrolled) and the last disconnect reason, ahead of "no report for
    44 s" or "never reported".
    """
    causes = explanation(facts)
    if causes is None:
        return facts.health
    codes, reasons = causes
    return replace(facts.health, codes=codes, reasons=reasons)


def explanation(facts: RoomFacts) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """:func:`explain`'s codes and reasons, None when it adds nothing: the forecast reads them
    without making a new health for each of a day's 9,600 participants."""
    health = facts.health
    if health.state not in _SILENT:
        return None
    return _causes(facts.enrolment, facts.disconnect, health.state, health.codes, health.reasons)


@lru_cache(maxsize=4096)
def _causes(
    enrolment: Enrolment,
    disconnect: str | None,
    state: EndpointState,
    codes: tuple[str, ...],
    reasons: tuple[str, ...],
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Cached: silent rooms mostly share their facts (a fleet's rooms not enrolled yet, never
    reported, have one answer); bounded, as reasons with figures in them vary without end."""
    found: list[tuple[str, str]] = []
    if enrolment in _WHY_SILENT:
        found.append(_WHY_SILENT[enrolment])
    elif enrolment is Enrolment.POLLED and state is EndpointState.UNKNOWN:
        found.append(("never_polled", "codec not polled yet"))
    if disconnect and enrolment is Enrolment.ENROLLED:
        found.append(("disconnected", f"disconnected: {disconnect}"))
    if not found:
        return None
    return tuple(c for c, _ in found) + codes, tuple(r for _, r in found) + reasons


@dataclass(frozen=True, slots=True)
class RoomRisk:
    """One room that would not be ready, and why."""

    endpoint: str
    state: EndpointState
    reasons: tuple[str, ...]
    codes: tuple[str, ...]
    bridge: str | None
    last_report_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionRisk:
    """One occurrence's forecast: how many rooms would be ready, and the ones that would not."""

    session_id: str
    recurrence_id: datetime
    start: datetime
    total: int
    rooms: tuple[RoomRisk, ...] = field(default=())

    @property
    def ready(self) -> int:
        return self.total - len(self.rooms)

    @property
    def at_risk(self) -> bool:
        return bool(self.rooms)


_RANK = {
    EndpointState.DOWN: 0,
    EndpointState.OFFLINE: 1,
    EndpointState.UNKNOWN: 2,
    EndpointState.DEGRADED: 3,
    EndpointState.OK: 4,
}


def room_risk(facts: RoomFacts, bridge: str | None, short: Mapping[str, int]) -> RoomRisk | None:
    """Why this room would not be ready now, or None when it would.

    Down, offline, unknown and degraded rooms are at risk (a degraded room still joins, but the
    day before is the time to fix it); so is an ok room whose bridge is short of ports.
    """
    health = facts.health
    codes, reasons = explanation(facts) or (health.codes, health.reasons)
    if bridge is not None and short.get(bridge, 0) > 0:
        codes += ("bridge_short",)
        reasons += (f"bridge {bridge} short of {short[bridge]} ports",)
    elif health.state is EndpointState.OK:
        return None
    return RoomRisk(health.endpoint, health.state, reasons, codes, bridge, health.last_report_at)


def bridge_shortfalls(allocation: PortAllocation, capacity: Mapping[str, int]) -> dict[str, int]:
    """Bridge → ports missing for this allocation (a bridge gone from the fleet has none)."""
    short = {}
    bridges = set(allocation.by_bridge) | {b for link in allocation.links for b in link}
    for bridge in bridges:
        missing = allocation.ports_used(bridge) - capacity.get(bridge, 0)
        if missing > 0:
            short[bridge] = missing
    return short


def dialled_bridges(allocation: PortAllocation) -> dict[str, str]:
    """Endpoint → the bridge it dials in this allocation."""
    return {e: bridge for bridge, members in allocation.by_bridge.items() for e in members}


def forecast(
    session_id: str,
    recurrence_id: datetime,
    start: datetime,
    endpoints: Sequence[str],
    facts: Mapping[str, RoomFacts],
    allocation: PortAllocation,
    capacity: Mapping[str, int],
) -> SessionRisk:
    """The rooms of one occurrence that would not be ready now, down first, then by id.

    A room with no facts at all is treated as never reported (and never enrolled).
    """
    short = bridge_shortfalls(allocation, capacity)
    dials = dialled_bridges(allocation)
    risks = []
    for endpoint in endpoints:
        room = facts.get(endpoint) or RoomFacts(_never(endpoint), Enrolment.NOT_ENROLLED)
        risk = room_risk(room, dials.get(endpoint), short)
        if risk is not None:
            risks.append(risk)
    risks.sort(key=lambda r: (_RANK[r.state], r.endpoint))
    return SessionRisk(session_id, recurrence_id, start, len(endpoints), tuple(risks))


def _never(endpoint: str) -> EndpointHealth:
    return EndpointHealth(endpoint, reasons=("never reported",), codes=("never_reported",))
