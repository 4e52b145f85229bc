"""Agent probes: Linux devices against fake /proc, /sys and /dev trees; host and client through
real psutil on real processes; the network against a real loopback socket."""

from __future__ import annotations

import asyncio
from pathlib import Path

from confsched_agent.probes import Findings, run_all
from confsched_agent.probes.host import HostProbe
from confsched_agent.probes.network import BridgeProbe
from confsched_agent.probes.room import AudioProbe, CameraProbe, DisplayProbe
from confsched_agent.wire import Check


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def test_camera_found_and_missing(tmp_path: Path) -> None:
    assert (await CameraProbe(tmp_path).run()).checks["camera"] == Check(
        False, "no /dev/video* device"
    )
    (tmp_path / "video0").touch()
    found = await CameraProbe(tmp_path).run()
    assert found.checks["camera"].ok is True and found.measurements["cameras"] == 1


async def test_audio_needs_both_playback_and_capture(tmp_path: Path) -> None:
    write(tmp_path / "asound/pcm", "00-00: ALC892 Analog : ALC892 Analog : playback 1\n")
    found = await AudioProbe(tmp_path).run()
    assert found.checks["audio"] == Check(False, "no microphone")
    write(tmp_path / "asound/pcm", "00-00: A : A : playback 1 : capture 1\n")
    assert (await AudioProbe(tmp_path).run()).checks["audio"].ok is True


async def test_display_connected_or_not(tmp_path: Path) -> None:
    write(tmp_path / "class/drm/card0-HDMI-A-1/status", "disconnected\n")
    assert (await DisplayProbe(tmp_path).run()).checks["display"].ok is False
    write(tmp_path / "class/drm/card0-DP-1/status", "connected\n")
    found = await DisplayProbe(tmp_path).run()
    assert found.checks["display"].ok is True and found.measurements["displays"] == 1


async def test_host_measures_through_psutil_on_the_spool_disk(tmp_path: Path) -> None:
    probe = HostProbe(tmp_path / "spool" / "not-made-yet")
    await asyncio.sleep(0.05)
    found = await probe.run()
    m = found.measurements
    assert found.checks["host"] == Check(True)
    assert 0 <= m["cpu_ratio"] <= 1 and 0 < m["memory_used_ratio"] < 1
    assert m["uptime_s"] > 0 and m["disk_free_bytes"] > 0 and 0 < m["disk_free_ratio"] <= 1


async def test_bridge_probe_measures_rtt_to_a_listening_port() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        found = await BridgeProbe("127.0.0.1", port, count=3, gap=0).run()
    assert found.checks["bridge"].ok is True
    assert found.measurements["loss_ratio"] == 0 and found.measurements["rtt_ms"] < 100


async def test_bridge_probe_counts_refused_connects_as_loss() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    found = await BridgeProbe("127.0.0.1", port, count=2, gap=0).run()
    assert found.checks["bridge"].ok is False
    assert found.measurements["loss_ratio"] == 1.0


class Broken:
    name = "camera"

    async def run(self) -> Findings:
        raise PermissionError("/dev/video0: denied")


class Hung:
    name = "display"

    async def run(self) -> Findings:
        await asyncio.sleep(60)
        return Findings()


class Fine:
    name = "client"

    async def run(self) -> Findings:
        return Findings({"client": Check(True)}, {"cpu_ratio": 0.1})


async def test_a_failing_or_hanging_probe_is_reported_not_fatal() -> None:
    found = await run_all([Broken(), Hung(), Fine()], timeout=0.2)
    assert found.checks["camera"] == Check(None, "PermissionError: /dev/video0: denied")
    assert found.checks["display"] == Check(None, "probe timed out")
    assert found.checks["client"].ok is True and found.measurements["cpu_ratio"] == 0.1
