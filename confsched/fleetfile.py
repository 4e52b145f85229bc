"""Reading the fleet file: YAML in, line-numbered plain data out, then domain validation.

PyYAML's composer keeps a mark on every node; the plain values built here keep those lines so
that every refusal says ``FILE:LINE: what is wrong``. Composing never expands aliases (an alias
is the same node again); building the plain values does, so it counts what it builds and stops
a "billion laughs" file long before it costs memory. Only YAML's plain types are accepted: a
custom tag (``!python/object``) is refused where it stands.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from confsched.domain.inventory import build_fleet
from confsched.domain.located import LocatedList, LocatedMap
from confsched.domain.model import Fleet
from confsched.errors import FleetInvalid, FleetProblem

# libyaml composes the sample province ten times faster than the pure-Python loader.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_VALUES = 400_000
"""Values one file may expand to: a 10,000-room fleet has about 150,000."""
MAX_DEPTH = 20
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{t}"
    for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}


class _TooBig(Exception):
    """Raised inside the builder when a file expands past MAX_VALUES."""


def load_fleet_file(path: str | Path) -> Fleet:
    """Parse and validate ``path``; raise FleetInvalid listing every problem found."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FleetInvalid([FleetProblem(name, 0, "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise FleetInvalid([FleetProblem(name, 1, f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise FleetInvalid([FleetProblem(name, 0, exc.strerror or str(exc))]) from None
    return parse_fleet_text(text, name)


def parse_fleet_text(text: str, name: str = "<fleet>") -> Fleet:
    problems: list[FleetProblem] = []
    root = _compose(text, name)
    builder = _Plain(name, problems)
    try:
        value = builder.value(root)
    except _TooBig:
        line = builder.last_line
        message = f"the file expands to more than {MAX_VALUES:,} values (YAML aliases?)"
        raise FleetInvalid([FleetProblem(name, line, message)]) from None
    fleet, domain_problems = build_fleet(value, name)
    problems.extend(domain_problems)
    if problems or fleet is None:
        problems.sort(key=lambda p: p.line)
        raise FleetInvalid(problems)
    return fleet


def _compose(text: str, name: str) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise FleetInvalid([FleetProblem(name, line, f"YAML syntax: {exc.problem}")]) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise FleetInvalid([FleetProblem(name, 1, f"YAML: {exc}")]) from None
    if root is None:
        raise FleetInvalid([FleetProblem(name, 1, "the file is empty")])
    return root


class _Plain:
    """Turns composed YAML nodes into LocatedMap/LocatedList/scalars, noting problems."""

    def __init__(self, name: str, problems: list[FleetProblem]) -> None:
        self.name = name
        self.problems = problems
        self.constructor = yaml.constructor.SafeConstructor()
        self.built = 0
        self.last_line = 1

    def problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(FleetProblem(self.name, node.start_mark.line + 1, message))

    def value(self, node: yaml.Node, depth: int = 0) -> object:
        line = node.start_mark.line + 1
        self.built += 1
        self.last_line = line
        if self.built > MAX_VALUES:
            raise _TooBig
        if node.tag not in _PLAIN_TAGS:
            self.problem(node, f"tag {node.tag!r} is not allowed (plain YAML values only)")
            return None
        if depth > MAX_DEPTH and not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"nested more than {MAX_DEPTH} levels deep")
            return None
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, line, depth)
        if isinstance(node, yaml.SequenceNode):
            items = LocatedList(line=line)
            for item in node.value:
                items.append(self.value(item, depth + 1))
                items.lines.append(item.start_mark.line + 1)
            return items
        return self.scalar(node)

    def mapping(self, node: yaml.MappingNode, line: int, depth: int) -> LocatedMap:
        result = LocatedMap(line=line)
        for key_node, value_node in node.value:
            key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self.problems.append(FleetProblem(self.name, key_line, "keys must be plain names"))
            elif key in result:
                self.problems.append(FleetProblem(self.name, key_line, f"duplicate key {key!r}"))
            else:
                result[key] = self.value(value_node, depth + 1)
                result.lines[key] = value_node.start_mark.line + 1
                result.key_lines[key] = key_line
        return result

    def scalar(self, node: yaml.Node) -> object:
        """A scalar as YAML 1.1 types it, except ``07:30`` stays text (not sexagesimal 450), and
        so does a date."""
        if node.tag not in _PLAIN_TAGS:
            self.problem(node, f"tag {node.tag!r} is not allowed (plain YAML values only)")
            return None
        if node.tag.endswith(":timestamp") or (node.tag.endswith(":int") and ":" in node.value):
            return node.value
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError) as exc:  # a 5,000-digit number, !!int "abc"
            self.problem(node, f"{str(node.value)[:40]!r} is not a usable value ({exc})"[:300])
            return None
