"""The shipped nginx example (``deploy/nginx/confsched-feeds.conf``) in front of a real scheduler:
nginx from Debian, run unprivileged in the foreground with its own prefix, a self-signed
certificate, loopback ports. A feed comes through over HTTPS and validates; the API, /metrics
and /healthz do not."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import icalendar
import pytest_asyncio

from confsched.runtime.components import Components
from tests.test_api_booking import MONDAY
from tests.test_feeds_http import feed_path
from tests.tls import self_signed

NGINX = "/usr/sbin/nginx"
SITE = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "confsched-feeds.conf"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def site_for_test(upstream: int, https: int, http: int, cert: Path, key: Path, logs: Path) -> str:
    """The example with only its addresses, certificate and log path changed (each must be
    found, so the example and this test cannot drift apart)."""
    text = SITE.read_text(encoding="utf-8")
    changes = {
        "server 127.0.0.1:8080;": f"server 127.0.0.1:{upstream};",
        "    listen 80;\n    listen [::]:80;\n": f"    listen 127.0.0.1:{http};\n",
        "    listen 443 ssl;\n    listen [::]:443 ssl;\n": f"    listen 127.0.0.1:{https} ssl;\n",
        "/etc/letsencrypt/live/lich.example.gov.vn/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/lich.example.gov.vn/privkey.pem": str(key),
        "/var/log/nginx/confsched-feeds.log": str(logs / "feeds.log"),
    }
    for old, new in changes.items():
        assert old in text, f"the example no longer has {old!r}"
        text = text.replace(old, new)
    return text


def main_conf(prefix: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives the site, with every path in ``prefix``."""
    temps = "\n".join(
        f"    {name}_temp_path {prefix / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
master_process off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
{temps}
    include {site};
}}
"""


@dataclass(frozen=True)
class Proxy:
    port: int
    trust: ssl.SSLContext
    """Trusts the proxy's self-signed certificate (and checks it names 127.0.0.1)."""

    async def get(
        self, path: str, method: str = "GET", **headers: str
    ) -> tuple[int, Mapping[str, str], bytes]:
        """As a calendar client asks: only the headers given, the body as sent."""
        async with (
            aiohttp.ClientSession(
                auto_decompress=False, skip_auto_headers=["Accept-Encoding"]
            ) as http,
            http.request(
                method, f"https://127.0.0.1:{self.port}{path}", headers=headers, ssl=self.trust
            ) as resp,
        ):
            return resp.status, resp.headers.copy(), await resp.read()


@pytest_asyncio.fixture
async def proxy(server: Components, tmp_path: Path) -> AsyncIterator[Proxy]:
    """nginx in front of ``server``."""
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    cert, key = self_signed(tmp_path)
    https, http = free_port(), free_port()
    site = prefix / "confsched-feeds.conf"
    site.write_text(site_for_test(server.http_port, https, http, cert, key, prefix))
    conf = prefix / "nginx.conf"
    conf.write_text(main_conf(prefix, site))
    checked = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True)
    assert checked.returncode == 0, checked.stderr.decode()
    errors = (prefix / "stderr.log").open("wb")
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf)], stderr=errors)
    try:
        await listening(https, process, prefix / "stderr.log")
        yield Proxy(https, ssl.create_default_context(cafile=str(cert)))
    finally:
        process.terminate()
        process.wait(10)
        errors.close()


async def listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait (10 s at most: a loaded machine) until nginx accepts connections."""
    for _ in range(200):
        assert process.poll() is None, log.read_text(errors="replace")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"nginx never listened: {log.read_text(errors='replace')}")


async def test_only_feeds_are_published_over_https(proxy: Proxy, cli: Any) -> None:
    args = ("--start", f"{MONDAY} 08:00", "--duration", "1h", "--with", "district:h-dai-tu")
    assert cli("book", "Giao ban qua HTTPS", *args).code == 0
    path = feed_path(cli, "room", "dt-hung-son")
    for _ in range(40):  # the scheduler notices the CLI's booking within 0.25 s
        status, headers, body = await proxy.get(path)
        if b"Giao ban qua HTTPS" in body:
            break
        await asyncio.sleep(0.05)
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Giao ban qua HTTPS"
    status, again, _ = await proxy.get(path, **{"If-None-Match": headers["ETag"]})
    assert status == 304 and again["ETag"] == headers["ETag"]
    status, packed_headers, packed = await proxy.get(path, **{"Accept-Encoding": "gzip"})
    assert status == 200 and packed_headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed) == body

    for hidden in ("/api/v1/endpoints", "/api/v1/sessions", "/metrics", "/healthz", "/feeds/"):
        status, _, answer = await proxy.get(hidden)
        assert status == 404 and b"confsched" not in answer, hidden
    assert (await proxy.get(path, "POST"))[0] == 403
    assert (await proxy.get("/api/v1/sessions", "POST"))[0] == 404
