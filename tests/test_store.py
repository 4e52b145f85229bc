"""The store: a real SQLite file, WAL, migrations once, revisions that tell other processes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import sqlite_utils

from confsched.domain.model import Fleet
from confsched.services import booking as svc
from confsched.store.db import data_version, open_db, revisions
from confsched.store.inventory import load_fleet, save_fleet
from confsched.store.migrations import MIGRATIONS
from tests.conftest import local

HOUR = timedelta(hours=1)


def test_store_is_a_wal_file_with_foreign_keys(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    assert (tmp_path / "confsched.db").exists()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_migrations_apply_once_and_reopen_cleanly(tmp_path: Path) -> None:
    open_db(tmp_path).close()
    db = open_db(tmp_path)
    names = [r["name"] for r in db["_sqlite_migrations"].rows]
    assert names[0] == "m001_inventory"
    assert len(names) == len(set(names))


def test_fleet_round_trips_through_the_store(tmp_path: Path, sample_fleet: Fleet) -> None:
    db = open_db(tmp_path)
    save_fleet(db, sample_fleet)
    assert load_fleet(db) == sample_fleet


def test_an_import_is_seen_by_another_connection(tmp_path: Path, sample_fleet: Fleet) -> None:
    watcher = open_db(tmp_path)
    before_version, before_revs = data_version(watcher), revisions(watcher)
    writer = open_db(tmp_path)
    save_fleet(writer, sample_fleet)
    assert data_version(watcher) != before_version
    assert revisions(watcher)["inventory"] == before_revs.get("inventory", 0) + 1


def test_unchanged_reimport_does_not_bump_the_revision(tmp_path: Path, sample_fleet: Fleet) -> None:
    db = open_db(tmp_path)
    save_fleet(db, sample_fleet)
    report = save_fleet(db, sample_fleet)
    assert not report.changed
    assert revisions(db)["inventory"] == 1


def test_removed_endpoint_is_reported_and_gone(tmp_path: Path, sample_fleet: Fleet) -> None:
    from dataclasses import replace

    db = open_db(tmp_path)
    save_fleet(db, sample_fleet)
    fewer = dict(sample_fleet.endpoints)
    del fewer["tinh-uy"]
    report = save_fleet(db, replace(sample_fleet, endpoints=fewer))
    assert report.changes["endpoints"].removed == ["tinh-uy"]
    stored = load_fleet(db)
    assert stored is not None and "tinh-uy" not in stored.endpoints


def test_allocations_stored_before_homes_were_recorded_get_their_moved_rooms(
    db: sqlite_utils.Database, fleet: Fleet
) -> None:
    start = local("2026-12-07 08:00")
    request = svc.BookingRequest("Thử", ("tinh-uy", "dt-la-bang"), start, start + HOUR)
    session = svc.book(db, fleet, request, now=local("2026-12-01 08:00"))
    assert session.allocation.moved == {}
    # as an older version stored it: tinh-uy (home mcu-tinh-1) on mcu-tinh-2, no "moved" key
    old = {"by_bridge": {"mcu-tinh-2": ["tinh-uy", "dt-la-bang"]}, "links": []}
    db.execute("UPDATE sessions SET allocation = ?", [json.dumps(old)])
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm010_allocation_homes'")
    MIGRATIONS.apply(db)
    assert svc.get_session(db, session.id).allocation.moved == {"tinh-uy": "mcu-tinh-1"}
