"""Health over HTTP and the agents CLI: enrol from the CLI, report over SSH, read the API."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

import asyncssh
from confsched_agent.agent import Agent
from confsched_agent.config import load
from confsched_agent.link import Link
from confsched_agent.spool import MemorySpool

from confsched.runtime.components import Components
from tests.conftest import api_session, http_url
from tests.test_agentlink import ENDPOINT, Room, eventually


async def test_agent_enrolled_with_the_cli_config_reports_and_the_api_shows_it(
    server: Components, cli, tmp_path: Path
) -> None:
    port = server.ssh_port
    out = tmp_path / "endpoint-pc" / "agent.toml"
    result = await asyncio.to_thread(
        cli, "agents", "enroll", ENDPOINT, "--scheduler", f"127.0.0.1:{port}", "--out", str(out)
    )
    assert result.code == 0, result.err
    assert (out.parent / f"{ENDPOINT}.key").stat().st_mode & 0o777 == 0o600
    config = load(out, {})
    spool = MemorySpool()
    agent = Agent(ENDPOINT, [Room(display=False)], spool, interval=1.0)
    key = asyncssh.read_private_key(config.key)
    link = Link(
        ENDPOINT,
        config.scheduler_address,
        key,
        config.host_key,
        spool,
        agent.handle,
        rng=random.Random(2),
    )
    agent.on_report = link.wake
    task = asyncio.create_task(link.run())
    try:
        await agent.report_once()
        await eventually(lambda: server.board.reports_accepted == 1)
        async with api_session(server) as http:
            async with http.get(http_url(server, "/api/v1/health")) as resp:
                fleet = await resp.json()
            async with http.get(http_url(server, f"/api/v1/endpoints/{ENDPOINT}/health")) as resp:
                one = await resp.json()
            async with http.get(http_url(server, "/api/v1/endpoints/atlantis/health")) as resp:
                assert resp.status == 404
    finally:
        link.stop()
        await task
    assert fleet["counts"]["down"] == 1
    assert fleet["counts"]["unknown"] == len(server.ctx.fleet.endpoints) - 1
    mine = next(e for e in fleet["endpoints"] if e["endpoint"] == ENDPOINT)
    assert mine["reasons"] == ["display disconnected"] and mine["connected"] is True
    assert one["state"] == "down" and len(one["history"]) == 1
    assert one["history"][0]["state"] == "down" and one["history"][0]["reports"] == 1
    assert one["history"][0]["minutes"] == 1 and one["history"][0]["at"]
    assert [(c["state"], c["reasons"]) for c in one["changes"]] == [
        ("down", ["display disconnected"])
    ]


def test_enroll_prints_a_config_with_the_pinned_host_key(cli, data_dir: Path) -> None:
    result = cli("agents", "enroll", "tinh-uy")
    assert result.code == 0, result.err
    assert 'endpoint = "tinh-uy"' in result.out
    host_pub = (data_dir / "ssh_host_ed25519_key").read_bytes()
    assert (data_dir / "ssh_host_ed25519_key").stat().st_mode & 0o777 == 0o600
    key = asyncssh.import_private_key(host_pub)
    assert key.export_public_key().decode().split()[1] in result.out


def test_revoke_and_list_show_the_key_state(cli) -> None:
    assert cli("agents", "enroll", "tinh-uy").code == 0
    assert "revoked" in cli("agents", "revoke", "tinh-uy").out
    assert "no active key" in cli("agents", "revoke", "tinh-uy").out
    listed = cli("agents", "list", "--json").json()
    assert listed[0]["endpoint"] == "tinh-uy" and listed[0]["status"] == "revoked"


def test_enroll_unknown_endpoint_is_one_clear_line(cli) -> None:
    result = cli("agents", "enroll", "atlantis")
    assert result.code == 1
    assert result.err.strip() == "error: unknown endpoint 'atlantis'"


def test_revoke_records_the_time(cli, data_dir: Path) -> None:
    from confsched.store.db import open_db
    from confsched.store.health import key_status

    cli("agents", "enroll", "tinh-uy")
    cli("agents", "revoke", "tinh-uy")
    status = key_status(open_db(data_dir), "tinh-uy")
    assert status is not None and status.revoked_at is not None
    assert status.revoked_at <= datetime.now(UTC)


def test_enroll_fills_the_home_bridge_for_the_network_probe(cli) -> None:
    result = cli("agents", "enroll", "dhy-hoa-thuong")
    assert result.code == 0, result.err
    assert 'bridge = "mcu2.vc.thainguyen.gov.vn:5060"' in result.out
