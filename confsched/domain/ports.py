"""Bridge ports: how many each bridge has free over a time window, and who goes on which bridge.

Every participant takes one port. A session that does not fit one bridge cascades across several
joined in a tree (a star around the roomiest bridge when it can); each cascade link costs one port
on both of its bridges, so k bridges cost 2(k-1) extra ports. A room is wired to, and its staff
rehearse with, its home bridge (``Endpoint.bridge``): the allocation moves the fewest rooms off
their home bridge, then uses the fewest links, within the ports free for the whole window.

How: for a chosen set of hosting bridges, the best tree is found greedily (every bridge starts
with one link port; each further link port goes where a spare port costs no home room, else to
the roomiest bridge), which is optimal because a bridge's loss of home rooms grows by at most
one per link port and only once its spare ports are used up. The set itself is searched
exactly, but only among the sets that can be best (``_candidate_sets``), so six bridges cost a
fraction of a millisecond.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations, pairwise
from typing import NamedTuple

from confsched.domain.model import Bridge, PortAllocation, overlaps

MAX_EXACT = 8
"""Bridges holding at most one home room of a session searched in every combination (2^8 sets);
beyond that many such bridges the rest are left out of the search (a national fleet federates
provinces; one scheduler rarely has more than a handful of bridges)."""


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


@dataclass(frozen=True, slots=True)
class _Plan:
    """A set of hosting bridges with its tree degrees, scored: (moved, links) is minimised."""

    bridges: tuple[str, ...]
    degree: Mapping[str, int]
    moved: int

    @property
    def score(self) -> tuple[int, int]:
        return self.moved, len(self.bridges) - 1


def usage(allocation: PortAllocation) -> dict[str, int]:
    """Ports the allocation takes on each bridge (participants plus cascade links)."""
    bridges = set(allocation.by_bridge) | {b for link in allocation.links for b in link}
    return {b: allocation.ports_used(b) for b in bridges}


def peak_usage(loads: Iterable[Load], start: datetime, end: datetime) -> dict[str, int]:
    """The most ports in use on each bridge at any instant of ``[start, end)``."""
    events: list[tuple[datetime, int, str, int]] = []
    for load in loads:
        if not overlaps(load.busy_from, load.end, start, end):
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
    """The allocation moving the fewest rooms off their home bridge, then with the fewest links;
    None when no cascade of the free ports holds everyone.

    A participant without a home bridge (or whose home is not a bridge of ``bridges``) goes
    wherever there is room and never counts as moved.
    """
    if not participants:
        return PortAllocation({})
    homes = Counter(p.home for p in participants if p.home is not None and p.home in bridges)
    usable = [b for b in bridges if free.get(b, 0) > 0]
    best: _Plan | None = None
    for subset in _candidate_sets(usable, homes, free):
        if best is not None and best.score <= (0, len(subset) - 1):
            continue  # no plan over this set can beat it: it moves >= 0 rooms with more links
        plan = _plan(subset, len(participants), homes, free)
        if plan is not None and (best is None or plan.score < best.score):
            best = plan
    return None if best is None else _assign(best, participants, bridges, free)


def _candidate_sets(
    usable: list[str], homes: Mapping[str, int], free: Mapping[str, int]
) -> Iterable[tuple[str, ...]]:
    """The sets of hosting bridges worth scoring (file order kept inside each).

    A bridge that would keep two or more of its home rooms even with a link port is in every best
    set: adding it to any set that holds everyone keeps two rooms home and costs at most one (the
    port its link takes elsewhere). Of the bridges with no home room, only the roomiest j are worth
    trying for each j. What is left (bridges keeping at most one home room) is searched
    exhaustively, up to MAX_EXACT of them.
    """
    forced = {b for b in usable if min(homes.get(b, 0), free[b] - 1) >= 2}
    doubtful = [b for b in usable if b not in forced and homes.get(b, 0)][:MAX_EXACT]
    homeless = sorted((b for b in usable if not homes.get(b, 0)), key=lambda b: -free[b])
    for k in range(len(doubtful) + 1):
        for extra in combinations(doubtful, k):
            for j in range(len(homeless) + 1):
                chosen = forced.union(extra, homeless[:j])
                if chosen:
                    yield tuple(b for b in usable if b in chosen)


def _plan(
    subset: tuple[str, ...], n: int, homes: Mapping[str, int], free: Mapping[str, int]
) -> _Plan | None:
    """The best tree over ``subset`` for ``n`` participants, or None when it cannot hold them.

    Every bridge needs one link port per neighbour and keeps at least one participant.
    """
    k = len(subset)
    if k == 1:
        if free[subset[0]] < n:
            return None
        return _Plan(subset, {subset[0]: 0}, sum(homes.values()) - homes.get(subset[0], 0))
    if n < k:
        return None
    degree = dict.fromkeys(subset, 1)
    for _ in range(k - 2):
        target = _next_link_port(subset, degree, homes, free)
        if target is None:
            return None
        degree[target] += 1
    room = {b: free[b] - degree[b] for b in subset}
    if min(room.values()) < 1 or sum(room.values()) < n:
        return None
    kept = {b: min(homes.get(b, 0), room[b]) for b in subset}
    empty = sum(1 for b in subset if kept[b] == 0)
    stolen = max(0, empty - (n - sum(kept.values())))  # an empty bridge takes a home room
    return _Plan(subset, degree, sum(homes.values()) - sum(kept.values()) + stolen)


def _next_link_port(
    subset: tuple[str, ...],
    degree: Mapping[str, int],
    homes: Mapping[str, int],
    free: Mapping[str, int],
) -> str | None:
    """Where one more link port costs no home room (the roomiest such), else the roomiest."""
    able = [b for b in subset if free[b] - degree[b] >= 2]
    if not able:
        return None
    return max(able, key=lambda b: (free[b] - degree[b] > homes.get(b, 0), free[b] - degree[b]))


def _tree(
    subset: tuple[str, ...], degree: Mapping[str, int], free: Mapping[str, int]
) -> tuple[tuple[str, str], ...]:
    """A tree with these degrees: the inner bridges in a chain, the others hung on them."""
    order = sorted(subset, key=lambda b: (-degree[b], -free[b], subset.index(b)))
    inner = [b for b in order if degree[b] >= 2]
    leaves = [b for b in order if degree[b] == 1]
    if not inner:  # two bridges
        return ((leaves[0], leaves[1]),) if len(leaves) == 2 else ()
    links = list(pairwise(inner))
    left = {b: degree[b] - sum(1 for link in links if b in link) for b in inner}
    for leaf in leaves:
        hub = next(b for b in inner if left[b] > 0)
        links.append((hub, leaf))
        left[hub] -= 1
    return tuple(links)


def _assign(
    plan: _Plan,
    participants: Sequence[Participant],
    bridges: Mapping[str, Bridge],
    free: Mapping[str, int],
) -> PortAllocation:
    """Home bridges first; then a bridge still empty, then the roomiest, for everyone else."""
    room = {b: free[b] - plan.degree[b] for b in plan.bridges}
    placed: dict[str, list[str]] = {b: [] for b in plan.bridges}
    rest: list[str] = []
    for p in participants:
        if p.home in room and room[p.home] > 0:
            placed[p.home].append(p.endpoint)
            room[p.home] -= 1
        else:
            rest.append(p.endpoint)
    for endpoint in rest:
        target = max(plan.bridges, key=lambda b: (not placed[b], room[b]))
        placed[target].append(endpoint)
        room[target] -= 1
    for bridge in plan.bridges:  # a bridge in the cascade with nobody on it is a wasted link
        if not placed[bridge]:
            donor = max(plan.bridges, key=lambda b: len(placed[b]))
            placed[bridge].append(placed[donor].pop())
    by_bridge = {b: tuple(placed[b]) for b in plan.bridges}
    homes = {p.endpoint: p.home for p in participants if p.home is not None and p.home in bridges}
    moved = {
        e: homes[e] for b, members in by_bridge.items() for e in members if homes.get(e, b) != b
    }
    return PortAllocation(by_bridge, _tree(plan.bridges, plan.degree, free), moved)
