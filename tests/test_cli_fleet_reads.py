"""Read-only commands that are about a few rooms do not load the whole fleet (issue 17).

At 10,000 rooms, reading every room cost each CLI command about 0.28 s before it did anything.
The guard here is the store work a command does, counted in SQLite virtual-machine steps (the
same for the same data on every machine, whatever the load): the same command on a fleet ten
times larger (every room with a stored report) must do about the same work. ``rooms list``
reads every room by design, and shows the count would catch it. The imports are checked in a
fresh interpreter: no read command may bring in the fleet file's parser (PyYAML), the web,
SSH, calendar or metrics libraries, nor asyncio.
``bench/national.py`` measures the times.
"""

from __future__ import annotations

import gc
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from confsched.cli import main
from confsched.domain.booking import BookingRequest
from confsched.domain.model import EndpointHealth, EndpointState
from confsched.services import booking as svc
from confsched.services.inventory import import_fleet, require_fleet
from confsched.store.db import open_db
from confsched.store.health import StoredHealth, save_health
from confsched.store.health_history import HistoryKeeper

SMALL, LARGE = 200, 2000
STEP = 100
"""The progress handler runs every STEP virtual-machine instructions."""
START = datetime(2031, 3, 3, 1, 0, tzinfo=UTC)  # a Monday, 08:00 in Hà Nội
HEAVY = ("yaml", "aiohttp", "asyncssh", "icalendar", "prometheus_client", "textual")


def fleet_yaml(rooms: int) -> str:
    """A province of ``rooms`` rooms in 20 communes, on one bridge per 200 rooms."""
    bridges = (rooms + 199) // 200
    lines = [
        "fleet: {name: Tỉnh Thử, timezone: Asia/Ho_Chi_Minh, report_interval: 10s, "
        "levels: [province, commune]}",
        "bridges:",
        *(
            f"  - {{id: mcu-{b}, name: MCU {b}, ports: 300, dial_in: 'sip:hop@mcu{b}.example'}}"
            for b in range(bridges)
        ),
        "agencies:",
        "  - {id: ubnd, name: Ủy ban nhân dân}",
        "sites:",
        "  - {id: tinh, name: Tỉnh Thử, level: province}",
        *(f"  - {{id: x-{c}, name: Xã {c}, level: commune, parent: tinh}}" for c in range(20)),
        "endpoints:",
        *(
            f"  - {{id: r-{i}, name: Phòng {i}, site: x-{i % 20}, agency: ubnd, kind: pc, "
            f"bridge: mcu-{i // 200}}}"
            for i in range(rooms)
        ),
    ]
    return "\n".join(lines) + "\n"


def make_store(directory: Path, rooms: int) -> str:
    """A store of ``rooms`` rooms, each with a stored report, and a week of five sessions of 20
    rooms; one session's id."""
    (directory / "fleet.yaml").write_text(fleet_yaml(rooms), encoding="utf-8")
    db = open_db(directory / "data")
    import_fleet(db, directory / "fleet.yaml")
    fleet = require_fleet(db)
    ids = []
    for day in range(5):
        start = START + timedelta(days=day)
        rooms_of_day = tuple(f"r-{day * 20 + i}" for i in range(20))
        request = BookingRequest("Giao ban xã", rooms_of_day, start, start + timedelta(hours=1))
        ids.append(svc.book(db, fleet, request, now=START - timedelta(days=1)).id)
    now = datetime.now(UTC)
    reports = [
        StoredHealth(
            EndpointHealth(e, EndpointState.OK, last_report_at=now, checks={"camera": True}),
            1,
            now,
            10.0,
        )
        for e in fleet.endpoints
    ]
    save_health(db, reports, HistoryKeeper())
    db.close()
    return ids[0]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Path, str]]:
    made = {}
    for rooms in (SMALL, LARGE):
        directory = tmp_path_factory.mktemp(f"fleet-{rooms}")
        made[rooms] = (directory / "data", make_store(directory, rooms))
    return made


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[list[str]], int]]:
    """Runs a CLI command in this process; returns the SQLite steps (in STEPs) it took."""
    steps = [0]
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real(*args, **kwargs)
        conn.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1), STEP)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)

    def run(argv: list[str]) -> int:
        steps[0] = 0
        main(argv)
        return steps[0]

    yield run


def commands(session_id: str) -> dict[str, list[str]]:
    return {
        "rooms show": ["rooms", "show", "r-5", "--json"],
        "sessions list": ["sessions", "list", "--from", "2031-03-03", "--to", "2031-03-10"],
        "sessions list --json": ["sessions", "list", "--from", "2031-03-03", "--json"],
        "sessions show": ["sessions", "show", session_id],
    }


@pytest.mark.parametrize("name", list(commands("x")))
def test_a_read_about_a_few_rooms_does_not_grow_with_the_fleet(
    name: str,
    stores: dict[int, tuple[Path, str]],
    counted: Callable[[list[str]], int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = {}
    for rooms, (data, session_id) in stores.items():
        work[rooms] = counted(["--data", str(data), *commands(session_id)[name]])
        shown = capsys.readouterr().out
        assert "Phòng 5" in shown or "Giao ban xã" in shown
    assert work[SMALL] > 0
    assert work[LARGE] < 1.5 * work[SMALL], f"{name}: {work} steps of {STEP} (10× the rooms)"


def test_the_count_sees_a_command_that_reads_every_room(
    stores: dict[int, tuple[Path, str]],
    counted: Callable[[list[str]], int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``rooms list`` reads every room by design: the measure above would catch a read that
    loads the fleet again."""
    work = {
        rooms: counted(["--data", str(data), "rooms", "list"])
        for rooms, (data, _) in stores.items()
    }
    assert f"{LARGE} endpoints" in capsys.readouterr().out
    assert work[LARGE] > 5 * work[SMALL], work


READS = {
    "rooms list": ["rooms", "list"],
    "rooms show": ["rooms", "show", "r-5"],
    "health": ["health"],
    "sessions risk": ["sessions", "risk", "--all"],
    "sessions list": ["sessions", "list", "--from", "2031-03-03", "--to", "2031-03-10"],
    "sessions show": ["sessions", "show", "{session}"],
    "slots": ["slots", "--with", "r-1,r-2", "--duration", "1h", "--from", "2031-03-03"],
    "feeds list": ["feeds", "list"],
    "agents list": ["agents", "list"],
    "tokens list": ["tokens", "list"],
}
"""The read commands ``bench/national.py`` times."""
UNNEEDED = (*HEAVY, "asyncio")
"""What no read command needs: the fleet file's parser, the web, SSH, calendar, metrics and
console libraries, and the event loop (``health`` once imported asyncio with the health
writer, ``feeds list`` icalendar with the feed builder: 15-40 ms each at every run)."""


@pytest.mark.parametrize("name", list(READS))
def test_a_read_command_imports_no_parser_event_loop_nor_network_library(
    name: str, stores: dict[int, tuple[Path, str]]
) -> None:
    data, session_id = stores[SMALL]
    probe = (
        "import json, sys\n"
        "from confsched.cli import main\n"
        "main(sys.argv[1:])\n"
        f"print(json.dumps([m for m in {UNNEEDED!r} if m in sys.modules]), file=sys.stderr)\n"
    )
    argv = [a.format(session=session_id) for a in READS[name]]
    done = subprocess.run(
        [sys.executable, "-c", probe, "--data", str(data), *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), name
    assert json.loads(done.stderr.strip().splitlines()[-1]) == [], name


def test_a_one_shot_command_runs_without_the_cyclic_collector_and_restores_it(
    stores: dict[int, tuple[Path, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A read is over before a cycle it leaves could matter; ``serve`` and the other commands
    that run until stopped keep the collector."""
    import confsched.cli.rooms

    data, _ = stores[SMALL]
    seen = []
    real_table = confsched.cli.rooms.table

    def table(*args: Any) -> str:
        seen.append(gc.isenabled())
        return real_table(*args)

    monkeypatch.setattr(confsched.cli.rooms, "table", table)
    assert gc.isenabled()
    main(["--data", str(data), "rooms", "list"])
    assert seen == [False] and gc.isenabled()
    assert f"{SMALL} endpoints" in capsys.readouterr().out
    disabled = []
    monkeypatch.setattr(gc, "disable", lambda: disabled.append(True))
    for resident in ("serve", "demo", "simulate", "tui"):
        main([resident, "--help"])
    assert "Usage: confsched tui" in capsys.readouterr().out
    assert disabled == []
    main(["--data", str(data), "rooms", "list"])
    assert disabled == [True]  # the stand-in is seen


def test_feeds_list_takes_no_write_lock_once_every_feed_has_its_token(
    stores: dict[int, tuple[Path, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The first listing issues the tokens; the next ones only read, so they answer while
    another process holds the store's write lock (they used to wait for it, then fail)."""
    data, _ = stores[SMALL]
    main(["--data", str(data), "feeds", "list"])
    first = capsys.readouterr().out
    writer = sqlite3.connect(data / "confsched.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        main(["--data", str(data), "feeds", "list"])
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert capsys.readouterr().out == first
    assert f"{SMALL + 1} feeds" in first  # one agency, every room


def test_the_process_own_command_leaves_its_objects_out_of_the_last_collection() -> None:
    """``confsched`` (main without argv) freezes what is left for the exit's collection to
    skip; main called with argv, as tests and other callers do, leaves the collector alone."""
    probe = (
        "import atexit, gc, os, sys\n"
        "from confsched.cli import main\n"
        "atexit.register(lambda: os.write(2, f'frozen {gc.get_freeze_count()}'.encode()))\n"
        "how, sys.argv[1:] = sys.argv[1], sys.argv[2:]\n"
        "main(None if how == 'own' else sys.argv[1:])\n"
    )
    counts = {}
    for how in ("own", "given"):
        done = subprocess.run(
            [sys.executable, "-c", probe, how, "--version"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "confsched, version" in done.stdout
        counts[how] = int(done.stderr.rsplit("frozen ", 1)[1])
    assert counts["own"] > 1000 and counts["given"] == 0, counts
