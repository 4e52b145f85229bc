"""Storing and loading the fleet: agencies, sites, bridges, endpoints and the fleet's settings."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import time, timedelta
from typing import Any

import sqlite_utils

from confsched.domain.model import (
    DEFAULT_LEVELS,
    Agency,
    Bridge,
    CodecAccess,
    Endpoint,
    EndpointKind,
    Fleet,
    Site,
    WorkingHours,
)
from confsched.domain.retention import LIMITS as RETENTION_LIMITS
from confsched.domain.retention import Retention, parse_span, span_text
from confsched.domain.stages import DEFAULT_STAGES, parse_stage
from confsched.store.db import bump_revision, immediate


@dataclass
class KindChanges:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass
class ImportReport:
    """What an import changed, per kind of record, and which fleet settings changed.

    Re-importing the same file changes nothing; moving or deleting a line changes only what
    the line held (the order of rooms is kept, but is not reported as a change).
    """

    changes: dict[str, KindChanges] = field(default_factory=dict)
    settings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.settings) or any(self.changes.values())


_TABLES = ("agencies", "sites", "bridges", "endpoints")


def save_fleet(db: sqlite_utils.Database, fleet: Fleet) -> ImportReport:
    """Replace the stored inventory with ``fleet`` in one transaction; report the differences."""
    with immediate(db):
        return write_fleet(db, fleet)


def fleet_changes(db: sqlite_utils.Database, fleet: Fleet) -> ImportReport:
    """What ``save_fleet`` would report, storing nothing."""
    return _sync(db, fleet, write=False)


def write_fleet(db: sqlite_utils.Database, fleet: Fleet) -> ImportReport:
    """``save_fleet`` inside the caller's write transaction (the re-import checks its bookings
    under the same lock)."""
    return _sync(db, fleet, write=True)


def _sync(db: sqlite_utils.Database, fleet: Fleet, *, write: bool) -> ImportReport:
    wanted = {
        "agencies": {a.id: asdict(a) for a in fleet.agencies.values()},
        "sites": {s.id: _site_row(s) for s in fleet.sites.values()},
        "bridges": {b.id: asdict(b) for b in fleet.bridges.values()},
        "endpoints": {
            e.id: _endpoint_row(e, position) for position, e in enumerate(fleet.endpoints.values())
        },
    }
    report = ImportReport()
    for table in _TABLES:
        report.changes[table] = _sync_table(db, table, wanted[table], write)
    meta = _meta_rows(fleet)
    current = {row["key"]: row["value"] for row in db.table("fleet_meta").rows}
    if current:
        changed = [r["key"] for r in meta if current.get(r["key"]) != r["value"]]
        report.settings = [k.removesuffix("_s") for k in changed]  # as the file names them
    if write:
        db.table("fleet_meta").upsert_all(meta, pk="key")
        if report.changed:
            bump_revision(db, "inventory")
    return report


def _sync_table(
    db: sqlite_utils.Database, table: str, wanted: dict[str, dict[str, Any]], write: bool
) -> KindChanges:
    current = {row["id"]: row for row in db.table(table).rows}
    changes = KindChanges()
    moved: list[str] = []
    for ident, row in wanted.items():
        if ident not in current:
            changes.added.append(ident)
        elif {k: current[ident].get(k) for k in row} != row:
            same = all(current[ident].get(k) == v for k, v in row.items() if k != "position")
            (moved if same else changes.updated).append(ident)
    changes.removed = [ident for ident in current if ident not in wanted]
    if not write:
        return changes
    for ident in changes.removed:
        db.execute(f"DELETE FROM [{table}] WHERE id = ?", [ident])
    rows = [wanted[i] for i in changes.added + changes.updated + moved]
    if rows:
        db.table(table).upsert_all(rows, pk="id")
    return changes


def _site_row(site: Site) -> dict[str, Any]:
    return {"id": site.id, "name": site.name, "level": site.level, "parent": site.parent}


def _endpoint_row(endpoint: Endpoint, position: int) -> dict[str, Any]:
    row = asdict(endpoint)
    row.update(
        kind=endpoint.kind.value,
        tags=json.dumps(list(endpoint.tags), ensure_ascii=False),
        position=position,
        codec=json.dumps(asdict(endpoint.codec)) if endpoint.codec else None,
    )
    return row


def _meta_rows(fleet: Fleet) -> list[dict[str, str]]:
    hours = fleet.working_hours
    return [
        {"key": "name", "value": fleet.name},
        {"key": "timezone", "value": fleet.timezone},
        {"key": "report_interval_s", "value": str(int(fleet.report_interval.total_seconds()))},
        {"key": "levels", "value": json.dumps(list(fleet.levels))},
        {"key": "readiness_stages", "value": json.dumps([s.name for s in fleet.readiness_stages])},
        {"key": "language", "value": fleet.language},
        {"key": "health_history", "value": _retention_text(fleet.health_history)},
        {
            "key": "working_hours",
            "value": json.dumps(
                {
                    "days": sorted(hours.days),
                    "start": hours.start.isoformat("minutes"),
                    "end": hours.end.isoformat("minutes"),
                }
            ),
        },
    ]


IMPORTED_KEY = "imported_digest"
"""In ``fleet_meta``, beside the settings (which are read by name): the digest of the fleet file
last imported, so that ``serve --rooms`` need not parse and compare 10,000 rooms again."""


def imported_digest(db: sqlite_utils.Database) -> str | None:
    row = db.execute("SELECT value FROM fleet_meta WHERE key = ?", [IMPORTED_KEY]).fetchone()
    return str(row[0]) if row else None


def mark_imported(db: sqlite_utils.Database, digest: str) -> None:
    """Call inside the import's write: the stored fleet is now that file's."""
    db.execute(
        "INSERT INTO fleet_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [IMPORTED_KEY, digest],
    )


def load_fleet(db: sqlite_utils.Database, endpoints: Collection[str] | None = None) -> Fleet | None:
    """The stored fleet, or None before the first import.

    ``endpoints``: only these rooms (those that exist), with every setting, agency, site and
    bridge: for a read about a few rooms, which should not pay for 10,000 (never for booking or
    selectors, which need them all)."""
    meta = {row["key"]: row["value"] for row in db.table("fleet_meta").rows}
    if "name" not in meta:
        return None
    hours = json.loads(meta["working_hours"])
    return Fleet(
        name=meta["name"],
        timezone=meta["timezone"],
        working_hours=WorkingHours(
            frozenset(hours["days"]),
            time.fromisoformat(hours["start"]),
            time.fromisoformat(hours["end"]),
        ),
        report_interval=timedelta(seconds=int(meta["report_interval_s"])),
        agencies={r["id"]: Agency(**r) for r in db.table("agencies").rows},
        sites={
            r["id"]: Site(r["id"], r["name"], r["level"], r["parent"])
            for r in db.table("sites").rows
        },
        bridges={r["id"]: Bridge(**r) for r in db.table("bridges").rows},
        endpoints=_endpoints(db, endpoints),
        levels=tuple(json.loads(meta.get("levels") or "null") or DEFAULT_LEVELS),
        readiness_stages=tuple(
            parse_stage(s) for s in json.loads(meta.get("readiness_stages") or "null") or ()
        )
        or DEFAULT_STAGES,
        language=meta.get("language") or "",
        health_history=_retention(meta.get("health_history")),
    )


def _retention_text(retention: Retention) -> str:
    return json.dumps({k: span_text(getattr(retention, k)) for k in RETENTION_LIMITS})


def _retention(text: str | None) -> Retention:
    """The stored ``health_history`` (the defaults for a fleet stored before it existed)."""
    spans = json.loads(text) if text else {}
    return Retention(**{k: parse_span(v) for k, v in spans.items() if k in RETENTION_LIMITS})


_ENDPOINT_COLUMNS = (
    "id, name, kind, agency, site, level, area, address, bridge, tags, codec, client_process"
)


def _endpoints(db: sqlite_utils.Database, only: Collection[str] | None) -> dict[str, Endpoint]:
    """Every endpoint (or those of ``only``) in file order. Plain tuples and one parse per
    distinct tag list: a national fleet has 10,000 rows and commands needing them all read them."""
    tags: dict[str | None, tuple[str, ...]] = {None: (), "": (), "[]": ()}
    kinds = {k.value: k for k in EndpointKind}
    found = {}
    where, args = "", []
    if only is not None:
        where, args = "WHERE id IN (SELECT value FROM json_each(?)) ", [json.dumps(list(only))]
    query = f"SELECT {_ENDPOINT_COLUMNS} FROM endpoints {where}ORDER BY position"
    for row in db.execute(query, args):
        (id_, name, kind, agency, site, level, area, address, bridge, tag_text, codec, process) = (
            row
        )
        if tag_text not in tags:
            tags[tag_text] = tuple(json.loads(tag_text))
        found[id_] = Endpoint(
            id=id_,
            name=name,
            kind=kinds[kind],
            agency=agency,
            site=site,
            level=level,
            area=area,
            address=address or "",
            bridge=bridge,
            tags=tags[tag_text],
            codec=CodecAccess(**json.loads(codec)) if codec else None,
            client_process=process or "",
        )
    return found
