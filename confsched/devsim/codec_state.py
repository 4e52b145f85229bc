"""What a simulated codec is, and the documents it answers with, as each real API shapes them.

:class:`SimCodec` is the device: its cameras, microphones and displays (each plugged in or not),
its SIP registration, the call it is in and the loss in it, its own admin password, and a
``fault`` in how its API behaves (hang, HTTP 500, malformed answers, a reboot mid-poll).
``cisco_status_xml`` and the ``poly_*`` functions render it as the Cisco xAPI ``/Status`` XML
document and the Poly REST JSON resources (see ``confsched.codecs.cisco`` and ``.poly`` for the
parts read).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from xml.sax.saxutils import escape


class ApiFault(StrEnum):
    """How the codec's API misbehaves (its devices are described by the other fields)."""

    HANG = "hang"
    """Accepts the request and never answers."""
    HTTP_500 = "http_500"
    MALFORMED = "malformed"
    """Answers 200 with a truncated document."""
    REBOOT = "reboot"
    """Drops the next request mid-answer, then boots: 503 for ``boot_seconds``, sessions lost."""


@dataclass
class SimCodec:
    endpoint: str
    driver: str
    password: str
    username: str = "admin"
    cameras: list[bool] = field(default_factory=lambda: [True])
    microphones: list[bool] = field(default_factory=lambda: [True, True])
    displays: list[bool] = field(default_factory=lambda: [True])
    registered: bool = True
    registrar: str = "sip.vc.example"
    remote: str = ""
    """The far end while in a call (empty: idle)."""
    loss_ratio: float = 0.0
    jitter_ms: float = 3.0
    fault: ApiFault | None = None
    boot_seconds: float = 2.0
    booted_at: float = field(default_factory=time.monotonic)
    sessions: set[str] = field(default_factory=set)
    model: str = ""
    up_before: float = 86400.0
    """Seconds it had been up when the simulation started (0 after a reboot)."""

    def uptime(self) -> int:
        return int(time.monotonic() - self.booted_at + self.up_before)

    def booting(self) -> bool:
        return time.monotonic() - self.booted_at < 0

    def reboot(self) -> None:
        """Start a reboot: the API is down for ``boot_seconds``, every session is gone."""
        self.sessions.clear()
        self.booted_at = time.monotonic() + self.boot_seconds
        self.up_before = 0.0
        self.fault = None


# --- Cisco xAPI -------------------------------------------------------------------------------


def cisco_status_xml(codec: SimCodec) -> bytes:
    """The ``/getxml?location=/Status`` document (only the parts a monitor reads, in shape)."""
    e = escape
    cams = "".join(
        f'<Camera item="{i}" maxOccurrence="n"><Connected>{_tf(ok)}</Connected>'
        f"<Model>Precision 60</Model></Camera>"
        for i, ok in enumerate(codec.cameras, 1)
    )
    mics = "".join(
        f'<Microphone item="{i}"><ConnectionStatus>{"Connected" if ok else "NotConnected"}'
        f"</ConnectionStatus></Microphone>"
        for i, ok in enumerate(codec.microphones, 1)
    )
    outs = "".join(
        f'<Connector item="{i}"><Connected>{_tf(ok)}</Connected><Type>HDMI</Type></Connector>'
        for i, ok in enumerate(codec.displays, 1)
    )
    reg = "Registered" if codec.registered else "Failed"
    reason = "" if codec.registered else "401 Unauthorized"
    call = media = ""
    if codec.remote:
        call = (
            f'<Call item="7" maxOccurrence="n"><CallbackNumber>{e(codec.remote)}</CallbackNumber>'
            f"<DisplayName>MCU</DisplayName><Direction>Outgoing</Direction>"
            f"<Protocol>Sip</Protocol><Status>Connected</Status><Duration>300</Duration></Call>"
        )
        media = f'<MediaChannels><Call item="7">{_cisco_channels(codec)}</Call></MediaChannels>'
    text = (
        '<?xml version="1.0"?>\n'
        f'<Status product="Cisco Codec" version="ce11.5.2.4" apiVersion="4">'
        f"<Audio><Input><Connectors>{mics}</Connectors></Input>"
        f"<Microphones><Mute>Off</Mute></Microphones><Volume>50</Volume></Audio>"
        f"{call}<Cameras>{cams}</Cameras>{media}"
        f'<SIP><Proxy item="1"><Address>{e(codec.registrar)}</Address><Status>Active</Status>'
        f'</Proxy><Registration item="1"><Reason>{reason}</Reason><Status>{reg}</Status>'
        f"<URI>{e(codec.endpoint)}@{e(codec.registrar)}</URI></Registration></SIP>"
        f"<SystemUnit><ProductId>Cisco Webex Room Kit</ProductId>"
        f"<Software><Version>ce11.5.2.4</Version></Software>"
        f"<Uptime>{codec.uptime()}</Uptime></SystemUnit>"
        f"<Video><Output>{outs}</Output></Video></Status>"
    )
    return text.encode()


def _cisco_channels(codec: SimCodec) -> str:
    received = 1500
    lost = round(received * codec.loss_ratio / max(1e-9, 1 - codec.loss_ratio))
    out = []
    for item, (direction, kind) in enumerate(
        (("Incoming", "Audio"), ("Incoming", "Video"), ("Outgoing", "Audio")), 1
    ):
        out.append(
            f'<Channel item="{item}"><Direction>{direction}</Direction><Type>{kind}</Type>'
            f"<Netstat><Jitter>{codec.jitter_ms:.0f}</Jitter><LastIntervalLost>{lost}"
            f"</LastIntervalLost><LastIntervalReceived>{received}</LastIntervalReceived>"
            f"<Loss>{lost * 20}</Loss><Packets>{received * 20}</Packets></Netstat></Channel>"
        )
    return "".join(out)


def _tf(value: bool) -> str:
    return "True" if value else "False"


# --- Poly REST --------------------------------------------------------------------------------


def poly_system(codec: SimCodec) -> bytes:
    return _json(
        {
            "model": codec.model or "G7500",
            "systemName": codec.endpoint,
            "softwareVersion": "3.14.2-345678",
            "serialNumber": f"82{abs(hash(codec.endpoint)) % 10**10:010d}",
            "state": "READY",
            "uptime": codec.uptime(),
        }
    )


def poly_status(codec: SimCodec) -> bytes:
    items = []
    for tag, name, flags in (
        ("camera", "EagleEye IV USB", codec.cameras),
        ("microphones", "Polycom Microphone", codec.microphones),
        ("monitors", "Monitor", codec.displays),
    ):
        for i, ok in enumerate(flags, 1):
            items.append({"langtag": tag, "name": f"{name} {i}", "stateList": [_state(ok)]})
    items.append(
        {
            "langtag": "sipRegistration",
            "name": codec.registrar,
            "stateList": [_state(codec.registered)],
        }
    )
    return _json(items)


def poly_conferences(codec: SimCodec) -> bytes:
    if not codec.remote:
        return _json([])
    connection = {
        "id": 1,
        "address": codec.remote,
        "remoteSiteName": "MCU",
        "callType": "VIDEO",
        "state": "CONNECTED",
        "rate": 2048,
    }
    return _json([{"id": 0, "isActive": True, "connections": [connection]}])


def poly_mediastats(codec: SimCodec) -> bytes:
    total = 30000
    lost = round(total * codec.loss_ratio)
    rows = [
        {
            "mediaDirection": direction,
            "mediaType": kind,
            "packetsLost": lost if direction == "RX" else 0,
            "totalPackets": total,
            "jitter": codec.jitter_ms,
        }
        for direction in ("RX", "TX")
        for kind in ("AUDIO", "VIDEO")
    ]
    return _json(rows)


def _state(ok: bool) -> str:
    return "STATUS_OK" if ok else "STATUS_ERROR"


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
