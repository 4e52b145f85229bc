"""Every library a distribution imports is declared in its pyproject, and the licence ships."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from tests.conftest import ROOT

DISTRIBUTIONS = {  # pyproject → the packages it builds
    ROOT / "pyproject.toml": ("confsched", "tui/confsched_tui", "agents/confsched_agent"),
    ROOT / "tui" / "pyproject.toml": ("tui/confsched_tui",),
    ROOT / "agents" / "pyproject.toml": ("agents/confsched_agent",),
}
OWN = {"confsched", "confsched_tui", "confsched_agent"}


def normal(name: str) -> str:
    """A distribution name as PEP 503 compares them (prometheus_client = prometheus-client)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_top_levels(package: Path) -> set[str]:
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.partition(".")[0])
    return names - OWN - set(sys.stdlib_module_names)


def declared(pyproject: Path) -> set[str]:
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return {normal(re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0]) for d in deps}


@pytest.mark.parametrize("pyproject", list(DISTRIBUTIONS), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_imported_library_is_declared(pyproject: Path) -> None:
    owners = packages_distributions()
    wanted = set()
    for package in DISTRIBUTIONS[pyproject]:
        for name in imported_top_levels(ROOT / package):
            wanted.update(normal(d) for d in owners.get(name, [name]))
    assert not wanted - declared(pyproject), f"imported but not declared in {pyproject}"


def test_the_test_extra_is_pinned_exactly() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    loose = [d for d in extras["optional-dependencies"]["test"] if "==" not in d]
    assert not loose


def test_an_mit_licence_ships_as_pyproject_says() -> None:
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == {"text": "MIT"}
