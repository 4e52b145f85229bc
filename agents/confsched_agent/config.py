"""The agent's configuration: a small TOML file written by ``confsched agents enroll``, and flags.

Loaded once in ``main`` and passed down as a frozen dataclass; nothing else reads files or flags.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The configuration is missing something or holds a bad value; the message says which."""


@dataclass(frozen=True, slots=True)
class AgentConfig:
    endpoint: str
    """The endpoint id; also the SSH user name the scheduler knows this agent's key by."""
    scheduler: str = "127.0.0.1:8022"
    """The scheduler's SSH address, HOST:PORT."""
    key: Path = Path("agent.key")
    """This endpoint's private key (OpenSSH format, mode 600)."""
    host_key: str = ""
    """The scheduler's public host key, pinned: ``ssh-ed25519 AAAA…``."""
    interval: float = 10.0
    """Seconds between reports."""
    spool: Path = Path("spool")
    """Directory holding reports not yet acknowledged by the scheduler."""
    spool_max: int = 10000
    """Reports kept while disconnected; the oldest go first beyond this."""
    bridge: str = ""
    """HOST:PORT of the bridge (MCU) to measure RTT, jitter and loss to; empty: no network probe."""
    client_process: str = ""
    """Process name of the conferencing client (``vcclient``, ``Zoom.exe``); empty: no check."""
    probes: tuple[str, ...] = ("host", "camera", "audio", "display", "client", "bridge")
    """Which probes run (a gateway next to a hardware codec has no camera of its own)."""

    @property
    def scheduler_address(self) -> tuple[str, int]:
        return split_address(self.scheduler, "scheduler")

    def validate(self) -> AgentConfig:
        if not self.endpoint:
            raise ConfigError("endpoint is required")
        self.scheduler_address  # noqa: B018 - raises ConfigError when malformed
        if self.bridge:
            split_address(self.bridge, "bridge")
        if not self.host_key.startswith(("ssh-", "ecdsa-")):
            raise ConfigError("host_key must be the scheduler's public key: 'ssh-ed25519 AAAA…'")
        if not 1 <= self.interval <= 3600:
            raise ConfigError("interval must be between 1 and 3600 seconds")
        if self.spool_max < 1:
            raise ConfigError("spool_max must be at least 1")
        return self


def split_address(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ConfigError(f"{what} {text!r} must be HOST:PORT")
    return host.strip("[]"), int(port)


_PATHS = {"key", "spool"}
_FLOATS = {"interval"}
_INTS = {"spool_max"}


def load(path: Path | None, overrides: dict[str, Any]) -> AgentConfig:
    """The file's values (relative paths taken from the file's folder), then non-None flags."""
    values: dict[str, Any] = {}
    if path is not None:
        values = _coerce(_read_file(path), path.parent)
    flags = {k: v for k, v in overrides.items() if v is not None}
    values.update(_coerce(flags, Path.cwd()))
    if "endpoint" not in values:
        raise ConfigError("endpoint is required (in the config file or --endpoint)")
    return replace(AgentConfig(values.pop("endpoint")), **values).validate()


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _coerce(values: dict[str, Any], base: Path) -> dict[str, Any]:
    known = {f.name for f in fields(AgentConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}")
    out: dict[str, Any] = {}
    for name, value in values.items():
        try:
            if name in _PATHS:
                out[name] = base / Path(value).expanduser()
            elif name in _FLOATS:
                out[name] = float(value)
            elif name in _INTS:
                out[name] = int(value)
            elif name == "probes":
                out[name] = tuple(value) if isinstance(value, list) else tuple(value.split(","))
            else:
                out[name] = str(value)
        except (TypeError, ValueError):
            raise ConfigError(f"bad value for {name}: {value!r}") from None
    return out


def render(config: AgentConfig) -> str:
    """The configuration as the TOML file ``load`` reads back."""
    lines = [f"# confsched-agent configuration for endpoint {config.endpoint}"]
    for f in fields(AgentConfig):
        value = getattr(config, f.name)
        if isinstance(value, tuple):
            lines.append(f"{f.name} = [{', '.join(_quote(v) for v in value)}]")
        elif isinstance(value, int | float):
            lines.append(f"{f.name} = {value}")
        else:
            lines.append(f"{f.name} = {_quote(str(value))}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
