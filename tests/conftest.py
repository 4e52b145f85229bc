"""Shared fixtures: the sample province parsed once, a data directory with it imported, and a
running scheduler on loopback (port 0 for HTTP and SSH).

The JSON API needs a token for every call, reads included. To call it as the operator:
``async with api_session(server) as http: …`` (an aiohttp session that sends the operator
token), the ``api_http`` fixture (the same, opened and closed for you), or
``headers=operator_auth(server)`` on one request. ``viewer_token(server)`` makes a read-only
token.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio
import sqlite_utils

from confsched.config import Settings
from confsched.domain.history import HOURS
from confsched.domain.model import Fleet
from confsched.fleetfile import load_fleet_file
from confsched.runtime.components import Components
from confsched.runtime.root import run_server
from confsched.services.inventory import import_fleet, require_fleet
from confsched.store.db import open_db
from confsched.store.health_history import load_cells

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_rooms.yaml"
TWO_TIER = ROOT / "examples" / "thai-nguyen-2025.yaml"
"""The merged province of 2025: province and 92 communes/wards, no districts, three bridges."""
SAMPLE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local(text: str) -> datetime:
    """A sample-province local time, ``2026-12-07 08:00``, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SAMPLE_TZ).astimezone(UTC)


def reports_kept(db: sqlite_utils.Database, endpoint: str, around: datetime | None = None) -> int:
    """How many of the room's reports its history counted (hour cells, two days around
    ``around``, default now): the store keeps no row per report, so "stored once" is a count."""
    now = around or datetime.now(UTC)
    cells = load_cells(db, endpoint, HOURS, now - timedelta(days=2), now + timedelta(days=2))
    return sum(cell.reports for cell in cells)


@pytest.fixture(scope="session")
def sample_fleet() -> Fleet:
    return load_fleet_file(SAMPLE)


@pytest.fixture(scope="session")
def two_tier_fleet() -> Fleet:
    return load_fleet_file(TWO_TIER)


@pytest.fixture(scope="session")
def _imported_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("template-data")
    db = open_db(directory)
    import_fleet(db, SAMPLE)
    db.close()
    return directory


@pytest.fixture
def data_dir(tmp_path: Path, _imported_template: Path) -> Path:
    """A fresh data directory holding the imported sample province (copied, not re-imported)."""
    target = tmp_path / "data"
    shutil.copytree(_imported_template, target)
    return target


@pytest.fixture
def db(data_dir: Path) -> Iterator[sqlite_utils.Database]:
    """An open connection to ``data_dir``'s store."""
    database = open_db(data_dir)
    yield database
    database.close()


@pytest.fixture
def fleet(db: sqlite_utils.Database) -> Fleet:
    return require_fleet(db)


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, http_port=0, ssh_port=0)


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Components]:
    """A real scheduler on loopback with these settings, stopped on leaving."""
    ready: asyncio.Future[Components] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_server(settings, ready=ready.set_result))
    done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises the start-up error
    try:
        yield ready.result()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest_asyncio.fixture
async def server(settings: Settings) -> AsyncIterator[Components]:
    """A real scheduler on loopback, as its components; ``http_port`` and ``ssh_port`` are bound."""
    async with running(settings) as components:
        yield components


def http_url(ctx: Components, path: str = "") -> str:
    return f"http://127.0.0.1:{ctx.http_port}{path}"


def operator_auth(ctx: Components) -> dict[str, str]:
    """The header that opens the API as the operator (reads and writes)."""
    return {"Authorization": f"Bearer {ctx.ctx.operator_token}"}


def api_session(ctx: Components) -> aiohttp.ClientSession:
    """An aiohttp session that sends the operator token with every request."""
    return aiohttp.ClientSession(headers=operator_auth(ctx))


@pytest_asyncio.fixture
async def api_http(server: Components) -> AsyncIterator[aiohttp.ClientSession]:
    """``api_session(server)``, opened for the test and closed after it."""
    async with api_session(server) as http:
        yield http


async def viewer_token(ctx: Components, name: str = "viewer") -> str:
    """A read-only token made as ``confsched tokens create --viewer`` would, already accepted
    by the running ``ctx`` (no wait for the change watcher)."""
    from confsched.domain.access import Role
    from confsched.store.tokens import create_token, live_digests

    token = await ctx.ctx.store.write(create_token, name, Role.VIEWER, datetime.now(UTC))
    ctx.ctx.api_tokens = await ctx.ctx.store.read(live_digests)
    return token


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> object:
        import json

        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], data_dir: Path):  # type: ignore[no-untyped-def]
    """Run ``confsched ARGS --data DATA_DIR`` in-process, through main()'s error handling."""
    from confsched.cli import main

    def run(*args: str, data: Path | None = data_dir) -> CliResult:
        argv = [*args, "--data", str(data)] if data is not None else list(args)
        capsys.readouterr()
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(autouse=True)
def _console_speaks_english_again() -> Iterator[None]:
    """A console started in Vietnamese leaves its language behind (one per process, as in
    gettext): each test starts from the console's source language, English."""
    yield
    from confsched_tui import i18n

    i18n.use("en")
