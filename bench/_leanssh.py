"""A minimal SSH client for the benchmarks: just what the agent protocol needs, cheaply.

The reconnect and ingest benchmarks simulate thousands of agents on the scheduler's own
machine; with asyncssh on the client side the simulators used about three times the
scheduler's CPU for the same handshakes, so on two cores they, not the scheduler, set the
pace. This client does one thing (log an agent in and carry its session channel) and nothing
else, so a login costs a few crypto calls and a dozen small packets:

- RFC 4253 transport: identification lines (ours after the server's), binary packets, one
  key exchange, ``curve25519-sha256`` (RFC 8731), an ``ssh-ed25519`` host key checked
  against a pinned one, ``aes128-gcm@openssh.com`` (RFC 5647 as OpenSSH uses it: one AEAD
  call a packet, no MAC), no compression; no rekeying (the scheduler's asyncssh rekeys after
  1 GB or an hour, longer than any benchmark: a ``KEXINIT`` later ends the connection with an
  error);
- RFC 4252 authentication: ``publickey`` with an ``ssh-ed25519`` key, asked about first and
  then signed, as the agent's asyncssh does (the scheduler does the same work as for a real
  agent: signing at once saved it a third of its CPU a login, and the bench would flatter it);
- RFC 4254 connection: one ``session`` channel with ``shell`` (or ``exec``), window accounting
  both ways, the server's keepalives (global requests) and channel requests answered with a
  failure, which is what they ask for.

A server that turns the connection away at the door (an unencrypted ``SSH_MSG_DISCONNECT``
before any key exchange, the scheduler's "busy: come back in N s") raises ``Disconnected``
with its code and text, as does any later disconnect. Every error is an ``OSError`` (a
``ConnectionError``), so a reconnect loop catches it like a network failure. Not for
production: no algorithm negotiation beyond checking that the server offers these, padding
of zeros, no strict-kex extension.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
from base64 import b64decode
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"SSH-2.0-confsched_leanssh"
KEX = b"curve25519-sha256"
KEX_ALIASES = (b"curve25519-sha256", b"curve25519-sha256@libssh.org")
HOST_KEY = b"ssh-ed25519"
CIPHER = b"aes128-gcm@openssh.com"
MACS = b"hmac-sha2-256"  # listed because the KEXINIT needs one; an AEAD cipher ignores it
MAX_PACKET = 256 * 1024
"""Largest packet accepted from the server (RFC 4253 asks for at least 35,000 bytes)."""
WINDOW = 2 * 1024 * 1024
"""Our channel window: what the server may send before we say we read it."""
CHUNK = 32 * 1024
"""Largest channel data packet we announce and send."""

# Message numbers (RFC 4250 §4.1).
DISCONNECT, IGNORE, UNIMPLEMENTED, DEBUG = 1, 2, 3, 4
SERVICE_REQUEST, SERVICE_ACCEPT, EXT_INFO = 5, 6, 7
KEXINIT, NEWKEYS, KEX_ECDH_INIT, KEX_ECDH_REPLY = 20, 21, 30, 31
USERAUTH_REQUEST, USERAUTH_FAILURE, USERAUTH_SUCCESS, USERAUTH_BANNER = 50, 51, 52, 53
USERAUTH_PK_OK = 60
GLOBAL_REQUEST, REQUEST_FAILURE = 80, 82
CHANNEL_OPEN, CHANNEL_OPEN_CONFIRMATION, CHANNEL_OPEN_FAILURE = 90, 91, 92
CHANNEL_WINDOW_ADJUST, CHANNEL_DATA, CHANNEL_EXTENDED_DATA = 93, 94, 95
CHANNEL_EOF, CHANNEL_CLOSE, CHANNEL_REQUEST, CHANNEL_SUCCESS, CHANNEL_FAILURE = (
    96,
    97,
    98,
    99,
    100,
)
PROTOCOL_ERROR, BY_APPLICATION = 2, 11


class SSHError(ConnectionError):
    """The server broke the protocol, or offered nothing this client speaks."""


class Disconnected(SSHError):
    """The server sent ``SSH_MSG_DISCONNECT``: ``code`` and its ``reason`` text."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"disconnected by the server: {reason} (code {code})")
        self.code = code
        self.reason = reason


class HostKeyMismatch(SSHError):
    """The server's host key is not the pinned one (or its signature does not verify)."""


class AuthFailed(SSHError):
    """The server refused our key."""


# -- SSH data types (RFC 4251 §5) ------------------------------------------------------------------


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(unsigned: bytes) -> bytes:
    """An unsigned big-endian integer as an SSH mpint (no leading zeros, a zero byte before a
    high bit)."""
    unsigned = unsigned.lstrip(b"\0")
    if unsigned and unsigned[0] & 0x80:
        unsigned = b"\0" + unsigned
    return _string(unsigned)


class _Fields:
    """Reads SSH fields one after another from a payload."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes, pos: int = 1) -> None:
        self._data = data
        self._pos = pos

    def byte(self) -> int:
        if self._pos >= len(self._data):
            raise SSHError("packet ends early")
        self._pos += 1
        return self._data[self._pos - 1]

    def boolean(self) -> bool:
        return self.byte() != 0

    def uint32(self) -> int:
        if self._pos + 4 > len(self._data):
            raise SSHError("packet ends early")
        (value,) = struct.unpack_from(">I", self._data, self._pos)
        self._pos += 4
        return int(value)

    def string(self) -> bytes:
        size = self.uint32()
        if self._pos + size > len(self._data):
            raise SSHError("string runs past the packet")
        self._pos += size
        return self._data[self._pos - size : self._pos]

    def names(self) -> list[bytes]:
        return self.string().split(b",")

    def skip(self, size: int) -> None:
        self._pos += size


def _host_key_blob(text: str) -> bytes:
    """The wire form of an ``ssh-ed25519 AAAA…`` public key line."""
    kind, b64 = text.split()[:2]
    if kind.encode() != HOST_KEY:
        raise ValueError(f"host key {kind} is not {HOST_KEY.decode()}")
    return b64decode(b64)


def load_private_key(data: bytes) -> Ed25519PrivateKey:
    """An OpenSSH private key file's bytes (``-----BEGIN OPENSSH PRIVATE KEY-----``)."""
    key = serialization.load_ssh_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an ed25519 key")
    return key


# -- the connection --------------------------------------------------------------------------------


class _Reader(asyncio.Protocol):
    """The socket's bytes for the packet reader. Unlike asyncio's ``StreamReader``, what came
    before a reset is still read before the reset is raised: a server that answers "busy" and
    hangs up may reset the connection (our KEXINIT arrived after its close) while its answer
    waits unread here, and that answer is what the client needs."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._ended: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self._end(asyncio.IncompleteReadError(b"", None))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(exc or asyncio.IncompleteReadError(b"", None))

    def _end(self, exc: Exception) -> None:
        if self._ended is None:
            self._ended = exc
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _more(self) -> None:
        if self._ended is not None:
            raise self._ended
        self._waiter = asyncio.get_running_loop().create_future()
        await self._waiter

    async def readexactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            await self._more()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def readline(self, limit: int = 255) -> bytes:
        """Up to and including the next ``\n`` (at most ``limit`` bytes)."""
        while (end := self._buffer.find(b"\n", 0, limit)) < 0:
            if len(self._buffer) >= limit:
                raise SSHError("an identification line over 255 bytes")
            await self._more()
        return await self.readexactly(end + 1)


class Channel:
    """One logged-in connection and its one session channel.

    Data from the server goes to ``on_data`` as it comes; ``on_close`` is called once when
    the channel or the connection ends (None: closed cleanly, else what went wrong).
    ``write`` never blocks: what the server's window does not take yet is kept and sent as
    the window opens.
    """

    def __init__(
        self,
        reader: _Reader,
        writer: asyncio.Transport,
        on_data: Callable[[bytes], None],
        on_close: Callable[[Exception | None], None],
    ) -> None:
        self._reader, self._writer = reader, writer
        self.on_data, self.on_close = on_data, on_close
        self._send_gcm: AESGCM | None = None
        self._recv_gcm: AESGCM | None = None
        self._send_iv = self._recv_iv = b""
        self._send_count = self._recv_count = 0
        self._send_seq = self._recv_seq = 0
        self._remote = 0
        """The server's number for our channel."""
        self._remote_window = 0
        self._remote_packet = CHUNK
        self._outgoing = bytearray()
        self._consumed = 0
        """Bytes of data read since we last opened our window again."""
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    # -- packets (RFC 4253 §6) --------------------------------------------------------------------

    def _send(self, payload: bytes) -> None:
        if self._send_gcm is None:
            pad = -(5 + len(payload)) % 8
            if pad < 4:
                pad += 8
            packet = struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + bytes(pad)
        else:  # aes-gcm: the length is additional data, the rest a multiple of 16
            pad = -(1 + len(payload)) % 16
            if pad < 4:
                pad += 16
            length = struct.pack(">I", 1 + len(payload) + pad)
            nonce = self._send_iv + self._send_count.to_bytes(8, "big")
            self._send_count = (self._send_count + 1) & 0xFFFFFFFFFFFFFFFF
            body = bytes((pad,)) + payload + bytes(pad)
            packet = length + self._send_gcm.encrypt(nonce, body, length)
        self._send_seq += 1
        if not self._writer.is_closing():
            self._writer.write(packet)

    async def _receive(self) -> bytes:
        """The next packet's payload (IGNORE and DEBUG skipped, DISCONNECT raised)."""
        while True:
            payload = await self._packet()
            kind = payload[0]
            if kind == DISCONNECT:
                fields = _Fields(payload)
                code = fields.uint32()
                raise Disconnected(code, fields.string().decode(errors="replace"))
            if kind not in (IGNORE, DEBUG):
                return payload

    async def _packet(self) -> bytes:
        head = await self._reader.readexactly(4)
        (length,) = struct.unpack(">I", head)
        if length > MAX_PACKET:
            raise SSHError(f"packet of {length} bytes")
        self._recv_seq += 1
        if self._recv_gcm is None:
            body = await self._reader.readexactly(length)
        else:
            sealed = await self._reader.readexactly(length + 16)
            nonce = self._recv_iv + self._recv_count.to_bytes(8, "big")
            self._recv_count = (self._recv_count + 1) & 0xFFFFFFFFFFFFFFFF
            try:
                body = self._recv_gcm.decrypt(nonce, sealed, head)
            except InvalidTag:
                raise SSHError("a packet failed its authentication tag") from None
        pad = body[0] if body else 255
        if pad >= len(body):
            raise SSHError("padding longer than the packet")
        return body[1 : len(body) - pad]

    # -- the login --------------------------------------------------------------------------------

    async def _handshake(self, username: str, key: Ed25519PrivateKey, host_key: bytes) -> None:
        client_kexinit = (
            bytes((KEXINIT,))
            + os.urandom(16)
            + _string(KEX)
            + _string(HOST_KEY)
            + _string(CIPHER) * 2
            + _string(MACS) * 2
            + _string(b"none") * 2
            + _string(b"") * 2
            + b"\0\0\0\0\0"
        )
        # Nothing is sent before the server's identification line: a server that answers
        # "busy" at the door and closes never holds our bytes unread, which would reset the
        # connection and could destroy its answer before a slow (loaded) client read it.
        server_version = await self._version()
        self._writer.write(VERSION + b"\r\n")
        self._send(client_kexinit)
        server_kexinit = await self._receive()
        if server_kexinit[0] != KEXINIT:
            raise SSHError(f"expected KEXINIT, got message {server_kexinit[0]}")
        offered = _Fields(server_kexinit, 17)
        kex, host_algs, enc_cs, enc_sc = (offered.names() for _ in range(4))
        if not any(k in kex for k in KEX_ALIASES) or HOST_KEY not in host_algs:
            raise SSHError("the server offers no curve25519-sha256 with an ssh-ed25519 host key")
        if CIPHER not in enc_cs or CIPHER not in enc_sc:
            raise SSHError(f"the server does not offer {CIPHER.decode()}")

        ephemeral = X25519PrivateKey.generate()
        q_c = ephemeral.public_key().public_bytes_raw()
        self._send(bytes((KEX_ECDH_INIT,)) + _string(q_c))
        reply = await self._receive()
        if reply[0] != KEX_ECDH_REPLY:
            raise SSHError(f"expected KEX_ECDH_REPLY, got message {reply[0]}")
        fields = _Fields(reply)
        k_s, q_s, signature = fields.string(), fields.string(), fields.string()
        if k_s != host_key:
            raise HostKeyMismatch("the server's host key is not the pinned one")
        secret = _mpint(ephemeral.exchange(X25519PublicKey.from_public_bytes(q_s)))
        exchange_hash = hashlib.sha256(
            _string(VERSION)
            + _string(server_version)
            + _string(client_kexinit)
            + _string(server_kexinit)
            + _string(k_s)
            + _string(q_c)
            + _string(q_s)
            + secret
        ).digest()
        sig = _Fields(signature, 0)
        if sig.string() != HOST_KEY:
            raise HostKeyMismatch("the host key signature is not ssh-ed25519")
        try:
            Ed25519PublicKey.from_public_bytes(host_key[-32:]).verify(sig.string(), exchange_hash)
        except InvalidSignature:
            raise HostKeyMismatch(
                "the server's signature of the exchange does not verify"
            ) from None

        self._send(bytes((NEWKEYS,)))
        if (await self._receive())[0] != NEWKEYS:
            raise SSHError("expected NEWKEYS")

        def derive(letter: bytes, size: int) -> bytes:  # RFC 4253 §7.2; one hash is enough
            return hashlib.sha256(secret + exchange_hash + letter + exchange_hash).digest()[:size]

        self._send_iv, self._recv_iv = derive(b"A", 4), derive(b"B", 4)
        self._send_count = int.from_bytes(derive(b"A", 12)[4:], "big")
        self._recv_count = int.from_bytes(derive(b"B", 12)[4:], "big")
        self._send_gcm, self._recv_gcm = AESGCM(derive(b"C", 16)), AESGCM(derive(b"D", 16))

        self._send(bytes((SERVICE_REQUEST,)) + _string(b"ssh-userauth"))
        while (answer := await self._receive())[0] != SERVICE_ACCEPT:
            if answer[0] != EXT_INFO:
                raise SSHError(f"expected SERVICE_ACCEPT, got message {answer[0]}")
        user_key = key.public_key().public_bytes_raw()
        blob = _string(HOST_KEY) + _string(user_key)
        start = (
            bytes((USERAUTH_REQUEST,))
            + _string(username.encode())
            + _string(b"ssh-connection")
            + _string(b"publickey")
        )
        self._send(start + b"\0" + _string(HOST_KEY) + _string(blob))
        while (answer := await self._receive())[0] != USERAUTH_PK_OK:
            if answer[0] == USERAUTH_FAILURE:
                raise AuthFailed(f"the server refused the key of {username}")
            if answer[0] not in (USERAUTH_BANNER, EXT_INFO, GLOBAL_REQUEST):
                raise SSHError(f"unexpected message {answer[0]} during authentication")
        request = start + b"\1" + _string(HOST_KEY) + _string(blob)
        signed = key.sign(_string(exchange_hash) + request)
        self._send(request + _string(_string(HOST_KEY) + _string(signed)))
        while (answer := await self._receive())[0] != USERAUTH_SUCCESS:
            if answer[0] == USERAUTH_FAILURE:
                raise AuthFailed(f"the server refused the key of {username}")
            if answer[0] not in (USERAUTH_BANNER, EXT_INFO, GLOBAL_REQUEST):
                raise SSHError(f"unexpected message {answer[0]} during authentication")

    async def _version(self) -> bytes:
        """The server's identification line (lines before it are allowed and skipped)."""
        for _ in range(32):
            line = await self._reader.readline()
            if line.startswith(b"SSH-"):
                if not line.startswith(b"SSH-2.0-"):
                    raise SSHError(f"not SSH 2.0: {line[:40]!r}")
                return line.rstrip(b"\r\n")
        raise SSHError("no identification line from the server")

    async def _open_session(self, command: str | None) -> None:
        self._send(
            bytes((CHANNEL_OPEN,)) + _string(b"session") + struct.pack(">III", 0, WINDOW, CHUNK)
        )
        while (answer := await self._receive())[0] != CHANNEL_OPEN_CONFIRMATION:
            if answer[0] == CHANNEL_OPEN_FAILURE:
                raise SSHError("the server refused the session channel")
            self._other(answer)
        fields = _Fields(answer)
        fields.uint32()  # our own number, 0
        self._remote = fields.uint32()
        self._remote_window = fields.uint32()
        self._remote_packet = min(fields.uint32(), CHUNK)
        what = b"shell" if command is None else b"exec"
        request = bytes((CHANNEL_REQUEST,)) + struct.pack(">I", self._remote) + _string(what)
        request += b"\1" + (b"" if command is None else _string(command.encode()))
        self._send(request)
        while (answer := await self._receive())[0] != CHANNEL_SUCCESS:
            if answer[0] == CHANNEL_FAILURE:
                raise SSHError(f"the server refused the {what.decode()} request")
            self._other(answer)

    # -- the session ------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send ``data`` on the channel, as much as the server's window takes now."""
        if self.closed:
            return
        self._outgoing += data
        self._flush()

    def _flush(self) -> None:
        while self._outgoing and self._remote_window > 0:
            size = min(len(self._outgoing), self._remote_window, self._remote_packet)
            chunk = bytes(self._outgoing[:size])
            del self._outgoing[:size]
            self._remote_window -= size
            self._send(bytes((CHANNEL_DATA,)) + struct.pack(">I", self._remote) + _string(chunk))

    def close(self) -> None:
        """Say goodbye and hang up (``on_close`` follows, with None)."""
        if self.closed:
            return
        self._send(
            bytes((DISCONNECT,))
            + struct.pack(">I", BY_APPLICATION)
            + _string(b"bye")
            + _string(b"")
        )
        self._finish(None)

    async def wait_closed(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    def _finish(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        self._writer.close()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self.on_close(exc)

    async def _run(self) -> None:
        """Read packets until the connection ends: data to ``on_data``, the rest answered."""
        try:
            while not self.closed:
                payload = await self._receive()
                if payload[0] == CHANNEL_DATA:
                    data = _Fields(payload, 5).string()
                    self._consumed += len(data)
                    if self._consumed > WINDOW // 2:
                        self._send(
                            bytes((CHANNEL_WINDOW_ADJUST,))
                            + struct.pack(">II", self._remote, self._consumed)
                        )
                        self._consumed = 0
                    self.on_data(data)
                elif payload[0] in (CHANNEL_EOF, CHANNEL_CLOSE):
                    self._finish(None)
                else:
                    self._other(payload)
        except (asyncio.IncompleteReadError, OSError) as exc:  # SSHError too
            self._finish(None if isinstance(exc, asyncio.IncompleteReadError) else exc)

    def _other(self, payload: bytes) -> None:
        """Everything but channel data: window, keepalives, requests, a rekey we cannot do."""
        kind = payload[0]
        if kind == CHANNEL_WINDOW_ADJUST:
            fields = _Fields(payload, 5)
            self._remote_window += fields.uint32()
            self._flush()
        elif kind == GLOBAL_REQUEST:  # keepalive@openssh.com and the like
            fields = _Fields(payload)
            fields.string()
            if fields.boolean():
                self._send(bytes((REQUEST_FAILURE,)))
        elif kind == CHANNEL_REQUEST:  # exit-status, keepalive@openssh.com on the channel
            fields = _Fields(payload, 5)
            fields.string()
            if fields.boolean():
                self._send(bytes((CHANNEL_FAILURE,)) + struct.pack(">I", self._remote))
        elif kind == CHANNEL_EXTENDED_DATA:
            fields = _Fields(payload, 9)
            self._consumed += len(fields.string())
        elif kind == KEXINIT:
            raise SSHError("the server started a new key exchange (not supported here)")
        elif kind not in (UNIMPLEMENTED, EXT_INFO, CHANNEL_SUCCESS, CHANNEL_FAILURE):
            self._send(bytes((UNIMPLEMENTED,)) + struct.pack(">I", self._recv_seq - 1))


async def connect(
    host: str,
    port: int,
    *,
    username: str,
    key: Ed25519PrivateKey,
    host_key: str,
    on_data: Callable[[bytes], None],
    on_close: Callable[[Exception | None], None],
    local_addr: tuple[str, int] | None = None,
    command: str | None = None,
    timeout: float = 30.0,
) -> Channel:
    """Connect, check the server's host key against ``host_key`` (an ``ssh-ed25519 AAAA…``
    line), log in as ``username`` with ``key`` and open a session channel (``shell``, or
    ``exec`` of ``command``). Raises ``Disconnected``, ``HostKeyMismatch``, ``AuthFailed``,
    ``SSHError``, ``OSError`` or ``TimeoutError`` (after ``timeout`` seconds in all)."""
    pinned = _host_key_blob(host_key)
    async with asyncio.timeout(timeout):
        writer, reader = await asyncio.get_running_loop().create_connection(
            _Reader, host, port, local_addr=local_addr
        )
        channel = Channel(reader, writer, on_data, on_close)
        try:
            await channel._handshake(username, key, pinned)
            await channel._open_session(command)
        except asyncio.IncompleteReadError:
            writer.close()
            raise SSHError("the server closed the connection during the login") from None
        except BaseException:
            writer.close()
            raise
    channel._task = asyncio.get_running_loop().create_task(channel._run())
    return channel
