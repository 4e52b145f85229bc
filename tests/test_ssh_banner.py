"""The SSH server's banner names the product, not the library and its version."""

from __future__ import annotations

import asyncio

from confsched.runtime.components import Components


async def test_ssh_banner_carries_no_library_version(server: Components) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.ssh_port)
    try:
        banner = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    assert banner.startswith(b"SSH-2.0-confsched")
    assert b"AsyncSSH" not in banner
