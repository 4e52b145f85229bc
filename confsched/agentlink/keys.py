"""Keys on disk: the scheduler's host key (made once) and endpoints' key pairs (at enrolment)."""

from __future__ import annotations

from pathlib import Path

import asyncssh

from confsched.config import PRIVATE_FILE, private_dir, write_private

HOST_KEY_FILE = "ssh_host_ed25519_key"
AGENT_KEYS_DIR = "agent-keys"


def host_key_path(data_dir: Path) -> Path:
    return data_dir / HOST_KEY_FILE


def ensure_host_key(data_dir: Path) -> asyncssh.SSHKey:
    """The scheduler's host key, generated on first use with mode 600, then always the same
    (one made by an older version is closed to others too)."""
    path = host_key_path(data_dir)
    if not path.exists():
        private_dir(data_dir)
        write_private(path, asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    path.chmod(PRIVATE_FILE)
    return asyncssh.read_private_key(path)


def public_text(key: asyncssh.SSHKey) -> str:
    """``ssh-ed25519 AAAA…`` without a comment: what agents pin and what the store compares."""
    algorithm, data = key.export_public_key("openssh").decode().split()[:2]
    return f"{algorithm} {data}"


def agent_key_path(data_dir: Path, endpoint: str) -> Path:
    return data_dir / AGENT_KEYS_DIR / f"{endpoint}.key"


def new_agent_key(data_dir: Path, endpoint: str) -> tuple[Path, str]:
    """Generate the endpoint's key pair; returns the private key's path and the public text."""
    path = agent_key_path(data_dir, endpoint)
    private_dir(path.parent)
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"confsched-agent@{endpoint}")
    write_private(path, key.export_private_key())
    return path, public_text(key)
