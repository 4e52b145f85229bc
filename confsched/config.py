"""Settings, loaded once at the entry point and passed down; nothing reads the environment later."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_DATA = "./confsched-data"
DEFAULT_ROOMS = "sample_rooms.yaml"
DEFAULT_HTTP = "127.0.0.1:8080"
DEFAULT_SSH = "127.0.0.1:8022"
TOKEN_FILE = "operator.token"


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the scheduler keeps its data and where it listens."""

    data_dir: Path = Path(DEFAULT_DATA)
    """The data directory: the SQLite store, host key, agent keys, operator token."""
    rooms_file: Path | None = None
    """The fleet file imported at ``serve`` start-up (None: use what is stored)."""
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    ssh_host: str = "127.0.0.1"
    ssh_port: int = 8022
    public_url: str = ""
    """Base URL printed in feed links; defaults to http://HTTP_HOST:HTTP_PORT."""

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.http_host}:{self.http_port}"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def data_dir_from_env(explicit: str | None) -> Path:
    return Path(explicit or os.environ.get("CONFSCHED_DATA") or DEFAULT_DATA)


def split_host_port(text: str, what: str) -> tuple[str, int]:
    """``127.0.0.1:8080`` → ("127.0.0.1", 8080); a clear error otherwise."""
    from confsched.errors import InvalidInput

    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidInput(f"{what} {text!r} must be HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


def operator_token(data_dir: Path) -> str:
    """The token that authorises API writes, created on first use (mode 600)."""
    path = data_dir / TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token
