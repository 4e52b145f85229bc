"""API tokens: made, listed, revoked; looked up by digest (``confsched.domain.access``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from confsched.domain.access import Role, new_token, token_digest, token_name_problem
from confsched.errors import InvalidInput, NotFound
from confsched.store.db import bump_revision, from_db_time, immediate, to_db_time

AREA = "tokens"


@dataclass(frozen=True, slots=True)
class ApiToken:
    """What is known of a token once made: never the token itself."""

    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


def create_token(db: sqlite_utils.Database, name: str, role: Role, now: datetime) -> str:
    """A new token named ``name``; the one time it exists outside the caller's hands."""
    problem = token_name_problem(name)
    if problem:
        raise InvalidInput(problem)
    token = new_token()
    with immediate(db):
        if _live(db, name):
            raise InvalidInput(f"a token named {name!r} exists; revoke it first or pick another")
        db.execute(
            "INSERT INTO api_tokens (name, role, digest, created_at) VALUES (?, ?, ?, ?)",
            [name, role.value, token_digest(token), to_db_time(now)],
        )
        bump_revision(db, AREA)
    return token


def revoke_token(db: sqlite_utils.Database, name: str, now: datetime) -> None:
    with immediate(db):
        cursor = db.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            [to_db_time(now), name],
        )
        if cursor.rowcount == 0:
            raise NotFound("token", name)
        bump_revision(db, AREA)


def list_tokens(db: sqlite_utils.Database, *, revoked: bool = False) -> list[ApiToken]:
    where = "" if revoked else " WHERE revoked_at IS NULL"
    rows = db.query(f"SELECT name, role, created_at, revoked_at FROM api_tokens{where} ORDER BY id")
    return [
        ApiToken(
            r["name"],
            Role(r["role"]),
            from_db_time(r["created_at"]),
            from_db_time(r["revoked_at"]) if r["revoked_at"] else None,
        )
        for r in rows
    ]


def live_digests(db: sqlite_utils.Database) -> dict[str, Role]:
    """Every live token's digest and role: what the HTTP layer checks a request against."""
    rows = db.execute("SELECT digest, role FROM api_tokens WHERE revoked_at IS NULL").fetchall()
    return {digest: Role(role) for digest, role in rows}


def _live(db: sqlite_utils.Database, name: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL", [name]
    ).fetchone()
    return row is not None
