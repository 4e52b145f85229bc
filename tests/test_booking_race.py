"""Two processes booking the same rooms at the same instant: exactly one wins.

Each child holds its transaction open a moment between the conflict check and the insert, so
without ``BEGIN IMMEDIATE`` both checks would pass and both would store: the test would fail.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import sys, time
from datetime import UTC, datetime
from confsched.errors import BookingRefused
from confsched.services import booking as svc
from confsched.services.inventory import require_fleet
from confsched.store import booking as store
from confsched.store.db import open_db

data, go_at, title, rooms = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
db = open_db(data, migrate=False)
fleet = require_fleet(db)
insert = store.insert_session

def slow_insert(db, session):  # widen the window between check and insert
    time.sleep(0.3)
    insert(db, session)

store.insert_session = slow_insert
request = svc.parse_request(fleet, title=title, with_=rooms, start="2026-12-07 08:00",
                            duration="2h")
time.sleep(max(0.0, go_at - time.time()))
try:
    session = svc.book(db, fleet, request, now=datetime(2026, 11, 30, tzinfo=UTC))
    print("won", session.id)
except BookingRefused as refused:
    print("lost", len(refused.conflicts))
"""


def race(data_dir: Path, rooms: tuple[str, str]) -> list[str]:
    go_at = time.time() + 1.5  # both children have imported by then
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(data_dir), str(go_at), f"Phiên {i}", room],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, room in enumerate(rooms)
    ]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        outputs.append(out.split()[0])
    return sorted(outputs)


def test_two_processes_booking_the_same_rooms_at_once_exactly_one_wins(data_dir: Path) -> None:
    assert race(data_dir, ("district:h-dai-tu", "h-dai-tu,tinh-uy")) == ["lost", "won"]
    import sqlite3

    with sqlite3.connect(data_dir / "confsched.db") as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
        doubled = conn.execute(
            "SELECT endpoint FROM busy GROUP BY endpoint HAVING count(*) > 1"
        ).fetchall()
    assert doubled == []
