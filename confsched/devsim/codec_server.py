"""Simulated codecs served over HTTP(S) on loopback: one server, one path prefix per codec.

``https://127.0.0.1:PORT/<endpoint>`` behaves like that codec's management API root: Cisco xAPI
(``GET /getxml?location=/Status``, HTTP basic auth, 401 on wrong credentials) or Poly REST
(``POST /rest/session`` login, then the ``session_id`` cookie; 401 without a live session),
with the codec's :class:`~.codec_state.ApiFault` applied to every request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import ipaddress
import secrets
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from confsched.config import private_dir, write_private
from confsched.devsim.codec_state import (
    ApiFault,
    SimCodec,
    cisco_status_xml,
    poly_conferences,
    poly_mediastats,
    poly_status,
    poly_system,
)

Handler = Callable[[web.Request, SimCodec], Awaitable[web.StreamResponse]]
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]
HANG_SECONDS = 3600.0


@dataclass
class CodecLab:
    """The simulated codecs and the server answering for them."""

    codecs: dict[str, SimCodec]
    base_url: str = ""
    ca_file: Path | None = None
    requests: int = 0
    _runner: web.AppRunner | None = field(default=None, repr=False)

    def url(self, endpoint: str) -> str:
        return f"{self.base_url}/{endpoint}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def start_lab(
    codecs: Iterable[SimCodec],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls_dir: Path | None = None,
) -> CodecLab:
    """Serve ``codecs``; over HTTPS with a fresh self-signed certificate when ``tls_dir`` is
    given (its ``codec-ca.pem`` is what a poller must trust)."""
    lab = CodecLab({c.endpoint: c for c in codecs})
    app = web.Application()
    app.router.add_get("/{endpoint}/getxml", _wrap(lab, _cisco_getxml))
    app.router.add_post("/{endpoint}/rest/session", _wrap(lab, _poly_login))
    app.router.add_get("/{endpoint}/rest/{tail:.*}", _wrap(lab, _poly_get))
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    context = None
    if tls_dir is not None:
        lab.ca_file, context = _self_signed(tls_dir, host)
    site = web.TCPSite(runner, host, port, ssl_context=context)
    await site.start()
    bound = runner.addresses[0][1]
    lab.base_url = f"{'https' if context else 'http'}://{host}:{bound}"
    lab._runner = runner
    return lab


def _wrap(
    lab: CodecLab, handler: Handler
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        lab.requests += 1
        codec = lab.codecs.get(request.match_info["endpoint"])
        if codec is None:
            raise web.HTTPNotFound()
        if codec.booting():
            return web.Response(status=503, text="Service Unavailable: starting up")
        if codec.fault is ApiFault.HANG:
            await asyncio.sleep(HANG_SECONDS)
        if codec.fault is ApiFault.REBOOT:
            return await _drop_and_reboot(request, codec)
        if codec.fault is ApiFault.HTTP_500:
            return web.Response(status=500, text="Internal Server Error")
        return await handler(request, codec)

    return serve


async def _drop_and_reboot(request: web.Request, codec: SimCodec) -> web.StreamResponse:
    """Send the headers and half a body, then lose power."""
    response = web.StreamResponse(headers={"Content-Type": "text/xml"})
    response.content_length = 4096
    await response.prepare(request)
    await response.write(b'<?xml version="1.0"?>\n<Status product="Cisco Codec"><Audio>')
    codec.reboot()
    if request.transport is not None:
        request.transport.close()
    return response


# --- Cisco ------------------------------------------------------------------------------------


async def _cisco_getxml(request: web.Request, codec: SimCodec) -> web.StreamResponse:
    if codec.driver != "cisco-xapi":
        raise web.HTTPNotFound()
    if not _basic_ok(request.headers.get("Authorization", ""), codec):
        return web.Response(
            status=401, text="Unauthorized", headers={"WWW-Authenticate": 'Basic realm="xapi"'}
        )
    if request.query.get("location") != "/Status":
        return web.Response(text='<?xml version="1.0"?><XmlDoc resultId=""/>')
    body = cisco_status_xml(codec)
    if codec.fault is ApiFault.MALFORMED:
        body = body[: len(body) // 2]
    return web.Response(body=body, content_type="text/xml")


def _basic_ok(header: str, codec: SimCodec) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return secrets.compare_digest(f"{user}:{password}", f"{codec.username}:{codec.password}")


# --- Poly -------------------------------------------------------------------------------------


async def _poly_login(request: web.Request, codec: SimCodec) -> web.StreamResponse:
    if codec.driver != "poly-rest":
        raise web.HTTPNotFound()
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return web.json_response({"success": False, "reason": "bad request"}, status=400)
    given = f"{body.get('user')}:{body.get('password')}" if isinstance(body, dict) else ""
    if body.get("action") != "Login" or not secrets.compare_digest(
        given, f"{codec.username}:{codec.password}"
    ):
        return web.json_response(
            {"success": False, "reason": "Invalid credentials", "loginStatus": {"failed": 1}},
            status=401,
        )
    session_id = secrets.token_hex(16)
    codec.sessions.add(session_id)
    answer = {
        "success": True,
        "session": {"sessionId": session_id, "isAuthenticated": True, "userId": codec.username},
    }
    response = web.json_response(answer)
    response.set_cookie("session_id", session_id, secure=True, httponly=True)
    return response


_POLY_RESOURCES: dict[str, Callable[[SimCodec], bytes]] = {
    "system": poly_system,
    "system/status": poly_status,
    "conferences": poly_conferences,
    "conferences/0/mediastats": poly_mediastats,
}


async def _poly_get(request: web.Request, codec: SimCodec) -> web.StreamResponse:
    if codec.driver != "poly-rest":
        raise web.HTTPNotFound()
    if request.cookies.get("session_id") not in codec.sessions:
        return web.json_response({"success": False, "reason": "session expired"}, status=401)
    render = _POLY_RESOURCES.get(request.match_info["tail"])
    if render is None:
        raise web.HTTPNotFound()
    body = render(codec)
    if codec.fault is ApiFault.MALFORMED:
        body = body[: max(1, len(body) // 2)]
    return web.Response(body=body, content_type="application/json")


# --- TLS --------------------------------------------------------------------------------------


def _self_signed(directory: Path, host: str) -> tuple[Path, ssl.SSLContext]:
    """A fresh self-signed certificate for ``host``, written as ``codec-ca.pem`` (+ key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    ip = ipaddress.ip_address(host)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "confsched simulated codecs")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    private_dir(directory)  # in the data directory: the CA's key signs what the poller trusts
    cert_path, key_path = directory / "codec-ca.pem", directory / "codec-ca.key"
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))  # nobody swaps it
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(key_path, pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return cert_path, context
