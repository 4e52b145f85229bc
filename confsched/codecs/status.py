"""What a codec says about itself, in driver-neutral terms, and how that becomes an observation.

Every driver parses its device's answer into a :class:`CodecStatus`; a poll that cannot get one
raises :class:`PollFailure` with a short ``kind``. Both become a domain ``Observation`` here,
purely, with the checks an agent would send (camera, audio, display) plus what only a codec
knows (registration to its SIP server or gatekeeper, the call it is in, packet loss in the call).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from confsched.domain.health import Observation
from confsched.domain.model import CallState


class FailureKind(StrEnum):
    """Why a poll produced no status; each maps to one reason an operator can act on."""

    AUTH = "auth"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    HTTP = "http"
    BAD_RESPONSE = "bad_response"
    NO_CREDENTIALS = "no_credentials"


class PollFailure(Exception):
    """A poll that got no usable status; ``detail`` never carries a credential."""

    def __init__(self, kind: FailureKind, detail: str = "") -> None:
        super().__init__(f"{kind.value}: {detail}" if detail else kind.value)
        self.kind = kind
        self.detail = detail

    @property
    def reason(self) -> str:
        """The operator's words: "codec auth failed", "codec unreachable (connection refused)"."""
        text = {
            FailureKind.AUTH: "codec auth failed",
            FailureKind.UNREACHABLE: "codec unreachable",
            FailureKind.TIMEOUT: "codec did not answer in time",
            FailureKind.HTTP: "codec API error",
            FailureKind.BAD_RESPONSE: "codec sent a malformed status",
            FailureKind.NO_CREDENTIALS: "codec credentials missing",
        }[self.kind]
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True, slots=True)
class CodecStatus:
    """A codec's state as any driver reports it; None means the device did not say."""

    cameras: tuple[bool, ...] = ()
    """Connected flag per camera the codec knows of."""
    microphones: tuple[bool, ...] = ()
    displays: tuple[bool, ...] = ()
    registered: bool | None = None
    registrar: str = ""
    """The SIP proxy or H.323 gatekeeper it registers to (or should)."""
    in_call: bool = False
    remote: str = ""
    """Who the call is with (the bridge's URI when it dialled the bridge)."""
    loss_ratio: float | None = None
    """Received packets lost in the call, 0..1, over the device's last interval."""
    jitter_ms: float | None = None
    uptime_s: float | None = None
    software: str = ""


def observation(endpoint: str, status: CodecStatus, received_at: datetime) -> Observation:
    """The observation a successful poll gives, as an agent's report would."""
    checks: dict[str, bool | None] = {"codec": True}
    reasons: dict[str, str] = {}
    _devices(checks, reasons, "camera", status.cameras, "camera")
    _devices(checks, reasons, "audio", status.microphones, "microphone")
    _devices(checks, reasons, "display", status.displays, "display")
    if status.registered is not None:
        checks["registration"] = status.registered
        if not status.registered:
            where = status.registrar or "its SIP server"
            reasons["registration"] = f"not registered to {where}"
    measurements = {
        "in_call": 1.0 if status.in_call else 0.0,
        "cameras": float(sum(status.cameras)),
        "microphones": float(sum(status.microphones)),
        "displays": float(sum(status.displays)),
    }
    if status.uptime_s is not None:
        measurements["uptime_s"] = status.uptime_s
    if status.in_call and status.loss_ratio is not None:
        measurements["loss_ratio"] = status.loss_ratio
    if status.in_call and status.jitter_ms is not None:
        measurements["jitter_ms"] = status.jitter_ms
    call = CallState(status.in_call, status.remote if status.in_call else "")
    return Observation(endpoint, received_at, checks, {}, measurements, reasons, call)


def _devices(
    checks: dict[str, bool | None],
    reasons: dict[str, str],
    check: str,
    connected: tuple[bool, ...],
    noun: str,
) -> None:
    """One check per device class: failed when none is known or any is disconnected."""
    if not connected:
        checks[check] = False
        reasons[check] = f"no {noun} found"
    elif not all(connected):
        checks[check] = False
        missing = [str(i + 1) for i, ok in enumerate(connected) if not ok]
        which = f"{noun} {', '.join(missing)}" if len(connected) > 1 else noun
        reasons[check] = f"{which} disconnected"
    else:
        checks[check] = True


def failure_observation(endpoint: str, failure: PollFailure, received_at: datetime) -> Observation:
    """A poll that failed: the room is down for the reason the poll gave."""
    return Observation(endpoint, received_at, {"codec": False}, {}, {}, {"codec": failure.reason})
