"""The room's devices on Windows: cameras, microphones and displays, asked of PowerShell.

One PowerShell run per report answers all three (PowerShell's start costs more than its
queries): ``Get-PnpDevice`` lists the present camera, audio endpoint and monitor devices with
their Device Manager status, and the ``WmiMonitorBasicDisplayParams`` CIM class says which
monitors are active. Both print through ``ConvertTo-Json``, whose shapes the parsers here take
as they come: an array for several objects, a bare object for one, nothing at all for none.

The parsing is pure and tested on captured outputs (``tests/fixtures/windows``); the runner is
injected, so the tests run on Linux and the real one only on Windows.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from confsched_agent.probes import Findings
from confsched_agent.wire import Check

SEPARATOR = "--confsched-monitors--"
DEVICE_CHECKS = ("camera", "audio", "display")

SCRIPT = f"""
$ErrorActionPreference = 'SilentlyContinue'
[Console]::OutputEncoding = [Text.Encoding]::UTF8
Get-PnpDevice -Class Camera,Image,AudioEndpoint,Monitor -PresentOnly |
  Select-Object Class,FriendlyName,Status,ConfigManagerErrorCode,InstanceId |
  ConvertTo-Json -Compress
'{SEPARATOR}'
Get-CimInstance -Namespace root/wmi -ClassName WmiMonitorBasicDisplayParams |
  Select-Object InstanceName,Active |
  ConvertTo-Json -Compress
"""
"""Errors silenced: a class with no device makes Get-PnpDevice write an error and print
nothing, and a PC without EDID monitors (a VM) makes the CIM query fail; both mean "none"."""

CAMERA_CLASSES = ("Camera", "Image")
"""Windows 10 files UVC webcams under Camera; older drivers still under Image."""
CAPTURE_PREFIX = "SWD\\MMDEVAPI\\{0.0.1."
"""Audio endpoint ids: ``{0.0.1.…}`` is a capture endpoint (microphone), ``{0.0.0.…}`` render."""
_CM_PROBLEMS = {
    1: "not configured",
    10: "cannot start",
    22: "disabled",
    24: "not present or not working",
    28: "no driver",
    43: "stopped after reporting problems",
    45: "not connected",
}


@dataclass(frozen=True, slots=True)
class PnpDevice:
    cls: str
    name: str
    status: str
    """Device Manager's status: OK, Error, Degraded, Unknown…"""
    problem: int = 0
    """ConfigManagerErrorCode: 0 working, 22 disabled, 28 no driver…"""
    instance: str = ""

    @property
    def working(self) -> bool:
        return self.status == "OK" and self.problem == 0

    def fault(self) -> str:
        """``HD Webcam C270: Error (disabled)``."""
        why = _CM_PROBLEMS.get(self.problem, f"code {self.problem}") if self.problem else ""
        return f"{self.name or self.instance}: {self.status or 'no status'}" + (
            f" ({why})" if why else ""
        )


class OutputError(ValueError):
    """PowerShell printed something that is not the JSON the script asks for."""


def json_objects(text: str) -> list[dict[str, object]]:
    """ConvertTo-Json's output as a list: '' is none, an object is one, an array is many."""
    text = text.lstrip("\ufeff").strip()  # a UTF-8 console may start with a BOM
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        raise OutputError(f"not JSON: {text[:60]!r}") from None
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, dict) for item in items):
        raise OutputError("expected JSON objects")
    return items


def parse_pnp(text: str) -> list[PnpDevice]:
    devices = []
    for item in json_objects(text):
        problem = item.get("ConfigManagerErrorCode")
        devices.append(
            PnpDevice(
                cls=str(item.get("Class") or ""),
                name=str(item.get("FriendlyName") or ""),
                status=str(item.get("Status") or ""),
                problem=problem if isinstance(problem, int) else 0,
                instance=str(item.get("InstanceId") or ""),
            )
        )
    return devices


def parse_monitors(text: str) -> list[bool]:
    """The Active flag of every monitor WMI knows (an inactive one is off or asleep)."""
    return [item.get("Active") is True for item in json_objects(text)]


def split_output(stdout: str) -> tuple[str, str]:
    pnp, sep, monitors = stdout.partition(SEPARATOR)
    if not sep:
        raise OutputError("the script's output is cut short")
    return pnp, monitors


def findings(devices: list[PnpDevice], monitors: list[bool]) -> Findings:
    """The camera, audio and display checks the Linux probes give, from Windows' answers."""
    cameras = [d for d in devices if d.cls in CAMERA_CLASSES]
    endpoints = [d for d in devices if d.cls == "AudioEndpoint"]
    mics = [d for d in endpoints if d.instance.upper().startswith(CAPTURE_PREFIX)]
    speakers = [d for d in endpoints if d not in mics]
    screens = [d for d in devices if d.cls == "Monitor"]
    checks = {
        "camera": _devices(cameras, "camera"),
        "audio": _audio(mics, speakers),
        "display": _display(screens, monitors),
    }
    m = {
        "cameras": float(sum(d.working for d in cameras)),
        "audio_capture": float(sum(d.working for d in mics)),
        "audio_playback": float(sum(d.working for d in speakers)),
        "displays": float(sum(d.working for d in screens)),
    }
    return Findings(checks, m)


def _devices(devices: list[PnpDevice], noun: str) -> Check:
    if any(d.working for d in devices):
        return Check(True)
    if devices:
        return Check(False, "; ".join(d.fault() for d in devices))
    return Check(False, f"no {noun} device")


def _audio(mics: list[PnpDevice], speakers: list[PnpDevice]) -> Check:
    missing = [
        noun for noun, found in (("speaker", speakers), ("microphone", mics))
        if not any(d.working for d in found)
    ]  # fmt: skip
    if not missing:
        return Check(True)
    faults = [d.fault() for d in mics + speakers if not d.working]
    text = "no " + " and no ".join(missing)
    return Check(False, f"{text} ({'; '.join(faults)})" if faults else text)


def _display(screens: list[PnpDevice], active: list[bool]) -> Check:
    check = _devices(screens, "display")
    if check.ok and active and not any(active):
        return Check(False, "display off (no monitor active)")
    return check


Runner = Callable[[str], Awaitable[tuple[int, str, str]]]
"""Runs a PowerShell script; returns (exit code, stdout, stderr)."""


async def powershell(script: str) -> tuple[int, str, str]:
    """The real runner: Windows PowerShell 5.1 (on every Windows 10/11), no profile, the script
    passed encoded (no quoting to get wrong); killed if the probe's timeout cancels it."""
    encoded = base64.b64encode(script.encode("utf-16-le")).decode()
    proc = await asyncio.create_subprocess_exec(
        "powershell.exe",
        "-NoLogo",
        "-NoProfile",
        "-NonInteractive",
        "-EncodedCommand",
        encoded,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    return proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class WindowsDevicesProbe:
    """Camera, audio and display on Windows in one PowerShell run."""

    name = "devices"

    def __init__(
        self, runner: Runner = powershell, keep: frozenset[str] = frozenset(DEVICE_CHECKS)
    ) -> None:
        self._run = runner
        self._keep = keep

    async def run(self) -> Findings:
        found = await self._look()
        found.checks = {k: v for k, v in found.checks.items() if k in self._keep}
        return found

    async def _look(self) -> Findings:
        try:
            code, out, err = await self._run(SCRIPT)
        except OSError as exc:  # powershell.exe missing or not allowed to start
            return _unknown(f"PowerShell did not start: {exc.strerror or exc}")
        if code != 0:
            first = next((line for line in err.splitlines() if line.strip()), "")
            return _unknown(f"PowerShell exited {code}: {first}"[:200])
        try:
            pnp, monitors = split_output(out)
            return findings(parse_pnp(pnp), parse_monitors(monitors))
        except OutputError as exc:
            return _unknown(f"PowerShell output unreadable: {exc}")


def _unknown(detail: str) -> Findings:
    """The probe could not look: each device check unknown with why (not "device missing")."""
    return Findings({name: Check(None, detail) for name in DEVICE_CHECKS})
