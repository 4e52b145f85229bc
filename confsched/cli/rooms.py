"""``confsched rooms``: import the fleet file, list and show endpoints."""

from __future__ import annotations

from pathlib import Path

import click

from confsched.cli.common import data_option, json_option, open_store, print_json, table
from confsched.domain.selectors import expand_selectors
from confsched.services.inventory import endpoint_view, find_endpoint, import_fleet, require_fleet


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
@data_option
@json_option
def import_(fleet_file: Path, data_dir: Path | None, as_json: bool) -> None:
    """Load FLEET_FILE (YAML); a broken file is refused whole and nothing changes.

    \b
    Examples:
      confsched rooms import sample_rooms.yaml --json
      confsched rooms import sample_rooms.yaml
    """
    db = open_store(data_dir)
    report = import_fleet(db, fleet_file)
    if as_json:
        print_json(
            {**{kind: vars(c) for kind, c in report.changes.items()}, "settings": report.settings}
        )
        return
    if not report.changed:
        click.echo(f"{fleet_file}: no changes")
        return
    if report.settings:
        click.echo(f"fleet settings: {', '.join(report.settings)}")
    for kind, changes in report.changes.items():
        parts = [f"{len(v)} {k}" for k, v in vars(changes).items() if v]
        if parts:
            click.echo(f"{kind}: {', '.join(parts)}")


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
    views = [endpoint_view(fleet, e) for e in chosen]
    if as_json:
        print_json(views)
        return
    rows = [
        [str(v["id"]), str(v["level"]), str(v["area_name"] or "—"), str(v["name"])] for v in views
    ]
    click.echo(table(rows, ["ID", "LEVEL", "AREA", "NAME"]))
    click.echo(f"{len(views)} endpoints")


@rooms.command("show")
@click.argument("endpoint_id")
@data_option
@json_option
def show(endpoint_id: str, data_dir: Path | None, as_json: bool) -> None:
    """Show one endpoint with its site, area, agency and bridge, then its health now,
    every check, and its state changes over the last 24 hours.

    \b
    Examples:
      confsched rooms show tinh-uy
      confsched rooms show dt-la-bang --json
    """
    from confsched.cli.health import room_health, room_health_lines

    db = open_store(data_dir)
    fleet = require_fleet(db)
    view = find_endpoint(fleet, endpoint_id)
    health = room_health(db, fleet, endpoint_id)
    if as_json:
        print_json({**view, "health": health})
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
