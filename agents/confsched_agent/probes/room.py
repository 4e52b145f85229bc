"""The room's devices on Linux: cameras, audio and displays, read from /dev, /proc and /sys.

Windows has its own probe (``probes.windows``); the client's process is ``probes.client``.
"""

from __future__ import annotations

from pathlib import Path

from confsched_agent.probes import Findings
from confsched_agent.wire import Check


class CameraProbe:
    """Video capture devices under /dev/video*."""

    name = "camera"

    def __init__(self, dev: Path = Path("/dev")) -> None:
        self._dev = dev

    async def run(self) -> Findings:
        count = len(list(self._dev.glob("video*")))
        check = Check(True) if count else Check(False, "no /dev/video* device")
        return Findings({"camera": check}, {"cameras": float(count)})


class AudioProbe:
    """ALSA playback and capture devices listed in /proc/asound/pcm."""

    name = "audio"

    def __init__(self, proc: Path = Path("/proc")) -> None:
        self._proc = proc

    async def run(self) -> Findings:
        pcm = self._proc / "asound" / "pcm"
        lines = pcm.read_text().splitlines() if pcm.exists() else []
        playback = sum(1 for line in lines if "playback" in line)
        capture = sum(1 for line in lines if "capture" in line)
        missing = [what for what, n in (("speaker", playback), ("microphone", capture)) if not n]
        check = Check(False, "no " + " and no ".join(missing)) if missing else Check(True)
        return Findings(
            {"audio": check}, {"audio_playback": float(playback), "audio_capture": float(capture)}
        )


class DisplayProbe:
    """Connected display outputs: /sys/class/drm/*/status reading ``connected``."""

    name = "display"

    def __init__(self, sys: Path = Path("/sys")) -> None:
        self._drm = sys / "class" / "drm"

    async def run(self) -> Findings:
        statuses = [p.read_text().strip() for p in self._drm.glob("*/status")]
        connected = statuses.count("connected")
        if connected:
            check = Check(True)
        elif statuses:
            check = Check(False, f"{len(statuses)} outputs, none connected")
        else:
            check = Check(False, "no display outputs")
        return Findings({"display": check}, {"displays": float(connected)})
