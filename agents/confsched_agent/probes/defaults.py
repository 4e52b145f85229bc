"""The probes a configuration asks for, built with their real /proc, /sys and /dev paths."""

from __future__ import annotations

from confsched_agent.config import AgentConfig, split_address
from confsched_agent.probes import Probe
from confsched_agent.probes.host import HostProbe
from confsched_agent.probes.network import BridgeProbe
from confsched_agent.probes.room import AudioProbe, CameraProbe, ClientProbe, DisplayProbe


def build(config: AgentConfig) -> list[Probe]:
    probes: list[Probe] = []
    wanted = set(config.probes)
    if "host" in wanted:
        probes.append(HostProbe())
    if "camera" in wanted:
        probes.append(CameraProbe())
    if "audio" in wanted:
        probes.append(AudioProbe())
    if "display" in wanted:
        probes.append(DisplayProbe())
    if "client" in wanted and config.client_process:
        probes.append(ClientProbe(config.client_process))
    if "bridge" in wanted and config.bridge:
        probes.append(BridgeProbe(*split_address(config.bridge, "bridge")))
    return probes
