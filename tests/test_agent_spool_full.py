"""An agent never dies quietly: a spool disk that fills (the kernel's own ENOSPC, from
/dev/full) keeps live reporting going and says so; drops at the bound are logged and counted;
an unrecoverable failure exits non-zero so the service manager restarts the agent."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confsched_agent import main as agent_main
from confsched_agent.agent import Agent
from confsched_agent.spool import DiskSpool

from confsched.domain.model import EndpointState
from confsched.runtime.components import Components
from tests.test_agentlink import ENDPOINT, Room, enrolled, eventually

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")


def fill_disk(spool_dir: Path, seqs: range) -> None:
    """Make the next reports' files land on /dev/full: every write fails with ENOSPC."""
    for seq in seqs:
        (spool_dir / f"{seq:016d}.tmp").symlink_to("/dev/full")


def test_a_full_disk_keeps_reports_in_memory_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = DiskSpool(tmp_path / "spool")
    fill_disk(tmp_path / "spool", range(1, 4))
    with caplog.at_level(logging.WARNING, "confsched.agent"):
        for seq in (1, 2, 3):
            spool.append(seq, f"report {seq}\n".encode())
    assert spool.failure == "disk full"
    assert [line for _, line in spool.pending(0, 10)] == [
        b"report 1\n",
        b"report 2\n",
        b"report 3\n",
    ]
    assert caplog.text.count("disk full") == 1  # once per condition, not per report
    spool.append(4, b"report 4\n")
    assert spool.failure == "" and "writing again" in caplog.text
    assert spool.acknowledge(4) == 4 and len(spool) == 0


def test_drops_at_the_bound_are_logged_once_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = DiskSpool(tmp_path / "spool", limit=2)
    with caplog.at_level(logging.WARNING, "confsched.agent"):
        for seq in range(1, 6):
            spool.append(seq, b"r\n")
    assert spool.dropped == 3
    assert caplog.text.count("spool full at 2 reports") == 1


async def test_agent_with_a_full_spool_disk_keeps_reporting_and_says_so(
    server: Components, tmp_path: Path
) -> None:
    import asyncssh
    from confsched_agent.link import Link

    config = await enrolled(server, ENDPOINT)
    spool = DiskSpool(tmp_path / "spool")
    fill_disk(tmp_path / "spool", range(1, 50))
    agent = Agent(config.endpoint, [Room()], spool, interval=1.0)
    key = asyncssh.read_private_key(config.key)
    link = Link(
        config.endpoint, config.scheduler_address, key, config.host_key, spool, agent.handle
    )
    agent.on_report = link.wake
    tasks = [asyncio.create_task(agent.run()), asyncio.create_task(link.run())]
    board = server.board
    try:
        await eventually(lambda: board.reports_accepted >= 2, timeout=10)
        health = board.health(ENDPOINT, datetime.now(UTC))
        assert health.state is EndpointState.DEGRADED
        assert health.reasons == ("spool: disk full",)
        assert health.measurements["spool_dropped"] == 0.0
        await eventually(lambda: len(spool) == 0)  # acknowledged from memory
    finally:
        link.stop()
        tasks[0].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_an_agent_whose_reporting_dies_exits_non_zero(
    server: Components, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = await enrolled(server, ENDPOINT)

    async def broken(self: Agent) -> None:
        raise RuntimeError("probe machinery broke")

    monkeypatch.setattr(Agent, "run", broken)
    with caplog.at_level(logging.CRITICAL, "confsched.agent"):
        code = await asyncio.wait_for(agent_main.run(config), 10)
    assert code == 1
    assert "reports stopped: RuntimeError('probe machinery broke'); exiting" in caplog.text
