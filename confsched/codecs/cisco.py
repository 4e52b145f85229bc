"""Cisco RoomOS / CE codecs through the xAPI over HTTPS.

One request per poll: ``GET /getxml?location=/Status`` with HTTP basic auth answers the whole
status tree as XML (``<Status product="Cisco Codec" version=… apiVersion=…>``). The parts read:

- ``Cameras/Camera[n]/Connected`` (True/False)
- ``Audio/Input/Connectors/Microphone[n]/ConnectionStatus`` (Connected/NotConnected/Unknown)
- ``Video/Output/Connector[n]/Connected`` (True/False)
- ``SIP/Registration[n]/Status`` (Registered/Registering/Failed/Inactive) and ``SIP/Proxy/Address``
- ``Call[n]`` (``Status`` Connected, ``CallbackNumber``/``RemoteNumber``/``DisplayName``)
- ``MediaChannels/Call[n]/Channel[n]`` incoming ``Netstat`` (``LastIntervalLost``,
  ``LastIntervalReceived``, ``Jitter``)
- ``SystemUnit/Uptime`` and ``SystemUnit/Software/Version``

Parsing is :func:`parse_status`, pure; :class:`CiscoXapi` does the HTTP.
"""

from __future__ import annotations

import ssl
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import aiohttp

from confsched.codecs.http import exchange
from confsched.codecs.secrets import Credentials
from confsched.codecs.status import CodecStatus, FailureKind, PollFailure

STATUS_PATH = "/getxml?location=/Status"


def parse_status(body: bytes) -> CodecStatus:
    """The ``/Status`` XML document → CodecStatus; PollFailure(BAD_RESPONSE) if it is not one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise PollFailure(FailureKind.BAD_RESPONSE, f"malformed XML ({exc})") from None
    if root.tag != "Status":
        raise PollFailure(FailureKind.BAD_RESPONSE, f"expected <Status>, got <{root.tag[:40]}>")
    registered, registrar = _registration(root)
    call = _active_call(root)
    loss, jitter = _call_quality(root, call)
    return CodecStatus(
        cameras=tuple(_text(c, "Connected") == "True" for c in root.iterfind("Cameras/Camera")),
        microphones=tuple(
            _text(m, "ConnectionStatus") == "Connected"
            for m in root.iterfind("Audio/Input/Connectors/Microphone")
        ),
        displays=tuple(
            _text(c, "Connected") == "True" for c in root.iterfind("Video/Output/Connector")
        ),
        registered=registered,
        registrar=registrar,
        in_call=call is not None,
        remote=_remote(call) if call is not None else "",
        loss_ratio=loss,
        jitter_ms=jitter,
        uptime_s=_number(_text(root, "SystemUnit/Uptime")),
        software=_text(root, "SystemUnit/Software/Version"),
    )


def _text(node: ET.Element, path: str) -> str:
    found = node.find(path)
    return (found.text or "").strip() if found is not None else ""


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _registration(root: ET.Element) -> tuple[bool | None, str]:
    statuses = [_text(r, "Status") for r in root.iterfind("SIP/Registration")]
    registrar = _text(root, "SIP/Proxy/Address")
    if not statuses:
        return None, registrar
    return any(s == "Registered" for s in statuses), registrar


def _active_call(root: ET.Element) -> ET.Element | None:
    for call in root.iterfind("Call"):
        if _text(call, "Status") == "Connected":
            return call
    return None


def _remote(call: ET.Element) -> str:
    for key in ("CallbackNumber", "RemoteNumber", "DisplayName"):
        value = _text(call, key)
        if value:
            return value
    return ""


def _call_quality(root: ET.Element, call: ET.Element | None) -> tuple[float | None, float | None]:
    """Loss over the last interval across incoming channels, and the worst jitter."""
    if call is None:
        return None, None
    item = call.get("item")
    lost = received = 0.0
    jitters: list[float] = []
    for media in root.iterfind("MediaChannels/Call"):
        if media.get("item") != item:
            continue
        for channel in media.iterfind("Channel"):
            if _text(channel, "Direction").lower() != "incoming":
                continue
            lost += _number(_text(channel, "Netstat/LastIntervalLost")) or 0.0
            received += _number(_text(channel, "Netstat/LastIntervalReceived")) or 0.0
            jitter = _number(_text(channel, "Netstat/Jitter"))
            if jitter is not None:
                jitters.append(jitter)
    loss = lost / (lost + received) if lost + received > 0 else None
    return loss, max(jitters) if jitters else None


@dataclass
class CiscoXapi:
    """Polls one Cisco codec: one authenticated GET of its status tree per poll."""

    url: str
    credentials: Credentials
    tls: ssl.SSLContext | bool = True

    async def status(self, http: aiohttp.ClientSession, timeout: float) -> CodecStatus:
        creds = self.credentials
        headers = {"Authorization": aiohttp.encode_basic_auth(creds.username, creds.password)}
        answer = await exchange(
            http, "GET", self.url + STATUS_PATH, timeout=timeout, tls=self.tls, headers=headers
        )
        return parse_status(answer.body)
