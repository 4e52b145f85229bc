"""The dependency direction, checked: each layer imported in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("textual", "asyncssh", "aiohttp", "sqlite_utils", "prometheus_client", "icalendar", "yaml")


def loaded_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def test_domain_imports_only_the_standard_library() -> None:
    loaded = loaded_after_import("confsched.domain.inventory, confsched.domain.model")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_cli_rooms_does_not_load_the_server_stack() -> None:
    loaded = loaded_after_import("confsched.cli.rooms")
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "asyncssh", "aiohttp")}
