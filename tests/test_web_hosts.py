"""The API answers only to the names it is served as (DNS rebinding), a scheduler bound beyond
loopback without TLS in front says so at start, and feed links name a host others can reach."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest
import pytest_asyncio

from confsched.config import Settings
from confsched.runtime.components import Components
from confsched.web.hosts import (
    answers_to,
    clear_text_warning,
    host_name,
    public_base_url,
    served_names,
)
from tests.conftest import http_url, operator_auth, running
from tests.test_feeds_http import feed_path

ALLOWED = "lich.example.gov.vn"
PUBLIC = "https://feeds.example.gov.vn"


@pytest_asyncio.fixture
async def named(settings: Settings) -> AsyncIterator[Components]:
    """A scheduler served as ALLOWED (``--allowed-host``) and known by PUBLIC (``--public-url``)."""
    async with running(replace(settings, allowed_hosts=(ALLOWED,), public_url=PUBLIC)) as ctx:
        yield ctx


async def get(ctx: Components, path: str, host: str, **headers: str) -> tuple[int, str, object]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(http_url(ctx, path), headers={"Host": host, **headers}) as resp,
    ):
        body = await resp.json() if resp.content_type == "application/json" else None
        return resp.status, resp.content_type, body


async def test_the_api_refuses_a_name_it_is_not_served_as_with_a_json_421(
    named: Components,
) -> None:
    """Before the token is looked at: a rebinding page learns nothing, not even that."""
    port = named.http_port
    for headers in ({}, operator_auth(named)):
        status, kind, body = await get(named, "/api/v1/fleet", f"evil.example:{port}", **headers)
        assert (status, kind) == (421, "application/json")
        assert isinstance(body, dict)
        assert "not served as 'evil.example'" in body["error"]
        assert "confsched serve --allowed-host evil.example" in body["error"]


@pytest.mark.parametrize(
    "host",
    [
        "localhost:{port}",
        "LOCALHOST",
        "console.localhost:{port}",
        "127.0.0.1:{port}",
        "[::1]:{port}",
        "192.0.2.7",  # an address cannot be rebound: a page's origin is that address itself
        f"{ALLOWED}:{{port}}",
        "Lich.Example.Gov.Vn.",
        "feeds.example.gov.vn",
    ],
)
async def test_the_api_answers_loopback_names_addresses_and_its_own_names(
    named: Components, host: str
) -> None:
    header = host.format(port=named.http_port)
    status, _, _ = await get(named, "/api/v1/fleet", header, **operator_auth(named))
    assert status == 200


async def test_feeds_metrics_and_healthz_answer_any_name(named: Components, cli) -> None:  # type: ignore[no-untyped-def]
    """Calendar apps keep the URL they were given (its token guards it) and Prometheus scrapes
    by whatever name its target says (open, or guarded by its bearer token): neither is held
    to the served names."""
    feed = feed_path(cli, "agency", "ubnd-tinh")
    for path in ("/healthz", "/metrics", feed):
        status, _, _ = await get(named, path, "scrape-target.internal:9100")
        assert status == 200, path


def test_host_header_names() -> None:
    assert host_name("Lich.Example:8080") == "lich.example"
    assert host_name("[::1]:8080") == "::1"
    assert host_name("example.") == "example"
    assert host_name("::1") == "::1"  # a bare IPv6 address: no port to take off
    names = served_names(Settings(), ())
    assert answers_to(None, names)  # HTTP/1.0 tools send none; browsers always do
    assert not answers_to("", names)
    assert not answers_to("localhost.evil.example", names)


def test_served_names_follow_the_serve_options() -> None:
    settings = Settings(http_host="10.0.0.5", public_url="https://Lich.Example/", allowed_hosts=())
    names = served_names(settings.with_(allowed_hosts=("Sched.Internal",)), ("sched01.tinh.vn",))
    assert names == {"localhost", "10.0.0.5", "lich.example", "sched.internal", "sched01.tinh.vn"}


def test_feed_links_name_a_host_others_can_reach() -> None:
    machine = ("sched01.tinh.vn", "sched01")
    assert public_base_url(Settings(http_host="0.0.0.0"), 8080, machine) == (
        "http://sched01.tinh.vn:8080"
    )
    assert public_base_url(Settings(http_host="::"), 80, ()) == "http://localhost:80"
    assert public_base_url(Settings(http_host="fd00::5"), 8080, machine) == "http://[fd00::5]:8080"
    assert public_base_url(Settings(http_host="10.0.0.5"), 8080, machine) == "http://10.0.0.5:8080"
    given = Settings(http_host="0.0.0.0", public_url=PUBLIC)
    assert public_base_url(given, 8080, machine) == PUBLIC


def test_http_beyond_loopback_without_tls_in_front_is_one_warning_line() -> None:
    line = clear_text_warning(Settings(http_host="0.0.0.0"), ["0.0.0.0", "::"], 8080)
    assert line is not None and "\n" not in line
    assert line.startswith("HTTP on 0.0.0.0:8080, [::]:8080 is reachable from other hosts")
    assert "--public-url https://" in line
    https = Settings(http_host="0.0.0.0", public_url="HTTPS://lich.example")
    assert clear_text_warning(https, ["0.0.0.0"], 8080) is None  # a TLS proxy is in front
    plain = Settings(http_host="0.0.0.0", public_url="http://lich.example")
    assert clear_text_warning(plain, ["0.0.0.0"], 8080) is not None
    assert clear_text_warning(Settings(), ["127.0.0.1", "::1", "127.0.0.2"], 8080) is None


async def test_a_scheduler_on_loopback_gives_no_warning_and_publishes_its_address(
    settings: Settings, cli, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING)
    async with running(settings) as server:
        listed = cli("feeds", "list", "--json").json()
        assert isinstance(listed, list)
        assert listed[0]["url"].startswith(f"http://127.0.0.1:{server.http_port}/feeds/")
    assert not [r for r in caplog.records if "without TLS" in r.getMessage()]


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--allowed-host", "lich.example/x", "--allowed-host 'lich.example/x': give a host name"),
        ("--allowed-host", "", "--allowed-host '': give a host name"),
        ("--public-url", "lich.example", "--public-url 'lich.example': give the URL others use"),
        ("--public-url", "ftp://lich.example", "--public-url 'ftp://lich.example': give the URL"),
    ],
)
def test_serve_refuses_a_bad_name_or_url_in_one_line(
    cli, option: str, value: str, said: str
) -> None:  # type: ignore[no-untyped-def]
    result = cli("serve", "--http", "127.0.0.1:0", "--ssh", "127.0.0.1:0", option, value)
    assert result.code == 1
    assert result.err.startswith(f"error: {said}") and result.err.count("\n") == 1
