"""Benchmark: serving an agency feed holding a year of sessions (2,000 events).

Books a realistic year through the booking engine (working days, 4 slots a day, ~24 rooms and
their ~24 agencies each; 10% weekly series with an EXDATE; the peer's events carry ~50
ATTENDEEs, ours none: a subscribed feed counts the rooms per area in the description),
all organised by one agency (Sở Thông tin và Truyền thông), then runs the real scheduler on
loopback and measures, with a plain HTTP client (http.client, a new connection per request) in
a process of its own:

  * a GET of the agency feed (median of --repeats), cached;
  * the first GET right after one session changed (a cancellation: the server is told at once,
    as its change poll would, and the GET waits for the re-read and re-assembly);
  * a conditional GET (If-None-Match) answered 304;
  * how long the event loop was held meanwhile (overshoot of a 5 ms ticker: p99 and worst).

  * the same GET with ``Accept-Encoding: gzip`` (the bytes on the wire, and the time);

and, in the same run, ``peer-radicale-feed.py --events N`` (Radicale serving the same number of
events), found in ``--peers DIR`` or else in the first ``shared/peers/`` beside the checkout or
one of its parents (``../shared/peers/``). Prints medians and the machine; exit 1 when a target
is missed: the feed at most 2 MB, 300 KB gzipped; GET at most a quarter of Radicale's, the
first GET after one change at most Radicale's, 304 under 2 ms.

    .venv/bin/python bench/feeds.py [--events 2000] [--repeats 15] [--peers DIR | --no-peer]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import _repo

ROOT = _repo.ROOT

import icalendar  # noqa: E402

from confsched.config import Settings  # noqa: E402
from confsched.domain.booking import BookingRequest  # noqa: E402
from confsched.domain.model import Fleet  # noqa: E402
from confsched.runtime.components import Components  # noqa: E402
from confsched.runtime.root import run_server  # noqa: E402
from confsched.services import booking  # noqa: E402
from confsched.services.inventory import import_fleet, require_fleet  # noqa: E402
from confsched.store.calendar import live_tokens  # noqa: E402
from confsched.store.db import open_db  # noqa: E402

PEER = "peer-radicale-feed.py"
MAX_BYTES = 2_000_000
MAX_GZIP_BYTES = 300_000
ORGANIZER = "so-tttt"
SLOTS = ((7, 45), (9, 30), (13, 30), (15, 15))  # 90-minute sessions, 15-minute setup
TITLES = (
    "Hội nghị giao ban trực tuyến UBND tỉnh với các huyện, xã",
    "Hội nghị triển khai nhiệm vụ phát triển kinh tế - xã hội",
    "Họp Ban Chỉ đạo chuyển đổi số tỉnh",
    "Hội nghị sơ kết công tác phòng, chống thiên tai",
    "Tập huấn nghiệp vụ cải cách hành chính",
)


# --- the year of sessions ---------------------------------------------------------------------


def room_groups(fleet: Fleet, size: int = 24) -> list[list[str]]:
    """Eight disjoint groups of commune rooms: sessions in one slot never share a room."""
    communes = [e.id for e in fleet.endpoints.values() if e.level == fleet.levels[-1]]
    return [communes[i : i + size] for i in range(0, size * 8, size)]


def plan(fleet: Fleet, events: int, first_day: date) -> list[BookingRequest]:
    """One-off sessions in groups 0-1 (2 per slot), weekly series in groups 2-7, ~10% series."""
    tz = ZoneInfo(fleet.timezone)
    groups = room_groups(fleet)
    series_count = events // 10
    days = [first_day + timedelta(days=i) for i in range(400)]
    workdays = [d for d in days if d.weekday() < 5]

    def at(day: date, slot: int) -> datetime:
        hour, minute = SLOTS[slot]
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)

    requests = []
    for i in range(events - series_count):
        day, rest = divmod(i, 8)
        slot, group = divmod(rest, 2)
        start = at(workdays[day], slot)
        requests.append(_request(i, groups[group], start))
    positions = [(wd, slot, g) for wd in range(5) for slot in range(4) for g in range(2, 8)]
    for i in range(series_count):
        weekday, slot, group = positions[i % len(positions)]
        week = (i // len(positions)) * 9
        monday = first_day + timedelta(weeks=week)
        start = at(monday + timedelta(days=weekday), slot)
        count = (4, 6, 8)[i % 3]
        requests.append(
            _request(
                i,
                groups[group],
                start,
                rrule=f"FREQ=WEEKLY;COUNT={count}",
                exdates=(start + timedelta(weeks=2),),
            )
        )
    return requests


def _request(i: int, rooms: list[str], start: datetime, **extra: Any) -> BookingRequest:
    return BookingRequest(
        title=f"{TITLES[i % len(TITLES)]} (số {i + 1})",
        selectors=tuple(rooms),
        start=start,
        end=start + timedelta(minutes=90),
        organizer=ORGANIZER,
        chair=rooms[0],
        **extra,
    )


def build_data(data_dir: Path, events: int) -> tuple[Fleet, list[str]]:
    db = open_db(data_dir)
    import_fleet(db, ROOT / "sample_rooms.yaml")
    fleet = require_fleet(db)
    today = datetime.now(ZoneInfo(fleet.timezone)).date()
    first_monday = today + timedelta(days=7 + (7 - today.weekday()) % 7)
    ids = [booking.book(db, fleet, r).id for r in plan(fleet, events, first_monday)]
    db.close()
    return fleet, ids


# --- measuring --------------------------------------------------------------------------------


Answer = tuple[float, int, dict[str, str], bytes]


def timed_get(port: int, path: str, headers: dict[str, str], keep: bool = False) -> Answer:
    """One GET on a fresh connection, as a calendar client does it; ms to the last byte.

    Runs in a client process of its own, so the server's process holds only the server; the
    body comes back only when ``keep`` (for the final check).
    """
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    elapsed = (time.perf_counter() - start) * 1000
    conn.close()
    return elapsed, resp.status, {k.lower(): v for k, v in resp.getheaders()}, body if keep else b""


class LoopLag:
    """How long the event loop was held: overshoot of a 5 ms ticker (p99 and worst)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.005)
            self.samples.append((loop.time() - before - 0.005) * 1000)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())

    def stop(self) -> tuple[float, float]:
        if self._task:
            self._task.cancel()
        ordered = sorted(self.samples) or [0.0]
        return ordered[int(len(ordered) * 0.99)], ordered[-1]


async def measure(
    ctx: Components, client: ProcessPoolExecutor, session_ids: list[str], repeats: int
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    port = ctx.http_port
    service = ctx.calendar
    started = time.perf_counter()
    await service.settled()
    warm_s = time.perf_counter() - started
    token = next(
        t
        for t in await ctx.ctx.store.read(live_tokens)
        if t.key.subject == ORGANIZER and t.key.kind.value == "agency"
    )
    path = f"/feeds/agency/{token.token}.ics"

    async def get(headers: dict[str, str] | None = None, keep: bool = False) -> Answer:
        return await loop.run_in_executor(client, timed_get, port, path, headers or {}, keep)

    lag = LoopLag()
    lag.start()
    first_ms, status, headers, body = await get()
    assert status == 200, status
    served = [(await get())[0] for _ in range(repeats)]
    zipped = [await get({"Accept-Encoding": "gzip"}, keep=True) for _ in range(repeats)]
    assert all(z[2].get("content-encoding") == "gzip" for z in zipped)
    conditional = []
    for _ in range(repeats * 3):
        ms, status, _, _ = await get({"If-None-Match": headers["etag"]})
        assert status == 304, status
        conditional.append(ms)
    after_change = []
    for i in range(repeats):
        victim = session_ids[len(session_ids) // 2 + i]
        await ctx.ctx.store.write(booking.cancel, ctx.ctx.fleet, victim)
        await ctx.ctx.notice_changes()  # what the server's change poll does within 0.25 s
        ms, status, new_headers, _ = await get()
        assert status == 200 and new_headers["etag"] != headers["etag"]
        headers = new_headers
        after_change.append(ms)
    lag_p99, lag_max = lag.stop()
    _, _, _, body = await get(keep=True)
    return {
        "body": body,
        "warm_s": warm_s,
        "first_ms": first_ms,
        "served_ms": statistics.median(served),
        "gzip_ms": statistics.median(z[0] for z in zipped),
        "gzip_bytes": len(zipped[-1][3]),
        "changed_ms": statistics.median(after_change),
        "conditional_ms": statistics.median(conditional),
        "lag_p99_ms": lag_p99,
        "lag_max_ms": lag_max,
    }


def check_body(figures: dict[str, Any]) -> None:
    """The served document parses with icalendar and holds every event (after the server)."""
    body = figures.pop("body")
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    figures["bytes"] = len(body)
    figures["vevents"] = len(events)
    figures["cancelled"] = sum(1 for e in events if e.get("STATUS") == "CANCELLED")


async def serve_and_measure(data_dir: Path, ids: list[str], repeats: int) -> dict[str, Any]:
    client = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    client.submit(time.perf_counter).result()  # started before the server
    settings = Settings(data_dir=data_dir, http_port=0, ssh_port=0)
    ready: asyncio.Future[Components] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_server(settings, ready=ready.set_result))
    done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    try:
        figures = await measure(ready.result(), client, ids, repeats)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    try:
        figures.update(await restart(settings, client))
    finally:
        client.shutdown()
    return figures


async def restart(settings: Settings, client: ProcessPoolExecutor) -> dict[str, float]:
    """A second start on the same data: events come from the kept blocks, not icalendar."""
    started = time.perf_counter()
    ready: asyncio.Future[Components] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_server(settings, ready=ready.set_result))
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    try:
        ctx = ready.result()
        token = next(
            t
            for t in await ctx.ctx.store.read(live_tokens)
            if t.key.subject == ORGANIZER and t.key.kind.value == "agency"
        )
        loop = asyncio.get_running_loop()
        path = f"/feeds/agency/{token.token}.ics"
        ms, status, _, _ = await loop.run_in_executor(client, timed_get, ctx.http_port, path, {})
        assert status == 200, status
        return {
            "restart_get_ms": ms,
            "restart_total_s": time.perf_counter() - started,
            "restart_renders": ctx.calendar.builder.renders,
        }
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def run_peer(peer: Path, events: int) -> float | None:
    """Radicale's median GET of the same number of events (its last line carries it)."""
    done = subprocess.run(
        [sys.executable, str(peer), "--events", str(events)], capture_output=True, text=True
    )
    lines = done.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(f"  peer: {line}")
    found = re.search(r"([\d.]+) ms median", lines[-1] if lines else "")
    if done.returncode != 0 or not found:
        print(f"  peer failed (rc {done.returncode}): {done.stdout[-300:]} {done.stderr[-300:]}")
        return None
    return float(found.group(1))


def report(figures: dict[str, Any], peer_ms: float | None, setup_s: float) -> bool:
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"data: {figures['vevents']} VEVENTs ({figures['cancelled']} cancelled), "
        f"{figures['bytes'] / 1e6:.2f} MB feed, {figures['gzip_bytes'] / 1e3:.0f} KB gzipped; "
        f"booked in {setup_s:.1f} s; "
        f"all events serialized in the background in {figures['warm_s']:.1f} s after start"
    )
    print(f"first GET (body assembled) {figures['first_ms']:8.1f} ms")
    print(
        f"after a restart: first GET {figures['restart_get_ms']:.1f} ms "
        f"({figures['restart_total_s']:.1f} s from start, "
        f"{figures['restart_renders']} events serialized again)"
    )
    print(f"GET (cached), median       {figures['served_ms']:8.1f} ms")
    print(f"GET gzipped, median        {figures['gzip_ms']:8.1f} ms")
    print(f"GET after one change, med. {figures['changed_ms']:8.1f} ms")
    print(f"If-None-Match -> 304, med. {figures['conditional_ms']:8.2f} ms")
    print(
        f"event loop held: p99 {figures['lag_p99_ms']:.1f} ms, "
        f"worst {figures['lag_max_ms']:.1f} ms (5 ms ticker overshoot)"
    )
    checks: list[tuple[str, Callable[[], bool]]] = [
        (f"feed <= {MAX_BYTES / 1e6:.0f} MB", lambda: figures["bytes"] <= MAX_BYTES),
        (
            f"gzipped <= {MAX_GZIP_BYTES / 1e3:.0f} KB",
            lambda: figures["gzip_bytes"] <= MAX_GZIP_BYTES,
        ),
        ("304 under 2 ms", lambda: figures["conditional_ms"] < 2.0),
    ]
    if peer_ms is None:
        print("peer: not run")
        return _verdict(checks)
    checks += [
        (
            f"serving <= 1/4 of Radicale ({peer_ms / 4:.0f} ms)",
            lambda: figures["served_ms"] <= peer_ms / 4,
        ),
        (
            f"after a change <= Radicale ({peer_ms:.0f} ms)",
            lambda: figures["changed_ms"] <= peer_ms,
        ),
    ]
    print(
        f"Radicale GET of the same number of events, median {peer_ms:.1f} ms: "
        f"serving {peer_ms / figures['served_ms']:.0f}x faster, "
        f"after a change {peer_ms / figures['changed_ms']:.1f}x faster"
    )
    return _verdict(checks)


def _verdict(checks: list[tuple[str, Callable[[], bool]]]) -> bool:
    ok = True
    for label, check in checks:
        passed = check()
        ok = ok and passed
        print(f"  {'ok  ' if passed else 'MISS'} {label}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-peer", action="store_true", help="skip the Radicale peer")
    parser.add_argument(
        "--peers", type=Path, default=None, help="folder holding peer-radicale-feed.py"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-feeds-") as tmp:
        started = time.perf_counter()
        _, ids = build_data(Path(tmp), args.events)
        setup_s = time.perf_counter() - started
        figures = asyncio.run(serve_and_measure(Path(tmp), ids, args.repeats))
    check_body(figures)
    peer = None if args.no_peer else _repo.find_peer(PEER, args.peers)
    if peer is None and not args.no_peer:
        print(f"peer: {PEER} not found (give --peers DIR)")
    peer_ms = None if peer is None else run_peer(peer, args.events)
    ok = report(figures, peer_ms, setup_s)
    _repo.emit("feeds", {"events": args.events, **figures, "peer_ms": peer_ms, "targets_met": ok})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
