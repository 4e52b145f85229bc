"""Reading the fleet file: YAML in, line-numbered plain data out, then domain validation.

PyYAML's composer keeps a mark on every node; the plain values built here keep those lines so
that every refusal says ``FILE:LINE: what is wrong``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from confsched.domain.inventory import LocatedList, LocatedMap, build_fleet
from confsched.domain.model import Fleet
from confsched.errors import FleetInvalid, FleetProblem

# libyaml composes the sample province ten times faster than the pure-Python loader.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise FleetInvalid([FleetProblem(name, line, f"YAML syntax: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise FleetInvalid([FleetProblem(name, 1, f"YAML: {exc}")]) from None
    if root is None:
        raise FleetInvalid([FleetProblem(name, 1, "the file is empty")])
    value = _Plain(name, problems).value(root)
    fleet, domain_problems = build_fleet(value, name)
    problems.extend(domain_problems)
    if problems or fleet is None:
        problems.sort(key=lambda p: p.line)
        raise FleetInvalid(problems)
    return fleet


class _Plain:
    """Turns composed YAML nodes into LocatedMap/LocatedList/scalars, noting problems."""

    def __init__(self, name: str, problems: list[FleetProblem]) -> None:
        self.name = name
        self.problems = problems
        self.constructor = yaml.constructor.SafeConstructor()

    def value(self, node: yaml.Node) -> object:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, line)
        if isinstance(node, yaml.SequenceNode):
            items = LocatedList(line=line)
            for item in node.value:
                items.append(self.value(item))
                items.lines.append(item.start_mark.line + 1)
            return items
        return self.scalar(node)

    def mapping(self, node: yaml.MappingNode, line: int) -> LocatedMap:
        result = LocatedMap(line=line)
        for key_node, value_node in node.value:
            key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self.problems.append(FleetProblem(self.name, key_line, "keys must be plain names"))
            elif key in result:
                self.problems.append(FleetProblem(self.name, key_line, f"duplicate key {key!r}"))
            else:
                result[key] = self.value(value_node)
                result.lines[key] = value_node.start_mark.line + 1
                result.key_lines[key] = key_line
        return result

    def scalar(self, node: yaml.Node) -> object:
        """A scalar as YAML 1.1 types it, except ``07:30`` stays text (not sexagesimal 450)."""
        if node.tag.endswith(":int") and ":" in node.value:
            return node.value
        return self.constructor.construct_object(node, deep=True)
