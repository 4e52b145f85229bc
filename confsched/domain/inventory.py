"""Validating a fleet description into a Fleet, reporting every problem with its line.

The input is plain data whose maps and lists remember the line of each entry (built by
``confsched.fleetfile`` from YAML); this module knows nothing of YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from confsched.domain.model import (
    CODEC_DRIVERS,
    Agency,
    Bridge,
    CodecAccess,
    Endpoint,
    EndpointKind,
    Fleet,
    Level,
    Site,
    WorkingHours,
)
from confsched.errors import FleetProblem, InvalidInput

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(\d+)(s|m|h)$")


class LocatedMap(dict[str, Any]):
    """A mapping that remembers its own line and the line of each value."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[str, int] = {}
        self.key_lines: dict[str, int] = {}


class LocatedList(list[Any]):
    """A list that remembers its own line and the line of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: list[int] = []


_SECTIONS = {"fleet", "bridges", "agencies", "sites", "endpoints"}
_KEYS = {
    "fleet": ({"name"}, {"timezone", "report_interval", "working_hours"}),
    "bridges": ({"id", "ports"}, {"name", "address", "dial_in"}),
    "agencies": ({"id", "name"}, {"email"}),
    "sites": ({"id", "name", "level"}, {"district"}),
    "endpoints": (
        {"id", "name", "site", "agency"},
        {"kind", "address", "bridge", "tags", "codec"},
    ),
}


class _Checker:
    """Collects problems while reading one fleet description."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[FleetProblem] = []
        self.declared: set[tuple[str, str]] = set()
        """(kind, id) of every entry, valid or not: a reference to a broken entry is not
        reported again as dangling."""

    def problem(self, line: int, message: str) -> None:
        self.problems.append(FleetProblem(self.file, line, message))

    def entry(self, item: Any, section: str, line: int) -> LocatedMap | None:
        """Check one list entry is a map with the right keys."""
        if not isinstance(item, LocatedMap):
            self.problem(line, f"each entry of '{section}' must be a mapping")
            return None
        required, optional = _KEYS[section]
        for key in item:
            if key not in required | optional:
                allowed = ", ".join(sorted(required | optional))
                self.problem(
                    item.key_lines[key], f"unknown key {key!r} in {section} (allowed: {allowed})"
                )
        for key in sorted(required - item.keys()):
            self.problem(item.line, f"missing key {key!r} in {section}")
        return item

    def text(self, item: LocatedMap, key: str, default: str = "") -> str:
        value = item.get(key, default)
        if value is None or isinstance(value, LocatedMap | LocatedList | bool):
            self.problem(item.lines.get(key, item.line), f"{key!r} must be text")
            return default
        return str(value)

    def slug(self, item: LocatedMap, key: str) -> str:
        value = self.text(item, key)
        if value and not SLUG.match(value):
            self.problem(
                item.lines.get(key, item.line),
                f"{key} {value!r} must be a slug: lowercase ASCII letters, digits and '-'",
            )
        return value

    def ref(self, item: LocatedMap, key: str, known: dict[str, Any], kind: str) -> str | None:
        if key not in item or item[key] is None:
            return None
        value = self.text(item, key)
        if value not in known:
            if (kind, value) not in self.declared:
                self.problem(item.lines[key], f"{key} {value!r} is not a known {kind}")
            return None
        return value

    def section(self, root: LocatedMap, name: str) -> list[tuple[LocatedMap, int]]:
        items = root.get(name)
        if items is None:
            return []
        if not isinstance(items, LocatedList):
            self.problem(root.lines[name], f"'{name}' must be a list")
            return []
        entries = []
        for item, line in zip(items, items.lines, strict=True):
            checked = self.entry(item, name, line)
            if checked is not None:
                entries.append((checked, line))
        return entries

    def unique(
        self, entries: list[tuple[LocatedMap, int]], kind: str, make: Callable[[LocatedMap], Any]
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for item, line in entries:
            ident = self.slug(item, "id")
            if not ident:
                continue
            self.declared.add((kind, ident))
            if ident in result:
                self.problem(
                    line, f"duplicate {kind} id {ident!r} (first at line {first_line[ident]})"
                )
                continue
            built = make(item)
            if built is not None:
                result[ident] = built
                first_line[ident] = line
        return result


def build_fleet(root: Any, file: str) -> tuple[Fleet | None, list[FleetProblem]]:
    """Validate ``root`` (as read from the fleet file) into a Fleet, or say every problem."""
    check = _Checker(file)
    if not isinstance(root, LocatedMap):
        check.problem(getattr(root, "line", 1), "the fleet file must be a mapping of sections")
        return None, check.problems
    for key in root:
        if key not in _SECTIONS:
            allowed = ", ".join(sorted(_SECTIONS))
            check.problem(root.key_lines[key], f"unknown section {key!r} (allowed: {allowed})")
    header = _header(check, root)
    bridges = check.unique(check.section(root, "bridges"), "bridge", lambda i: _bridge(check, i))
    agencies = check.unique(check.section(root, "agencies"), "agency", lambda i: _agency(check, i))
    site_entries = check.section(root, "sites")
    sites = _sites(check, site_entries)
    endpoints = check.unique(
        check.section(root, "endpoints"),
        "endpoint",
        lambda i: _endpoint(check, i, sites, agencies, bridges),
    )
    if not any(kind == "bridge" for kind, _ in check.declared):
        check.problem(root.lines.get("bridges", root.line), "the fleet needs at least one bridge")
    if not any(kind == "endpoint" for kind, _ in check.declared):
        check.problem(root.lines.get("endpoints", root.line), "the fleet has no endpoints")
    if check.problems or header is None:
        return None, check.problems
    name, tz, hours, interval = header
    fleet = Fleet(name, tz, hours, interval, agencies, sites, bridges, endpoints)
    return fleet, []


def _header(check: _Checker, root: LocatedMap) -> tuple[str, str, WorkingHours, timedelta] | None:
    fleet = root.get("fleet")
    if not isinstance(fleet, LocatedMap):
        check.problem(
            root.lines.get("fleet", root.line), "missing 'fleet:' mapping (name, timezone)"
        )
        return None
    required, optional = _KEYS["fleet"]
    for key in fleet:
        if key not in required | optional:
            check.problem(fleet.key_lines[key], f"unknown key {key!r} in fleet")
    name = check.text(fleet, "name") or "fleet"
    tz = check.text(fleet, "timezone", "Asia/Ho_Chi_Minh")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        check.problem(fleet.lines.get("timezone", fleet.line), f"unknown timezone {tz!r}")
    interval = _interval(check, fleet)
    hours = _working_hours(check, fleet)
    return name, tz, hours, interval


def _interval(check: _Checker, fleet: LocatedMap) -> timedelta:
    raw = fleet.get("report_interval", "10s")
    match = _DURATION.match(str(raw))
    if isinstance(raw, bool) or not match:
        check.problem(
            fleet.lines.get("report_interval", fleet.line),
            f"report_interval {raw!r} must look like 10s, 1m",
        )
        return timedelta(seconds=10)
    scale = {"s": 1, "m": 60, "h": 3600}[match.group(2)]
    return timedelta(seconds=int(match.group(1)) * scale)


def _working_hours(check: _Checker, fleet: LocatedMap) -> WorkingHours:
    hours = fleet.get("working_hours")
    if hours is None:
        return WorkingHours()
    line = fleet.lines["working_hours"]
    if not isinstance(hours, LocatedMap):
        check.problem(line, "working_hours must be a mapping of days, start, end")
        return WorkingHours()
    for key in hours:
        if key not in {"days", "start", "end"}:
            check.problem(hours.key_lines[key], f"unknown key {key!r} in working_hours")
    days = hours.get("days", list(_DAYS[:5]))
    day_numbers = set()
    if not isinstance(days, list) or not days:
        check.problem(hours.lines.get("days", line), "days must be a list such as [mon, tue, wed]")
    else:
        for day in days:
            if str(day).lower()[:3] not in _DAYS:
                check.problem(hours.lines.get("days", line), f"unknown day {day!r}")
            else:
                day_numbers.add(_DAYS.index(str(day).lower()[:3]))
    start = _clock(check, hours, "start", time(7, 30))
    end = _clock(check, hours, "end", time(17, 0))
    if start >= end:
        check.problem(line, "working_hours start must be before end")
    return WorkingHours(frozenset(day_numbers), start, end)


def _clock(check: _Checker, hours: LocatedMap, key: str, default: time) -> time:
    raw = hours.get(key)
    if raw is None:
        return default
    try:
        return time.fromisoformat(str(raw).zfill(5))
    except ValueError:
        check.problem(hours.lines[key], f'{key} {raw!r} must be a time such as "07:30"')
        return default


def _positive_int(check: _Checker, item: LocatedMap, key: str) -> int | None:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        check.problem(
            item.lines.get(key, item.line), f"{key} must be a whole number, not {value!r}"
        )
        return None
    if value <= 0:
        check.problem(item.lines[key], f"{key} must be at least 1 (got {value})")
        return None
    return value


def _bridge(check: _Checker, item: LocatedMap) -> Bridge | None:
    ports = _positive_int(check, item, "ports") if "ports" in item else None
    if ports is None:
        return None
    ident = item["id"]
    return Bridge(
        id=ident,
        name=check.text(item, "name", ident),
        ports=ports,
        address=check.text(item, "address"),
        dial_in=check.text(item, "dial_in"),
    )


def _agency(check: _Checker, item: LocatedMap) -> Agency:
    email = check.text(item, "email") or None
    return Agency(id=item["id"], name=check.text(item, "name"), email=email)


def _sites(check: _Checker, entries: list[tuple[LocatedMap, int]]) -> dict[str, Site]:
    def make(item: LocatedMap) -> Site | None:
        raw_level = check.text(item, "level")
        try:
            level = Level(raw_level)
        except ValueError:
            check.problem(
                item.lines.get("level", item.line),
                f"level {raw_level!r} must be province, district or commune",
            )
            return None
        return Site(
            id=item["id"],
            name=check.text(item, "name"),
            level=level,
            parent=check.text(item, "district") or None,
        )

    sites = check.unique(entries, "site", make)
    for item, _line in entries:
        site = sites.get(item.get("id"))
        if site is None:
            continue
        if site.level is Level.COMMUNE:
            parent = sites.get(site.parent or "")
            if site.parent is None:
                check.problem(item.line, f"commune {site.id!r} needs a 'district:'")
            elif parent is None or parent.level is not Level.DISTRICT:
                check.problem(
                    item.lines["district"], f"district {site.parent!r} is not a known district"
                )
        elif site.parent is not None:
            check.problem(
                item.lines["district"],
                f"only communes have a district ({site.id!r} is a {site.level})",
            )
    return sites


def _endpoint(
    check: _Checker,
    item: LocatedMap,
    sites: dict[str, Site],
    agencies: dict[str, Agency],
    bridges: dict[str, Bridge],
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
    codec = _codec(check, item, raw_kind)
    if site_id is None or agency is None or raw_kind not in {k.value for k in EndpointKind}:
        return None
    site = sites[site_id]
    district = site.id if site.level is Level.DISTRICT else site.parent
    return Endpoint(
        id=item["id"],
        name=check.text(item, "name"),
        kind=EndpointKind(raw_kind),
        agency=agency,
        site=site_id,
        level=site.level,
        district=district,
        address=check.text(item, "address"),
        bridge=bridge,
        tags=tuple(tags),
        codec=codec,
    )


_CODEC_URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/\S*)?$")


def _codec(check: _Checker, item: LocatedMap, kind: str) -> CodecAccess | None:
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


# --- group selectors --------------------------------------------------------------------------

SELECTOR_HELP = (
    "all, level:province|district|commune, district:ID, tag:NAME, agency:ID or an endpoint id"
)


def expand_selectors(fleet: Fleet, selectors: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Endpoint ids chosen by ``selectors``, de-duplicated, in fleet order.

    Raises InvalidInput naming the first selector that chooses nothing or is malformed.
    """
    chosen: set[str] = set()
    for raw in selectors:
        selector = raw.strip()
        if not selector:
            continue
        matched = _match(fleet, selector)
        if not matched:
            raise InvalidInput(f"selector {selector!r} matches no endpoint (use {SELECTOR_HELP})")
        chosen.update(matched)
    return tuple(e for e in fleet.endpoints if e in chosen)


def _match(fleet: Fleet, selector: str) -> set[str]:
    endpoints = fleet.endpoints.values()
    if selector == "all":
        return set(fleet.endpoints)
    kind, _, value = selector.partition(":")
    if not value:
        return {selector} if selector in fleet.endpoints else set()
    if kind == "level":
        return {e.id for e in endpoints if e.level == value}
    if kind == "district":
        return {e.id for e in endpoints if e.district == value}
    if kind == "tag":
        return {e.id for e in endpoints if value in e.tags}
    if kind == "agency":
        return {e.id for e in endpoints if e.agency == value}
    if kind == "site":
        return {e.id for e in endpoints if e.site == value}
    raise InvalidInput(f"unknown selector kind {kind!r} in {selector!r} (use {SELECTOR_HELP})")
