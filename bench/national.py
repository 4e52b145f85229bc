"""Benchmark: a national fleet and a year of sessions; what listing and reading cost.

Builds 10,000 rooms in 34 provinces (``bench/_national.py``) and a year of 50 sessions of 192
rooms per working day (13,100 sessions, 2.5 million busy rows at the default ``--days 262``),
then measures, from the middle of the year:

* ``list month``: the sessions of one month with their sittings in the window, as
  ``confsched sessions list --from --to`` reads them (target under 300 ms, the CLI's own work);
* ``list week``: the same for one week;
* ``detail``: one session's view with its sittings of the next two days (target under 20 ms);
* ``cli``: every read command of the CLI on that data directory (``CLI_COMMANDS``: rooms,
  sessions for a week and a month, a session, health, the forecast, slots, agents, tokens,
  feeds), each less ``confsched --version`` (Python's start-up and the imports), so what is
  left is the command's own work (target under 150 ms; a month's listing under 300 ms);
* ``serve``: the real ``confsched serve`` process started on that data directory
  (``bench/_national_api.py``): until ``/healthz`` answers and until its first API read is
  answered (target under 1 s), its RSS (target under 400 MB), a month listed through the API
  (real HTTP, target under 150 ms), a session's detail alone and while month listings run on
  other connections (target under 20 ms), and the fleet's health whole, paged, 304 and since;
* the data directory's size (after ``serve`` wrote its caches).

Run: ``python bench/national.py [--days 262]`` (``--days 20`` for a quick look). Prints the
figures and, last, one machine-readable line ``{"bench": "national", ...}``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import _repo
from _national import PROVINCES, ROOMS, national_yaml, province_of
from _national_api import Window, measure_serve

from confsched.domain.booking import BookingRequest
from confsched.services import booking as svc
from confsched.services.inventory import import_fleet, require_fleet
from confsched.store.db import open_db

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR_START = datetime.combine(
    date.today() - timedelta(days=date.today().weekday(), weeks=48), clock_time(), TZ
)
"""A Monday 48 weeks ago: the year (262 working days) is eleven months of history and a month
still to come, as a scheduler that has run for a year holds it (what is live stays bounded)."""
PER_DAY = 50
ROOMS_PER_SESSION = 192


def working_days(count: int) -> list[datetime]:
    days, day = [], YEAR_START
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def build(db, fleet, days: list[datetime]) -> int:  # type: ignore[no-untyped-def]
    """PER_DAY sessions a day: province k % 34 at 08:00, 10:00 or 14:00 (no room twice)."""
    rooms_of: dict[int, list[str]] = {}
    for i in range(ROOMS):
        rooms_of.setdefault(province_of(i), []).append(f"r-{i}")
    now = YEAR_START - timedelta(days=1)
    booked = 0
    for day in days:
        for k in range(PER_DAY):
            province = k % PROVINCES + 1
            hour = (8, 10, 14)[k // PROVINCES]
            start = day.replace(hour=hour).astimezone(UTC)
            rooms = rooms_of[province][:ROOMS_PER_SESSION]
            request = BookingRequest(
                f"Hội nghị tỉnh {province}", tuple(rooms), start, start + timedelta(minutes=90)
            )
            svc.book(db, fleet, request, now=now)
            booked += 1
    return booked


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def listing(db, start: datetime, end: datetime) -> int:  # type: ignore[no-untyped-def]
    """What ``sessions list --from --to`` reads: the sessions, each with its sittings."""
    sessions = svc.list_sessions(db, start, end)
    for session in sessions:
        svc.session_occurrences(db, session.id, start, end)
    return len(sessions)


CLI_COMMANDS = {
    "rooms list": ["rooms", "list"],
    "sessions list (a week)": ["sessions", "list", "--from", "{week_from}", "--to", "{week_to}"],
    "sessions list (a month)": ["sessions", "list", "--from", "{week_from}", "--to", "{month_to}"],
    "sessions show": ["sessions", "show", "{session}"],
    "health": ["health"],
    "rooms show": ["rooms", "show", "r-5"],
    "sessions risk": ["sessions", "risk"],
    "slots": ["slots", "--with", "r-1,r-2,r-3", "--duration", "1h", "--from", "{week_from}"],
    "agents list": ["agents", "list"],
    "tokens list": ["tokens", "list"],
    "feeds list": ["feeds", "list"],
}
"""The read commands (``sessions list`` for a month: target under 300 ms, the rest 150 ms)."""


def cli_ms(args: list[str], runs: int, cache: Path) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of ``confsched ARGS`` as a new
    process, after one run that compiles its modules (an installed package has them compiled;
    PYTHONDONTWRITEBYTECODE would otherwise count compiling as the command's work). The CPU
    time is the figure a loaded machine leaves nearly intact."""
    command = [sys.executable, "-m", "confsched", *args]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    subprocess.run(command, check=True, capture_output=True, env=env)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls += timed(lambda: subprocess.run(command, check=True, capture_output=True, env=env), 1)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        cpus.append(used * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=262, help="working days of sessions")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    days = working_days(args.days)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        fleet_file = Path(tmp) / "national.yaml"
        fleet_file.write_text(national_yaml(), encoding="utf-8")
        db = open_db(data)
        import_fleet(db, fleet_file)
        fleet = require_fleet(db)
        started = time.perf_counter()
        sessions = build(db, fleet, days)
        built = time.perf_counter() - started
        busy = db.execute("SELECT count(*) FROM busy").fetchone()[0]
        middle = days[len(days) // 2].astimezone(UTC)
        month = (middle, middle + timedelta(days=30))
        week = (middle, middle + timedelta(days=7))
        listed = listing(db, *month)
        month_ms = timed(lambda: listing(db, *month), args.runs)
        week_ms = timed(lambda: listing(db, *week), args.runs)
        some = svc.list_sessions(db, *week)[0]
        detail_ms = timed(
            lambda: svc.session_occurrences(db, some.id, middle, middle + timedelta(days=2)),
            args.runs * 10,
        )
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        local = {
            "week_from": f"{middle.astimezone(TZ):%Y-%m-%d}",
            "week_to": f"{middle.astimezone(TZ) + timedelta(days=7):%Y-%m-%d}",
            "month_to": f"{middle.astimezone(TZ) + timedelta(days=30):%Y-%m-%d}",
            "session": some.id,
        }
        cache = Path(tmp) / "pycache"
        start_up, start_cpu = cli_ms(["--version"], args.runs, cache)
        cli, cli_cpu = {}, {}
        for name, argv in CLI_COMMANDS.items():
            wall, cpu = cli_ms(
                ["--data", str(data), *(a.format(**local) for a in argv)], args.runs, cache
            )
            cli[name], cli_cpu[name] = round(wall - start_up), round(cpu - start_cpu)
        db.close()
        month_local = Window(local["week_from"], local["month_to"])
        week_local = Window(local["week_from"], local["week_to"])
        api = measure_serve(data, fleet_file, month_local, week_local, args.runs)
        disk = sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
    figures = {
        "sessions": sessions,
        "busy_rows": busy,
        "build_s": round(built, 1),
        "listed_month": listed,
        "list_month_ms": round(statistics.median(month_ms), 1),
        "list_week_ms": round(statistics.median(week_ms), 1),
        "detail_ms": round(statistics.median(detail_ms), 2),
        "disk_mb": round(disk / 1e6, 1),
        "cli_start_up_ms": round(start_up),
        "cli_own_ms": cli,
        "cli_start_up_cpu_ms": round(start_cpu),
        "cli_own_cpu_ms": cli_cpu,
        **api,
    }
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{sessions} sessions over {ROOMS} rooms ({busy} busy rows), built in {built:.0f} s; "
        f"data directory {disk / 1e6:.0f} MB"
    )
    print(f"list a month ({listed} sessions): median {figures['list_month_ms']} ms (target < 300)")
    print(f"list a week: median {figures['list_week_ms']} ms")
    print(f"one session's sittings: median {figures['detail_ms']} ms (target < 20)")
    print(
        f"CLI start-up (confsched --version): median {start_up:.0f} ms ({start_cpu:.0f} ms of "
        "CPU); on top of it, wall (CPU):"
    )
    for name, ms in cli.items():
        target = 300 if "month" in name else 150
        print(f"  {name:26} {ms:5d} ms ({cli_cpu[name]:5d} ms)  (target < {target})")
    print_serve(api)
    _repo.emit("national", figures)


def print_serve(api: dict[str, float | int]) -> None:
    print(
        f"serve, first start: /healthz after {api['cold_ready_s']} s, quiet after "
        f"{api['cold_settled_s']} s (its calendar cache written), peak RSS "
        f"{api['cold_peak_rss_mb']} MB"
    )
    print(
        f"serve, restarted: /healthz after {api['serve_ready_s']} s, first API read after "
        f"{api['first_read_after_launch_s']} s ({api['first_read_ms']} ms; target < 1 s); "
        f"RSS {api['serve_rss_mb']} MB started, {api['serve_peak_rss_mb']} MB peak (target < 400)"
    )
    print(
        f"API: a month ({api['api_listed_month']} sessions, {api['api_list_month_kb']} kB) "
        f"median {api['api_list_month_ms']} ms (target < 150); a session's detail "
        f"{api['api_detail_ms']} ms alone, {api['api_detail_while_listing_ms']} ms while "
        f"months are listed (max {api['api_detail_while_listing_max_ms']}; target < 20)"
    )
    print(
        f"API health: whole {api['health_ms']} ms ({api['health_kb']} kB), a page of 200 "
        f"{api['health_page_ms']} ms ({api['health_page_kb']} kB), If-None-Match "
        f"{api['health_304']} in {api['health_304_ms']} ms, since with no change "
        f"{api['health_since_ms']} ms ({api['health_since_kb']} kB)"
    )


if __name__ == "__main__":
    main()
