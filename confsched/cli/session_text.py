"""A session as ``confsched sessions show`` prints it: times, rooms, and every bridge it takes.

Each bridge of the cascade shows the session's own ports and the ports in use across all
sessions at the busiest instant of its next occurrence; ``--rooms`` lists the bridge every room
dials, marking those moved off their home bridge.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from confsched.cli.common import plural
from confsched.domain.model import Fleet, Occurrence, PortAllocation, Session
from confsched.domain.ports import usage
from confsched.domain.sitetree import lineage
from confsched.domain.timeparse import format_duration
from confsched.services.booking import BridgeLoad

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
INDENT = " " * 14


@dataclass(frozen=True, slots=True)
class SessionText:
    """What the text shows besides the session itself."""

    fleet: Fleet
    tz: ZoneInfo
    every_room: bool = False
    load: BridgeLoad | None = None
    sequence: int = 0
    """The calendar sequence agencies' calendars see (the invite's, not the row's)."""
    attention: tuple[Occurrence, ...] = ()
    """Its sittings a forced re-import broke (whatever the window shown)."""

    def lines(
        self, session: Session, occurrences: list[Occurrence], headline: str, label: str
    ) -> list[str]:
        fleet, tz = self.fleet, self.tz
        organizer = fleet.agencies.get(session.organizer)
        chair = fleet.endpoints.get(session.chair or "")
        lines = [
            f"{headline} {session.id}: {session.title}",
            f"  Status:     {session.status.value} (calendar sequence {self.sequence})",
            *self._attention(),
            f"  Organizer:  {organizer.name if organizer else session.organizer} "
            f"({session.organizer})",
            f"  Chair:      {chair.name if chair else session.chair} ({session.chair})",
            f"  When:       {span(session.start, session.end, tz)}, rooms busy from "
            f"{(session.start - session.setup).astimezone(tz):%H:%M} (setup "
            f"{format_duration(session.setup)})",
        ]
        if session.rrule:
            lines.append(f"  Repeat:     {session.rrule}")
            if session.exdates:
                skipped = ", ".join(f"{d.astimezone(tz):%Y-%m-%d %H:%M}" for d in session.exdates)
                lines.append(f"  Except:     {skipped}")
        lines.append(f"  Rooms:      {len(session.endpoints)} ({', '.join(session.selectors)})")
        lines.extend(f"{INDENT}{part}" for part in self._rooms(session))
        lines.extend(self._ports(session.allocation))
        lines.append(f"  {label}")
        lines.extend(self._occurrence(o) for o in occurrences)
        if not occurrences:
            lines.append("    none to come")
        return lines

    def _attention(self) -> list[str]:
        if not self.attention:
            return []
        lines = [
            f"  Attention:  {plural(len(self.attention), 'sitting')} need"
            f"{'s' if len(self.attention) == 1 else ''} attention (a forced re-import broke "
            f"{'it' if len(self.attention) == 1 else 'them'}: move or cancel)"
        ]
        for o in self.attention:
            lines.append(f"{INDENT}{span(o.start, o.end, self.tz)}: {o.attention}")
        return lines

    def _rooms(self, session: Session) -> list[str]:
        if self.every_room:
            return [self._room(session.allocation, e) for e in session.endpoints]
        counts: Counter[str] = Counter()
        for e in session.endpoints:
            endpoint = self.fleet.endpoints.get(e)
            if endpoint is None:
                continue
            site = self.fleet.sites.get(
                endpoint.area or lineage(self.fleet.sites, endpoint.site)[0].id
            )
            counts[site.name if site else endpoint.site] += 1
        summary = [", ".join(f"{name}: {n}" for name, n in counts.items())]
        if session.allocation.moved:
            summary.append(
                f"{len(session.allocation.moved)} moved off their home bridge "
                "(--rooms lists who dials where)"
            )
        return summary

    def _room(self, allocation: PortAllocation, endpoint_id: str) -> str:
        endpoint = self.fleet.endpoints.get(endpoint_id)
        name = endpoint.name if endpoint else "(no longer in the fleet)"
        bridge = allocation.bridge_of(endpoint_id) or "no port"
        home = allocation.moved.get(endpoint_id)
        moved = f" (moved off its home bridge {home})" if home else ""
        return f"{endpoint_id:24} {name}  → {bridge}{moved}"

    def _ports(self, allocation: PortAllocation) -> list[str]:
        used = usage(allocation)
        lines: list[str] = []
        for bridge_id, bridge in self.fleet.bridges.items():
            if bridge_id not in used:
                continue
            people = len(allocation.by_bridge.get(bridge_id, ()))
            links = sum(1 for link in allocation.links if bridge_id in link)
            label = "  Ports:      " if not lines else INDENT
            link_text = f" + {plural(links, 'cascade link')}" if links else ""
            lines.append(
                f"{label}{bridge_id:12} {used[bridge_id]:>4}/{bridge.ports:<4} "
                f"{plural(people, 'room')}{link_text}{self._load_text(bridge_id, bridge.ports)}"
            )
        lines.extend(f"{INDENT}cascade {a} ⇄ {b}" for a, b in allocation.links)
        return lines or ["  Ports:      none (cancelled)"]

    def _load_text(self, bridge_id: str, capacity: int) -> str:
        if self.load is None:
            return ""
        in_use = self.load.ports.get(bridge_id, 0)
        return f"; {in_use}/{capacity} in use then, all sessions"

    def _occurrence(self, o: Occurrence) -> str:
        marks = [m for m, on in (("moved", o.moved), ("cancelled", o.cancelled)) if on]
        if o.attention and not o.cancelled:
            marks.append("needs attention")
        if o.allocation is not None:
            marks.append("own bridges: " + ", ".join(o.allocation.by_bridge))
        suffix = f"  ({', '.join(marks)}, sequence {o.sequence})" if marks else ""
        day = DAYS[o.start.astimezone(self.tz).weekday()]
        return f"    {day} {span(o.start, o.end, self.tz)}{suffix}"


def span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_start.date() == local_end.date():
        return f"{local_start:%Y-%m-%d %H:%M}–{local_end:%H:%M}"
    return f"{local_start:%Y-%m-%d %H:%M}–{local_end:%Y-%m-%d %H:%M}"
