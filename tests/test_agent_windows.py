"""Windows device probes: the pure parsers on PowerShell outputs captured in the shapes
ConvertTo-Json gives (array, bare object, nothing), and the probe with an injected runner."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from confsched_agent.config import AgentConfig
from confsched_agent.probes.client import ClientProbe
from confsched_agent.probes.defaults import build
from confsched_agent.probes.host import HostProbe
from confsched_agent.probes.network import BridgeProbe
from confsched_agent.probes.room import AudioProbe, CameraProbe, DisplayProbe
from confsched_agent.probes.windows import (
    SCRIPT,
    SEPARATOR,
    OutputError,
    WindowsDevicesProbe,
    json_objects,
    parse_monitors,
    parse_pnp,
    split_output,
)
from confsched_agent.wire import Check

FIXTURES = Path(__file__).parent / "fixtures" / "windows"


def captured(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8")


def runner(stdout: str, code: int = 0, stderr: str = ""):  # a test double that records its scripts
    calls: list[str] = []

    async def run(script: str) -> tuple[int, str, str]:
        calls.append(script)
        return code, stdout, stderr

    run.calls = calls  # type: ignore[attr-defined]
    return run


async def probe(name: str) -> dict[str, Check]:
    return (await WindowsDevicesProbe(runner(captured(name))).run()).checks


def test_convertto_json_shapes_all_become_lists() -> None:
    assert json_objects("") == [] and json_objects("\r\n") == []
    assert json_objects('{"Active":true}') == [{"Active": True}]
    assert json_objects('[{"Active":true},{"Active":false}]') == [
        {"Active": True},
        {"Active": False},
    ]
    with pytest.raises(OutputError):
        json_objects("Get-PnpDevice : The term 'Get-PnpDevice' is not recognized")
    with pytest.raises(OutputError):
        json_objects("[1, 2]")


async def test_a_working_room_passes_every_device_check() -> None:
    found = await WindowsDevicesProbe(runner(captured("room-ok.txt"))).run()
    assert found.checks == {"camera": Check(True), "audio": Check(True), "display": Check(True)}
    assert found.measurements == {
        "cameras": 1.0,
        "audio_capture": 1.0,
        "audio_playback": 1.0,
        "displays": 2.0,
    }


def test_instance_ids_are_unescaped_and_capture_told_from_render() -> None:
    pnp, monitors = split_output(captured("room-ok.txt"))
    devices = parse_pnp(pnp)
    assert devices[0].instance == "USB\\VID_046D&PID_0825&MI_00\\6&2A5B8F3C&0&0000"
    kinds = ["Camera", "AudioEndpoint", "AudioEndpoint", "Monitor", "Monitor"]
    assert [d.cls for d in devices] == kinds
    assert parse_monitors(monitors) == [True, True]


async def test_an_unplugged_camera_is_missing() -> None:
    checks = await probe("camera-unplugged.txt")
    assert checks["camera"] == Check(False, "no camera device")
    assert checks["audio"].ok and checks["display"].ok  # a bare object for the one monitor


async def test_a_disabled_camera_says_so() -> None:
    checks = await probe("camera-disabled.txt")
    assert checks["camera"] == Check(False, "Logitech HD Webcam C270: Error (disabled)")


async def test_a_microphone_in_unknown_state_fails_audio_in_vietnamese() -> None:
    checks = await probe("microphone-unknown-vi.txt")  # UTF-8 with a BOM, as the console writes
    assert checks["audio"] == Check(
        False,
        "no microphone (Micrô (Thiết bị âm thanh USB): Unknown (not present or not working))",
    )
    assert checks["camera"].ok is True


async def test_a_monitor_present_but_inactive_is_off() -> None:
    checks = await probe("display-off.txt")
    assert checks["display"] == Check(False, "display off (no monitor active)")


async def test_a_single_object_and_no_wmi_answer() -> None:
    found = await WindowsDevicesProbe(runner(captured("single-device-no-wmi.txt"))).run()
    assert found.checks["display"] == Check(True)  # no WMI answer: PnP alone decides
    assert found.checks["camera"] == Check(False, "no camera device")
    assert found.checks["audio"] == Check(False, "no speaker and no microphone")


async def test_empty_output_means_no_devices() -> None:
    checks = await probe("empty.txt")
    assert checks == {
        "camera": Check(False, "no camera device"),
        "audio": Check(False, "no speaker and no microphone"),
        "display": Check(False, "no display device"),
    }


@pytest.mark.parametrize(
    ("stdout", "code", "stderr", "detail"),
    [
        ("", 1, "\r\nProgram 'powershell.exe' is blocked by group policy.\r\n",
         "PowerShell exited 1: Program 'powershell.exe' is blocked by group policy."),
        ("[{\"Class\":\"Camera\"", 0, "", "PowerShell output unreadable: the script's output is "
         "cut short"),
        (f"garbage\r\n{SEPARATOR}\r\n", 0, "", "PowerShell output unreadable: not JSON: 'garbage'"),
    ],
)  # fmt: skip
async def test_a_failed_run_leaves_the_checks_unknown_with_why(
    stdout: str, code: int, stderr: str, detail: str
) -> None:
    checks = (await WindowsDevicesProbe(runner(stdout, code, stderr)).run()).checks
    assert checks == {name: Check(None, detail) for name in ("camera", "audio", "display")}


async def test_powershell_missing_is_unknown_not_a_crash() -> None:
    async def missing(script: str) -> tuple[int, str, str]:
        raise FileNotFoundError(2, "No such file or directory")

    checks = (await WindowsDevicesProbe(missing).run()).checks
    assert checks["camera"] == Check(None, "PowerShell did not start: No such file or directory")


async def test_one_run_serves_the_wanted_checks_only() -> None:
    run = runner(captured("room-ok.txt"))
    found = await WindowsDevicesProbe(run, keep=frozenset({"camera"})).run()
    assert list(found.checks) == ["camera"] and run.calls == [SCRIPT]
    assert "Get-PnpDevice -Class Camera,Image,AudioEndpoint,Monitor -PresentOnly" in SCRIPT


def test_probes_are_chosen_by_platform(tmp_path: Path) -> None:
    config = AgentConfig(
        "tn-pc-01", host_key="ssh-ed25519 AAAA", spool=tmp_path, client_process="Zoom.exe",
        bridge="127.0.0.1:5060",
    )  # fmt: skip
    windows = [type(p) for p in build(config, "win32")]
    assert windows == [HostProbe, WindowsDevicesProbe, ClientProbe, BridgeProbe]
    linux = [type(p) for p in build(config, "linux")]
    assert linux == [HostProbe, CameraProbe, AudioProbe, DisplayProbe, ClientProbe, BridgeProbe]
    gateway = replace(config, probes=("host", "bridge"))
    assert [type(p) for p in build(gateway, "win32")] == [HostProbe, BridgeProbe]
