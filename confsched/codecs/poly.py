"""Poly G7500 / Studio X / Group Series codecs through their REST API (session auth).

A session starts with ``POST /rest/session`` ``{"action": "Login", "user", "password"}``, which
answers ``{"success": true, "session": {"sessionId": …}}``; later requests carry it as the
``session_id`` cookie. A 401/403 on a later request means the session ended (the codec rebooted
or expired it): log in again once, then give up for this poll. Per poll:

- ``GET /rest/system`` → ``{"model", "softwareVersion", "state", "uptime"}``
- ``GET /rest/system/status`` → ``[{"langtag", "name", "stateList": ["STATUS_OK" | …]}]``, one
  item per device class: ``camera``, ``microphones``, ``monitors``, ``sipRegistration``
- ``GET /rest/conferences`` → ``[{"id", "connections": [{"address", "state", …}]}]``
- in a call, ``GET /rest/conferences/{id}/mediastats`` → ``[{"mediaDirection": "RX" | "TX",
  "packetsLost", "totalPackets", "jitter"}]``

Parsing is the pure ``parse_*`` functions; :class:`PolyRest` does the HTTP and keeps the session.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from confsched.codecs.http import Answer, exchange
from confsched.codecs.secrets import Credentials
from confsched.codecs.status import CodecStatus, FailureKind, PollFailure

SESSION_COOKIE = "session_id"
_OK = "STATUS_OK"


def parse_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PollFailure(FailureKind.BAD_RESPONSE, f"malformed JSON from {what}") from None


def parse_login(body: bytes) -> str:
    """The session id of a login answer; PollFailure(AUTH) when the codec said no."""
    answer = parse_json(body, "/rest/session")
    if not isinstance(answer, dict):
        raise PollFailure(FailureKind.BAD_RESPONSE, "login answer is not an object")
    session = answer.get("session")
    if answer.get("success") is not True or not isinstance(session, dict):
        raise PollFailure(FailureKind.AUTH, "login refused")
    session_id = session.get("sessionId")
    if not isinstance(session_id, str) or not session_id:
        raise PollFailure(FailureKind.BAD_RESPONSE, "login answer has no sessionId")
    return session_id


def parse_system(body: bytes) -> CodecStatus:
    system = _object(parse_json(body, "/rest/system"), "/rest/system")
    uptime = system.get("uptime")
    return CodecStatus(
        uptime_s=float(uptime) if isinstance(uptime, int | float) else None,
        software=str(system.get("softwareVersion", "")),
    )


def parse_devices(body: bytes, base: CodecStatus) -> CodecStatus:
    """``/rest/system/status`` items → cameras, microphones, displays, registration."""
    items = parse_json(body, "/rest/system/status")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PollFailure(FailureKind.BAD_RESPONSE, "/rest/system/status is not a list of items")
    by_tag: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_tag.setdefault(str(item.get("langtag", "")), []).append(item)

    def flags(tag: str) -> tuple[bool, ...]:
        return tuple(_ok(i) for i in by_tag.get(tag, []))

    sip = by_tag.get("sipRegistration", [])
    return replace(
        base,
        cameras=flags("camera"),
        microphones=flags("microphones"),
        displays=flags("monitors"),
        registered=any(_ok(i) for i in sip) if sip else None,
        registrar=str(sip[0].get("name", "")) if sip else "",
    )


def parse_conferences(body: bytes) -> tuple[int | None, str]:
    """The active conference's id and the remote it is connected to, or (None, "")."""
    conferences = parse_json(body, "/rest/conferences")
    if not isinstance(conferences, list):
        raise PollFailure(FailureKind.BAD_RESPONSE, "/rest/conferences is not a list")
    for conference in conferences:
        if not isinstance(conference, dict) or not isinstance(conference.get("id"), int):
            raise PollFailure(FailureKind.BAD_RESPONSE, "a conference without an id")
        for connection in conference.get("connections") or []:
            if isinstance(connection, dict) and connection.get("state") == "CONNECTED":
                return conference["id"], str(connection.get("address", ""))
    return None, ""


def parse_mediastats(body: bytes) -> tuple[float | None, float | None]:
    """Loss ratio and worst jitter over the received (RX) streams."""
    stats = parse_json(body, "mediastats")
    if not isinstance(stats, list):
        raise PollFailure(FailureKind.BAD_RESPONSE, "mediastats is not a list")
    lost = total = 0.0
    jitters: list[float] = []
    for stream in stats:
        if not isinstance(stream, dict) or stream.get("mediaDirection") != "RX":
            continue
        lost += _float(stream.get("packetsLost"))
        total += _float(stream.get("totalPackets"))
        if isinstance(stream.get("jitter"), int | float):
            jitters.append(float(stream["jitter"]))
    loss = lost / total if total > 0 else None
    return loss, max(jitters) if jitters else None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PollFailure(FailureKind.BAD_RESPONSE, f"{what} is not an object")
    return value


def _ok(item: dict[str, Any]) -> bool:
    states = item.get("stateList")
    return isinstance(states, list) and _OK in states


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


@dataclass
class PolyRest:
    """Polls one Poly codec, keeping its REST session between polls."""

    url: str
    credentials: Credentials
    tls: ssl.SSLContext | bool = True
    session_id: str | None = None

    async def status(self, http: aiohttp.ClientSession, timeout: float) -> CodecStatus:
        status = parse_system(await self._get(http, "/rest/system", timeout))
        status = parse_devices(await self._get(http, "/rest/system/status", timeout), status)
        conference, remote = parse_conferences(await self._get(http, "/rest/conferences", timeout))
        if conference is None:
            return status
        path = f"/rest/conferences/{conference}/mediastats"
        loss, jitter = parse_mediastats(await self._get(http, path, timeout))
        return replace(status, in_call=True, remote=remote, loss_ratio=loss, jitter_ms=jitter)

    async def _get(self, http: aiohttp.ClientSession, path: str, timeout: float) -> bytes:
        if self.session_id is None:
            await self._login(http, timeout)
        answer = await self._get_once(http, path, timeout)
        if answer.status in (401, 403):  # the session ended: one fresh login, then give up
            await self._login(http, timeout)
            answer = await self._get_once(http, path, timeout)
            if answer.status in (401, 403):
                raise PollFailure(FailureKind.AUTH, f"HTTP {answer.status} after a fresh login")
        return answer.body

    async def _get_once(self, http: aiohttp.ClientSession, path: str, timeout: float) -> Answer:
        headers = {"Cookie": f"{SESSION_COOKIE}={self.session_id}"}
        return await exchange(
            http,
            "GET",
            self.url + path,
            timeout=timeout,
            tls=self.tls,
            headers=headers,
            allow=frozenset({401, 403}),
        )

    async def _login(self, http: aiohttp.ClientSession, timeout: float) -> None:
        self.session_id = None
        body = {
            "action": "Login",
            "user": self.credentials.username,
            "password": self.credentials.password,
        }
        answer = await exchange(
            http,
            "POST",
            self.url + "/rest/session",
            timeout=timeout,
            tls=self.tls,
            json_body=body,
            allow=frozenset({400}),
        )
        self.session_id = parse_login(answer.body)
