"""Agent configuration from a file and flags, and the agent's import discipline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from confsched_agent.config import AgentConfig, ConfigError, load, render

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEX"


def test_rendered_config_loads_back_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    config = AgentConfig("tn-ubnd", key=Path("tn-ubnd.key"), host_key=HOST_KEY, interval=5)
    (tmp_path / "agent.toml").write_text(render(config))
    loaded = load(tmp_path / "agent.toml", {})
    assert loaded.endpoint == "tn-ubnd" and loaded.interval == 5
    assert loaded.key == tmp_path / "tn-ubnd.key"
    assert loaded.host_key == HOST_KEY


def test_flags_override_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(render(AgentConfig("x", host_key=HOST_KEY)))
    assert load(tmp_path / "a.toml", {"interval": 30.0, "scheduler": None}).interval == 30.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "endpoint is required"),
        ({"endpoint": "x", "host_key": HOST_KEY, "scheduler": "nowhere"}, "HOST:PORT"),
        ({"endpoint": "x", "host_key": "AAAA"}, "host_key"),
        ({"endpoint": "x", "host_key": HOST_KEY, "interval": 0.5}, "interval"),
        ({"endpoint": "x", "host_key": HOST_KEY, "colour": "red"}, "unknown setting"),
    ],
)
def test_bad_configuration_is_refused_clearly(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(None, overrides)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("endpoint = \n")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load(tmp_path / "bad.toml", {})


def test_agent_imports_only_stdlib_asyncssh_and_its_own_package() -> None:
    code = "import json, sys; import confsched_agent.main; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert "confsched_agent.wire" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("confsched", "confsched_tui")}
    heavy = ("textual", "aiohttp", "sqlite_utils", "prometheus_client", "icalendar", "yaml")
    assert not {m for m in loaded if m.split(".")[0] in heavy}
