"""Validating a fleet description into a Fleet, reporting every problem with its line.

The input is plain data whose maps and lists remember the line of each entry (built by
``confsched.fleetfile`` from YAML); this module knows nothing of YAML. The ``fleet:`` header is
read by ``fleet_settings``, the site tree checked by ``sitetree``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from confsched.domain.fleet_settings import read_client, read_header
from confsched.domain.located import SLUG, Checker, LocatedMap
from confsched.domain.model import (
    CODEC_DRIVERS,
    DEFAULT_LEVELS,
    Agency,
    Bridge,
    CodecAccess,
    Endpoint,
    EndpointKind,
    Fleet,
    Site,
)
from confsched.domain.sitetree import area_of, resolve_tree
from confsched.errors import FleetProblem

_SECTIONS = {"fleet", "bridges", "agencies", "sites", "endpoints"}


def build_fleet(root: Any, file: str) -> tuple[Fleet | None, list[FleetProblem]]:
    """Validate ``root`` (as read from the fleet file) into a Fleet, or say every problem."""
    check = Checker(file)
    if not isinstance(root, LocatedMap):
        check.problem(getattr(root, "line", 1), "the fleet file must be a mapping of sections")
        return None, check.problems
    for key in root:
        if key not in _SECTIONS:
            allowed = ", ".join(sorted(_SECTIONS))
            check.problem(root.key_lines[key], f"unknown section {key!r} (allowed: {allowed})")
    header = read_header(check, root)
    levels = header.levels if header else DEFAULT_LEVELS
    bridges = check.unique(check.section(root, "bridges"), "bridge", lambda i: _bridge(check, i))
    agencies = check.unique(check.section(root, "agencies"), "agency", lambda i: _agency(check, i))
    sites = _sites(check, check.section(root, "sites"), levels)
    endpoints = check.unique(
        check.section(root, "endpoints"),
        "endpoint",
        lambda i: _endpoint(check, i, sites, agencies, bridges, levels),
    )
    client = header.client_process if header else ""
    endpoints = {
        ident: replace(e, client_process=e.client_process or client)
        if e.kind is EndpointKind.PC
        else e
        for ident, e in endpoints.items()
    }
    if not any(kind == "bridge" for kind, _ in check.declared):
        check.problem(root.lines.get("bridges", root.line), "the fleet needs at least one bridge")
    if not any(kind == "endpoint" for kind, _ in check.declared):
        check.problem(root.lines.get("endpoints", root.line), "the fleet has no endpoints")
    if check.problems or header is None:
        return None, check.problems
    fleet = Fleet(
        header.name,
        header.timezone,
        header.working_hours,
        header.report_interval,
        agencies,
        sites,
        bridges,
        endpoints,
        header.levels,
        header.readiness_stages,
        header.language,
        header.health_history,
    )
    return fleet, []


def _bridge(check: Checker, item: LocatedMap) -> Bridge | None:
    ports = check.count(item, "ports") if "ports" in item else None
    if ports is None:
        return None
    ident = item["id"]
    return Bridge(
        id=ident,
        name=check.name(item, "name", ident),
        ports=ports,
        address=check.text(item, "address"),
        dial_in=check.text(item, "dial_in"),
    )


def _agency(check: Checker, item: LocatedMap) -> Agency:
    email = check.text(item, "email") or None
    return Agency(id=item["id"], name=check.name(item), email=email)


def _sites(
    check: Checker, entries: list[tuple[LocatedMap, int]], levels: tuple[str, ...]
) -> dict[str, Site]:
    """Sites with their parents resolved and the tree checked (problems on the entries' lines)."""

    def make(item: LocatedMap) -> Site | None:
        level = check.text(item, "level")
        if level not in levels:
            check.problem(
                check.line(item, "level"),
                f"level {level!r} is not declared (levels: {', '.join(levels)})",
            )
            return None
        if "parent" in item and "district" in item:
            check.problem(item.key_lines["district"], "give 'parent:' or 'district:', not both")
        key = "parent" if "parent" in item else "district"
        parent = check.slug(item, key) if item.get(key) is not None else ""
        return Site(id=item["id"], name=check.name(item), level=level, parent=parent or None)

    sites = check.unique(entries, "site", make)
    declared = {ident for kind, ident in check.declared if kind == "site"}
    resolved, problems = resolve_tree(sites, levels, declared)
    by_id = {item.get("id"): item for item, _line in reversed(entries)}
    for problem in problems:
        item = by_id[problem.site]
        key = next((k for k in ("parent", "district") if k in item), "")
        line = item.lines[key] if problem.key == "parent" and key else item.line
        check.problem(line, problem.message)
    return resolved


def _endpoint(
    check: Checker,
    item: LocatedMap,
    sites: dict[str, Site],
    agencies: dict[str, Agency],
    bridges: dict[str, Bridge],
    levels: tuple[str, ...],
) -> Endpoint | None:
    site_id = check.ref(item, "site", sites, "site")
    agency = check.ref(item, "agency", agencies, "agency")
    bridge = check.ref(item, "bridge", bridges, "bridge")
    raw_kind = check.text(item, "kind", "pc")
    if raw_kind not in {k.value for k in EndpointKind}:
        check.problem(item.lines["kind"], f"kind {raw_kind!r} must be pc or codec")
    tags = item.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and SLUG.match(t) for t in tags):
        check.problem(item.lines.get("tags", item.line), "tags must be a list of slugs")
        tags = []
    name = check.name(item)
    codec = _codec(check, item, raw_kind)
    client = read_client(check, item)
    if client and raw_kind == EndpointKind.CODEC.value:
        check.problem(check.line(item, "client"), "client: is only for endpoints of kind pc")
    if site_id is None or agency is None or raw_kind not in {k.value for k in EndpointKind}:
        return None
    return Endpoint(
        id=item["id"],
        name=name,
        kind=EndpointKind(raw_kind),
        agency=agency,
        site=site_id,
        level=sites[site_id].level,
        area=area_of(sites, levels, site_id),
        address=check.text(item, "address"),
        bridge=bridge,
        tags=tuple(tags),
        codec=codec,
        client_process=client,
    )


_CODEC_URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/\S*)?$")


def _codec(check: Checker, item: LocatedMap, kind: str) -> CodecAccess | None:
    """``codec: {driver, url}``: how a codec room is polled (only for ``kind: codec``)."""
    if "codec" not in item:
        return None
    raw, line = item["codec"], item.lines.get("codec", item.line)
    if kind != EndpointKind.CODEC.value:
        check.problem(line, "codec: is only for endpoints of kind codec")
        return None
    if not isinstance(raw, LocatedMap) or set(raw) != {"driver", "url"}:
        check.problem(line, "codec must be a map with exactly driver and url")
        return None
    driver, url = raw["driver"], raw["url"]
    if driver not in CODEC_DRIVERS:
        check.problem(line, f"codec driver {driver!r} must be one of {', '.join(CODEC_DRIVERS)}")
        return None
    if not isinstance(url, str) or not _CODEC_URL.match(url):
        check.problem(line, f"codec url {url!r} must be http(s)://HOST[:PORT] with no credentials")
        return None
    return CodecAccess(driver, url.rstrip("/"))
