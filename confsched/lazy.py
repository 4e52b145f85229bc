"""Importing a component by name, tolerating only that the component itself does not exist."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_if_present(module_name: str) -> ModuleType | None:
    """The module, or None when it (or its package) is absent; other import errors propagate."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return None
        raise
