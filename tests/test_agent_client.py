"""The client probe through real psutil: a real process named like the client, and its real
sockets to a bridge listening on loopback (media over UDP, signalling over TCP)."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator

import psutil
import pytest
import pytest_asyncio
from confsched_agent.probes.client import ClientProbe, carries_media, same_program
from confsched_agent.wire import Call, Check

CLIENT = """
import socket, sys, time
open("/proc/self/comm", "w").write("vcclient")
port = int(sys.argv[1])
socks = []
for how in sys.argv[2:]:
    kind = socket.SOCK_DGRAM if how == "udp" else socket.SOCK_STREAM
    s = socket.socket(socket.AF_INET, kind)
    s.connect(("127.0.0.1", port + (1 if how == "tcp-media" else 0)))
    socks.append(s)
print("ready", flush=True)
time.sleep(60)
"""


async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()
    writer.close()


@pytest_asyncio.fixture
async def bridge() -> AsyncIterator[int]:
    """A 'bridge' on loopback: TCP on PORT (signalling) and PORT+1 (media over TCP)."""
    for _ in range(20):
        signalling = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = signalling.sockets[0].getsockname()[1]
        try:
            media = await asyncio.start_server(hold, "127.0.0.1", port + 1)
        except OSError:
            signalling.close()
            continue
        async with signalling, media:
            yield port
        return
    pytest.fail("no two adjacent free ports on loopback")


async def client(port: int, *sockets: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLIENT, str(port), *sockets, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"ready\n"
    return proc


async def stop(proc: asyncio.subprocess.Process) -> None:
    proc.kill()
    await proc.wait()


async def test_the_client_is_not_running_then_running(bridge: int) -> None:
    probe = ClientProbe("vcclient", ("127.0.0.1", bridge))
    assert not any(p.info["name"] == "vcclient" for p in psutil.process_iter(["name"]))
    found = await probe.run()
    assert found.checks["client"] == Check(False, "vcclient is not running")
    assert found.call is None and found.measurements["client_processes"] == 0
    proc = await client(bridge, "tcp")
    try:
        found = await probe.run()
    finally:
        await stop(proc)
    assert found.checks["client"] == Check(True) and found.measurements["client_processes"] == 1
    # registered to the bridge (signalling), not in a call
    assert found.call == Call(False) and found.measurements["in_call"] == 0


@pytest.mark.parametrize("media", ["udp", "tcp-media"])
async def test_media_to_the_bridge_is_a_call_with_it(bridge: int, media: str) -> None:
    proc = await client(bridge, "tcp", media)
    try:
        found = await ClientProbe("VCClient.exe", ("127.0.0.1", bridge)).run()
    finally:
        await stop(proc)
    assert found.call == Call(True, "127.0.0.1") and found.measurements["in_call"] == 1


async def test_without_a_bridge_no_call_is_claimed(bridge: int) -> None:
    proc = await client(bridge, "udp")
    try:
        found = await ClientProbe("vcclient").run()
    finally:
        await stop(proc)
    assert found.checks["client"].ok is True and found.call is None
    assert "in_call" not in found.measurements


def test_program_names_compare_as_windows_and_linux_show_them() -> None:
    assert same_program("Zoom.exe", "zoom") and same_program("zoom", "Zoom.exe")
    assert same_program("vcclient-longna", "vcclient-longname")  # comm's 15 characters
    assert not same_program("zoomer", "zoom") and not same_program("", "zoom")


def test_media_is_udp_or_tcp_beyond_the_signalling_port() -> None:
    ips = {"10.0.0.5"}
    udp, tcp = socket.SOCK_DGRAM, socket.SOCK_STREAM
    assert carries_media([(udp, "10.0.0.5", 40000, psutil.CONN_NONE)], ips, 5060)
    assert carries_media([(tcp, "10.0.0.5", 443, psutil.CONN_ESTABLISHED)], ips, 5060)
    assert not carries_media([(tcp, "10.0.0.5", 5060, psutil.CONN_ESTABLISHED)], ips, 5060)
    assert not carries_media([(tcp, "10.0.0.5", 443, psutil.CONN_SYN_SENT)], ips, 5060)
    assert not carries_media([(udp, "10.9.9.9", 40000, psutil.CONN_NONE)], ips, 5060)
