"""Settings, loaded once at the entry point and passed down; nothing reads the environment later."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

DEFAULT_DATA = "./confsched-data"
DEFAULT_ROOMS = "sample_rooms.yaml"
DEFAULT_HTTP = "127.0.0.1:8080"
DEFAULT_SSH = "127.0.0.1:8022"
TOKEN_FILE = "operator.token"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    """Upgrade the connection with STARTTLS before anything else; refuse a server without it."""
    NONE = "none"
    """Plain SMTP (a relay on the same host or a test server on loopback)."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where invites are mailed from, and how hard the mailer tries."""

    host: str
    port: int
    sender: str
    """The From address (and the ORGANIZER when the organizing agency has no address)."""
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str = ""
    password: str = field(default="", repr=False)
    """From the secrets file (mode 600), never from the command line."""
    cafile: Path | None = None
    """Certificates to trust for STARTTLS instead of the system's (a private relay)."""
    timeout_seconds: float = 30.0
    retry_seconds: float = 60.0
    """The first retry's delay; each next one doubles (with jitter), up to an hour."""
    attempts: int = 8
    """Attempts per message before it is marked failed (about four hours with the defaults)."""


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
    """Base URL printed in feed links; defaults to http://HTTP_HOST:HTTP_PORT (this host's name
    in place of a wildcard such as 0.0.0.0). Its host is one the API answers to."""
    allowed_hosts: tuple[str, ...] = ()
    """More names the API answers to (``Host`` header), besides the loopback names, this
    host's names, the bound address and the public URL's host: ``serve --allowed-host``."""
    smtp: SmtpSettings | None = None
    """Invites are mailed when set; otherwise changes wait in the outbox."""
    feed_history: timedelta | None = timedelta(days=30)
    """Feeds keep a session this long after its last sitting (None: every session ever)."""
    metrics_need_token: bool = False
    """``/metrics`` answers only with an API token (a viewer token in Prometheus's
    ``authorization`` block); open by default, like most exporters on a private network."""

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
    if not sep or not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        raise InvalidInput(f"{what} {text!r} must be HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` (made with its parents if missing) closed to everyone but its owner, mode 700
    whatever the umask: the data directory holds the store (feed tokens), the keys and the
    operator token. ``mkdir``'s mode alone is not enough: an existing directory keeps its own."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    path.chmod(PRIVATE_DIR)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``path`` whole (a temporary file renamed over it), mode 600 from the moment the
    file exists, whatever the umask: a key or a secret is never readable by others, not even
    for the instant between a write and a chmod."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, PRIVATE_FILE)  # a temporary file left by a crash kept its old mode
    os.replace(tmp, path)


def operator_token(data_dir: Path) -> str:
    """The token that authorises API writes, created on first use (mode 600)."""
    path = data_dir / TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    private_dir(data_dir)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


def read_smtp_secrets(path: Path) -> tuple[str, str]:
    """``username = …`` and ``password = …`` lines from a file only its owner can read.

    A file readable by others is refused (like ssh does a private key): the password is the
    mail relay's, and anyone holding it can send mail as the province.
    """
    from confsched.errors import InvalidInput

    try:
        mode = path.stat().st_mode
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"--smtp-secrets {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise InvalidInput(f"{path}: readable by others (mode {mode & 0o777:o}); chmod 600 it")
    values: dict[str, str] = {}
    for number, line in enumerate(content.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or key not in ("username", "password"):
            raise InvalidInput(f"{path}:{number}: expected 'username = …' or 'password = …'")
        values[key] = value.strip()
        if not values[key].isascii():  # smtplib's AUTH encodes them as ASCII
            raise InvalidInput(f"{path}:{number}: the {key} must be ASCII")
    return values.get("username", ""), values.get("password", "")
