"""Line-numbered plain data and the checker that reads it, collecting every problem.

``confsched.fleetfile`` builds LocatedMap/LocatedList from YAML; the domain validators read them
through a Checker so that each refusal says ``FILE:LINE: what is wrong``. Nothing here knows
YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from confsched.errors import FleetProblem

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_NAME = 200
MAX_INT = 100_000
"""No count in a fleet file (ports, seconds) is larger: a bigger number is a typo."""


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


_KEYS = {
    "fleet": (
        {"name"},
        {
            "timezone",
            "report_interval",
            "working_hours",
            "levels",
            "client",
            "readiness_stages",
            "language",
            "health_history",
        },
    ),
    "bridges": ({"id", "ports"}, {"name", "address", "dial_in"}),
    "agencies": ({"id", "name"}, {"email"}),
    "sites": ({"id", "name", "level"}, {"parent", "district"}),
    "endpoints": (
        {"id", "name", "site", "agency"},
        {"kind", "address", "bridge", "tags", "codec", "client"},
    ),
}


class Checker:
    """Collects problems while reading one fleet description."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[FleetProblem] = []
        self.declared: set[tuple[str, str]] = set()
        """(kind, id) of every entry, valid or not: a reference to a broken entry is not
        reported again as dangling."""

    def problem(self, line: int, message: str) -> None:
        self.problems.append(FleetProblem(self.file, line, message))

    def line(self, item: LocatedMap, key: str) -> int:
        return item.lines.get(key, item.line)

    def keys(self, item: LocatedMap, section: str) -> None:
        """Say every unknown key and every missing required key of one entry."""
        required, optional = _KEYS[section]
        for key in item:
            if key not in required | optional:
                allowed = ", ".join(sorted(required | optional))
                self.problem(
                    item.key_lines[key], f"unknown key {key!r} in {section} (allowed: {allowed})"
                )
        for key in sorted(required - item.keys()):
            self.problem(item.line, f"missing key {key!r} in {section}")

    def entry(self, item: Any, section: str, line: int) -> LocatedMap | None:
        """Check one list entry is a map with the right keys."""
        if not isinstance(item, LocatedMap):
            self.problem(line, f"each entry of '{section}' must be a mapping")
            return None
        self.keys(item, section)
        return item

    def text(self, item: LocatedMap, key: str, default: str = "") -> str:
        value = item.get(key, default)
        if value is None or isinstance(value, LocatedMap | LocatedList | bool):
            self.problem(self.line(item, key), f"{key!r} must be text")
            return default
        text = str(value)
        if len(text) > MAX_NAME:
            self.problem(self.line(item, key), f"{key} is {len(text)} characters (at most 200)")
        return text

    def name(self, item: LocatedMap, key: str = "name", default: str = "") -> str:
        """A name people read: text, not blank, at most 200 characters."""
        text = self.text(item, key, default)
        if key in item and not text.strip():
            self.problem(self.line(item, key), f"{key} must not be empty")
        return text.strip()

    def slug(self, item: LocatedMap, key: str) -> str:
        value = self.text(item, key)
        if value and not SLUG.match(value):
            self.problem(
                self.line(item, key),
                f"{key} {value!r} must be a slug: lowercase ASCII letters, digits and '-'",
            )
        return value

    def count(self, item: LocatedMap, key: str, low: int = 1, high: int = MAX_INT) -> int | None:
        """A whole number from ``low`` to ``high``."""
        value = item.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(self.line(item, key), f"{key} must be a whole number, not {value!r}")
            return None
        if not low <= value <= high:
            self.problem(
                self.line(item, key), f"{key} must be from {low:,} to {high:,} (got {value:,})"
            )
            return None
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
