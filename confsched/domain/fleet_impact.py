"""What a re-imported fleet file does to the sittings already booked.

A booked sitting is told which bridge each of its rooms dials (its allocation). A new fleet file
can break that promise: a booked room may be gone, a bridge removed or given fewer ports than the
sittings on it need at some instant (counted across all sessions), or a room re-homed so that
its new home bridge over-fills. ``impact`` works that out over plain data; the import use case
refuses, applies or forces on its answer.

How the new file is projected onto a sitting: a room that dialled its old home bridge follows its
home to the new one (it is wired to and rehearses with it; a bridge not yet in the cascade is
linked to the busiest one), a room placed off its home stays where it was, a removed room frees
its port. The projected allocations are what the import stores when nothing breaks.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from confsched.domain.model import Fleet, PortAllocation
from confsched.domain.ports import usage

Key = tuple[str, datetime]
"""A sitting: (session id, recurrence id)."""


@dataclass(frozen=True, slots=True)
class Booked:
    """One live sitting still to end, as the impact check sees it."""

    session_id: str
    title: str
    recurrence_id: datetime
    start: datetime
    end: datetime
    busy_from: datetime
    endpoints: tuple[str, ...]
    allocation: PortAllocation
    """The allocation it holds now (its own, or its session's)."""
    attention: str = ""
    """Set when an earlier forced import already marked it as needing attention."""

    @property
    def key(self) -> Key:
        return self.session_id, self.recurrence_id


@dataclass(frozen=True, slots=True)
class RoomRemoved:
    """A booked room is no longer in the fleet."""

    endpoint: str

    def __str__(self) -> str:
        return f"room {self.endpoint} is removed from the fleet"


@dataclass(frozen=True, slots=True)
class BridgeShort:
    """A bridge the sitting uses would hold more ports than it has (0: the bridge is removed)."""

    bridge: str
    needed: int
    ports: int

    def __str__(self) -> str:
        if self.ports == 0:
            return f"bridge {self.bridge} is removed, {self.needed} ports in use then"
        return f"bridge {self.bridge} would need {self.needed} ports, has {self.ports}"


Problem = RoomRemoved | BridgeShort


@dataclass(frozen=True, slots=True)
class Affected:
    """A sitting the new file breaks, with every reason."""

    booked: Booked
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Impact:
    """The sittings broken by the new file (by start) and every sitting's projected allocation.

    ``projected`` holds only the sittings whose allocation the new file changes."""

    affected: tuple[Affected, ...] = ()
    projected: Mapping[Key, PortAllocation] | None = None

    @property
    def refused(self) -> bool:
        """Broken sittings not already known to need attention refuse the import."""
        return any(not a.booked.attention for a in self.affected)


def impact(old: Fleet, new: Fleet, booked: Sequence[Booked]) -> Impact:
    """What importing ``new`` over ``old`` does to ``booked`` (the live sittings still to end).

    One sweep per bridge over every sitting's projected ports gives the bridge's level between
    consecutive start and end times; a sitting on a bridge is broken when a level during its
    window (setup included) is above the bridge's new ports. O(n log n) for n sittings.
    """
    projected = {b.key: project(b.allocation, old, new) for b in booked}
    problems: dict[Key, list[Problem]] = {
        b.key: [RoomRemoved(e) for e in b.endpoints if e not in new.endpoints] for b in booked
    }
    ports = [usage(projected[b.key]) for b in booked]
    for bridge in sorted({x for used in ports for x in used}):
        capacity = new.bridges[bridge].ports if bridge in new.bridges else 0
        on_it = [
            (b, used[bridge]) for b, used in zip(booked, ports, strict=True) if used.get(bridge)
        ]
        segments = _levels(on_it)
        if max((level for _, _, level in segments), default=0) <= capacity:
            continue
        starts = [start for start, _, _ in segments]
        for b, _ in on_it:
            needed = _peak(segments, starts, b.busy_from, b.end)
            if needed > capacity:
                problems[b.key].append(BridgeShort(bridge, needed, capacity))
    affected = tuple(
        Affected(b, tuple(problems[b.key]))
        for b in sorted(booked, key=lambda b: (b.start, b.session_id))
        if problems[b.key]
    )
    changed = {b.key: projected[b.key] for b in booked if projected[b.key] != b.allocation}
    return Impact(affected, changed)


Segment = tuple[datetime, datetime, int]
"""From, until, and the ports in use on one bridge in between."""


def _levels(on_it: Sequence[tuple[Booked, int]]) -> list[Segment]:
    """The ports in use on one bridge between consecutive event times (ends before starts)."""
    events = sorted(
        [(b.busy_from, 1, n) for b, n in on_it] + [(b.end, 0, -n) for b, n in on_it],
        key=lambda e: (e[0], e[1]),
    )
    segments: list[Segment] = []
    level = 0
    for (at, _, delta), (following, _, _) in zip(events, [*events[1:], events[-1]], strict=True):
        level += delta
        if following > at:
            segments.append((at, following, level))
    return segments


def _peak(
    segments: Sequence[Segment], starts: Sequence[datetime], since: datetime, until: datetime
) -> int:
    """The highest level of the segments overlapping ``[since, until)``."""
    first = max(0, bisect_right(starts, since) - 1)
    peak = 0
    for start, end, level in segments[first:]:
        if start >= until:
            break
        if end > since:
            peak = max(peak, level)
    return peak


def project(allocation: PortAllocation, old: Fleet, new: Fleet) -> PortAllocation:
    """``allocation`` under the new file: removed rooms dropped, rooms at home follow their home."""
    placed: dict[str, list[str]] = {b: [] for b in allocation.by_bridge}
    for bridge, members in allocation.by_bridge.items():
        for endpoint in members:
            if endpoint in new.endpoints:
                placed.setdefault(_new_place(endpoint, bridge, allocation, old, new), []).append(
                    endpoint
                )
    links = list(allocation.links)
    hosts = {b for link in links for b in link} | {b for b in allocation.by_bridge}
    busiest = max(placed, key=lambda b: (b in hosts, len(placed[b])), default=None)
    for bridge, kept in placed.items():
        if bridge not in hosts and kept and busiest is not None and busiest != bridge:
            links.append((busiest, bridge))
    links = _pruned(links, placed)
    by_bridge = {b: tuple(m) for b, m in placed.items() if m}
    moved = {e: home for e, home in allocation.moved.items() if e in new.endpoints}
    result = PortAllocation(by_bridge, tuple(links), moved)
    return allocation if result == allocation else result


def _new_place(
    endpoint: str, bridge: str, allocation: PortAllocation, old: Fleet, new: Fleet
) -> str:
    """Where a kept room dials under the new file."""
    if endpoint in allocation.moved:
        return bridge
    before = old.endpoints[endpoint].bridge if endpoint in old.endpoints else None
    after = new.endpoints[endpoint].bridge
    if before == bridge and after is not None and after != bridge:
        return after
    return bridge


def _pruned(links: list[tuple[str, str]], placed: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """Leaf bridges left with nobody on them lose their link (a wasted port on both ends)."""
    while True:
        degree = Counter(b for link in links for b in link)
        idle = {b for b, d in degree.items() if d == 1 and not placed.get(b)}
        if not idle:
            return links
        links = [link for link in links if not idle.intersection(link)]


def attention_text(problems: Sequence[Problem]) -> str:
    """Why a sitting needs attention, in one line an operator can act on."""
    return "; ".join(str(p) for p in problems)
