"""``confsched tui``: open the console against a scheduler's HTTP API.

The console is an API client, so it runs anywhere the API is reachable. Every call carries a
token: ``--token`` (an operator's, or a viewer's for a read-only console), or
``DATA/operator.token`` when the console runs on the scheduler's host.
"""

from __future__ import annotations

from pathlib import Path

import click

from confsched.cli.common import data_option
from confsched.config import DEFAULT_HTTP, TOKEN_FILE, data_dir_from_env


def read_token(data_dir: Path | None) -> str | None:
    """The operator token stored in the data directory, if there is one."""
    path = data_dir_from_env(str(data_dir) if data_dir else None) / TOKEN_FILE
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


@click.command("tui")
@click.option(
    "--url",
    default=f"http://{DEFAULT_HTTP}",
    show_default=True,
    help="The scheduler's HTTP address.",
)
@click.option(
    "--token",
    envvar="CONFSCHED_TOKEN",
    default=None,
    help="API token; a viewer token cannot book (default: DATA/operator.token).",
)
@click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default=None,
    help="The console's language (default: the locale, else the fleet's, Vietnamese for a "
    "Vietnamese fleet).",
)
@data_option
def tui(url: str, token: str | None, lang: str | None, data_dir: Path | None) -> None:
    """Open the console: fleet, sessions, booking and endpoint detail, live.

    Keys: F2 fleet, F3 sessions, F4 book, F1 help, Ctrl+Q quit.

    \b
    Examples:
      confsched tui
      confsched tui --lang en
      confsched tui --url http://sched.example:8080
    """
    from confsched_tui.app import ConsoleApp

    ConsoleApp(url=url, token=token or read_token(data_dir), lang=lang).run()
