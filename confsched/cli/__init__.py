"""The ``confsched`` command. Subcommands load lazily so ``rooms list`` never imports the server."""

from __future__ import annotations

import difflib
import gc
import importlib
import sqlite3
import sys

import click

from confsched import __version__
from confsched.cli.common import data_option
from confsched.errors import BookingRefused, ConfschedError, FleetImportRefused
from confsched.store.faults import unavailable

# command name -> "module:attribute"; each owner registers its command here.
COMMANDS = {
    "rooms": "confsched.cli.rooms:rooms",
    "serve": "confsched.cli.serve:serve",
    "demo": "confsched.cli.serve:demo",
    "book": "confsched.cli.booking:book",
    "sessions": "confsched.cli.booking:sessions",
    "slots": "confsched.cli.booking:slots",
    "agents": "confsched.cli.agents:agents",
    "simulate": "confsched.cli.agents:simulate",
    "feeds": "confsched.cli.feeds:feeds",
    "health": "confsched.cli.health:health",
    "tokens": "confsched.cli.tokens:tokens",
    "tui": "confsched.cli.console:tui",
}

RESIDENT = frozenset({"serve", "demo", "simulate", "tui"})
"""The commands that run until stopped. Every other one runs without Python's cyclic garbage
collector: it reads, prints and exits within a second, and at 10,000 rooms the collector's full
passes over the objects it builds (rooms, health, rows) cost 20-50 ms of it for nothing — the
process ends before any cycle it left behind could matter."""

EXIT_USER_ERROR = 1
EXIT_USAGE = 2  # click's own, for a mistyped command or option
EXIT_CONFLICT = 3


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """A mistyped command names the nearest ones (click looks only at loaded commands)."""
        name = args[0] if args else ""
        if not (name in COMMANDS or name.startswith("-") or ctx.resilient_parsing):
            near = difflib.get_close_matches(name, COMMANDS, n=2)
            hint = f" Did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        resolved = super().resolve_command(ctx, args)
        if resolved[0] not in RESIDENT and gc.isenabled():
            gc.disable()  # see RESIDENT; on again when the command is done (tests run many)
            ctx.call_on_close(gc.enable)
        return resolved

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        command: click.Command = getattr(module, attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="confsched")
@data_option
def cli(data_dir: object) -> None:
    """Schedule and monitor a province's video-conference rooms.

    Every command takes --data DIR (default ./confsched-data, or $CONFSCHED_DATA), after the
    command or before it.

    \b
    Examples:
      confsched --data /srv/confsched rooms list
      confsched book "Giao ban" --start "2026-12-07 08:00" --duration 2h --with all

    \b
    Exit status:
      0  done
      1  error (bad value, unknown id, broken fleet file): one line on stderr
      2  usage (unknown command or option, missing argument)
      3  booking refused (a room taken, not enough ports, over 192 rooms)

    Shell completion (bash; zsh and fish alike):
    eval "$(_CONFSCHED_COMPLETE=bash_source confsched)"
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit, never a traceback.

    Without ``argv`` it is the process's own command (the ``confsched`` script, ``python -m
    confsched``), and the process ends with it: everything is then frozen out of the cyclic
    collector, whose last full pass at exit would walk every object left (10,000 rooms' worth
    after a read, 20-30 ms) only for the process to drop them all."""
    try:
        _run(argv)
    finally:
        if argv is None:
            gc.freeze()


def _run(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="confsched", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_USER_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (BookingRefused, FleetImportRefused) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CONFLICT)
    except ConfschedError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except sqlite3.OperationalError as exc:
        fault = unavailable(exc)  # a write outside a transaction of ours met a full disk, a lock
        if fault is None:
            raise
        click.echo(f"error: {fault}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
