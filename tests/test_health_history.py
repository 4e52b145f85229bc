"""Health history kept by time (issue 17): a synthetic day summarised, the change log against
every report, trimming at both edges of each window, and m017 on a store with old rows. Every
time is a fixed instant, never now."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

from confsched.domain.health import Observation, judge
from confsched.domain.history import HOURS, MINUTES
from confsched.domain.model import EndpointHealth, EndpointState
from confsched.domain.retention import Retention
from confsched.domain.transitions import Heard, replay, state_changes
from confsched.store.db import open_db
from confsched.store.health import StoredHealth, save_health, to_db_ms
from confsched.store.health_history import (
    HistoryKeeper,
    load_cells,
    load_changes,
    load_points,
    to_ms,
    trim,
)
from confsched.store.migrations import MIGRATIONS

DAY = datetime(2026, 12, 7, tzinfo=UTC)
"""A UTC day: its hour cells are one stored row."""
ROOM = "xa-tan-cuong"
TEN = timedelta(seconds=10)
FINE = {"camera": True, "audio": True}


def _report(at: datetime, checks: dict | None = None, rtt: float = 20.0, loss: float = 0.0):  # type: ignore[no-untyped-def]
    measurements = {"rtt_ms": rtt, "loss_ratio": loss}
    return judge(Observation(ROOM, at, checks or FINE, {}, measurements))


def synthetic_day() -> list[EndpointHealth]:
    """A report every 10 s for a day: ok, except the camera gone 03:00-04:00, silent
    05:00-05:30, and one report at 07:15 with a 250 ms RTT and 2 % loss."""
    reports = []
    for n in range(24 * 360):
        at = DAY + TEN * n
        if at.hour == 5 and at.minute < 30:
            continue
        if at.hour == 3:
            reports.append(_report(at, {"camera": False, "audio": True}))
        elif (at.hour, at.minute, at.second) == (7, 15, 0):
            reports.append(_report(at, rtt=250.0, loss=0.02))
        else:
            reports.append(_report(at, rtt=20.0 + n % 7))
    return reports


def _store_day(db: sqlite_utils.Database, keeper: HistoryKeeper) -> list[EndpointHealth]:
    reports = synthetic_day()
    for first in range(0, len(reports), 500):  # as the writer does: batches of 500 at most
        batch = reports[first : first + 500]
        save_health(
            db,
            [StoredHealth(h, i, h.last_report_at, 10.0) for i, h in enumerate(batch, first)],
            keeper,
        )  # type: ignore[arg-type]
    return reports


def test_a_synthetic_day_is_summarised_hour_by_hour_and_minute_by_minute(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    keeper = HistoryKeeper(retention=Retention(minutes=timedelta(days=2)))
    _store_day(db, keeper)
    hours = load_cells(db, ROOM, HOURS, DAY, DAY + timedelta(days=1))
    assert [c.start.hour for c in hours] == list(range(24))
    by_hour = {c.start.hour: c for c in hours}
    for hour in (0, 1, 2, 4, 6, 8, 23):
        cell = by_hour[hour]
        assert (cell.worst, cell.reports, cell.ok) == (EndpointState.OK, 360, 360)
        assert cell.rtt_ms == 26.0 and cell.loss_ratio == 0.0
    assert (by_hour[3].worst, by_hour[3].reports, by_hour[3].ok) == (EndpointState.DOWN, 360, 0)
    # the silence ended in hour 5: offline is its worst, half its reports came
    assert (by_hour[5].worst, by_hour[5].reports, by_hour[5].ok) == (
        EndpointState.OFFLINE,
        180,
        180,
    )
    spike = by_hour[7]
    assert (spike.worst, spike.reports, spike.ok) == (EndpointState.DEGRADED, 360, 359)
    assert (spike.rtt_ms, spike.loss_ratio) == (250.0, 0.02)
    minutes = load_cells(db, ROOM, MINUTES, DAY.replace(hour=7), DAY.replace(hour=8))
    assert len(minutes) == 60 and all(c.reports == 6 for c in minutes)
    (at_spike,) = [c for c in minutes if c.worst is EndpointState.DEGRADED]
    assert at_spike.start == DAY.replace(hour=7, minute=15) and at_spike.rtt_ms == 250.0
    (blob,) = db.execute("SELECT cells FROM health_hours WHERE endpoint = ?", [ROOM]).fetchone()
    assert len(HOURS.unpack(blob)) == 24 * 9  # one day of one room: 216 bytes…
    assert len(blob) < 100  # …kept compressed


def test_the_change_log_gives_the_changes_every_report_gives(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    reports = _store_day(db, HistoryKeeper())
    until = DAY + timedelta(days=1, minutes=5)  # the room silent since midnight
    expected = state_changes([(h, TEN) for h in reports], until)
    last = reports[-1]
    assert last.last_report_at is not None
    replayed = replay(
        load_changes(db, ROOM, DAY), Heard(last.last_report_at, last.state, TEN), until
    )
    assert replayed == expected
    assert [(c.state.value, c.at.strftime("%H:%M:%S")) for c in expected] == [
        ("ok", "00:00:00"),
        ("down", "03:00:00"),
        ("ok", "04:00:00"),
        ("offline", "05:00:20"),
        ("ok", "05:30:00"),
        ("degraded", "07:15:00"),
        ("ok", "07:15:10"),
        ("offline", "00:00:20"),
    ]
    stored = db.execute("SELECT count(*) FROM health_changes").fetchone()[0]
    assert stored == 6  # a day of 8,460 reports is six rows of changes


def test_points_are_minutes_inside_the_minute_window_and_hours_before(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    keeper = HistoryKeeper()
    _store_day(db, keeper)
    end = DAY + timedelta(days=1)
    trim(db, end, keeper.retention, 10_000)  # minute rows older than 6 h go
    points = load_points(db, ROOM, DAY + timedelta(hours=12), end)
    spans = [int(p.span.total_seconds() // 60) for p in points]
    assert spans == [60] * 6 + [1] * 360  # 12:00-18:00 by hour, 18:00-24:00 by minute
    assert points[6].start == DAY.replace(hour=18)


def _changes_at(db: sqlite_utils.Database, times: list[datetime]) -> None:
    db.conn.executemany(
        "INSERT INTO health_changes (endpoint, at, state, reasons, codes, interval) "
        "VALUES (?, ?, 'ok', '[]', '[]', 10)",
        [(ROOM, to_ms(t)) for t in times],
    )


def test_trimming_keeps_each_window_to_its_edge(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    now = DAY + timedelta(hours=9, minutes=30)
    retention = Retention(timedelta(days=30), timedelta(hours=6), timedelta(days=400))
    edge = now - retention.changes
    _changes_at(db, [edge - timedelta(milliseconds=1), edge, edge + timedelta(minutes=1)])
    for grid, window in ((MINUTES, retention.minutes), (HOURS, retention.hourly)):
        first_kept, _ = grid.place(now - window)
        table = "health_minutes" if grid is MINUTES else "health_hours"
        db.conn.executemany(
            f"INSERT INTO {table} (number, endpoint, cells) VALUES (?, ?, ?)",
            [
                (n, ROOM, grid.pack(grid.empty()))
                for n in (first_kept - 1, first_kept, first_kept + 1)
            ],
        )
    trim(db, now, retention, 500)
    kept = [r[0] for r in db.execute("SELECT at FROM health_changes ORDER BY id").fetchall()]
    assert kept == [to_ms(edge), to_ms(edge + timedelta(minutes=1))]
    minutes = [r[0] for r in db.execute("SELECT number FROM health_minutes").fetchall()]
    hours = [r[0] for r in db.execute("SELECT number FROM health_hours").fetchall()]
    first_minute_row, _ = MINUTES.place(now - retention.minutes)  # the row holding 03:30
    assert minutes == [first_minute_row, first_minute_row + 1]
    assert MINUTES.row_start(first_minute_row) == DAY.replace(hour=3)
    first_day, _ = HOURS.place(now - retention.hourly)
    assert hours == [first_day, first_day + 1]


def test_trimming_is_bounded_and_the_writer_comes_back_for_the_rest(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    old = DAY - timedelta(days=40)
    _changes_at(db, [old + timedelta(seconds=s) for s in range(1200)])
    keeper = HistoryKeeper(trim_rows=500)
    report = _report(DAY)
    save_health(db, [StoredHealth(report, 1, DAY, 10.0)], keeper)
    assert db.execute("SELECT count(*) FROM health_changes").fetchone()[0] == 1200 - 500 + 1
    assert keeper.more_to_trim
    later = _report(DAY + TEN)  # the next batch, seconds later: the trim goes on at once
    save_health(db, [StoredHealth(later, 2, DAY + TEN, 10.0)], keeper)
    save_health(db, [StoredHealth(_report(DAY + 2 * TEN), 3, DAY + 2 * TEN, 10.0)], keeper)
    assert db.execute("SELECT count(*) FROM health_changes").fetchone()[0] == 1
    assert not keeper.more_to_trim


def test_m017_moves_old_report_rows_into_changes_and_cells(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "old.db")
    MIGRATIONS.apply(db, stop_before="m017_health_history_by_time")
    reports = [
        _report(DAY + TEN * n, {"camera": n < 30 or n >= 60, "audio": True}) for n in range(90)
    ]
    reports += [_report(DAY + timedelta(hours=1) + TEN * n) for n in range(6)]  # after silence
    rows = [
        (
            ROOM,
            n,
            to_db_ms(h.last_report_at),  # type: ignore[arg-type]
            to_db_ms(h.last_report_at),  # type: ignore[arg-type]
            10.0,
            h.state.value,
            json.dumps(h.reasons, ensure_ascii=False),
            json.dumps(h.codes),
            "{}",
            json.dumps(h.measurements),
        )
        for n, h in enumerate(reports, 1)
    ]
    db.conn.executemany(
        "INSERT INTO health_history (endpoint, seq, report_time, received_at, interval, state, "
        "reasons, codes, checks, measurements) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    MIGRATIONS.apply(db)
    assert "health_history" not in db.table_names()
    until = DAY + timedelta(hours=1, minutes=1)
    last = reports[-1]
    replayed = replay(
        load_changes(db, ROOM, DAY),
        Heard(last.last_report_at, last.state, TEN),  # type: ignore[arg-type]
        until,
    )
    assert replayed == state_changes([(h, TEN) for h in reports], until)
    assert [c.state.value for c in replayed] == ["ok", "down", "ok", "offline", "ok"]
    assert replayed[1].reasons == ("camera missing",)
    hours = load_cells(db, ROOM, HOURS, DAY, DAY + timedelta(hours=2))
    assert [(c.reports, c.ok) for c in hours] == [(90, 60), (6, 6)]
    assert sum(c.reports for c in load_cells(db, ROOM, MINUTES, DAY, until)) == 96
