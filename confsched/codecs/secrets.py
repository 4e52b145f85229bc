"""Codec credentials: ``DATA/codec-secrets.toml``, private to the scheduler's user.

    # one table per codec endpoint id (mode 0600; nothing else reads this file)
    [tinh-uy]
    username = "admin"
    password = "…"
    ca_file = "/etc/confsched/codec-ca.pem"   # optional: trust this CA for its HTTPS
    verify_tls = true                         # optional: false accepts any certificate

The file stays in the data directory: credentials never enter the fleet file, the store, its
exports, the API, the metrics or the logs. A file that others can read is refused whole (an
error naming the file and its mode), so a leak is noticed instead of carried on.
"""

from __future__ import annotations

import ssl
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from confsched.config import private_dir, write_private
from confsched.errors import InvalidInput

SECRETS_FILE = "codec-secrets.toml"
_KEYS = {"username", "password", "ca_file", "verify_tls"}


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    ca_file: str = ""
    verify_tls: bool = True

    def tls(self) -> ssl.SSLContext | bool:
        """What aiohttp's ``ssl=`` takes: the default trust, a pinned CA, or no check."""
        if not self.verify_tls:
            return False
        if self.ca_file:
            return ssl.create_default_context(cafile=self.ca_file)
        return True


def secrets_path(data_dir: Path) -> Path:
    return data_dir / SECRETS_FILE


def load_secrets(data_dir: Path) -> Mapping[str, Credentials]:
    """Every codec's credentials (empty when there is no file); InvalidInput if it is unsafe
    or malformed, naming the file and the entry, never a value."""
    path = secrets_path(data_dir)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            f"{path}: mode {stat.S_IMODE(mode):04o} lets others read codec passwords; "
            f"chmod 600 {path}"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not valid TOML ({exc})") from None
    return {endpoint: _entry(path, endpoint, value) for endpoint, value in raw.items()}


def _entry(path: Path, endpoint: str, value: object) -> Credentials:
    if not isinstance(value, dict):
        raise InvalidInput(f"{path}: [{endpoint}] must be a table with username and password")
    unknown = set(value) - _KEYS
    if unknown:
        raise InvalidInput(f"{path}: [{endpoint}] unknown key {sorted(unknown)[0]!r}")
    username, password = value.get("username"), value.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise InvalidInput(f"{path}: [{endpoint}] needs username and password as text")
    ca_file, verify = value.get("ca_file", ""), value.get("verify_tls", True)
    if not isinstance(ca_file, str) or not isinstance(verify, bool):
        raise InvalidInput(f"{path}: [{endpoint}] ca_file is text, verify_tls true or false")
    return Credentials(username, password, ca_file, verify)


def write_secrets(data_dir: Path, entries: Mapping[str, Credentials]) -> Path:
    """Write the secrets file (mode 0600 from its creation; the simulator and tests use it)."""
    path = secrets_path(data_dir)
    private_dir(data_dir)
    lines = []
    for endpoint, creds in entries.items():
        lines += [f"[{endpoint}]", f"username = {_quote(creds.username)}"]
        lines.append(f"password = {_quote(creds.password)}")
        if creds.ca_file:
            lines.append(f"ca_file = {_quote(creds.ca_file)}")
        if not creds.verify_tls:
            lines.append("verify_tls = false")
        lines.append("")
    write_private(path, "\n".join(lines).encode("utf-8"))
    return path


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
