"""Enrolment that works first time: the client process from the fleet file, and a bundle whose
files alone start a real agent process that connects to a real scheduler on loopback."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from confsched_agent.config import load

from confsched.agentlink.bundle import SYSTEMD_UNIT
from confsched.runtime.components import Components
from tests.conftest import ROOT, SAMPLE
from tests.test_agentlink import ENDPOINT, eventually

ROOM_LINE = '  - {id: dhy-hoa-thuong, name: "Phòng họp UBND xã Hóa Thượng"'


def fleet_with_clients(tmp_path: Path, header: str, room: str = "", codec: str = "") -> Path:
    """The sample, with ``client:`` lines added to the header, one PC room and one codec."""
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("  report_interval: 10s\n", f"  report_interval: 10s\n{header}", 1)
    if room:
        text = text.replace(ROOM_LINE, ROOM_LINE.replace("{id:", f"{{{room}, id:"), 1)
    if codec:
        text = text.replace(
            '  - {id: tinh-uy, name: "Phòng', f'  - {{{codec}, id: tinh-uy, name: "Phòng', 1
        )
    path = tmp_path / "fleet.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_enroll_fills_the_client_process_fleet_wide_or_per_room(cli, tmp_path: Path) -> None:
    fleet = fleet_with_clients(
        tmp_path, "  client: {process: vcclient}\n", room="client: {process: Zoom.exe}"
    )
    assert cli("rooms", "import", str(fleet)).code == 0
    assert 'client_process = "Zoom.exe"' in cli("agents", "enroll", ENDPOINT).out
    assert 'client_process = "vcclient"' in cli("agents", "enroll", "dhy-cay-thi").out
    assert 'client_process = ""' in cli("agents", "enroll", "tinh-uy").out  # a codec runs none


def test_a_bad_client_is_refused_where_it_stands(cli, tmp_path: Path) -> None:
    fleet = fleet_with_clients(
        tmp_path,
        "  client: {process: 'C:/Program Files/Zoom/Zoom.exe'}\n",
        codec="client: {process: vcclient}",
    )
    result = cli("rooms", "import", str(fleet))
    assert result.code != 0
    lines = result.err.strip().splitlines()
    wanted = ":9: client process 'C:/Program Files/Zoom/Zoom.exe' must be a program name"
    assert any(wanted in line and "no path" in line for line in lines), result.err
    assert any("client: is only for endpoints of kind pc" in line for line in lines)
    assert 'client_process = ""' in cli("agents", "enroll", ENDPOINT).out  # nothing stored


def test_the_bundle_holds_config_key_host_key_unit_and_steps(cli, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    result = cli(
        "agents", "enroll", ENDPOINT, "--scheduler", "10.0.0.1:8022", "--bundle", str(bundle)
    )
    assert result.code == 0, result.err
    names = sorted(p.name for p in bundle.iterdir())
    assert names == sorted([
        "agent.toml", f"{ENDPOINT}.key", "scheduler-host-key.pub", "confsched-agent.service",
        "INSTALL.txt",
    ])  # fmt: skip
    assert (bundle / f"{ENDPOINT}.key").stat().st_mode & 0o777 == 0o600
    config = load(bundle / "agent.toml", {})
    assert config.key == bundle / f"{ENDPOINT}.key" and config.scheduler == "10.0.0.1:8022"
    assert config.host_key == (bundle / "scheduler-host-key.pub").read_text().strip()
    assert config.bridge == "mcu2.vc.thainguyen.gov.vn:5060"
    steps = (bundle / "INSTALL.txt").read_text(encoding="utf-8")
    assert f"confsched agent for {ENDPOINT}" in steps
    assert "systemctl enable --now confsched-agent" in steps and "nssm install" in steps
    assert (bundle / "confsched-agent.service").read_text() == SYSTEMD_UNIT


def test_the_deploy_unit_is_the_bundles() -> None:
    unit = ROOT / "deploy" / "systemd" / "confsched-agent.service"
    assert unit.read_text(encoding="utf-8") == SYSTEMD_UNIT


def test_both_at_once_is_a_usage_error(cli, tmp_path: Path) -> None:
    result = cli("agents", "enroll", ENDPOINT, "--out", str(tmp_path / "a.toml"),
                 "--bundle", str(tmp_path / "b"))  # fmt: skip
    assert result.code == 2 and "not both" in result.err


async def test_an_agent_started_from_the_bundle_connects_and_reports(
    server: Components, cli, tmp_path: Path
) -> None:
    bundle = tmp_path / "copied-to-the-room-pc"
    scheduler = f"127.0.0.1:{server.ssh_port}"
    result = await asyncio.to_thread(
        cli, "agents", "enroll", ENDPOINT, "--scheduler", scheduler, "--bundle", str(bundle)
    )
    assert result.code == 0, result.err
    agent = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "confsched_agent.main", "--config", str(bundle / "agent.toml"),
        "--bridge", scheduler,  # the bundle's bridge does not resolve here: measure to loopback
        stderr=asyncio.subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    try:
        await eventually(lambda: server.board.reports_accepted >= 1, timeout=30)
    finally:
        agent.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(agent.communicate(), 30)
    assert agent.returncode == 0, err.decode()
    assert f"{ENDPOINT}: connected to {scheduler}" in err.decode()
    assert (bundle / "spool").is_dir()  # the bundle's relative spool, beside its config
    health = server.board.health(ENDPOINT, datetime.now(UTC))
    assert health.last_report_at is not None and "host" in health.checks  # real probes ran
