"""What the booking engine answers with: who holds a room, every conflict, the decision.

Conflicts are structured (an operator acts on each): ``as_dict()`` gives the shape of
docs/api.md, with times in the fleet's local time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from confsched.domain.model import PortAllocation


@dataclass(frozen=True, slots=True)
class Holder:
    """An existing occurrence that holds ``endpoint`` (from its setup time to its end)."""

    endpoint: str
    session_id: str
    title: str
    start: datetime
    end: datetime
    busy_from: datetime
    recurrence_id: datetime | None = None


def _local(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).isoformat()


@dataclass(frozen=True, slots=True)
class EndpointConflict:
    """``endpoint`` is held by another session over the asked time (setup included)."""

    endpoint: str
    endpoint_name: str
    session: str
    title: str
    start: datetime
    end: datetime
    busy_from: datetime
    timezone: str
    wanted_start: datetime | None = None

    kind = "endpoint"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "endpoint": self.endpoint,
            "endpoint_name": self.endpoint_name,
            "session": self.session,
            "title": self.title,
            "start": _local(self.start, self.timezone),
            "end": _local(self.end, self.timezone),
            "busy_from": _local(self.busy_from, self.timezone),
            "wanted_start": _local(self.wanted_start, self.timezone) if self.wanted_start else None,
        }


@dataclass(frozen=True, slots=True)
class PortsConflict:
    """No allocation of bridge ports can hold the session at this time."""

    needed: int
    free: int
    start: datetime
    end: datetime
    timezone: str
    free_by_bridge: Mapping[str, int] = field(default_factory=dict)

    kind = "ports"

    @property
    def message(self) -> str:
        local = self.start.astimezone(ZoneInfo(self.timezone))
        detail = ", ".join(f"{b} {n}" for b, n in self.free_by_bridge.items())
        return (
            f"{local:%Y-%m-%d %H:%M}: needs {self.needed} bridge ports, only {self.free} free "
            f"({detail})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "needed": self.needed,
            "free": self.free,
            "start": _local(self.start, self.timezone),
            "end": _local(self.end, self.timezone),
            "message": self.message,
            "free_by_bridge": dict(self.free_by_bridge),
        }


@dataclass(frozen=True, slots=True)
class SizeConflict:
    """More endpoints chosen than one session may hold: refused like any other booking."""

    chosen: int
    limit: int

    kind = "size"

    @property
    def message(self) -> str:
        return f"{self.chosen} endpoints chosen; a session holds at most {self.limit}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "chosen": self.chosen,
            "limit": self.limit,
            "message": self.message,
        }


Conflict = EndpointConflict | PortsConflict | SizeConflict

REFUSAL_REASONS = ("endpoint_conflict", "ports_conflict", "too_many_endpoints", "other")
"""The ``reason`` label values of ``confsched_booking_refusals_total``."""


def refusal_reason(conflicts: Sequence[object]) -> str:
    """One refused booking's main reason: a room taken wins over ports, ports over size."""
    kinds = {getattr(c, "kind", "") for c in conflicts}
    for kind, reason in (("endpoint", REFUSAL_REASONS[0]), ("ports", REFUSAL_REASONS[1]),
                         ("size", REFUSAL_REASONS[2])):  # fmt: skip
        if kind in kinds:
            return reason
    return REFUSAL_REASONS[3]


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's answer for one session: conflicts, or the allocation to store."""

    conflicts: tuple[Conflict, ...]
    allocation: PortAllocation | None
    overrides: Mapping[datetime, PortAllocation] = field(default_factory=dict)
    """Occurrences (by recurrence id) that need their own allocation at their time."""

    @property
    def ok(self) -> bool:
        return not self.conflicts
