"""``confsched rooms``: import the fleet file, list and show endpoints."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click
import sqlite_utils

from confsched.cli.common import data_option, json_option, open_store, plural, print_json, table
from confsched.domain.model import Endpoint, Fleet
from confsched.domain.selectors import expand_selectors
from confsched.errors import FleetImportRefused
from confsched.services.inventory import (
    endpoint_view,
    find_endpoint,
    fleet_with,
    import_fleet,
    require_fleet,
)

if TYPE_CHECKING:  # the import's own modules load with it, not for list and show
    from confsched.domain.fleet_impact import Affected, Impact
    from confsched.services.fleet_import import ImportOutcome


@click.group()
def rooms() -> None:
    """The inventory: sites, agencies, endpoints and bridges.

    \b
    Examples:
      confsched rooms import sample_rooms.yaml
      confsched rooms list --with district:h-dai-tu
    """


@rooms.command("import")
@click.argument("fleet_file", type=click.Path(path_type=Path))
@click.option("--check", is_flag=True, help="Print the changes and their impact; store nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Apply even if booked sittings break: re-allocate them, mark the rest needs attention.",
)
@data_option
@json_option
def import_(
    fleet_file: Path, check: bool, force: bool, data_dir: Path | None, as_json: bool
) -> None:
    """Load FLEET_FILE (YAML); a broken file is refused whole and nothing changes.

    A file that would break a booked sitting still to come (a booked room removed, a bridge
    removed or too small for what is booked on it at some instant, a room re-homed onto a full
    bridge) is refused with exit status 3, listing every such sitting; --force applies it anyway.

    \b
    Examples:
      confsched rooms import sample_rooms.yaml
      confsched rooms import edited.yaml --check
      confsched rooms import edited.yaml --force --json
    """
    from confsched.services.fleet_import import ImportMode, ImportOutcome

    if check and force:
        raise click.UsageError("--check and --force exclude each other")
    db = open_store(data_dir, create=not check)
    mode = ImportMode.CHECK if check else ImportMode.FORCE if force else ImportMode.APPLY
    try:
        outcome = import_fleet(db, fleet_file, mode=mode)
    except FleetImportRefused as refused:
        assert isinstance(refused.outcome, ImportOutcome)
        if as_json:
            print_json(_outcome_json(refused.outcome, _zone(db)))
        click.echo(f"error: {refused}", err=True)
        for line in impact_lines(refused.outcome.impact, _zone(db)):
            click.echo(line, err=True)
        sys.exit(EXIT_REFUSED)
    tz = _zone(db)
    if as_json:
        print_json(_outcome_json(outcome, tz))
    else:
        _print_outcome(fleet_file, outcome, tz)
    if check and outcome.impact.refused:
        sys.exit(EXIT_REFUSED)


EXIT_REFUSED = 3
"""As a refused booking: the operator's request was understood and said no to."""


def _zone(db: sqlite_utils.Database) -> ZoneInfo:
    return ZoneInfo(require_fleet(db).timezone)


def _print_outcome(fleet_file: Path, outcome: ImportOutcome, tz: ZoneInfo) -> None:
    if not outcome.changed:
        click.echo(f"{fleet_file}: no changes")
    if outcome.settings:
        click.echo(f"fleet settings: {', '.join(outcome.settings)}")
    for kind, changes in outcome.changes.items():
        parts = [f"{len(v)} {k}" for k, v in vars(changes).items() if v]
        if parts:
            click.echo(f"{kind}: {', '.join(parts)}")
    if not outcome.stored:  # --check
        if outcome.impact.affected:
            click.echo("impact on booked sittings (nothing stored):")
            click.echo("\n".join(impact_lines(outcome.impact, tz)))
        else:
            click.echo("impact on booked sittings: none (nothing stored)")
        return
    if outcome.followed:
        click.echo(f"{plural(outcome.followed, 'booked sitting')}: rooms follow their new home")
    if outcome.reallocated:
        count = plural(len(outcome.reallocated), "sitting")
        click.echo(f"re-allocated over the new bridges: {count}")
    if outcome.attention:
        click.echo(f"needs attention (move or cancel): {plural(len(outcome.attention), 'sitting')}")
        click.echo("\n".join(affected_line(a, tz) for a in outcome.attention))


def impact_lines(found: Impact, tz: ZoneInfo) -> list[str]:
    return [affected_line(a, tz) for a in found.affected]


def affected_line(affected: Affected, tz: ZoneInfo) -> str:
    """One broken sitting: its session, local time and every reason."""
    from confsched.cli.session_text import span

    b = affected.booked
    known = " (already needs attention)" if b.attention else ""
    reasons = "; ".join(str(p) for p in affected.problems)
    return f"  {b.session_id} {span(b.start, b.end, tz)} {b.title}: {reasons}{known}"


def _outcome_json(outcome: ImportOutcome, tz: ZoneInfo) -> dict[str, object]:
    def sitting(a: Affected) -> dict[str, object]:
        return {
            "session": a.booked.session_id,
            "title": a.booked.title,
            "start": a.booked.start.astimezone(tz).isoformat(),
            "end": a.booked.end.astimezone(tz).isoformat(),
            "problems": [str(p) for p in a.problems],
        }

    return {
        **{kind: vars(c) for kind, c in outcome.changes.items()},
        "settings": outcome.settings,
        "stored": outcome.stored,
        "impact": [sitting(a) for a in outcome.impact.affected],
        "refused": outcome.impact.refused and not outcome.stored,
        "followed": outcome.followed,
        "reallocated": [
            {"session": sid, "recurrence_id": rid.astimezone(tz).isoformat()}
            for sid, rid in outcome.reallocated
        ],
        "needs_attention": [sitting(a) for a in outcome.attention],
    }


@rooms.command("list")
@click.option(
    "--with", "selectors", default="all", help="Selectors, e.g. under:h-dai-tu,tag:vung-cao"
)
@data_option
@json_option
def list_(selectors: str, data_dir: Path | None, as_json: bool) -> None:
    """List endpoints (all, or those chosen by --with).

    \b
    Examples:
      confsched rooms list
      confsched rooms list --with tag:vung-cao --json
    """
    fleet = require_fleet(open_store(data_dir))
    chosen = expand_selectors(fleet, selectors)
    if as_json:
        print_json([endpoint_view(fleet, e) for e in chosen])
        return
    rows = [_list_row(fleet, fleet.endpoints[e]) for e in chosen]
    click.echo(table(rows, ["ID", "LEVEL", "AREA", "NAME"]))
    click.echo(f"{len(rows)} endpoints")


def _list_row(fleet: Fleet, endpoint: Endpoint) -> list[str]:
    """The four columns ``rooms list`` prints, straight from the room: a national fleet's
    10,000 whole views (``endpoint_view``, what ``--json`` prints) cost a third of the command."""
    area = fleet.sites.get(endpoint.area or "")
    return [endpoint.id, endpoint.level, (area.name if area else "") or "—", endpoint.name]


@rooms.command("show")
@click.argument("endpoint_id")
@click.option(
    "--history",
    "history_span",
    metavar="SPAN",
    help="Also its hourly history summed per day over SPAN (7d, 8w, 13mo).",
)
@data_option
@json_option
def show(endpoint_id: str, history_span: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Show one endpoint with its site, area, agency and bridge, then its health now,
    every check, and its state changes over the last 24 hours.

    \b
    Examples:
      confsched rooms show tinh-uy
      confsched rooms show dt-la-bang --json
      confsched rooms show dt-la-bang --history 7d
    """
    from confsched.cli.health import room_days, room_days_lines, room_health, room_health_lines

    db = open_store(data_dir)
    fleet = fleet_with(db, [endpoint_id])
    view = find_endpoint(fleet, endpoint_id)
    health = room_health(db, fleet, endpoint_id)
    days = room_days(db, fleet, endpoint_id, history_span) if history_span else None
    if as_json:
        print_json({**view, "health": health, **({"history": days} if days is not None else {})})
        return
    labels = {
        "name": "Name",
        "id": "Id",
        "kind": "Kind",
        "level": "Level",
        "site_name": "Site",
        "area_name": "Area",
        "agency_name": "Agency",
        "address": "Address",
        "bridge_name": "Bridge",
        "tags": "Tags",
    }
    for key, label in labels.items():
        value = view[key]
        if isinstance(value, list):
            value = ", ".join(value) or "—"
        click.echo(f"{label + ':':10} {value or '—'}")
    for line in room_health_lines(health):
        click.echo(line)
    for line in room_days_lines(days) if days is not None else []:
        click.echo(line)
