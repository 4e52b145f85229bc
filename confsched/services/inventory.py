"""Inventory use cases: import the fleet file, read the fleet."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from confsched.domain.model import Fleet
from confsched.errors import ConfschedError, NotFound
from confsched.store.inventory import load_fleet

if TYPE_CHECKING:
    from confsched.services.fleet_import import ImportMode, ImportOutcome


class NoFleet(ConfschedError):
    def __init__(self) -> None:
        super().__init__("no fleet imported yet: run 'confsched rooms import sample_rooms.yaml'")


__all__ = [
    "NoFleet",
    "endpoint_view",
    "find_endpoint",
    "fleet_with",
    "import_fleet",
    "require_fleet",
]


def import_fleet(
    db: sqlite_utils.Database,
    path: str | Path,
    *,
    mode: ImportMode | None = None,
    now: datetime | None = None,
) -> ImportOutcome:
    """Validate and store the fleet file (``services.fleet_import``, APPLY unless ``mode``).

    Imported when called: the file's parser and checks (PyYAML among them) are for importing,
    not for every command that reads the stored fleet."""
    from confsched.services import fleet_import

    chosen = fleet_import.ImportMode.APPLY if mode is None else mode
    return fleet_import.import_fleet(db, path, mode=chosen, now=now)


def import_unless_imported(db: sqlite_utils.Database, path: str | Path) -> bool:
    """``serve --rooms FILE``: import the file unless the store holds it already (see
    ``services.fleet_import.import_unless_imported``); True if it imported."""
    from confsched.services import fleet_import

    return fleet_import.import_unless_imported(db, path)


def require_fleet(db: sqlite_utils.Database) -> Fleet:
    fleet = load_fleet(db)
    if fleet is None:
        raise NoFleet()
    return fleet


def fleet_with(db: sqlite_utils.Database, endpoints: Collection[str]) -> Fleet:
    """The fleet holding only ``endpoints`` (those that exist) besides its settings, agencies,
    sites and bridges: what a read about a few rooms needs (one room's view, the chairs of a
    session listing). Selectors and bookings need ``require_fleet``'s every room."""
    fleet = load_fleet(db, endpoints)
    if fleet is None:
        raise NoFleet()
    return fleet


def endpoint_view(fleet: Fleet, endpoint_id: str) -> dict[str, object]:
    """One endpoint as scripts and the console see it: ids plus the human names around it.

    ``area`` is the grouping the room belongs to (a district, a cluster; None for a province
    room or a commune directly under the province)."""
    endpoint = fleet.endpoints[endpoint_id]
    area = fleet.sites.get(endpoint.area or "")
    bridge = fleet.bridges.get(endpoint.bridge or "")
    return {
        "id": endpoint.id,
        "name": endpoint.name,
        "kind": endpoint.kind.value,
        "level": endpoint.level,
        "site": endpoint.site,
        "site_name": fleet.sites[endpoint.site].name,
        "area": endpoint.area,
        "area_name": area.name if area else None,
        "agency": endpoint.agency,
        "agency_name": fleet.agencies[endpoint.agency].name,
        "address": endpoint.address,
        "bridge": endpoint.bridge,
        "bridge_name": bridge.name if bridge else None,
        "tags": list(endpoint.tags),
    }


def find_endpoint(fleet: Fleet, endpoint_id: str) -> dict[str, object]:
    if endpoint_id not in fleet.endpoints:
        raise NotFound("endpoint", endpoint_id)
    return endpoint_view(fleet, endpoint_id)
