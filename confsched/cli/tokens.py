"""``confsched tokens create|list|revoke``: API tokens besides the operator's own.

The operator token (``DATA/operator.token``) is made on first use and opens everything; these
are for whoever else reads the API (a wall display, a script, Grafana) or a second operator, each
with a name so it can be revoked alone. A token is printed once, when made: the store keeps only
its hash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from confsched.cli.common import data_option, json_option, open_store, print_json, table
from confsched.config import TOKEN_FILE
from confsched.domain.access import Role
from confsched.store import tokens as store


@click.group()
def tokens() -> None:
    """API tokens: viewer tokens read, operator tokens also book, move and cancel.

    \b
    Examples:
      confsched tokens create --name wall-display --viewer
      confsched tokens list
      confsched tokens revoke wall-display
    """


@tokens.command()
@click.option("--name", required=True, help="Who or what holds it (revoked by this name).")
@click.option("--viewer", is_flag=True, help="Read only (default: an operator token).")
@data_option
@json_option
def create(name: str, viewer: bool, data_dir: Path | None, as_json: bool) -> None:
    """Make a token and print it, the only time it is shown.

    A running scheduler accepts it within a second.

    \b
    Examples:
      confsched tokens create --name grafana --viewer
      confsched tokens create --name tran-van-an
    """
    role = Role.VIEWER if viewer else Role.OPERATOR
    token = store.create_token(open_store(data_dir), name, role, datetime.now(UTC))
    if as_json:
        print_json({"name": name, "role": role.value, "token": token})
        return
    click.echo(token)
    click.echo(f"{role.value} token {name!r}: shown this once; keep it secret", err=True)


@tokens.command("list")
@click.option("--all", "show_all", is_flag=True, help="Revoked tokens too.")
@data_option
@json_option
def list_(show_all: bool, data_dir: Path | None, as_json: bool) -> None:
    """The tokens made (names and roles; never the tokens themselves).

    \b
    Example:
      confsched tokens list --all
    """
    made = store.list_tokens(open_store(data_dir), revoked=show_all)
    rows = [
        {
            "name": t.name,
            "role": t.role.value,
            "created_at": t.created_at.isoformat(),
            "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
        }
        for t in made
    ]
    if as_json:
        print_json(rows)
        return
    cells = [
        [str(r["name"]), str(r["role"]), str(r["created_at"]), str(r["revoked_at"] or "")]
        for r in rows
    ]
    click.echo(table(cells, ["NAME", "ROLE", "CREATED", "REVOKED"]))
    click.echo(f"{len(rows)} tokens, and the operator's own in DATA/{TOKEN_FILE}")


@tokens.command()
@click.argument("name")
@data_option
def revoke(name: str, data_dir: Path | None) -> None:
    """Stop NAME's token working; a running scheduler refuses it within a second.

    \b
    Example:
      confsched tokens revoke wall-display
    """
    store.revoke_token(open_store(data_dir), name, datetime.now(UTC))
    click.echo(f"token {name!r} revoked")
