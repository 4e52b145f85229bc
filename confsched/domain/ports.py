"""Bridge ports: how many each bridge has free over a time window, and who goes on which bridge.

Every participant takes one port. A session that does not fit one bridge cascades across several
joined in a tree (a star around the largest bridge when it can); each cascade link costs one port
on both of its bridges, so k bridges cost 2(k-1) extra ports. The allocation prefers the fewest
bridges, then keeps as many endpoints as possible on their home bridge (``Endpoint.bridge``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations, pairwise
from typing import NamedTuple

from confsched.domain.model import Bridge, PortAllocation

MAX_COMBINATIONS = 5000
"""Beyond this many bridge subsets of one size, only the largest bridges are tried (a national
fleet federates provinces; one scheduler rarely has more than a handful of bridges)."""


@dataclass(frozen=True, slots=True)
class Load:
    """The ports one existing occurrence holds on each bridge, from its setup time to its end."""

    busy_from: datetime
    end: datetime
    ports: Mapping[str, int]
    session_id: str = ""
    recurrence_id: datetime | None = None


class Participant(NamedTuple):
    """An endpoint and its home bridge (a tuple: 192 of them are made per booking check)."""

    endpoint: str
    home: str | None = None


@dataclass(slots=True)
class _Plan:
    bridges: tuple[str, ...]
    links: tuple[tuple[str, str], ...] = ()
    room: dict[str, int] = field(default_factory=dict)


def usage(allocation: PortAllocation) -> dict[str, int]:
    """Ports the allocation takes on each bridge (participants plus cascade links)."""
    bridges = set(allocation.by_bridge) | {b for link in allocation.links for b in link}
    return {b: allocation.ports_used(b) for b in bridges}


def peak_usage(loads: Iterable[Load], start: datetime, end: datetime) -> dict[str, int]:
    """The most ports in use on each bridge at any instant of ``[start, end)``."""
    events: list[tuple[datetime, int, str, int]] = []
    for load in loads:
        if load.busy_from >= end or load.end <= start:
            continue
        for bridge, ports in load.ports.items():
            events.append((max(load.busy_from, start), 1, bridge, ports))
            events.append((load.end, 0, bridge, -ports))  # ends sort before starts at a tie
    current: dict[str, int] = {}
    peak: dict[str, int] = {}
    for _, _, bridge, ports in sorted(events, key=lambda e: (e[0], e[1])):
        current[bridge] = current.get(bridge, 0) + ports
        peak[bridge] = max(peak.get(bridge, 0), current[bridge])
    return peak


def free_ports(
    bridges: Mapping[str, Bridge], loads: Iterable[Load], start: datetime, end: datetime
) -> dict[str, int]:
    """Ports free on each bridge for the whole of ``[start, end)``."""
    peak = peak_usage(loads, start, end)
    return {b.id: max(0, b.ports - peak.get(b.id, 0)) for b in bridges.values()}


def fits(allocation: PortAllocation, free: Mapping[str, int]) -> bool:
    return all(used <= free.get(b, 0) for b, used in usage(allocation).items())


def ports_needed(participants: int, capacities: Sequence[int]) -> tuple[int, int]:
    """(ports, bridges) the cheapest cascade needs when every bridge is empty."""
    ordered = sorted(capacities, reverse=True)
    for k in range(1, len(ordered) + 1):
        needed = participants + 2 * (k - 1)
        if sum(ordered[:k]) >= needed:
            return needed, k
    return participants + 2 * max(0, len(ordered) - 1), len(ordered)


def allocate(
    participants: Sequence[Participant], bridges: Mapping[str, Bridge], free: Mapping[str, int]
) -> PortAllocation | None:
    """The allocation on the fewest bridges (home bridges kept where possible), or None."""
    if not participants:
        return PortAllocation({})
    order = [b for b in bridges if free.get(b, 0) > 0]
    for k in range(1, len(order) + 1):
        best: tuple[int, PortAllocation] | None = None
        for subset in _subsets(order, k, free):
            plan = _plan(subset, len(participants), free)
            if plan is None:
                continue
            allocation, home_kept = _assign(plan, participants)
            if best is None or home_kept > best[0]:
                best = (home_kept, allocation)
        if best is not None:
            return best[1]
    return None


def _subsets(order: list[str], k: int, free: Mapping[str, int]) -> Iterable[tuple[str, ...]]:
    count = 1
    for i in range(k):
        count = count * (len(order) - i) // (i + 1)
    if count <= MAX_COMBINATIONS:
        return combinations(order, k)
    largest = sorted(order, key=lambda b: -free[b])[:k]
    return [tuple(b for b in order if b in largest)]


def _plan(subset: tuple[str, ...], n: int, free: Mapping[str, int]) -> _Plan | None:
    """A cascade tree over ``subset``; None when it cannot hold ``n`` participants.

    Every bridge needs one link port per neighbour and at least one participant. Extra links go
    to the bridges with the most spare ports, which makes a star around the largest bridge
    whenever it can take it (the fewest hops), and a chain where no bridge could.
    """
    k = len(subset)
    if k == 1:
        return _Plan(subset, (), {subset[0]: free[subset[0]]}) if free[subset[0]] >= n else None
    degree = {b: 1 for b in subset}
    for _ in range(k - 2):
        roomiest = max(subset, key=lambda b: free[b] - degree[b])
        degree[roomiest] += 1
    room = {b: free[b] - degree[b] for b in subset}
    if min(room.values()) < 1 or sum(room.values()) < n or n < k:
        return None
    return _Plan(subset, _tree(subset, degree, free), room)


def _tree(
    subset: tuple[str, ...], degree: Mapping[str, int], free: Mapping[str, int]
) -> tuple[tuple[str, str], ...]:
    """A tree with these degrees: the inner bridges in a chain, the others hung on them."""
    order = sorted(subset, key=lambda b: (-degree[b], -free[b], subset.index(b)))
    inner = [b for b in order if degree[b] >= 2]
    leaves = [b for b in order if degree[b] == 1]
    if not inner:  # two bridges
        return ((leaves[0], leaves[1]),)
    links = list(pairwise(inner))
    left = {b: degree[b] - sum(1 for link in links if b in link) for b in inner}
    for leaf in leaves:
        hub = next(b for b in inner if left[b] > 0)
        links.append((hub, leaf))
        left[hub] -= 1
    return tuple(links)


def _assign(plan: _Plan, participants: Sequence[Participant]) -> tuple[PortAllocation, int]:
    """Home bridges first, then the roomiest; every bridge of the cascade gets someone."""
    room = dict(plan.room)
    placed: dict[str, list[str]] = {b: [] for b in plan.bridges}
    rest: list[str] = []
    for p in participants:
        if p.home in room and room[p.home] > 0:
            placed[p.home].append(p.endpoint)
            room[p.home] -= 1
        else:
            rest.append(p.endpoint)
    home_kept = len(participants) - len(rest)
    for endpoint in rest:
        target = max(plan.bridges, key=lambda b: room[b])
        placed[target].append(endpoint)
        room[target] -= 1
    for bridge in plan.bridges:  # a bridge in the cascade with nobody on it is a wasted link
        if not placed[bridge]:
            donor = max(plan.bridges, key=lambda b: len(placed[b]))
            placed[bridge].append(placed[donor].pop())
            home_kept -= 1
    by_bridge = {b: tuple(placed[b]) for b in plan.bridges}
    return PortAllocation(by_bridge, plan.links), home_kept
