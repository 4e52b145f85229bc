"""Benchmark: booking a 192-endpoint session, and the earliest free slot for all 192 rooms.

Builds a year of realistic history in a fresh data directory (the sample province: about 200
sessions of 5 to 192 rooms on working days, plus each district's weekly meeting), then, from
the middle of that year, measures:

* ``book``: validating, checking and storing a 192-endpoint session (one BEGIN IMMEDIATE
  transaction, committed to a WAL file) at the next time all rooms are free;
* ``refuse``: the same request where it collides, so every conflict is gathered and listed;
* ``slot``: the earliest free slot for all 192 rooms within 30 days, from 50 different days;
* ``city``: a 619-room city on six 120-port bridges (``bench/_city.py``): booking 192 rooms picked
  at random, alone and as the third 192-room session at the same time, with the share of rooms
  the cascade kept on their home bridge.

Run: ``python bench/booking.py [--seed 7] [--runs 50]``. Targets: booking under
5 ms, free slot under 25 ms (medians) on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import _repo
from _city import city_yaml

from confsched.domain.booking import BookingRequest
from confsched.domain.model import Fleet, Session
from confsched.errors import BookingRefused
from confsched.fleetfile import parse_fleet_text
from confsched.services import booking as svc
from confsched.services.inventory import import_fleet, require_fleet
from confsched.store.db import open_db
from confsched.store.inventory import save_fleet

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR_START = datetime(2027, 1, 4, tzinfo=TZ).astimezone(UTC)  # a Monday
GROUPS = (
    ["all"] * 3
    + ["level:province,level:district"] * 4
    + ["level:district"] * 3
    + ["tag:vung-cao", "tag:lanh-dao", "level:commune"]
)


def history(db, fleet: Fleet, rnd: random.Random) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """About 200 one-off sessions across the year and nine weekly district meetings."""
    now = YEAR_START - timedelta(days=1)
    districts = [s for s in fleet.sites.values() if s.level == "district"]
    for i, district in enumerate(districts):
        day = YEAR_START + timedelta(days=i % 5, hours=7)  # 14:00 local, Monday to Friday
        svc.book(
            db,
            fleet,
            _request(
                f"Giao ban tuần {district.name}",
                [f"district:{district.id}"],
                day,
                timedelta(hours=1),
                "FREQ=WEEKLY;UNTIL=20271231",
            ),
            now=now,
        )
    booked = refused = 0
    while booked < 200:
        selectors = _some_rooms(fleet, rnd)
        start = _working_time(rnd)
        length = timedelta(minutes=rnd.choice([60, 90, 120, 180]))
        try:
            svc.book(db, fleet, _request("Hội nghị", selectors, start, length), now=now)
            booked += 1
        except BookingRefused:
            refused += 1
    return booked + len(districts), refused


def _some_rooms(fleet: Fleet, rnd: random.Random) -> list[str]:
    if rnd.random() < 0.5:
        return rnd.choice(GROUPS).split(",")
    ids = list(fleet.endpoints)
    return rnd.sample(ids, rnd.randint(5, 40))


def _working_time(rnd: random.Random) -> datetime:
    day = YEAR_START + timedelta(days=rnd.randrange(364))
    while day.astimezone(TZ).weekday() >= 5:
        day += timedelta(days=1)
    local = day.astimezone(TZ).replace(hour=rnd.choice([8, 9, 10, 13, 14, 15]), minute=0)
    return local.astimezone(UTC)


def _request(
    title: str, selectors: list[str], start: datetime, length: timedelta, rrule: str | None = None
) -> BookingRequest:
    return BookingRequest(title, tuple(selectors), start, start + length, rrule=rrule)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def measure(db, fleet: Fleet, runs: int) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    now = YEAR_START + timedelta(days=182)
    figures: dict[str, list[float]] = {"book": [], "refuse": [], "slot": []}
    for i in range(runs):
        day = now + timedelta(days=i * 3)
        figures["slot"].append(timed(lambda d=day: _earliest(db, fleet, d)))
    for i in range(runs):
        slot = _earliest(db, fleet, now + timedelta(days=i * 3))
        request = _request("Hội nghị toàn tỉnh", ["all"], slot, timedelta(hours=2))
        figures["book"].append(timed(lambda r=request: svc.book(db, fleet, r, now=now)))
        figures["refuse"].append(timed(lambda r=request: _expect_refusal(db, fleet, r, now)))
    return figures


def _earliest(db, fleet: Fleet, now: datetime) -> datetime:  # type: ignore[no-untyped-def]
    found = svc.find_slots(
        db, fleet, ["all"], timedelta(hours=2), within=timedelta(days=30), count=1, now=now
    )
    return found[0].start


def _expect_refusal(db, fleet: Fleet, request: BookingRequest, now: datetime) -> None:  # type: ignore[no-untyped-def]
    try:
        svc.book(db, fleet, request, now=now)
    except BookingRefused as refused:
        assert len(refused.conflicts) >= 192
        return
    raise AssertionError("expected a refusal")


def at_home(fleet: Fleet, session: Session) -> tuple[int, int]:
    """(rooms on their home bridge, rooms) of a booked session."""
    kept = sum(
        1
        for bridge, members in session.allocation.by_bridge.items()
        for e in members
        if fleet.endpoints[e].bridge == bridge
    )
    return kept, len(session.endpoints)


def measure_city(root: Path, runs: int, rnd: random.Random) -> dict[str, list[float]]:
    """Book random 192-room sessions in the city, one day each: one alone, then two more at the
    same time (576 of the 619 rooms busy at once)."""
    db = open_db(root)
    save_fleet(db, parse_fleet_text(city_yaml(), "city"))
    fleet = require_fleet(db)
    now = YEAR_START - timedelta(days=1)
    figures: dict[str, list[float]] = {"book": [], "alone": [], "third": []}
    rooms = list(fleet.endpoints)
    for i in range(runs):
        chosen = rnd.sample(rooms, 3 * 192)
        start = YEAR_START + timedelta(days=i, hours=2)
        for part, share in ((0, "alone"), (1, ""), (2, "third")):
            members = chosen[part * 192 : (part + 1) * 192]
            request = _request("Hội nghị thành phố", members, start, timedelta(hours=2))
            started = time.perf_counter()
            session = svc.book(db, fleet, request, now=now)
            if share == "alone":
                figures["book"].append((time.perf_counter() - started) * 1000)
            kept, total = at_home(fleet, session)
            if share:
                figures[share].append(100 * kept / total)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "data")
        import_fleet(db, ROOT / "sample_rooms.yaml")
        fleet = require_fleet(db)
        started = time.perf_counter()
        sessions, refused = history(db, fleet, rnd)
        built = time.perf_counter() - started
        counts = db.execute(
            "SELECT (SELECT count(*) FROM occurrences), (SELECT count(*) FROM busy)"
        ).fetchone()
        figures = measure(db, fleet, args.runs)
        city = measure_city(Path(tmp) / "city", args.runs, rnd)
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    print(
        f"history: {sessions} sessions ({refused} random requests refused while building), "
        f"{counts[0]} occurrences, {counts[1]} busy rows, built in {built:.1f} s"
    )
    for name, label, target in (
        ("book", "book 192 endpoints (validate, check, store)", 5.0),
        ("refuse", "refuse 192 endpoints (every conflict listed)", None),
        ("slot", "earliest free slot, 192 endpoints, within 30 days", 25.0),
    ):
        values = sorted(figures[name])
        median = statistics.median(values)
        p90 = values[int(len(values) * 0.9) - 1]
        goal = (
            f"  (target < {target:g} ms: {'ok' if median < target else 'MISSED'})" if target else ""
        )
        print(f"{label:52} median {median:6.2f} ms  p90 {p90:6.2f} ms  n={len(values)}{goal}")
    _print_city(city)
    _repo.emit(
        "booking",
        {
            "sessions": sessions,
            "busy_rows": counts[1],
            **{f"{k}_ms": round(statistics.median(v), 2) for k, v in figures.items()},
            "city_book_ms": round(statistics.median(city["book"]), 2),
            "city_home_alone_pct": round(statistics.median(city["alone"]), 1),
            "city_home_third_pct": round(statistics.median(city["third"]), 1),
        },
    )


def _print_city(city: dict[str, list[float]]) -> None:
    values = sorted(city["book"])
    median = statistics.median(values)
    p90 = values[int(len(values) * 0.9) - 1]
    label = "city: book 192 of 619 rooms on six 120-port bridges"
    verdict = "ok" if median < 5.0 else "MISSED"
    print(f"{label:52} median {median:6.2f} ms  p90 {p90:6.2f} ms  (target < 5 ms: {verdict})")
    for key, what in (("alone", "alone"), ("third", "the third 192-room session at once")):
        shares = city[key]
        print(
            f"city: rooms kept on their home bridge, {what}: median "
            f"{statistics.median(shares):.1f} %, worst {min(shares):.1f} % (n={len(shares)})"
        )


if __name__ == "__main__":
    main()
