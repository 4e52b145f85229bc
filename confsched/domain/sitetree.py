"""The site tree: who hangs under whom, the area a room belongs to, and what lies under a site.

Sites nest to any depth under named levels declared top-down in the fleet file (by default
province, district, commune; since July 2025 a province is often just province, commune). Every
grouping of rooms (selectors, console, invites, metrics) goes through these functions instead
of assuming districts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from confsched.domain.model import Site


@dataclass(frozen=True, slots=True)
class TreeProblem:
    """Something wrong with one site's place in the tree; ``key`` is the field to point at."""

    site: str
    key: str
    message: str


def resolve_tree(
    sites: Mapping[str, Site], levels: Sequence[str], declared: Collection[str] = ()
) -> tuple[dict[str, Site], list[TreeProblem]]:
    """Give parentless sites their implicit parent and check the tree.

    A site below the top level with no parent hangs under the fleet's one top-level site (a
    commune directly under the province). Refused: an unknown parent, a cycle, and a child at or
    above its parent's level. ``declared``: site ids written in the file but refused for another
    reason, which are not reported again as unknown parents.
    """
    problems: list[TreeProblem] = []
    resolved = _implicit_parents(sites, levels, problems)
    for site in resolved.values():
        if site.parent is not None and site.parent not in resolved and site.parent not in declared:
            problems.append(
                TreeProblem(site.id, "parent", f"parent {site.parent!r} is not a known site")
            )
    in_cycles = _report_cycles(resolved, problems)
    rank = {name: i for i, name in enumerate(levels)}
    for site in resolved.values():
        parent = resolved.get(site.parent or "")
        if parent is None or site.id in in_cycles:
            continue
        if rank.get(parent.level, -1) >= rank.get(site.level, len(levels)):
            problems.append(
                TreeProblem(
                    site.id,
                    "parent",
                    f"{site.id!r} ({site.level}) cannot hang under {parent.id!r} ({parent.level}):"
                    f" a site must be below its parent's level (levels: {', '.join(levels)})",
                )
            )
    return resolved, problems


def _implicit_parents(
    sites: Mapping[str, Site], levels: Sequence[str], problems: list[TreeProblem]
) -> dict[str, Site]:
    top = levels[0]
    tops = [s.id for s in sites.values() if s.level == top]
    resolved: dict[str, Site] = {}
    for site in sites.values():
        if site.parent is None and site.level != top:
            if len(tops) == 1:
                site = replace(site, parent=tops[0])
            elif tops:
                problems.append(
                    TreeProblem(
                        site.id,
                        "",
                        f"site {site.id!r} needs a 'parent:' (the fleet has {len(tops)} "
                        f"{top} sites: {', '.join(tops[:3])}…)",
                    )
                )
        resolved[site.id] = site
    return resolved


def _report_cycles(sites: Mapping[str, Site], problems: list[TreeProblem]) -> set[str]:
    """Every site on a cycle; one problem per cycle, on its first site in file order."""
    in_cycles: set[str] = set()
    settled: set[str] = set()
    order = {ident: i for i, ident in enumerate(sites)}
    for start in sites:
        path: list[str] = []
        current: str | None = start
        while current is not None and current in sites and current not in settled:
            if current in path:
                break
            path.append(current)
            current = sites[current].parent
        if current is not None and current in path:
            cycle = path[path.index(current) :]
            first = min(cycle, key=order.__getitem__)
            loop = cycle[cycle.index(first) :] + cycle[: cycle.index(first)] + [first]
            problems.append(TreeProblem(first, "parent", "sites form a cycle: " + " → ".join(loop)))
            in_cycles.update(cycle)
        settled.update(path)
    return in_cycles


def lineage(sites: Mapping[str, Site], site_id: str) -> list[Site]:
    """The site and its ancestors, top of the tree first (the tree is checked acyclic)."""
    chain: list[Site] = []
    current = sites.get(site_id)
    while current is not None and len(chain) <= len(sites):
        chain.append(current)
        current = sites.get(current.parent or "")
    return chain[::-1]


def area_of(sites: Mapping[str, Site], levels: Sequence[str], site_id: str) -> str | None:
    """The grouping a room at ``site_id`` belongs to, or None.

    Walking down from the top of the tree: the first site that is not at the top level, unless
    it is at the lowest level. A district room and its communes: the district; a province room,
    or a commune hanging directly under the province: none (they group under the province).
    """
    for site in lineage(sites, site_id):
        if site.level != levels[0]:
            return site.id if site.level != levels[-1] else None
    return None


def subtree(sites: Mapping[str, Site], site_id: str) -> set[str]:
    """``site_id`` and every site below it."""
    children: dict[str, list[str]] = {}
    for site in sites.values():
        if site.parent is not None:
            children.setdefault(site.parent, []).append(site.id)
    found: set[str] = set()
    todo = [site_id]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, ()))
    return found


def areas(sites: Mapping[str, Site], levels: Sequence[str]) -> list[Site]:
    """The sites that are some room's area, in file order (the console's and Grafana's groups)."""
    return [s for s in sites.values() if area_of(sites, levels, s.id) == s.id]
