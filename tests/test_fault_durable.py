"""Acknowledged means durable: every connection the scheduler and the CLI write through commits
with ``synchronous=FULL`` (WAL fsynced at each COMMIT), so an ack or a 201 survives a power cut;
the agent's own acked marker is written with fsync too (``confsched_agent.spool``)."""

from __future__ import annotations

from pathlib import Path

from confsched.store.db import open_db
from confsched.store.runner import StoreRunner

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def _synchronous(db) -> int:  # type: ignore[no-untyped-def]
    return int(db.execute("PRAGMA synchronous").fetchone()[0])


def test_the_cli_store_commits_with_synchronous_full(data_dir: Path) -> None:
    db = open_db(data_dir)
    try:
        assert _synchronous(db) == FULL
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


async def test_the_servers_writer_and_reader_commit_with_synchronous_full(data_dir: Path) -> None:
    runner = StoreRunner(data_dir)
    try:
        assert await runner.write(_synchronous) == FULL
        assert await runner.read(_synchronous) == FULL
    finally:
        runner.close()
