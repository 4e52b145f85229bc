"""Who may use the JSON API: the roles a token carries, and how a token is kept (its digest).

A token is shown once, when it is made; the store keeps only its SHA-256, so a copy of the
store (a backup, a stolen disk) opens nothing. Tokens are 32 random bytes, so a plain hash is
enough: there is nothing to guess that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

NAME_MAX = 64


class Role(StrEnum):
    OPERATOR = "operator"
    """Reads and writes: books, moves, cancels."""
    VIEWER = "viewer"
    """Reads only: a wall display, Grafana's JSON source, an agency's own script."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a token (empty, too long, control characters), or None."""
    if not name.strip():
        return "a token needs a name (--name grafana, --name wall-display, …)"
    if len(name) > NAME_MAX:
        return f"token name {name[:20]!r}… is longer than {NAME_MAX} characters"
    if any(not ch.isprintable() for ch in name):
        return f"token name {name!r} holds a control character"
    return None
