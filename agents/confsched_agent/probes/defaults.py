"""The probes a configuration asks for, chosen for the platform the agent runs on.

Host, client and bridge probes are the same everywhere (psutil and sockets); the room's devices
are read from /dev, /proc and /sys on Linux and asked of PowerShell on Windows.
"""

from __future__ import annotations

import sys

from confsched_agent.config import AgentConfig, split_address
from confsched_agent.probes import Probe
from confsched_agent.probes.client import ClientProbe
from confsched_agent.probes.host import HostProbe
from confsched_agent.probes.network import BridgeProbe
from confsched_agent.probes.room import AudioProbe, CameraProbe, DisplayProbe
from confsched_agent.probes.windows import DEVICE_CHECKS, WindowsDevicesProbe


def build(config: AgentConfig, platform: str = sys.platform) -> list[Probe]:
    probes: list[Probe] = []
    wanted = set(config.probes)
    bridge = split_address(config.bridge, "bridge") if config.bridge else None
    if "host" in wanted:
        probes.append(HostProbe(config.spool))
    devices = wanted & set(DEVICE_CHECKS)
    if platform == "win32" and devices:
        probes.append(WindowsDevicesProbe(keep=frozenset(devices)))
    elif devices:
        linux: dict[str, Probe] = {
            "camera": CameraProbe(),
            "audio": AudioProbe(),
            "display": DisplayProbe(),
        }
        probes.extend(linux[name] for name in DEVICE_CHECKS if name in devices)
    if "client" in wanted and config.client_process:
        probes.append(ClientProbe(config.client_process, bridge))
    if "bridge" in wanted and bridge is not None:
        probes.append(BridgeProbe(*bridge))
    return probes
