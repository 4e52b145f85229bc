"""What every command shares: the --data option, JSON output, opening the store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import sqlite_utils

from confsched.config import data_dir_from_env
from confsched.errors import InvalidInput
from confsched.store.db import DB_NAME, open_db

F = TypeVar("F", bound=Callable[..., Any])


def data_option(func: F) -> F:
    """``--data DIR``, on every command and on ``confsched`` itself: ``confsched --data D rooms
    list`` and ``confsched rooms list --data D`` mean the same (the command's own one wins)."""
    return data_option_saying("Data directory (default ./confsched-data or $CONFSCHED_DATA).")(func)


def data_option_saying(help_text: str) -> Callable[[F], F]:
    """``--data DIR`` as :func:`data_option`, with its own help (the demo's default differs)."""

    def decorate(func: F) -> F:
        return click.option(
            "--data",
            "data_dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            callback=_inherit_data,
            help=help_text,
        )(func)

    return decorate


def _inherit_data(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """No ``--data`` on the command: the one given before it, on ``confsched``, if any."""
    if value is None and ctx.parent is not None:
        inherited: Path | None = ctx.find_root().params.get("data_dir")
        return inherited
    return value


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def open_store(data_dir: Path | None, *, create: bool = False) -> sqlite_utils.Database:
    """The store of ``data_dir``. Only ``rooms import`` (``create``) makes one: any other command
    on a mistyped ``--data`` says so and leaves no empty store behind."""
    directory = data_dir_from_env(str(data_dir) if data_dir else None)
    if not create and not (directory / DB_NAME).is_file():
        raise InvalidInput(
            f"no store at {directory}: give the scheduler's data directory with --data "
            f"(or $CONFSCHED_DATA), or import a fleet first: confsched rooms import FILE "
            f"--data {directory}"
        )
    return open_db(directory)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def plural(count: int, word: str) -> str:
    """``1 room``, ``2 rooms``: the words the output counts in are all regular."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain aligned text table (no dependency, wide characters are rare in ids). One format
    string for every line: ``health`` and ``rooms list`` print 10,000 of them."""
    texts = [headers, *([str(c) for c in row] for row in rows)]
    widths = [max(map(len, column)) for column in zip(*texts, strict=True)]  # one cell a header
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(line.format(*row).rstrip() for row in texts)
