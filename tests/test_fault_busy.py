"""Busy store, clear answer: while another process holds the write lock, a booking waits the
busy timeout, then fails with one line (CLI, exit 1) or a JSON 503 (API); nothing is stored."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp

from confsched.runtime.components import Components
from confsched.store.db import BUSY_TIMEOUT_MS, DB_NAME
from tests.conftest import http_url
from tests.test_api_booking import MONDAY, province

HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(60)
"""


@contextmanager
def write_lock_held(data_dir: Path) -> Iterator[None]:
    """Another process holds the store's write lock (an open BEGIN IMMEDIATE)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir / DB_NAME)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    with proc, proc.stdout:
        try:
            assert proc.stdout.readline().strip() == "locked"
            yield
        finally:
            proc.kill()


def test_cli_booking_on_a_busy_store_is_one_line_and_exit_1(cli, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    with write_lock_held(data_dir):
        started = time.monotonic()
        result = cli(
            "book", "Họp", "--start", f"{MONDAY} 08:00", "--duration", "1h", "--with", "tinh-uy"
        )
        waited = time.monotonic() - started
    assert result.code == 1, result.err
    assert result.err.startswith("error: the store is busy"), result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err
    assert BUSY_TIMEOUT_MS / 1000 - 0.5 <= waited < BUSY_TIMEOUT_MS / 1000 + 10
    assert cli("sessions", "list", "--status", "all", "--json").json() == []


async def test_api_booking_on_a_busy_store_is_a_json_503(server: Components) -> None:
    auth = {"Authorization": f"Bearer {server.ctx.operator_token}"}
    async with aiohttp.ClientSession() as http:
        with write_lock_held(server.ctx.settings.data_dir):
            async with http.post(
                http_url(server, "/api/v1/sessions"), json=province(), headers=auth
            ) as resp:
                status, kind = resp.status, resp.content_type
                body = await resp.json()
        assert status == 503 and kind == "application/json"
        assert body["reason"] == "busy" and body["error"].startswith("the store is busy")
        async with http.get(http_url(server, "/healthz")) as resp:
            assert resp.status == 200  # busy is a moment, not a fault of the store
        async with http.post(
            http_url(server, "/api/v1/sessions"), json=province(), headers=auth
        ) as resp:
            assert resp.status == 201  # the lock gone, the same booking is taken
    assert server.ctx.store.faults.failures["busy"] == 1
