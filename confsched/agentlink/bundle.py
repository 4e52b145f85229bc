"""An enrolment bundle: everything a room PC needs, in one folder to copy over.

``agents enroll ID --bundle DIR`` writes the agent's configuration (paths relative to the
folder), its private key (mode 0600), the scheduler's pinned host key on its own line for the
installer to compare, the systemd unit, and the install steps for Linux and Windows with the
endpoint's names filled in. The steps are the ones ``agents/README.md`` documents.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from importlib import resources
from pathlib import Path

from confsched_agent.config import AgentConfig, render

CONFIG_FILE = "agent.toml"
HOST_KEY_FILE = "scheduler-host-key.pub"
UNIT_FILE = "confsched-agent.service"
INSTALL_FILE = "INSTALL.txt"

_FILES = resources.files("confsched.agentlink") / "bundle_files"
SYSTEMD_UNIT = (_FILES / UNIT_FILE).read_text(encoding="utf-8")
"""The same text as ``deploy/systemd/confsched-agent.service`` (a test keeps them equal)."""
INSTALL = (_FILES / INSTALL_FILE).read_text(encoding="utf-8")
"""The install steps, with ``{endpoint}``, ``{config}``, ``{key}``… to fill in."""


def write_bundle(config: AgentConfig, directory: Path) -> list[Path]:
    """Write the bundle for ``config`` (whose ``key`` is the private key in the data
    directory) into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / f"{config.endpoint}.key"
    key.unlink(missing_ok=True)
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle, config.key.open("rb") as source:
        shutil.copyfileobj(source, handle)
    portable = replace(config, key=Path(key.name), spool=Path("spool"))
    files = {
        CONFIG_FILE: render(portable),
        HOST_KEY_FILE: config.host_key + "\n",
        UNIT_FILE: SYSTEMD_UNIT,
        INSTALL_FILE: INSTALL.format(
            endpoint=config.endpoint,
            scheduler=config.scheduler,
            bridge=config.bridge or "none",
            client=config.client_process or "not named in the fleet file",
            config=CONFIG_FILE,
            key=key.name,
            host_key_file=HOST_KEY_FILE,
            unit=UNIT_FILE,
        ),
    }
    written = [key]
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written
