"""The conferencing client: its process running, and whether it is in a call with the bridge.

Found by name through psutil, so the same code runs on Linux (``vcclient``) and Windows
(``Zoom.exe``; the ``.exe`` may be left out of the configured name, case does not matter).

In a call is inferred, not read: no client of the fleet exposes its call state to another
process. The client is taken to be in a call with its bridge when one of its sockets carries
media to the bridge's host: a connected UDP socket (RTP/SRTP), or an established TCP connection
to any port but the bridge's signalling port (media over TCP/TLS). A TCP connection to the
signalling port alone is a registration, not a call. What this cannot see: a call with anyone
but the home bridge, media sent through unconnected UDP sockets (``sendto``), a client whose
sockets belong to a helper process of another name, and the sockets of a process of another
user when the agent lacks the rights (then the call is reported as unknown, not as "no call").
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable

import psutil

from confsched_agent.probes import Findings
from confsched_agent.wire import Call, Check


def same_program(name: str, wanted: str) -> bool:
    """``Zoom.exe`` is ``zoom``; Linux truncates ``comm`` to 15 characters (psutil mostly
    recovers the full name, but not for every process)."""
    a, b = name.lower().removesuffix(".exe"), wanted.lower().removesuffix(".exe")
    return a == b or (len(a) == 15 and b.startswith(a))


def carries_media(
    connections: Iterable[tuple[int, str, int, str]], bridge_ips: set[str], signalling_port: int
) -> bool:
    """Whether any (type, remote ip, remote port, status) is media to the bridge (see above)."""
    for kind, ip, port, status in connections:
        if ip not in bridge_ips:
            continue
        if kind == socket.SOCK_DGRAM:
            return True
        if status == psutil.CONN_ESTABLISHED and port != signalling_port:
            return True
    return False


class ClientProbe:
    """Is the client running; with a bridge, is it in a call with it."""

    name = "client"

    def __init__(self, process: str, bridge: tuple[str, int] | None = None) -> None:
        self._process = process
        self._bridge = bridge

    async def run(self) -> Findings:
        procs = [
            p
            for p in psutil.process_iter(["name"])
            if same_program(p.info.get("name") or "", self._process)
        ]
        m = {"client_processes": float(len(procs))}
        if not procs:
            return Findings({"client": Check(False, f"{self._process} is not running")}, m)
        found = Findings({"client": Check(True)}, m)
        if self._bridge is not None:
            found.call = await self._call(procs, *self._bridge)
            if found.call is not None:
                m["in_call"] = 1.0 if found.call.active else 0.0
        return found

    async def _call(self, procs: list[psutil.Process], host: str, port: int) -> Call | None:
        """The call as the client's sockets show it; None when they cannot be read."""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port)
        except OSError:
            return None  # the bridge probe says the bridge is unreachable
        ips = {str(info[4][0]) for info in infos}
        connections: list[tuple[int, str, int, str]] = []
        readable = False
        for proc in procs:
            try:
                conns = proc.net_connections(kind="inet")
            except (psutil.AccessDenied, psutil.NoSuchProcess):
                continue
            readable = True
            connections += [(c.type, c.raddr.ip, c.raddr.port, c.status) for c in conns if c.raddr]
        if not readable:
            return None
        if carries_media(connections, ips, port):
            return Call(True, host)
        return Call(False)
