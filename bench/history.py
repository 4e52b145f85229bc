"""Benchmark: the disk a year of health history takes at 10,000 rooms, and its cost per report.

Health history is kept by time (``confsched/store/health_history.py``): every state change for
30 days, minute cells for 6 hours, hour cells (one 216-byte row per room per day) for 13 months,
and the latest report per room. This bench measures it in two steps on a real store file:

1. **Sample**: ``--rooms`` rooms (default 100) report every 10 s for ``--hours`` (default 24)
   through the real writer path (``save_health`` in batches of up to 500, as the health service
   writes them), with faults drawn from a fixed seed: in any hour a room has a 10 % chance of a
   two-minute loss spell (degraded), 2 % of a ten-minute camera failure (down), and a tenth of
   the rooms fall silent for an hour each night (offline); RTT is the room's own, higher in
   office hours, with random spikes (so that each hour's highest differs, as a real network's
   does, and the day rows do not compress better than real ones). Measured: the writer's CPU per
   report, and the changes per room per day these faults make.
2. **A year**: the sample's rows are copied, in the order the writer adds them, into a store of
   the same shape holding a full window of each part: 13 months of day rows (the sample's
   rows, rotated among the rooms), 30 days of changes (the sample's, shifted a day at a time)
   and 6 hours of minute rows. SQLite's own page count per table and index (``dbstat``) gives
   the bytes per room, then projected to 10,000 rooms (``--fleet``).

Run: ``python bench/history.py [--rooms 100] [--hours 24] [--fleet 10000]``. Prints the figures
and, last, one machine-readable line ``{"bench": "history", ...}``.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _repo

from confsched.domain.health import Observation, judge
from confsched.domain.history import HOURS, MINUTES
from confsched.domain.model import EndpointHealth
from confsched.domain.retention import Retention
from confsched.store.db import open_db
from confsched.store.health import StoredHealth, save_health
from confsched.store.health_history import HistoryKeeper

START = datetime(2026, 1, 5, tzinfo=UTC)
"""A fixed UTC midnight: the sample's day is one day row."""
TEN = timedelta(seconds=10)
BATCH = 500
TABLES = ("health_changes", "health_minutes", "health_hours", "health_latest")


def room_id(n: int) -> str:
    """Ids as long as the sample province's (``xa-tan-cuong``, 12 characters) or longer."""
    return f"xa-phong-{n:04d}"


def fault_plan(rooms: int, hours: int, rnd: random.Random) -> dict[tuple[int, int], str]:
    """(room, hour) → the fault of that hour: "loss", "camera" or "silent"."""
    plan = {}
    for room in range(rooms):
        for hour in range(hours):
            draw = rnd.random()
            if hour % 24 == 2 and room % 10 == 0:
                plan[room, hour] = "silent"
            elif draw < 0.02:
                plan[room, hour] = "camera"
            elif draw < 0.12:
                plan[room, hour] = "loss"
    return plan


def report(room: int, at: datetime, fault: str | None, rnd: random.Random) -> EndpointHealth:
    minute = at.minute
    checks = {"camera": True, "audio": True, "display": True, "bridge": True}
    busy = 15.0 if 7 <= (at.hour + 7) % 24 < 17 else 0.0  # office hours, Vietnam time
    rtt = 12.0 + room % 40 + busy + rnd.expovariate(1 / 4)  # each hour's highest differs
    measurements = {"rtt_ms": rtt, "loss_ratio": 0.0, "jitter_ms": 2.0}
    if fault == "loss" and 20 <= minute < 22:
        measurements["loss_ratio"] = 0.03
    if fault == "camera" and 40 <= minute < 50:
        checks["camera"] = False
    return judge(Observation(room_id(room), at, checks, {}, measurements))


def sample(db_dir: Path, rooms: int, hours: int) -> dict[str, float]:
    """Step 1: the real writer path for ``rooms`` × ``hours``."""
    rnd = random.Random(17)
    plan = fault_plan(rooms, hours, rnd)
    db = open_db(db_dir)
    keeper = HistoryKeeper()
    batch: list[StoredHealth] = []
    count, cpu = 0, 0.0
    for tick in range(hours * 360):
        at = START + TEN * tick
        hour = tick // 360
        for room in range(rooms):
            fault = plan.get((room, hour))
            if fault == "silent":
                continue
            health = report(room, at, fault, rnd)
            batch.append(StoredHealth(health, tick + 1, at, 10.0))
            if len(batch) >= BATCH:
                cpu += _save(db, batch, keeper)
                count += len(batch)
                batch = []
    if batch:
        cpu += _save(db, batch, keeper)
        count += len(batch)
    changes = db.execute("SELECT count(*) FROM health_changes").fetchone()[0]
    db.close()
    return {
        "reports": count,
        "writer_us_per_report": round(cpu / count * 1e6, 1),
        "changes_per_room_day": round(changes / rooms / (hours / 24), 1),
    }


def _save(db: object, batch: list[StoredHealth], keeper: HistoryKeeper) -> float:
    started = time.process_time()
    save_health(db, batch, keeper)  # type: ignore[arg-type]
    return time.process_time() - started


def year(sample_db: Path, year_dir: Path, rooms: int, retention: Retention) -> dict[str, int]:
    """Step 2: a full window of every part, copied from the sample; bytes per table."""
    source = sqlite3.connect(sample_db)
    db = open_db(year_dir)
    pool = [row[0] for row in source.execute("SELECT cells FROM health_hours ORDER BY endpoint")]
    first_day, _ = HOURS.place(START)
    days = retention.hourly.days
    for day in range(days):
        db.conn.executemany(
            "INSERT INTO health_hours (number, endpoint, cells) VALUES (?, ?, ?)",
            [(first_day + day, room_id(r), pool[(r + 7 * day) % len(pool)]) for r in range(rooms)],
        )
    changes = source.execute(
        "SELECT endpoint, at, state, reasons, codes, silent_from, interval FROM health_changes "
        "ORDER BY id"
    ).fetchall()
    span_ms = int(timedelta(days=1).total_seconds() * 1000)
    for day in range(retention.changes.days):
        db.conn.executemany(
            "INSERT INTO health_changes (endpoint, at, state, reasons, codes, silent_from, "
            "interval) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (e, at + day * span_ms, s, r, c, sf + day * span_ms if sf else None, i)
                for e, at, s, r, c, sf, i in changes
            ],
        )
    minute_rows = source.execute(
        "SELECT number, endpoint, cells FROM health_minutes ORDER BY number DESC, endpoint"
    ).fetchall()
    kept_hours = int(retention.minutes / MINUTES.row_span)
    newest = {n for n, _, _ in minute_rows}
    wanted = sorted(newest)[-kept_hours:]
    db.conn.executemany(
        "INSERT INTO health_minutes (number, endpoint, cells) VALUES (?, ?, ?)",
        [row for row in reversed(minute_rows) if row[0] in wanted],
    )
    latest = source.execute("SELECT * FROM health_latest").fetchall()
    marks = ", ".join("?" * len(latest[0]))
    db.conn.executemany(f"INSERT INTO health_latest VALUES ({marks})", latest)
    db.conn.commit()
    sizes = table_bytes(db.conn)
    db.close()
    source.close()
    return sizes


def table_bytes(conn: sqlite3.Connection) -> dict[str, int]:
    """Bytes of pages each history table holds, its indexes included (``dbstat``)."""
    owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_schema").fetchall())
    sizes = dict.fromkeys(TABLES, 0)
    for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
        table = owner.get(name, name)
        if table in sizes:
            sizes[table] += size
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--fleet", type=int, default=10_000)
    args = parser.parse_args()
    retention = Retention()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        measured = sample(Path(tmp) / "sample", args.rooms, args.hours)
        sample_s = time.perf_counter() - started
        sizes = year(
            Path(tmp) / "sample" / "confsched.db", Path(tmp) / "year", args.rooms, retention
        )
    scale = args.fleet / args.rooms
    projected = {table: round(size * scale) for table, size in sizes.items()}
    total = sum(projected.values())
    per_room_day = sizes["health_hours"] / args.rooms / retention.hourly.days
    print(
        f"sample: {args.rooms} rooms × {args.hours} h at 10 s = {measured['reports']:,} reports "
        f"through the writer in {sample_s:.1f} s; writer CPU "
        f"{measured['writer_us_per_report']} µs per report; "
        f"{measured['changes_per_room_day']} changes per room per day"
    )
    print(f"a year's windows at {args.fleet:,} rooms (projected from {args.rooms}):")
    windows = {
        "health_changes": f"changes, {retention.changes.days} days",
        "health_minutes": f"minute cells, {int(retention.minutes / timedelta(hours=1))} hours",
        "health_hours": f"hour cells, {retention.hourly.days} days",
        "health_latest": "latest report per room",
    }
    for table, size in projected.items():
        print(f"  {windows[table]:32} {size / 1e6:9.1f} MB")
    print(f"  {'total':32} {total / 1e6:9.1f} MB  ({per_room_day:.0f} bytes per room-day of hours)")
    _repo.emit(
        "history",
        {
            "rooms_sampled": args.rooms,
            "hours_sampled": args.hours,
            **measured,
            "fleet": args.fleet,
            "changes_mb": round(projected["health_changes"] / 1e6, 1),
            "minutes_mb": round(projected["health_minutes"] / 1e6, 1),
            "hours_mb": round(projected["health_hours"] / 1e6, 1),
            "latest_mb": round(projected["health_latest"] / 1e6, 1),
            "total_mb": round(total / 1e6, 1),
            "hour_bytes_per_room_day": round(per_room_day, 1),
        },
    )


if __name__ == "__main__":
    main()
